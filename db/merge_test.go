package db

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// shard writes a shard database with one sweep run (points of pathways
// 0..1) and one fit run, plus a reproduce run pointing at the sweep.
func shard(t *testing.T, dir string, k int, spec string) (path string, sweep *Run) {
	t.Helper()
	ctx := context.Background()
	path = filepath.Join(dir, fmt.Sprintf("shard%d.db", k))
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// Pad ids so source and destination ids differ.
	for i := 0; i < k; i++ {
		if _, err := d.PutExperiment(ctx, fmt.Sprintf("pad%d", i), []byte("pad")); err != nil {
			t.Fatal(err)
		}
	}
	eid, err := d.PutExperiment(ctx, "ca1", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	sweep = NewRun(eid, CommandSweep, []string{"dendfit", "sweep", "--shard", fmt.Sprint(k)})
	sweep.ShardK, sweep.ShardN = k, 4
	if _, err := d.CreateRun(ctx, sweep); err != nil {
		t.Fatal(err)
	}
	var pts []Point
	for i := 0; i < 5; i++ {
		pts = append(pts, testPoint(i%2, fmt.Sprintf("k%d-%d", k, i)))
	}
	if err := d.InsertPoints(ctx, sweep.ID, pts); err != nil {
		t.Fatal(err)
	}
	if err := d.FinishRun(ctx, sweep.ID, StatusDone, ""); err != nil {
		t.Fatal(err)
	}
	fit := newRun(t, d, "ca1", spec, CommandFit)
	for p := 0; p < 2; p++ {
		if _, err := d.InsertFit(ctx, fit.ID, Fit{Pathway: p, Receptors: []string{"AMPA"}, GFitNS: []float64{float64(k)}}); err != nil {
			t.Fatal(err)
		}
	}
	rep := NewRun(sweep.ExperimentID, CommandReproduce, nil)
	rep.ReproducesRunID = &sweep.ID
	if _, err := d.CreateRun(ctx, rep); err != nil {
		t.Fatal(err)
	}
	return path, sweep
}

func TestMerge(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s1, sweep1 := shard(t, dir, 1, "spec")
	s2, sweep2 := shard(t, dir, 3, "spec")
	dst := openTemp(t, "merged.db")
	// dst already has its own run, so merged ids must be remapped.
	own := newRun(t, dst, "ca1", "spec", CommandSimulate)

	st, err := Merge(ctx, dst, s1, MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st != (MergeStats{Experiments: 1, Runs: 3, Points: 5, Fits: 2}) { // pad0 is new, ca1 already there
		t.Errorf("first merge stats %+v", st)
	}
	st, err = Merge(ctx, dst, s2, MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st != (MergeStats{Experiments: 2, Runs: 3, Points: 5, Fits: 2}) { // pad1, pad2 new
		t.Errorf("second merge stats %+v", st)
	}
	for _, p := range []string{s1, s2} {
		st, err := Merge(ctx, dst, p, MergeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if st != (MergeStats{}) {
			t.Errorf("re-merging %s added %+v", filepath.Base(p), st)
		}
		// A source is left as found: no -wal or -shm beside it (a
		// trial's merge left them beside every shard).
		for _, ext := range []string{"-wal", "-shm"} {
			if _, err := os.Stat(p + ext); err == nil {
				t.Errorf("merging %s left %s%s", filepath.Base(p), filepath.Base(p), ext)
			}
		}
	}
	if n := count(t, dst, `SELECT count(*) FROM runs`); n != 7 {
		t.Errorf("%d runs, want 7", n)
	}
	if n := count(t, dst, `SELECT count(*) FROM experiments WHERE name = 'ca1'`); n != 1 {
		t.Errorf("%d ca1 experiments, want 1", n)
	}
	if n := count(t, dst, `SELECT count(*) FROM points`); n != 10 {
		t.Errorf("%d points, want 10", n)
	}
	if n := count(t, dst, `SELECT count(*) FROM fits`); n != 4 {
		t.Errorf("%d fits, want 4", n)
	}
	if n := count(t, dst, `SELECT count(*) FROM pragma_foreign_key_check`); n != 0 {
		t.Errorf("foreign key violations: %d", n)
	}
	// Ids are remapped: every merged run points at dst's ca1 experiment,
	// points hang off the merged run with the right uid, and reproduce
	// links follow run_uid.
	for _, src := range []*Run{sweep1, sweep2} {
		runs, err := dst.Runs(ctx, RunFilter{Experiment: "ca1", Command: CommandSweep})
		if err != nil {
			t.Fatal(err)
		}
		var m *Run
		for i := range runs {
			if runs[i].RunUID == src.RunUID {
				m = &runs[i]
			}
		}
		if m == nil {
			t.Fatalf("run %s not merged", src.RunUID)
		}
		if m.ExperimentID != own.ExperimentID || m.Status != StatusDone || m.ShardK != src.ShardK {
			t.Errorf("merged run %+v", m)
		}
		keys, _ := pointKeys(ctx, dst, m.ID)
		if _, ok := keys[fmt.Sprintf("k%d-0", src.ShardK)]; len(keys) != 5 || !ok {
			t.Errorf("merged run %d has keys %v", m.ID, keys)
		}
		var reproUID string
		if err := dst.sql.QueryRow(`SELECT r2.run_uid FROM runs r JOIN runs r2 ON r2.id = r.reproduces_run_id
			JOIN runs s ON s.id = r.reproduces_run_id WHERE r.command = 'reproduce' AND s.run_uid = ?`, src.RunUID).Scan(&reproUID); err != nil {
			t.Errorf("reproduce link of %s: %v", src.RunUID, err)
		}
	}
	if ids := count(t, dst, `SELECT count(DISTINCT id) FROM runs`); ids != 7 {
		t.Errorf("duplicate run ids")
	}

	// Resumed shard: more points and a finish recorded after the first merge.
	ctx2 := context.Background()
	sd, err := Open(ctx2, s1)
	if err != nil {
		t.Fatal(err)
	}
	if err := sd.ReopenRun(ctx2, sweep1.ID, nil); err != nil {
		t.Fatal(err)
	}
	if err := sd.InsertPoints(ctx2, sweep1.ID, []Point{testPoint(0, "late")}); err != nil {
		t.Fatal(err)
	}
	if err := sd.FinishRun(ctx2, sweep1.ID, StatusFailed, "late failure"); err != nil {
		t.Fatal(err)
	}
	sd.Close()
	st, err = Merge(ctx, dst, s1, MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st != (MergeStats{RunsUpdated: 1, Points: 1}) {
		t.Errorf("resumed shard merge stats %+v", st)
	}
}

func TestMergeMixedSpecs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src, _ := shard(t, dir, 1, "spec B")
	dst := openTemp(t, "merged.db")
	newRun(t, dst, "ca1", "spec A", CommandSweep)
	_, err := Merge(ctx, dst, src, MergeOptions{})
	if !errors.Is(err, ErrMixedSpecs) || !strings.Contains(err.Error(), `experiment "ca1" has spec sha256`) {
		t.Fatalf("mixed merge: %v", err)
	}
	if n := count(t, dst, `SELECT count(*) FROM runs`); n != 1 {
		t.Errorf("refused merge left %d runs", n)
	}
	st, err := Merge(ctx, dst, src, MergeOptions{AllowMixed: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.Runs != 3 || st.Experiments != 2 {
		t.Errorf("AllowMixed stats %+v", st)
	}
	if n := count(t, dst, `SELECT count(*) FROM experiments WHERE name = 'ca1'`); n != 2 {
		t.Errorf("%d ca1 specs, want 2", n)
	}
}

func TestMergeRefusals(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dst := openTemp(t, "merged.db")
	if _, err := Merge(ctx, dst, filepath.Join(dir, "missing.db"), MergeOptions{}); err == nil {
		t.Error("merged a missing file")
	}
	if _, err := Merge(ctx, dst, dst.Path(), MergeOptions{}); err == nil || !strings.Contains(err.Error(), "same file") {
		t.Errorf("self merge: %v", err)
	}
	future, _ := shard(t, dir, 0, "spec")
	fd, err := Open(ctx, future)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fd.sql.Exec(`INSERT INTO schema_migrations VALUES (99, '0099_x.sql', 'x')`); err != nil {
		t.Fatal(err)
	}
	fd.Close()
	if _, err := Merge(ctx, dst, future, MergeOptions{}); err == nil || !strings.Contains(err.Error(), "schema version 99") {
		t.Errorf("future merge: %v", err)
	}
	// The connection used for merging is usable afterwards (src detached).
	if _, err := dst.PutExperiment(ctx, "after", []byte("x")); err != nil {
		t.Fatal(err)
	}
}

// TestMergeAgainAddsNewBlocks: a source merged while its sweep was still
// running (or before a --resume) and merged again after brings the blocks
// it recorded since; they were skipped, and the run merged as done.
func TestMergeAgainAddsNewBlocks(t *testing.T) {
	ctx := context.Background()
	srcPath := filepath.Join(t.TempDir(), "src.db")
	src, run := sweepRunDB(t, srcPath)
	block := func(from int) []*PointBlock {
		b := &PointBlock{Pathway: 0, Pre: "E", Post: "E", Compartment: "dend", Record: "soma",
			Channels: []string{"AMPA"}, Compartments: []string{"soma", "dend"}, Axes: [3]int{100, 0, 0}}
		for i := from; i < from+10; i++ {
			b.Add(&BlockPoint{Index: i, GNS: []float64{float64(i)}, TDecayMS: []float64{2}, TRiseMS: []float64{math.NaN()},
				PSPMV: 0.1 * float64(i), BaselineMV: -70, TimeToPeakMS: 9, Rise1090MS: 4, HalfWidthMS: 20,
				IHoldPA: math.NaN(), PeaksMV: []float64{1, 2}})
		}
		return []*PointBlock{b}
	}
	dst := openTemp(t, "merged.db")
	for i, from := range []int{0, 10, 20} {
		if err := src.InsertPointBlocks(ctx, run, block(from)); err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			// The last blocks come from a resumed session, which the run
			// records; the merged copy gets that too.
			if err := src.ReopenRun(ctx, run, NewRun(0, CommandSweep, []string{"dendfit", "sweep", "--resume"})); err != nil {
				t.Fatal(err)
			}
			if err := src.FinishRun(ctx, run, StatusDone, ""); err != nil {
				t.Fatal(err)
			}
		}
		st, err := Merge(ctx, dst, srcPath, MergeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if st.Points != 10 {
			t.Errorf("merge %d added %d points, want the 10 recorded since", i, st.Points)
		}
		if n := count(t, dst, `SELECT count(*) FROM points`); n != 10*(i+1) {
			t.Errorf("after merge %d: %d points, want %d", i, n, 10*(i+1))
		}
	}
	if got := str(t, dst, `SELECT status || ' ' || json_extract(settings, '$.resumed[0].argv[2]') FROM runs`); got != "done --resume" {
		t.Errorf("merged run: %q, want done with its resumed session", got)
	}
}

// TestMergeMigratesAnOlderSource: a source written by an older dendfit
// (schema 4) is migrated in place by CheckMergeable, keeping its rows, and
// then merges; it used to be refused with "open it once with this
// dendfit", which no read-only command does.
func TestMergeMigratesAnOlderSource(t *testing.T) {
	ctx := context.Background()
	old := schema4Fit(t)
	if empty, err := CheckMergeable(ctx, old.path); err != nil || empty {
		t.Fatalf("CheckMergeable: %v (empty %v)", err, empty)
	}
	dst := openTemp(t, "dst.db")
	st, err := Merge(ctx, dst, old.path, MergeOptions{})
	if err != nil || st.Runs != 1 || st.Fits != 1 {
		t.Fatalf("Merge: %+v, %v", st, err)
	}
	fits, err := dst.Fits(ctx, FitFilter{Experiment: "ca1"})
	if err != nil || len(fits) != 1 || fits[0].GFitNS[0] != 1.5 {
		t.Errorf("merged fits %+v, %v", fits, err)
	}
}

// TestCheckMergeSpecs: the spec rule of Merge, applied to every input
// before anything is merged: shards of spec A then B are refused at B,
// naming both files (Merge refused B only after A was merged); shards of
// one spec, and an output that has the spec, pass.
func TestCheckMergeSpecs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, _ := shard(t, dir, 1, "spec A")
	b, _ := shard(t, t.TempDir(), 2, "spec B")
	a2, _ := shard(t, t.TempDir(), 2, "spec A")
	out := filepath.Join(dir, "out.db")
	err := CheckMergeSpecs(ctx, out, []string{a, b})
	if !errors.Is(err, ErrMixedSpecs) || !strings.Contains(err.Error(), "in "+b+" but ") || !strings.Contains(err.Error(), " in "+a) {
		t.Fatalf("A then B: %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the check made %s: %v", out, err)
	}
	if err := CheckMergeSpecs(ctx, out, []string{a, a2}); err != nil {
		t.Errorf("two shards of spec A: %v", err)
	}
	// An output holding spec B refuses shards of A.
	dst := openTemp(t, "merged.db")
	newRun(t, dst, "ca1", "spec B", CommandSweep)
	dst.Close()
	if err := CheckMergeSpecs(ctx, dst.Path(), []string{a}); !errors.Is(err, ErrMixedSpecs) {
		t.Errorf("shard of A into an output of B: %v", err)
	}
}
