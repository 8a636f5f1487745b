package plot_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"log"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/pipeline"
	"github.com/dendfit/dendfit/pipeline/plot"
	"github.com/dendfit/dendfit/pipeline/plot/plottest"
	"github.com/dendfit/dendfit/sim/spec"
)

var (
	update  = flag.Bool("update", false, "rewrite the golden files in testdata")
	saveDir = flag.String("save", "", "also write every figure as PNG and SVG into this directory, to look at")
)

func openDB(t *testing.T, path string) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// render writes f in both formats, checks that the PNG decodes with the
// figure's size at plot.PNGDPI and that the SVG is well-formed XML, saves
// them under -save, and returns the SVG's summary.
func render(t *testing.T, name string, f *plot.Figure) *svgSummary {
	t.Helper()
	var pb, sb bytes.Buffer
	if err := f.Write(&pb, "png"); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pb.Bytes(), []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("%s: not a PNG header: %q", name, pb.Bytes()[:8])
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(pb.Bytes()))
	if err != nil {
		t.Fatalf("%s: png: %v", name, err)
	}
	wantW := int(f.Width.Dots(plot.PNGDPI) + 0.5)
	wantH := int(f.Height.Dots(plot.PNGDPI) + 0.5)
	if cfg.Width != wantW || cfg.Height != wantH {
		t.Errorf("%s: png is %dx%d, want %dx%d", name, cfg.Width, cfg.Height, wantW, wantH)
	}
	if _, err := png.Decode(bytes.NewReader(pb.Bytes())); err != nil {
		t.Fatalf("%s: png: %v", name, err)
	}
	if err := f.Write(&sb, "svg"); err != nil {
		t.Fatal(err)
	}
	sum, err := summarise(sb.Bytes())
	if err != nil {
		t.Fatalf("%s: svg: %v", name, err)
	}
	if *saveDir != "" {
		os.WriteFile(filepath.Join(*saveDir, name+".png"), pb.Bytes(), 0o644)
		os.WriteFile(filepath.Join(*saveDir, name+".svg"), sb.Bytes(), 0o644)
	}
	checkSVGImages(t, name, sb.String())
	return sum
}

// svgImage is an SVG image element's opening tag and its data URI.
var svgImage = regexp.MustCompile(`<image ([^>]*)xlink:href="data:([^;]+);base64,([^"]*)"`)

// checkSVGImages checks that every image of an SVG (a heat map's cells)
// fills its rectangle, as its axes assume (an SVG image keeps its aspect
// ratio by default: a 5 x 3 map came out narrower than its axes in a
// browser), and is the PNG its type says.
func checkSVGImages(t *testing.T, name, svg string) {
	t.Helper()
	for _, m := range svgImage.FindAllStringSubmatch(svg, -1) {
		if !strings.Contains(m[1], `preserveAspectRatio="none"`) || m[2] != "image/png" {
			t.Errorf("%s: svg image %q of type %s: want preserveAspectRatio=\"none\", image/png", name, m[1], m[2])
		}
		b, err := base64.StdEncoding.DecodeString(m[3])
		if err == nil {
			_, err = png.DecodeConfig(bytes.NewReader(b))
		}
		if err != nil {
			t.Errorf("%s: svg image: %v", name, err)
		}
	}
}

// svgSummary is what a figure shows, read back from its SVG: the count of
// each element, its texts in order, and its polylines (unfilled paths of
// at least 8 segments) per stroke colour.
type svgSummary struct {
	elements  map[string]int
	texts     []string
	polylines map[string]int
}

var strokeRE = regexp.MustCompile(`stroke:(#[0-9A-Fa-f]{6})`)

func summarise(b []byte) (*svgSummary, error) {
	s := &svgSummary{elements: map[string]int{}, polylines: map[string]int{}}
	dec := xml.NewDecoder(bytes.NewReader(b))
	inText := false
	root := ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = e.Name.Local
			}
			s.elements[e.Name.Local]++
			inText = e.Name.Local == "text"
			if e.Name.Local == "path" {
				var d, style string
				for _, a := range e.Attr {
					switch a.Name.Local {
					case "d":
						d = a.Value
					case "style":
						style = a.Value
					}
				}
				if strings.Contains(style, "fill:none") && strings.Count(d, "L") >= 8 {
					if m := strokeRE.FindStringSubmatch(style); m != nil {
						s.polylines[strings.ToUpper(m[1])]++
					}
				}
			}
		case xml.CharData:
			if inText {
				s.texts = append(s.texts, string(e))
			}
		case xml.EndElement:
			inText = false
		}
	}
	if root != "svg" {
		return nil, fmt.Errorf("root element %q, want svg", root)
	}
	return s, nil
}

func (s *svgSummary) has(text string) bool {
	for _, x := range s.texts {
		if x == text {
			return true
		}
	}
	return false
}

func (s *svgSummary) String() string {
	var b strings.Builder
	var names []string
	for k := range s.elements {
		names = append(names, k)
	}
	sort.Strings(names)
	b.WriteString("elements:")
	for _, k := range names {
		fmt.Fprintf(&b, " %s=%d", k, s.elements[k])
	}
	b.WriteString("\npolylines:")
	var cols []string
	for k := range s.polylines {
		cols = append(cols, k)
	}
	sort.Strings(cols)
	for _, k := range cols {
		fmt.Fprintf(&b, " %s=%d", k, s.polylines[k])
	}
	b.WriteString("\ntexts:\n")
	for _, x := range s.texts {
		fmt.Fprintf(&b, "  %s\n", x)
	}
	return b.String()
}

// golden compares got with testdata/name.golden, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}

func TestFormatOf(t *testing.T) {
	for path, want := range map[string]string{"a.png": "png", "b/c.SVG": "svg", "x.pdf": "", "noext": ""} {
		got, err := plot.FormatOf(path)
		if got != want || (err != nil) != (want == "") {
			t.Errorf("FormatOf(%q) = %q, %v; want %q", path, got, err, want)
		}
	}
	var b bytes.Buffer
	if err := (&plot.Figure{}).Write(&b, "pdf"); err == nil {
		t.Error("Write pdf: no error")
	}
}

// TestTrace: the first cortical pathway at its spec g, every compartment.
func TestTrace(t *testing.T) {
	s := plottest.CortexSpec(t)
	pr, err := plot.SimulateAt(context.Background(), s, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	f, err := plot.Trace(pr, &plot.TraceOptions{Label: s.Pathways[0].Label()})
	if err != nil {
		t.Fatal(err)
	}
	sum := render(t, "trace", f)
	for _, want := range []string{"soma (recorded)", "basal (synapse)", "apical", "presynaptic spike",
		"time (ms)", "membrane potential (mV)", fmt.Sprintf("PSP %+.3g mV at soma", pr.PSPMV),
		"L5TTPC->L5TTPC (AMPA+NMDA), g = AMPA 1 nS + NMDA 0.5 nS, held at -74 mV"} {
		if !sum.has(want) {
			t.Errorf("trace has no text %q; texts %q", want, sum.texts)
		}
	}
	// One voltage line per compartment, in the first three series colours.
	if n := len(sum.polylines); n != 3 {
		t.Errorf("%d polylines colours, want 3 (one per compartment): %v", n, sum.polylines)
	}
	golden(t, "trace", sum.String())

	// Chosen compartments only.
	f, err = plot.Trace(pr, &plot.TraceOptions{Compartments: []string{"soma"}})
	if err != nil {
		t.Fatal(err)
	}
	if sum := render(t, "trace-soma", f); len(sum.polylines) != 1 || sum.has("apical") {
		t.Errorf("--compartment soma: polylines %v, texts %q", sum.polylines, sum.texts)
	}
	// Without the recorded compartment, no PSP marks of it float above
	// the lines drawn.
	f, err = plot.Trace(pr, &plot.TraceOptions{Compartments: []string{"apical"}})
	if err != nil {
		t.Fatal(err)
	}
	if sum := render(t, "trace-apical", f); sum.has(fmt.Sprintf("PSP %+.3g mV at soma", pr.PSPMV)) || !sum.has("apical") {
		t.Errorf("--compartment apical: texts %q", sum.texts)
	}
	if _, err := plot.Trace(pr, &plot.TraceOptions{Compartments: []string{"axon"}}); err == nil || !strings.Contains(err.Error(), `"axon"`) {
		t.Errorf("unknown compartment: %v", err)
	}
	// A time window: its ticks, its title, and the PSP marked only when
	// its peak (at spike + time to peak) is in it.
	peakMS := float64(pr.SpikeSample)*pr.Trace.DtMS + pr.TimeToPeakMS
	for _, tc := range []struct {
		t0, t1   float64
		psp      bool
		in, out  []string // tick labels
		spikeToo bool
	}{
		{8, peakMS + 5, true, []string{"10", "20", "30"}, []string{"100", "0"}, true},
		{8, peakMS - 5, false, []string{"10"}, []string{"100"}, true},
		{peakMS - 2, 0, true, []string{"100"}, []string{"0"}, false},
	} {
		f, err := plot.Trace(pr, &plot.TraceOptions{TMinMS: tc.t0, TMaxMS: tc.t1, Title: "a window"})
		if err != nil {
			t.Fatal(err)
		}
		sum := render(t, "trace-window", f)
		if sum.has(fmt.Sprintf("PSP %+.3g mV at soma", pr.PSPMV)) != tc.psp || sum.has("presynaptic spike") != tc.spikeToo || !sum.has("a window") || sum.has("L5TTPC->L5TTPC (AMPA+NMDA), g = AMPA 1 nS + NMDA 0.5 nS, held at -74 mV") {
			t.Errorf("window %g to %g ms (peak at %g): texts %q", tc.t0, tc.t1, peakMS, sum.texts)
		}
		for _, tick := range tc.in {
			if !sum.has(tick) {
				t.Errorf("window %g to %g ms: no tick %q in %q", tc.t0, tc.t1, tick, sum.texts)
			}
		}
		for _, tick := range tc.out {
			if sum.has(tick) {
				t.Errorf("window %g to %g ms: tick %q in %q", tc.t0, tc.t1, tick, sum.texts)
			}
		}
	}
	// A window narrower than dt, between two samples (it panicked).
	dt := pr.Trace.DtMS
	if _, err := plot.Trace(pr, &plot.TraceOptions{TMinMS: 10 + 0.2*dt, TMaxMS: 10 + 0.8*dt}); err != nil {
		t.Errorf("a window between two samples: %v", err)
	}
	for _, w := range [][2]float64{{500, 0}, {30, 20}} {
		if _, err := plot.Trace(pr, &plot.TraceOptions{TMinMS: w[0], TMaxMS: w[1]}); err == nil {
			t.Errorf("window %g to %g ms: no error", w[0], w[1])
		}
	}
	pr.Trace = nil
	if _, err := plot.Trace(pr, nil); err == nil {
		t.Error("no trace: no error")
	}
}

// cortexDB is the cortical example swept and fitted, shared by the tests.
func cortexDB(t *testing.T) (*spec.Spec, *db.DB) {
	s := plottest.CortexSpec(t)
	return s, openDB(t, plottest.DB(t, s, true, true))
}

func TestCurve(t *testing.T) {
	ctx := context.Background()
	s, d := cortexDB(t)
	_, fits, err := plot.NewestFits(ctx, d, s.Name)
	if err != nil {
		t.Fatal(err)
	}
	sw, err := plot.NewestSweep(ctx, d, s.Name)
	if err != nil || sw == nil {
		t.Fatalf("no sweep: %v", err)
	}
	pts, err := d.Points(ctx, db.PointFilter{RunID: sw.ID})
	if err != nil {
		t.Fatal(err)
	}
	series := plot.CurveSeries(s, pts, fits)
	if len(series) != len(s.Pathways) {
		t.Fatalf("%d series, want %d", len(series), len(s.Pathways))
	}
	// Read point by point from the run, the same series.
	streamed, err := plot.RunCurveSeries(ctx, d, sw.ID, s, fits)
	if err != nil || !reflect.DeepEqual(streamed, series) {
		t.Errorf("RunCurveSeries = %+v, %v\nCurveSeries = %+v", streamed, err, series)
	}
	for i, se := range series {
		if len(se.GNS) != s.Sweep.G.Steps || se.Fit == nil || !se.Fit.Converged || se.TargetMV <= 0 {
			t.Errorf("series %d: %d points, fit %+v, target %v", i, len(se.GNS), se.Fit, se.TargetMV)
		}
	}
	f, err := plot.Curve(series, &plot.CurveOptions{LogX: s.Sweep.G.Log, Title: s.Name})
	if err != nil {
		t.Fatal(err)
	}
	sum := render(t, "curve", f)
	for _, p := range s.Pathways {
		if !sum.has(p.Label()) {
			t.Errorf("legend has no %q", p.Label())
		}
	}
	// One 25-point line per pathway (8 colours cycle; 7 pathways).
	total := 0
	for _, n := range sum.polylines {
		total += n
	}
	if total != len(s.Pathways) {
		t.Errorf("%d polylines, want %d: %v", total, len(s.Pathways), sum.polylines)
	}
	for _, want := range []string{"target PSP", "fitted g", "g, first receptor (nS)", "PSP amplitude |ΔV| (mV)", "0.1", "1", "10"} {
		if !sum.has(want) {
			t.Errorf("curve has no text %q", want)
		}
	}
	golden(t, "curve", sum.String())

	if _, err := plot.Curve(nil, nil); err == nil {
		t.Error("no series: no error")
	}
	if _, err := plot.Curve(series, &plot.CurveOptions{YScale: "cubic"}); err == nil {
		t.Error("bad y scale: no error")
	}
	// A curve from the fit's own evaluations, marked not converged.
	frun, _, _ := plot.NewestFits(ctx, d, s.Name)
	fp, err := d.Points(ctx, db.PointFilter{RunID: frun.ID})
	if err != nil {
		t.Fatal(err)
	}
	fits[1].Converged = false
	fs := plot.CurveSeries(s, fp, fits)
	f, err = plot.Curve(fs[:2], &plot.CurveOptions{YScale: "linear"})
	if err != nil {
		t.Fatal(err)
	}
	// Both marks keyed: pathway 0's ring and pathway 1's cross (only the
	// ring was).
	if sum := render(t, "curve-fit", f); !sum.has(s.Pathways[1].Label()+" - NOT CONVERGED") || sum.has(s.Pathways[2].Label()) ||
		!sum.has("fitted g") || !sum.has("best g of a fit that did not converge") {
		t.Errorf("fit curve texts %q", sum.texts)
	}
	// Without fits nor targets, their keys are not in the legend (it
	// listed "fitted g" for a database without a fit).
	bare := plot.CurveSeries(s, pts, nil)
	for i := range bare {
		bare[i].TargetMV = 0
	}
	f, err = plot.Curve(bare, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum := render(t, "curve-bare", f); sum.has("fitted g") || sum.has("target PSP") {
		t.Errorf("a curve without fits nor targets has their keys: %q", sum.texts)
	}
}

// TestCurveThinsDenseSeries: a series of 200,000 points is drawn as one
// line of at most 4000 points and no dot a point, and its SVG stays small;
// a 25-point series keeps its dots.
func TestCurveThinsDenseSeries(t *testing.T) {
	dense := plot.Series{Label: "dense"}
	for i := range 200000 {
		g := 0.1 * math.Pow(100, float64(i)/199999)
		dense.GNS, dense.PSPMV = append(dense.GNS, g), append(dense.PSPMV, 0.3*g)
	}
	sparse := plot.Series{Label: "sparse"}
	for i := range 25 {
		g := 0.1 * math.Pow(100, float64(i)/24)
		sparse.GNS, sparse.PSPMV = append(sparse.GNS, g), append(sparse.PSPMV, 0.2*g)
	}
	for _, tc := range []struct {
		s           plot.Series
		maxSegments int
		dots        bool
	}{{dense, 4000, false}, {sparse, 24, true}} {
		f, err := plot.Curve([]plot.Series{tc.s}, &plot.CurveOptions{LogX: true})
		if err != nil {
			t.Fatal(err)
		}
		var svg bytes.Buffer
		if err := f.Write(&svg, "svg"); err != nil {
			t.Fatal(err)
		}
		segs := 0
		for _, d := range regexp.MustCompile(` d="([^"]*)"`).FindAllStringSubmatch(svg.String(), -1) {
			segs = max(segs, strings.Count(d[1], "L"))
		}
		// A dot is a path of two arcs of its radius, 1.4 pt.
		dots := strings.Count(svg.String(), "A1.4,1.4 ") >= 2*len(tc.s.GNS)
		if segs < 20 || segs > tc.maxSegments || dots != tc.dots {
			t.Errorf("%s: longest path %d segments (want 20..%d), dots %v (want %v)", tc.s.Label, segs, tc.maxSegments, dots, tc.dots)
		}
		if svg.Len() > 400<<10 {
			t.Errorf("%s: SVG of %d KB", tc.s.Label, svg.Len()>>10)
		}
	}
}

func TestHeatmap(t *testing.T) {
	ctx := context.Background()
	k, d, sw, pts := kineticsSweep(t)
	if len(pts) != 72 {
		t.Fatalf("%d points, want 6 g x 4 t_decay x 3 t_rise", len(pts))
	}
	for _, c := range []struct {
		x, y      string
		nx, ny    int
		title     string
		cellsSeen int
	}{
		{plot.AxisG, plot.AxisTDecay, 6, 4, "E->E (AMPA), τ rise, first receptor = 0.5 ms; red line: target 0.5 mV", 24},
		{plot.AxisG, plot.AxisTRise, 6, 3, "E->E (AMPA), τ decay, first receptor = 2 ms; red line: target 0.5 mV", 18},
		{plot.AxisTDecay, plot.AxisTRise, 4, 3, "E->E (AMPA), g, first receptor = 0.871 nS; red line: target 0.5 mV", 12},
	} {
		name := "heatmap-" + c.x + "-" + c.y
		hd, err := plot.HeatmapFromPoints(k, pts, 0, c.x, c.y)
		if err != nil {
			t.Fatal(err)
		}
		if len(hd.X.Values) != c.nx || len(hd.Y.Values) != c.ny {
			t.Errorf("%s: %dx%d grid, want %dx%d", name, len(hd.X.Values), len(hd.Y.Values), c.nx, c.ny)
		}
		// Read point by point from the run, the same map.
		hp, err := plot.ReadHeatPoints(ctx, d, sw.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		// (compared as text: a cell without a point is NaN)
		if streamed, err := hp.Heatmap(k, 0, c.x, c.y); err != nil || fmt.Sprintf("%+v", *streamed) != fmt.Sprintf("%+v", *hd) {
			t.Errorf("%s: ReadHeatPoints: %+v, %v\nHeatmapFromPoints: %+v", name, streamed, err, hd)
		}
		f, err := plot.Heatmap(hd, nil)
		if err != nil {
			t.Fatal(err)
		}
		sum := render(t, name, f)
		if !sum.has(c.title) || !sum.has("|PSP| (mV)") {
			t.Errorf("%s: texts %q", name, sum.texts)
		}
		if c.x == plot.AxisG && c.y == plot.AxisTDecay {
			golden(t, "heatmap", sum.String())
		}
	}
	if _, err := plot.HeatmapFromPoints(k, pts, 0, "g", "g"); err == nil {
		t.Error("same axes: no error")
	}
	if _, err := plot.HeatmapFromPoints(k, pts, 0, "g", "tau"); err == nil {
		t.Error("unknown axis: no error")
	}
	if _, err := plot.HeatmapFromPoints(k, pts, 3, "g", "t_rise"); err == nil {
		t.Error("no such pathway: no error")
	}
	// A slice with only g varying has no second axis.
	var gOnly []db.Point
	for _, p := range pts {
		if p.TDecayMS == 1 && p.TRiseMS != nil && *p.TRiseMS == 0.2 {
			gOnly = append(gOnly, p)
		}
	}
	if _, err := plot.HeatmapFromPoints(k, gOnly, 0, "g", "t_decay"); err == nil || !strings.Contains(err.Error(), "at least 2 values") {
		t.Errorf("g-only sweep (%d points): %v", len(gOnly), err)
	}
}

// ExampleFormatOf shows how a figure's format follows the file name.
func ExampleFormatOf() {
	f, _ := plot.FormatOf("trace.SVG")
	_, err := plot.FormatOf("trace.pdf")
	fmt.Println(f)
	fmt.Println(err)
	// Output:
	// svg
	// plot: trace.pdf: unknown format "pdf"; want a .png or .svg file
}

// TestCurveNamesItsSlice: a run that swept kinetics draws one slice of
// them a pathway, and its legend says which; a kinetics fit, whose g
// belongs to its own time constants, says those too. A run of one
// kinetics and an amplitude fit at them need no note. The curve and its
// fitted ring used to disagree without a word.
func TestCurveNamesItsSlice(t *testing.T) {
	s, err := spec.Load("../../experiments/l23-demo.yaml") // t_decay 2 ms, t_rise -
	if err != nil {
		t.Fatal(err)
	}
	pt := func(g, decay float64) db.Point {
		return db.Point{Pathway: 0, Pre: "L23E", Post: "L23E", GNS: g, TDecayMS: decay, PSPMV: g, Status: db.PointOK,
			Receptors: []db.Receptor{{Channel: "AMPA", GNS: g, TDecayMS: decay}}}
	}
	oneK := []db.Point{pt(1, 2), pt(2, 2)}
	failedPt := func(g, decay float64) db.Point {
		p := pt(g, decay)
		p.PSPMV, p.Status, p.Error = 0, db.PointFailed, "sim: unstable"
		return p
	}
	swept := []db.Point{pt(1, 1), pt(2, 1), pt(1, 2), pt(2, 2), pt(1, 5), pt(2, 5)}
	amp := db.Fit{Pathway: 0, GFitNS: []float64{1.5}, PSPAtFitMV: 0.5, TargetPSPMV: 0.5, Converged: true}
	decay := 3.081
	kin := amp
	kin.TDecayMS = &decay
	for _, tc := range []struct {
		name string
		pts  []db.Point
		fits []db.Fit
		note string
	}{
		{"one kinetics, amplitude fit", oneK, []db.Fit{amp}, ""},
		{"swept kinetics", swept, nil, "(τd 2 ms)"},
		{"swept kinetics, kinetics fit", swept, []db.Fit{kin}, "(curve τd 2 ms; fit ring τd 3.08 ms)"},
		// The curve is at the spec's kinetics, the ring at the fit's: both
		// named ("fit τd 3.08 ms" alone read as the curve's).
		{"one kinetics, kinetics fit", oneK, []db.Fit{kin}, "(curve τd 2 ms; fit ring τd 3.08 ms)"},
		// The spec's 2 ms is not swept: the amplitude fit, made there, is
		// off the nearest slice, and is no fit of kinetics.
		{"spec kinetics not swept, amplitude fit", []db.Point{pt(1, 1), pt(2, 1), pt(1, 5), pt(2, 5)}, []db.Fit{amp}, "(curve τd 1 ms; fit ring τd 2 ms)"},
		// Failed points have no PSP: counted in the legend, the curve
		// stopping where they begin said (it stopped without a word).
		{"failed points", append(slices.Clone(oneK), failedPt(3, 2), failedPt(4, 2)), nil, "(2 failed points not drawn)"},
	} {
		se := plot.CurveSeries(s, tc.pts, tc.fits)
		if len(se) != 1 || se[0].Note != tc.note || len(se[0].GNS) != 2 {
			t.Errorf("%s: %+v, want note %q over 2 points", tc.name, se, tc.note)
		}
	}
	// A linear t_decay axis gives 0.19999999999999998 for the spec's
	// 0.2 ms: an amplitude fit at 0.2 ms is on that slice, no "fit" note.
	text, err := os.ReadFile("../../experiments/l23-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s02, err := spec.Parse("l23-0.2.yaml", []byte(strings.Replace(string(text), "{channel: AMPA, g: 1 nS, t_decay: 2 ms}", "{channel: AMPA, g: 1 nS, t_decay: 0.2 ms}", 1)))
	if err != nil {
		t.Fatal(err)
	}
	rounded := []db.Point{pt(1, 0.1), pt(2, 0.1), pt(1, 0.19999999999999998), pt(2, 0.19999999999999998)}
	if se := plot.CurveSeries(s02, rounded, []db.Fit{amp}); len(se) != 1 || se[0].Note != "(τd 0.2 ms)" {
		t.Errorf("a rounded axis value: %+v, want note %q", se, "(τd 0.2 ms)")
	}
	// The note is the legend's second line.
	f, err := plot.Curve(plot.CurveSeries(s, swept, []db.Fit{kin}), nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := f.Write(&b, "svg"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "(curve τd 2 ms; fit ring τd 3.08 ms)") {
		t.Error("the legend lacks the note")
	}
}

// TestCurveOfAPathwayWhoseEveryPointFailed: a pathway with failed points
// only (an AdEx cell fired at every g swept) has a series with no points,
// whose legend says so; the other pathway's curve is drawn, and a figure
// of that pathway alone says why there is none. The pathway was left out
// without a word: its failed count was nowhere.
func TestCurveOfAPathwayWhoseEveryPointFailed(t *testing.T) {
	s, err := spec.Load("../testdata/reference/cases/two-populations-three-pathways.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pt := func(path int, pre string, g float64, failed bool) db.Point {
		p := db.Point{Pathway: path, Pre: pre, Post: "E", GNS: g, TDecayMS: 2, PSPMV: g, Status: db.PointOK,
			Receptors: []db.Receptor{{Channel: "AMPA", GNS: g, TDecayMS: 2}}}
		if failed {
			p.PSPMV, p.Status, p.Error = 0, db.PointFailed, "sim: unstable"
		}
		return p
	}
	pts := []db.Point{pt(0, "E", 1, false), pt(0, "E", 2, false), pt(1, "PV", 1, true), pt(1, "PV", 2, true), pt(1, "PV", 3, true)}
	se := plot.CurveSeries(s, pts, nil)
	if len(se) != 2 || se[1].Pathway != 1 || len(se[1].GNS) != 0 || se[1].Failed != 3 || se[1].Note != "(all 3 points failed: no curve)" ||
		se[1].Label != s.Pathways[1].Label() || len(se[0].GNS) != 2 || se[0].Failed != 0 {
		t.Fatalf("series %+v\nwant pathway 0's 2 points, and pathway 1 with none, 3 failed", se)
	}
	f, err := plot.Curve(se, &plot.CurveOptions{LogX: true})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := f.Write(&b, "svg"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "(all 3 points failed: no curve)") {
		t.Error("the legend does not say that pathway 1's every point failed")
	}
	if _, err := plot.Curve(se[1:], nil); err == nil || !strings.Contains(err.Error(), "every point failed (3, no PSP)") {
		t.Errorf("a figure of the failed pathway alone: %v", err)
	}
}

// TestFitsFor: a spec gets the newest fit of each pathway that its own
// definition of the pathway matches; a fit of an edited cell is passed
// over, for an older one or none, and an edited target does not matter.
func TestFitsFor(t *testing.T) {
	ctx := context.Background()
	text, err := os.ReadFile(filepath.Join(plottest.Root(), "experiments", "l23-demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(name, old, new string) *spec.Spec {
		t.Helper()
		s, err := spec.Parse(name, []byte(strings.Replace(string(text), old, new, 1)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	orig := edit("l23-demo.yaml", "", "")
	leaky := edit("leaky.yaml", "gl: 40 uS/cm2", "gl: 80 uS/cm2")
	retargeted := edit("retargeted.yaml", "target_psp: 0.5 mV", "target_psp: 0.8 mV")
	dt := edit("dt.yaml", "dt: 0.1 ms", "dt: 0.05 ms")
	path := plottest.DB(t, orig, false, true)                         // run 1
	plottest.AddFit(t, path, leaky, &pipeline.FitOptions{Workers: 2}) // run 2
	d, err := db.OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, tc := range []struct {
		name   string
		s      *spec.Spec
		fitRun int64 // of pathway 0; 0 for none
	}{
		{"original", orig, 1},
		{"edited cell, fitted since", leaky, 2},
		{"edited target only", retargeted, 1},
		{"edited dt, never fitted", dt, 0},
	} {
		fits, newest, err := plot.FitsFor(ctx, d, tc.s)
		if err != nil {
			t.Fatal(err)
		}
		if newest == nil || newest.ID != 2 {
			t.Errorf("%s: newest fit run %v, want 2", tc.name, newest)
		}
		af, ok := fits[0]
		switch {
		case tc.fitRun == 0 && ok:
			t.Errorf("%s: given the fit of run %d", tc.name, af.Run.ID)
		case tc.fitRun != 0 && (!ok || af.Run.ID != tc.fitRun || af.Fit.Pathway != 0 || len(af.Fit.GFitNS) != 2):
			t.Errorf("%s: fit %+v (found %v), want that of run %d", tc.name, af, ok, tc.fitRun)
		}
		if rows := pipeline.FitRows(fits); len(rows) != len(fits) {
			t.Errorf("%s: FitRows gave %d of %d fits", tc.name, len(rows), len(fits))
		}
	}
}

// Draw a pathway's PSP, every compartment's voltage against time, as
// `dendfit plot trace` does, and write it as a PNG.
func ExampleTrace() {
	s, err := spec.Load("../testdata/reference/cases/seed-ampa-2comp-dimensional.yaml")
	if err != nil {
		log.Fatal(err)
	}
	res, err := pipeline.Simulate(context.Background(), s, &pipeline.SimulateOptions{Trace: true})
	if err != nil {
		log.Fatal(err)
	}
	fig, err := plot.Trace(&res[0], nil)
	if err != nil {
		log.Fatal(err)
	}
	var buf bytes.Buffer
	if err := fig.Write(&buf, "png"); err != nil {
		log.Fatal(err)
	}
	cfg, _, err := image.DecodeConfig(&buf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%dx%d PNG of %s\n", cfg.Width, cfg.Height, strings.Join(res[0].Trace.Compartments, " and "))
	// Output: 945x591 PNG of soma and dend
}

// TestFittedFor: the fit drawn for a pathway is its newest applicable one,
// with a note when that is not the newest fit run's (fit --pathway of
// another pathway), and none at all is ErrNoFit.
func TestFittedFor(t *testing.T) {
	ctx := context.Background()
	s := plottest.CortexSpec(t)
	path := plottest.DB(t, s, false, false)
	d, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := plot.FittedFor(ctx, d, s, 0); !errors.Is(err, plot.ErrNoFit) {
		t.Fatalf("before any fit: %v, want ErrNoFit", err)
	}
	all, _ := plottest.AddFit(t, path, s, &pipeline.FitOptions{Workers: 2, NoFine: true})
	some, _ := plottest.AddFit(t, path, s, &pipeline.FitOptions{Workers: 2, NoFine: true, Pathways: []int{1}})
	for _, tc := range []struct {
		pathway int
		run     int64
		note    string
	}{
		{1, some, ""},
		{0, all, fmt.Sprintf("drawing fit run %d: the newest fit run, %d, did not fit pathway 0", all, some)},
	} {
		fp, err := plot.FittedFor(ctx, d, s, tc.pathway)
		if err != nil {
			t.Fatal(err)
		}
		if fp.Run.ID != tc.run || fp.Fit.Pathway != tc.pathway || strings.Join(fp.Notes, "; ") != tc.note || len(fp.Warnings) != 0 ||
			!strings.HasPrefix(fp.Title, fmt.Sprintf("fitted, run %d", tc.run)) {
			t.Errorf("pathway %d: %+v, want run %d's fit with note %q", tc.pathway, fp, tc.run, tc.note)
		}
	}
}

// TestCurveUnplaceableFit: a fit whose mark a log axis cannot place (an
// unfittable pathway's |PSP| of 0 mV, a g of 0) leaves the mark out; the
// figure is drawn (gonum panicked, and took the report with it).
func TestCurveUnplaceableFit(t *testing.T) {
	base := plot.Series{Pathway: 0, Label: "A->B (GABA)", GNS: []float64{0.1, 1, 10}, PSPMV: []float64{0.01, 0.1, 1}, TargetMV: 0.5}
	for _, tc := range []struct {
		name string
		fit  plot.FitMark
		opt  plot.CurveOptions
	}{
		{"zero PSP, log y", plot.FitMark{GNS: 1000, PSPMV: 0}, plot.CurveOptions{LogX: true}},
		{"zero PSP, forced log y", plot.FitMark{GNS: 1000, PSPMV: 0}, plot.CurveOptions{YScale: "log"}},
		{"zero g, log x", plot.FitMark{GNS: 0, PSPMV: 0.2}, plot.CurveOptions{LogX: true, YScale: "linear"}},
	} {
		s := base
		s.Fit = &tc.fit
		f, err := plot.Curve([]plot.Series{s}, &tc.opt)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if sum := render(t, "curve-unplaceable", f); !sum.has("A->B (GABA) - NOT CONVERGED") {
			t.Errorf("%s: texts %q", tc.name, sum.texts)
		}
	}
}

// kineticsSweep records the kinetics example's sweep in a new database
// and returns the spec, the database, the run and its points.
func kineticsSweep(t *testing.T) (*spec.Spec, *db.DB, *db.Run, []db.Point) {
	t.Helper()
	ctx := context.Background()
	k := plottest.KineticsSpec(t)
	d := openDB(t, plottest.DB(t, k, true, false))
	sw, err := plot.NewestSweep(ctx, d, k.Name)
	if err != nil || sw == nil {
		t.Fatalf("no sweep: %v", err)
	}
	pts, err := d.Points(ctx, db.PointFilter{RunID: sw.ID})
	if err != nil {
		t.Fatal(err)
	}
	return k, d, sw, pts
}

// TestHeatmapOfAPartOfTheGrid: a heat map of a part of the grid (a shard,
// a stopped sweep) keeps the grid's every row and column, those with no
// point grey (NaN); they were left out, and a quarter of the points drew
// a map that looked most of the grid. Points not of the spec's grid keep
// the axes they have.
func TestHeatmapOfAPartOfTheGrid(t *testing.T) {
	k, _, _, all := kineticsSweep(t)
	whole, err := plot.HeatmapFromPoints(k, all, 0, plot.AxisG, plot.AxisTDecay)
	if err != nil {
		t.Fatal(err)
	}
	gs := whole.X.Values
	// Drop the second and fifth g values' points, and the third t_decay's.
	var part []db.Point
	for _, p := range all {
		if p.GNS != gs[1] && p.GNS != gs[4] && p.TDecayMS != whole.Y.Values[2] {
			part = append(part, p)
		}
	}
	hd, err := plot.HeatmapFromPoints(k, part, 0, plot.AxisG, plot.AxisTDecay)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(hd.X.Values, whole.X.Values) || !slices.Equal(hd.Y.Values, whole.Y.Values) {
		t.Fatalf("axes of a part: %v x %v, want the grid's %v x %v", hd.X.Values, hd.Y.Values, whole.X.Values, whole.Y.Values)
	}
	for iy := range hd.Z {
		for ix, z := range hd.Z[iy] {
			gone := ix == 1 || ix == 4 || iy == 2
			if gone != math.IsNaN(z) || !gone && z != whole.Z[iy][ix] {
				t.Errorf("cell (%d, %d): %v, whole grid's %v", ix, iy, z, whole.Z[iy][ix])
			}
		}
	}
	// Points of another grid: the spec's values are not added.
	other := slices.Clone(part)
	for j := range other {
		other[j].GNS *= 1.5
	}
	if hd, err := plot.HeatmapFromPoints(k, other, 0, plot.AxisG, plot.AxisTDecay); err != nil || len(hd.X.Values) != len(gs)-2 {
		t.Errorf("points of another grid: %v, %v; want their own %d g values", hd, err, len(gs)-2)
	}
}
