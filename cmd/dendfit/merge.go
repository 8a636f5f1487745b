package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/pipeline"
	"github.com/dendfit/dendfit/pipeline/slurm"
)

func init() { extraCommands = append(extraCommands, newMergeCmd) }

func newMergeCmd(g *globals) *cobra.Command {
	var allowMixed bool
	cmd := &cobra.Command{
		Use:   "merge OUT.db IN.db... | merge --db OUT.db IN.db...",
		Short: "Merge shard databases into one",
		Long: `merge copies every experiment, run (with its provenance), point and fit of
each IN.db into OUT.db (created if needed). Runs are deduplicated on their
run_uid and points on (run, point key), so merging a file twice adds
nothing. It refuses an input whose experiment has a different spec (sha256)
under the same name than OUT.db has, unless --allow-mixed, and inputs whose
schema differs from this dendfit's; an input with no dendfit schema yet (a
task killed before its first commit) adds nothing, with a warning.

Then, for every sharded sweep (runs of one spec with --shard K/N), it
records or updates one union run: a sweep run holding each point of the
shards once. When the shards cover the spec's whole grid the union run is
done, so 'dendfit query points --experiment NAME' on OUT.db prints exactly
what it prints after a single-process sweep; while shards are missing it is
marked failed, says which, and merge exits with status 1 after merging.

OUT.db may be given as the --db flag instead; then every argument is an
input (DENDFIT_DB is not read here: it would turn OUT.db into an input).
A database holding nothing but one shard's runs is refused as OUT.db: it
is an input, and OUT.db was left out.`,
		Example: `  dendfit merge merged.db shard-0.db shard-1.db shard-2.db shard-3.db
  dendfit merge --db merged.db shard-*.db`,
		Args: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("db") {
				if len(args) < 1 {
					return usageError{fmt.Errorf("merge --db OUT.db needs at least one IN.db (see 'dendfit merge --help')")}
				}
				return nil
			}
			if len(args) < 2 {
				return usageError{fmt.Errorf("merge needs OUT.db and at least one IN.db (see 'dendfit merge --help')")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			// Without this, 'merge --db all.db a.db b.db' would merge b.db
			// into a.db, an input the user meant to leave alone.
			out, ins := args[0], args[1:]
			if cmd.Flags().Changed("db") {
				out, ins = g.db, args
			}
			return runMerge(cmd, g, out, ins, db.MergeOptions{AllowMixed: allowMixed})
		},
	}
	cmd.Flags().BoolVar(&allowMixed, "allow-mixed", false, "merge inputs whose experiment specs differ from OUT.db's under the same name")
	return cmd
}

type mergeInputJSON struct {
	Input string `json:"input"`
	db.MergeStats
}

type unionJSON struct {
	Experiment string `json:"experiment"`
	SpecSHA256 string `json:"spec_sha256"`
	Shards     int    `json:"shards"`
	ShardRuns  int    `json:"shard_runs"`
	RunID      int64  `json:"union_run_id"`
	Points     int64  `json:"points"`
	Grid       int    `json:"grid_points"`
	Added      int64  `json:"points_added"`
	Status     string `json:"status"`
	// Missing lists the first 1000 shards with no finished run, of
	// MissingCount.
	Missing      []int `json:"missing_shards"`
	MissingCount int   `json:"missing_shard_count"`
}

func runMerge(cmd *cobra.Command, g *globals, out string, ins []string, opts db.MergeOptions) error {
	rep, err := pipeline.MergeFiles(cmd.Context(), out, ins, &pipeline.MergeFilesOptions{MergeOptions: opts, Argv: cmdArgv(),
		Warn: func(msg string) { g.warnf("%s", msg) }, Waiting: func(msg string) { g.notef("%s", msg) }})
	var argsErr *pipeline.MergeArgsError
	switch {
	case errors.As(err, &argsErr):
		return usageError{err}
	case errors.Is(err, db.ErrMixedSpecs):
		return fmt.Errorf("%w (--allow-mixed merges them anyway)", err)
	case err != nil:
		return err
	}
	var inputs []mergeInputJSON
	for _, in := range rep.Inputs {
		inputs = append(inputs, mergeInputJSON{Input: in.Path, MergeStats: in.MergeStats})
	}
	var us []unionJSON
	for _, u := range rep.Unions {
		j := unionJSON{Experiment: u.Set.Experiment, SpecSHA256: u.Set.SpecSHA256, Shards: u.Set.ShardN,
			ShardRuns: len(u.Set.Runs), RunID: u.Stats.RunID, Points: u.Stats.Points, Grid: u.Grid,
			Added: u.Stats.Added, Status: u.Stats.Status, Missing: u.Set.Missing(), MissingCount: u.Set.MissingCount()}
		if j.Missing == nil {
			j.Missing = []int{}
		}
		us = append(us, j)
	}
	if g.json {
		if err := printJSON(g.stdout, struct {
			Out    string           `json:"out"`
			Inputs []mergeInputJSON `json:"inputs"`
			Unions []unionJSON      `json:"unions"`
			// Runs of the inputs still being recorded when merged.
			Recording []pipeline.LiveRun `json:"still_recording"`
		}{out, inputs, append([]unionJSON{}, us...), append([]pipeline.LiveRun{}, rep.Recording...)}); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "input\texperiments\truns\truns_updated\tpoints\tfits\n")
		for _, in := range inputs {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\n", in.Input, in.Experiments, in.Runs, in.RunsUpdated, in.Points, in.Fits)
		}
		tw.Flush()
		for _, u := range us {
			fmt.Fprintf(g.stdout, "experiment %s: %d shard%s in %d run%s -> union run %d: %d of %d points (%d added), %s",
				u.Experiment, u.Shards, plural(u.Shards), u.ShardRuns, plural(u.ShardRuns), u.RunID, u.Points, u.Grid, u.Added, u.Status)
			if m := u.Missing; u.MissingCount > 10 {
				fmt.Fprintf(g.stdout, "; no finished run for %d shards: %s, ...", u.MissingCount, joinInts(m[:10]))
			} else if len(m) > 0 {
				fmt.Fprintf(g.stdout, "; no finished run for shard%s %s", plural(len(m)), joinInts(m))
			}
			fmt.Fprintln(g.stdout)
		}
	}
	for _, u := range rep.Unions {
		for _, m := range u.Set.MixedBuilds() {
			g.warnf("experiment %s: %s: union run %d holds one copy of each point, the first merged, so if those builds compute differently, merges in another order give other numbers; keep one run a shard, or compare with 'dendfit reproduce %d'", u.Set.Experiment, m, u.Stats.RunID, u.Stats.RunID)
		}
	}
	// A run still recorded in an input, outside a missing shard (those
	// are in the error below), was copied as far as it had got.
	for _, l := range rep.Recording {
		if !slices.Contains(rep.Live, l) {
			g.warnf("run %d in %s (a %s run of %s) was still being recorded: the points it had are merged, and %s shows it as interrupted until you merge again once it has ended", l.RunID, l.Input, l.Command, l.Experiment, out)
		}
	}
	return incompleteError(rep, out)
}

// incompleteError says, for a merge into out that left sharded sweeps
// short of their grid, which shards are still being swept (to wait for)
// and which to rerun; nil when every union is complete.
func incompleteError(rep *pipeline.MergeReport, out string) error {
	incomplete := rep.Incomplete()
	if incomplete == 0 {
		return nil
	}
	rerun := "rerun the missing shards ('dendfit sweep SPEC --shard K/N --resume --db SHARD.db', or 'dendfit slurm SPEC --dir DIR --rerun K --submit')"
	var missing []int
	for _, u := range rep.Unions {
		missing = append(missing, u.Set.Missing()...)
	}
	if c := slurmRerun(out, missing); c != "" && len(rep.Live) == 0 {
		// The merge of a 'dendfit slurm' directory: the command itself.
		rerun = fmt.Sprintf("rerun the missing shards: %s", c)
	}
	// A shard still being swept is not to be rerun: its task is alive.
	if len(rep.Live) > 0 {
		var live []string
		for _, l := range rep.Live {
			live = append(live, fmt.Sprintf("shard %d of %d (run %d in %s)", l.ShardK, l.ShardN, l.RunID, l.Input))
		}
		msg := fmt.Sprintf("%d sharded sweep(s) in %s do not cover their grid yet: %s still being swept; wait for it to end", incomplete, out, strings.Join(live, ", "))
		// The others are to rerun now, not after: named, as "the other
		// 2" read as the live ones.
		var dead []string
		more := 0
		for _, u := range rep.Unions {
			for _, k := range u.Set.Missing() {
				if !slices.ContainsFunc(rep.Live, func(l pipeline.LiveRun) bool {
					return l.ShardK == k && l.ShardN == u.Set.ShardN && l.Experiment == u.Set.Experiment && l.SpecSHA256 == u.Set.SpecSHA256
				}) {
					dead = append(dead, strconv.Itoa(k))
				}
			}
			more += u.Set.MissingCount() - len(u.Set.Missing())
		}
		if len(dead) > 0 || more > 0 {
			list := strings.Join(dead, ",")
			if more > 0 {
				list += fmt.Sprintf(" and %d more", more)
			}
			msg += fmt.Sprintf(", and rerun shard(s) %s ('dendfit slurm SPEC --dir DIR --rerun %s --submit', or 'dendfit sweep SPEC --shard K/N --resume --db SHARD.db' each)", list, strings.Join(dead, ","))
			return fmt.Errorf("%s, then merge again (merging again adds only what is new)", msg)
		}
		return fmt.Errorf("%s and merge again (merging again adds only what is new)", msg)
	}
	return fmt.Errorf("%d sharded sweep(s) in %s do not cover their grid yet; %s and merge again", incomplete, out, rerun)
}

// slurmRerun is the command that reruns tasks ks of the 'dendfit slurm'
// array whose merged database is out, or "" when out is no such array's
// (or ks is empty).
func slurmRerun(out string, ks []int) string {
	dir := filepath.Dir(out)
	if len(ks) == 0 || filepath.Base(out) != slurm.MergedDB {
		return ""
	}
	if _, err := slurm.Existing(dir); err != nil {
		return ""
	}
	ks = slices.Clone(ks)
	slices.Sort(ks)
	return fmt.Sprintf("dendfit slurm %s --dir %s --rerun %s --submit", filepath.Join(dir, slurm.SpecCopy), dir, slurm.FormatTasks(slices.Compact(ks)))
}

// joinInts writes shard indices as "1, 2, 3".
func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}
