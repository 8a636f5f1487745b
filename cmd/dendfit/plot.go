package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"gonum.org/v1/plot/vg"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/pipeline"
	"github.com/dendfit/dendfit/pipeline/plot"
	"github.com/dendfit/dendfit/sim/spec"
)

func init() { extraCommands = append(extraCommands, newPlotCmd) }

// plotOptions are the flags of every plot subcommand.
type plotOptions struct {
	out           string
	width, height float64 // cm
	title         string
	experiment    string
	run           int64
	pathways      []string
	pathway       string // figures of one pathway
	// trace
	g            string
	fitted       bool
	compartments []string
	tMin, tMax   string // time window
	// curve
	yScale string
	// heatmap
	x, y string
}

// oneString is a string flag that may be given once: a figure of one
// pathway refuses a second --pathway instead of drawing the last.
type oneString string

func (o *oneString) String() string { return string(*o) }
func (o *oneString) Type() string   { return "string" }
func (o *oneString) Set(v string) error {
	if *o != "" {
		return fmt.Errorf("given twice (%q, then %q): this figure shows one pathway", string(*o), v)
	}
	*o = oneString(v)
	return nil
}

// onePathway is --pathway of a figure of one pathway, as a selection.
func (o *plotOptions) onePathway() []string {
	if o.pathway == "" {
		return nil
	}
	return []string{o.pathway}
}

func (o *plotOptions) addCommon(cmd *cobra.Command, defaultWidthCM float64) {
	f := cmd.Flags()
	f.StringVarP(&o.out, "output", "o", "", "figure file; .png or .svg (required)")
	f.Float64Var(&o.width, "width", 0, fmt.Sprintf("figure width in cm (default %g)", defaultWidthCM))
	f.Float64Var(&o.height, "height", 0, "figure height in cm (default 10)")
	f.StringVar(&o.title, "title", "", "the figure's title instead of the one it makes (a heat map adds its notes: the red line's target, grey cells)")
	_ = cmd.MarkFlagRequired("output")
}

func (o *plotOptions) addRun(cmd *cobra.Command, runHelp string) {
	f := cmd.Flags()
	f.StringVarP(&o.experiment, "experiment", "e", "", "experiment name: its newest finished sweep (default: the database's one experiment)")
	f.Int64Var(&o.run, "run", 0, runHelp)
}

func newPlotCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:         "plot",
		Annotations: writesFileOnly,
		Short:       "Draw traces, PSP-g curves and heat maps as PNG or SVG",
		Long: `plot draws one figure into the file given with -o; its extension (.png or
.svg) chooses the format. Pathways are named pre->post (channels), axes
carry units.`,
	}
	cmd.AddCommand(newPlotTraceCmd(g), newPlotCurveCmd(g), newPlotHeatmapCmd(g))
	return cmd
}

func newPlotTraceCmd(g *globals) *cobra.Command {
	o := &plotOptions{}
	cmd := &cobra.Command{
		Use:   "trace SPEC",
		Short: "Voltage of every compartment for one pathway's PSP",
		Long: `trace simulates one pathway of SPEC with every compartment's voltage kept and
draws them against time, with the presynaptic spike marked and the PSP at
the record compartment annotated. The conductance is the spec's, --g (the
first receptor's; the others keep their ratio), or with --fitted the newest
recorded fit of the experiment in the database (its g, and its time
constants after a kinetics fit). --t-min and --t-max zoom the time axis
(the voltage axis fits what is shown), for a fast PSP in a long run.`,
		Example: `  dendfit plot trace experiments/cortex-paired-recordings.yaml -p 'L5TTPC->L5TTPC' --fitted -o ttpc.png
  dendfit plot trace experiments/l23-demo.yaml --g '2.5 nS' --compartment soma --compartment dend -o trace.svg
  dendfit plot trace experiments/l23-demo.yaml --t-min 8 --t-max '60 ms' --title 'L2/3 EPSP' -o zoom.png`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runPlotTrace(cmd.Context(), g, o, args[0]) },
	}
	o.addCommon(cmd, float64(plot.DefaultWidth/vg.Centimeter))
	f := cmd.Flags()
	f.VarP((*oneString)(&o.pathway), "pathway", "p", "the pathway: index (0-based), pre->post or pre->post@compartment (default 0)")
	f.StringVar(&o.g, "g", "", `first receptor's conductance, e.g. "2.5 nS" (a bare number is nS)`)
	f.BoolVar(&o.fitted, "fitted", false, "use the newest recorded fit of the experiment (--db)")
	f.Var(newListFlag(&o.compartments), "compartment", "compartments to draw (default all); repeatable")
	f.StringVar(&o.tMin, "t-min", "", `start of the time axis, e.g. "8 ms" (a bare number is ms; default 0)`)
	f.StringVar(&o.tMax, "t-max", "", `end of the time axis, e.g. "40 ms" (a bare number is ms; default the run's end); the voltage axis fits what is shown`)
	return cmd
}

// timeMS reads a time flag, with its unit or as a bare number of ms; ""
// is 0.
func timeMS(flag, s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		var si float64
		if si, err = spec.ParseQuantity(s, spec.Time); err != nil {
			return 0, usageError{fmt.Errorf("--%s %q: want a time such as \"20 ms\" (a bare number is ms)", flag, s)}
		}
		v = si / 1e-3
	}
	if v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, usageError{fmt.Errorf("--%s %q: want a time of 0 or more", flag, s)}
	}
	return v, nil
}

func newPlotCurveCmd(g *globals) *cobra.Command {
	o := &plotOptions{}
	cmd := &cobra.Command{
		Use:   "curve",
		Short: "PSP amplitude against g, one line per pathway",
		Long: `curve draws |PSP| against the first receptor's g from a recorded run: by
default the newest finished sweep of --experiment, or the run --run (a
sweep, or a fit whose evaluations are the points). Each pathway's target is
a dashed line and its newest fitted g a ring (a cross if it did not
converge). The g axis is logarithmic when the sweep's is; --y-scale auto
makes |PSP| logarithmic with it.`,
		Example: `  dendfit plot curve --experiment cortex-paired-recordings -o curve.png
  dendfit plot curve --run 4 --pathway 0 --pathway 3 --y-scale linear -o curve.svg`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error { return runPlotCurve(cmd.Context(), g, o) },
	}
	o.addCommon(cmd, float64(plot.CurveWidth/vg.Centimeter))
	o.addRun(cmd, "run id (a sweep, or a fit's evaluations)")
	cmd.Flags().VarP(newListFlag(&o.pathways), "pathway", "p", "pathways to draw (default all): index, pre->post or pre->post@compartment; repeatable")
	cmd.Flags().StringVar(&o.yScale, "y-scale", "auto", "auto, linear or log")
	return cmd
}

func newPlotHeatmapCmd(g *globals) *cobra.Command {
	o := &plotOptions{}
	cmd := &cobra.Command{
		Use:   "heatmap",
		Short: "PSP over two sweep axes, with the target contour",
		Long: `heatmap draws |PSP| of one pathway over two axes of a recorded sweep (g,
t_decay, t_rise) with a colour bar and the target PSP as a contour. When the
sweep has all three axes, the slice nearest the pathway's own value of the
third is drawn and named in the title. The axes default to the first two
the sweep has, in the order g, t_decay, t_rise.`,
		Example: `  dendfit plot heatmap --experiment l23-demo --x g --y t_decay -o heat.png`,
		Args:    exactArgs(0),
		RunE:    func(cmd *cobra.Command, args []string) error { return runPlotHeatmap(cmd.Context(), g, o) },
	}
	o.addCommon(cmd, float64(plot.DefaultWidth/vg.Centimeter))
	o.addRun(cmd, "run id (a sweep over two axes or more)")
	f := cmd.Flags()
	f.VarP((*oneString)(&o.pathway), "pathway", "p", "the pathway: index (0-based), pre->post or pre->post@compartment (default 0)")
	f.StringVar(&o.x, "x", "", "x axis: g, t_decay or t_rise")
	f.StringVar(&o.y, "y", "", "y axis: g, t_decay or t_rise")
	return cmd
}

// size returns the figure size from --width and --height, in cm.
func (o *plotOptions) size() (w, h vg.Length, err error) {
	// 0 is the default; below 2 cm no axis fits.
	ok := func(cm float64) bool { return cm == 0 || cm >= 2 && cm <= 200 }
	for _, f := range []struct {
		name string
		cm   float64
	}{{"--width", o.width}, {"--height", o.height}} {
		if !ok(f.cm) {
			return 0, 0, usageError{fmt.Errorf("%s %g: want 2 to 200 cm (0: the default)", f.name, f.cm)}
		}
	}
	return vg.Length(o.width) * vg.Centimeter, vg.Length(o.height) * vg.Centimeter, nil
}

// writeFigure writes f to o.out in the format its extension names.
func (o *plotOptions) writeFigure(g *globals, f *plot.Figure) error {
	format, err := plot.FormatOf(o.out)
	if err != nil {
		return usageError{err}
	}
	if err := writeFileAtomic(o.out, func(w io.Writer) error { return f.Write(w, format) }); err != nil {
		return err
	}
	g.notef("wrote %s", o.out)
	return nil
}

// onePathway resolves --pathway to a single index (default 0); why says
// why one only ("this figure shows one pathway").
func onePathway(s *spec.Spec, sel []string, why string) (int, error) {
	idx, err := selectPathways(s, sel)
	if err != nil {
		return 0, err
	}
	switch {
	case len(idx) == 0:
		return 0, nil
	case len(idx) > 1:
		var which []string
		for _, i := range idx {
			// What tells them apart: the tag, a holding.
			p := s.Pathways[i]
			d := fmt.Sprintf("%d (%s at %s, tag %s", i, p.Label(), p.Compartment, p.Tag)
			if p.Hold {
				d += fmt.Sprintf(", held at %g mV", p.Holding/1e-3)
			}
			which = append(which, d+")")
		}
		return 0, usageError{fmt.Errorf("--pathway: %s; %s name %s: give one index, or pre->post@compartment where their compartments differ", why, strings.Join(sel, ", "), strings.Join(which, ", "))}
	}
	return idx[0], nil
}

// joinIndexes writes pathway indexes as "0" or "0, 3".
func joinIndexes(idx []int) string {
	s := make([]string, len(idx))
	for i, v := range idx {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ", ")
}

// parseG reads --g: a conductance with its unit, or a bare number of nS.
func parseG(s string) (float64, error) {
	v, ok := conductanceNS(s)
	if !ok || v == 0 {
		return 0, usageError{fmt.Errorf("--g %q: want a positive conductance such as \"2.5 nS\"", s)}
	}
	// As in a spec: it ran, and failed as numerically unstable.
	if v*1e-9 > spec.MaxConductance {
		return 0, usageError{fmt.Errorf("--g %q is %.6g nS, above %g S, far beyond any conductance of these models: check the unit (a bare number is nS)", s, v, spec.MaxConductance)}
	}
	return v, nil
}

// conductanceNS reads a conductance flag, with its unit or as a bare
// number of nS; ok is false unless it is finite and not negative. NaN and
// Inf, which ParseFloat takes, are refused: a NaN g plotted the spec's own
// g, a NaN bound matched nothing.
func conductanceNS(s string) (nS float64, ok bool) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		var si float64
		if si, err = spec.ParseQuantity(s, spec.Conductance); err != nil {
			return 0, false
		}
		v = si / 1e-9
	}
	return v, v >= 0 && !math.IsInf(v, 0)
}

func runPlotTrace(ctx context.Context, g *globals, o *plotOptions, path string) error {
	if o.fitted && o.g != "" {
		return usageError{errors.New("--g and --fitted: give one")}
	}
	if _, err := plot.FormatOf(o.out); err != nil {
		return usageError{err}
	}
	w, h, err := o.size()
	if err != nil {
		return err
	}
	tMin, err := timeMS("t-min", o.tMin)
	if err != nil {
		return err
	}
	tMax, err := timeMS("t-max", o.tMax)
	if err != nil {
		return err
	}
	if tMax > 0 && tMax <= tMin {
		return usageError{fmt.Errorf("--t-max %s is not after --t-min %s", o.tMax, o.tMin)}
	}
	s, err := spec.Load(path)
	if err != nil {
		return err
	}
	i, err := onePathway(s, o.onePathway(), "this figure shows one pathway")
	if err != nil {
		return err
	}
	gNS, note := 0.0, ""
	var fitted *db.Fit
	switch {
	case o.g != "":
		if gNS, err = parseG(o.g); err != nil {
			return err
		}
	case o.fitted:
		d, err := g.openRead(ctx)
		if err != nil {
			return err
		}
		defer d.Close()
		fp, err := plot.FittedFor(ctx, d, s, i)
		switch {
		case errors.Is(err, plot.ErrNoFit):
			return fmt.Errorf("--fitted: experiment %q has no recorded fit in %s: run 'dendfit fit %s' first", s.Name, g.db, path)
		case errors.Is(err, plot.ErrNoFitOfPathway):
			return fmt.Errorf("--fitted: no fit in %s is of pathway %d (%s) as %s defines it (any fit of it is of a spec whose cell, constants, protocol or receptors differ); run 'dendfit fit %s' first",
				g.db, i, s.Pathways[i].Label(), path, path)
		case err != nil:
			return err
		}
		for _, n := range fp.Notes {
			g.notef("note: %s", n)
		}
		for _, w := range fp.Warnings {
			g.warnf("%s", w)
		}
		note, fitted = fp.Title, fp.Fit
	}
	var pr *pipeline.PathwayResult
	if fitted != nil {
		pr, err = plot.SimulateFitted(ctx, s, i, fitted)
	} else {
		pr, err = plot.SimulateAt(ctx, s, i, gNS)
	}
	if err != nil {
		return err
	}
	f, err := plot.Trace(pr, &plot.TraceOptions{Compartments: o.compartments, Label: plot.PathwayTitle(s, i), Note: note, Title: o.title,
		TMinMS: tMin, TMaxMS: tMax, Width: w, Height: h})
	if err != nil {
		return usageError{err}
	}
	return o.writeFigure(g, f)
}

// runFigure is what a figure of a recorded run is drawn from.
type runFigure struct {
	d    *db.DB
	run  *db.Run
	s    *spec.Spec
	ran  string // the command whose work run holds (a reproduction's original's)
	w, h vg.Length
	// partial: a sweep that did not finish, or a reproduction of one,
	// holds a part of its grid; the title says so.
	partial bool
}

// title is t, marked when the run holds a part of its grid.
func (f *runFigure) title(t string) string {
	if f.partial {
		return t + ", part of the grid"
	}
	return t
}

// plotRun checks the figure's options, opens the database and finds the
// run to draw and its spec: --run, or the newest finished sweep of
// --experiment (falling back, when allowFit, to the newest fit's
// evaluations). The caller closes its d.
func plotRun(ctx context.Context, g *globals, o *plotOptions, allowFit bool) (*runFigure, error) {
	if _, err := plot.FormatOf(o.out); err != nil {
		return nil, usageError{err}
	}
	w, h, err := o.size()
	if err != nil {
		return nil, err
	}
	if o.run != 0 && o.experiment != "" {
		return nil, usageError{errors.New("give --experiment NAME or --run ID, not both")}
	}
	d, err := g.openRead(ctx)
	if err != nil {
		return nil, err
	}
	if err := defaultExperiment(ctx, d, g.db, &o.experiment, o.run, true); err != nil {
		d.Close()
		return nil, err
	}
	var run *db.Run
	if o.run != 0 {
		run, err = d.Run(ctx, o.run)
	} else {
		run, err = plot.NewestSweep(ctx, d, o.experiment)
		// What became of the runs that did not finish, when none did.
		hint := func(first string) string {
			figure := "heatmap"
			if allowFit {
				figure = "curve"
			}
			h, herr := plot.UnfinishedHint(ctx, d, o.experiment, figure)
			if herr != nil || h == "" {
				return " (" + first + ")"
			}
			return "; " + h
		}
		if err == nil && run == nil && allowFit {
			run, _, err = plot.NewestFits(ctx, d, o.experiment)
			if errors.Is(err, plot.ErrNoFit) {
				err = fmt.Errorf("experiment %q: no finished sweep nor recorded fit in %s%s", o.experiment, g.db, hint("run 'dendfit sweep' or 'dendfit fit' first"))
			}
			if err == nil {
				g.notef("note: experiment %q has no finished sweep; drawing the evaluations of fit run %d", o.experiment, run.ID)
			}
		}
		if err == nil && run == nil {
			err = fmt.Errorf("experiment %q: no finished sweep in %s%s", o.experiment, g.db, hint("run 'dendfit sweep' first"))
		}
		if n := plot.ShardNote(run); err == nil && n != "" {
			g.notef("note: drawing sweep run %d, %s", run.ID, n)
		}
	}
	var s *spec.Spec
	var ran string
	if err == nil {
		s, err = plot.SpecOf(ctx, d, run)
	}
	if err == nil {
		// A reproduction draws as what it reran.
		ran, err = pipeline.RanCommand(ctx, d, run)
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	n := plot.UnfinishedNote(run)
	partial := n != "" && ran == db.CommandSweep
	if partial {
		g.notef("note: %s", n)
	}
	return &runFigure{d: d, run: run, s: s, ran: ran, w: w, h: h, partial: partial}, nil
}

func runPlotCurve(ctx context.Context, g *globals, o *plotOptions) error {
	fig, err := plotRun(ctx, g, o, true)
	if err != nil {
		return err
	}
	defer fig.d.Close()
	d, run, s, ran := fig.d, fig.run, fig.s, fig.ran
	if ran == db.CommandSweep && !s.Sweep.G.Given() {
		return usageError{fmt.Errorf("run %d swept no g axis: a PSP-g curve needs one (plot heatmap draws the axes it swept)", run.ID)}
	}
	idx, err := selectPathways(s, o.pathways)
	if err != nil {
		return err
	}
	var fits []db.Fit
	if ran == db.CommandFit {
		fits, err = d.Fits(ctx, db.FitFilter{RunID: run.ID})
	} else {
		// The fits that hold for the swept spec's pathways.
		var applied map[int]pipeline.AppliedFit
		applied, _, err = plot.FitsFor(ctx, d, s)
		fits = pipeline.FitRows(applied)
	}
	if err != nil {
		return err
	}
	series, err := plot.RunCurveSeries(ctx, d, run.ID, s, fits)
	if err != nil {
		return err
	}
	if idx != nil {
		keep := map[int]bool{}
		for _, i := range idx {
			keep[i] = true
		}
		var sel []plot.Series
		for _, se := range series {
			if keep[se.Pathway] {
				sel = append(sel, se)
			}
		}
		series = sel
	}
	good, failed := 0, 0
	for _, se := range series {
		good, failed = good+len(se.GNS), failed+se.Failed
	}
	why := ""
	if failed > 0 {
		why = fmt.Sprintf(": its %d point%s failed ('dendfit query points --run %d --status failed' shows why)", failed, plural(failed), run.ID)
	}
	if good == 0 && idx != nil {
		return fmt.Errorf("run %d has no successful point of pathway %s to draw%s", run.ID, joinIndexes(idx), why)
	}
	if good == 0 {
		return fmt.Errorf("run %d has no successful point to draw%s", run.ID, why)
	}
	logX := ran == db.CommandSweep && s.Sweep.G.Log
	if ran == db.CommandFit {
		logX = true // evaluations bracket g geometrically
	}
	title := fmt.Sprintf("%s, %s run %d", s.Name, run.Command, run.ID)
	if o.title != "" {
		title = o.title
	}
	f, err := plot.Curve(series, &plot.CurveOptions{Title: fig.title(title),
		LogX: logX, YScale: o.yScale, Width: fig.w, Height: fig.h})
	if err != nil {
		return usageError{err}
	}
	return o.writeFigure(g, f)
}

func runPlotHeatmap(ctx context.Context, g *globals, o *plotOptions) error {
	fig, err := plotRun(ctx, g, o, false)
	if err != nil {
		return err
	}
	defer fig.d.Close()
	d, run, s := fig.d, fig.run, fig.s
	// A fit's evaluations lie on no grid: only a sweep, or a reproduction
	// of one, makes a heat map.
	if fig.ran != db.CommandSweep {
		return usageError{fmt.Errorf("run %d is a %s run: a heat map needs a sweep over two axes", run.ID, run.Command)}
	}
	i, err := onePathway(s, o.onePathway(), "this figure shows one pathway")
	if err != nil {
		return err
	}
	swept := plot.SweptAxes(s)
	if len(swept) < 2 {
		only := "no axis"
		if len(swept) == 1 {
			only = swept[0] + " only"
		}
		return usageError{fmt.Errorf("run %d swept %s: a heat map needs a sweep over two of g, t_decay and t_rise", run.ID, only)}
	}
	x, y := plot.HeatAxes(s, o.x, o.y)
	hp, err := plot.ReadHeatPoints(ctx, d, run.ID, i)
	if err != nil {
		return err
	}
	hd, err := hp.Heatmap(s, i, x, y)
	if err != nil {
		return usageError{err}
	}
	hd.Title = fig.title(hd.Title + fmt.Sprintf(" (run %d)", run.ID))
	if o.title != "" {
		hd.Title = fig.title(o.title)
	}
	f, err := plot.Heatmap(hd, &plot.HeatmapOptions{Width: fig.w, Height: fig.h})
	if err != nil {
		return err
	}
	return o.writeFigure(g, f)
}
