package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/pipeline"
	"github.com/dendfit/dendfit/sim/spec"
)

func init() { extraCommands = append(extraCommands, newFitCmd) }

type fitOptions struct {
	workers       int
	noFine        bool
	pathways      []string
	rootBelowJump bool
	strict        bool
	noDB          bool
}

func newFitCmd(g *globals) *cobra.Command {
	o := &fitOptions{}
	cmd := &cobra.Command{
		Use:   "fit SPEC",
		Short: "Fit each pathway's conductance to its target PSP",
		Long: `fit finds, for every pathway with target_psp, the g of its first receptor
(the others keep their ratio) at which |PSP| at the record compartment
equals the target, within the spec's fit.rtol (default 1e-7), between
fit.g_min and fit.g_max. It brackets from the spec's g using the
near-proportionality of small PSPs to g, then refines with Brent's method on
real simulations. A run that fails on the way (an AdEx cell the synapse
fires, which runs away as Dendrify's adex has no reset; a step unstable
at that g) takes its g as too strong: the search goes on below it, and
a target beyond it ends unreachable, saying so, with the largest PSP
reached. Targets out of reach, below g_min,
non-monotone PSPs and dSpike jumps are reported, never silently fitted.
As the reference, a pathway with dSpikes has no fit when a run of the
bracket around its root (doubling or halving from the spec g) fires one,
even if the root does not, so the outcome can depend on the spec g; the
message gives the spec g that would fit it, and --root-below-jump takes such a
root, with a warning. So too where the PSP falls as a dSpike takes over and
meets the target twice: a search from a spec g above the threshold finds
the root that fires; the message names the one below, which the flag takes.
For each fit the PSP at dt/10 shows how much the calibration depends on
the clock (a warning when it moves the PSP by over 1%), and a PSP that
peaks at the last sample of the window (cut short by simulation.duration)
is warned of.

A pathway with target_rise, target_half_width or target_time_to_peak also
fits its first receptor's t_decay (and t_rise when it has one): a
Nelder-Mead search over the time constants (none shorter than dt, under
any method; a t_rise below t_decay stays below it), each candidate with
its amplitude solved exactly,
minimising the relative residuals of the kinetics targets; the residual
of every target is printed and recorded. A best compromise that misses a
target by more than 10% ends kinetics_missed, not converged; one within
10% of every target is converged, even when the search stopped at its
limit of candidates (it says so); a search stopped there with a miss
ends max_evaluations.

Every evaluation and one fit row per pathway are recorded in the database
(unless --no-db), each pathway as soon as it is fitted: Ctrl-C stops the fit and keeps the
pathways already fitted (the run is marked cancelled), and so does a kill;
export, report and plot --fitted use them as a finished run's, so
'fit -p' of the others completes the calibration.
The fit's warnings are recorded with it (query fits, export, report). A
pathway that cannot be simulated at all (dt beyond the stability limit
of its cell or of a receptor's time constant, a holding that puts an AdEx
compartment above its VT) ends sim_failed, and the others are fitted. The exit status is 3 when some
pathway did not converge; with --strict, 4 when all converged but some fit
carries a warning.

The table gives amplitudes (|PSP|), as targets are. With --json,
psp_at_fit_mV and psp_fine_dt_mV are the PSP with its sign, as a point's
psp_mV and the reference output's psp_at_fit_mV are: an IPSP's is
negative, its target_psp_mV the magnitude, and so is reachable_psp_mV
(the largest PSP a target out of reach met). The JSON's status is done,
or cancelled after Ctrl-C, with the pathways fitted before it.`,
		Example: `  dendfit fit experiments/cortex-paired-recordings.yaml
  dendfit fit experiments/cortex-paired-recordings.yaml -p 'L4FS->L4SS' -p 0
  dendfit fit experiments/l23-demo.yaml --json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runFit(cmd, g, o, args[0]) },
	}
	cmd.Flags().IntVarP(&o.workers, "workers", "j", 0, "pathways fitted at once (default, or 0: all cores; at most 16 a core)")
	cmd.Flags().BoolVar(&o.noFine, "no-fine-dt", false, "skip the PSP check at dt/10")
	cmd.Flags().BoolVar(&o.noDB, "no-db", false, "do not record the fit (export, report and plot --fitted then have nothing of it to use)")
	cmd.Flags().BoolVar(&o.strict, "strict", false, "exit with status 4 when every pathway converged but some fit carries a warning (3 when one did not converge)")
	cmd.Flags().BoolVar(&o.rootBelowJump, "root-below-jump", false, "accept a root that fires no dSpike though a run of the bracket around it does (the reference gives no fit there, and the outcome depends on the spec g); the fit warns")
	cmd.Flags().VarP(newListFlag(&o.pathways), "pathway", "p", "pathways to fit: index (0-based), pre->post or pre->post@compartment; repeatable (default: every one with a target_psp)")
	return cmd
}

func runFit(cmd *cobra.Command, g *globals, o *fitOptions, path string) error {
	ctx := cmd.Context()
	s, err := readSpec(path)
	if err != nil {
		return err
	}
	idx, err := selectPathways(s, o.pathways)
	if err != nil {
		return err
	}
	if idx, err = pipeline.FitSelection(s, idx); err != nil {
		return usageError{fmt.Errorf("--pathway: %w", err)}
	}
	// Targets no PSP can meet stop the fit before any run; the warnings
	// that say the same for other commands would only repeat them.
	if err := pipeline.CheckFitTargets(s, idx); err != nil {
		return err
	}
	g.tellWarnings(s)
	if !slices.ContainsFunc(s.Pathways, func(p spec.Pathway) bool { return p.TargetPSP > 0 }) {
		// A run of no fit would be the newest fit run, which export and
		// report would then find empty.
		g.notef("note: no pathway of %s has a target_psp: nothing to fit, nothing recorded", path)
		if g.json {
			// Still a document for a script: no run, no pathway.
			return printJSON(g.stdout, fitDoc{s.Name, nil, db.StatusDone, []pipeline.FitResult{}})
		}
		return nil
	}
	fopt := &pipeline.FitOptions{Workers: o.workers, NoFine: o.noFine, Pathways: idx, RootBelowJump: o.rootBelowJump}
	var rec *recorder
	var runID *int64 // null in the JSON with --no-db
	if !o.noDB {
		settings := pipeline.FitSettings{NoFineDt: o.noFine, Pathways: idx, RootBelowJump: o.rootBelowJump}
		rec, err = startRunInfo(ctx, g, s, pipeline.RunInfo{Command: db.CommandFit, Workers: o.workers, Settings: settings})
		if err != nil {
			return err
		}
		runID = &rec.runID
		// Each pathway is recorded as it is fitted: those done before
		// Ctrl-C, another pathway's failure, or a kill are kept.
		fopt.Finished = pipeline.RecordEach(ctx, rec.db, rec.runID)
	}
	bar := newProgressBar(g, "pathways")
	fopt.Progress = bar.update
	res, err := pipeline.Fit(ctx, s, fopt)
	bar.done()
	if err != nil && len(res) > 0 {
		// Always said, -q or not, as sweep's: the way on matters more.
		fmt.Fprintln(g.stderr, stoppedFitNote(g, s, path, idx, res, rec))
	}
	if rec != nil {
		if ferr := rec.finish(err); err == nil {
			err = ferr
		}
	}
	if err != nil {
		// A script reading --json gets what was kept, and that the run
		// was cancelled, as well as the exit status (stdout was empty).
		if g.json && errors.Is(err, context.Canceled) {
			printJSON(g.stdout, fitDoc{s.Name, runID, db.StatusCancelled, nonNil(res)})
		}
		return err
	}
	var fitted []int
	for _, r := range res {
		fitted = append(fitted, r.Pathway)
	}
	if len(fitted) > 0 {
		// A fit to a cell that is not at rest fits its spontaneous
		// response too, and its outcome's reason does not say so.
		ws, err := pipeline.EarlyDSpikes(ctx, s, fitted)
		// (A pathway that fails at its spec g is skipped, not the others.)
		if err == nil {
			for _, w := range ws {
				g.warnf("%s", w)
			}
		}
	}
	fitWarnings(g, res)
	if g.json {
		if err := printJSON(g.stdout, fitDoc{s.Name, runID, db.StatusDone, res}); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "#\tpathway\tat\trecord\ttarget_mV\tg_fit_nS\t|psp|_mV\t|psp|_dt/10_mV\tevals\toutcome\t\n")
		best := false // a g column holds a best g tried
		gl := func(gs []float64) string { return joinG(gs, 8) }
		for _, r := range res {
			fine := "-"
			if r.PSPFineDtMV != nil {
				fine = fmt.Sprintf("%.6f", math.Abs(*r.PSPFineDtMV))
			}
			// The PSP is at the fitted g, or at the best g tried: that g
			// is given beside it, in parentheses, not as a fit.
			// The table's columns are magnitudes, as the targets are.
			gcol, psp := gl(r.GFitNS), fmt.Sprintf("%.6f", math.Abs(r.PSPAtFitMV))
			switch {
			case r.Converged:
			case len(r.GBestNS) > 0:
				gcol, best = "("+gl(r.GBestNS)+")", true
			default: // no g ran to the end
				gcol, psp = "-", "-"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%.6g\t%s\t%s\t%s\t%d\t%s\t\n", r.Pathway, s.Pathways[r.Pathway].Label(), r.Compartment,
				r.Record, r.TargetPSPMV, gcol, psp, fine, r.Evaluations, r.Outcome)
		}
		tw.Flush()
		if best {
			fmt.Fprintln(g.stdout, "(g): not a fit: the best g tried, whose |psp| is given")
		}
		for _, r := range res {
			switch {
			case r.Converged && !slices.Equal(r.GEffNS, r.GFitNS):
				// scale_g: the table's g is the peak; add_params takes this.
				fmt.Fprintf(g.stdout, "pathway %d (%s): g_eff %s nS in Dendrify's equations (scale_g), as export writes it\n", r.Pathway, s.Pathways[r.Pathway].Label(), gl(r.GEffNS))
			case r.Converged && peakIsNotG(r.GFitNS, r.GPeakNS):
				// t_rise without scale_g: g is not the peak.
				fmt.Fprintf(g.stdout, "pathway %d (%s): peak conductance %s nS after the spike (t_rise without scale_g: its g scales a time course that does not peak at 1)\n", r.Pathway, s.Pathways[r.Pathway].Label(), joinG(r.GPeakNS, 4))
			}
			kin := ""
			if r.TDecayMS != nil {
				kin = fmt.Sprintf("t_decay %.6g ms", *r.TDecayMS)
				if r.TRiseMS != nil {
					kin += fmt.Sprintf(", t_rise %.6g ms", *r.TRiseMS)
				}
				for _, res := range r.Residuals {
					if res.Undefined {
						kin += fmt.Sprintf("; %s undefined within the window (target %.4g)", res.Name, res.Target)
						continue
					}
					kin += fmt.Sprintf("; %s %.4g ms (target %.4g, %s)", res.Name, res.Achieved, res.Target, res.Percent())
				}
			}
			switch {
			case !r.Converged:
				fmt.Fprintf(g.stdout, "pathway %d (%s): %s\n", r.Pathway, s.Pathways[r.Pathway].Label(), r.Message)
				if kin != "" {
					// The compromise it stopped at (it was in --json only).
					fmt.Fprintf(g.stdout, "pathway %d (%s): best found: %s\n", r.Pathway, s.Pathways[r.Pathway].Label(), kin)
				}
			case kin != "":
				fmt.Fprintf(g.stdout, "pathway %d (%s): %s\n", r.Pathway, s.Pathways[r.Pathway].Label(), kin)
			}
		}
		if rec != nil {
			fmt.Fprintf(g.stdout, "run %d recorded in %s\n", rec.runID, g.db)
		} else {
			fmt.Fprintln(g.stdout, "not recorded (--no-db)")
		}
	}
	warned := false
	for _, r := range res {
		if !r.Converged {
			return errNotConverged
		}
		warned = warned || len(r.Warnings) > 0
	}
	if warned && o.strict {
		return errWarned
	}
	return nil
}

// fitWarnings tells on stderr what makes a fitted pathway's g doubtful.
func fitWarnings(g *globals, res []pipeline.FitResult) {
	for i := range res {
		for _, w := range res[i].Warnings {
			g.warnf("%s", w)
		}
	}
}

// fitDoc is fit --json's document: the run (null when nothing was to
// fit), done or cancelled (Ctrl-C: the pathways fitted before it).
type fitDoc struct {
	Experiment string               `json:"experiment"`
	RunID      *int64               `json:"run_id"`
	Status     string               `json:"status"`
	Pathways   []pipeline.FitResult `json:"pathways"`
}

// nonNil is rs, or an empty list for JSON's [].
func nonNil(rs []pipeline.FitResult) []pipeline.FitResult {
	if rs == nil {
		return []pipeline.FitResult{}
	}
	return rs
}

// stoppedFitNote says, for a fit of selected (nil: every pathway with a
// target) stopped after fitting res, what it recorded (in rec's run; nil
// with --no-db), that export, report and plot use it, and the command that
// fits the rest.
func stoppedFitNote(g *globals, s *spec.Spec, path string, selected []int, res []pipeline.FitResult, rec *recorder) string {
	done := map[int]bool{}
	for _, r := range res {
		done[r.Pathway] = true
	}
	var rest []string
	all := pipeline.FitPathways(s, selected)
	for _, i := range all {
		if !done[i] {
			rest = append(rest, fmt.Sprintf("-p %d", i))
		}
	}
	total := len(all)
	if rec == nil {
		return fmt.Sprintf("%d of %d pathways fitted before it stopped (not recorded: --no-db)", len(res), total)
	}
	note := fmt.Sprintf("%d of %d pathways fitted before it stopped are recorded in run %d; export, report and plot --fitted use them", len(res), total, rec.runID)
	if len(rest) > 0 {
		note += fmt.Sprintf("; fit the rest with: dendfit --db %s fit %s %s", g.db, path, strings.Join(rest, " "))
	}
	return note
}
