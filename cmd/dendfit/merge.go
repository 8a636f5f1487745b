package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/pipeline"
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

func runMerge(cmd *cobra.Command, g *globals, out string, ins []string, opts db.MergeOptions) (err error) {
	ctx := cmd.Context()
	// Every input is checked before OUT.db is created, so that a typo in
	// an input does not leave an empty database behind.
	for _, in := range ins {
		if sameFile(in, out) {
			return usageError{fmt.Errorf("%s is both OUT.db and an input", in)}
		}
		empty, err := db.CheckMergeable(ctx, in)
		if err != nil {
			return err
		}
		// A file with no dendfit schema yet merges as empty: say so, or a
		// merge of killed tasks' shards alone would pass for one.
		if empty {
			g.notef("warning: %s holds no dendfit results yet (a task killed before its first commit?): nothing merged from it", in)
		}
	}
	// 'merge shard-*.db', OUT.db forgotten, would merge into a shard.
	if shard, err := db.ShardOnly(ctx, out, ins...); err != nil {
		return err
	} else if shard {
		return usageError{fmt.Errorf("%s holds one shard of a sweep: an input, not OUT.db; give the merged database first (dendfit merge merged.db %s and the other shards)", out, out)}
	}
	// Shards of different specs are refused before anything is merged:
	// Merge finds them at the first such input, the inputs before it
	// already in OUT.db.
	if !opts.AllowMixed {
		if err := db.CheckMergeSpecs(ctx, out, ins); err != nil {
			return fmt.Errorf("%w (--allow-mixed merges them anyway)", err)
		}
	}
	_, statErr := os.Stat(out)
	created := errors.Is(statErr, os.ErrNotExist)
	d, err := db.Open(ctx, out)
	if err != nil {
		return err
	}
	// As in sweep: a close that could not finish the file fails the merge.
	defer func() {
		if cerr := d.Close(); err == nil {
			err = cerr
		}
	}()
	var inputs []mergeInputJSON
	for i, in := range ins {
		st, err := db.Merge(ctx, d, in, opts)
		if err != nil && i == 0 && created {
			// Nothing was merged into the database this merge made: it
			// goes, rather than stay behind empty.
			d.Close()
			for _, suffix := range []string{"", "-wal", "-shm", "-lock"} {
				os.Remove(out + suffix)
			}
		}
		if errors.Is(err, db.ErrMixedSpecs) {
			return fmt.Errorf("%w (--allow-mixed merges them anyway)", err)
		}
		if err != nil {
			return err
		}
		inputs = append(inputs, mergeInputJSON{Input: in, MergeStats: st})
	}
	unions, err := pipeline.UnionShards(ctx, d, cmdArgv())
	if err != nil {
		return err
	}
	var us []unionJSON
	incomplete := 0
	for _, u := range unions {
		j := unionJSON{Experiment: u.Set.Experiment, SpecSHA256: u.Set.SpecSHA256, Shards: u.Set.ShardN,
			ShardRuns: len(u.Set.Runs), RunID: u.Stats.RunID, Points: u.Stats.Points, Grid: u.Grid,
			Added: u.Stats.Added, Status: u.Stats.Status, Missing: u.Set.Missing(), MissingCount: u.Set.MissingCount()}
		if j.Missing == nil {
			j.Missing = []int{}
		}
		if !u.Complete() {
			incomplete++
		}
		us = append(us, j)
	}
	if g.json {
		if err := printJSON(g.stdout, struct {
			Out    string           `json:"out"`
			Inputs []mergeInputJSON `json:"inputs"`
			Unions []unionJSON      `json:"unions"`
		}{out, inputs, append([]unionJSON{}, us...)}); err != nil {
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
			fmt.Fprintf(g.stdout, "experiment %s: %d shards in %d runs -> union run %d: %d of %d points (%d added), %s",
				u.Experiment, u.Shards, u.ShardRuns, u.RunID, u.Points, u.Grid, u.Added, u.Status)
			if m := u.Missing; u.MissingCount > 10 {
				fmt.Fprintf(g.stdout, "; no finished run for %d shards: %v ...", u.MissingCount, m[:10])
			} else if len(m) > 0 {
				fmt.Fprintf(g.stdout, "; no finished run for shards %v", m)
			}
			fmt.Fprintln(g.stdout)
		}
	}
	if incomplete == 0 {
		return nil
	}
	// A shard still being swept is not to be rerun: its task is alive.
	var live []string
	for _, l := range pipeline.LiveShards(ctx, ins) {
		for _, u := range unions {
			if u.Set.Experiment == l.Experiment && u.Set.SpecSHA256 == l.SpecSHA256 && u.Set.ShardN == l.ShardN &&
				slices.Contains(u.Set.Missing(), l.ShardK) {
				live = append(live, fmt.Sprintf("shard %d of %d (run %d in %s)", l.ShardK, l.ShardN, l.RunID, l.Input))
			}
		}
	}
	if len(live) > 0 {
		return fmt.Errorf("%d sharded sweep(s) in %s do not cover their grid yet: %s still being swept; wait for it to end and merge again (merging again adds only what is new)",
			incomplete, out, strings.Join(live, ", "))
	}
	return fmt.Errorf("%d sharded sweep(s) in %s do not cover their grid yet; rerun the missing shards ('dendfit sweep SPEC --shard K/N --resume --db SHARD.db', or 'dendfit slurm SPEC --dir DIR --rerun K --submit') and merge again", incomplete, out)
}
