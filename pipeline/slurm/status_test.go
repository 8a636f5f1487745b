package slurm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
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
	o, s := writeArray(t, text, 3)
	gr := pipeline.NewGrid(s)
	sweep := func(path string, s *spec.Spec, k int) int64 { return recordShard(t, path, s, k, 3, true) }
	// Shard 2 swept, shard 0 swept from another text only.
	run2 := sweep(ShardDB(o.Dir, 2), s, 2)
	other, err := spec.Parse(o.Spec, append(text, "# another text\n"...))
	if err != nil {
		t.Fatal(err)
	}
	run0 := sweep(ShardDB(o.Dir, 0), other, 0)
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
		{Task: 0, State: "PENDING", Run: run0, Status: db.StatusDone, OtherText: true, Points: int64(gr.ShardLen(0, 3)), Total: int64(gr.ShardLen(0, 3))},
		{Task: 1, State: "RUNNING", Total: int64(gr.ShardLen(1, 3))},
		{Task: 2, State: "COMPLETED", Run: run2, Status: db.StatusDone, Points: int64(gr.ShardLen(2, 3)), Total: int64(gr.ShardLen(2, 3))},
	}
	if len(st.Tasks) != 3 {
		t.Fatalf("%d tasks, want 3", len(st.Tasks))
	}
	for i := range want {
		if st.Tasks[i] != want[i] {
			t.Errorf("task %d: %+v, want %+v", i, st.Tasks[i], want[i])
		}
	}
	if st.Points != want[0].Points+want[2].Points || st.Total != int64(gr.ShardLen(0, 1)) || st.Merged != nil || st.Experiment != s.Name || st.SlurmErr != "" {
		t.Errorf("status %+v: want %d of %d points, no merge", st, want[0].Points+want[2].Points, gr.ShardLen(0, 1))
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
	if m := st.Merged; m == nil || m.Run == 0 || m.Points != want[2].Points || m.Total != st.Total || st.Tasks[2].State != "" {
		t.Errorf("after merging shard 2: merged %+v, task 2 %+v", st.Merged, st.Tasks[2])
	}
	// A database that cannot be read is its task's error; squeue's failure
	// is said, in its last words.
	if err := os.WriteFile(ShardDB(dir, 1), []byte("garbage, not SQLite"), 0o644); err != nil {
		t.Fatal(err)
	}
	fail := &fakeSlurm{}
	st, err = ReadStatus(ctx, &Client{Run: fail.run}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if e := st.Tasks[1].Error; !strings.Contains(e, "shard-1.db") || st.Tasks[2].Run != run2 || st.Tasks[0].Error != "" {
		t.Errorf("a damaged shard 1: tasks %+v", st.Tasks)
	}
	if st.SlurmErr != "squeue: exit status 1: slurm_load_jobs error: Invalid job id specified" {
		t.Errorf("squeue failed: %q", st.SlurmErr)
	}
}

// TestReadStatusOneTask: the shard of a 1-task array is the whole grid
// (0/1), found as the task's (it read as not started).
func TestReadStatusOneTask(t *testing.T) {
	ctx := context.Background()
	text, err := os.ReadFile("../testdata/reference/cases/sweep-tdecay-trise-ampa-3comp.yaml")
	if err != nil {
		t.Fatal(err)
	}
	o, s := writeArray(t, text, 1)
	run := recordShard(t, ShardDB(o.Dir, 0), s, 0, 1, true)
	st, err := ReadStatus(ctx, nil, o.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := int64(pipeline.NewGrid(s).ShardLen(0, 1)); len(st.Tasks) != 1 || st.Tasks[0].Run != run || st.Tasks[0].Points != n || st.Points != n || st.Total != n {
		t.Errorf("1-task array: %+v", st)
	}
}

// writeArray writes the array of spec text, in tasks tasks, into a new
// directory, and returns its options and the parsed spec.
func writeArray(t *testing.T, text []byte, tasks int) (Options, *spec.Spec) {
	t.Helper()
	o := goldenOpts
	o.Dir, o.Spec, o.Tasks = filepath.Join(t.TempDir(), "run"), filepath.Join(t.TempDir(), "s.yaml"), tasks
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
	return o, s
}

// recordShard records a finished sweep run of shard k of n of s in the
// database at path (its points too, with sweep) and returns its id.
func recordShard(t *testing.T, path string, s *spec.Spec, k, n int, sweep bool) int64 {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	run, err := pipeline.StartRun(ctx, d, s, pipeline.RunInfo{Command: db.CommandSweep, ShardK: k, ShardN: n})
	if err != nil {
		t.Fatal(err)
	}
	if sweep {
		if _, err := pipeline.Sweep(ctx, s, d, run.ID, &pipeline.SweepOptions{ShardK: k, ShardN: n}); err != nil {
			t.Fatal(err)
		}
	}
	if err := run.Finish(nil); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	return run.ID
}
