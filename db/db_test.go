package db

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dendfit/dendfit/migrations"
)

func openTemp(t *testing.T, name string) *DB {
	t.Helper()
	d, err := Open(context.Background(), filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func ptr[T any](v T) *T { return &v }

// newRun records an experiment and a running run of it.
func newRun(t *testing.T, d *DB, exp, spec, command string) *Run {
	t.Helper()
	ctx := context.Background()
	eid, err := d.PutExperiment(ctx, exp, []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	r := NewRun(eid, command, []string{"dendfit", command, exp + ".yaml"})
	if _, err := d.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	return r
}

func testPoint(pathway int, key string) Point {
	return Point{
		Pathway: pathway, Pre: "CA3", Post: "CA1", Compartment: "dend", Record: "soma", Tag: "t",
		PointKey: key, GNS: 1.5, TDecayMS: 5, TRiseMS: ptr(0.5),
		Receptors: []Receptor{{Channel: "AMPA", GNS: 1.5, TDecayMS: 5, TRiseMS: ptr(0.5)}, {Channel: "NMDA", GNS: 0.7, TDecayMS: 50}},
		PSPMV:     0.8, BaselineMV: -70, TimeToPeakMS: 3.2, Rise1090MS: ptr(1.1), HalfWidthMS: ptr(12.5),
		PeaksMV: map[string]float64{"soma": -69.2, "dend": -65.0}, IHoldPA: ptr(-12.0), DSpikeFired: true,
		Status: PointOK,
	}
}

func count(t *testing.T, d *DB, q string) int {
	t.Helper()
	var n int
	if err := d.sql.QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestDefaultPath(t *testing.T) {
	t.Setenv(EnvPath, "")
	if got := DefaultPath(); got != "dendfit.db" {
		t.Errorf("DefaultPath() = %q", got)
	}
	t.Setenv(EnvPath, "/x/y.db")
	if got := DefaultPath(); got != "/x/y.db" {
		t.Errorf("DefaultPath() = %q", got)
	}
}

func TestMigrationsAppliedAndRecorded(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "dendfit.db")
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	all, err := migrations.All()
	if err != nil {
		t.Fatal(err)
	}
	rows, err := d.sql.Query(`SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	var applied []string
	for rows.Next() {
		var v int
		var name, at string
		if err := rows.Scan(&v, &name, &at); err != nil {
			t.Fatal(err)
		}
		if _, err := time.Parse(time.RFC3339Nano, at); err != nil {
			t.Errorf("applied_at %q: %v", at, err)
		}
		applied = append(applied, fmt.Sprintf("%d %s %s", v, name, at))
	}
	rows.Close()
	if len(applied) != len(all) {
		t.Fatalf("recorded %d migrations, want %d: %v", len(applied), len(all), applied)
	}
	for _, table := range []string{"experiments", "runs", "point_rows", "point_blocks", "f64_scale", "fits", "schema_migrations"} {
		if count(t, d, `SELECT count(*) FROM sqlite_master WHERE type='table' AND name='`+table+`'`) != 1 {
			t.Errorf("table %s missing", table)
		}
	}
	// 0003 makes points a view over point_rows and point_blocks.
	if count(t, d, `SELECT count(*) FROM sqlite_master WHERE type='view' AND name='points'`) != 1 {
		t.Errorf("view points missing")
	}
	// 0002 leaves points (point_rows since 0003) with its UNIQUE (run_id,
	// point_key) index alone.
	for _, idx := range []string{"points_run_pathway", "points_pathway_g", "points_pre_post"} {
		if count(t, d, `SELECT count(*) FROM sqlite_master WHERE type='index' AND name='`+idx+`'`) != 0 {
			t.Errorf("index %s still there after 0002", idx)
		}
	}
	if count(t, d, `SELECT count(*) FROM sqlite_master WHERE type='index' AND tbl_name='point_rows'`) != 1 {
		t.Errorf("point_rows should keep exactly its unique index")
	}
	var mode string
	if err := d.sql.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	if n := count(t, d, `PRAGMA page_size`); n != 65536 {
		t.Errorf("page_size = %d, want 65536 for a new database", n)
	}
	if count(t, d, `PRAGMA foreign_keys`) != 1 {
		t.Error("foreign keys off")
	}
	v, err := d.SchemaVersion(ctx)
	if err != nil || v != all[len(all)-1].Version {
		t.Errorf("SchemaVersion = %d, %v", v, err)
	}
	d.Close()

	// Reopening applies nothing and records nothing new.
	d, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	rows, err = d.sql.Query(`SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	var again []string
	for rows.Next() {
		var v int
		var name, at string
		if err := rows.Scan(&v, &name, &at); err != nil {
			t.Fatal(err)
		}
		again = append(again, fmt.Sprintf("%d %s %s", v, name, at))
	}
	rows.Close()
	if !reflect.DeepEqual(applied, again) {
		t.Errorf("reopen changed schema_migrations:\n%v\n%v", applied, again)
	}
}

func TestFutureSchemaRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "dendfit.db")
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	latest, _ := migrations.Latest()
	future := latest + 1
	if _, err := d.sql.Exec(`INSERT INTO schema_migrations VALUES (?, ?, '2030-01-01T00:00:00Z')`, future, fmt.Sprintf("%04d_future.sql", future)); err != nil {
		t.Fatal(err)
	}
	d.Close()
	want := fmt.Sprintf("has schema version %d, this dendfit knows up to %d: upgrade dendfit", future, latest)
	// Read-only too: query, export, plot and report open it so.
	for name, open := range map[string]func(context.Context, string) (*DB, error){"Open": Open, "OpenReadOnly": OpenReadOnly} {
		_, err = open(ctx, path)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "db: ") {
			t.Errorf("%s future db: err = %v, want %q", name, err, want)
		}
	}
}

func TestConcurrentOpenOfNewFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "dendfit.db")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := Open(ctx, path)
			if err == nil {
				d.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestPutExperimentIdempotent(t *testing.T) {
	ctx := context.Background()
	d := openTemp(t, "dendfit.db")
	spec := []byte("name: ca1\n# exact bytes, trailing spaces   \n")
	a, err := d.PutExperiment(ctx, "ca1", spec)
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.PutExperiment(ctx, "ca1", spec)
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.PutExperiment(ctx, "ca1", []byte("name: ca1\nchanged: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a != b || a == c {
		t.Errorf("ids %d %d %d: want first two equal, third different", a, b, c)
	}
	exps, err := d.Experiments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(exps) != 2 || string(exps[0].SpecText) != string(spec) && string(exps[1].SpecText) != string(spec) {
		t.Fatalf("experiments = %+v", exps)
	}
	for _, e := range exps {
		if len(e.SpecSHA256) != 64 || e.CreatedAt.IsZero() {
			t.Errorf("experiment %+v", e)
		}
	}
	if count(t, d, `SELECT count(*) FROM experiments WHERE typeof(spec_text) = 'text'`) != 2 {
		t.Error("spec_text not stored as TEXT")
	}
}

func TestRunLifecycle(t *testing.T) {
	ctx := context.Background()
	d := openTemp(t, "dendfit.db")
	eid, err := d.PutExperiment(ctx, "ca1", []byte("spec"))
	if err != nil {
		t.Fatal(err)
	}
	r := NewRun(eid, CommandSweep, []string{"dendfit", "sweep", "--workers", "4"})
	r.Workers, r.ShardK, r.ShardN, r.DtMS, r.Method = 4, 1, 3, 0.025, "exponential_euler"
	r.Settings = json.RawMessage(`{"g_nS":[0.5,1,2]}`)
	id, err := d.CreateRun(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if id != r.ID || len(r.RunUID) != 32 || r.StartedAt.IsZero() || r.Status != StatusRunning {
		t.Fatalf("CreateRun left run %+v", r)
	}
	release, err := d.ClaimRun(id) // as its process does; unclaimed, it reads as interrupted
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	got, err := d.Run(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := *r
	want.Experiment = "ca1"
	want.StartedAt = r.StartedAt.Round(0)
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("Run() =\n%+v\nwant\n%+v", *got, want)
	}
	if err := d.FinishRun(ctx, id, StatusRunning, ""); err == nil {
		t.Error("FinishRun accepted status running")
	}
	if err := d.FinishRun(ctx, id, StatusFailed, "boom"); err != nil {
		t.Fatal(err)
	}
	got, err = d.Run(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusFailed || got.Error != "boom" || got.EndedAt == nil || got.EndedAt.Before(got.StartedAt) {
		t.Errorf("after FinishRun: %+v", got)
	}
	if err := d.ReopenRun(ctx, id, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ = d.Run(ctx, id); got.Status != StatusRunning || got.EndedAt != nil || got.Error != "" {
		t.Errorf("after ReopenRun: %+v", got)
	}
	if err := d.FinishRun(ctx, id, StatusDone, ""); err != nil {
		t.Fatal(err)
	}
	if err := d.FinishRun(ctx, 9999, StatusDone, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("FinishRun(missing) = %v", err)
	}
	if _, err := d.Run(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("Run(missing) = %v", err)
	}

	// A later reproduce run, and one of another experiment.
	r2 := NewRun(eid, CommandReproduce, nil)
	r2.ReproducesRunID = &id
	r2.StartedAt = r.StartedAt.Add(time.Second)
	if _, err := d.CreateRun(ctx, r2); err != nil {
		t.Fatal(err)
	}
	oid, err := d.PutExperiment(ctx, "other", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	r3 := NewRun(oid, CommandFit, nil)
	r3.StartedAt = r.StartedAt.Add(2 * time.Second)
	if _, err := d.CreateRun(ctx, r3); err != nil {
		t.Fatal(err)
	}
	runs, err := d.Runs(ctx, RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 3 || runs[0].ID != r3.ID || runs[1].ID != r2.ID || runs[2].ID != id {
		t.Errorf("Runs order: %v", runIDs(runs))
	}
	if runs[1].ReproducesRunID == nil || *runs[1].ReproducesRunID != id || runs[1].Argv == nil {
		t.Errorf("reproduce run: %+v", runs[1])
	}
	runs, _ = d.Runs(ctx, RunFilter{Experiment: "ca1", Limit: 1})
	if len(runs) != 1 || runs[0].ID != r2.ID {
		t.Errorf("Runs(ca1, limit 1): %v", runIDs(runs))
	}
	runs, _ = d.Runs(ctx, RunFilter{Command: CommandSweep, Status: StatusDone})
	if len(runs) != 1 || runs[0].ID != id {
		t.Errorf("Runs(sweep, done): %v", runIDs(runs))
	}
	n, err := d.NewestRun(ctx, "ca1", CommandSweep, StatusDone, StatusFailed)
	if err != nil || n.ID != id {
		t.Errorf("NewestRun = %v, %v", n, err)
	}
	n, err = d.NewestRun(ctx, "ca1", "")
	if err != nil || n.ID != r2.ID {
		t.Errorf("NewestRun(any command) = %v, %v", n, err)
	}
	_, err = d.NewestRun(ctx, "ca1", CommandFit)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `fit run of experiment "ca1"`) {
		t.Errorf("NewestRun(none) = %v", err)
	}
	bad := NewRun(eid, CommandSweep, nil)
	bad.Settings = json.RawMessage(`{`)
	if _, err := d.CreateRun(ctx, bad); err == nil {
		t.Error("CreateRun accepted invalid settings JSON")
	}
	bad = NewRun(424242, CommandSweep, nil)
	if _, err := d.CreateRun(ctx, bad); err == nil {
		t.Error("CreateRun accepted a missing experiment (foreign keys off?)")
	}
}

func runIDs(runs []Run) []int64 {
	var ids []int64
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	return ids
}

func TestPointsIdempotentAndFiltered(t *testing.T) {
	ctx := context.Background()
	d := openTemp(t, "dendfit.db")
	r := newRun(t, d, "ca1", "spec", CommandSweep)
	var pts []Point
	for i := 0; i < 10; i++ {
		p := testPoint(i%2, fmt.Sprintf("p%02d", i))
		p.GNS = float64(i)
		pts = append(pts, p)
	}
	failed := Point{Pathway: 1, PointKey: "zfail", GNS: 3.5, TDecayMS: 5, PSPMV: 99, Error: "diverged"}
	pts = append(pts, failed)
	if err := d.InsertPoints(ctx, r.ID, pts[:6]); err != nil {
		t.Fatal(err)
	}
	// Resume: the full list again, overlapping the first six.
	if err := d.InsertPoints(ctx, r.ID, pts); err != nil {
		t.Fatal(err)
	}
	if err := d.InsertPoints(ctx, r.ID, pts); err != nil {
		t.Fatal(err)
	}
	keys, err := pointKeys(ctx, d, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 11 {
		t.Fatalf("%d point keys, want 11", len(keys))
	}
	all, err := d.Points(ctx, PointFilter{RunID: r.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 11 || all[0].Pathway != 0 || all[0].PointKey != "p00" || all[len(all)-1].PointKey != "zfail" {
		t.Fatalf("Points order wrong: %d points", len(all))
	}
	got := all[0]
	want := pts[0]
	want.ID, want.RunID = got.ID, r.ID
	if !reflect.DeepEqual(got, want) {
		t.Errorf("point round trip:\n%+v\nwant\n%+v", got, want)
	}
	f := all[len(all)-1]
	if f.Status != PointFailed || f.Error != "diverged" || f.PSPMV != 0 || f.Receptors == nil || f.PeaksMV == nil {
		t.Errorf("failed point: %+v", f)
	}
	if count(t, d, `SELECT count(*) FROM points WHERE psp_mV IS NULL`) != 1 {
		t.Error("failed point's psp_mV not NULL")
	}
	one := 1
	sel, err := d.Points(ctx, PointFilter{Experiment: "ca1", Pathway: &one, Status: PointOK, GMinNS: ptr(2.0), GMaxNS: ptr(7.0), Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(sel) != 2 || sel[0].GNS != 3 || sel[1].GNS != 5 {
		t.Errorf("filtered points: %+v", sel)
	}
	if err := d.InsertPoints(ctx, r.ID, []Point{{PointKey: "bad", Status: "weird"}}); err == nil {
		t.Error("InsertPoints accepted an invalid status")
	}
	if err := d.InsertPoints(ctx, r.ID, []Point{testPoint(0, "new"), {PointKey: ""}}); err == nil {
		t.Error("InsertPoints accepted an empty key")
	}
	if _, ok := mustKeys(t, d, r.ID)["new"]; ok {
		t.Error("a failed InsertPoints batch was partly committed")
	}
}

func mustKeys(t *testing.T, d *DB, runID int64) map[string]struct{} {
	t.Helper()
	k, err := pointKeys(context.Background(), d, runID)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestFits(t *testing.T) {
	ctx := context.Background()
	d := openTemp(t, "dendfit.db")
	r := newRun(t, d, "ca1", "spec", CommandFit)
	f := Fit{Pathway: 2, Pre: "CA3", Post: "CA1", Compartment: "dend", Record: "soma", Tag: "sc",
		Receptors: []string{"AMPA", "NMDA"}, TargetPSPMV: 0.5, GFitNS: []float64{1.25, 0.5},
		TDecayMS: ptr(5.0), PSPAtFitMV: 0.4999, PSPFineDtMV: ptr(0.5001), Evaluations: 17, Converged: true,
		Outcome: "converged", Message: "ok", Residuals: json.RawMessage(`[0.1,0.01]`),
		Warnings: []string{"pathway 2 (CA3->CA1): the PSP moves by 2% at dt/10", "a second, \"quoted\""}}
	id, err := d.InsertFit(ctx, r.ID, f)
	if err != nil {
		t.Fatal(err)
	}
	fits, err := d.Fits(ctx, FitFilter{RunID: r.ID})
	if err != nil {
		t.Fatal(err)
	}
	want := f
	want.ID, want.RunID, want.Experiment = id, r.ID, "ca1" // its run's
	if len(fits) != 1 || !reflect.DeepEqual(fits[0], want) {
		t.Fatalf("Fits =\n%+v\nwant\n%+v", fits, want)
	}
	f.GFitNS, f.Warnings = []float64{2, 1}, nil
	id2, err := d.InsertFit(ctx, r.ID, f)
	if err != nil {
		t.Fatal(err)
	}
	fits, _ = d.Fits(ctx, FitFilter{Experiment: "ca1"})
	if id2 != id || len(fits) != 1 || fits[0].GFitNS[0] != 2 || fits[0].Warnings != nil {
		t.Errorf("refit did not replace: %d %d %+v", id, id2, fits)
	}
	if fits, _ = d.Fits(ctx, FitFilter{Experiment: "nope"}); len(fits) != 0 {
		t.Errorf("Fits(nope) = %+v", fits)
	}
}

// TestConcurrentWriters writes from several goroutines through one handle
// and through two separate handles on the same file; nothing may be lost.
func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "dendfit.db")
	a, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const writers, runsEach, batches, batchSize = 4, 3, 5, 20
	handles := []*DB{a, a, b, b}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int, d *DB) {
			defer wg.Done()
			for r := 0; r < runsEach; r++ {
				eid, err := d.PutExperiment(ctx, "shared", []byte("same spec"))
				if err != nil {
					errs <- err
					return
				}
				run := NewRun(eid, CommandSweep, nil)
				if _, err := d.CreateRun(ctx, run); err != nil {
					errs <- err
					return
				}
				for bi := 0; bi < batches; bi++ {
					var pts []Point
					for i := 0; i < batchSize; i++ {
						pts = append(pts, testPoint(w, fmt.Sprintf("w%d-b%d-%d", w, bi, i)))
					}
					if err := d.InsertPoints(ctx, run.ID, pts); err != nil {
						errs <- err
						return
					}
				}
				if err := d.FinishRun(ctx, run.ID, StatusDone, ""); err != nil {
					errs <- err
					return
				}
			}
		}(w, handles[w])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := count(t, a, `SELECT count(*) FROM runs WHERE status = 'done'`); n != writers*runsEach {
		t.Errorf("%d done runs, want %d", n, writers*runsEach)
	}
	if n := count(t, b, `SELECT count(*) FROM points`); n != writers*runsEach*batches*batchSize {
		t.Errorf("%d points, want %d", n, writers*runsEach*batches*batchSize)
	}
	if n := count(t, a, `SELECT count(*) FROM experiments`); n != 1 {
		t.Errorf("%d experiments, want 1", n)
	}
}

func TestQueryReadOnly(t *testing.T) {
	ctx := context.Background()
	d := openTemp(t, "dendfit.db")
	r := newRun(t, d, "ca1", "spec", CommandSweep)
	if err := d.InsertPoints(ctx, r.ID, []Point{testPoint(0, "a"), testPoint(1, "b")}); err != nil {
		t.Fatal(err)
	}
	snapshot := func() string {
		cols, rows, err := d.QueryReadOnly(ctx, `SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM points),
			(SELECT group_concat(status) FROM runs), (SELECT count(*) FROM sqlite_master), (SELECT total(g_nS) FROM points)`)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(cols, rows)
	}
	before := snapshot()
	tmp := t.TempDir()
	var userVersion int64
	d.sql.QueryRow(`PRAGMA user_version`).Scan(&userVersion)

	refused := []string{
		`INSERT INTO runs (experiment_id, command, status, started_at, run_uid) VALUES (1, 'x', 'done', 'now', 'u')`,
		`UPDATE runs SET status = 'failed'`,
		`DELETE FROM points`,
		`DELETE FROM point_rows`,
		`DELETE FROM point_blocks`,
		`CREATE TABLE evil (x)`,
		`CREATE INDEX evil ON points (tag)`,
		`DROP TABLE points`,
		`DROP INDEX points_pre_post`,
		`ALTER TABLE runs ADD COLUMN evil TEXT`,
		`PRAGMA user_version = 42`,
		`PRAGMA journal_mode = DELETE`,
		`PRAGMA query_only = 0`,
		`PRAGMA query_only(0)`,
		`pragma main.user_version=5`,
		`WITH x AS (SELECT 1) DELETE FROM points`,
		`REPLACE INTO experiments (id, name, spec_text, spec_sha256, created_at) VALUES (1, 'a', 'b', 'c', 'd')`,
		`ATTACH DATABASE '` + filepath.Join(tmp, "other.db") + `' AS o`,
		`VACUUM`,
		`VACUUM INTO '` + filepath.Join(tmp, "copy.db") + `'`,
		`SELECT 1; DELETE FROM points`,
		`/* sneaky */ DELETE FROM points -- comment`,
		`REINDEX`,
		`ANALYZE`,
	}
	for _, q := range refused {
		_, _, err := d.QueryReadOnly(ctx, q)
		if err == nil {
			t.Errorf("QueryReadOnly(%q) ran", q)
			continue
		}
		if !strings.HasPrefix(err.Error(), "query: ") {
			t.Errorf("QueryReadOnly(%q) error %q lacks the query: prefix", q, err)
		}
	}
	_, _, err := d.QueryReadOnly(ctx, `DELETE FROM point_rows`)
	if !errors.Is(err, ErrWrite) || err.Error() != "query: statement would write; only read-only SQL is allowed" {
		t.Errorf("DELETE error = %v", err)
	}
	if _, _, err := d.QueryReadOnly(ctx, `SELECT 1; SELECT 2`); err == nil || !strings.Contains(err.Error(), "one statement") {
		t.Errorf("two SELECTs: %v", err)
	}
	if _, err := d.ro.Exec(`UPDATE runs SET status = 'failed'`); err == nil {
		t.Error("lazily opened read-only pool accepted a write (backstop missing)")
	}
	if after := snapshot(); after != before {
		t.Errorf("read-only queries changed the database:\n%s\n%s", before, after)
	}
	var uv int64
	d.sql.QueryRow(`PRAGMA user_version`).Scan(&uv)
	if uv != userVersion {
		t.Errorf("user_version changed to %d", uv)
	}
	if m, _ := filepath.Glob(filepath.Join(tmp, "*")); len(m) != 0 {
		t.Errorf("read-only queries created files: %v", m)
	}

	cols, rows, err := d.QueryReadOnly(ctx, `-- leading comment
		SELECT pathway, point_key AS k, g_nS, t_rise_ms * NULL AS n, 'a;b' AS s FROM points ORDER BY pathway;`)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cols, []string{"pathway", "k", "g_nS", "n", "s"}) {
		t.Errorf("cols = %v", cols)
	}
	if len(rows) != 2 || !reflect.DeepEqual(rows[0], []any{int64(0), "a", 1.5, nil, "a;b"}) {
		t.Errorf("rows = %#v", rows)
	}
	for _, q := range []string{`PRAGMA table_info(points)`, `PRAGMA user_version`, `WITH x(n) AS (VALUES (1)) SELECT n FROM x`,
		`EXPLAIN QUERY PLAN SELECT * FROM points WHERE pathway = 1 AND g_nS > 2`} {
		if _, _, err := d.QueryReadOnly(ctx, q); err != nil {
			t.Errorf("QueryReadOnly(%q): %v", q, err)
		}
	}
	if _, _, err := d.QueryReadOnly(ctx, "  -- nothing\n ; "); err == nil {
		t.Error("empty query accepted")
	}

	// OpenReadOnly: same checks, plus the connection itself refuses writes.
	ro, err := OpenReadOnly(ctx, d.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, _, err := ro.QueryReadOnly(ctx, `UPDATE runs SET status = 'failed'`); !errors.Is(err, ErrWrite) {
		t.Errorf("read-only handle UPDATE: %v", err)
	}
	if _, err := ro.sql.Exec(`UPDATE runs SET status = 'failed'`); err == nil {
		t.Error("read-only connection accepted a write (backstop missing)")
	}
	if err := ro.FinishRun(ctx, r.ID, StatusFailed, "x"); err == nil {
		t.Error("FinishRun on a read-only handle succeeded")
	}
	// Stored as running, claimed by no process.
	runs, err := ro.Runs(ctx, RunFilter{})
	if err != nil || len(runs) != 1 || runs[0].Status != StatusInterrupted {
		t.Errorf("Runs on read-only handle: %v, %v", runs, err)
	}
	if after := snapshot(); after != before {
		t.Errorf("database changed:\n%s\n%s", before, after)
	}
}

func TestOpenReadOnlyMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.db")
	_, err := OpenReadOnly(context.Background(), path)
	if err == nil || !strings.Contains(err.Error(), "no such database") {
		t.Fatalf("OpenReadOnly(missing) = %v", err)
	}
	if matches, _ := filepath.Glob(path + "*"); len(matches) != 0 {
		t.Errorf("OpenReadOnly created %v", matches)
	}
}

func TestPathWithURICharacters(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "we?ird #dir %41")
	path := filepath.Join(dir, "a&b=c.db")
	if err := mkdir(dir); err != nil {
		t.Fatal(err)
	}
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	newRun(t, d, "ca1", "spec", CommandSimulate)
	_, rows, err := d.QueryReadOnly(ctx, `SELECT count(*) FROM runs`)
	if err != nil || rows[0][0] != int64(1) {
		t.Fatalf("query via read-only URI: %v %v", rows, err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.db")); len(m) != 1 || m[0] != path {
		t.Errorf("files: %v", m)
	}
}

// TestInsertFitResultsIsAtomic: a fit run's points and fits are recorded
// together, and a bad fit row leaves neither.
func TestInsertFitResultsIsAtomic(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, filepath.Join(t.TempDir(), "f.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	eid, _ := d.PutExperiment(ctx, "x", []byte("s"))
	run, err := d.CreateRun(ctx, NewRun(eid, CommandFit, nil))
	if err != nil {
		t.Fatal(err)
	}
	pts := []Point{{PointKey: "fit/p0000/e000", GNS: 1, PSPMV: 0.5}, {PointKey: "fit/p0000/e001", GNS: 2, PSPMV: 1}}
	fits := []Fit{{Pathway: 0, GFitNS: []float64{2}, Converged: true, Outcome: "converged"}}
	if err := d.InsertFitResults(ctx, run, pts, fits); err != nil {
		t.Fatal(err)
	}
	gotP, _ := d.Points(ctx, PointFilter{RunID: run})
	gotF, _ := d.Fits(ctx, FitFilter{RunID: run})
	if len(gotP) != 2 || len(gotF) != 1 {
		t.Fatalf("%d points, %d fits; want 2, 1", len(gotP), len(gotF))
	}
	run2, _ := d.CreateRun(ctx, NewRun(eid, CommandFit, nil))
	bad := []Point{{PointKey: "a"}, {PointKey: ""}} // empty key: refused
	if err := d.InsertFitResults(ctx, run2, bad, fits); err == nil {
		t.Fatal("bad point accepted")
	}
	gotP, _ = d.Points(ctx, PointFilter{RunID: run2})
	gotF, _ = d.Fits(ctx, FitFilter{RunID: run2})
	if len(gotP) != 0 || len(gotF) != 0 {
		t.Fatalf("partial record: %d points, %d fits", len(gotP), len(gotF))
	}
}

// TestReopenRunRecordsSession: each resuming session's provenance is
// appended to the run's settings; the run's own columns and settings
// keys stay those of the session that started it.
func TestReopenRunRecordsSession(t *testing.T) {
	ctx := context.Background()
	d, _ := sweepRunDB(t, "")
	eid, err := d.PutExperiment(ctx, "y", []byte("spec y"))
	if err != nil {
		t.Fatal(err)
	}
	r := NewRun(eid, CommandSweep, []string{"dendfit", "sweep", "y.yaml", "-j", "2"})
	r.Workers, r.Settings = 2, json.RawMessage(`{"shard_k":0,"shard_n":1}`)
	id, err := d.CreateRun(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	// The first session was cancelled; the first resume was killed (left
	// running).
	if err := d.FinishRun(ctx, id, StatusCancelled, "context canceled"); err != nil {
		t.Fatal(err)
	}
	cancelled, err := d.Run(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for i, argv := range [][]string{{"dendfit", "sweep", "y.yaml", "--resume", "-j", "1"}, {"dendfit-new", "sweep", "y.yaml", "--resume"}} {
		s := NewRun(eid, CommandSweep, argv)
		s.Workers, s.Host = i+1, fmt.Sprintf("node%d", i)
		if err := d.ReopenRun(ctx, id, s); err != nil {
			t.Fatal(err)
		}
	}
	got, err := d.Run(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		ShardN  *int `json:"shard_n"`
		Resumed []struct {
			Argv    []string `json:"argv"`
			Workers int      `json:"workers"`
			Host    string   `json:"host"`
			Started string   `json:"started_at"`
			Go      string   `json:"go_version"`
			Status  string   `json:"previous_status"`
			Ended   *string  `json:"previous_ended_at"`
			Error   string   `json:"previous_error"`
		} `json:"resumed"`
	}
	if err := json.Unmarshal(got.Settings, &st); err != nil {
		t.Fatalf("settings %s: %v", got.Settings, err)
	}
	if st.ShardN == nil || *st.ShardN != 1 || len(st.Resumed) != 2 ||
		st.Resumed[0].Argv[3] != "--resume" || st.Resumed[0].Workers != 1 || st.Resumed[0].Host != "node0" ||
		st.Resumed[1].Argv[0] != "dendfit-new" || st.Resumed[1].Host != "node1" || st.Resumed[1].Started == "" || st.Resumed[1].Go == "" {
		t.Errorf("settings after two resumes: %s", got.Settings)
	}
	// Each session keeps how it found the run, which reopening cleared.
	if r0 := st.Resumed[0]; r0.Status != StatusCancelled || r0.Error != "context canceled" || r0.Ended == nil ||
		*r0.Ended != cancelled.EndedAt.UTC().Format(TimeFormat) {
		t.Errorf("first resume found the run %q, ended %v, error %q; want cancelled at %v", r0.Status, r0.Ended, r0.Error, cancelled.EndedAt)
	}
	if r1 := st.Resumed[1]; r1.Status != StatusInterrupted || r1.Ended != nil || r1.Error != "" {
		t.Errorf("second resume found the run %q, ended %v, error %q; want interrupted", r1.Status, r1.Ended, r1.Error)
	}
	// Stored as running, it reads as interrupted: no process claims it.
	if got.Workers != 2 || strings.Join(got.Argv, " ") != "dendfit sweep y.yaml -j 2" || got.Status != StatusInterrupted {
		t.Errorf("run columns changed by resumes: %+v", got)
	}
}

// TestForeignDatabaseLeftAlone: an SQLite file of another program is
// refused by Open and OpenReadOnly and left byte for byte as it was.
// Open used to turn it to WAL and add dendfit's tables beside the
// program's own, or fail halfway through the first migration when a
// table name was taken, leaving schema_migrations behind.
func TestForeignDatabaseLeftAlone(t *testing.T) {
	ctx := context.Background()
	// A WAL-mode file is checked by the read-write connection itself, a
	// rollback-journal one before that connection turns it to WAL.
	for i, tables := range [][]string{{"patients"}, {"runs"}, {"a", "b", "c", "d"}, {"schema_migrations", "users"}, {"wal_patients"}, {"schema_migrations", "wal_users"}} {
		path := filepath.Join(t.TempDir(), "other.db")
		raw, err := sql.Open("sqlite3", path)
		if err != nil {
			t.Fatal(err)
		}
		if i >= 4 {
			if _, err := raw.Exec("PRAGMA journal_mode = WAL"); err != nil {
				t.Fatal(err)
			}
		}
		for _, tb := range tables {
			if _, err := raw.Exec("CREATE TABLE " + tb + " (x)"); err != nil {
				t.Fatal(err)
			}
		}
		raw.Close()
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for name, open := range map[string]func(context.Context, string) (*DB, error){"Open": Open, "OpenReadOnly": OpenReadOnly} {
			d, err := open(ctx, path)
			if err == nil {
				d.Close()
				t.Fatalf("%s of a database with tables %v succeeded", name, tables)
			}
			if want := "is not a dendfit database (it holds tables " + tables[0]; !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v, want %q", name, err, want)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
				t.Errorf("%s changed a database with tables %v", name, tables)
			}
			for _, ext := range []string{"-wal", "-shm"} {
				// A read-only connection to a WAL database leaves them
				// (SQLite's own behaviour), empty.
				if _, err := os.Stat(path + ext); err == nil && (i < 4 || name == "Open") {
					t.Errorf("%s left %s%s", name, path, ext)
				}
			}
		}
	}
}

// TestNewestRunPrefersTheWholeGrid: the newest finished run to read a
// sweep from is one of the whole grid (a single process's or a merge's
// union run) while there is one, however many shard runs (or
// reproductions of them) came later; only shards left, the newest of
// those.
func TestNewestRunPrefersTheWholeGrid(t *testing.T) {
	ctx := context.Background()
	d := openTemp(t, "w.db")
	eid, err := d.PutExperiment(ctx, "x", []byte("spec"))
	if err != nil {
		t.Fatal(err)
	}
	add := func(k, n int) int64 {
		r := NewRun(eid, CommandSweep, nil)
		r.ShardK, r.ShardN = k, n
		id, err := d.CreateRun(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.FinishRun(ctx, id, StatusDone, ""); err != nil {
			t.Fatal(err)
		}
		return id
	}
	newest := func() int64 {
		t.Helper()
		r, err := d.NewestRun(ctx, "x", "", StatusDone)
		if err != nil {
			t.Fatal(err)
		}
		runs, err := d.Runs(ctx, RunFilter{Experiment: "x", Status: StatusDone, Limit: 1, WholeGridFirst: true})
		if err != nil || len(runs) != 1 || runs[0].ID != r.ID {
			t.Fatalf("Runs(WholeGridFirst) = %v, %v; NewestRun %d", runs, err, r.ID)
		}
		return r.ID
	}
	shard := add(0, 4)
	if got := newest(); got != shard {
		t.Errorf("only a shard: newest %d, want %d", got, shard)
	}
	whole := add(0, 1)
	add(1, 4)
	add(2, 4)
	if got := newest(); got != whole {
		t.Errorf("newest %d, want the whole-grid run %d", got, whole)
	}
	if runs, _ := d.Runs(ctx, RunFilter{Experiment: "x", Limit: 1}); runs[0].ID == whole {
		t.Error("without WholeGridFirst, Runs put the whole-grid run first")
	}
}

// TestDatabaseWithNoSchemaYet: a file with no dendfit schema yet (empty,
// or one whose first command was killed before its schema was committed,
// which leaves schema_migrations alone) is reported as holding no results
// by OpenReadOnly, instead of failing a query later with "no such table:
// runs", and merges as an empty source (a killed SLURM task's shard made
// the whole merge fail); Open sets it up.
func TestDatabaseWithNoSchemaYet(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	stub := filepath.Join(dir, "stub.db")
	raw, err := sql.Open("sqlite3", stub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`PRAGMA journal_mode = WAL; CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	dst := openTemp(t, "dst.db")
	for _, p := range []string{empty, stub} {
		if d, err := OpenReadOnly(ctx, p); !errors.Is(err, ErrEmpty) {
			if d != nil {
				d.Close()
			}
			t.Errorf("%s: OpenReadOnly: %v, want ErrEmpty", filepath.Base(p), err)
		}
		if empty, err := CheckMergeable(ctx, p); err != nil || !empty {
			t.Errorf("%s: CheckMergeable: empty %v, %v", filepath.Base(p), empty, err)
		}
		if st, err := Merge(ctx, dst, p, MergeOptions{}); err != nil || st != (MergeStats{}) {
			t.Errorf("%s: Merge: %+v, %v; want nothing merged", filepath.Base(p), st, err)
		}
	}
	d, err := Open(ctx, stub)
	if err != nil {
		t.Fatalf("Open of the stub: %v", err)
	}
	d.Close()
	if d, err := OpenReadOnly(ctx, stub); err != nil {
		t.Errorf("OpenReadOnly after Open set it up: %v", err)
	} else {
		d.Close()
	}
}

// TestFitWarningsMigration: a database of schema 0004 with a fit opens
// migrated (0005), its fit read back with no warnings, and takes fits
// with warnings from then on.
func TestFitWarningsMigration(t *testing.T) {
	ctx := context.Background()
	old := schema4Fit(t)
	// Read-only, the file is not migrated: its fits read with no
	// warnings.
	ro, err := OpenReadOnly(ctx, old.path)
	if err != nil {
		t.Fatal(err)
	}
	if fits, err := ro.Fits(ctx, FitFilter{RunID: 1}); err != nil || len(fits) != 1 || fits[0].Warnings != nil {
		t.Errorf("the 0004 fit read-only: %+v, %v", fits, err)
	}
	ro.Close()
	d, err := Open(ctx, old.path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if v, err := d.SchemaVersion(ctx); err != nil || v < 5 {
		t.Fatalf("schema version %d, %v", v, err)
	}
	fits, err := d.Fits(ctx, FitFilter{RunID: 1})
	if err != nil || len(fits) != 1 || fits[0].GFitNS[0] != 1.5 || fits[0].Warnings != nil {
		t.Fatalf("the 0004 fit read back as %+v, %v", fits, err)
	}
	fits[0].Pathway, fits[0].Warnings = 1, []string{"doubtful"}
	if _, err := d.InsertFit(ctx, 1, fits[0]); err != nil {
		t.Fatal(err)
	}
	if fits, err = d.Fits(ctx, FitFilter{RunID: 1}); err != nil || len(fits) != 2 || !reflect.DeepEqual(fits[1].Warnings, []string{"doubtful"}) {
		t.Errorf("after the migration: %+v, %v", fits, err)
	}
}

// TestForeignWALWithFramesLeftAlone: another program's WAL database whose
// WAL still holds frames (that program was killed) is refused without
// being changed: a read-write connection, closed, would checkpoint them.
func TestForeignWALWithFramesLeftAlone(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	live := filepath.Join(dir, "live.db")
	raw, err := sql.Open("sqlite3", live+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	for _, q := range []string{"PRAGMA wal_autocheckpoint = 0", "CREATE TABLE patients (x)", "INSERT INTO patients VALUES (1)"} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	// The files as a kill -9 leaves them: the database and its WAL.
	path := filepath.Join(dir, "other.db")
	for _, ext := range []string{"", "-wal"} {
		b, err := os.ReadFile(live + ext)
		if err != nil {
			t.Fatal(err)
		}
		if ext == "-wal" && len(b) == 0 {
			t.Fatal("the WAL holds no frames")
		}
		if err := os.WriteFile(path+ext, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := os.ReadFile(path)
	if d, err := Open(ctx, path); err == nil || !strings.Contains(err.Error(), "is not a dendfit database (it holds tables patients)") {
		if d != nil {
			d.Close()
		}
		t.Fatalf("Open: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Errorf("Open changed the database: %d bytes, was %d", len(after), len(before))
	}
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() == 0 {
		t.Errorf("Open took the WAL's frames: %v", err)
	}
}

// schema4Fit is a closed database of schema 0004 (before fits had
// warnings) holding one done fit run of experiment ca1 with one fit.
func schema4Fit(t *testing.T) *DB {
	t.Helper()
	old := replayedTo(t, 4)
	if _, err := old.sql.Exec(`INSERT INTO experiments (name, spec_text, spec_sha256, created_at) VALUES ('ca1', 's', 'h', '2026-01-01T00:00:00.000000000Z');
		INSERT INTO runs (experiment_id, command, status, started_at, run_uid) VALUES (1, 'fit', 'done', '2026-01-01T00:00:00.000000000Z', 'u1');
		INSERT INTO fits (run_id, pathway, target_psp_mV, g_fit_nS, converged, outcome) VALUES (1, 0, 0.5, '[1.5]', 1, 'converged')`); err != nil {
		t.Fatal(err)
	}
	old.sql.Close()
	return old
}

// TestOpenWhereItCannotCreate: a database whose directory is missing, or
// is a file, is refused saying so (under a file it blamed the directory's
// permissions and said query could still read it).
func TestOpenWhereItCannotCreate(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(dir, "nodir", "x.db"), "db: cannot create " + filepath.Join(dir, "nodir", "x.db") + ": directory " + filepath.Join(dir, "nodir") + " does not exist"},
		{filepath.Join(file, "x.db"), "db: cannot create " + filepath.Join(file, "x.db") + ": " + file + " is not a directory"},
		{filepath.Join(file, "sub", "x.db"), "db: cannot create " + filepath.Join(file, "sub", "x.db") + ": " + file + " is not a directory"},
		{filepath.Join(dir, "a", "b", "x.db"), "db: cannot create " + filepath.Join(dir, "a", "b", "x.db") + ": directory " + filepath.Join(dir, "a", "b") + " does not exist"},
	} {
		if d, err := Open(context.Background(), tc.path); err == nil || err.Error() != tc.want {
			if err == nil {
				d.Close()
			}
			t.Errorf("Open(%s): %v, want %q", tc.path, err, tc.want)
		}
	}
}

// TestSignedFitPSPMigration: a database of schema 0006, whose fits hold
// |PSP|, opens migrated (0007) with each fit's PSP signed as its
// evaluation nearest its g: an IPSP's negative (and its PSP at dt/10), an
// EPSP's and a fit that ran nothing as they were; opened read-only (not
// migrated) its fits read signed the same.
func TestSignedFitPSPMigration(t *testing.T) {
	ctx := context.Background()
	old := replayedTo(t, 6)
	if _, err := old.sql.Exec(`INSERT INTO experiments (name, spec_text, spec_sha256, created_at) VALUES ('ca1', 's', 'h', '2026-01-01T00:00:00.000000000Z');
		INSERT INTO runs (experiment_id, command, status, started_at, run_uid) VALUES (1, 'fit', 'done', '2026-01-01T00:00:00.000000000Z', 'u1');
		INSERT INTO fits (run_id, pathway, target_psp_mV, g_fit_nS, psp_at_fit_mV, psp_fine_dt_mV, converged, outcome) VALUES
			(1, 0, 1, '[2.0]', 1.0, 0.99, 1, 'converged'),
			(1, 1, 0.5, '[1.5]', 0.5, 0.49, 1, 'converged'),
			(1, 2, 0.5, '[]', 0, NULL, 0, 'sim_failed');
		INSERT INTO point_rows (run_id, pathway, point_key, g_nS, t_decay_ms, psp_mV, status) VALUES
			(1, 0, 'e0', 1.0, 5, -0.6, 'ok'), (1, 0, 'e1', 2.0, 5, -1.0, 'ok'), (1, 0, 'e2', 2.01, 5, NULL, 'failed'),
			(1, 1, 'e3', 1.5, 2, 0.5, 'ok'), (1, 1, 'e4', 1.49, 2, -0.01, 'ok')`); err != nil {
		t.Fatal(err)
	}
	old.sql.Close()
	check := func(d *DB, how string) {
		t.Helper()
		fits, err := d.Fits(ctx, FitFilter{RunID: 1})
		if err != nil || len(fits) != 3 {
			t.Fatalf("%s: fits: %+v, %v", how, fits, err)
		}
		for i, want := range []struct {
			psp  float64
			fine *float64
		}{{-1.0, ptr(-0.99)}, {0.5, ptr(0.49)}, {0, nil}} {
			f := fits[i]
			if f.PSPAtFitMV != want.psp || (f.PSPFineDtMV == nil) != (want.fine == nil) || (f.PSPFineDtMV != nil && *f.PSPFineDtMV != *want.fine) {
				t.Errorf("%s: fit of pathway %d: psp %v, at dt/10 %v; want %v, %v", how, f.Pathway, f.PSPAtFitMV, fmtPtr(f.PSPFineDtMV), want.psp, fmtPtr(want.fine))
			}
		}
	}
	// Read-only, the file is not migrated: its fits are signed as read.
	ro, err := OpenReadOnly(ctx, old.path)
	if err != nil {
		t.Fatal(err)
	}
	check(ro, "read-only at 0006")
	ro.Close()
	d, err := Open(ctx, old.path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	check(d, "migrated")
}

// fmtPtr writes *p, or null.
func fmtPtr(p *float64) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

// TestMarkSweptElsewhere: a merge's mark of a run still being swept in
// another file keeps its settings and is read back while the run is
// stored running (it reads as interrupted here); a finished run takes no
// mark, and one without reads none.
func TestMarkSweptElsewhere(t *testing.T) {
	ctx := context.Background()
	d := openTemp(t, "m.db")
	eid, err := d.PutExperiment(ctx, "ca1", []byte("spec"))
	if err != nil {
		t.Fatal(err)
	}
	running := NewRun(eid, CommandSweep, []string{"dendfit", "sweep"})
	running.Settings = json.RawMessage(`{"shard":"1/2"}`)
	done := NewRun(eid, CommandSweep, []string{"dendfit", "sweep"})
	for _, r := range []*Run{running, done} {
		if _, err := d.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.FinishRun(ctx, done.ID, StatusDone, ""); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*Run{running, done} {
		if err := d.MarkSweptElsewhere(ctx, r.RunUID, "shard-1.db", 7); err != nil {
			t.Fatal(err)
		}
	}
	r, err := d.Run(ctx, running.ID)
	if err != nil {
		t.Fatal(err)
	}
	var settings map[string]any
	if json.Unmarshal(r.Settings, &settings) != nil || settings["shard"] != "1/2" {
		t.Errorf("settings after the mark: %s", r.Settings)
	}
	if e, ok := r.SweptElsewhere(); !ok || r.Status != StatusInterrupted || e.File != "shard-1.db" || e.RunID != 7 || e.At == "" {
		t.Errorf("run %s: swept elsewhere %+v, %v", r.Status, e, ok)
	}
	if r, err := d.Run(ctx, done.ID); err != nil || string(r.Settings) != "{}" {
		t.Errorf("the finished run: settings %s, %v", r.Settings, err)
	} else if _, ok := r.SweptElsewhere(); ok {
		t.Error("the finished run reads as swept elsewhere")
	}
}

// TestReadOnlyCloseTidiesTheWAL: reading a database leaves no -wal or
// -shm beside it (every query left an empty WAL and a 32 KB -shm where
// the command that wrote it had left none), unless another connection
// still has it open, which needs them; and a WAL that holds frames (as a
// kill -9 leaves it) is left for a writer, not copied into the file by a
// query.
func TestReadOnlyCloseTidiesTheWAL(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "r.db")
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	read := func(p string) {
		t.Helper()
		r, err := OpenReadOnly(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if runs, err := r.Runs(ctx, RunFilter{}); err != nil || len(runs) == 0 {
			t.Fatalf("read %s: %d runs, %v", p, len(runs), err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
	w, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	newRun(t, w, "ca1", "spec", CommandSweep)
	// A writer still open: the reader leaves the files it shares.
	read(path)
	if !exists(path+"-wal") || !exists(path+"-shm") {
		t.Fatal("a query removed the WAL files of a database another connection has open")
	}
	// A copy of the files as a kill -9 of the writer leaves them.
	crashed := filepath.Join(dir, "crashed.db")
	for _, ext := range []string{"", "-wal"} {
		b, err := os.ReadFile(path + ext)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(crashed+ext, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	newRun(t, w, "ca1", "spec", CommandSweep) // the writer works on
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if exists(path+"-wal") || exists(path+"-shm") {
		t.Fatal("the writer's close left its WAL files")
	}
	read(path)
	for _, ext := range []string{"-wal", "-shm"} {
		if exists(path + ext) {
			t.Errorf("a query left %s%s", filepath.Base(path), ext)
		}
	}
	fi, err := os.Stat(crashed + "-wal")
	if err != nil || fi.Size() == 0 {
		t.Fatalf("the crashed copy's WAL holds no frames (%v): the premise fails", err)
	}
	before, _ := os.ReadFile(crashed)
	read(crashed)
	if after, _ := os.ReadFile(crashed); !bytes.Equal(after, before) {
		t.Error("a query copied a crashed writer's WAL into the database file")
	}
	if fi, err := os.Stat(crashed + "-wal"); err != nil || fi.Size() == 0 {
		t.Errorf("a query took a crashed writer's WAL (%v)", err)
	}
}

// TestPointsOfSchema2ReadOnly: a database from before point_blocks
// (0003), opened read-only and so not migrated, lists its points from its
// points table; it failed with "no such table: point_blocks" until a
// command wrote to it. Migrated, it lists the same.
func TestPointsOfSchema2ReadOnly(t *testing.T) {
	ctx := context.Background()
	old := replayedTo(t, 2)
	if _, err := old.sql.Exec(`INSERT INTO experiments (name, spec_text, spec_sha256, created_at) VALUES ('ca1', 's', 'h', '2026-01-01T00:00:00.000000000Z');
		INSERT INTO runs (experiment_id, command, status, started_at, run_uid) VALUES (1, 'simulate', 'done', '2026-01-01T00:00:00.000000000Z', 'u1');
		INSERT INTO points (run_id, pathway, point_key, g_nS, t_decay_ms, psp_mV, peaks_mV, status)
			VALUES (1, 0, 'p0', 1.5, 2, 0.25, '{"soma":-69.75}', 'ok'), (1, 1, 'p1', 3, 2, NULL, '{}', 'failed')`); err != nil {
		t.Fatal(err)
	}
	old.sql.Close()
	check := func(name string, d *DB) {
		t.Helper()
		one := 1
		for _, tc := range []struct {
			f    PointFilter
			want []string
		}{
			{PointFilter{Experiment: "ca1"}, []string{"p0", "p1"}},
			{PointFilter{RunID: 1, Pathway: &one}, []string{"p1"}},
			{PointFilter{Status: PointOK}, []string{"p0"}},
		} {
			pts, err := d.Points(ctx, tc.f)
			var keys []string
			for _, p := range pts {
				keys = append(keys, p.PointKey)
			}
			if err != nil || !slices.Equal(keys, tc.want) {
				t.Errorf("%s: points %+v: %q, %v; want %q", name, tc.f, keys, err, tc.want)
			}
			if len(pts) > 0 && pts[0].PointKey == "p0" && (pts[0].GNS != 1.5 || pts[0].PSPMV != 0.25 || pts[0].PeaksMV["soma"] != -69.75) {
				t.Errorf("%s: point p0 read as %+v", name, pts[0])
			}
		}
	}
	ro, err := OpenReadOnly(ctx, old.path)
	if err != nil {
		t.Fatal(err)
	}
	check("read-only", ro)
	ro.Close()
	d, err := Open(ctx, old.path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	check("migrated", d)
}
