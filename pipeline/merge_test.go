package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/sim/spec"
)

// TestMergeFiles: the shards of a sweep merge into a done union run with
// every point of the grid; with a shard missing the union is incomplete
// and names it; an input given as the output is refused before anything
// is written.
func TestMergeFiles(t *testing.T) {
	ctx := context.Background()
	text, err := os.ReadFile("testdata/reference/cases/sweep-tdecay-trise-ampa-3comp.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// A grid of 240 points, more than one chunk: each shard has some.
	s, err := spec.Parse("merge.yaml", append(text, "  g: {from: 0.1 nS, to: 10 nS, steps: 20, scale: log}\n"...))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s0, s1 := sweepShard(t, s, filepath.Join(dir, "s0.db"), 0, 2), sweepShard(t, s, filepath.Join(dir, "s1.db"), 1, 2)
	grid := NewGrid(s).ShardLen(0, 1)

	half, err := MergeFiles(ctx, filepath.Join(dir, "half.db"), []string{s0}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if half.Incomplete() != 1 || len(half.Unions) != 1 || len(half.Unions[0].Set.Missing()) != 1 || half.Unions[0].Set.Missing()[0] != 1 || len(half.Live) != 0 {
		t.Errorf("one shard of two: %d incomplete, unions %+v, live %v", half.Incomplete(), half.Unions, half.Live)
	}
	whole, err := MergeFiles(ctx, filepath.Join(dir, "whole.db"), []string{s1, s0}, &MergeFilesOptions{Argv: []string{"test"}})
	if err != nil {
		t.Fatal(err)
	}
	if whole.Incomplete() != 0 || len(whole.Inputs) != 2 || whole.Unions[0].Stats.Points != int64(grid) {
		t.Errorf("both shards: %d incomplete, %d inputs, %d of %d points", whole.Incomplete(), len(whole.Inputs), whole.Unions[0].Stats.Points, grid)
	}
	var argsErr *MergeArgsError
	if _, err := MergeFiles(ctx, s0, []string{s1, s0}, nil); !errors.As(err, &argsErr) {
		t.Errorf("an input as the output: %v, want a MergeArgsError", err)
	}
}

// TestMergeFilesLiveShardPastAThousand: a shard still being swept is
// found as live whatever its index; past the thousand shards Missing
// lists it was taken for one to rerun.
func TestMergeFilesLiveShardPastAThousand(t *testing.T) {
	ctx := context.Background()
	s, err := spec.Load("testdata/reference/cases/sweep-tdecay-trise-ampa-3comp.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "s.db")
	d, err := db.Open(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	run, err := StartRun(ctx, d, s, RunInfo{Command: db.CommandSweep, ShardK: 1200, ShardN: 1500, Settings: NewSweepSettings(1200, 1500)})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Finish(nil)
	rep, err := MergeFiles(ctx, filepath.Join(dir, "out.db"), []string{in}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Live) != 1 || rep.Live[0].ShardK != 1200 || rep.Live[0].ShardN != 1500 {
		t.Errorf("live shards %+v, want shard 1200 of 1500", rep.Live)
	}
	if len(rep.Recording) != 1 || rep.Recording[0] != rep.Live[0] {
		t.Errorf("runs still recorded %+v, want the live shard's", rep.Recording)
	}
}

// TestMergeFilesOfARunStillRecorded: a run of the whole grid (no union to
// complete) that a process still records is reported as such, and one
// that has finished is not; merging again once it has ended takes its
// outcome (a user trial merged a sweep while it ran, with no word of it).
func TestMergeFilesOfARunStillRecorded(t *testing.T) {
	ctx := context.Background()
	s, err := spec.Load("testdata/reference/cases/sweep-tdecay-trise-ampa-3comp.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "s.db"), filepath.Join(dir, "out.db")
	d, err := db.Open(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	done, err := StartRun(ctx, d, s, RunInfo{Command: db.CommandSimulate})
	if err != nil {
		t.Fatal(err)
	}
	if err := done.Finish(nil); err != nil {
		t.Fatal(err)
	}
	run, err := StartRun(ctx, d, s, RunInfo{Command: db.CommandSweep, Settings: NewSweepSettings(0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := MergeFiles(ctx, out, []string{in}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := d.Run(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := LiveRun{Input: in, RunID: run.ID, Command: db.CommandSweep, Experiment: s.Name, SpecSHA256: s.SHA256, ShardN: 1, RunUID: r.RunUID}
	if len(rep.Recording) != 1 || rep.Recording[0] != want || len(rep.Live) != 0 {
		t.Errorf("runs still recorded %+v (live shards %+v), want %+v", rep.Recording, rep.Live, want)
	}
	// Its copy says where it is swept, until it is merged again ended.
	sweptIn := func() (db.SweptElsewhere, bool) {
		t.Helper()
		m, err := db.OpenReadOnly(ctx, out)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		runs, err := m.Runs(ctx, db.RunFilter{Command: db.CommandSweep})
		if err != nil || len(runs) != 1 {
			t.Fatalf("the merged sweep runs: %+v, %v", runs, err)
		}
		return runs[0].SweptElsewhere()
	}
	if e, ok := sweptIn(); !ok || e.File != in || e.RunID != run.ID {
		t.Errorf("the copy of the running sweep: swept elsewhere %+v, %v", e, ok)
	}
	if err := run.Finish(nil); err != nil {
		t.Fatal(err)
	}
	if rep, err = MergeFiles(ctx, out, []string{in}, nil); err != nil || len(rep.Recording) != 0 {
		t.Errorf("merged again once it ended: %v, still recorded %+v", err, rep.Recording)
	}
	if e, ok := sweptIn(); ok {
		t.Errorf("merged again once it ended, the copy still reads as swept in %+v", e)
	}
	m, err := db.OpenReadOnly(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if runs, err := m.Runs(ctx, db.RunFilter{Command: db.CommandSweep}); err != nil || len(runs) != 1 || runs[0].Status != db.StatusDone {
		t.Errorf("the merged sweep run: %+v, %v; want it done", runs, err)
	}
}

// TestMergedUnionBlocksFillPages: a union of shards is stored in blocks
// of one database page, as a sweep's are (blocks of 65,536 points, held on
// overflow pages, made the points view reread each row's pages for every
// value it decoded: 0.5 ms a point), and holds the points one sweep of
// the whole grid records, bit for bit.
func TestMergedUnionBlocksFillPages(t *testing.T) {
	ctx := context.Background()
	// 3 pathways x 2000 g x 3 t_decay, in the spec's text (a merge reads
	// the grid from it).
	text, err := os.ReadFile("testdata/reference/cases/two-populations-three-pathways.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := spec.Parse("big.yaml", append(text, "sweep:\n  g: {from: 0.1 nS, to: 10 nS, steps: 2000, scale: log}\n  t_decay: [1 ms, 3 ms, 7 ms]\n"...))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	whole := sweepShard(t, s, filepath.Join(dir, "whole.db"), 0, 1)
	out := filepath.Join(dir, "merged.db")
	res, err := MergeFiles(ctx, out, []string{sweepShard(t, s, filepath.Join(dir, "s0.db"), 0, 2), sweepShard(t, s, filepath.Join(dir, "s1.db"), 1, 2)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Unions) != 1 || res.Incomplete() != 0 {
		t.Fatalf("merge: %d unions, %d incomplete: %+v, live %v", len(res.Unions), res.Incomplete(), res.Unions, res.Live)
	}
	union := res.Unions[0].Stats.RunID
	m, err := db.OpenReadOnly(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	_, rows, err := m.QueryReadOnly(ctx, fmt.Sprintf(`SELECT count(*), max(length(data) + length(shared) + length(layout) + length(errors)) FROM point_blocks WHERE run_id = %d`, union))
	if err != nil || len(rows) != 1 {
		t.Fatalf("%v rows: %v", rows, err)
	}
	blocks, most := int(rows[0][0].(int64)), int(rows[0][1].(int64))
	if want := NewGrid(s).Len() / 2000; blocks < want || most > db.MaxRowBytes {
		t.Errorf("union of %d points in %d blocks, the largest of %d bytes; want at least %d blocks within %d bytes", NewGrid(s).Len(), blocks, most, want, db.MaxRowBytes)
	}
	w, err := db.OpenReadOnly(ctx, whole)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	want, err := w.Points(ctx, db.PointFilter{RunID: 1})
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Points(ctx, db.PointFilter{RunID: union})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(want) != NewGrid(s).Len() {
		t.Fatalf("union holds %d points, the whole sweep %d, the grid %d", len(got), len(want), NewGrid(s).Len())
	}
	for i := range want {
		got[i].RunID, want[i].RunID = 0, 0
		if !reflect.DeepEqual(bits(got[i]), bits(want[i])) {
			t.Fatalf("point %s: union %v, sweep %v", want[i].PointKey, bits(got[i]), bits(want[i]))
		}
	}
}

// sweepShard sweeps shard k of n of s into a new database at path, as a
// finished run, and returns path.
func sweepShard(t *testing.T, s *spec.Spec, path string, k, n int) string {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	run, err := StartRun(ctx, d, s, RunInfo{Command: db.CommandSweep, ShardK: k, ShardN: n, Settings: NewSweepSettings(k, n)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Sweep(ctx, s, d, run.ID, &SweepOptions{ShardK: k, ShardN: n})
	if err := run.Finish(err); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestMergesIntoOneFileWaitForEachOther: a merge into a file another
// merge holds waits for it, saying so once, and then merges: each makes
// the union runs from all the file holds, and beside another it took
// the other's half-copied shards for missing ones (a trial's two merges
// into one file failed so). Two merges of two sweeps' shards into one
// file at once then both find their unions complete.
func TestMergesIntoOneFileWaitForEachOther(t *testing.T) {
	if !db.ClaimsKnown() {
		t.Skip("no locks on this system")
	}
	ctx := context.Background()
	dir := t.TempDir()
	var shards [2][]string
	for i, c := range []string{"sweep-tdecay-trise-ampa-3comp.yaml", "ampa-instant-2comp-dimensionless-gsweep.yaml"} {
		s, err := spec.Load("testdata/reference/cases/" + c)
		if err != nil {
			t.Fatal(err)
		}
		for k := range 2 {
			shards[i] = append(shards[i], sweepShard(t, s, filepath.Join(dir, fmt.Sprintf("s%d-%d.db", i, k)), k, 2))
		}
	}
	out := filepath.Join(dir, "out.db")
	release, err := db.LockMerges(ctx, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan string, 2)
	done := make(chan error, 2)
	for i := range 2 {
		go func() {
			rep, err := MergeFiles(ctx, out, shards[i], &MergeFilesOptions{Waiting: func(m string) { waiting <- m }})
			if err == nil && rep.Incomplete() != 0 {
				err = fmt.Errorf("%d incomplete unions: %+v", rep.Incomplete(), rep.Unions)
			}
			done <- err
		}()
	}
	for range 2 {
		select {
		case m := <-waiting:
			if m != "another merge into "+out+" is under way: waiting for it to end" {
				t.Errorf("waiting note %q", m)
			}
		case err := <-done:
			t.Fatalf("a merge ended while another held the file, without waiting: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("no merge said it waits")
		}
	}
	select {
	case err := <-done:
		t.Fatalf("a merge ended while another held the file: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	release()
	for range 2 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	if len(waiting) != 0 {
		t.Errorf("told more than once: %q", <-waiting)
	}
}
