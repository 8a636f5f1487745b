package plot

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"
	"sort"
	"strconv"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// HeatAxis is one axis of a heat map.
type HeatAxis struct {
	Name   string    // e.g. "g, first receptor"
	Unit   string    // e.g. "nS"
	Values []float64 // increasing
	Log    bool      // logarithmic axis (as for a log sweep)
}

// HeatmapData is |PSP| over a grid of two sweep axes.
type HeatmapData struct {
	Title string
	X, Y  HeatAxis
	// Z[iy][ix] is |PSP| in mV at (X.Values[ix], Y.Values[iy]); NaN where
	// the point is missing or failed.
	Z [][]float64
	// TargetMV is the target |PSP|, drawn as a contour; 0 for none.
	TargetMV float64
}

// HeatmapOptions configures Heatmap. A nil *HeatmapOptions means the
// defaults.
type HeatmapOptions struct {
	Width, Height vg.Length
}

// Heatmap draws |PSP| over two sweep axes as coloured cells with a colour
// bar, and the target PSP as a red contour line. Colours go by log |PSP|
// when it spans two decades or more.
func Heatmap(d *HeatmapData, opt *HeatmapOptions) (*Figure, error) {
	if opt == nil {
		opt = &HeatmapOptions{}
	}
	g, err := newGrid(d)
	if err != nil {
		return nil, err
	}
	title := d.Title
	inRange := d.TargetMV > 0 && g.z(d.TargetMV) >= g.lo && g.z(d.TargetMV) <= g.hi
	if d.TargetMV > 0 && !inRange {
		title += fmt.Sprintf(" (target %.3g mV is outside %.3g..%.3g mV)", d.TargetMV, g.value(g.lo), g.value(g.hi))
	}
	// Grey cells are read from the title, as the red line is.
	if slices.ContainsFunc(d.Z, func(row []float64) bool { return slices.ContainsFunc(row, math.IsNaN) }) {
		title += "; grey: failed or missing"
	}
	var target *levelLine
	if d.TargetMV > 0 {
		target = &levelLine{lines: levelLines(g, g.z(d.TargetMV)), style: draw.LineStyle{Color: contourColor, Width: vg.Points(2.2)}}
	}
	switch {
	case inRange && len(target.lines) == 0:
		// Within the colours' range, but crossed only next to failed
		// points (or touched, not crossed): no line to point to.
		title += fmt.Sprintf("; target %.3g mV: no line, no four recorded points around it", d.TargetMV)
	case inRange:
		title += fmt.Sprintf("; red line: target %.3g mV", d.TargetMV)
	}
	p := newPlot("", axisLabel(d.X), axisLabel(d.Y))
	// The axes along the image's edges, as a map's are (gonum's padding
	// left them a gap apart, which a trial took for a misdrawn axis).
	p.X.Padding, p.Y.Padding = 0, 0
	cm, err := moreland.NewLuminance(viridis)
	if err != nil {
		return nil, fmt.Errorf("plot: heatmap: %w", err)
	}
	cm.SetMin(g.lo)
	cm.SetMax(g.hi)
	hm := plotter.NewHeatMap(g, cm.Palette(255))
	hm.Min, hm.Max = g.lo, g.hi
	hm.NaN = color.Gray{Y: 200}
	if drawCells {
		p.Add(hm)
	} else {
		// An image of at least minPixels a side, a cell a block of
		// pixels. A path a cell, as gonum draws a small grid, left white
		// seams between the cells (and an SVG of a million points took
		// 92 MB); its image of a pixel a cell, scaled up with smoothing,
		// blended a missing (grey) cell into its neighbours in colours
		// the colour bar does not have.
		p.Add(imageCells{resampled(g, hm), hm})
	}
	for _, a := range []struct {
		ax *gplot.Axis
		h  HeatAxis
	}{{&p.X, d.X}, {&p.Y, d.Y}} {
		if a.h.Log {
			a.ax.Tick.Marker = expTicks{}
		} else {
			a.ax.Tick.Marker = valueTicks(a.h.Values)
		}
	}
	if target != nil {
		p.Add(target)
	}

	cb := newPlot("", "", "|PSP| (mV)")
	cb.HideX()
	cb.Y.Padding = 0
	cb.Add(colorBands{cm: cm, n: 128})
	if g.log {
		cb.Y.Tick.Marker = expTicks{}
	}
	if inRange {
		tl := hline(g.z(d.TargetMV), 0, 1)
		tl.Color, tl.Width = contourColor, vg.Points(2.2)
		cb.Add(tl)
	}
	w, h := size(opt.Width, opt.Height)
	return &Figure{Width: w, Height: h, draw: func(c draw.Canvas) {
		const barW = 3 * vg.Centimeter
		c = titled(c, p, title)
		p.Draw(draw.Crop(c, 0, -barW, 0, 0))
		// Align the bar with the data area: below it the tick labels and
		// axis name, above it the title.
		bc := draw.Crop(c, c.Max.X-c.Min.X-barW+6*vg.Millimeter, -6*vg.Millimeter, 13*vg.Millimeter, -3*vg.Millimeter)
		cb.Draw(bc)
	}}, nil
}

func axisLabel(a HeatAxis) string {
	if a.Unit == "" {
		return a.Name
	}
	return a.Name + " (" + a.Unit + ")"
}

// viridis's control colours, monotonic in luminance, none of them white so
// that a missing (grey) cell stands out.
var viridis = []color.Color{
	color.NRGBA{0x44, 0x01, 0x54, 255}, color.NRGBA{0x41, 0x44, 0x87, 255},
	color.NRGBA{0x2a, 0x78, 0x8e, 255}, color.NRGBA{0x22, 0xa8, 0x84, 255},
	color.NRGBA{0x7a, 0xd1, 0x51, 255}, color.NRGBA{0xfd, 0xe7, 0x25, 255},
}

// contourColor draws the target on viridis.
var contourColor = color.NRGBA{0xe6, 0x1e, 0x28, 255}

// grid is HeatmapData as a plotter.GridXYZ, in log10 coordinates on
// logarithmic axes so that cells of a log sweep have equal widths.
type grid struct {
	d      *HeatmapData
	lo, hi float64 // of z
	log    bool    // z is log10 |PSP|
}

// newGrid checks d's shape and axes and finds the range of its values.
// PSPs over a log sweep of g span decades: on a linear scale the largest
// took the colours and the cells near a target of a few mV were all one
// dark shade. When the values span two decades or more, the grid gives
// log10 |PSP|.
func newGrid(d *HeatmapData) (*grid, error) {
	nx, ny := len(d.X.Values), len(d.Y.Values)
	if nx < 2 || ny < 2 {
		return nil, fmt.Errorf("plot: heatmap needs at least 2 values on each axis, got %d x %d", nx, ny)
	}
	if len(d.Z) != ny {
		return nil, fmt.Errorf("plot: heatmap: %d rows of Z for %d y values", len(d.Z), ny)
	}
	g := &grid{d: d, lo: math.Inf(1), hi: math.Inf(-1)}
	for iy, row := range d.Z {
		if len(row) != nx {
			return nil, fmt.Errorf("plot: heatmap: row %d has %d values for %d x values", iy, len(row), nx)
		}
		for _, z := range row {
			if !math.IsNaN(z) {
				g.lo, g.hi = math.Min(g.lo, z), math.Max(g.hi, z)
			}
		}
	}
	for _, a := range []HeatAxis{d.X, d.Y} {
		for _, v := range a.Values {
			if a.Log && v <= 0 {
				return nil, fmt.Errorf("plot: heatmap: %s axis is logarithmic but has value %g", a.Name, v)
			}
		}
	}
	if math.IsInf(g.lo, 1) {
		return nil, fmt.Errorf("plot: heatmap: every point is missing")
	}
	if g.lo > 0 && g.hi >= 100*g.lo {
		g.log = true
		g.lo, g.hi = math.Log10(g.lo), math.Log10(g.hi)
	}
	if g.hi <= g.lo {
		g.hi = g.lo + 1e-9
	}
	return g, nil
}

// value is the |PSP| of grid value z.
func (g *grid) value(z float64) float64 {
	if g.log {
		return math.Pow(10, z)
	}
	return z
}

// z is |PSP| v as the grid gives it.
func (g *grid) z(v float64) float64 {
	if g.log {
		return math.Log10(v)
	}
	return v
}

// drawCells has tests draw a heat map as gonum does, a path a cell: the
// truth its image is checked against.
var drawCells = false

// Pixels of a resampled heat map along an axis: at least minPixels, that
// cells a few pixels wide stay sharp where a viewer smooths the image, at
// most maxPixels or the number of cells (a cell narrower than the range
// over that may then fall between pixels, as on a very uneven axis).
const minPixels, maxPixels = 600, 2048

// maxImagePixels bounds a heat map's image: an axis of many cells keeps
// a pixel a cell, and the other then gets fewer than minPixels, not an
// image of hundreds of MB (100,000 g values by 40 t_decay ones).
const maxImagePixels = 4 << 20

// resampled draws hm's cells as an image of pixels evenly spaced over its
// data range, each the colour of the cell it falls in, as the cells drawn
// one by one show it (on an uneven grid, a list axis, too).
func resampled(g *grid, hm *plotter.HeatMap) *plotter.Image {
	xmin, xmax, ymin, ymax := hm.DataRange()
	nx, ny := g.Dims()
	xe, ye := cellEdges(g.X, nx, xmin, xmax), cellEdges(g.Y, ny, ymin, ymax)
	w, h := imageSize(xe, ye)
	// A pixel's cell, by the pixel's middle.
	cells := func(e []float64, n int, at func(k int) float64) []int {
		idx := make([]int, n)
		for k := range idx {
			v := at(k)
			idx[k] = min(sort.Search(len(e)-1, func(i int) bool { return e[i+1] > v }), len(e)-2)
		}
		return idx
	}
	cx := cells(xe, w, func(k int) float64 { return xmin + (float64(k)+0.5)*(xmax-xmin)/float64(w) })
	cy := cells(ye, h, func(k int) float64 { return ymax - (float64(k)+0.5)*(ymax-ymin)/float64(h) })
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	pal := hm.Palette.Colors()
	ps := float64(len(pal)-1) / (hm.Max - hm.Min)
	// As gonum's HeatMap colours a cell.
	colour := func(v float64) color.Color {
		switch {
		case v < hm.Min:
			return hm.Underflow
		case v > hm.Max:
			return hm.Overflow
		case math.IsNaN(v), math.IsInf(ps, 0):
			return hm.NaN
		}
		return pal[int((v-hm.Min)*ps+0.5)]
	}
	for py, iy := range cy {
		for px, ix := range cx {
			if c := colour(g.Z(ix, iy)); c != nil {
				img.Set(px, py, c)
			}
		}
	}
	return plotter.NewImage(img, xmin, ymin, xmax, ymax)
}

// imageCells draws a heat map's image in place of its cells, laid out as
// the heat map (whose glyph boxes pad the axes).
type imageCells struct {
	img *plotter.Image
	*plotter.HeatMap
}

// Plot implements plot.Plotter.
func (ic imageCells) Plot(c draw.Canvas, plt *gplot.Plot) { ic.img.Plot(c, plt) }

// cellEdges returns the n+1 edges of n cells centred on at(0..n-1), from
// lo to hi: midway between neighbours, as gonum's HeatMap draws them.
func cellEdges(at func(int) float64, n int, lo, hi float64) []float64 {
	e := make([]float64, n+1)
	e[0], e[n] = lo, hi
	for i := 1; i < n; i++ {
		e[i] = (at(i-1) + at(i)) / 2
	}
	return e
}

// imageSize is the size of the image of the cells between edges xe and
// ye: pixels of each axis, within maxImagePixels unless that is less than
// a pixel a cell.
func imageSize(xe, ye []float64) (w, h int) {
	nx, ny := len(xe)-1, len(ye)-1
	w, h = pixels(xe), pixels(ye)
	for w*h > maxImagePixels && (w > nx || h > ny) {
		// Halve the axis with more pixels a cell, to whole pixels a
		// cell, down to one.
		if h > ny && (w <= nx || h/ny >= w/nx) {
			h = max(ny, h/2/ny*ny)
		} else {
			w = max(nx, w/2/nx*nx)
		}
	}
	return w, h
}

// pixels returns the number of pixels over edges' range: enough that the
// narrowest cell gets one, times as many as take it to minPixels, at most
// maxPixels.
func pixels(edges []float64) int {
	span := edges[len(edges)-1] - edges[0]
	narrowest := span
	for i := 1; i < len(edges); i++ {
		narrowest = math.Min(narrowest, edges[i]-edges[i-1])
	}
	n := len(edges) - 1
	if narrowest > 0 {
		n = max(n, int(math.Ceil(span/narrowest)))
	}
	n *= max(1, (minPixels+n-1)/n)
	// A pixel a cell at least, however many (an even axis of 3000 g
	// values beside a list axis).
	return min(n, max(maxPixels, len(edges)-1))
}

func (g *grid) Dims() (c, r int)   { return len(g.d.X.Values), len(g.d.Y.Values) }
func (g *grid) Z(c, r int) float64 { return g.z(g.d.Z[r][c]) }
func (g *grid) X(c int) float64    { return coord(g.d.X, c) }
func (g *grid) Y(r int) float64    { return coord(g.d.Y, r) }
func (g *grid) Min() float64       { return g.lo }
func (g *grid) Max() float64       { return g.hi }

func coord(a HeatAxis, i int) float64 {
	if a.Log {
		return math.Log10(a.Values[i])
	}
	return a.Values[i]
}

// expTicks labels an axis in log10 coordinates with the values themselves.
type expTicks struct{}

// Ticks implements plot.Ticker.
func (expTicks) Ticks(lo, hi float64) []gplot.Tick {
	ts := logTicks{}.Ticks(math.Pow(10, lo), math.Pow(10, hi))
	for i := range ts {
		ts[i].Value = math.Log10(ts[i].Value)
	}
	return ts
}

// colorBands draws a vertical colour bar as n bands of colour from
// cm's minimum to its maximum. gonum's ColorBar is one stretched image a
// pixel wide, which SVG viewers draw as a hairline.
type colorBands struct {
	cm palette.ColorMap
	n  int
}

// Plot implements plot.Plotter.
func (b colorBands) Plot(c draw.Canvas, plt *gplot.Plot) {
	trX, trY := plt.Transforms(&c)
	lo, hi := b.cm.Min(), b.cm.Max()
	for i := range b.n {
		v0 := lo + (hi-lo)*float64(i)/float64(b.n)
		v1 := lo + (hi-lo)*float64(i+1)/float64(b.n)
		col, err := b.cm.At(math.Min((v0+v1)/2, hi))
		if err != nil {
			continue
		}
		// Each band overlaps the next by a hair, so that no seam shows.
		r := vg.Rectangle{Min: vg.Point{X: trX(0), Y: trY(v0)}, Max: vg.Point{X: trX(1), Y: trY(v1) + vg.Points(0.3)}}
		c.SetColor(col)
		c.Fill(r.Path())
	}
}

// DataRange implements plot.DataRanger.
func (b colorBands) DataRange() (xmin, xmax, ymin, ymax float64) {
	return 0, 1, b.cm.Min(), b.cm.Max()
}

// valueTicks labels a linear axis at the swept values when they are few,
// and with linTicks otherwise. Labels have 6 significant digits: a linear
// range's values carry rounding (5 ms is 4.999999999999999 ms).
func valueTicks(v []float64) gplot.Ticker {
	if len(v) > 8 {
		return linTicks{}
	}
	return gplot.ConstantTicks(func() []gplot.Tick {
		ts := make([]gplot.Tick, len(v))
		for i, x := range v {
			ts[i] = gplot.Tick{Value: x, Label: strconv.FormatFloat(x, 'g', 6, 64)}
		}
		return ts
	}())
}

// levelLine draws where a grid crosses one level, by marching squares
// over the squares of four recorded points: gonum's contour reads a NaN
// (a failed point) as a value, and drew the target along the edge of the
// failed cells, where no recorded PSP crosses it.
type levelLine struct {
	lines []plotter.XYs // in grid coordinates (levelLines)
	style draw.LineStyle
}

// Plot implements plot.Plotter.
func (l *levelLine) Plot(c draw.Canvas, plt *gplot.Plot) {
	trX, trY := plt.Transforms(&c)
	for _, line := range l.lines {
		pts := make([]vg.Point, len(line))
		for k, p := range line {
			pts[k] = vg.Point{X: trX(p.X), Y: trY(p.Y)}
		}
		c.StrokeLines(l.style, pts)
	}
}

// levelLines returns where g crosses level v, in grid coordinates, as
// polylines.
func levelLines(g *grid, v float64) []plotter.XYs {
	nx, ny := g.Dims()
	// An edge between two grid nodes (node = iy*nx + ix, a < b) is crossed
	// at one point, whichever square it is computed for, so that the
	// pieces of two squares meet exactly.
	type edge struct{ a, b int }
	at := map[edge]plotter.XY{}
	cross := func(a, b int) edge {
		if a > b {
			a, b = b, a
		}
		e := edge{a, b}
		if _, ok := at[e]; !ok {
			xa, ya, za := g.X(a%nx), g.Y(a/nx), g.Z(a%nx, a/nx)
			xb, yb, zb := g.X(b%nx), g.Y(b/nx), g.Z(b%nx, b/nx)
			t := (v - za) / (zb - za)
			at[e] = plotter.XY{X: xa + t*(xb-xa), Y: ya + t*(yb-ya)}
		}
		return e
	}
	var segs [][2]edge
	for iy := 0; iy+1 < ny; iy++ {
		for ix := 0; ix+1 < nx; ix++ {
			// Corners counter-clockwise from the lower left.
			nodes := [4]int{iy*nx + ix, iy*nx + ix + 1, (iy+1)*nx + ix + 1, (iy+1)*nx + ix}
			var zs [4]float64
			for k, n := range nodes {
				zs[k] = g.Z(n%nx, n/nx)
			}
			if slices.ContainsFunc(zs[:], math.IsNaN) {
				continue // a failed point: nothing to draw across
			}
			var es []edge
			for k := range 4 {
				if (zs[k] >= v) != (zs[(k+1)%4] >= v) {
					es = append(es, cross(nodes[k], nodes[(k+1)%4]))
				}
			}
			// Two crossings join; four (a saddle) pair up in edge order.
			for k := 0; k+1 < len(es); k += 2 {
				segs = append(segs, [2]edge{es[k], es[k+1]})
			}
		}
	}
	// Chain the pieces into polylines: an edge joins at most two.
	ends := map[edge][]int{}
	for i, sg := range segs {
		ends[sg[0]] = append(ends[sg[0]], i)
		ends[sg[1]] = append(ends[sg[1]], i)
	}
	used := make([]bool, len(segs))
	next := func(e edge) (int, bool) {
		for _, i := range ends[e] {
			if !used[i] {
				return i, true
			}
		}
		return 0, false
	}
	var out []plotter.XYs
	// Open lines start at an edge with one piece; closed ones anywhere.
	starts := make([]int, 0, len(segs))
	for i, sg := range segs {
		if len(ends[sg[0]]) == 1 || len(ends[sg[1]]) == 1 {
			starts = append(starts, i)
		}
	}
	for i := range segs {
		starts = append(starts, i)
	}
	for _, i := range starts {
		if used[i] {
			continue
		}
		used[i] = true
		first, last := segs[i][0], segs[i][1]
		if len(ends[last]) == 1 {
			first, last = last, first
		}
		line := plotter.XYs{at[first], at[last]}
		for {
			j, ok := next(last)
			if !ok {
				break
			}
			used[j] = true
			if segs[j][0] == last {
				last = segs[j][1]
			} else {
				last = segs[j][0]
			}
			line = append(line, at[last])
		}
		out = append(out, line)
	}
	return out
}
