package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/pipeline/report"
)

func init() { extraCommands = append(extraCommands, newReportCmd) }

type reportOptions struct {
	experiment string
	out        string
	runID      int64
}

func newReportCmd(g *globals) *cobra.Command {
	o := &reportOptions{}
	cmd := &cobra.Command{
		Use:         "report [--experiment NAME | --run ID] -o report.html",
		Annotations: writesFileOnly,
		Short:       "Write an experiment's calibration report as one HTML file",
		Long: `report writes one self-contained HTML file (inline SVG and CSS, no script,
nothing loaded from the network) from the database: the experiment's spec,
the calibration table of its newest fit (target, achieved PSP, g per
receptor, evaluations, outcome, PSP at dt/10), a voltage trace and a PSP-g
curve for every pathway (the curve from the newest sweep, or else from the
fit's evaluations), a heat map of |PSP| over the sweep's first two axes
with the target's line when it swept two or more (as plot heatmap draws
it), and the provenance of the runs shown. Pathways that did not converge
are marked. With --run, the report is of that fit run: its spec and its
fits alone, as export --run writes them (after fitting a variant of the
spec under the same experiment name, --run of the main spec's fit run
reports that one).`,
		Example: `  dendfit fit experiments/cortex-paired-recordings.yaml
  dendfit report --experiment cortex-paired-recordings -o report.html
  dendfit report --run 1 -o run1.html`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !strings.HasSuffix(strings.ToLower(o.out), ".html") && !strings.HasSuffix(strings.ToLower(o.out), ".htm") {
				return usageError{fmt.Errorf("-o %q: want an .html file", o.out)}
			}
			ctx := cmd.Context()
			d, err := g.openRead(ctx)
			if err != nil {
				return err
			}
			defer d.Close()
			if err := defaultExperiment(ctx, d, g.db, &o.experiment, o.runID, o.runID != 0); err != nil {
				return err
			}
			r, err := report.Build(ctx, d, o.experiment, &report.Options{FitRun: o.runID})
			if err != nil {
				return err
			}
			if err := writeFileAtomic(o.out, r.WriteHTML); err != nil {
				return err
			}
			if r.Fit == nil {
				g.notef("wrote %s: %d pathway%s, no fit recorded (the figures use the spec's g)", o.out, len(r.Pathways), plural(len(r.Pathways)))
			} else {
				// The calibration takes pathways the newest fit run left
				// out from earlier runs (after fit --pathway).
				own, earlier := 0, 0
				for _, p := range r.Pathways {
					switch {
					case p.Fit == nil:
					case p.Fit.RunID == r.Fit.ID:
						own++
					default:
						earlier++
					}
				}
				stopped := ""
				if r.Fit.Status != db.StatusDone {
					stopped = " (" + r.Fit.Status + ")"
				}
				from := fmt.Sprintf("%d fitted by fit run %d%s", own, r.Fit.ID, stopped)
				if earlier > 0 {
					from += fmt.Sprintf(" and %d by earlier fit runs", earlier)
				}
				unfitted := ""
				if n := r.Unfitted(); n > 0 {
					unfitted = fmt.Sprintf(", %d with a target and no fit", n)
				}
				g.notef("wrote %s: %d pathway%s, %s, %d not converged%s", o.out, len(r.Pathways), plural(len(r.Pathways)), from, r.Unconverged(), unfitted)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&o.experiment, "experiment", "e", "", "experiment name (default: the database's one experiment)")
	cmd.Flags().StringVarP(&o.out, "output", "o", "", "HTML file to write (required)")
	cmd.Flags().Int64Var(&o.runID, "run", 0, "fit run id to report, with its spec and its fits alone (default: the newest fit run, with earlier fits of the pathways it left out)")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}
