package slurm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Runner runs a SLURM client command (sbatch, squeue, scancel) and returns
// its standard output. Tests substitute a fake.
type Runner func(ctx context.Context, name string, args ...string) ([]byte, error)

// Exec is the Runner that runs the commands found in PATH; an error
// carries the command's standard error.
func Exec(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.Join(strings.Fields(stderr.String()), " ")
		if msg != "" {
			return out, fmt.Errorf("%s: %w: %s", name, err, msg)
		}
		return out, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// Client submits, watches and cancels jobs. The zero value uses Exec.
type Client struct {
	Run Runner
	// Poll is the squeue interval of Wait (default 2 s).
	Poll time.Duration
}

func (c *Client) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	if c.Run == nil {
		return Exec(ctx, name, args...)
	}
	return c.Run(ctx, name, args...)
}

// Sbatch submits script with `sbatch --parsable` and the extra options
// before it, and returns the job id.
func (c *Client) Sbatch(ctx context.Context, script string, opts ...string) (string, error) {
	args := append(append([]string{"--parsable"}, opts...), script)
	out, err := c.run(ctx, "sbatch", args...)
	if err != nil {
		return "", fmt.Errorf("slurm: submit %s: %w", script, err)
	}
	// --parsable prints "jobid" or "jobid;cluster".
	id, _, _ := strings.Cut(strings.TrimSpace(string(out)), ";")
	if id == "" || strings.Trim(id, "0123456789") != "" {
		return "", fmt.Errorf("slurm: submit %s: sbatch printed %q, not a job id", script, strings.TrimSpace(string(out)))
	}
	return id, nil
}

// Jobs are the ids of a submitted array and its merge job.
type Jobs struct {
	Array string `json:"array_job_id"`
	Merge string `json:"merge_job_id"`
	// Waits lists the earlier arrays of the same directory, still queued
	// or running when tasks were rerun, that the merge waits for too.
	Waits []string `json:"also_waits_for,omitempty"`
}

// Submit submits the array script, or only the given tasks of it (to rerun
// them), then the merge script with --dependency=afterok on the array. A
// rerun's merge also waits for (afterany) the arrays of s.Dir that SLURM
// still has queued or running: it merges every shard, and shards still
// being swept would make it fail.
func (c *Client) Submit(ctx context.Context, s *Scripts, tasks ...int) (Jobs, error) {
	return c.SubmitRerun(ctx, s, nil, tasks...)
}

// SubmitRerun is Submit with sbatch options for the array's tasks (such
// as Overrides.Options gives) before the script.
func (c *Client) SubmitRerun(ctx context.Context, s *Scripts, taskOpts []string, tasks ...int) (Jobs, error) {
	opts := slices.Clone(taskOpts)
	var j Jobs
	if len(tasks) == 0 {
		// The whole array again while SLURM has it queued or running
		// would sweep every shard twice (without squeue, it goes).
		if active, _ := c.activeArrays(ctx, s.Dir); len(active) > 0 {
			return Jobs{}, fmt.Errorf("slurm: array job(s) %s of %s %w: submitting it again would sweep every shard a second time; wait for it (squeue -j %s), rerun single tasks with --rerun, or cancel it first (scancel %s)",
				strings.Join(active, ", "), s.Dir, ErrArrayActive, strings.Join(active, ","), strings.Join(active, " "))
		}
	}
	if len(tasks) > 0 {
		for _, k := range tasks {
			if k < 0 || k >= s.Tasks {
				return Jobs{}, fmt.Errorf("slurm: task %d out of range 0-%d", k, s.Tasks-1)
			}
		}
		opts = append(opts, "--array="+FormatTasks(tasks))
		// Without squeue the merge waits for the rerun alone, as before.
		j.Waits, _ = c.activeArrays(ctx, s.Dir)
		if len(j.Waits) > 0 {
			if err := c.checkNotActive(ctx, j.Waits, tasks); err != nil {
				return Jobs{}, err
			}
		}
	}
	var err error
	if j.Array, err = c.Sbatch(ctx, s.Sweep, opts...); err != nil {
		return j, err
	}
	dep := "afterok:" + j.Array
	for _, id := range j.Waits {
		dep += ",afterany:" + id
	}
	if j.Merge, err = c.Sbatch(ctx, s.Merge, "--dependency="+dep); err != nil {
		return j, err
	}
	return j, nil
}

// ErrTasksActive is wrapped by Submit when a task to rerun is still
// running in an earlier array of the directory: both would sweep its
// shard at once, into two runs. (One still queued is rerun: the rerun
// sweeps the shard, and the queued task, resuming it, finds it complete,
// or, started while the rerun sweeps, finds it being swept
// (pipeline.ErrBeingSwept) and waits, without sweeping, for the shard to
// be done, as a rerun that finds the queued task sweeping does.)
var ErrTasksActive = errors.New("still running")

// ErrArrayActive is wrapped by Submit when the whole array is submitted
// while an earlier array of the directory is queued or running.
var ErrArrayActive = errors.New("still queued or running")

// checkNotActive refuses to rerun a task of tasks that one of the arrays
// (their base ids) is still running.
func (c *Client) checkNotActive(ctx context.Context, arrays []string, tasks []int) error {
	states, err := c.States(ctx, arrays...)
	if err != nil {
		return nil // squeue failed: the rerun goes, as without the check
	}
	var busy []string
	for _, st := range states {
		base, k, ok := strings.Cut(st.ID, "_")
		n, err := strconv.Atoi(k)
		queued := st.State == "PENDING" || strings.HasPrefix(st.State, "REQUEUE")
		if !ok || err != nil || st.Terminal() || queued || !slices.Contains(arrays, base) || !slices.Contains(tasks, n) {
			continue
		}
		busy = append(busy, st.ID)
	}
	if len(busy) == 0 {
		return nil
	}
	return fmt.Errorf("slurm: task(s) %s %w: a rerun now would sweep the same shard twice at once; wait for them to end (rerun one then if it ends unfinished), or cancel them first (scancel %s)",
		strings.Join(busy, ", "), ErrTasksActive, strings.Join(busy, " "))
}

// activeArrays returns the ids of the array jobs (their base job id, %F)
// queued or running with dir as working directory and a name ending in
// -sweep, as Write's array script sets them.
func (c *Client) activeArrays(ctx context.Context, dir string) ([]string, error) {
	out, err := c.run(ctx, "squeue", "--noheader", "--format=%F|%j|%Z")
	if err != nil {
		return nil, fmt.Errorf("slurm: squeue: %w", err)
	}
	// One directory may be named through symbolic links.
	real := func(p string) string {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return r
		}
		return filepath.Clean(p)
	}
	dir = real(dir)
	var ids []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.SplitN(strings.TrimSpace(line), "|", 3)
		if len(f) == 3 && strings.HasSuffix(f[1], "-sweep") && real(f[2]) == dir && !slices.Contains(ids, f[0]) {
			ids = append(ids, f[0])
		}
	}
	return ids, nil
}

// JobState is one job, or one array task ("123_4"), and its SLURM state.
type JobState struct {
	ID    string
	State string // PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, ...; GONE if SLURM forgot it
}

// Terminal reports whether the state is final.
func (s JobState) Terminal() bool {
	switch s.State {
	case "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED",
		"OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE", "SPECIAL_EXIT", "REVOKED", "GONE":
		return true
	}
	return false
}

// States lists the states of the jobs (all tasks of an array job), as
// squeue reports them, finished ones included while SLURM remembers them;
// a job it has forgotten is GONE.
func (c *Client) States(ctx context.Context, ids ...string) ([]JobState, error) {
	var out []JobState
	for _, id := range ids {
		b, err := c.run(ctx, "squeue", "--noheader", "--array", "--states=all", "--format=%i %T", "--jobs="+id)
		if err != nil {
			if strings.Contains(err.Error(), "Invalid job id") {
				out = append(out, JobState{ID: id, State: "GONE"})
				continue
			}
			return nil, fmt.Errorf("slurm: squeue: %w", err)
		}
		n := 0
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) != 2 {
				continue
			}
			// State may carry a suffix such as "CANCELLED+" or "CANCELLED by 0".
			out = append(out, JobState{ID: f[0], State: strings.TrimRight(f[1], "+")})
			n++
		}
		if n == 0 {
			out = append(out, JobState{ID: id, State: "GONE"})
		}
	}
	slices.SortStableFunc(out, func(a, b JobState) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// ErrJobsFailed is wrapped by Wait when a job ended other than COMPLETED.
var ErrJobsFailed = errors.New("jobs did not complete")

// Wait polls squeue until every job (every task of an array job) has
// ended, or ctx is done, and returns the final states. The error wraps
// ErrJobsFailed if some job ended in a state other than COMPLETED.
func (c *Client) Wait(ctx context.Context, ids ...string) ([]JobState, error) {
	poll := c.Poll
	if poll <= 0 {
		poll = 2 * time.Second
	}
	for {
		st, err := c.States(ctx, ids...)
		if err != nil {
			return nil, err
		}
		if slices.IndexFunc(st, func(s JobState) bool { return !s.Terminal() }) < 0 {
			var bad []string
			for _, s := range st {
				if s.State != "COMPLETED" {
					bad = append(bad, s.ID+" "+s.State)
				}
			}
			if len(bad) > 0 {
				return st, fmt.Errorf("slurm: %w: %s", ErrJobsFailed, strings.Join(bad, ", "))
			}
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("slurm: waiting for jobs %s: %w", strings.Join(ids, ", "), ctx.Err())
		case <-time.After(poll):
		}
	}
}

// Cancel cancels the jobs (ids may name array tasks, "123_4").
func (c *Client) Cancel(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := c.run(ctx, "scancel", ids...); err != nil {
		return fmt.Errorf("slurm: scancel: %w", err)
	}
	return nil
}
