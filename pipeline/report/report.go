package report

import (
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/fit"
	"github.com/dendfit/dendfit/pipeline"
	"github.com/dendfit/dendfit/pipeline/plot"
	"github.com/dendfit/dendfit/sim/spec"
)

// Report is an experiment's calibration as the HTML report shows it.
type Report struct {
	Experiment  string
	Description string
	SpecText    string
	SpecSHA256  string
	Generated   time.Time
	// Fit is the newest fit run with fits, finished or not
	// (pipeline.NewestFitRun); nil if none.
	Fit *db.Run
	// Sweep is the newest finished sweep run; nil if none.
	Sweep    *db.Run
	Pathways []Pathway
	// Runs are the runs the report shows, for provenance.
	Runs []db.Run
}

// Pathway is one pathway's row of the calibration table and its figures.
type Pathway struct {
	Index int
	Label string
	// Fit is the pathway's fit, nil if it was not fitted.
	Fit *db.Fit
	// Converged is false when the pathway was fitted and did not converge.
	Converged bool
	// HasTarget is true when the spec gives the pathway a target_psp,
	// fitted or not.
	HasTarget bool
	// Unfitted says why a pathway with a target has no fit
	// (pipeline.WhyUnfitted, or that the run reported did not fit it).
	Unfitted string
	// Held says whether the PSP is measured at a holding potential,
	// HoldingMV, rather than at rest.
	Held      bool
	HoldingMV float64
	// TraceSVG and CurveSVG are inline SVG; empty with a note when the
	// figure could not be drawn.
	TraceSVG, CurveSVG   template.HTML
	TraceNote, CurveNote string
	// HeatmapSVG is |PSP| over two axes of a sweep that has them, with
	// the target's contour; empty (with a note when it could not be
	// drawn) otherwise.
	HeatmapSVG  template.HTML
	HeatmapNote string
}

// Options configures Build. A nil *Options means the defaults.
type Options struct {
	// Now stamps the report; zero means time.Now.
	Now time.Time
	// FitRun, when not 0, is the fit run to report: its spec and its
	// fits alone (a pathway it did not fit is shown unfitted), as export
	// --run writes them. 0 means the newest fit run, with each pathway it
	// did not fit taken from the newest earlier fit of it.
	FitRun int64
}

// ErrNothingRecorded is wrapped by Build when the experiment has neither a
// recorded fit (pipeline.NewestFitRun) nor a finished sweep in the
// database.
var ErrNothingRecorded = errors.New("no fit or finished sweep recorded")

// Build reads the newest fit (opt.FitRun: that one) and sweep of the
// named experiment from rd,
// simulates every pathway's trace at its fitted g (the spec's g when it has
// none) and draws the figures.
func Build(ctx context.Context, rd plot.Reader, experiment string, opt *Options) (*Report, error) {
	if opt == nil {
		opt = &Options{}
	}
	r := &Report{Experiment: experiment, Generated: opt.Now}
	if r.Generated.IsZero() {
		r.Generated = time.Now()
	}
	var fits []db.Fit
	var err error
	if opt.FitRun != 0 {
		// The run names its experiment when the caller did not.
		if r.Fit, fits, err = fitRun(ctx, rd, experiment, opt.FitRun); err == nil {
			experiment, r.Experiment = r.Fit.Experiment, r.Fit.Experiment
		}
	} else {
		r.Fit, fits, err = plot.NewestFits(ctx, rd, experiment)
		if errors.Is(err, plot.ErrNoFit) {
			err = nil
		}
	}
	if err != nil {
		return nil, err
	}
	if r.Sweep, err = plot.NewestSweep(ctx, rd, experiment); err != nil {
		return nil, err
	}
	main := r.Fit
	if main == nil {
		main = r.Sweep
	}
	if main == nil {
		hint, err := plot.UnfinishedHint(ctx, rd, experiment, "curve")
		if err != nil {
			return nil, err
		}
		if hint != "" {
			hint = "; " + hint
		}
		return nil, fmt.Errorf("report: experiment %q: %w%s", experiment, ErrNothingRecorded, hint)
	}
	s, err := plot.SpecOf(ctx, rd, main)
	if err != nil {
		return nil, err
	}
	r.SpecText, r.SpecSHA256, r.Description = string(s.Text), s.SHA256, strings.TrimSpace(s.Description)
	for _, run := range []*db.Run{r.Fit, r.Sweep} {
		if run != nil {
			r.Runs = append(r.Runs, *run)
		}
	}
	// After 'fit --pathway' the newest fit run holds some pathways; the
	// others are shown with their earlier fits, and those runs listed.
	fittedBy := map[int]fitSource{}
	fitSpecOf := map[int64]*spec.Spec{}
	if r.Fit != nil {
		fitSpecOf[r.Fit.ID] = s
		for _, f := range fits {
			fittedBy[f.Pathway] = fitSource{r.Fit, f.Pathway}
		}
	}
	if r.Fit != nil && opt.FitRun == 0 {
		applied, err := pipeline.CalibrationsFor(ctx, rd, s)
		if err != nil {
			return nil, err
		}
		for _, p := range slices.Sorted(maps.Keys(applied)) {
			if af := applied[p]; fittedBy[p].run == nil {
				fits = append(fits, af.Fit)
				fittedBy[p] = fitSource{af.Run, af.RunPathway}
				if fitSpecOf[af.Run.ID] == nil {
					fitSpecOf[af.Run.ID] = af.Spec
					r.Runs = append(r.Runs, *af.Run)
				}
			}
		}
	}
	// Each run's curves, one a pathway, are gathered in one pass over its
	// points.
	var sweepSeries map[int]plot.Series
	var sweepSpec *spec.Spec
	if r.Sweep != nil {
		if sweepSpec, err = plot.SpecOf(ctx, rd, r.Sweep); err != nil {
			return nil, err
		}
		// The fits marked on the sweep's curves: those of pathways the two
		// specs define alike, at the sweep's index of each.
		var onSweep []db.Fit
		for _, f := range fits {
			if k := pipeline.PathwayIn(s, f.Pathway, sweepSpec); k >= 0 {
				f.Pathway = k
				onSweep = append(onSweep, f)
			}
		}
		if sweepSeries, err = runSeries(ctx, rd, r.Sweep.ID, sweepSpec, onSweep); err != nil {
			return nil, err
		}
	}
	// Each fit run's evaluations, as the curve of the pathways it fitted.
	slices.SortFunc(r.Runs, func(a, b db.Run) int { return cmp.Compare(a.ID, b.ID) })
	fitSeries := map[int64]map[int]plot.Series{}
	for id, fs := range fitSpecOf {
		// Each run's fits at its own index of their pathways.
		var own []db.Fit
		for _, f := range fits {
			if src := fittedBy[f.Pathway]; src.run.ID == id {
				f.Pathway = src.index
				own = append(own, f)
			}
		}
		if fitSeries[id], err = runSeries(ctx, rd, id, fs, own); err != nil {
			return nil, err
		}
	}
	fitOf := map[int]*db.Fit{}
	for i := range fits {
		fitOf[fits[i].Pathway] = &fits[i]
	}
	var unfitted []int
	for i, p := range s.Pathways {
		if p.TargetPSP > 0 && fitOf[i] == nil {
			unfitted = append(unfitted, i)
		}
	}
	why := map[int]string{}
	switch {
	case opt.FitRun != 0:
		for _, i := range unfitted {
			why[i] = fmt.Sprintf("fit run %d did not fit it", opt.FitRun)
		}
	case r.Fit != nil:
		if why, err = pipeline.WhyUnfitted(ctx, rd, s, unfitted); err != nil {
			return nil, err
		}
	}
	for i, p := range s.Pathways {
		pw := Pathway{Index: i, Label: plot.PathwayTitle(s, i), Fit: fitOf[i], Converged: true, HasTarget: p.TargetPSP > 0,
			Held: p.Hold, HoldingMV: p.Holding / 1e-3, Unfitted: why[i]}
		if pw.HasTarget && pw.Fit == nil && pw.Unfitted == "" {
			pw.Unfitted = "it was never fitted"
		}
		if pw.Fit != nil {
			pw.Converged = pw.Fit.Converged
		}
		src, fitted := fittedBy[i]
		if !fitted {
			src = fitSource{r.Fit, i}
		}
		fr := src.run
		if err := pw.drawTrace(ctx, s, fr); err != nil {
			return nil, err
		}
		inSweep, sweepIndex := false, -1
		var sw plot.Series
		if r.Sweep != nil {
			if sweepIndex = pipeline.PathwayIn(s, i, sweepSpec); sweepIndex >= 0 {
				sw, inSweep = sweepSeries[sweepIndex]
			}
		}
		var fs plot.Series
		inFit := false
		if fr != nil {
			fs, inFit = fitSeries[fr.ID][src.index]
		}
		// The sweep may be of an earlier text of the spec (the same model,
		// another target): the lines mark the target this report gives.
		targetMV := p.TargetPSP / 1e-3
		switch {
		case inSweep:
			sw.TargetMV = targetMV
			pw.drawCurve(sw, sweepSpec.Sweep.G.Log, sweepSource(r.Sweep))
		case inFit:
			src := fmt.Sprintf("the %d evaluations of fit run %d (no sweep recorded)", fs.Recorded, fr.ID)
			if fs.Recorded == 0 {
				src = fmt.Sprintf("the evaluations of fit run %d (no sweep recorded)", fr.ID)
			}
			pw.drawCurve(fs, true, src)
		default:
			pw.CurveNote = ": no sweep or fit evaluations recorded for this pathway"
		}
		if sweepIndex >= 0 && len(plot.SweptAxes(sweepSpec)) >= 2 {
			if err := pw.drawHeatmap(ctx, rd, r.Sweep, sweepSpec, sweepIndex, targetMV); err != nil {
				return nil, err
			}
		}
		r.Pathways = append(r.Pathways, pw)
	}
	return r, nil
}

// runSeries is the curve of each pathway of run runID with a good point.
func runSeries(ctx context.Context, rd plot.Reader, runID int64, s *spec.Spec, fits []db.Fit) (map[int]plot.Series, error) {
	series, err := plot.RunCurveSeries(ctx, rd, runID, s, fits)
	if err != nil {
		return nil, err
	}
	out := map[int]plot.Series{}
	for _, se := range series {
		out[se.Pathway] = se
	}
	return out, nil
}

func (pw *Pathway) drawTrace(ctx context.Context, s *spec.Spec, fitRun *db.Run) error {
	note := "at the spec's g (not fitted)"
	if f := pw.Fit; f != nil && len(f.GFitNS) > 0 {
		note = fmt.Sprintf("at the fitted g of run %d", fitRun.ID)
		if k := plot.KineticsNote(f); k != "" {
			note = fmt.Sprintf("at the fitted g and kinetics (%s) of run %d", k, fitRun.ID)
		}
		if !f.Converged {
			// The best g it tried (and time constants, for a kinetics
			// fit), as plot trace --fitted draws it.
			k := ""
			if kn := plot.KineticsNote(f); kn != "" {
				k = " and kinetics (" + kn + ")"
			}
			note = fmt.Sprintf("at the best g%s tried by run %d, which did NOT converge (%s)", k, fitRun.ID, f.Outcome)
		}
	}
	pr, err := plot.SimulateFitted(ctx, s, pw.Index, pw.Fit)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		pw.TraceNote = "could not simulate: " + err.Error()
		return nil
	}
	short := "fitted"
	if pw.Fit == nil {
		short = "spec g"
	} else if !pw.Converged {
		short = "NOT CONVERGED"
	}
	f, err := plot.Trace(pr, &plot.TraceOptions{Label: pw.Label, Note: short})
	if err == nil {
		var svg string
		if svg, err = f.SVG(); err == nil {
			pw.TraceSVG = template.HTML(svg) // gonum escapes every text
		}
	}
	pw.TraceNote = note
	if err != nil {
		pw.TraceNote = "could not draw the trace: " + err.Error()
	}
	return nil
}

// drawHeatmap draws the heat map of pathway k of sweep run run (of spec
// s), which is pw's, with its target line at targetMV (0: none): |PSP|
// over the first two axes, a third sliced at the pathway's own value, as
// plot heatmap does.
func (pw *Pathway) drawHeatmap(ctx context.Context, rd plot.Reader, run *db.Run, s *spec.Spec, k int, targetMV float64) error {
	hp, err := plot.ReadHeatPoints(ctx, rd, run.ID, k)
	if err != nil || hp.Len() == 0 { // none: a shard without this pathway
		return err
	}
	x, y := plot.HeatAxes(s, "", "")
	hd, err := hp.Heatmap(s, k, x, y)
	var svg string
	if err == nil {
		hd.TargetMV = targetMV
		var f *plot.Figure
		if f, err = plot.Heatmap(hd, &plot.HeatmapOptions{Width: plot.DefaultWidth}); err == nil {
			svg, err = f.SVG()
		}
	}
	if err != nil {
		pw.HeatmapNote = "could not draw the heat map: " + err.Error()
		return nil
	}
	pw.HeatmapSVG = template.HTML(svg) // gonum escapes every text
	pw.HeatmapNote = "from " + sweepSource(run)
	return nil
}

// sweepSource names sweep run as a figure's source, and says when it is
// one shard's, a part of the grid.
func sweepSource(run *db.Run) string {
	src := fmt.Sprintf("sweep run %d", run.ID)
	if n := plot.ShardNote(run); n != "" {
		src += " (" + n + ")"
	}
	return src
}

func (pw *Pathway) drawCurve(series plot.Series, logX bool, source string) {
	if len(series.GNS) == 0 && series.Failed > 0 {
		pw.CurveNote = fmt.Sprintf(": none, as every point of %s failed (%d, no PSP)", source, series.Failed)
		return
	}
	f, err := plot.Curve([]plot.Series{series}, &plot.CurveOptions{LogX: logX, Width: plot.DefaultWidth})
	var svg string
	if err == nil {
		svg, err = f.SVG()
	}
	if err != nil {
		pw.CurveNote = ": could not draw the curve: " + err.Error()
		return
	}
	pw.CurveSVG = template.HTML(svg) // gonum escapes every text
	pw.CurveNote = " from " + source
}

//go:embed report.html.tmpl
var tmplText string

// tmpl is parsed on first use, not at every dendfit command's start.
var tmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Funcs(template.FuncMap{
		"gs": formatGs,
		"mv": func(v float64) string { return fmt.Sprintf("%.4g", v) },
		// The table gives amplitudes, as targets are: a fit's PSP is
		// recorded with its sign (an IPSP's negative).
		"amp":  func(v float64) string { return fmt.Sprintf("%.4g", math.Abs(v)) },
		"fine": fineCell,
		"kin":  kineticsCell,
		"time": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
		"endt": func(t *time.Time) string {
			if t == nil {
				return "-"
			}
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		},
		"dur": func(r db.Run) string {
			if r.EndedAt == nil {
				return "-"
			}
			return r.EndedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
		},
		"argv": func(a []string) string { return strings.Join(a, " ") },
		"rev": func(r db.Run) string {
			s := r.VCSRevision
			if s == "" {
				s = "unknown"
			}
			if r.VCSModified {
				s += " (modified)"
			}
			return s
		},
	}).Parse(tmplText))
})

// formatGs writes "AMPA 7.54 nS, NMDA 3.77 nS".
func formatGs(f *db.Fit) string {
	var parts []string
	for i, g := range f.GFitNS {
		ch := "?"
		if i < len(f.Receptors) {
			ch = f.Receptors[i]
		}
		parts = append(parts, fmt.Sprintf("%s %.4g nS", ch, g))
	}
	return strings.Join(parts, ", ")
}

// residuals reads a kinetics fit's residuals; none for a fit of g alone.
func residuals(f *db.Fit) []fit.Residual {
	var rs []fit.Residual
	if len(f.Residuals) > 0 && json.Unmarshal(f.Residuals, &rs) != nil {
		return nil
	}
	return rs
}

// kineticsCell shows what a kinetics fit found and how near each target
// it came: "t_decay 4.03 ms; half_width 73.1 ms (target 20 ms, +265%)".
func kineticsCell(f *db.Fit) string {
	var parts []string
	if k := plot.KineticsNote(f); k != "" {
		parts = append(parts, k)
	}
	for _, r := range residuals(f) {
		if r.Undefined {
			parts = append(parts, fmt.Sprintf("%s undefined (target %.4g ms)", r.Name, r.Target))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.4g ms (target %.4g ms, %s)", r.Name, r.Achieved, r.Target, r.Percent()))
	}
	return strings.Join(parts, "; ")
}

// fineCell shows the PSP at dt/10 and its relative difference.
func fineCell(f *db.Fit) string {
	if f.PSPFineDtMV == nil {
		return "-"
	}
	// Amplitudes, as the table's target and achieved PSP are.
	at, fine := math.Abs(f.PSPAtFitMV), math.Abs(*f.PSPFineDtMV)
	rel := 0.0
	if at > 0 {
		rel = (fine - at) / at * 100
	}
	return fmt.Sprintf("%.4g mV (%+.2g %%)", fine, rel)
}

// Unfitted counts the pathways with a target_psp and no fit to it.
func (r *Report) Unfitted() int {
	n := 0
	for _, p := range r.Pathways {
		if p.HasTarget && p.Fit == nil {
			n++
		}
	}
	return n
}

// Unconverged counts the fitted pathways that did not converge.
func (r *Report) Unconverged() int {
	n := 0
	for _, p := range r.Pathways {
		if !p.Converged {
			n++
		}
	}
	return n
}

// Warned counts the fitted pathways whose fit carries warnings.
func (r *Report) Warned() int {
	n := 0
	for _, p := range r.Pathways {
		if p.Fit != nil && len(p.Fit.Warnings) > 0 {
			n++
		}
	}
	return n
}

// WriteHTML writes the report as one self-contained HTML document.
func (r *Report) WriteHTML(w io.Writer) error {
	if err := tmpl().Execute(w, r); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// fitSource is the fit run a pathway's fit comes from, and the
// pathway's index in that run's spec (pipeline.AppliedFit.RunPathway):
// another than in the report's spec when the spec has moved it since.
type fitSource struct {
	run   *db.Run
	index int
}

// fitRun reads fit run id of experiment and its fits, refusing a run of
// another experiment or one that recorded no fit (a sweep).
func fitRun(ctx context.Context, rd plot.Reader, experiment string, id int64) (*db.Run, []db.Fit, error) {
	run, err := rd.Run(ctx, id)
	if err != nil {
		return nil, nil, fmt.Errorf("report: %w", err)
	}
	if experiment != "" && run.Experiment != experiment {
		return nil, nil, fmt.Errorf("report: run %d is of experiment %q, not %q", id, run.Experiment, experiment)
	}
	fits, err := rd.Fits(ctx, db.FitFilter{RunID: id})
	if err != nil {
		return nil, nil, fmt.Errorf("report: %w", err)
	}
	if len(fits) == 0 {
		return nil, nil, fmt.Errorf("report: run %d (%s) recorded no fits: give a fit run to --run (the report draws the experiment's newest sweep itself)", id, run.Command)
	}
	return run, fits, nil
}
