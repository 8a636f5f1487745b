package slurm

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/pipeline"
	"github.com/dendfit/dendfit/sim/spec"
)

// TaskStatus is how far one task of an array has swept its shard.
type TaskStatus struct {
	Task int `json:"task"`
	// Job is the task's SLURM state (PENDING, RUNNING, ...) in the newest
	// array of the directory that SLURM still lists, "" when none does
	// (or squeue cannot be asked).
	Job string `json:"job"`
	// Run is the newest sweep of the task's shard of the array's spec
	// text in its database (0: none yet), and Status that run's status
	// (interrupted: recorded as running, with no process at it).
	Run    int64  `json:"run"`
	Status string `json:"status"`
	// Points are those Run has recorded, of Total in the shard.
	Points int64 `json:"points"`
	Total  int64 `json:"total"`
}

// Status is how far the array written in a directory has come.
type Status struct {
	Dir        string       `json:"dir"`
	Experiment string       `json:"experiment"`
	Tasks      []TaskStatus `json:"tasks"`
	Points     int64        `json:"points"` // recorded by the tasks' runs
	Total      int64        `json:"total"`  // in the grid
	// Merged is the newest whole sweep of the spec text in merged.db
	// (Task -1, no Job), nil before the first merge.
	Merged *TaskStatus `json:"merged"`
}

// ReadStatus reads, from the shard databases of the array in dir (read
// only: tasks may be writing them) and from SLURM if c can ask it, how
// far each task has swept its shard. A task's log says nothing while it
// sweeps (its script passes -q, and it has no terminal); this counts
// what each has recorded.
func ReadStatus(ctx context.Context, c *Client, dir string) (*Status, error) {
	scripts, err := Existing(dir)
	if err != nil {
		return nil, err
	}
	specPath := filepath.Join(dir, SpecCopy)
	text, err := os.ReadFile(specPath)
	if err != nil {
		return nil, fmt.Errorf("slurm: %w", err)
	}
	s, err := spec.Parse(specPath, text)
	if err != nil {
		return nil, fmt.Errorf("slurm: %w", err)
	}
	sum := fmt.Sprintf("%x", sha256.Sum256(text))
	gr := pipeline.NewGrid(s)
	st := &Status{Dir: dir, Experiment: s.Name, Total: int64(gr.ShardLen(0, 1))}
	jobs := taskJobs(ctx, c, dir)
	for k := range scripts.Tasks {
		ts := TaskStatus{Task: k, Job: jobs[k], Total: int64(gr.ShardLen(k, scripts.Tasks))}
		if err := newestSweep(ctx, ShardDB(dir, k), s.Name, sum, k, scripts.Tasks, &ts); err != nil {
			return nil, err
		}
		st.Points += ts.Points
		st.Tasks = append(st.Tasks, ts)
	}
	m := TaskStatus{Task: -1, Total: st.Total}
	if err := newestSweep(ctx, filepath.Join(dir, MergedDB), s.Name, sum, 0, 0, &m); err != nil {
		return nil, err
	}
	if m.Run != 0 {
		st.Merged = &m
	}
	return st, nil
}

// newestSweep fills ts with the newest sweep of shard k of n (n 0: a
// whole grid) of the text sum of experiment in the database at path, if
// the file exists and has one.
func newestSweep(ctx context.Context, path, experiment, sum string, k, n int, ts *TaskStatus) error {
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	d, err := db.OpenReadOnly(ctx, path)
	if err != nil {
		return fmt.Errorf("slurm: %w", err)
	}
	defer d.Close()
	exps, err := d.Experiments(ctx)
	if err != nil {
		return fmt.Errorf("slurm: %s: %w", path, err)
	}
	ours := map[int64]bool{}
	for _, e := range exps {
		ours[e.ID] = e.Name == experiment && e.SpecSHA256 == sum
	}
	runs, err := d.Runs(ctx, db.RunFilter{Experiment: experiment, Command: db.CommandSweep})
	if err != nil {
		return fmt.Errorf("slurm: %s: %w", path, err)
	}
	for _, r := range runs {
		whole := r.ShardN <= 1
		if !ours[r.ExperimentID] || (n == 0) != whole || (n > 0 && (r.ShardK != k || r.ShardN != n)) {
			continue
		}
		ts.Run, ts.Status = r.ID, r.Status
		if ts.Points, err = d.PointCount(ctx, r.ID); err != nil {
			return fmt.Errorf("slurm: %s: %w", path, err)
		}
		return nil
	}
	return nil
}

// taskJobs maps each task to its state in the newest array of dir that
// SLURM lists (none when c is nil or squeue fails).
func taskJobs(ctx context.Context, c *Client, dir string) map[int]string {
	jobs := map[int]string{}
	if c == nil {
		return jobs
	}
	arrays, err := c.activeArrays(ctx, dir)
	if err != nil || len(arrays) == 0 {
		return jobs
	}
	states, err := c.States(ctx, arrays...)
	if err != nil {
		return jobs
	}
	newest := map[int]int64{}
	for _, s := range states {
		base, task, ok := strings.Cut(s.ID, "_")
		id, err1 := strconv.ParseInt(base, 10, 64)
		k, err2 := strconv.Atoi(task)
		if !ok || err1 != nil || err2 != nil || id < newest[k] {
			continue
		}
		newest[k], jobs[k] = id, s.State
	}
	return jobs
}
