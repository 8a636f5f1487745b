package slurm_test

// Integration tests on a real SLURM cluster: they run when SLURM_CONF is
// set and sbatch is in PATH (.ci/setup.d/slurm.sh starts a single-node
// cluster for CI), and skip otherwise or under -short.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/pipeline/slurm"
)

// jobTimeout bounds every wait for jobs.
const jobTimeout = 3 * time.Minute

func needSlurm(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("SLURM integration test skipped under -short")
	}
	if os.Getenv("SLURM_CONF") == "" {
		t.Skip("SLURM_CONF not set: no SLURM cluster (.ci/setup.d/slurm.sh starts one)")
	}
	for _, c := range []string{"sbatch", "squeue", "scancel"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("%s not in PATH: %v", c, err)
		}
	}
}

// buildDendfit builds the dendfit command into a temporary directory.
func buildDendfit(t *testing.T) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("building dendfit needs the go command on PATH: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "dendfit")
	start := time.Now()
	out, err := exec.Command(goCmd, "build", "-o", bin, "github.com/dendfit/dendfit/cmd/dendfit").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built dendfit in %v", time.Since(start).Round(time.Millisecond))
	return bin
}

// writeSpec writes the reference case with replacements applied.
func writeSpec(t *testing.T, refCase string, repl ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "reference", "cases", refCase))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i < len(repl); i += 2 {
		if !strings.Contains(s, repl[i]) {
			t.Fatalf("%s has no %q to replace", refCase, repl[i])
		}
		s = strings.Replace(s, repl[i], repl[i+1], 1)
	}
	path := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func dendfit(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dendfit %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// cluster is a Client whose jobs are cancelled when the test ends.
func cluster(t *testing.T) (*slurm.Client, *[]string) {
	c := &slurm.Client{Poll: 300 * time.Millisecond}
	var ids []string
	t.Cleanup(func() {
		if len(ids) > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c.Cancel(ctx, ids...)
		}
	})
	return c, &ids
}

func dumpLogs(t *testing.T, dir string) {
	t.Helper()
	logs, _ := filepath.Glob(filepath.Join(dir, slurm.LogDir, "*"))
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		t.Logf("--- %s\n%s", filepath.Base(l), b)
	}
}

// sameAsSingleRun checks that `query points --experiment --json` prints the
// same points, byte for byte, on merged.db as on a single-process sweep of
// spec (the run they name differs).
func sameAsSingleRun(t *testing.T, bin, spec, experiment, merged string) {
	t.Helper()
	single := filepath.Join(t.TempDir(), "single.db")
	dendfit(t, bin, "sweep", spec, "--db", single, "-q")
	points := func(db string) []byte {
		out := dendfit(t, bin, "query", "points", "--experiment", experiment, "--json", "--db", db)
		var doc struct {
			Points json.RawMessage `json:"points"`
		}
		if err := json.Unmarshal(out, &doc); err != nil || doc.Points == nil {
			t.Fatalf("query points --json of %s: %v\n%.300s", db, err, out)
		}
		return doc.Points
	}
	want, got := points(single), points(merged)
	if !bytes.Equal(got, want) {
		t.Errorf("merged points differ from the single-process sweep (%d vs %d bytes of JSON)", len(got), len(want))
	}
	if n := bytes.Count(want, []byte(`"point_key"`)); n == 0 {
		t.Error("the single-process sweep has no points")
	}
}

// noDuplicates checks that no run of the database holds a point key twice
// and returns the number of points per run.
func noDuplicates(t *testing.T, path string) map[int64]int {
	t.Helper()
	d, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	_, rows, err := d.QueryReadOnly(context.Background(),
		`SELECT run_id, count(*), count(DISTINCT point_key) FROM points GROUP BY run_id ORDER BY run_id`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]int{}
	for _, r := range rows {
		if r[1] != r[2] {
			t.Errorf("%s: run %v holds %v points but %v distinct keys", path, r[0], r[1], r[2])
		}
		out[r[0].(int64)] = int(r[1].(int64))
	}
	return out
}

func TestSlurmArraySweepMerge(t *testing.T) {
	needSlurm(t)
	start := time.Now()
	bin := buildDendfit(t)
	// 400 g values: 13 chunks over 4 tasks.
	spec := writeSpec(t, "ampa-instant-2comp-dimensionless-gsweep.yaml", "steps: 12", "steps: 400")
	dir := filepath.Join(t.TempDir(), "job")
	scripts, err := slurm.Write(slurm.Options{Binary: bin, Spec: spec, Dir: dir, Tasks: 4, Experiment: "gsweep"})
	if err != nil {
		t.Fatal(err)
	}
	c, ids := cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
	defer cancel()
	jobs, err := c.Submit(ctx, scripts)
	if err != nil {
		t.Fatal(err)
	}
	*ids = append(*ids, jobs.Array, jobs.Merge)
	if st, err := c.Wait(ctx, jobs.Array, jobs.Merge); err != nil {
		dumpLogs(t, dir)
		t.Fatalf("%v (states %v)", err, st)
	}
	t.Logf("array and merge done %v after start", time.Since(start).Round(time.Millisecond))
	merged := filepath.Join(dir, slurm.MergedDB)
	sameAsSingleRun(t, bin, spec, "ampa-instant-2comp-dimensionless-gsweep", merged)
	total := 0
	for k := 0; k < 4; k++ {
		for _, n := range noDuplicates(t, slurm.ShardDB(dir, k)) {
			total += n
		}
	}
	if total != 400 {
		t.Errorf("shards hold %d points, want 400", total)
	}
	noDuplicates(t, merged)
}

// holdWriteLock waits until path has a running run, then takes SQLite's
// write lock on it and returns the function that releases it. While it is
// held, the sweep cannot record points, so it stalls mid-way whatever its
// speed: a cancel that comes then always interrupts an unfinished shard.
func holdWriteLock(ctx context.Context, t *testing.T, path string) func() {
	t.Helper()
	for {
		if _, err := os.Stat(path); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never appeared: %v", path, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	sdb, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := sdb.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for {
		var n int
		err := conn.QueryRowContext(ctx, `SELECT count(*) FROM runs WHERE status = 'running'`).Scan(&n)
		if err == nil && n > 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no running run in %s: %v", path, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	return func() {
		conn.ExecContext(context.Background(), `ROLLBACK`)
		conn.Close()
		sdb.Close()
	}
}

func TestSlurmCancelledTaskRerun(t *testing.T) {
	needSlurm(t)
	start := time.Now()
	bin := buildDendfit(t)
	// rk4 (no early stop), 1000 g x 40 t_decay x 3 t_rise = 120000 points: a
	// shard of ~30000 cannot finish while its database is locked (it stalls
	// at its first write, at the latest its last), nor before the lock is
	// taken (one of ~3000 sometimes had, between two polls).
	spec := writeSpec(t, "sweep-tdecay-trise-ampa-3comp.yaml",
		"method: euler", "method: rk4",
		"t_decay: [1 ms, 2 ms, 5 ms, 10 ms]", "g: {from: 0.1 nS, to: 10 nS, steps: 1000, scale: log}\n  t_decay: {from: 1 ms, to: 10 ms, steps: 40}")
	const experiment = "sweep-tdecay-trise-ampa-3comp"
	dir := filepath.Join(t.TempDir(), "job")
	scripts, err := slurm.Write(slurm.Options{Binary: bin, Spec: spec, Dir: dir, Tasks: 4})
	if err != nil {
		t.Fatal(err)
	}
	c, ids := cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
	defer cancel()
	jobs, err := c.Submit(ctx, scripts)
	if err != nil {
		t.Fatal(err)
	}
	*ids = append(*ids, jobs.Array, jobs.Merge)

	// Kill task 2 mid-way.
	release := holdWriteLock(ctx, t, slurm.ShardDB(dir, 2))
	task2 := jobs.Array + "_2"
	if err := c.Cancel(ctx, task2); err != nil {
		release()
		t.Fatal(err)
	}
	time.Sleep(time.Second) // SIGTERM has reached dendfit; it waits on the lock
	release()
	st, err := c.Wait(ctx, jobs.Array)
	if !errors.Is(err, slurm.ErrJobsFailed) {
		dumpLogs(t, dir)
		t.Fatalf("array: err = %v, want task 2 cancelled (states %v)", err, st)
	}
	for _, s := range st {
		want := "COMPLETED"
		if s.ID == task2 {
			want = "CANCELLED"
		}
		if s.State != want {
			t.Errorf("%s: %s, want %s", s.ID, s.State, want)
		}
	}
	// The merge can never run after a cancelled task: SLURM drops it
	// (--kill-on-invalid-dep).
	if st, err := c.Wait(ctx, jobs.Merge); err == nil {
		t.Errorf("merge job ran after a cancelled task: %v", st)
	}
	before := noDuplicates(t, slurm.ShardDB(dir, 2))
	if len(before) != 1 {
		t.Fatalf("shard 2 has %d runs with points, want 1", len(before))
	}
	d, err := db.Open(ctx, slurm.ShardDB(dir, 2))
	if err != nil {
		t.Fatal(err)
	}
	runs, err := d.Runs(ctx, db.RunFilter{})
	d.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Status == db.StatusDone {
		t.Fatalf("shard 2 after the cancel: %d runs, status %s; want one unfinished run", len(runs), runs[0].Status)
	}
	partial := before[runs[0].ID]
	t.Logf("task 2 cancelled with %d points recorded, run %s", partial, runs[0].Status)

	// Rerun task 2 alone, and the merge after it, from the scripts as the
	// user left them (dendfit slurm --rerun does the same).
	text, err := os.ReadFile(scripts.Sweep)
	if err != nil {
		t.Fatal(err)
	}
	edited := bytes.Replace(text, []byte("\nWAIT="), []byte("\necho edited by hand >&2\nWAIT="), 1)
	if bytes.Equal(edited, text) {
		t.Fatal("no WAIT= line in the array script to edit before")
	}
	if err := os.WriteFile(scripts.Sweep, edited, 0o755); err != nil {
		t.Fatal(err)
	}
	existing, err := slurm.Existing(dir)
	if err != nil || existing.Tasks != 4 {
		t.Fatalf("Existing: %+v, %v", existing, err)
	}
	rerun, err := c.Submit(ctx, existing, 2)
	if err != nil {
		t.Fatal(err)
	}
	*ids = append(*ids, rerun.Array, rerun.Merge)
	if st, err := c.Wait(ctx, rerun.Array, rerun.Merge); err != nil {
		dumpLogs(t, dir)
		t.Fatalf("rerun: %v (states %v)", err, st)
	}
	t.Logf("rerun and merge done %v after start", time.Since(start).Round(time.Millisecond))
	if log, err := os.ReadFile(filepath.Join(dir, "logs", "sweep-"+rerun.Array+"_2.out")); err != nil || !bytes.Contains(log, []byte("edited by hand")) {
		t.Errorf("the rerun task did not run the edited script: %q, %v", log, err)
	}
	after := noDuplicates(t, slurm.ShardDB(dir, 2))
	if len(after) != 1 || after[runs[0].ID] <= partial {
		t.Errorf("shard 2 after the rerun: points per run %v, want run %d resumed beyond %d points", after, runs[0].ID, partial)
	}
	total := 0
	for k := 0; k < 4; k++ {
		for _, n := range noDuplicates(t, slurm.ShardDB(dir, k)) {
			total += n
		}
	}
	if total != 120000 {
		t.Errorf("shards hold %d points, want 120000", total)
	}
	merged := filepath.Join(dir, slurm.MergedDB)
	noDuplicates(t, merged)
	sameAsSingleRun(t, bin, spec, experiment, merged)
}

// TestSlurmRerunWhileTheArrayWaits: a task rerun while other tasks of the
// array are still queued gets a merge that waits for them too, and merges
// the whole grid once they have run. The rerun's merge used to wait for
// the rerun alone, run first and fail on the shards not yet swept, while
// the array's own merge could be cancelled by a failed task: no merged
// database at all.
func TestSlurmRerunWhileTheArrayWaits(t *testing.T) {
	needSlurm(t)
	bin := buildDendfit(t)
	spec := writeSpec(t, "ampa-instant-2comp-dimensionless-gsweep.yaml", "steps: 12", "steps: 300")
	dir := filepath.Join(t.TempDir(), "job")
	scripts, err := slurm.Write(slurm.Options{Binary: bin, Spec: spec, Dir: dir, Tasks: 3, Experiment: "gsweep"})
	if err != nil {
		t.Fatal(err)
	}
	c, ids := cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
	defer cancel()
	// The array held in the queue, as behind other users' jobs.
	array, err := c.Sbatch(ctx, scripts.Sweep, "--hold")
	if err != nil {
		t.Fatal(err)
	}
	*ids = append(*ids, array)
	existing, err := slurm.Existing(dir)
	if err != nil {
		t.Fatal(err)
	}
	rerun, err := c.Submit(ctx, existing, 0)
	if err != nil {
		t.Fatal(err)
	}
	*ids = append(*ids, rerun.Array, rerun.Merge)
	if !slices.Equal(rerun.Waits, []string{array}) {
		t.Fatalf("the rerun's merge waits for %v besides the rerun, want the held array %s", rerun.Waits, array)
	}
	// The rerun sweeps shard 0; its merge must not run yet.
	if st, err := c.Wait(ctx, rerun.Array); err != nil {
		dumpLogs(t, dir)
		t.Fatalf("rerun: %v (%v)", err, st)
	}
	if st, err := c.States(ctx, rerun.Merge); err != nil || len(st) != 1 || st[0].State != "PENDING" {
		t.Fatalf("the rerun's merge while the array is held: %v, %v; want it pending", st, err)
	}
	if _, err := slurm.Exec(ctx, "scontrol", "release", array); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Wait(ctx, array, rerun.Merge); err != nil {
		dumpLogs(t, dir)
		t.Fatalf("array and merge: %v (%v)", err, st)
	}
	sameAsSingleRun(t, bin, spec, "ampa-instant-2comp-dimensionless-gsweep", filepath.Join(dir, slurm.MergedDB))
}
