package plot

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"sort"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// CurveWidth is the default width of a curve, which has a wide legend.
const CurveWidth = 20 * vg.Centimeter

// Series is one pathway's PSP amplitude against conductance.
type Series struct {
	Pathway int    // index in the spec
	Label   string // pathway label, spec.Pathway.Label()
	// Note, when not empty, is the legend's second line: which slice of a
	// run that swept kinetics is drawn, and a kinetics fit's own.
	Note string
	// Recorded is the number of good points the pathway has in the run, of
	// every kinetics (GNS holds those of one).
	Recorded int
	// Failed is the number of its failed points (no PSP), not drawn.
	Failed int
	GNS    []float64 // first receptor's g, nS
	PSPMV  []float64 // |PSP| at the record compartment, mV
	// TargetMV is the pathway's target |PSP|, mV; 0 for none.
	TargetMV float64
	// Fit is the fitted point, nil if the pathway was not fitted.
	Fit *FitMark
}

// FitMark is a fitted point on a curve.
type FitMark struct {
	GNS, PSPMV float64
	Converged  bool
}

// CurveOptions configures Curve. A nil *CurveOptions means the defaults.
type CurveOptions struct {
	Title string
	// LogX draws g on a logarithmic axis (as for a log sweep).
	LogX bool
	// XLabel defaults to "g, first receptor (nS)".
	XLabel string
	// YScale is "auto" (the default: logarithmic when LogX, so that the
	// near-proportional growth of small PSPs is a straight line), "linear"
	// or "log".
	YScale        string
	Width, Height vg.Length
}

// Curve draws |PSP| against g, one line per series, with each target as a
// dashed line in the series' colour and each fitted point as a ring
// (a cross when the fit did not converge).
func Curve(series []Series, opt *CurveOptions) (*Figure, error) {
	if opt == nil {
		opt = &CurveOptions{}
	}
	if len(series) == 0 {
		return nil, fmt.Errorf("plot: curve: no series")
	}
	xl := opt.XLabel
	if xl == "" {
		xl = "g, first receptor (nS)"
	}
	p := newPlot("", xl, "PSP amplitude |ΔV| (mV)")
	logY := opt.LogX
	switch opt.YScale {
	case "", "auto":
	case "log":
		logY = true
	case "linear":
		logY = false
	default:
		return nil, fmt.Errorf("plot: curve: y scale %q; want auto, linear or log", opt.YScale)
	}
	xmin, xmax := math.Inf(1), math.Inf(-1)
	ymin, ymax := math.Inf(1), 0.0
	for _, s := range series {
		for i, g := range s.GNS {
			if opt.LogX && g <= 0 {
				continue
			}
			xmin, xmax = math.Min(xmin, g), math.Max(xmax, g)
			ymax = math.Max(ymax, s.PSPMV[i])
			if s.PSPMV[i] > 0 {
				ymin = math.Min(ymin, s.PSPMV[i])
			}
		}
		if s.Fit != nil && (!opt.LogX || s.Fit.GNS > 0) {
			xmin, xmax = math.Min(xmin, s.Fit.GNS), math.Max(xmax, s.Fit.GNS)
		}
		ymax = math.Max(ymax, s.TargetMV)
		if s.TargetMV > 0 {
			ymin = math.Min(ymin, s.TargetMV)
		}
	}
	if math.IsInf(xmin, 1) {
		failed := 0
		for _, s := range series {
			failed += s.Failed
		}
		if failed > 0 {
			return nil, fmt.Errorf("plot: curve: every point failed (%d, no PSP): no point to draw", failed)
		}
		return nil, fmt.Errorf("plot: curve: no point to draw")
	}
	if math.IsInf(ymin, 1) {
		logY = false
	}
	if opt.LogX {
		p.X.Scale = gplot.LogScale{}
		p.X.Tick.Marker = logTicks{}
	}
	if logY {
		p.Y.Scale = gplot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
	}
	// A curve that repeats one drawn before it (two pathways of the same
	// cell and synapse) is dashed, so that the first shows through it.
	var drawn [][]plotter.XY
	same := func(a, b []plotter.XY) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if math.Abs(a[i].X-b[i].X) > 1e-9*math.Abs(b[i].X) || math.Abs(a[i].Y-b[i].Y) > 1e-6*math.Abs(b[i].Y) {
				return false
			}
		}
		return true
	}
	// A target is a dashed line in its pathway's colour.
	addTarget := func(s Series, col color.Color) {
		if s.TargetMV > 0 {
			tl := hline(s.TargetMV, xmin, xmax)
			tl.Color, tl.Width = col, vg.Points(0.8)
			tl.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			p.Add(tl)
		}
	}
	for _, s := range series {
		col := seriesColor(s.Pathway) // a pathway's colour whatever else is drawn
		xy := make(plotter.XYs, 0, len(s.GNS))
		for j, g := range s.GNS {
			if (opt.LogX && g <= 0) || (logY && s.PSPMV[j] <= 0) || math.IsNaN(s.PSPMV[j]) {
				continue
			}
			xy = append(xy, plotter.XY{X: g, Y: s.PSPMV[j]})
		}
		if len(s.GNS) == 0 && s.Failed > 0 {
			// Every point failed: no curve, but a key that says so.
			key := plotter.NewFunction(func(float64) float64 { return 0 })
			key.Color, key.Width, key.Dashes = col, vg.Points(1.3), []vg.Length{vg.Points(1), vg.Points(3)}
			p.Legend.Add(s.Label+"\n"+s.Note, key)
			addTarget(s, col)
			continue
		}
		sort.Slice(xy, func(a, b int) bool { return xy[a].X < xy[b].X })
		dense := len(xy) > 4*thinBins
		if dense {
			drawnX := func(x float64) float64 { return x }
			if opt.LogX {
				drawnX = math.Log
			}
			xy = thin(xy, thinBins, drawnX)
		}
		l, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			return nil, fmt.Errorf("plot: curve %s: %w", s.Label, err)
		}
		l.Color, l.Width = col, vg.Points(1.3)
		pts.Color, pts.Shape, pts.Radius = col, draw.CircleGlyph{}, vg.Points(1.4)
		for _, d := range drawn {
			if same(xy, d) {
				l.Dashes = []vg.Length{vg.Points(6), vg.Points(6)}
				break
			}
		}
		drawn = append(drawn, xy)
		name := s.Label
		if s.Fit != nil && !s.Fit.Converged {
			name += " - NOT CONVERGED"
		}
		if s.Note != "" {
			name += "\n" + s.Note
		}
		// A dot a point helps read a sweep of tens of points; thousands
		// only thicken the line.
		if dense {
			p.Add(l)
			p.Legend.Add(name, l)
		} else {
			p.Add(l, pts)
			p.Legend.Add(name, l, pts)
		}
		addTarget(s, col)
		// A fit's mark where a log axis cannot put it (an unfittable
		// pathway's PSP of 0 mV, a g of 0) is left out: gonum panics on it.
		if s.Fit != nil && !(opt.LogX && !(s.Fit.GNS > 0)) && !(logY && !(s.Fit.PSPMV > 0)) && !math.IsNaN(s.Fit.PSPMV) {
			f, err := plotter.NewScatter(plotter.XYs{{X: s.Fit.GNS, Y: s.Fit.PSPMV}})
			if err != nil {
				return nil, fmt.Errorf("plot: curve %s: %w", s.Label, err)
			}
			f.Color, f.Radius = col, vg.Points(4.5)
			f.Shape = draw.RingGlyph{}
			if !s.Fit.Converged {
				f.Shape = draw.CrossGlyph{}
			}
			p.Add(f)
		}
	}
	// Generic keys for the marks drawn (a key for a mark the figure has
	// not read as missing data).
	if slices.ContainsFunc(series, func(s Series) bool { return s.TargetMV > 0 }) {
		tkey := hline(0, 0, 1)
		tkey.Color = grey
		tkey.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		p.Legend.Add("target PSP", tkey)
	}
	if slices.ContainsFunc(series, func(s Series) bool { return s.Fit != nil && s.Fit.Converged }) {
		ring, _ := plotter.NewScatter(plotter.XYs{{}})
		ring.Shape, ring.Radius, ring.Color = draw.RingGlyph{}, vg.Points(4.5), grey
		p.Legend.Add("fitted g", ring)
	}
	if slices.ContainsFunc(series, func(s Series) bool { return s.Fit != nil && !s.Fit.Converged }) {
		cross, _ := plotter.NewScatter(plotter.XYs{{}})
		cross.Shape, cross.Radius, cross.Color = draw.CrossGlyph{}, vg.Points(4.5), grey
		p.Legend.Add("best g of a fit that did not converge", cross)
	}
	p.Y.Min, p.Y.Max = 0, ymax*1.08
	if logY {
		p.Y.Min, p.Y.Max = ymin/1.3, ymax*1.3
	}
	if opt.LogX {
		p.X.Min, p.X.Max = xmin/1.15, xmax*1.15
	}
	w, h := opt.Width, opt.Height
	if w <= 0 {
		w = CurveWidth
	}
	w, h = size(w, h)
	return &Figure{Width: w, Height: h, draw: func(c draw.Canvas) { drawWithLegend(c, p, opt.Title) }}, nil
}

// thinBins is the number of slices of the drawn x range that a dense
// curve is thinned to (thin): a thousand is finer than the pixels of any
// figure width we draw.
const thinBins = 1000

// thin keeps of xy (sorted by X) the first, last, lowest and highest point
// of each of bins equal slices of the drawn x range (drawnX maps X to it):
// a line through them covers the pixels the line through all of them
// covers, with at most 4*bins points. A sweep of a million points drew a
// 119 MB report otherwise.
func thin(xy plotter.XYs, bins int, drawnX func(float64) float64) plotter.XYs {
	if len(xy) == 0 {
		return xy
	}
	lo, hi := drawnX(xy[0].X), drawnX(xy[len(xy)-1].X)
	bin := func(x float64) int {
		if !(hi > lo) {
			return 0
		}
		return min(int(float64(bins)*(drawnX(x)-lo)/(hi-lo)), bins-1)
	}
	out := make(plotter.XYs, 0, 4*bins)
	for i := 0; i < len(xy); {
		b, j := bin(xy[i].X), i
		lowest, highest := i, i
		for j+1 < len(xy) && bin(xy[j+1].X) == b {
			j++
			if xy[j].Y < xy[lowest].Y {
				lowest = j
			}
			if xy[j].Y > xy[highest].Y {
				highest = j
			}
		}
		keep := []int{i, lowest, highest, j}
		sort.Ints(keep)
		for k, x := range keep {
			if k == 0 || x != keep[k-1] {
				out = append(out, xy[x])
			}
		}
		i = j + 1
	}
	return out
}

// logTicks marks every decade (labelled) and the 2..9 multiples between
// them (unlabelled), and labels 2 and 5 multiples when the range spans
// less than two decades; less than a factor of 3 gets linear ticks.
type logTicks struct{}

// Ticks implements plot.Ticker.
func (logTicks) Ticks(lo, hi float64) []gplot.Tick {
	if lo <= 0 || hi <= lo {
		return nil
	}
	few := math.Log10(hi/lo) < 2
	narrow := math.Log10(hi/lo) < 0.5 // less than about a factor of 3
	var ts []gplot.Tick
	labelled := 0
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		d := math.Pow(10, e)
		for m := 1; m <= 9; m++ {
			v := float64(m) * d
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := gplot.Tick{Value: v}
			if m == 1 || (few && (m == 2 || m == 5)) || narrow {
				t.Label = fmt.Sprintf("%.6g", v) // 0.6, not 0.6000000000000001
				labelled++
			}
			ts = append(ts, t)
		}
	}
	// Within less than a factor of 3 (or one multiple, 1.01..1.09): the
	// linear ticks, which a log axis shows just as well over so short a
	// range, and which label its whole width (0.68..1.36 had labels from
	// 0.7 to 1 only, the fitted g at 1.34 unreadable).
	if narrow || labelled < 2 {
		return linTicks{}.Ticks(lo, hi)
	}
	return ts
}
