package plot

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/pipeline"
	"github.com/dendfit/dendfit/sim"
	"github.com/dendfit/dendfit/sim/spec"
)

// Reader is what figures read from the database. *db.DB implements it.
type Reader interface {
	Experiments(ctx context.Context) ([]db.Experiment, error)
	Run(ctx context.Context, id int64) (*db.Run, error)
	Runs(ctx context.Context, f db.RunFilter) ([]db.Run, error)
	EachPoint(ctx context.Context, f db.PointFilter, fn func(*db.Point) error) error
	Fits(ctx context.Context, f db.FitFilter) ([]db.Fit, error)
}

// SpecOf parses the spec text that run r recorded.
func SpecOf(ctx context.Context, rd Reader, r *db.Run) (*spec.Spec, error) {
	s, err := pipeline.RunSpec(ctx, rd, r)
	if err != nil {
		return nil, fmt.Errorf("plot: %w", err)
	}
	return s, nil
}

// ErrNoFit is returned by NewestFits when an experiment has no recorded fit.
var ErrNoFit = pipeline.ErrNoFit

// NewestFits returns the newest fit run of the named experiment that
// recorded fits, finished or not (pipeline.NewestFitRun), and its fits in
// pathway order. The error wraps ErrNoFit if there is none.
func NewestFits(ctx context.Context, rd Reader, experiment string) (*db.Run, []db.Fit, error) {
	run, fits, err := pipeline.NewestFitRun(ctx, rd, experiment)
	if err != nil {
		return nil, nil, fmt.Errorf("plot: %w", err)
	}
	return run, fits, nil
}

// FitsFor is pipeline.FitsFor: the newest fit of each pathway of s.
func FitsFor(ctx context.Context, rd Reader, s *spec.Spec) (map[int]pipeline.AppliedFit, *db.Run, error) {
	return pipeline.FitsFor(ctx, rd, s)
}

// NewestSweep returns the newest finished sweep run of the named
// experiment, one of the whole grid if there is one (a shard's run holds
// a part of it), or nil if there is none.
func NewestSweep(ctx context.Context, rd Reader, experiment string) (*db.Run, error) {
	runs, err := rd.Runs(ctx, db.RunFilter{Experiment: experiment, Command: db.CommandSweep, Status: db.StatusDone, Limit: 1, WholeGridFirst: true})
	if err != nil || len(runs) == 0 {
		return nil, err
	}
	return &runs[0], nil
}

// ShardNote says, for a sweep run of one shard of the grid, that it holds
// a part of it (NewestSweep takes one when no run of the whole grid was
// recorded: a merge with shards missing); "" for any other run.
func ShardNote(run *db.Run) string {
	if run == nil || run.ShardN <= 1 {
		return ""
	}
	return fmt.Sprintf("shard %d of %d, a part of the grid: 'dendfit merge' of the shards makes a run of it all", run.ShardK, run.ShardN)
}

// UnfinishedNote says, for a run that did not finish or a reproduction of
// such a sweep, that it holds only a part of the grid; "" for any other.
func UnfinishedNote(run *db.Run) string {
	switch {
	case run == nil:
		return ""
	case run.Status != db.StatusDone && db.IsUnionRun(run):
		// A merge's union of shards never ran: it lacks the shards not
		// merged yet.
		u, _ := db.UnionOf(run)
		return fmt.Sprintf("run %d is the union 'dendfit merge' made of the shards of a sweep in %d, and lacks some: it holds what the shards merged hold, a part of the grid; merge the missing shards to complete it", run.ID, u.UnionOf.ShardN)
	case run.Status == db.StatusRunning:
		return fmt.Sprintf("run %d is still being recorded: it holds the points recorded so far, a part of the grid", run.ID)
	case run.Status == db.StatusInterrupted:
		return fmt.Sprintf("run %d was interrupted (its process ended before it finished): it holds the points recorded before it stopped, a part of the grid", run.ID)
	case run.Status != db.StatusDone:
		return fmt.Sprintf("run %d ended %s: it holds the points recorded before it stopped, a part of the grid", run.ID, run.Status)
	case pipeline.ReranPartial(run):
		return fmt.Sprintf("run %d reproduces a sweep that did not finish: it holds the points that one recorded, a part of the grid", run.ID)
	}
	return ""
}

// UnfinishedHint says, for an experiment with no finished sweep nor fit,
// what became of its newest sweep and fit runs and how to go on: "sweep
// run 4 was cancelled: ...", with the plot command of figure (curve,
// heatmap) that draws what a sweep recorded. It is "" when the
// experiment has no such run.
func UnfinishedHint(ctx context.Context, rd Reader, experiment, figure string) (string, error) {
	var hints []string
	for _, c := range []string{db.CommandSweep, db.CommandFit} {
		runs, err := rd.Runs(ctx, db.RunFilter{Experiment: experiment, Command: c, Limit: 1})
		if err != nil {
			return "", err
		}
		if len(runs) == 0 || runs[0].Status == db.StatusDone {
			continue
		}
		r := runs[0]
		what, ok := endedAs[r.Status]
		switch {
		case r.Status == db.StatusRunning && !db.ClaimsKnown():
			what = "is recorded as running (it may have been killed: this system cannot tell)"
		case !ok:
			what = "ended " + r.Status
		}
		h := fmt.Sprintf("%s run %d %s", c, r.ID, what)
		if r.Status == db.StatusRunning && db.ClaimsKnown() {
			hints = append(hints, h)
			continue
		}
		if c == db.CommandFit {
			hints = append(hints, h+": 'dendfit fit' with its spec fits again")
			continue
		}
		h += fmt.Sprintf(": 'dendfit sweep --resume=%d%s' with its spec finishes it", r.ID, pipeline.ShardArg(r.ShardK, r.ShardN))
		// Drawn only if it recorded anything.
		some := false
		if err := rd.EachPoint(ctx, db.PointFilter{RunID: r.ID, Limit: 1}, func(*db.Point) error { some = true; return nil }); err != nil {
			return "", err
		}
		if some {
			h += fmt.Sprintf(", and 'dendfit plot %s --run %d' draws what it recorded", figure, r.ID)
		}
		hints = append(hints, h)
	}
	return strings.Join(hints, "; "), nil
}

// endedAs says what became of a run of each status but done.
var endedAs = map[string]string{
	db.StatusRunning:     "is still running",
	db.StatusInterrupted: "was interrupted",
	db.StatusCancelled:   "was cancelled",
	db.StatusFailed:      "failed",
}

// SweptAxes returns the axes s's sweep gives, in the order g, t_decay,
// t_rise.
func SweptAxes(s *spec.Spec) []string {
	var swept []string
	for _, a := range []struct {
		name string
		ax   spec.Axis
	}{{AxisG, s.Sweep.G}, {AxisTDecay, s.Sweep.TDecay}, {AxisTRise, s.Sweep.TRise}} {
		if a.ax.Given() {
			swept = append(swept, a.name)
		}
	}
	return swept
}

// HeatAxes returns the axes of a heat map of s's sweep: x and y as given,
// an empty one the first swept axis the other is not.
func HeatAxes(s *spec.Spec, x, y string) (string, string) {
	for _, name := range SweptAxes(s) {
		if x == "" && name != y {
			x = name
		} else if y == "" && name != x {
			y = name
		}
	}
	return x, y
}

// SimulateAt runs pathway i of s with its trace, the first receptor's g
// set to gNS (nS) and the others keeping their ratio to it; gNS <= 0 keeps
// the spec's g.
func SimulateAt(ctx context.Context, s *spec.Spec, i int, gNS float64) (*pipeline.PathwayResult, error) {
	return simulateWith(ctx, s, i, func(rs []sim.Receptor) ([]sim.Receptor, error) {
		if gNS > 0 {
			return pipeline.ScaleG(nil, rs, gNS*1e-9), nil
		}
		return rs, nil
	})
}

// FittedPathway is the fit of one pathway that a figure draws as fitted
// (FittedFor), with what its reader should be told.
type FittedPathway struct {
	Run *db.Run
	Fit *db.Fit
	// Title is the figure's note: the run, whether it converged, the
	// kinetics it found.
	Title string
	// Notes say why an older fit run is drawn; Warnings what makes the
	// drawing doubtful (another target than s's, no convergence).
	Notes, Warnings []string
}

// ErrNoFitOfPathway is wrapped by FittedFor when no recorded fit applies
// to the pathway as s defines it.
var ErrNoFitOfPathway = errors.New("no applicable fit")

// FittedFor finds the fit of pathway i of s to draw (pipeline.FitsFor:
// the newest fit of that pathway as s defines it), and says why when it is
// not the experiment's newest fit run's. It wraps ErrNoFit when the
// experiment has no fit, and ErrNoFitOfPathway when none applies.
func FittedFor(ctx context.Context, rd Reader, s *spec.Spec, i int) (*FittedPathway, error) {
	fits, newest, err := FitsFor(ctx, rd, s)
	if err != nil {
		return nil, err
	}
	label := fmt.Sprintf("pathway %d (%s)", i, s.Pathways[i].Label())
	af, ok := fits[i]
	switch {
	case newest == nil:
		return nil, fmt.Errorf("experiment %q: %w", s.Name, ErrNoFit)
	case !ok || len(af.Fit.GFitNS) == 0:
		return nil, fmt.Errorf("%s: %w (any fit of it is of a spec whose cell, constants, protocol or receptors differ)", label, ErrNoFitOfPathway)
	}
	fp := &FittedPathway{Run: af.Run, Fit: &af.Fit}
	if af.Run.ID != newest.ID {
		// Passed over: the newest run did not fit the pathway (fit
		// --pathway), or fitted another version of it.
		why := fmt.Sprintf("the newest fit run, %d, did not fit pathway %d", newest.ID, i)
		if nf, err := rd.Fits(ctx, db.FitFilter{RunID: newest.ID}); err == nil && slices.ContainsFunc(nf, func(f db.Fit) bool { return f.Pathway == i }) {
			why = fmt.Sprintf("the newest fit run, %d, is of a spec whose cell, constants, protocol or receptors differ", newest.ID)
		}
		fp.Notes = append(fp.Notes, fmt.Sprintf("drawing fit run %d: %s", af.Run.ID, why))
	}
	if ft, st := af.Spec.Pathways[af.RunPathway].TargetPSP, s.Pathways[i].TargetPSP; ft != st {
		fp.Warnings = append(fp.Warnings, fmt.Sprintf("%s: fit run %d targeted a PSP of %.4g mV; the spec targets %.4g mV", label, af.Run.ID, ft/1e-3, st/1e-3))
	}
	fp.Title = fmt.Sprintf("fitted, run %d", af.Run.ID)
	if !af.Fit.Converged {
		fp.Title = fmt.Sprintf("fit run %d did NOT converge: %s", af.Run.ID, af.Fit.Outcome)
		fp.Warnings = append(fp.Warnings, fmt.Sprintf("%s: the fit did not converge (%s); drawing its best g", label, af.Fit.Outcome))
	}
	if k := KineticsNote(&af.Fit); k != "" {
		fp.Title += "; " + k
	}
	return fp, nil
}

// SimulateFitted runs pathway i of s with its trace at what fit f found:
// its conductances and, after a kinetics fit, its time constants.
func SimulateFitted(ctx context.Context, s *spec.Spec, i int, f *db.Fit) (*pipeline.PathwayResult, error) {
	return simulateWith(ctx, s, i, func(rs []sim.Receptor) ([]sim.Receptor, error) {
		return pipeline.FittedReceptors(rs, f)
	})
}

// KineticsNote names the time constants a kinetics fit found ("t_decay
// 4.03 ms, t_rise 0.2 ms"), for a figure's title; "" after a fit of g
// alone.
func KineticsNote(f *db.Fit) string {
	var parts []string
	if f != nil && f.TDecayMS != nil {
		parts = append(parts, fmt.Sprintf("t_decay %.3g ms", *f.TDecayMS))
	}
	if f != nil && f.TRiseMS != nil {
		parts = append(parts, fmt.Sprintf("t_rise %.3g ms", *f.TRiseMS))
	}
	return strings.Join(parts, ", ")
}

// simulateWith runs pathway i of s with its trace, its spec receptors
// changed by set.
func simulateWith(ctx context.Context, s *spec.Spec, i int, set func([]sim.Receptor) ([]sim.Receptor, error)) (*pipeline.PathwayResult, error) {
	if i < 0 || i >= len(s.Pathways) {
		return nil, fmt.Errorf("plot: pathway %d: the spec has %s", i, s.PathwayIndexes())
	}
	fail := func(err error) (*pipeline.PathwayResult, error) {
		return nil, fmt.Errorf("plot: pathway %d (%s): %w", i, s.Pathways[i].Label(), err)
	}
	setup, rs, err := s.Setup(i)
	if err != nil {
		return fail(err)
	}
	if rs, err = set(rs); err != nil {
		return fail(err)
	}
	pr, err := pipeline.SimulateOne(ctx, s, i, setup, rs, true)
	if err != nil {
		return fail(err)
	}
	return pr, nil
}

// PathwayLabel names a recorded pathway as spec.Pathway.Label does:
// "pre->post (AMPA+NMDA)".
func PathwayLabel(pre, post string, channels []string) string {
	s := pre + "->" + post + " ("
	for i, c := range channels {
		if i > 0 {
			s += "+"
		}
		s += c
	}
	return s + ")"
}

func pointLabel(p *db.Point) string {
	ch := make([]string, len(p.Receptors))
	for i, r := range p.Receptors {
		ch[i] = r.Channel
	}
	return PathwayLabel(p.Pre, p.Post, ch)
}

// kinetics is a point's first-receptor time constants, ms (-1: no rise).
type kinetics struct{ decay, rise float64 }

func kineticsOf(p *db.Point) kinetics {
	k := kinetics{decay: p.TDecayMS, rise: -1}
	if p.TRiseMS != nil {
		k.rise = *p.TRiseMS
	}
	return k
}

// CurveSeries turns the good points of a sweep or fit run into one series
// per pathway, in pathway order, counting its failed ones (Series.Failed). When the run swept kinetics too, each
// series is the slice nearest the pathway's own kinetics in s (nil s: the
// first slice). Fits, if given, add each pathway's target and fitted
// point; s, if given, supplies labels and targets.
func CurveSeries(s *spec.Spec, points []db.Point, fits []db.Fit) []Series {
	var c curveGather
	for i := range points {
		c.add(&points[i])
	}
	return c.series(s, fits)
}

// RunCurveSeries is CurveSeries of the points of run runID, read one at a
// time: it keeps of each good point its g, |PSP| and kinetics (a sweep of
// a million points takes tens of MB, not the gigabytes of its Points),
// and counts the failed ones.
func RunCurveSeries(ctx context.Context, rd Reader, runID int64, s *spec.Spec, fits []db.Fit) ([]Series, error) {
	var c curveGather
	err := rd.EachPoint(ctx, db.PointFilter{RunID: runID}, func(p *db.Point) error {
		c.add(p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c.series(s, fits), nil
}

// curveGather keeps what CurveSeries needs of each good point.
type curveGather struct {
	byPath map[int]*pathCurve
	failed map[int]int // failed points by pathway, not drawn
}

// pathCurve is a pathway's label (from its first point) and its points.
type pathCurve struct {
	label string
	pts   []curvePoint
}

type curvePoint struct {
	g, psp float64 // nS, |PSP| mV
	k      kinetics
}

func (c *curveGather) add(p *db.Point) {
	if c.byPath == nil {
		c.byPath = map[int]*pathCurve{}
	}
	pc := c.byPath[p.Pathway]
	if pc == nil {
		pc = &pathCurve{label: pointLabel(p)}
		c.byPath[p.Pathway] = pc
	}
	if p.Status == db.PointFailed {
		if c.failed == nil {
			c.failed = map[int]int{}
		}
		c.failed[p.Pathway]++
		return
	}
	pc.pts = append(pc.pts, curvePoint{g: p.GNS, psp: math.Abs(p.PSPMV), k: kineticsOf(p)})
}

// series has a Series for every pathway with a point, good or failed: one
// whose every point failed (an AdEx cell the synapse fires at every g
// swept) has no curve, but its legend says so.
func (c *curveGather) series(s *spec.Spec, fits []db.Fit) []Series {
	order := slices.Sorted(maps.Keys(c.byPath))
	fitOf := map[int]*db.Fit{}
	for i := range fits {
		fitOf[fits[i].Pathway] = &fits[i]
	}
	var out []Series
	for _, i := range order {
		pc := c.byPath[i]
		se := Series{Pathway: i, Label: pc.label, Recorded: len(pc.pts), Failed: c.failed[i]}
		if s != nil && i < len(s.Pathways) {
			se.Label = s.Pathways[i].Label()
			se.TargetMV = s.Pathways[i].TargetPSP / 1e-3
		}
		f := fitOf[i]
		if f != nil {
			se.TargetMV = f.TargetPSPMV
		}
		plural := map[bool]string{true: "", false: "s"}[se.Failed == 1]
		if len(pc.pts) == 0 {
			se.Note = fmt.Sprintf("(all %d point%s failed: no curve)", se.Failed, plural)
			out = append(out, se)
			continue
		}
		want := pc.pts[0].k
		if s != nil && i < len(s.Pathways) && len(s.Pathways[i].Receptors) > 0 {
			r := s.Pathways[i].Receptors[0]
			want = kinetics{decay: r.TauDecay / 1e-3, rise: -1}
			if r.TauRise > 0 {
				want.rise = r.TauRise / 1e-3
			}
		}
		best, bestD := kinetics{}, math.Inf(1)
		sliced := false // the run swept the kinetics: one slice is drawn
		for _, p := range pc.pts {
			if d := kinDist(p.k, want); d < bestD {
				best, bestD = p.k, d
			}
			sliced = sliced || kinDist(p.k, pc.pts[0].k) > 1e-9
		}
		for _, p := range pc.pts {
			if p.k == best {
				se.GNS = append(se.GNS, p.g)
				se.PSPMV = append(se.PSPMV, p.psp)
			}
		}
		sortSeries(&se)
		var notes []string
		if sliced {
			notes = append(notes, best.String())
		}
		if f != nil {
			if len(f.GFitNS) > 0 {
				se.Fit = &FitMark{GNS: f.GFitNS[0], PSPMV: math.Abs(f.PSPAtFitMV), Converged: f.Converged}
			}
			// A fit's g belongs to its own time constants (a kinetics
			// fit's, or the spec's for an amplitude fit), which the drawn
			// curve may not have: both are then named, as "fit τd 3"
			// alone read as the curve's.
			// (Within rounding: a linear axis gives 0.19999999999999998.)
			if fk := fitKinetics(f, want); kinDist(fk, best) > 1e-9 {
				notes = []string{"curve " + best.String(), "fit ring " + fk.String()}
			}
		}
		// Failed points have no PSP: the curve stops where they begin
		// (an AdEx cell that fires), which the legend says.
		if se.Failed > 0 {
			notes = append(notes, fmt.Sprintf("%d failed point%s not drawn", se.Failed, plural))
		}
		if len(notes) > 0 {
			se.Note = "(" + strings.Join(notes, "; ") + ")"
		}
		out = append(out, se)
	}
	// Pathways that differ only by compartment or tag share a label; the
	// legend tells them apart by their compartment, as --pathway names
	// them (pre->post@compartment), and by index where that is shared too.
	seen := map[string]int{}
	for _, se := range out {
		seen[se.Label]++
	}
	for k := range out {
		if seen[out[k].Label] > 1 {
			out[k].Label += apart(s, out[k].Pathway)
		}
	}
	return out
}

// PathwayTitle is pathway i of s as figures and reports title it: its
// label (pre->post (receptors)), told apart from pathways of s that share
// it by its compartment (and index where that is shared too).
func PathwayTitle(s *spec.Spec, i int) string {
	l := s.Pathways[i].Label()
	for j, q := range s.Pathways {
		if j != i && q.Label() == l {
			return l + apart(s, i)
		}
	}
	return l
}

// apart tells pathway i of s from others of its label: " @compartment",
// and its index too when another such pathway has that compartment (" #i"
// alone when s does not define it).
func apart(s *spec.Spec, i int) string {
	idx := fmt.Sprintf(" #%d", i)
	if s == nil || i < 0 || i >= len(s.Pathways) {
		return idx
	}
	p := s.Pathways[i]
	n := 0
	for _, q := range s.Pathways {
		if q.Label() == p.Label() && q.Compartment == p.Compartment {
			n++
		}
	}
	if n > 1 {
		return " @" + p.Compartment + idx
	}
	return " @" + p.Compartment
}

// String names the time constants as a legend does, short (a long note
// widened the legend until the plot was a third of the figure): "τd 2 ms"
// and, with a rise, "τd 60, τr 5 ms".
func (k kinetics) String() string {
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }
	if k.rise >= 0 {
		return "τd " + num(k.decay) + ", τr " + num(k.rise) + " ms"
	}
	return "τd " + num(k.decay) + " ms"
}

// fitKinetics is the first receptor's time constants at fit f: those a
// kinetics fit found, else (an amplitude fit) the spec's, k.
func fitKinetics(f *db.Fit, k kinetics) kinetics {
	if f.TDecayMS != nil {
		k.decay = *f.TDecayMS
	}
	if f.TRiseMS != nil {
		k.rise = *f.TRiseMS
	}
	return k
}

func kinDist(a, b kinetics) float64 {
	d := math.Abs(math.Log((a.decay + 1e-12) / (b.decay + 1e-12)))
	if (a.rise < 0) != (b.rise < 0) {
		return d + 100
	}
	if a.rise > 0 && b.rise > 0 {
		d += math.Abs(math.Log(a.rise / b.rise))
	}
	return d
}

func sortSeries(s *Series) {
	idx := make([]int, len(s.GNS))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return s.GNS[idx[a]] < s.GNS[idx[b]] })
	g, v := make([]float64, len(idx)), make([]float64, len(idx))
	for i, j := range idx {
		g[i], v[i] = s.GNS[j], s.PSPMV[j]
	}
	s.GNS, s.PSPMV = g, v
}

// Sweep axis names for HeatmapFromPoints.
const (
	AxisG      = "g"
	AxisTDecay = "t_decay"
	AxisTRise  = "t_rise"
)

// Axes are the sweep axes a heat map can use.
var Axes = []string{AxisG, AxisTDecay, AxisTRise}

// heatPoint is what a heat map needs of a point: its value on each sweep
// axis (in the order of Axes) and its |PSP|.
type heatPoint struct {
	axes    [3]float64
	hasRise bool // the first receptor has a t_rise
	psp     float64
	failed  bool
}

func newHeatPoint(p *db.Point) heatPoint {
	h := heatPoint{axes: [3]float64{p.GNS, p.TDecayMS, 0}, psp: math.Abs(p.PSPMV), failed: p.Status == db.PointFailed}
	if p.TRiseMS != nil {
		h.axes[2], h.hasRise = *p.TRiseMS, true
	}
	return h
}

// axisValue is h's value on the named axis, false for none.
func (h *heatPoint) axisValue(name string) (float64, bool) {
	i, ok := axisIndex(name)
	if !ok || name == AxisTRise && !h.hasRise {
		return 0, false
	}
	return h.axes[i], true
}

// gridValues adds to have (the values a sweep's points hold on axis
// name) every value of s's grid on that axis, as a sweep records it, when
// have's are all the grid's: the points are then of that grid.
func gridValues(s *spec.Spec, name string, have map[float64]bool) {
	if s == nil {
		return
	}
	var a spec.Axis
	unit := 1e-3 // ms
	switch name {
	case AxisG:
		a, unit = s.Sweep.G, 1e-9 // nS
	case AxisTDecay:
		a = s.Sweep.TDecay
	case AxisTRise:
		a = s.Sweep.TRise
	}
	if !a.Given() {
		return
	}
	grid := map[float64]bool{}
	for _, v := range a.Values() {
		grid[v/unit] = true // as a sweep records it
	}
	for v := range have {
		if !grid[v] {
			return
		}
	}
	maps.Copy(have, grid)
}

func heatAxis(s *spec.Spec, name string) HeatAxis {
	switch name {
	case AxisG:
		return HeatAxis{Name: "g, first receptor", Unit: "nS", Log: s != nil && s.Sweep.G.Log}
	case AxisTDecay:
		return HeatAxis{Name: "τ decay, first receptor", Unit: "ms", Log: s != nil && s.Sweep.TDecay.Log}
	default:
		return HeatAxis{Name: "τ rise, first receptor", Unit: "ms", Log: s != nil && s.Sweep.TRise.Log}
	}
}

// HeatmapFromPoints builds the heat map of pathway i over the sweep axes
// x and y (AxisG, AxisTDecay, AxisTRise) from a sweep run's points. When
// the run swept the third axis too, the slice nearest the pathway's own
// value in s is shown and named in the title. s supplies the label, the
// target and which axes are logarithmic.
func HeatmapFromPoints(s *spec.Spec, points []db.Point, i int, x, y string) (*HeatmapData, error) {
	var h HeatPoints
	for j := range points {
		if p := &points[j]; p.Pathway == i {
			h.add(p)
		}
	}
	return h.Heatmap(s, i, x, y)
}

// HeatPoints are a pathway's points as a heat map needs them: their values
// on the sweep axes and their |PSP|.
type HeatPoints struct {
	label string // from the first point
	pts   []heatPoint
}

// ReadHeatPoints reads pathway i's points in run runID one at a time.
func ReadHeatPoints(ctx context.Context, rd Reader, runID int64, i int) (*HeatPoints, error) {
	h := &HeatPoints{}
	err := rd.EachPoint(ctx, db.PointFilter{RunID: runID, Pathway: &i}, func(p *db.Point) error {
		h.add(p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

func (h *HeatPoints) add(p *db.Point) {
	if len(h.pts) == 0 {
		h.label = pointLabel(p)
	}
	h.pts = append(h.pts, newHeatPoint(p))
}

// Len is the number of points read.
func (h *HeatPoints) Len() int { return len(h.pts) }

// Heatmap is HeatmapFromPoints of these points, pathway i's.
func (h *HeatPoints) Heatmap(s *spec.Spec, i int, x, y string) (*HeatmapData, error) {
	if x == y {
		return nil, fmt.Errorf("plot: heatmap: x and y are both %s", x)
	}
	for _, a := range []string{x, y} {
		if _, ok := axisIndex(a); !ok {
			return nil, fmt.Errorf("plot: heatmap: unknown axis %q; want g, t_decay or t_rise", a)
		}
	}
	return heatmap(s, h.pts, h.label, i, x, y)
}

// heatmap builds the heat map of pathway i from its points pts, labelled
// label when s does not name it.
func heatmap(s *spec.Spec, pts []heatPoint, label string, i int, x, y string) (*HeatmapData, error) {
	third := ""
	for _, a := range Axes {
		if a != x && a != y {
			third = a
		}
	}
	if len(pts) == 0 {
		return nil, fmt.Errorf("plot: heatmap: pathway %d has no points in this run", i)
	}
	// The slice of the third axis nearest the pathway's own value.
	thirdVals := map[float64]bool{}
	for j := range pts {
		if v, ok := pts[j].axisValue(third); ok {
			thirdVals[v] = true
		}
	}
	var at *float64
	if len(thirdVals) > 1 {
		want := math.NaN()
		if s != nil && i < len(s.Pathways) && len(s.Pathways[i].Receptors) > 0 {
			r := s.Pathways[i].Receptors[0]
			switch third {
			case AxisG:
				want = r.G / 1e-9
			case AxisTDecay:
				want = r.TauDecay / 1e-3
			case AxisTRise:
				want = r.TauRise / 1e-3
			}
		}
		best, bestD := 0.0, math.Inf(1)
		for v := range thirdVals {
			d := math.Abs(math.Log(v / want))
			if math.IsNaN(d) {
				d = v // no reference: the smallest value
			}
			if d < bestD || (d == bestD && v < best) {
				best, bestD = v, d
			}
		}
		at = &best
	}
	xs, ys := map[float64]bool{}, map[float64]bool{}
	for j := range pts {
		if at != nil {
			if v, _ := pts[j].axisValue(third); v != *at {
				continue
			}
		}
		// Each axis's values are counted on their own, so that the error
		// below says which axis has too few.
		if xv, ok := pts[j].axisValue(x); ok {
			xs[xv] = true
		}
		if yv, ok := pts[j].axisValue(y); ok {
			ys[yv] = true
		}
	}
	if len(xs) < 2 || len(ys) < 2 {
		return nil, fmt.Errorf("plot: heatmap: pathway %d was swept over %d %s and %d %s values; a heat map needs two axes with at least 2 values (run a sweep with both)",
			i, len(xs), x, len(ys), y)
	}
	// A part of the grid (a shard, a stopped sweep) lacks whole rows or
	// columns: from the spec's grid they are drawn, grey, rather than
	// left out (a shard's map, a quarter of the points, looked most of
	// the grid).
	gridValues(s, x, xs)
	gridValues(s, y, ys)
	d := &HeatmapData{X: heatAxis(s, x), Y: heatAxis(s, y)}
	d.X.Values, d.Y.Values = sortedKeys(xs), sortedKeys(ys)
	ix, iy := index(d.X.Values), index(d.Y.Values)
	d.Z = make([][]float64, len(d.Y.Values))
	for r := range d.Z {
		d.Z[r] = make([]float64, len(d.X.Values))
		for c := range d.Z[r] {
			d.Z[r][c] = math.NaN()
		}
	}
	for j := range pts {
		p := &pts[j]
		if at != nil {
			if v, _ := p.axisValue(third); v != *at {
				continue
			}
		}
		xv, okx := p.axisValue(x)
		yv, oky := p.axisValue(y)
		if !okx || !oky || p.failed {
			continue
		}
		d.Z[iy[yv]][ix[xv]] = p.psp
	}
	d.Title = label
	if s != nil && i < len(s.Pathways) {
		d.Title = PathwayTitle(s, i)
		d.TargetMV = s.Pathways[i].TargetPSP / 1e-3
	}
	if at != nil {
		a := heatAxis(s, third)
		d.Title += fmt.Sprintf(", %s = %.3g %s", a.Name, *at, a.Unit)
	}
	return d, nil
}

func axisIndex(name string) (int, bool) {
	for i, a := range Axes {
		if a == name {
			return i, true
		}
	}
	return 0, false
}

func sortedKeys(m map[float64]bool) []float64 {
	out := make([]float64, 0, len(m))
	for v := range m {
		out = append(out, v)
	}
	sort.Float64s(out)
	return out
}

func index(v []float64) map[float64]int {
	m := make(map[float64]int, len(v))
	for i, x := range v {
		m[x] = i
	}
	return m
}
