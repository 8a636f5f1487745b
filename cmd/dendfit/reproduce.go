package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/pipeline"
)

func init() { extraCommands = append(extraCommands, newReproduceCmd) }

// errNotReproduced marks a reproduction whose points differ.
type errNotReproduced struct{ n int }

func (e errNotReproduced) Error() string {
	return fmt.Sprintf("reproduction differs in %d place(s)", e.n)
}

func newReproduceCmd(g *globals) *cobra.Command {
	var workers int
	cmd := &cobra.Command{
		Use:   "reproduce RUN_ID",
		Short: "Rerun a recorded run and compare every point bit for bit",
		Long: `reproduce reruns a recorded simulate, sweep or fit run from the spec text
stored in the database and the run's recorded settings (pathways, shard,
--no-fine-dt), records the new run as a reproduction of the old one, and
compares every point by its key, bit for bit, and a fit's fit rows (g,
PSPs at dt and dt/10, kinetics, outcome) pathway by pathway. It prints that
all are identical or each difference, and whether the dendfit version or
revision differs. Of a sweep that did not finish, the points it recorded
are rerun and compared, not the rest of its grid; of a fit, the pathways
it recorded (each is fitted alone, as in a whole fit). The exit status is
1 when anything differs.`,
		Example: `  dendfit reproduce 2
  dendfit reproduce 2 --json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return usageError{fmt.Errorf("reproduce: want a run id (a positive integer), got %q", args[0])}
			}
			// The run must be in an existing database: a mistyped --db
			// would otherwise be created, empty.
			if _, err := os.Stat(g.db); errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("reproduce: %s: no such database", g.db)
			}
			if err := g.checkDB(); err != nil {
				return err
			}
			d, err := db.Open(cmd.Context(), g.db)
			if err != nil {
				return err
			}
			defer func() {
				if cerr := d.Close(); err == nil {
					err = cerr
				}
			}()
			r, err := pipeline.Reproduce(cmd.Context(), d, id, &pipeline.ReproduceOptions{Argv: cmdArgv(), Workers: workers})
			if err != nil {
				return err
			}
			if g.json {
				out := struct {
					RunID       int64                  `json:"run_id"`
					NewRunID    int64                  `json:"new_run_id"`
					Identical   bool                   `json:"identical"`
					OldVersion  string                 `json:"old_version"`
					NewVersion  string                 `json:"new_version"`
					OldRevision string                 `json:"old_vcs_revision"`
					NewRevision string                 `json:"new_vcs_revision"`
					Report      *pipeline.Reproduction `json:"report"`
				}{id, r.New.ID, r.Identical(), r.Original.Version, r.New.Version, r.Original.VCSRevision, r.New.VCSRevision, r}
				if r.Differences == nil {
					r.Differences = []pipeline.Difference{}
				}
				if err := printJSON(g.stdout, out); err != nil {
					return err
				}
			} else {
				w := g.stdout
				fmt.Fprintf(w, "run %d (%s of %s) rerun as run %d\n", id, r.Command, r.Original.Experiment, r.New.ID)
				switch {
				case r.Identical() && r.Points == 0 && r.Fits == 0:
					// (The original recorded nothing: a run stopped at once.)
					fmt.Fprintf(w, "nothing to compare: run %d recorded no points\n", id)
				case r.Identical() && r.Command == db.CommandFit:
					fmt.Fprintf(w, "%s and %d fit%s identical\n", allPoints(r.Points), r.Fits, plural(r.Fits))
				case r.Identical():
					fmt.Fprintf(w, "%s identical\n", allPoints(r.Points))
				}
				switch {
				case r.FitsNotCompared > 0:
					fmt.Fprintf(w, "%d points and %d fits the original never recorded (it is %s) were made again, not compared\n", r.NotCompared, r.FitsNotCompared, r.Original.Status)
				case r.NotCompared > 0:
					fmt.Fprintf(w, "%d points the original never recorded (it is %s) were made again, not compared\n", r.NotCompared, r.Original.Status)
				}
				for i, x := range r.Differences {
					if i == maxShownDifferences && !g.verbose {
						fmt.Fprintf(w, "... and %d more differences (-v or --json lists them all)\n", len(r.Differences)-i)
						break
					}
					fmt.Fprintf(w, "%s: %s was %s, now %s\n", x.Key, x.Field, x.Old, x.New)
				}
				switch {
				case r.VersionDiffers:
					fmt.Fprintf(w, "dendfit differs: run %d by %s, run %d by %s\n", id, describeBuild(r.Original), r.New.ID, describeBuild(r.New))
				case r.New.VCSRevision == "" || r.New.VCSModified:
					// Without a clean revision the same label may name other code.
					fmt.Fprintf(w, "same dendfit label: both runs by %s, which does not identify the source; the code may differ\n", describeBuild(r.New))
				default:
					fmt.Fprintf(w, "same dendfit: %s\n", describeBuild(r.New))
				}
			}
			if !r.Identical() {
				return errNotReproduced{len(r.Differences)}
			}
			return nil
		},
	}
	cmd.Flags().IntVarP(&workers, "workers", "j", 0, "parallel workers for sweeps and fits (default, or 0: all cores, at most 16 a core; results do not depend on it)")
	return cmd
}

// maxShownDifferences is how many differences reproduce lists without
// -v: a rerun with another dendfit may differ in every point of a sweep.
const maxShownDifferences = 20

func describeBuild(r *db.Run) string {
	v := r.Version
	if v == "" {
		v = "(unknown version)"
	}
	rev := r.VCSRevision
	if rev == "" {
		rev = "unknown"
	}
	if r.VCSModified {
		rev += ", modified"
	}
	return fmt.Sprintf("%s (revision %s)", v, rev)
}

// allPoints is "all 12 points", or "the one point".
func allPoints(n int) string {
	if n == 1 {
		return "the one point"
	}
	return fmt.Sprintf("all %d points", n)
}
