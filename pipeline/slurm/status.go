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
	// State is the task's SLURM state (PENDING, RUNNING, ...) in the
	// newest array of the directory that SLURM still lists, "" when none
	// does (or squeue cannot be asked).
	State string `json:"slurm_state"`
	// Run is the newest sweep of the task's shard in its database (0:
	// none yet), and Status that run's status (interrupted: recorded as
	// running, with no process at it).
	Run    int64  `json:"run"`
	Status string `json:"status"`
	// OtherText says that Run read another text of the spec than the
	// directory's copy now holds (the copy was edited since).
	OtherText bool `json:"other_text"`
	// Points are those Run has recorded, of Total in the shard.
	Points int64 `json:"points"`
	Total  int64 `json:"total"`
	// Error says why the task's database could not be read.
	Error string `json:"error,omitempty"`
}

// Status is how far the array written in a directory has come.
type Status struct {
	Dir        string       `json:"dir"`
	Experiment string       `json:"experiment"`
	Tasks      []TaskStatus `json:"tasks"`
	Points     int64        `json:"points"` // recorded by the tasks' runs
	Total      int64        `json:"total"`  // in the grid
	// Merged is the newest whole sweep of the experiment in merged.db
	// (Task -1, no State), nil before the first merge.
	Merged *TaskStatus `json:"merged"`
	// SlurmErr says why SLURM could not be asked for the tasks' states.
	SlurmErr string `json:"slurm_error,omitempty"`
}

// ReadStatus reads, from the shard databases of the array in dir (read
// only: tasks may be writing them) and from SLURM if c can ask it, how
// far each task has swept its shard. A task's log says nothing while it
// sweeps (its script passes -q, and it has no terminal); this counts
// what each has recorded. A database that cannot be read is a task's
// Error, not the whole status's.
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
	jobs, err := taskJobs(ctx, c, dir)
	if err != nil {
		// squeue's last word: it may print a dozen lines of why.
		msg := strings.TrimSpace(err.Error())
		if i := strings.LastIndex(msg, "squeue: "); i >= 0 {
			msg = msg[i:]
		}
		st.SlurmErr = msg
	}
	for k := range scripts.Tasks {
		ts := TaskStatus{Task: k, State: jobs[k], Total: int64(gr.ShardLen(k, scripts.Tasks))}
		if err := newestSweep(ctx, ShardDB(dir, k), s.Name, sum, k, scripts.Tasks, &ts); err != nil {
			ts.Error = err.Error()
		}
		st.Points += ts.Points
		st.Tasks = append(st.Tasks, ts)
	}
	m := TaskStatus{Task: -1, Total: st.Total}
	if err := newestSweep(ctx, filepath.Join(dir, MergedDB), s.Name, sum, 0, 0, &m); err != nil {
		m.Error = err.Error()
	}
	if m.Run != 0 || m.Error != "" {
		st.Merged = &m
	}
	return st, nil
}

// newestSweep fills ts with the newest sweep of experiment in the
// database at path, of shard k of n (n 0: of the whole grid), if the file
// exists and has one; ts.OtherText when it read another text than sum.
func newestSweep(ctx context.Context, path, experiment, sum string, k, n int, ts *TaskStatus) error {
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	d, err := db.OpenReadOnly(ctx, path)
	if err != nil {
		return err
	}
	defer d.Close()
	runs, texts, err := sweepsIn(ctx, d, experiment)
	if err != nil {
		return err
	}
	for _, r := range runs {
		// A 1-task array's shard is the whole grid: 0/1.
		rk, rn := r.ShardK, max(r.ShardN, 1)
		if n == 0 && rn != 1 || n > 0 && (rk != k || rn != n) {
			continue
		}
		ts.Run, ts.Status, ts.OtherText = r.ID, r.Status, texts[r.ExperimentID] != sum
		if ts.Points, err = d.PointCount(ctx, r.ID); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	}
	return nil
}

// taskJobs maps each task to its state in the newest array of dir that
// SLURM lists (none when c is nil), or says why squeue failed.
func taskJobs(ctx context.Context, c *Client, dir string) (map[int]string, error) {
	jobs := map[int]string{}
	if c == nil {
		return jobs, nil
	}
	arrays, err := c.activeArrays(ctx, dir)
	if err != nil || len(arrays) == 0 {
		return jobs, err
	}
	states, err := c.States(ctx, arrays...)
	if err != nil {
		return jobs, err
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
	return jobs, nil
}
