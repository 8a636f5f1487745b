package plot

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/dendfit/dendfit/pipeline"
)

// maxSamples bounds the vertices of a drawn voltage line.
const maxSamples = 1500

// TraceOptions selects what Trace draws. A nil *TraceOptions means the
// defaults.
type TraceOptions struct {
	// Compartments to draw, by name; nil means all, in the cell's order.
	Compartments []string
	// Label names the pathway in the title; default "pre->post".
	Label string
	// Note is appended to the title, e.g. "fitted" or "not converged".
	Note string
	// Title, when not empty, is the figure's title instead of the one
	// made of Label, the conductances, the holding and Note.
	Title string
	// TMinMS and TMaxMS bound the time axis (0 and 0: the whole run; a
	// TMaxMS of 0 is the run's end). The voltage axis fits what is in
	// the window, so that a fast PSP in a long run can be seen.
	TMinMS, TMaxMS float64
	// Width and Height default to DefaultWidth and DefaultHeight.
	Width, Height vg.Length
}

// Trace draws the membrane potential of the compartments of pr's cell
// against time, with the presynaptic spike marked and the PSP at the record
// compartment annotated (baseline, peak and amplitude). pr must carry a
// Trace (pipeline.SimulateOptions.Trace).
func Trace(pr *pipeline.PathwayResult, opt *TraceOptions) (*Figure, error) {
	if opt == nil {
		opt = &TraceOptions{}
	}
	t := pr.Trace
	if t == nil || len(t.Compartments) == 0 {
		return nil, fmt.Errorf("plot: pathway %d: the result has no trace", pr.Pathway)
	}
	comps := opt.Compartments
	if len(comps) == 0 {
		comps = t.Compartments
	}
	for _, c := range comps {
		if _, ok := t.VMV[c]; !ok {
			return nil, fmt.Errorf("plot: pathway %d: no compartment %q (the cell has %s)", pr.Pathway, c, strings.Join(t.Compartments, ", "))
		}
	}
	label := opt.Label
	if label == "" {
		label = pr.Pre + "->" + pr.Post
	}
	title := fmt.Sprintf("%s, g = %s", label, formatG(pr.Receptors, pr.GNS))
	if pr.HoldingMV != nil {
		title += fmt.Sprintf(", held at %.4g mV", *pr.HoldingMV)
	}
	if opt.Note != "" {
		title += " (" + opt.Note + ")"
	}
	if opt.Title != "" {
		title = opt.Title
	}
	end := float64(len(t.VMV[comps[0]])-1) * t.DtMS
	t0, t1 := max(opt.TMinMS, 0), end
	if opt.TMaxMS > 0 {
		t1 = min(opt.TMaxMS, end)
	}
	switch {
	case t0 >= end:
		return nil, fmt.Errorf("plot: a time axis from %g ms: the run ends at %g ms", t0, end)
	case t1 <= t0:
		return nil, fmt.Errorf("plot: a time axis from %g to %g ms holds nothing: want its end after its start", t0, t1)
	}
	p := newPlot("", "time (ms)", "membrane potential (mV)")
	p.Legend.Top = true

	lo, hi := math.Inf(1), math.Inf(-1)
	// The samples either side of the window: its range when it is
	// narrower than dt and holds none (it panicked).
	loNear, hiNear := math.Inf(1), math.Inf(-1)
	var traces []plotter.XYs // for the PSP's label to keep clear of
	for i, c := range comps {
		// The samples in the window, and one either side so that the
		// line reaches its edges.
		all := t.VMV[c]
		k0 := max(int(math.Floor(t0/t.DtMS))-1, 0)
		k1 := min(int(math.Ceil(t1/t.DtMS))+1, len(all)-1)
		v := all[k0 : k1+1]
		// At most about maxSamples vertices a line: finer than any screen,
		// and an SVG of kilobytes rather than megabytes.
		stride := (len(v) + maxSamples - 1) / maxSamples
		xy := make(plotter.XYs, 0, len(v)/stride+1)
		for j, x := range v {
			tk := float64(k0+j) * t.DtMS
			if j%stride == 0 || j == len(v)-1 {
				xy = append(xy, plotter.XY{X: tk, Y: x})
			}
			if tk >= t0 && tk <= t1 {
				lo, hi = math.Min(lo, x), math.Max(hi, x)
			}
			loNear, hiNear = math.Min(loNear, x), math.Max(hiNear, x)
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, fmt.Errorf("plot: trace %s: %w", c, err)
		}
		traces = append(traces, xy)
		l.Color = seriesColor(i)
		l.Width = vg.Points(1.3)
		p.Add(l)
		name := c
		switch {
		case c == pr.Record && c == pr.Compartment:
			name += " (synapse, recorded)"
		case c == pr.Record:
			name += " (recorded)"
		case c == pr.Compartment:
			name += " (synapse)"
		}
		p.Legend.Add(name, l)
	}
	if lo > hi {
		lo, hi = loNear, hiNear
	}
	span := hi - lo
	if span < 1e-9 {
		span = 1
	}
	p.Y.Min, p.Y.Max = lo-0.05*span, hi+0.18*span
	if pr.PSPMV < 0 {
		// Room below the trough for the PSP's value.
		p.Y.Min = lo - 0.12*span
	}

	// The presynaptic spike.
	tSpike := float64(pr.SpikeSample) * t.DtMS
	spike := vline(tSpike, p.Y.Min, p.Y.Max)
	spike.Color = grey
	spike.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	inWindow := tSpike >= t0 && tSpike <= t1
	if inWindow {
		p.Add(spike)
		p.Legend.Add("presynaptic spike", spike)
	}

	// The PSP at the record compartment, when it is drawn: baseline, peak
	// and amplitude.
	if v, ok := t.VMV[pr.Record]; ok && len(v) > 0 && slices.Contains(comps, pr.Record) {
		kPeak := pr.SpikeSample + int(math.Round(pr.TimeToPeakMS/t.DtMS))
		kPeak = min(max(kPeak, 0), len(v)-1)
		tPeak := float64(kPeak) * t.DtMS
		base := pr.BaselineMV
		peak := base + pr.PSPMV
		bl := hline(base, t0, t1)
		bl.Color = grey
		bl.Width = vg.Points(0.6)
		bl.Dashes = []vg.Length{vg.Points(1), vg.Points(2)}
		p.Add(bl)
		// The peak, when the time axis shows it (--t-max before it left
		// its label over the legend).
		if tPeak >= t0 && tPeak <= t1 {
			amp := vline(tPeak, base, peak)
			amp.Color = black
			amp.Width = vg.Points(1)
			p.Add(amp)
			sc, err := plotter.NewScatter(plotter.XYs{{X: tPeak, Y: peak}})
			if err != nil {
				return nil, fmt.Errorf("plot: %w", err)
			}
			sc.GlyphStyle.Shape = draw.CircleGlyph{}
			sc.GlyphStyle.Radius = vg.Points(2.5)
			sc.GlyphStyle.Color = black
			p.Add(sc)
			// The PSP's value on a white box, so that no trace crossing
			// it strikes it through.
			psp := textBox{at: plotter.XY{X: tPeak, Y: peak}, text: fmt.Sprintf("PSP %+.3g mV at %s", pr.PSPMV, pr.Record), below: pr.PSPMV < 0, avoid: traces}
			psp.style.Font = font.From(sans, 9)
			p.Add(psp)
		}
		if inWindow {
			lab, err := plotter.NewLabels(plotter.XYLabels{
				XYs:    []plotter.XY{{X: tSpike, Y: p.Y.Max}},
				Labels: []string{" spike"},
			})
			if err != nil {
				return nil, fmt.Errorf("plot: %w", err)
			}
			for i := range lab.TextStyle {
				lab.TextStyle[i].Font.Size = vg.Points(9)
				lab.TextStyle[i].Font.Typeface, lab.TextStyle[i].Font.Variant = sans.Typeface, sans.Variant
				lab.TextStyle[i].XAlign = draw.XLeft
			}
			lab.Offset = vg.Point{X: vg.Points(3)}
			lab.TextStyle[0].YAlign = draw.YTop
			lab.TextStyle[0].Color = grey
			p.Add(lab)
		}
	}
	p.X.Min, p.X.Max = t0, t1
	w, h := size(opt.Width, opt.Height)
	return &Figure{Width: w, Height: h, draw: func(c draw.Canvas) { drawWithLegend(c, p, title) }}, nil
}

func size(w, h vg.Length) (vg.Length, vg.Length) {
	if w <= 0 {
		w = DefaultWidth
	}
	if h <= 0 {
		h = DefaultHeight
	}
	return w, h
}

// formatG writes conductances as "AMPA 1.23 nS + NMDA 0.615 nS".
func formatG(receptors []string, g []float64) string {
	s := ""
	for i, v := range g {
		if i > 0 {
			s += " + "
		}
		if i < len(receptors) {
			s += receptors[i] + " "
		}
		s += fmt.Sprintf("%.3g nS", v)
	}
	return s
}

func vline(x, y0, y1 float64) *plotter.Line {
	l, _ := plotter.NewLine(plotter.XYs{{X: x, Y: y0}, {X: x, Y: y1}})
	return l
}

func hline(y, x0, x1 float64) *plotter.Line {
	l, _ := plotter.NewLine(plotter.XYs{{X: x0, Y: y}, {X: x1, Y: y}})
	return l
}

// textBox writes text on a translucent white box beside a point: right of
// it and above (below when below is set), or in the corner around it that
// the fewest samples of the avoid traces fall in (labelBox).
type textBox struct {
	at    plotter.XY
	text  string
	below bool
	style text.Style
	avoid []plotter.XYs
}

// Plot implements plot.Plotter.
func (b textBox) Plot(c draw.Canvas, plt *gplot.Plot) {
	trX, trY := plt.Transforms(&c)
	sty := b.style
	sty.Handler = plt.TextHandler
	var avoid []vg.Point
	for _, xy := range b.avoid {
		for _, p := range xy {
			avoid = append(avoid, vg.Point{X: trX(p.X), Y: trY(p.Y)})
		}
	}
	pad := vg.Points(2)
	r := labelBox(vg.Point{X: trX(b.at.X), Y: trY(b.at.Y)}, sty.Width(b.text)+2*pad, sty.Height(b.text)+2*pad, b.below, avoid, c.Rectangle)
	// Translucent: a trace behind it shows through, lighter (at 230
	// it hid a stretch of the dendrite's trace), and the text reads.
	c.SetColor(color.NRGBA{255, 255, 255, 170})
	c.Fill(r.Path())
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YBottom
	c.FillText(sty, vg.Point{X: r.Min.X + pad, Y: r.Min.Y + pad}, b.text)
}

// labelBox places a w x h box a few points off at, in one of the four
// corners around it: right and above (below when below is set) unless
// fewer of the avoid points fall in another, inside bounds. A box over a
// trace hid a stretch of it (a trial's dendrite under the PSP's label).
func labelBox(at vg.Point, w, h vg.Length, below bool, avoid []vg.Point, bounds vg.Rectangle) vg.Rectangle {
	const dx, dy = 3, 1 // points between the point and the box
	corner := func(right, above bool) vg.Rectangle {
		r := vg.Rectangle{Min: vg.Point{X: at.X + vg.Points(dx), Y: at.Y + vg.Points(dy)}}
		if !right {
			r.Min.X = at.X - vg.Points(dx) - w
		}
		if !above {
			r.Min.Y = at.Y - vg.Points(dy) - h
		}
		r.Max = vg.Point{X: r.Min.X + w, Y: r.Min.Y + h}
		return r
	}
	in := func(r vg.Rectangle) int {
		if r.Min.X < bounds.Min.X || r.Max.X > bounds.Max.X || r.Min.Y < bounds.Min.Y || r.Max.Y > bounds.Max.Y {
			return math.MaxInt
		}
		n := 0
		for _, p := range avoid {
			if p.X >= r.Min.X && p.X <= r.Max.X && p.Y >= r.Min.Y && p.Y <= r.Max.Y {
				n++
			}
		}
		return n
	}
	best := corner(true, !below)
	least := in(best)
	for _, c := range [][2]bool{{true, below}, {false, !below}, {false, below}} {
		if r := corner(c[0], c[1]); in(r) < least {
			best, least = r, in(r)
		}
	}
	return best
}
