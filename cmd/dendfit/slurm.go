package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dendfit/dendfit/pipeline"
	"github.com/dendfit/dendfit/pipeline/slurm"
	"github.com/dendfit/dendfit/sim/spec"
)

func init() { extraCommands = append(extraCommands, newSlurmCmd) }

type slurmOptions struct {
	slurm.Options
	submit bool
	rerun  string
	status bool
}

func newSlurmCmd(g *globals) *cobra.Command {
	o := &slurmOptions{}
	cmd := &cobra.Command{
		Use:   "slurm SPEC --tasks N --dir DIR",
		Short: "Write (and submit) a SLURM job array that sweeps SPEC in N shards, then merges them",
		Long: `slurm copies SPEC to DIR/spec.yaml and writes DIR/sweep.sbatch, a SLURM job
array of N tasks in which task K runs 'dendfit sweep DIR/spec.yaml --shard
K/N --db DIR/shard-K.db --resume', and DIR/merge.sbatch, which runs 'dendfit
merge DIR/merged.db DIR/shard-0.db ... DIR/shard-(N-1).db'. The scripts are
commented bash, with this binary's absolute path; edit them as you like (a
script edited since it was written is not written over: --rerun submits it).
Logs go to DIR/logs. DIR must be on a file system every node sees; run the
merge once the tasks have ended (SQLite's WAL is not for sharing between
hosts at once). DIR cannot contain blanks, quotes, backslashes, % or $
(#SBATCH lines and log names cannot hold them). A DIR that holds shards of
another spec or task count is refused: their shards would not merge.

A site's own sbatch options (account, QoS, constraints) go in with
--sbatch, one option each, and its setup lines (module loads) with
--setup; both scripts get them. The binary runs on the compute nodes: one
built on a newer system than theirs may need a newer C library than they
have; the README shows a static build.

--submit submits the array, then the merge with --dependency=afterok on it,
and prints both job ids. Tasks are requeueable and resume their shard, so a
task that failed or was cancelled can be rerun alone, keeping what it had
done: 'dendfit slurm SPEC --dir DIR --rerun K --submit' submits task K of
DIR/sweep.sbatch as it is (its edits kept; --time, --mem, --cpus or
--partition given with --rerun override the script's for those tasks, as a
task that hit its time limit needs), then a merge that waits for it and for
the array's tasks still queued or running. A task still running is not
rerun: both would sweep its shard at once.

--status --dir DIR (no SPEC) shows how far each task has swept its shard:
its SLURM state, its run and the points it has recorded of its share,
and the merged database's run. A task's log is quiet while it sweeps.`,
		Example: `  dendfit slurm experiments/l23-demo.yaml --tasks 3 --dir /scratch/l23 --time 01:00:00 --cpus 4 --submit
  dendfit slurm experiments/l23-demo.yaml --tasks 3 --dir /scratch/l23 --sbatch=--account=lab --setup 'module load gcc'
  dendfit slurm experiments/l23-demo.yaml --dir /scratch/l23 --rerun 1,2 --time 04:00:00 --submit
  dendfit slurm --status --dir /scratch/l23`,
		Args: func(cmd *cobra.Command, args []string) error {
			if o.status {
				return exactArgs(0)(cmd, args)
			}
			return exactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.status {
				return slurmStatus(cmd, g, o)
			}
			return runSlurm(cmd, g, o, args[0])
		},
	}
	f := cmd.Flags()
	f.IntVarP(&o.Tasks, "tasks", "n", 0, "array tasks, one shard each (required)")
	_ = f.SetAnnotation("tasks", minAnnotation, []string{"1"})
	f.StringVar(&o.Dir, "dir", "", "directory for scripts, shard databases, merged.db and logs (required)")
	f.StringVarP(&o.Partition, "partition", "p", "", "SLURM partition (default: the cluster's)")
	f.StringVarP(&o.Time, "time", "t", "", "time limit per task, e.g. 02:00:00")
	f.IntVarP(&o.CPUs, "cpus", "c", 1, "CPUs per task, used as sweep workers")
	f.StringVar(&o.Mem, "mem", "", "memory per task, e.g. 2G")
	f.StringArrayVar(&o.Sbatch, "sbatch", nil, "one more #SBATCH option for both scripts, long with its =value, e.g. --sbatch=--account=lab (repeatable)")
	f.StringArrayVar(&o.Setup, "setup", nil, "a shell line both scripts run before dendfit, e.g. --setup 'module load gcc' (repeatable)")
	f.BoolVar(&o.submit, "submit", false, "submit with sbatch and print the job ids")
	f.StringVar(&o.rerun, "rerun", "", "with --submit: submit only these tasks (e.g. 3,7 or 0-3,7) of the array in --dir, and a new merge")
	f.BoolVar(&o.status, "status", false, "show how far each task of the array in --dir has swept its shard (no SPEC)")
	return cmd
}

// slurmMaxArraySize is SLURM's default MaxArraySize: array indices stay
// below it.
const slurmMaxArraySize = 1001

// maxTasks bounds an array's tasks: the merge job passes every shard's
// database to one dendfit merge, and 10,000 paths stay well inside the
// kernel's argument limit (100,000 did not). SLURM's default MaxArraySize
// is 1001.
const maxTasks = 10000

func runSlurm(cmd *cobra.Command, g *globals, o *slurmOptions, specPath string) error {
	s, err := g.loadSpec(specPath)
	if err != nil {
		return err
	}
	if o.Dir == "" {
		return usageError{fmt.Errorf("slurm needs --dir DIR (see 'dendfit slurm --help')")}
	}
	if err := checkTilde(o.Dir); err != nil {
		return err
	}
	if cmd.Flags().Changed("db") {
		return usageError{fmt.Errorf("--db is not used by slurm: the shards and merged.db go in --dir")}
	}
	if o.rerun != "" {
		return rerunSlurm(cmd, g, o, s)
	}
	if !cmd.Flags().Changed("tasks") {
		return usageError{fmt.Errorf("--tasks is required (see 'dendfit slurm --help')")}
	}
	if o.Tasks < 1 || o.Tasks > maxTasks {
		return usageError{fmt.Errorf("--tasks %d: want 1 to %d: the merge job names every task's database on one command line (see 'dendfit slurm --help')", o.Tasks, maxTasks)}
	}
	if o.CPUs < 1 {
		return usageError{fmt.Errorf("--cpus %d: want at least 1", o.CPUs)}
	}
	if o.Tasks > slurmMaxArraySize {
		g.notef("note: %d tasks: SLURM's default MaxArraySize (%d) takes at most %d tasks (indices 0-%d); a cluster that keeps it refuses the array (sbatch: Invalid job array specification): ask 'scontrol show config | grep MaxArraySize'", o.Tasks, slurmMaxArraySize, slurmMaxArraySize, slurmMaxArraySize-1)
	}
	// Every task of the array would fail on it.
	if err := pipeline.CheckSimulable(s); err != nil {
		return fmt.Errorf("%s: %w", specPath, err)
	}
	if !s.Sweep.Given() {
		g.notef("note: %s has no sweep block: one point a pathway, at its spec g and kinetics (a sweep: block with g, t_decay or t_rise gives a grid)", specPath)
	}
	gr := pipeline.NewGrid(s)
	if empty := countEmptyShards(gr, o.Tasks); empty > 0 {
		// With more tasks than chunks, each chunk is a task's.
		g.warnf("%d of the %d tasks have no point to sweep: the grid's %d points make %d chunks of up to %d, a task's least share; --tasks %d does the same work",
			empty, o.Tasks, gr.ShardLen(0, 1), o.Tasks-empty, pipeline.BatchSize, o.Tasks-empty)
	}
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the dendfit binary: %w", err)
	}
	if goRunBinary(bin) {
		msg := fmt.Sprintf("the scripts would run %s, a binary of 'go run', which Go deletes: install dendfit (go install ./cmd/dendfit) and run 'dendfit slurm' from it", bin)
		if o.submit {
			return errors.New(msg)
		}
		g.warnf("%s", msg)
	}
	opts := o.Options
	opts.Binary, opts.Spec, opts.Experiment = bin, specPath, s.Name
	if opts, err = opts.Abs(); err != nil {
		return err
	}
	if err := opts.Validate(); err != nil {
		return usageError{err}
	}
	scripts, err := slurm.Write(opts)
	if err != nil {
		return err
	}
	g.notef("wrote %s and %s (%d task%s)", scripts.Sweep, scripts.Merge, opts.Tasks, plural(opts.Tasks))
	if scripts.CopyRestored {
		g.notef("note: %s was edited since its shards were swept; it is written back to %s, the text they swept", filepath.Join(scripts.Dir, slurm.SpecCopy), specPath)
	}
	if !o.submit {
		if g.json {
			return printJSON(g.stdout, map[string]string{"sweep_script": scripts.Sweep, "merge_script": scripts.Merge})
		}
		fmt.Fprintf(g.stdout, "submit with: %s\n", scripts.SubmitCommand())
		return nil
	}
	return submitSlurm(cmd, g, scripts, nil)
}

// submitSlurm submits scripts (only the given tasks of the array, if any)
// and the merge after them, and prints the job ids.
func submitSlurm(cmd *cobra.Command, g *globals, scripts *slurm.Scripts, taskOpts []string, tasks ...int) error {
	jobs, err := (&slurm.Client{}).SubmitRerun(cmd.Context(), scripts, taskOpts, tasks...)
	if err != nil && jobs.Array != "" {
		// The array is in the queue: its id must not be lost with the
		// error (a trial, seeing none, submitted the array again).
		fmt.Fprintf(g.stdout, "array job %s\n", jobs.Array)
		return fmt.Errorf("array job %s was submitted, but its merge was not: %w; submit the merge once the array is queued: sbatch --dependency=afterok:%s %s", jobs.Array, err, jobs.Array, scripts.Merge)
	}
	if err != nil {
		return err
	}
	if g.json {
		return printJSON(g.stdout, jobs)
	}
	fmt.Fprintf(g.stdout, "array job %s\nmerge job %s\n", jobs.Array, jobs.Merge)
	if len(jobs.Waits) > 0 {
		g.notef("the merge also waits for array job(s) %s of %s, still queued or running", strings.Join(jobs.Waits, ", "), scripts.Dir)
	}
	g.notef("watch with: squeue -j %s,%s, or dendfit slurm --status --dir %s; the merged database will be %s", jobs.Array, jobs.Merge, scripts.Dir, filepath.Join(scripts.Dir, slurm.MergedDB))
	// SLURM cancels the merge, with no log, when a task fails.
	g.notef("if a task fails, SLURM cancels this merge: 'dendfit slurm SPEC --dir %s --rerun K --submit' reruns task K (it resumes its shard) with a merge after it", scripts.Dir)
	return nil
}

// rerunSlurm submits tasks of the array already written in --dir, and a
// merge after them. The scripts go as they are, with any edits: rewriting
// them would drop those. --partition, --time, --mem and --cpus override
// the script's for the rerun's tasks (a task that hit its time limit is
// rerun with more), as sbatch options.
func rerunSlurm(cmd *cobra.Command, g *globals, o *slurmOptions, s *spec.Spec) error {
	if !o.submit {
		return usageError{fmt.Errorf("--rerun needs --submit")}
	}
	for _, f := range []string{"sbatch", "setup"} {
		if cmd.Flags().Changed(f) {
			return usageError{fmt.Errorf("--%s has no effect with --rerun: the scripts in %s are submitted as they are (edit %s to change them)", f, o.Dir, slurm.SweepScript)}
		}
	}
	var ov slurm.Overrides
	for _, f := range []struct {
		name string
		set  func()
	}{
		{"partition", func() { ov.Partition = o.Partition }}, {"time", func() { ov.Time = o.Time }},
		{"mem", func() { ov.Mem = o.Mem }}, {"cpus", func() { ov.CPUs = o.CPUs }},
	} {
		if cmd.Flags().Changed(f.name) {
			f.set()
		}
	}
	taskOpts, err := ov.Options()
	if err != nil {
		return usageError{err}
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return err
	}
	scripts, err := slurm.Existing(dir)
	if err != nil {
		return fmt.Errorf("--rerun: %w; write the array first ('dendfit slurm SPEC --tasks N --dir DIR')", err)
	}
	if cmd.Flags().Changed("tasks") && o.Tasks != scripts.Tasks {
		return usageError{fmt.Errorf("--tasks %d: the array in %s has %d tasks", o.Tasks, dir, scripts.Tasks)}
	}
	same, err := slurm.CheckShards(cmd.Context(), dir, s.Name, s.Text)
	if err != nil {
		return fmt.Errorf("--rerun: %w", err)
	}
	swept := filepath.Join(dir, slurm.SpecCopy)
	if have, err := os.ReadFile(swept); err == nil && !bytes.Equal(have, s.Text) {
		if same == 0 {
			return fmt.Errorf("--rerun: %s is not the spec the array in %s sweeps (%s): its shards would not merge", s.File, dir, swept)
		}
		// The shards swept s: the copy was edited since, and the tasks
		// rerun would sweep the edit (a trial's rerun was refused, the
		// message blaming the spec the shards hold).
		if err := slurm.WriteSpecCopy(dir, s.Text); err != nil {
			return err
		}
		g.notef("note: %s was edited since its shards were swept; it is written back to %s, the text they swept", swept, s.File)
	}
	tasks, err := parseTasks(o.rerun, scripts.Tasks)
	if err != nil {
		return err
	}
	for _, k := range tasks {
		if err := slurm.CheckResumable(cmd.Context(), slurm.ShardDB(dir, k)); err != nil {
			return fmt.Errorf("--rerun: task %d would fail on %w; move it away to sweep the shard anew", k, err)
		}
	}
	for _, k := range tasks {
		if id, done := slurm.FinishedShard(cmd.Context(), dir, k, scripts.Tasks); done {
			g.notef("note: shard %d is already complete (run %d in %s): task %d finds it so and ends without sweeping", k, id, slurm.ShardDB(dir, k), k)
		}
	}
	if err := submitSlurm(cmd, g, scripts, taskOpts, tasks...); err != nil {
		return err
	}
	// Said once submitted: before, it read as done when the rerun was
	// then refused.
	g.notef("resubmitted task(s) %s of %s", slurm.FormatTasks(tasks), scripts.Sweep)
	if len(taskOpts) > 0 {
		g.notef("the rerun's tasks run with %s, in place of the script's", strings.Join(taskOpts, " "))
	}
	return nil
}

// countEmptyShards counts the shards of n with no point of gr.
func countEmptyShards(gr *pipeline.Grid, n int) int {
	empty := 0
	for k := range n {
		if gr.ShardLen(k, n) == 0 {
			empty++
		}
	}
	return empty
}

// goRunBinary reports whether path is a binary 'go run' built: it lives in
// a go-build directory under the temporary directory, until go run exits,
// or in Go's build cache (go-build), which go clean or the cache's own
// trimming may empty while the jobs wait.
func goRunBinary(path string) bool {
	parts := strings.Split(filepath.ToSlash(path), "/")
	for i, part := range parts {
		switch {
		case strings.HasPrefix(part, "go-build") && part != "go-build":
			return true // the temporary go-buildNNN
		case part == "go-build" && i+3 < len(parts) && len(parts[i+1]) == 2 && strings.HasSuffix(parts[i+2], "-d"):
			return true // GOCACHE/go-build/xx/<hash>-d/dendfit
		}
	}
	return false
}

// parseTasks parses "7,3" into the task indices below n, ascending and
// once each: a task listed twice would run its shard twice at once.
func parseTasks(s string, n int) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	bad := usageError{fmt.Errorf("--rerun %q: want task indices 0..%d, or ranges of them (K-L, as sbatch --array takes), separated by commas", s, n-1)}
	task := func(f string) (int, bool) {
		k, err := strconv.Atoi(strings.TrimSpace(f))
		return k, err == nil && k >= 0 && k < n
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(f, "-")
		if !isRange {
			hi = lo
		}
		a, okA := task(lo)
		b, okB := task(hi)
		// (An array has at most a million tasks; no range is longer.)
		if !okA || !okB || b < a || b-a >= 1<<20 {
			return nil, bad
		}
		for k := a; k <= b; k++ {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// slurmStatus prints how far the array in --dir has come.
func slurmStatus(cmd *cobra.Command, g *globals, o *slurmOptions) error {
	if o.Dir == "" {
		return usageError{fmt.Errorf("--status needs --dir DIR")}
	}
	if err := checkTilde(o.Dir); err != nil {
		return err
	}
	for _, f := range []string{"tasks", "submit", "rerun", "sbatch", "setup", "partition", "time", "mem", "cpus"} {
		if cmd.Flags().Changed(f) {
			return usageError{fmt.Errorf("--%s has no effect with --status", f)}
		}
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return err
	}
	st, err := slurm.ReadStatus(cmd.Context(), &slurm.Client{}, dir)
	if err != nil {
		return fmt.Errorf("--status: %w; write the array first ('dendfit slurm SPEC --tasks N --dir DIR')", err)
	}
	if g.json {
		return printJSON(g.stdout, st)
	}
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	other := false
	row := func(name string, t *slurm.TaskStatus) []string {
		run, status := "-", dash(t.Status)
		if t.Run != 0 {
			run = strconv.FormatInt(t.Run, 10)
		}
		if t.OtherText {
			status += "*"
			other = true
		}
		if t.Error != "" {
			status = "unreadable"
		}
		return []string{name, dash(t.State), run, status, strconv.FormatInt(t.Points, 10), strconv.FormatInt(t.Total, 10), percent(t.Points, t.Total)}
	}
	t := &table{cols: []string{"task", "slurm", "run", "status", "points", "of", "swept"}}
	for i := range st.Tasks {
		t.add(row(strconv.Itoa(st.Tasks[i].Task), &st.Tasks[i])...)
	}
	merged := filepath.Join(dir, slurm.MergedDB)
	if m := st.Merged; m != nil {
		t.add(row("merged", m)...)
	}
	if err := t.write(g.stdout, "", nil); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "%s: %d of %d points swept (%s)", st.Experiment, st.Points, st.Total, percent(st.Points, st.Total))
	if st.Merged == nil {
		fmt.Fprintf(g.stdout, "; no merge yet (%s)", merged)
	}
	fmt.Fprintln(g.stdout)
	for _, ts := range st.Tasks {
		if ts.Error != "" {
			g.warnf("%s cannot be read: %s", slurm.ShardDB(dir, ts.Task), ts.Error)
		}
	}
	if m := st.Merged; m != nil && m.Error != "" {
		g.warnf("%s cannot be read: %s", merged, m.Error)
	}
	if other {
		g.warnf("runs marked * read another text of the spec than %s, edited since they ran: their shards do not merge with a sweep of the copy; 'dendfit query spec RUN --db DB -o FILE' writes theirs", filepath.Join(dir, slurm.SpecCopy))
	}
	if st.SlurmErr != "" {
		g.warnf("SLURM could not be asked for the tasks' states (%s): the slurm column is empty", st.SlurmErr)
	}
	return nil
}

// percent is n of total as a whole percentage, rounded down so that
// 100% means all.
func percent(n, total int64) string {
	if total == 0 {
		return "-"
	}
	return fmt.Sprintf("%d%%", n*100/total)
}

// checkTilde refuses a --dir that begins with a ~ the shell left as it
// is (bash expands none after "--dir="): the array would go to a
// directory named "~" below this one (a trial's did).
func checkTilde(dir string) error {
	if strings.HasPrefix(dir, "~") {
		return usageError{fmt.Errorf("--dir %s: the shell did not expand ~ (bash does not after --dir=): give --dir and the directory as two words, or its full path ($HOME/...)", dir)}
	}
	return nil
}
