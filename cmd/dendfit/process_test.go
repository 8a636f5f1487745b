package main

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dendfit/dendfit/db"
)

// These tests run the real binary as a separate process, because what they
// check happens to processes: SIGKILL at an arbitrary moment, Ctrl-C, and
// two processes writing one database.

var dendfitBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dendfit-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dendfitBin = filepath.Join(dir, "dendfit")
	if out, err := exec.Command("go", "build", "-o", dendfitBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build dendfit: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// bigSweepSpec writes the two-population reference case with a g axis of
// steps points per pathway (3 pathways).
func bigSweepSpec(t *testing.T, steps int) string {
	t.Helper()
	s := referenceCase(t, "two-populations-three-pathways") + fmt.Sprintf("sweep:\n  g: {from: 0.1 nS, to: 10 nS, steps: %d, scale: log}\n", steps)
	return writeSpec(t, t.TempDir(), "big.yaml", s)
}

// waitForPoints polls the database until some run has recorded points.
func waitForPoints(t *testing.T, dbPath string, cmd *exec.Cmd) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if n := countPoints(t, dbPath); n > 0 {
			return
		}
		if cmd.ProcessState != nil {
			t.Fatal("sweep ended before recording anything")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no points recorded within 60 s")
}

func countPoints(t *testing.T, dbPath string) int {
	t.Helper()
	if _, err := os.Stat(dbPath); err != nil {
		return 0
	}
	d, err := db.OpenReadOnly(context.Background(), dbPath)
	if err != nil {
		return 0 // not created yet
	}
	defer d.Close()
	// Counted from the tables: the points view decodes every block, too
	// slow to poll while a sweep runs.
	_, rows, err := d.QueryReadOnly(context.Background(),
		"SELECT (SELECT count(*) FROM point_rows) + (SELECT coalesce(sum(n_points), 0) FROM point_blocks)")
	if err != nil || len(rows) == 0 {
		return 0
	}
	n, _ := rows[0][0].(int64)
	return int(n)
}

func sweepCmd(dbPath, spec string, extra ...string) *exec.Cmd {
	cmd := exec.Command(dendfitBin, append([]string{"--db", dbPath, "sweep", spec, "-q", "--workers", "2"}, extra...)...)
	cmd.Stdout, cmd.Stderr = nil, nil
	return cmd
}

// runStats returns a run's status and its number of points and of
// distinct point keys.
func runStats(t *testing.T, dbPath string, runID int64) (status string, points, distinct int) {
	t.Helper()
	d, r := openRun(t, dbPath, runID)
	defer d.Close()
	_, rows, err := d.QueryReadOnly(context.Background(), fmt.Sprintf("SELECT count(*), count(DISTINCT point_key) FROM points WHERE run_id = %d", runID))
	if err != nil {
		t.Fatal(err)
	}
	return r.Status, int(rows[0][0].(int64)), int(rows[0][1].(int64))
}

// runError is the error run runID of dbPath recorded.
func runError(t *testing.T, dbPath string, runID int64) string {
	t.Helper()
	d, r := openRun(t, dbPath, runID)
	d.Close()
	return r.Error
}

// openRun opens dbPath read-only and reads run runID; the caller closes
// the database.
func openRun(t *testing.T, dbPath string, runID int64) (*db.DB, *db.Run) {
	t.Helper()
	d, err := db.OpenReadOnly(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	r, err := d.Run(context.Background(), runID)
	if err != nil {
		d.Close()
		t.Fatal(err)
	}
	return d, r
}

// TestKillAndResume: a sweep killed with SIGKILL while writing leaves a
// database that opens cleanly; --resume continues the same run and ends
// with every point exactly once, bit-identical to an uninterrupted sweep.
func TestKillAndResume(t *testing.T) {
	// Long enough that the first commit (16384 points) comes well before
	// the end, for a kill between them.
	const steps = 50000
	spec := bigSweepSpec(t, steps)
	dbPath := filepath.Join(t.TempDir(), "k.db")
	cmd := sweepCmd(dbPath, spec)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitForPoints(t, dbPath, cmd)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	before := countPoints(t, dbPath)
	if before == 0 || before >= 3*steps {
		t.Fatalf("killed sweep recorded %d of %d points: not a mid-way kill", before, 3*steps)
	}
	// Recorded as running, it shows as interrupted: no process holds it.
	if out, err := runCLI(t, "--db", dbPath, "query", "runs", "--format", "csv"); err != nil || !strings.Contains(out, ",sweep,interrupted,") {
		t.Errorf("query runs after kill -9: %v\n%s", err, out)
	}
	for status, want := range map[string]string{"interrupted": `"status": "interrupted"`, "done": `"runs": []`} {
		if out, err := runCLI(t, "--db", dbPath, "query", "runs", "--status", status, "--json"); err != nil || !strings.Contains(out, want) {
			t.Errorf("query runs --status %s after kill -9: %v\n%s", status, err, out)
		}
	}
	// The database opens cleanly (read-write, migrations checked).
	d, err := db.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatalf("database after kill -9: %v", err)
	}
	d.Close()
	if out, err := sweepCmd(dbPath, spec, "--resume").CombinedOutput(); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	status, n, distinct := runStats(t, dbPath, 1)
	if status != db.StatusDone || n != 3*steps || distinct != n {
		t.Fatalf("run 1 after resume: %s, %d points (%d distinct), want done with %d", status, n, distinct, 3*steps)
	}
	// The resuming session is in the run's provenance.
	if out, err := runCLI(t, "--db", dbPath, "query", "sql", "SELECT json_extract(settings, '$.resumed[0].argv') FROM runs WHERE id = 1"); err != nil || !strings.Contains(out, `"--resume"`) {
		t.Errorf("run 1's resumed sessions: %q, %v", out, err)
	}
	// Same numbers as a sweep that was never interrupted.
	ref := filepath.Join(t.TempDir(), "ref.db")
	if out, err := sweepCmd(ref, spec).CombinedOutput(); err != nil {
		t.Fatalf("reference sweep: %v\n%s", err, out)
	}
	a, _ := runCLI(t, "--db", dbPath, "query", "points", "--run", "1", "--format", "csv")
	b, _ := runCLI(t, "--db", ref, "query", "points", "--run", "1", "--format", "csv")
	if a == "" || a != b {
		t.Fatalf("resumed sweep differs from an uninterrupted one (%d vs %d bytes)", len(a), len(b))
	}
}

// TestCtrlCStopsAndKeeps: SIGINT stops a sweep promptly with exit status
// 130, marks the run cancelled and keeps every point written. So does the
// signal sent twice at once, as `timeout -s INT` sends it (to the process,
// then to its process group): that is one request, not a second Ctrl-C.
func TestCtrlCStopsAndKeeps(t *testing.T) {
	for _, signals := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d signals", signals), func(t *testing.T) {
			// Long enough to be still running when the signal comes.
			spec := bigSweepSpec(t, 200000)
			dbPath := filepath.Join(t.TempDir(), "c.db")
			cmd := exec.Command(dendfitBin, "--db", dbPath, "sweep", spec, "--workers", "2") // not -q: its last note is wanted
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waitForPoints(t, dbPath, cmd)
			sent := time.Now()
			for i := range signals {
				if i > 0 {
					// timeout's two are microseconds apart; 20 ms is
					// as much one request, and always after the first
					// has been handled (so a second Ctrl-C of before).
					time.Sleep(20 * time.Millisecond)
				}
				if err := cmd.Process.Signal(os.Interrupt); err != nil {
					t.Fatal(err)
				}
			}
			err := cmd.Wait()
			took := time.Since(sent)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
				t.Fatalf("exit after Ctrl-C: %v, want status %d; stderr:\n%s", err, exitInterrupted, stderr.String())
			}
			if took > 5*time.Second {
				t.Errorf("took %v to stop after Ctrl-C", took)
			}
			status, n, distinct := runStats(t, dbPath, 1)
			if status != db.StatusCancelled || n == 0 || n != distinct {
				t.Fatalf("after Ctrl-C: run %s with %d points (%d distinct)", status, n, distinct)
			}
			// The run records what stopped it ("context canceled" before).
			if e := runError(t, dbPath, 1); e != "stopped by SIGINT (Ctrl-C)" {
				t.Errorf("after Ctrl-C: runs.error %q", e)
			}
			// It says what it kept and how to go on.
			want := fmt.Sprintf("run 1 stopped with %d of %d points recorded; continue it with: dendfit --db %s sweep %s --resume=1", n, 3*200000, dbPath, spec)
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("stderr after Ctrl-C:\n%s\nwant %q", stderr.String(), want)
			}
			t.Logf("stopped %v after SIGINT with %d points kept", took.Round(time.Millisecond), n)
		})
	}
}

// TestCtrlCJSONSummary: sweep --json stopped by Ctrl-C still prints its
// summary, saying the run was cancelled and what it kept (stdout was
// empty: a script had only the exit status).
func TestCtrlCJSONSummary(t *testing.T) {
	spec := bigSweepSpec(t, 200000)
	dbPath := filepath.Join(t.TempDir(), "j.db")
	cmd := exec.Command(dendfitBin, "--db", dbPath, "--json", "sweep", spec, "--workers", "2")
	var stdout strings.Builder
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitForPoints(t, dbPath, cmd)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	var ee *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Fatalf("exit after Ctrl-C: %v, want status %d", err, exitInterrupted)
	}
	_, n, _ := runStats(t, dbPath, 1)
	var got struct {
		RunID    int64  `json:"run_id"`
		Status   string `json:"status"`
		Recorded int    `json:"points_recorded"`
		Pathways []struct {
			Points int `json:"points"`
		} `json:"pathways"`
	}
	if err := json.Unmarshal([]byte(stdout.String()), &got); err != nil {
		t.Fatalf("stdout after Ctrl-C is no JSON summary (%v):\n%s", err, stdout.String())
	}
	sum := 0
	for _, p := range got.Pathways {
		sum += p.Points
	}
	if got.RunID != 1 || got.Status != db.StatusCancelled || got.Recorded != n || sum != n {
		t.Errorf("summary after Ctrl-C: run %d, %s, %d recorded, %d in its pathways; want run 1, cancelled, %d", got.RunID, got.Status, got.Recorded, sum, n)
	}
}

// TestSecondSignalEnds: a command stuck where it cannot watch for Ctrl-C
// (here reading a spec from a named pipe no one writes) ends at the second
// Ctrl-C; it ignored every one after the first.
func TestSecondSignalEnds(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "spec.fifo")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(dendfitBin, "describe", fifo)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	time.Sleep(200 * time.Millisecond)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	// The first Ctrl-C asks; the command, stuck, does not hear it. A
	// second within repeatWindow would count as the same one.
	select {
	case err := <-done:
		t.Fatalf("ended at the first Ctrl-C (%v): the test needs a command that cannot stop", err)
	case <-time.After(repeatWindow + 200*time.Millisecond):
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGINT {
			t.Errorf("after the second Ctrl-C: %v, want killed by SIGINT", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("still running 10 s after a second Ctrl-C")
	}
}

// TestTwoSweepsShareADatabase: two sweep processes on one database at once
// both finish, each run with its whole grid.
func TestTwoSweepsShareADatabase(t *testing.T) {
	const steps = 3000
	spec := bigSweepSpec(t, steps)
	dbPath := filepath.Join(t.TempDir(), "two.db")
	a, b := sweepCmd(dbPath, spec), sweepCmd(dbPath, spec)
	var outA, outB strings.Builder
	a.Stderr, b.Stderr = &outA, &outB
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	errA, errB := a.Wait(), b.Wait()
	if errA != nil || errB != nil {
		t.Fatalf("sweeps: %v (%s), %v (%s)", errA, outA.String(), errB, outB.String())
	}
	for run := int64(1); run <= 2; run++ {
		status, n, distinct := runStats(t, dbPath, run)
		if status != db.StatusDone || n != 3*steps || distinct != n {
			t.Errorf("run %d: %s with %d points (%d distinct), want done with %d", run, status, n, distinct, 3*steps)
		}
	}
}

// TestResumeLeavesARunningSweepAlone: `sweep --resume` while another
// process is still sweeping the spec's unfinished run leaves it alone and
// ends with an error that says so. It used to take that run over (both
// then wrote the same points, the second failing on the unique index and
// marking the live run failed), then to start a run of its own, which
// swept the whole grid again beside it (a SLURM task submitted twice, or
// requeued while its rerun ran). The live run finishes whole. The resume
// exits with status 5, which a SLURM task's script takes for another
// copy of the task finishing its shard.
func TestResumeLeavesARunningSweepAlone(t *testing.T) {
	const steps = 200000 // long enough that it cannot end while it is being stopped
	spec := bigSweepSpec(t, steps)
	dbPath := filepath.Join(t.TempDir(), "r.db")
	a := sweepCmd(dbPath, spec)
	var outA strings.Builder
	a.Stderr = &outA
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	waitForPoints(t, dbPath, a)
	// Stopped, it cannot finish before the resume looks, and it holds its
	// claim all the same.
	stopOutsideWrite(t, a, dbPath)
	b := exec.Command(dendfitBin, "--db", dbPath, "sweep", spec, "--workers", "2", "--resume")
	outB, errB := b.CombinedOutput()
	if err := a.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	errA := a.Wait()
	var ee *exec.ExitError
	// Its own status (5): a SLURM task's script ends well on it.
	if errA != nil || !errors.As(errB, &ee) || ee.ExitCode() != exitBeingSwept {
		t.Fatalf("sweeps: %v (%s), %v (%s); want the first done, the resume to fail with status %d", errA, outA.String(), errB, outB, exitBeingSwept)
	}
	if want := "run 1 of this spec is being swept by another process now: a new run would sweep it all a second time beside it"; !strings.Contains(string(outB), want) {
		t.Errorf("resume while run 1 is swept said:\n%s\nwant %q", outB, want)
	}
	status, n, distinct := runStats(t, dbPath, 1)
	if status != db.StatusDone || n != 3*steps || distinct != n {
		t.Errorf("run 1: %s with %d points (%d distinct), want done with %d", status, n, distinct, 3*steps)
	}
	if runs := recordedRuns(t, dbPath); len(runs) != 1 {
		t.Errorf("%d runs, want the one", len(runs))
	}
}

// stopOutsideWrite stops the sweep process cmd (SIGSTOP) at a moment it
// holds no write transaction on dbPath, so that other writers can go on.
func stopOutsideWrite(t *testing.T, cmd *exec.Cmd, dbPath string) {
	t.Helper()
	sdb, err := sql.Open("sqlite3", "file:"+dbPath+"?_busy_timeout=0")
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	for range 200 {
		if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond) // the signal has landed
		// A write statement takes the write lock even when it changes no
		// row; with no busy timeout it fails at once if the sweep has it.
		tx, err := sdb.BeginTx(context.Background(), nil)
		if err == nil {
			_, err = tx.Exec("DELETE FROM schema_migrations WHERE 0")
			tx.Rollback()
		}
		if err == nil {
			return
		}
		if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Millisecond)
	}
	t.Fatal("the sweep held its write lock 200 times in a row")
}

// TestReadOnlyDirectory: a database in a directory its reader cannot
// write (a colleague's results, a read-only share) is read: query, export
// and the rest open it read-only, and a WAL database's reader could not
// make its -shm file there ("attempt to write a readonly database").
func TestReadOnlyDirectory(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	if _, err := runCLI(t, "--db", src, "-q", "simulate", "../../pipeline/testdata/reference/cases/seed-ampa-2comp-dimensional.yaml"); err != nil {
		t.Fatal(err)
	}
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(ro, "results.db")
	if err := os.WriteFile(path, b, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(ro, 0o755) })
	spec, err := filepath.Abs("../../experiments/l23-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) ([]byte, error) { return exec.Command(dendfitBin, args...).CombinedOutput() }
	if os.Geteuid() == 0 {
		// Root writes anywhere: read as nobody instead.
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			t.Skip("running as root without setpriv to drop privileges")
		}
		bin := filepath.Join(dir, "dendfit")
		exe, err := os.ReadFile(dendfitBin)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, exe, 0o755); err != nil {
			t.Fatal(err)
		}
		for p := dir; p != filepath.Dir(p) && strings.HasPrefix(p, os.TempDir()) && p != os.TempDir(); p = filepath.Dir(p) {
			if err := os.Chmod(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		run = func(args ...string) ([]byte, error) {
			return exec.Command(setpriv, append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", bin}, args...)...).CombinedOutput()
		}
	}
	out, err := run("--db", path, "query", "runs", "--json")
	if err != nil || !strings.Contains(string(out), `"command": "simulate"`) {
		t.Fatalf("query runs in a read-only directory: %v\n%s", err, out)
	}
	// A new database there cannot be made, and the message says why (it
	// said "no such file or directory").
	out, err = run("--db", filepath.Join(ro, "new.db"), "-q", "simulate", spec)
	if err == nil || !strings.Contains(string(out), "cannot create "+filepath.Join(ro, "new.db")+": directory "+ro+" is not writable") {
		t.Errorf("a new database in a read-only directory: %v\n%s", err, out)
	}
	// Nor can the existing one be written there; the message says why (it
	// said "unable to open database file: no such file or directory").
	out, err = run("--db", path, "-q", "simulate", spec)
	if err == nil || !strings.Contains(string(out), "its directory "+ro+" is not writable") {
		t.Errorf("writing a database in a read-only directory: %v\n%s", err, out)
	}
	// It merges into a database elsewhere, as a shard on a read-only share.
	w := filepath.Join(dir, "w")
	if err := os.Mkdir(w, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(w, 0o777); err != nil { // past the umask
		t.Fatal(err)
	}
	if out, err := run("--db", filepath.Join(w, "m.db"), "merge", "--json", path); err != nil || !strings.Contains(string(out), `"runs": 1`) {
		t.Errorf("merge from a read-only directory: %v\n%s", err, out)
	}
	if entries, _ := os.ReadDir(ro); len(entries) != 1 {
		t.Errorf("the read-only directory holds %d files after the reads, want the database alone", len(entries))
	}
	// A file the reader may not read (root's, read as nobody) is not
	// blamed on the directory.
	if os.Geteuid() == 0 {
		if err := os.WriteFile(filepath.Join(w, "secret.db"), b, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := run("--db", filepath.Join(w, "secret.db"), "query", "runs")
		if err == nil || strings.Contains(string(out), "directory is not writable") {
			t.Errorf("an unreadable database: %v\n%s", err, out)
		}
	}
}

// TestResumedSweepSummary: the summary of a resumed sweep is of its whole
// run (every pathway's points, whichever session swept them), with the
// session's own count and the resumed count apart.
func TestResumedSweepSummary(t *testing.T) {
	spec := bigSweepSpec(t, 200000)
	dbPath := filepath.Join(t.TempDir(), "r.db")
	cmd := sweepCmd(dbPath, spec)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitForPoints(t, dbPath, cmd)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	out, err := exec.Command(dendfitBin, "--db", dbPath, "-q", "--json", "sweep", spec, "--resume").Output()
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Recorded int `json:"points_recorded"`
		Resumed  int `json:"points_resumed"`
		Pathways []struct {
			Points int `json:"points"`
		} `json:"pathways"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if got.Resumed == 0 || got.Recorded+got.Resumed != 3*200000 {
		t.Fatalf("resumed sweep: %d recorded + %d resumed, want 600000 with some resumed", got.Recorded, got.Resumed)
	}
	for i, p := range got.Pathways {
		if p.Points != 200000 {
			t.Errorf("pathway %d: %d points in the summary, want the run's 200000", i, p.Points)
		}
	}
}

// TestMergeOfAShardStillSwept: a merge that finds a shard's run still
// being recorded (its task alive) says to wait for it, naming the shard,
// run and file; it said to rerun the shard, which started a second sweep
// of it. Merged again after the task ends, the grid is whole.
func TestMergeOfAShardStillSwept(t *testing.T) {
	// Enough that the shard is still sweeping when the test stops it
	// (with 100,000 it sometimes had finished under load).
	const steps = 400000
	spec := bigSweepSpec(t, steps)
	dir := t.TempDir()
	s0, s1, out := filepath.Join(dir, "shard-0.db"), filepath.Join(dir, "shard-1.db"), filepath.Join(dir, "merged.db")
	if err := sweepCmd(s0, spec, "--shard", "0/2").Run(); err != nil {
		t.Fatal(err)
	}
	a := sweepCmd(s1, spec, "--shard", "1/2")
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	waitForPoints(t, s1, a)
	stopOutsideWrite(t, a, s1)
	b := exec.Command(dendfitBin, "merge", out, s0, s1)
	msg, errB := b.CombinedOutput()
	if err := a.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if err := a.Wait(); err != nil {
		t.Fatal(err)
	}
	want := "shard 1 of 2 (run 1 in " + s1 + ") still being swept; wait for it to end and merge again"
	if errB == nil || !strings.Contains(string(msg), want) {
		t.Errorf("merge while shard 1 is swept: %v\n%s\nwant %q", errB, msg, want)
	}
	// Its copy in the merged file reads as interrupted there, but
	// --resume leaves it to where it was swept (it swept its points a
	// second time), and starts no run of its own.
	resume := func() (string, error) {
		msg, err := exec.Command(dendfitBin, "--db", out, "sweep", spec, "--shard", "1/2", "--resume", "-q").CombinedOutput()
		return string(msg), err
	}
	want = "run 2 was still being swept in " + s1 + " (its run 1) when merged into " + out + ": resume it there if it stopped"
	if msg, err := resume(); err == nil || !strings.Contains(msg, want) {
		t.Errorf("--resume in the merged file: %v\n%s\nwant %q", err, msg, want)
	}
	// Its points read back say so, and not how to take it over.
	if msg, err := exec.Command(dendfitBin, "--db", out, "-q", "query", "points", "--run", "2", "--format", "csv").CombinedOutput(); err != nil ||
		!strings.Contains(string(msg), "warning: run 2 was still being swept in "+s1+" (its run 1) when merged here: this is what it held then; merge again once it ends") {
		t.Errorf("query points --run 2 in the merged file: %v\n%.300s", err, msg)
	}
	// Nor is the union of the shards, which lacks that one, taken over by
	// a --resume of the whole grid.
	msg, err := exec.Command(dendfitBin, "--db", out, "sweep", spec, "--resume", "-q").CombinedOutput()
	if want := "run 3 is the union 'dendfit merge' made of the 2 shards of this spec, and lacks some"; err == nil || !strings.Contains(string(msg), want) {
		t.Errorf("--resume of the whole grid in the merged file: %v\n%s\nwant %q", err, msg, want)
	}
	if msg, err := exec.Command(dendfitBin, "merge", out, s0, s1).CombinedOutput(); err != nil {
		t.Fatalf("merge after the sweep ended: %v\n%s", err, msg)
	}
	// Merged again, the run is done there too: nothing to resume.
	if msg, err := resume(); err != nil || !strings.Contains(msg, fmt.Sprintf("run 2: done (0 points recorded this time, %d resumed)", 3*steps/2)) {
		t.Errorf("--resume after the second merge: %v\n%s", err, msg)
	}
	status, n, distinct := runStats(t, out, 2)
	if status != db.StatusDone || n != distinct || n != 3*steps/2 {
		t.Errorf("shard 1's run in the merged file: %s, %d points (%d distinct), want done with %d", status, n, distinct, 3*steps/2)
	}
}

// TestSlurmTaskStoppedSaysHowToRerun: an array task of 'dendfit slurm'
// (its script passes -q) stopped by SIGTERM, as scancel and a time limit
// stop it, says in its log how to go on, with the --rerun of its task (a
// user trial found only "interrupted; finished work is kept" there).
func TestSlurmTaskStoppedSaysHowToRerun(t *testing.T) {
	b, err := os.ReadFile(bigSweepSpec(t, 400000))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	spec := writeSpec(t, dir, "spec.yaml", string(b))
	shard := filepath.Join(dir, "shard-1.db")
	cmd := sweepCmd(shard, spec, "--shard", "1/2", "--resume")
	cmd.Env = append(os.Environ(), "SLURM_ARRAY_TASK_ID=1", "SLURM_ARRAY_JOB_ID=77")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitForPoints(t, shard, cmd)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatalf("sweep ended before SIGTERM; stderr:\n%s", stderr.String())
	}
	for _, want := range []string{
		"run 1 stopped with ",
		"; continue it with: dendfit --db " + shard + " sweep " + spec + " --shard 1/2 --resume=1, or rerun this task: dendfit slurm " + spec + " --dir " + dir + " --rerun 1 --submit (with a longer --time if it ran out of time)\n",
		"dendfit: interrupted; finished work is kept\n",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr of a stopped task:\n%s\nwant %q", stderr.String(), want)
		}
	}
}

// TestFitCtrlCJSON: fit --json stopped by Ctrl-C prints its document,
// status cancelled, with the pathways fitted before it, those recorded
// (stdout was empty, as sweep's was); export and plot --fitted use them,
// as the help says.
func TestFitCtrlCJSON(t *testing.T) {
	y, err := os.ReadFile("../../experiments/cortex-paired-recordings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Fine steps: a pathway's fit takes long enough to stop between two.
	spec := writeSpec(t, t.TempDir(), "slow.yaml", strings.Replace(string(y), "dt: 0.025 ms", "dt: 0.0001 ms", 1))
	dbPath := filepath.Join(t.TempDir(), "f.db")
	cmd := exec.Command(dendfitBin, "--db", dbPath, "--json", "fit", spec, "--workers", "1", "--no-fine-dt")
	var stdout, fitErr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &fitErr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	fits := func() int {
		d, err := db.OpenReadOnly(context.Background(), dbPath)
		if err != nil {
			return 0
		}
		defer d.Close()
		fs, err := d.Fits(context.Background(), db.FitFilter{RunID: 1})
		if err != nil {
			return 0
		}
		return len(fs)
	}
	for deadline := time.Now().Add(60 * time.Second); fits() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no pathway fitted within 60 s")
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	var ee *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Fatalf("exit after Ctrl-C: %v, want status %d", err, exitInterrupted)
	}
	var got struct {
		RunID    *int64 `json:"run_id"`
		Status   string `json:"status"`
		Pathways []struct {
			Pathway int `json:"pathway"`
		} `json:"pathways"`
	}
	if err := json.Unmarshal([]byte(stdout.String()), &got); err != nil {
		t.Fatalf("stdout after Ctrl-C is no JSON document (%v):\n%s", err, stdout.String())
	}
	if n := fits(); got.RunID == nil || *got.RunID != 1 || got.Status != db.StatusCancelled || len(got.Pathways) != n || n == 0 || n == 7 {
		t.Errorf("after Ctrl-C: run %v, %s, %d pathways; want run 1, cancelled, the %d of 7 recorded", got.RunID, got.Status, len(got.Pathways), n)
	}
	out, err := runCLI(t, "--db", dbPath, "-q", "export", "--format", "csv")
	if err != nil {
		t.Fatalf("export after Ctrl-C: %v", err)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("export csv after Ctrl-C: %v\n%s", err, out)
	}
	col := slices.Index(rows[0], "fit_run_id")
	if col < 0 {
		t.Fatalf("export csv has no fit_run_id column: %q", rows[0])
	}
	fitted := map[string]bool{}
	for _, p := range got.Pathways {
		fitted[strconv.Itoa(p.Pathway)] = true
	}
	for _, row := range rows[1:] {
		if want := map[bool]string{true: "1"}[fitted[row[0]]]; row[col] != want {
			t.Errorf("export after Ctrl-C: pathway %s's row has fit_run_id %q, want %q", row[0], row[col], want)
		}
	}
	_, stderr, err := runCLIStderr(t, "--db", dbPath, "report", "-o", filepath.Join(t.TempDir(), "r.html"))
	n := len(got.Pathways)
	if want := fmt.Sprintf("7 pathways, %d fitted by fit run 1 (cancelled), 0 not converged, %d with a target and no fit", n, 7-n); err != nil || !strings.Contains(stderr, want) {
		t.Errorf("report after Ctrl-C: %v, %q; want %q", err, stderr, want)
	}
	first := strconv.Itoa(got.Pathways[0].Pathway)
	if _, err := runCLI(t, "--db", dbPath, "-q", "plot", "trace", spec, "--fitted", "-p", first, "-o", filepath.Join(t.TempDir(), "t.png")); err != nil {
		t.Errorf("plot trace --fitted -p %s after Ctrl-C: %v", first, err)
	}
	// The note names the command that fits the rest, which completes the
	// calibration: every pathway exported from run 1 or its own run 2.
	_, rest, ok := strings.Cut(fitErr.String(), "; fit the rest with: dendfit ")
	if !strings.Contains(fitErr.String(), fmt.Sprintf("%d of 7 pathways fitted before it stopped are recorded in run 1; export, report and plot --fitted use them", n)) || !ok {
		t.Fatalf("stderr after Ctrl-C does not say what was kept and how to fit the rest:\n%s", fitErr.String())
	}
	args := strings.Fields(strings.SplitN(rest, "\n", 2)[0])
	if out, err := exec.Command(dendfitBin, append(args, "-q", "--no-fine-dt", "-j", "2")...).CombinedOutput(); err != nil {
		t.Fatalf("dendfit %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if out, stderr, err = runCLIStderr(t, "--db", dbPath, "export", "--format", "csv"); err != nil {
		t.Fatalf("export after the rest: %v", err)
	}
	if rows, err = csv.NewReader(strings.NewReader(out)).ReadAll(); err != nil || len(rows) != 1+2*5+2 {
		t.Fatalf("export after the rest: %v, %d rows\n%s", err, len(rows), out)
	}
	for _, row := range rows[1:] {
		if want := map[bool]string{true: "1", false: "2"}[fitted[row[0]]]; row[col] != want {
			t.Errorf("export after the rest: pathway %s's row has fit_run_id %q, want %q", row[0], row[col], want)
		}
	}
	if strings.Contains(stderr, "no fit") {
		t.Errorf("export after the rest warns of a pathway with no fit:\n%s", stderr)
	}
}
