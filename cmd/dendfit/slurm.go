package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dendfit/dendfit/pipeline/slurm"
	"github.com/dendfit/dendfit/sim/spec"
)

func init() { extraCommands = append(extraCommands, newSlurmCmd) }

type slurmOptions struct {
	slurm.Options
	submit bool
	rerun  string
}

func newSlurmCmd(g *globals) *cobra.Command {
	o := &slurmOptions{}
	cmd := &cobra.Command{
		Use:   "slurm SPEC --tasks N --dir DIR",
		Short: "Write (and submit) a SLURM job array that sweeps SPEC in N shards, then merges them",
		Long: `slurm writes DIR/sweep.sbatch, a SLURM job array of N tasks in which task K runs
'dendfit sweep SPEC --shard K/N --db DIR/shard-K.db --resume', and
DIR/merge.sbatch, which runs 'dendfit merge DIR/merged.db DIR/shard-*.db'.
The scripts are commented bash, with this binary and SPEC as absolute paths;
edit them as you like. Logs go to DIR/logs. DIR must be on a file system
every node sees.

--submit submits the array, then the merge with --dependency=afterok on it,
and prints both job ids. Tasks are requeueable and resume their shard, so a
task that failed or was cancelled can be rerun alone, keeping what it had
done: 'dendfit slurm SPEC --tasks N --dir DIR --rerun K --submit' (or
'sbatch --array=K DIR/sweep.sbatch', then the merge).`,
		Example: `  dendfit slurm spec.yaml --tasks 64 --dir /scratch/l23 --time 01:00:00 --cpus 4 --submit
  dendfit slurm spec.yaml --tasks 64 --dir /scratch/l23 --rerun 7,12 --submit`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runSlurm(cmd, g, o, args[0]) },
	}
	f := cmd.Flags()
	f.IntVarP(&o.Tasks, "tasks", "n", 0, "array tasks, one shard each (required)")
	f.StringVar(&o.Dir, "dir", "", "directory for scripts, shard databases, merged.db and logs (required)")
	f.StringVarP(&o.Partition, "partition", "p", "", "SLURM partition (default: the cluster's)")
	f.StringVarP(&o.Time, "time", "t", "", "time limit per task, e.g. 02:00:00")
	f.IntVarP(&o.CPUs, "cpus", "c", 1, "CPUs per task, used as sweep workers")
	f.StringVar(&o.Mem, "mem", "", "memory per task, e.g. 2G")
	f.BoolVar(&o.submit, "submit", false, "submit with sbatch and print the job ids")
	f.StringVar(&o.rerun, "rerun", "", "with --submit: submit only these tasks (e.g. 3,7) and a new merge")
	return cmd
}

func runSlurm(cmd *cobra.Command, g *globals, o *slurmOptions, specPath string) error {
	ctx := cmd.Context()
	s, err := spec.Load(specPath)
	if err != nil {
		return err
	}
	if o.Tasks < 1 {
		return usageError{fmt.Errorf("--tasks %d: want at least 1 (see 'dendfit slurm --help')", o.Tasks)}
	}
	if o.Dir == "" {
		return usageError{fmt.Errorf("slurm needs --dir DIR (see 'dendfit slurm --help')")}
	}
	if cmd.Flags().Changed("db") {
		return usageError{fmt.Errorf("--db is not used by slurm: the shards and merged.db go in --dir")}
	}
	if o.CPUs < 1 {
		return usageError{fmt.Errorf("--cpus %d: want at least 1", o.CPUs)}
	}
	rerun, err := parseTasks(o.rerun, o.Tasks)
	if err != nil {
		return err
	}
	if len(rerun) > 0 && !o.submit {
		return usageError{fmt.Errorf("--rerun needs --submit")}
	}
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the dendfit binary: %w", err)
	}
	if goRunBinary(bin) {
		g.notef("warning: the scripts run %s, the temporary binary of 'go run', deleted when it exits: install dendfit (go install ./cmd/dendfit) and run 'dendfit slurm' from it", bin)
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
	g.notef("wrote %s and %s (%d tasks)", scripts.Sweep, scripts.Merge, opts.Tasks)
	if !o.submit {
		if g.json {
			return json.NewEncoder(g.stdout).Encode(map[string]string{"sweep_script": scripts.Sweep, "merge_script": scripts.Merge})
		}
		// --parsable prints "jobid;cluster" on a multi-cluster site.
		fmt.Fprintf(g.stdout, "submit with: jid=$(sbatch --parsable %s) && sbatch --dependency=afterok:${jid%%%%;*} %s\n", scripts.Sweep, scripts.Merge)
		return nil
	}
	jobs, err := (&slurm.Client{}).Submit(ctx, scripts, rerun...)
	if err != nil {
		return err
	}
	if g.json {
		return json.NewEncoder(g.stdout).Encode(jobs)
	}
	fmt.Fprintf(g.stdout, "array job %s\nmerge job %s\n", jobs.Array, jobs.Merge)
	g.notef("watch with: squeue -j %s,%s; the merged database will be %s/%s", jobs.Array, jobs.Merge, opts.Dir, slurm.MergedDB)
	return nil
}

// goRunBinary reports whether path is a binary 'go run' built: it lives in
// a go-build directory under the temporary directory, until go run exits.
func goRunBinary(path string) bool {
	for _, part := range strings.Split(filepath.ToSlash(path), "/") {
		if strings.HasPrefix(part, "go-build") && part != "go-build" {
			return true
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
	var out []int
	for _, f := range strings.Split(s, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || k < 0 || k >= n {
			return nil, usageError{fmt.Errorf("--rerun %q: want task indices 0..%d separated by commas", s, n-1)}
		}
		out = append(out, k)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
