package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dendfit/dendfit/pipeline"
	"github.com/dendfit/dendfit/sim/spec"
)

type simulateOptions struct {
	pathways []string
	trace    string
	noDB     bool
}

func newSimulateCmd(g *globals) *cobra.Command {
	o := &simulateOptions{}
	cmd := &cobra.Command{
		Use:   "simulate SPEC",
		Short: "Run the PSP protocol for every pathway of a spec",
		Long: `simulate starts each pathway's postsynaptic cell at its steady state (or held
at the pathway's holding potential), delivers one presynaptic spike at
spike_at and measures the PSP at the record compartment: amplitude, time to
peak, 10-90 % rise time, half width, the peak at every compartment and any
dSpikes. The numbers are those Dendrify 2.2 on Brian 2.5 computes.

--json gives each pathway with the keys of the reference files, units in
their names (mV, ms, nS, pA), but for steady_state: the state the run
starts from, V_<comp> in mV and w_<comp> (adaptation current) in pA (a
point cell's are V and w). A pathway that failed has an error, and null
baseline_mV, psp_mV and time_to_peak_ms; its other measures mean nothing.

The run and its results are recorded in the database (--db) unless --no-db.`,
		Example: `  dendfit simulate experiments/cortex-paired-recordings.yaml
  dendfit simulate experiments/l23-demo.yaml --pathway 0 --json
  dendfit simulate experiments/cortex-paired-recordings.yaml --pathway 'L5MC->L5TTPC' --trace trace.csv`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSimulate(cmd, g, o, args[0])
		},
	}
	f := cmd.Flags()
	f.VarP(newListFlag(&o.pathways), "pathway", "p", "pathways to run: index (0-based), pre->post or pre->post@compartment; repeatable")
	f.StringVar(&o.trace, "trace", "", "write every compartment's voltage to this CSV file: time_ms, V_<comp>_mV, ... (p<i>_V_<comp>_mV with several pathways)")
	f.BoolVar(&o.noDB, "no-db", false, "do not record the run in the database")
	return cmd
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("%s needs %d argument(s), got %d (see '%s --help')", cmd.Name(), n, len(args), cmd.CommandPath())}
		}
		return nil
	}
}

// selectPathways resolves --pathway values to indices.
func selectPathways(s *spec.Spec, sel []string) ([]int, error) {
	if len(sel) == 0 {
		return nil, nil
	}
	var out []int
	for _, v := range sel {
		if i, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			if i < 0 || i >= len(s.Pathways) {
				return nil, usageError{fmt.Errorf("--pathway %d: the spec has %s", i, s.PathwayIndexes())}
			}
			out = append(out, i)
			continue
		}
		// "L4SS -> L23PC" names what "L4SS->L23PC" does, and
		// "PC->PC@basal" the one at that compartment.
		named, comp, at := strings.Cut(v, "@")
		comp = strings.TrimSpace(comp)
		pre, post, arrow := strings.Cut(named, "->")
		name := strings.TrimSpace(pre) + "->" + strings.TrimSpace(post)
		found := false
		for i, p := range s.Pathways {
			if at && p.Compartment != comp {
				continue
			}
			if arrow && name == p.Pre+"->"+p.Post || strings.TrimSpace(named) == p.Label() {
				out = append(out, i)
				found = true
			}
		}
		if !found {
			return nil, usageError{fmt.Errorf("--pathway %q: no such pathway (want an index, pre->post or pre->post@compartment: %s)", v, pathwayList(s))}
		}
	}
	// A pathway named twice would be simulated, and recorded, twice.
	seen := map[int]bool{}
	uniq := out[:0]
	for _, i := range out {
		if !seen[i] {
			seen[i] = true
			uniq = append(uniq, i)
		}
	}
	return uniq, nil
}

// pathwayList names a spec's pathways for a message: "0 E->E, 1 PV->E".
func pathwayList(s *spec.Spec) string {
	var parts []string
	for i, p := range s.Pathways {
		if i == 12 {
			parts = append(parts, fmt.Sprintf("... (%d in all)", len(s.Pathways)))
			break
		}
		parts = append(parts, fmt.Sprintf("%d %s->%s@%s", i, p.Pre, p.Post, p.Compartment))
	}
	return strings.Join(parts, ", ")
}

func runSimulate(cmd *cobra.Command, g *globals, o *simulateOptions, path string) error {
	ctx := cmd.Context()
	s, err := g.loadSpec(path)
	if err != nil {
		return err
	}
	idx, err := selectPathways(s, o.pathways)
	if err != nil {
		return err
	}
	var rec *recorder
	if !o.noDB {
		rec, err = startRun(ctx, g, s, "simulate", pipeline.SimulateSettings{Pathways: idx})
		if err != nil {
			return err
		}
	}
	// One pathway that runs away does not hide the others: it is shown,
	// and recorded, as failed.
	res, err := pipeline.Simulate(ctx, s, &pipeline.SimulateOptions{Pathways: idx, Trace: o.trace != "", KeepGoing: true})
	if rec != nil {
		if err == nil {
			err = pipeline.RecordSimulate(ctx, rec.db, rec.runID, res)
		}
		if ferr := rec.finish(err); err == nil {
			err = ferr
		}
		if err == nil {
			// As fit says it (on stdout there; here the table is all).
			g.notef("run %d recorded in %s", rec.runID, g.db)
		}
	}
	if err != nil {
		return err
	}
	var failed []string
	var traced []pipeline.PathwayResult
	for i := range res {
		if res[i].Error != "" {
			failed = append(failed, strconv.Itoa(res[i].Pathway))
			g.notef("pathway %d (%s->%s) failed: %s", res[i].Pathway, res[i].Pre, res[i].Post, res[i].Error)
			continue
		}
		traced = append(traced, res[i])
		if w := res[i].EarlyDSpike(s.Simulation.SpikeAt / 1e-3); w != "" {
			g.warnf("%s", w)
		}
		if res[i].PeakAtEnd {
			g.warnf("%s", pipeline.WindowWarning(s, fmt.Sprintf("pathway %d (%s)", res[i].Pathway, s.Pathways[res[i].Pathway].Label())))
		}
	}
	if o.trace != "" && len(traced) > 0 {
		if err := writeTraceCSV(o.trace, traced); err != nil {
			return err
		}
	}
	if err := printSimulate(g, s, rec, res); err != nil {
		return err
	}
	if len(failed) == 0 {
		return nil
	}
	// With -q the reasons were not shown: the first one is said here.
	why := "(see above)"
	if g.quiet {
		for _, r := range res {
			if r.Error != "" {
				why = "(the first: " + r.Error + ")"
				break
			}
		}
	}
	if len(failed) == len(res) {
		return fmt.Errorf("pathway %s failed %s", strings.Join(failed, ", "), why)
	}
	return fmt.Errorf("pathway %s failed %s; the others are shown", strings.Join(failed, ", "), why)
}

// printSimulate prints the results as JSON or as a table.
func printSimulate(g *globals, s *spec.Spec, rec *recorder, res []pipeline.PathwayResult) error {
	if g.json {
		out := struct {
			Experiment string                   `json:"experiment"`
			RunID      *int64                   `json:"run_id,omitempty"`
			Pathways   []pipeline.PathwayResult `json:"pathways"`
		}{Experiment: s.Name, Pathways: res}
		if rec != nil {
			out.RunID = &rec.runID
		}
		for i := range out.Pathways {
			out.Pathways[i].Trace = nil
		}
		return printJSON(g.stdout, out)
	}
	printSimulateTable(g.stdout, s, res)
	return nil
}

// joinG writes conductances to digits significant digits, ';' between
// receptors, as query prints them.
func joinG(gs []float64, digits int) string {
	t := make([]string, len(gs))
	for i, v := range gs {
		t[i] = strconv.FormatFloat(v, 'g', digits, 64)
	}
	return strings.Join(t, ";")
}

// peakIsNotG says whether a receptor of a pathway peaks at another
// conductance than its g (a rise-decay receptor without scale_g).
func peakIsNotG(g, peak []float64) bool {
	return slices.ContainsFunc(peak, func(p float64) bool { return !slices.Contains(g, p) })
}

func printSimulateTable(w io.Writer, s *spec.Spec, res []pipeline.PathwayResult) {
	gl := func(gs []float64) string { return joinG(gs, 6) }
	// The conductance in Dendrify's equations, where scale_g makes it
	// another than the spec's g: the number add_params takes.
	eff := slices.ContainsFunc(res, func(r pipeline.PathwayResult) bool { return !slices.Equal(r.GNS, r.GEffNS) })
	effHead := ""
	if eff {
		effHead = "g_eff_nS\t"
	}
	// The peak conductance, where a rise-decay receptor without scale_g
	// peaks at another value than its g (far below it with a short
	// t_rise, above with a slow one): what a recorded peak conductance
	// compares with. To 4 digits: JSON has it round-trip.
	peak := slices.ContainsFunc(res, func(r pipeline.PathwayResult) bool { return peakIsNotG(r.GNS, r.GPeakNS) })
	if peak {
		effHead += "g_peak_nS\t"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "#\tpathway\tat\trecord\tg_nS\t%shold_mV\tbaseline_mV\tpsp_mV\tpeak_ms\trise_ms\thalf_ms\tdSpike\t\n", effHead)
	for _, r := range res {
		hold := "-"
		if r.HoldingMV != nil {
			hold = fmt.Sprintf("%.2f", *r.HoldingMV)
		}
		gs := gl(r.GNS)
		if eff {
			gs += "\t" + gl(r.GEffNS)
		}
		if peak {
			gs += "\t" + joinG(r.GPeakNS, 4)
		}
		if r.Error != "" {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t-\tfailed\t-\t-\t-\t-\t\n",
				r.Pathway, s.Pathways[r.Pathway].Label(), r.Compartment, r.Record, gs, hold)
			continue
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%.4f\t%.6f\t%.3f\t%s\t%s\t%v\t\n",
			r.Pathway, s.Pathways[r.Pathway].Label(), r.Compartment, r.Record, gs, hold,
			r.BaselineMV, r.PSPMV, r.TimeToPeakMS, optMS(r.Rise1090MS), optMS(r.HalfWidthMS), r.DSpikeFired)
	}
	tw.Flush()
}

func optMS(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.3f", *v)
}

// writeTraceCSV writes the voltage of every compartment at every sample:
// columns time_ms, V_<comp>_mV, ... for one pathway; with several
// pathways (which share the clock) the voltage columns are named
// p<index>_V_<comp>_mV.
func writeTraceCSV(path string, res []pipeline.PathwayResult) error {
	return writeFileAtomic(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		head := []string{"time_ms"}
		for _, r := range res {
			for _, c := range r.Trace.Compartments {
				name := "V_" + c + "_mV"
				if len(res) > 1 {
					name = fmt.Sprintf("p%d_%s", r.Pathway, name)
				}
				head = append(head, name)
			}
		}
		if err := cw.Write(head); err != nil {
			return err
		}
		t0 := res[0].Trace
		n := len(t0.VMV[t0.Compartments[0]])
		row := make([]string, 0, len(head))
		for k := 0; k < n; k++ {
			row = append(row[:0], strconv.FormatFloat(float64(k)*t0.DtMS, 'g', -1, 64))
			for _, r := range res {
				for _, c := range r.Trace.Compartments {
					row = append(row, strconv.FormatFloat(r.Trace.VMV[c][k], 'g', -1, 64))
				}
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	})
}

// writeFileAtomic writes an output file (figures, exports, traces)
// atomically, readable by everyone.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	return pipeline.WriteFileAtomic(path, 0o644, write)
}
