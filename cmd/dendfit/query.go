package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dendfit/dendfit/db"
)

func init() { extraCommands = append(extraCommands, newQueryCmd) }

func newQueryCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "query",
		Short: "Read results back from the database",
	}
	var exp string
	var runID int64
	var pathway int
	pts := &cobra.Command{
		Use:   "points",
		Short: "List the points of a run (default: the newest finished run of --experiment)",
		Example: `  dendfit query points --experiment l23-demo --json
  dendfit query points --run 4 --pathway 1`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			d, err := db.Open(ctx, g.db)
			if err != nil {
				return err
			}
			defer d.Close()
			if runID == 0 {
				if exp == "" {
					return usageError{fmt.Errorf("query points needs --experiment NAME or --run ID")}
				}
				r, err := d.NewestRun(ctx, exp, "", db.StatusDone)
				if err != nil {
					return fmt.Errorf("experiment %q: no finished run in %s: %w", exp, g.db, err)
				}
				runID = r.ID
			}
			f := db.PointFilter{RunID: runID}
			if cmd.Flags().Changed("pathway") {
				f.Pathway = &pathway
			}
			points, err := d.Points(ctx, f)
			if err != nil {
				return err
			}
			if g.json {
				out := struct {
					Points []pointJSON `json:"points"`
				}{Points: []pointJSON{}}
				for _, p := range points {
					out.Points = append(out.Points, newPointJSON(p))
				}
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintf(tw, "pathway\tpre\tpost\tg_nS\tt_decay_ms\tt_rise_ms\tpsp_mV\tpeak_ms\trise_ms\thalf_ms\tdSpike\tstatus\t\n")
			for _, p := range points {
				tr := "-"
				if p.TRiseMS != nil {
					tr = fmt.Sprintf("%.4g", *p.TRiseMS)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%.6g\t%.4g\t%s\t%.6g\t%.3f\t%s\t%s\t%v\t%s\t\n", p.Pathway, p.Pre, p.Post, p.GNS,
					p.TDecayMS, tr, p.PSPMV, p.TimeToPeakMS, optMS(p.Rise1090MS), optMS(p.HalfWidthMS), p.DSpikeFired, p.Status)
			}
			return tw.Flush()
		},
	}
	pts.Flags().StringVarP(&exp, "experiment", "e", "", "experiment name")
	pts.Flags().Int64Var(&runID, "run", 0, "run id (default: newest finished run of the experiment)")
	pts.Flags().IntVar(&pathway, "pathway", 0, "only this pathway (index in the spec)")
	cmd.AddCommand(pts)
	return cmd
}

// pointJSON is a point as `query points --json` prints it.
type pointJSON struct {
	Pathway      int                `json:"pathway"`
	Pre          string             `json:"pre"`
	Post         string             `json:"post"`
	Compartment  string             `json:"compartment"`
	Record       string             `json:"record"`
	Key          string             `json:"point_key"`
	GNS          []float64          `json:"g_nS"`
	TDecayMS     *float64           `json:"t_decay_ms"`
	TRiseMS      *float64           `json:"t_rise_ms"`
	PSPMV        *float64           `json:"psp_mV"`
	BaselineMV   *float64           `json:"baseline_mV"`
	TimeToPeakMS *float64           `json:"time_to_peak_ms"`
	Rise1090MS   *float64           `json:"rise_10_90_ms"`
	HalfWidthMS  *float64           `json:"half_width_ms"`
	PeaksMV      map[string]float64 `json:"peaks_mV"`
	IHoldPA      *float64           `json:"i_hold_pA"`
	DSpikeFired  bool               `json:"dspike_fired"`
	Status       string             `json:"status"`
	Error        string             `json:"error,omitempty"`
}

func newPointJSON(p db.Point) pointJSON {
	o := pointJSON{Pathway: p.Pathway, Pre: p.Pre, Post: p.Post, Compartment: p.Compartment, Record: p.Record, Key: p.PointKey,
		TRiseMS: p.TRiseMS, Rise1090MS: p.Rise1090MS, HalfWidthMS: p.HalfWidthMS, PeaksMV: p.PeaksMV, IHoldPA: p.IHoldPA,
		DSpikeFired: p.DSpikeFired, Status: p.Status, Error: p.Error}
	for _, r := range p.Receptors {
		o.GNS = append(o.GNS, r.GNS)
	}
	if len(p.Receptors) > 0 {
		o.TDecayMS = &p.Receptors[0].TDecayMS
	}
	if p.Status != db.PointFailed {
		o.PSPMV, o.BaselineMV, o.TimeToPeakMS = &p.PSPMV, &p.BaselineMV, &p.TimeToPeakMS
	}
	return o
}
