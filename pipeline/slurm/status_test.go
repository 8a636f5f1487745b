package slurm

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/pipeline"
	"github.com/dendfit/dendfit/sim/spec"
)

// TestReadStatus: each task's share of the grid and the points its newest
// sweep of the array's text recorded, its state in the newest array SLURM
// lists, and the merged run; a sweep of another text in a shard database
// is not the task's.
func TestReadStatus(t *testing.T) {
	ctx := context.Background()
	text, err := os.ReadFile("../testdata/reference/cases/sweep-tdecay-trise-ampa-3comp.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// 240 points, more than one chunk a shard.
	text = append(text, "  g: {from: 0.1 nS, to: 10 nS, steps: 20, scale: log}\n"...)
	o := goldenOpts
	o.Dir, o.Spec, o.Tasks = filepath.Join(t.TempDir(), "run"), filepath.Join(t.TempDir(), "s.yaml"), 3
	if err := os.WriteFile(o.Spec, text, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := spec.Parse(o.Spec, text)
	if err != nil {
		t.Fatal(err)
	}
	o.Experiment = s.Name
	if _, err := Write(o); err != nil {
		t.Fatal(err)
	}
	gr := pipeline.NewGrid(s)
	sweep := func(path string, s *spec.Spec, k int) int64 {
		d, err := db.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		run, err := pipeline.StartRun(ctx, d, s, pipeline.RunInfo{Command: db.CommandSweep, ShardK: k, ShardN: 3})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pipeline.Sweep(ctx, s, d, run.ID, &pipeline.SweepOptions{ShardK: k, ShardN: 3}); err != nil {
			t.Fatal(err)
		}
		if err := run.Finish(nil); err != nil {
			t.Fatal(err)
		}
		return run.ID
	}
	// Shard 2 swept, shard 0 swept from another text only.
	run2 := sweep(ShardDB(o.Dir, 2), s, 2)
	other, err := spec.Parse(o.Spec, append(text, "# another text\n"...))
	if err != nil {
		t.Fatal(err)
	}
	sweep(ShardDB(o.Dir, 0), other, 0)
	// SLURM lists two arrays of the directory: the newer one's states win.
	dir := o.Dir
	f := &fakeSlurm{squeue: []string{
		"80|x-sweep|" + dir + "\n81|x-sweep|" + dir + "\n",
		"80_0 FAILED\n80_1 FAILED\n80_2 COMPLETED\n",
		"81_1 RUNNING\n81_0 PENDING\n",
	}}
	st, err := ReadStatus(ctx, &Client{Run: f.run}, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []TaskStatus{
		{Task: 0, Job: "PENDING", Total: int64(gr.ShardLen(0, 3))},
		{Task: 1, Job: "RUNNING", Total: int64(gr.ShardLen(1, 3))},
		{Task: 2, Job: "COMPLETED", Run: run2, Status: db.StatusDone, Points: int64(gr.ShardLen(2, 3)), Total: int64(gr.ShardLen(2, 3))},
	}
	if len(st.Tasks) != 3 {
		t.Fatalf("%d tasks, want 3", len(st.Tasks))
	}
	for i := range want {
		if st.Tasks[i] != want[i] {
			t.Errorf("task %d: %+v, want %+v", i, st.Tasks[i], want[i])
		}
	}
	if st.Points != want[2].Points || st.Total != int64(gr.ShardLen(0, 1)) || st.Merged != nil || st.Experiment != s.Name {
		t.Errorf("status %+v: want %d of %d points, no merge", st, want[2].Points, gr.ShardLen(0, 1))
	}
	if want[0].Total+want[1].Total+want[2].Total != st.Total || want[2].Total == 0 {
		t.Errorf("shares %d, %d, %d of %d", want[0].Total, want[1].Total, want[2].Total, st.Total)
	}
	// Merged: the union run, with the shard's points.
	if _, err := pipeline.MergeFiles(ctx, filepath.Join(dir, MergedDB), []string{ShardDB(dir, 2)}, nil); err != nil {
		t.Fatal(err)
	}
	st, err = ReadStatus(ctx, nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	if m := st.Merged; m == nil || m.Run == 0 || m.Points != want[2].Points || m.Total != st.Total || st.Tasks[2].Job != "" {
		t.Errorf("after merging shard 2: merged %+v, task 2 %+v", st.Merged, st.Tasks[2])
	}
}
