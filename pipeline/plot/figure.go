package plot

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Default figure sizes.
const (
	DefaultWidth  = 16 * vg.Centimeter
	DefaultHeight = 10 * vg.Centimeter
)

// PNGDPI is the resolution of PNG figures, enough for a slide or a
// printed page.
const PNGDPI = 150

// Figure is a drawing of a given size, ready to be written as PNG or SVG.
type Figure struct {
	Width, Height vg.Length
	draw          func(c draw.Canvas)
}

// Formats are the file formats Write accepts.
var Formats = []string{"png", "svg"}

// FormatOf returns the format named by path's extension, "png" or "svg".
func FormatOf(path string) (string, error) {
	ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), "."))
	for _, f := range Formats {
		if ext == f {
			return f, nil
		}
	}
	return "", fmt.Errorf("plot: %s: unknown format %q; want a .png or .svg file", path, ext)
}

// Write draws the figure in format ("png" or "svg") to w.
func (f *Figure) Write(w io.Writer, format string) error {
	if format != "png" && format != "svg" {
		return fmt.Errorf("plot: unknown format %q; want png or svg", format)
	}
	var c vg.CanvasWriterTo
	if format == "png" {
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(f.Width, f.Height), vgimg.UseDPI(PNGDPI))}
	} else {
		c = vgsvg.New(f.Width, f.Height)
	}
	dc := draw.New(c)
	// An opaque page: an SVG is otherwise transparent outside the axes,
	// and its black text vanishes on a dark slide.
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	f.draw(dc)
	if format == "svg" {
		var b bytes.Buffer
		if _, err := c.WriteTo(&b); err != nil {
			return fmt.Errorf("plot: write %s: %w", format, err)
		}
		if _, err := w.Write(fixSVGImages(b.Bytes())); err != nil {
			return fmt.Errorf("plot: write %s: %w", format, err)
		}
		return nil
	}
	if _, err := c.WriteTo(w); err != nil {
		return fmt.Errorf("plot: write %s: %w", format, err)
	}
	return nil
}

// fixSVGImages makes gonum's SVG images (a heat map's cells) fill the
// rectangle they are drawn in, a cell's pixels sharp: an SVG image keeps
// its aspect ratio by default, so a map of 5 x 3 cells drawn in a wide
// plot came out narrower than its axes, and its target line crossed the
// wrong cells (a trial, in a browser). gonum labels the PNG it embeds
// image/jpg.
func fixSVGImages(svg []byte) []byte {
	svg = bytes.ReplaceAll(svg, []byte("<image x="), []byte(`<image preserveAspectRatio="none" style="image-rendering:pixelated;image-rendering:crisp-edges" x=`))
	return bytes.ReplaceAll(svg, []byte(`xlink:href="data:image/jpg;base64,`), []byte(`xlink:href="data:image/png;base64,`))
}

// SVG returns the figure as an SVG element without the XML prologue, for
// inlining in HTML.
func (f *Figure) SVG() (string, error) {
	var b strings.Builder
	if err := f.Write(&b, "svg"); err != nil {
		return "", err
	}
	s := b.String()
	if i := strings.Index(s, "<svg"); i >= 0 {
		s = s[i:]
	}
	return s, nil
}

// sans is the face of every text: a figure for a colleague, not a thesis.
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// newPlot returns a plot with sans-serif text, light grid lines and the
// given title and axis labels.
func newPlot(title, x, y string) *gplot.Plot {
	p := gplot.New()
	p.X.Tick.Marker, p.Y.Tick.Marker = linTicks{}, linTicks{}
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Title.TextStyle.Font = font.From(sans, 11)
	for _, a := range []*gplot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sans, 10)
		a.Tick.Label.Font = font.From(sans, 9)
	}
	p.Legend.TextStyle.Font = font.From(sans, 9)
	p.Legend.ThumbnailWidth = 0.6 * vg.Centimeter
	p.Legend.Padding = vg.Points(2.5) // entries a little apart, not touching
	return p
}

// Okabe-Ito colours, distinguishable by colour-blind readers; series cycle
// through them.
var seriesColors = []color.Color{
	color.RGBA{0, 114, 178, 255},   // blue
	color.RGBA{213, 94, 0, 255},    // vermillion
	color.RGBA{0, 158, 115, 255},   // bluish green
	color.RGBA{204, 121, 167, 255}, // reddish purple
	color.RGBA{230, 159, 0, 255},   // orange
	color.RGBA{86, 180, 233, 255},  // sky blue
	color.RGBA{0, 0, 0, 255},       // black
	color.RGBA{240, 228, 66, 255},  // yellow
}

func seriesColor(i int) color.Color { return seriesColors[i%len(seriesColors)] }

var (
	grey  = color.Gray{Y: 110}
	black = color.Black
)

// titled draws title centred across the whole of c, in the plot's title
// style, and returns the canvas below it. A title wider than the figure
// is broken into lines at spaces, so that nothing of it is cut off.
func titled(c draw.Canvas, p *gplot.Plot, title string) draw.Canvas {
	if title == "" {
		return draw.Crop(c, 0, 0, 0, -2*vg.Millimeter)
	}
	sty := p.Title.TextStyle
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YTop
	pad := 2 * vg.Millimeter
	lines := wrap(title, c.Max.X-c.Min.X-2*pad, sty.Width)
	y := c.Max.Y - pad
	for _, l := range lines {
		c.FillText(sty, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: y}, l)
		y -= sty.Height(l)
	}
	return draw.Crop(c, 0, 0, 0, -(c.Max.Y - y + pad))
}

// wrap breaks s at spaces into lines no wider than w, as width measures
// them; a word wider than w gets a line of its own.
func wrap(s string, w vg.Length, width func(string) vg.Length) []string {
	// A unit stays with its number: "0.7 / mV" read as two things.
	var words []string
	for _, f := range strings.Fields(s) {
		if n := len(words); n > 0 && unitWord.MatchString(f) {
			words[n-1] += " " + f
			continue
		}
		words = append(words, f)
	}
	var lines []string
	cur := ""
	for _, word := range words {
		next := word
		if cur != "" {
			next = cur + " " + word
		}
		if cur != "" && width(next) > w {
			lines = append(lines, cur)
			next = word
		}
		cur = next
	}
	return append(lines, cur)
}

// unitWord matches a unit written after its number in a title, with the
// punctuation that may follow it.
var unitWord = regexp.MustCompile(`^(mV|V|ms|s|nS|pS|uS|µS|pA|nA|pF|um|µm|%)[);,.:]*$`)

// linTicks marks a linear axis at 1, 2 or 5 times a power of ten, about
// five labelled, with as many decimals as the step needs: gonum's default
// labels a 0.15 mV range "-74, -73, -73, -73".
type linTicks struct{}

// Ticks implements plot.Ticker.
func (linTicks) Ticks(lo, hi float64) []gplot.Tick {
	if !(hi > lo) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return []gplot.Tick{{Value: lo, Label: fmt.Sprintf("%g", lo)}}
	}
	raw := (hi - lo) / 6
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{2, 5, 10} {
		if step >= raw {
			break
		}
		step = m * mag
	}
	prec := max(0, int(-math.Floor(math.Log10(step)+1e-9)))
	k0, k1 := math.Ceil(lo/step-1e-9), math.Floor(hi/step+1e-9)
	if !(k1-k0 < 100) || math.Abs(k0) > 1<<50 || math.Abs(k1) > 1<<50 {
		// A range too narrow for its magnitude to step through (the step
		// counts lose their units): its ends.
		return []gplot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', -1, 64)}, {Value: hi, Label: strconv.FormatFloat(hi, 'g', -1, 64)}}
	}
	var ts []gplot.Tick
	for i := 0; i <= int(k1-k0); i++ {
		v := (k0 + float64(i)) * step
		if v == 0 {
			v = 0 // no "-0"
		}
		ts = append(ts, gplot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', prec, 64)})
		// Unlabelled minor ticks at the halves.
		if m := v + step/2; m <= hi {
			ts = append(ts, gplot.Tick{Value: m})
		}
	}
	return ts
}

// drawWithLegend draws title across the top of c, p below it on the left
// and p's legend in a strip on the right as wide as its longest entry, so
// that no legend hides data and no title is cut.
func drawWithLegend(c draw.Canvas, p *gplot.Plot, title string) {
	c = titled(c, p, title)
	leg := p.Legend
	r := leg.Rectangle(c)
	lw := r.Max.X - r.Min.X + 6*vg.Millimeter
	p.Legend = gplot.NewLegend() // drawn outside, below
	p.Draw(draw.Crop(c, 0, -lw, 0, 0))
	p.Legend = leg
	leg.Top, leg.Left = true, true
	leg.YOffs = -4 * vg.Millimeter
	leg.Draw(draw.Crop(c, c.Max.X-c.Min.X-lw+3*vg.Millimeter, 0, 0, 0))
}
