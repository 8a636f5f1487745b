package plot

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/dendfit/dendfit/sim"
	"github.com/dendfit/dendfit/sim/spec"
)

// TestTickLabels: every axis, however narrow its range, gets at least two
// labels, all different, each naming its tick's value to the precision
// the labels need (gonum's default labelled a 0.15 mV range "-74, -73,
// -73, -73"; a log axis from 0.38 to 0.72 had one label).
func TestTickLabels(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		log    bool
	}{
		{-73.52, -73.37, false}, {-74.01, -73.49, false}, {0, 150, false}, {-0.2, 0.2, false},
		{1e-6, 3e-6, false}, {1234, 1290, false},
		{0.38, 0.72, true}, {0.1, 10, true}, {1.01, 1.09, true}, {0.5, 200, true}, {0.5, 0.95, true},
		{0.68, 1.36, true}, {0.9, 2.5, true}, {3, 40, true},
		// A range narrow for its magnitude (it looped forever), and one
		// whose top is negative (its top tick was lost).
		{70, math.Nextafter(70, 100), false}, {-75, -74, false},
	} {
		var labels []string
		ticks := linTicks{}.Ticks(tc.lo, tc.hi)
		if tc.log {
			ticks = logTicks{}.Ticks(tc.lo, tc.hi)
		}
		for _, tk := range ticks {
			if tk.Label == "" {
				continue
			}
			if tol := 1e-9 * (tc.hi - tc.lo); tk.Value < tc.lo-tol || tk.Value > tc.hi+tol {
				t.Errorf("[%g, %g]: tick %g outside", tc.lo, tc.hi, tk.Value)
			}
			v, err := strconv.ParseFloat(tk.Label, 64)
			if err != nil || math.Abs(v-tk.Value) > 1e-9*math.Max(1, math.Abs(tk.Value)) {
				t.Errorf("[%g, %g]: label %q for tick %g", tc.lo, tc.hi, tk.Label, tk.Value)
			}
			labels = append(labels, tk.Label)
			if len(tk.Label) > 9 && tc.hi-tc.lo > 1e-9 {
				t.Errorf("[%g, %g]: label %q is a raw float", tc.lo, tc.hi, tk.Label)
			}
		}
		seen := map[string]bool{}
		for _, l := range labels {
			if seen[l] {
				t.Errorf("[%g, %g]: label %q twice in %q", tc.lo, tc.hi, l, labels)
			}
			seen[l] = true
		}
		if tc.lo == -75 && !seen["-74.0"] {
			t.Errorf("[-75, -74]: no label at the top: %q", labels)
		}
		if len(labels) < 2 || len(labels) > 12 {
			t.Errorf("[%g, %g] (log %v): %d labels %q", tc.lo, tc.hi, tc.log, len(labels), labels)
		}
		// No end of the axis left without a label over more than a third
		// of its width, in its scale (0.68..1.36 on a log axis had none
		// from 1 to 1.36, 44%).
		pos := func(v float64) float64 {
			if tc.log {
				return math.Log(v/tc.lo) / math.Log(tc.hi/tc.lo)
			}
			return (v - tc.lo) / (tc.hi - tc.lo)
		}
		first, last := math.Inf(1), math.Inf(-1)
		for _, tk := range ticks {
			if tk.Label != "" {
				first, last = min(first, pos(tk.Value)), max(last, pos(tk.Value))
			}
		}
		if tc.hi-tc.lo > 1e-9 && (first > 1.0/3 || last < 2.0/3) {
			t.Errorf("[%g, %g] (log %v): labels %q leave an end unlabelled (from %.2f to %.2f of the axis)", tc.lo, tc.hi, tc.log, labels, first, last)
		}
	}
}

// TestWrap: a title wider than the figure is broken at spaces into lines
// that fit, keeping every word in order.
func TestWrap(t *testing.T) {
	sty := text.Style{Font: font.From(sans, 11), Handler: text.Plain{Fonts: font.DefaultCache}}
	title := "L23E->L23E (AMPA), g = AMPA 1 nS (fitted, run 1; t_decay 4 ms, t_rise 0.2 ms); red line: target 0.7 mV"
	for _, w := range []vg.Length{40, 150, 300, 1000} {
		lines := wrap(title, w, sty.Width)
		if got := strings.Join(lines, " "); got != title {
			t.Errorf("width %v: lines %q lose words", w, lines)
		}
		for _, l := range lines {
			if sty.Width(l) > w && strings.Contains(l, " ") {
				t.Errorf("width %v: line %q is %v wide", w, l, sty.Width(l))
			}
		}
		if w == 1000 && len(lines) != 1 {
			t.Errorf("a title that fits was broken: %q", lines)
		}
		for _, l := range lines {
			if f := strings.Fields(l); unitWord.MatchString(f[0]) {
				t.Errorf("width %v: line %q starts with a unit, cut from its number", w, l)
			}
		}
	}
}

// TestSVGOpaque: an SVG figure is painted white before anything else, as
// a PNG is, so that its text reads on a dark page.
func TestSVGOpaque(t *testing.T) {
	f := &Figure{Width: 4 * vg.Centimeter, Height: 3 * vg.Centimeter, draw: func(c draw.Canvas) {}}
	svg, err := f.SVG()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(svg, `style="fill:#FFFFFF"`) || strings.Index(svg, "fill:#FFFFFF") > strings.Index(svg+"<text", "<text") {
		t.Errorf("no white page first:\n%s", svg)
	}
}

// TestSameCurveDashed: of two pathways with the same curve, the second is
// drawn dashed so that the first shows through; distinct curves are not.
func TestSameCurveDashed(t *testing.T) {
	mk := func(p int, k float64) Series {
		s := Series{Pathway: p, Label: fmt.Sprint("p", p)}
		for _, g := range []float64{0.1, 1, 10} {
			s.GNS, s.PSPMV = append(s.GNS, g), append(s.PSPMV, k*g)
		}
		return s
	}
	for _, tc := range []struct {
		series []Series
		dashed int
	}{{[]Series{mk(0, 1), mk(1, 1)}, 2}, {[]Series{mk(0, 1), mk(1, 2)}, 0}} {
		f, err := Curve(tc.series, &CurveOptions{LogX: true})
		if err != nil {
			t.Fatal(err)
		}
		svg, err := f.SVG()
		if err != nil {
			t.Fatal(err)
		}
		// The curves' dashes are 6pt on, 6pt off: the line and its legend
		// sample.
		if n := strings.Count(svg, "stroke-dasharray:6,6"); n != tc.dashed {
			t.Errorf("%d curves dashed 6,6, want %d", n, tc.dashed)
		}
	}
}

// TestApart: pathways that share a label are told apart by compartment,
// and by index too where two share the compartment (another tag).
func TestApart(t *testing.T) {
	ampa := []spec.Receptor{{Channel: sim.AMPA, G: 1e-9, TauDecay: 2e-3}}
	s := &spec.Spec{Pathways: []spec.Pathway{
		{Pre: "E", Post: "E", Compartment: "soma", Receptors: ampa},
		{Pre: "E", Post: "E", Compartment: "dend", Receptors: ampa},
		{Pre: "E", Post: "E", Compartment: "dend", Tag: "b", Receptors: ampa},
	}}
	for i, want := range []string{" @soma", " @dend #1", " @dend #2"} {
		if got := apart(s, i); got != want {
			t.Errorf("pathway %d: %q, want %q", i, got, want)
		}
	}
	if got := apart(nil, 4); got != " #4" {
		t.Errorf("no spec: %q", got)
	}
}
