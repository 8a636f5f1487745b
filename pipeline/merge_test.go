package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

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
	shard := func(k int) string {
		path := filepath.Join(dir, []string{"s0.db", "s1.db"}[k])
		d, err := db.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		run, err := StartRun(ctx, d, s, RunInfo{Command: db.CommandSweep, ShardK: k, ShardN: 2, Settings: NewSweepSettings(k, 2)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = Sweep(ctx, s, d, run.ID, &SweepOptions{ShardK: k, ShardN: 2})
		if err := run.Finish(err); err != nil {
			t.Fatal(err)
		}
		return path
	}
	s0, s1 := shard(0), shard(1)
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
