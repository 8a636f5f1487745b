package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/pipeline"
	"github.com/dendfit/dendfit/pipeline/export"
)

func init() { extraCommands = append(extraCommands, newExportCmd) }

type exportOptions struct {
	experiment string
	runID      int64
	format     string
	output     string
	strict     bool
}

func newExportCmd(g *globals) *cobra.Command {
	o := &exportOptions{}
	var names []string
	for _, f := range export.Formats() {
		names = append(names, string(f))
	}
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write a calibration for Dendrify, as JSON, CSV or as a spec",
		Long: `export writes the fitted conductances of a fit run (default: the newest
fit run of --experiment that recorded fits, with each pathway it did not fit
at its newest fit to the same target), and after a kinetics fit the fitted
time constants, with the spec that run fitted. A fit stopped by Ctrl-C or a
kill counts: each pathway's fit is recorded whole, and the export notes the
run that did not finish:

  dendrify  a Python module: PARAMS = {population: {dendrify_name: quantity}}
            with Dendrify's names and Brian 2 units; build_models(), which
            builds every population's NeuronModel or PointNeuronModel with
            Dendrify's API and the calibrated synapses; and
            make_neurongroup(models, population, N), which makes a group
            with the fit's method, ionic constants and dt, its own clock
            (the model's own make_neurongroup integrates with euler on
            defaultclock, which another calibration may have changed)
  json      the same parameters per population with value and unit, the
            protocol (dt, method, duration, spike_at), the ionic constants,
            each pathway's holding and steady state, and the run's provenance
  csv       one row per pathway and receptor
  yaml      the spec with every fitted g (and t_decay, t_rise) written in;
            'dendfit simulate' on it gives the target PSP of every pathway
            that converged (the others keep their spec g, with a warning)

--json is --format json. Values are printed round-trip exact. The output goes to stdout, or with -o
to a file written atomically. A pathway with a target_psp that has no
converged fit is written at its spec g, with a warning; --strict makes
that an exit status of 3 too (the export is still written), for scripts.`,
		Example: `  dendfit export --experiment cortex-paired-recordings --format dendrify -o calibrated.py
  dendfit export --run 3 --format csv`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := export.ParseFormat(o.format)
			if err != nil {
				return usageError{fmt.Errorf("--format %q: want %s", o.format, strings.Join(names, ", "))}
			}
			if g.json { // as in query: --json is --format json
				if cmd.Flags().Changed("format") && o.format != "json" {
					return usageError{fmt.Errorf("--json and --format %s disagree: give one", o.format)}
				}
				f, _ = export.ParseFormat("json")
			}
			d, err := g.openRead(cmd.Context())
			if err != nil {
				return err
			}
			defer d.Close()
			if err := defaultExperiment(cmd.Context(), d, g.db, &o.experiment, o.runID, true); err != nil {
				return err
			}
			c, err := export.Load(cmd.Context(), d, o.experiment, o.runID)
			if err != nil {
				return err
			}
			c.Version, c.Date = version(), time.Now().UTC()
			bad := unconverged(c.Fits)
			if len(bad) > 0 {
				g.warnf("%d of %d fitted pathways did not converge (%s): the export keeps their spec g", len(bad), len(c.Fits), strings.Join(bad, ", "))
			}
			// (A spec export has no state to leave out.)
			if f != export.YAML {
				stateless, err := c.Stateless()
				if err != nil {
					return err
				}
				for _, ns := range stateless {
					g.warnf("%v; the export gives it no i_hold and no steady_state", ns)
				}
			}
			unfitted := c.Unfitted()
			why := map[int]string{}
			if o.runID == 0 {
				if why, err = pipeline.WhyUnfitted(cmd.Context(), d, c.Spec, unfitted); err != nil {
					return err
				}
			}
			for _, i := range unfitted {
				reason := why[i]
				if o.runID != 0 {
					reason = fmt.Sprintf("run %d did not fit it", o.runID)
				}
				g.warnf("pathway %d (%s) has a target_psp but no fit that holds for it (%s): the export keeps its spec g; fit it with 'dendfit fit SPEC -p %d'", i, c.Spec.Pathways[i].Label(), reason, i)
			}
			// --strict fails after writing: the file is as without it.
			strict := func() error {
				if n := len(bad) + len(unfitted); o.strict && n > 0 {
					return strictError{fmt.Sprintf("export --strict: %d pathway%s with a target_psp %s written at the spec g (above)", n, plural(n), map[bool]string{true: "is", false: "are"}[n == 1])}
				}
				return nil
			}
			if o.output == "" || o.output == "-" {
				if err := export.Write(g.stdout, c, f); err != nil {
					return err
				}
				return strict()
			}
			if err := writeFileAtomic(o.output, func(w io.Writer) error { return export.Write(w, c, f) }); err != nil {
				return err
			}
			g.notef("wrote %s (%s export of run %d)", o.output, f, c.Run.ID)
			if others := c.OtherRuns(); others != "" {
				g.notef("note: run %d did not fit every pathway; %s", c.Run.ID, others)
			}
			return strict()
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.experiment, "experiment", "e", "", "experiment name (default: the database's one experiment)")
	fl.Int64Var(&o.runID, "run", 0, "fit run id (default: the newest fit run of the experiment that recorded fits)")
	fl.StringVarP(&o.format, "format", "f", "dendrify", "output format: "+strings.Join(names, ", "))
	fl.StringVarP(&o.output, "output", "o", "", "write to this file instead of stdout")
	fl.BoolVar(&o.strict, "strict", false, "exit with status 3 when a pathway with a target_psp is written at its spec g (not fitted, or not converged)")
	return cmd
}

// unconverged names the pathways whose fit did not converge.
func unconverged(fits []db.Fit) []string {
	var out []string
	for _, f := range fits {
		if !f.Converged {
			out = append(out, fmt.Sprintf("%d %s->%s", f.Pathway, f.Pre, f.Post))
		}
	}
	return out
}

// strictError is export --strict's failure: an exit status of 3, as for a
// fit that did not converge, with its own message (it said "some
// pathways did not converge" of pathways never fitted).
type strictError struct{ msg string }

func (e strictError) Error() string        { return e.msg }
func (e strictError) Is(target error) bool { return target == errNotConverged }
