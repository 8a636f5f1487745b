package plot

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"slices"
	"testing"
)

// TestHeatmapRaster: a heat map is drawn as one image, on an even grid
// and on an uneven one (a list axis), and that image shows what the cells
// drawn one by one show, pixel for pixel but for the seams between cells.
// Uneven grids were drawn as cells whatever their size: 92 MB of SVG for
// a million points.
func TestHeatmapRaster(t *testing.T) {
	even := func(n int, lo, hi float64, log bool) HeatAxis {
		a := HeatAxis{Name: "a", Unit: "u", Log: log}
		for i := range n {
			f := float64(i) / float64(n-1)
			if log {
				a.Values = append(a.Values, lo*math.Pow(hi/lo, f))
			} else {
				a.Values = append(a.Values, lo+(hi-lo)*f)
			}
		}
		return a
	}
	d := &HeatmapData{Title: "t", X: even(80, 0.1, 10, true), Y: even(70, 1, 8, false)}
	for iy := range d.Y.Values {
		row := make([]float64, len(d.X.Values))
		for ix := range row {
			row[ix] = float64(ix*ix) + 40*float64(iy) // not symmetric: a flip shows
		}
		d.Z = append(d.Z, row)
	}
	// Uneven on both axes: y a list whose steps grow, x log values drawn
	// on a linear axis.
	uneven := *d
	uneven.Y.Name = "uneven"
	uneven.X.Log = false
	uneven.Y.Values = nil
	for i := range d.Y.Values {
		uneven.Y.Values = append(uneven.Y.Values, 1+0.1*float64(i)+0.003*float64(i*i))
	}
	// As SVG: one image, not a path a cell.
	f, err := Heatmap(&uneven, nil)
	if err != nil {
		t.Fatal(err)
	}
	var svg bytes.Buffer
	if err := f.Write(&svg, "svg"); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(svg.Bytes(), []byte("<path")); n > 500 || !bytes.Contains(svg.Bytes(), []byte("<image")) {
		t.Errorf("uneven grid as SVG: %d paths, %d bytes", n, svg.Len())
	}
	draw := func(d *HeatmapData) image.Image { return heatmapPNG(t, d) }
	// The mean difference of two renderings, a channel a pixel, 0..1.
	differ := func(a, b image.Image) float64 {
		if a.Bounds() != b.Bounds() {
			t.Fatalf("sizes %v and %v", a.Bounds(), b.Bounds())
		}
		var sum float64
		n := 0
		for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
			for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
				r1, g1, b1, _ := a.At(x, y).RGBA()
				r2, g2, b2, _ := b.At(x, y).RGBA()
				sum += (math.Abs(float64(r1)-float64(r2)) + math.Abs(float64(g1)-float64(g2)) + math.Abs(float64(b1)-float64(b2))) / 3 / 65535
				n++
			}
		}
		return sum / float64(n)
	}
	// The same data upside down and left to right: what a misplaced image
	// would show.
	flip := func(d *HeatmapData) *HeatmapData {
		flipped := *d
		flipped.Z = nil
		for iy := len(d.Z) - 1; iy >= 0; iy-- {
			row := append([]float64(nil), d.Z[iy]...)
			for i, j := 0, len(row)-1; i < j; i, j = i+1, j-1 {
				row[i], row[j] = row[j], row[i]
			}
			flipped.Z = append(flipped.Z, row)
		}
		return &flipped
	}
	for _, d := range []*HeatmapData{d, &uneven} {
		raster, wrong := draw(d), draw(flip(d))
		drawCells = true
		cells := draw(d)
		drawCells = false
		// The cells' seams make some difference; a misplaced image many
		// times more.
		if good, bad := differ(raster, cells), differ(wrong, cells); !(good < 0.03 && good < bad/4) {
			t.Errorf("%s: image and cells differ by %.4f a pixel on average; a flipped image by %.4f", d.Y.Name, good, bad)
		}
	}
}

// TestHeatmapColoursByDecade: values spanning two decades or more are
// coloured by log10 |PSP|, so that 0.2 and 0.4 mV under a 20 mV maximum
// are two colours apart as far as 2 and 4 mV are (on a linear scale both
// fell in the darkest hundredth); a narrower span stays linear, and a
// missing cell stays NaN.
func TestHeatmapColoursByDecade(t *testing.T) {
	axis := HeatAxis{Name: "a", Values: []float64{1, 2}}
	for _, tc := range []struct {
		z        [][]float64
		log      bool
		lo, hi   float64
		cellZ    float64 // the grid's value of Z[0][0]
		targetMV float64
	}{
		{[][]float64{{0.2, 0.4}, {2, 20}}, true, math.Log10(0.2), math.Log10(20), math.Log10(0.2), 0.5},
		{[][]float64{{0.2, 0.4}, {2, 19.9}}, false, 0.2, 19.9, 0.2, 0.5},
		{[][]float64{{math.NaN(), 0.1}, {2, 30}}, true, -1, math.Log10(30), math.NaN(), 0},
	} {
		d := &HeatmapData{X: axis, Y: axis, Z: tc.z, TargetMV: tc.targetMV}
		g, err := newGrid(d)
		if err != nil {
			t.Fatal(err)
		}
		if g.log != tc.log || math.Abs(g.lo-tc.lo) > 1e-12 || math.Abs(g.hi-tc.hi) > 1e-12 {
			t.Errorf("%v: log %v, range %v..%v; want %v, %v..%v", tc.z, g.log, g.lo, g.hi, tc.log, tc.lo, tc.hi)
		}
		if z := g.Z(0, 0); !(z == tc.cellZ || math.IsNaN(z) && math.IsNaN(tc.cellZ)) && math.Abs(z-tc.cellZ) > 1e-12 {
			t.Errorf("%v: cell (0, 0) is %v, want %v", tc.z, z, tc.cellZ)
		}
		if g.log && math.Abs(g.value(g.z(0.5))-0.5) > 1e-12 {
			t.Errorf("value(z(0.5)) = %v", g.value(g.z(0.5)))
		}
		if _, err := Heatmap(d, nil); err != nil {
			t.Errorf("%v: %v", tc.z, err)
		}
	}
}

// TestHeatmapContourOnLogColours: on log colours the target contour is
// drawn where |PSP| is the target: across a map whose |PSP| rises by a
// decade every third of its width, from 0.1 to 10 mV, the red line of a
// 1 mV target runs down the middle.
func TestHeatmapContourOnLogColours(t *testing.T) {
	x := HeatAxis{Name: "g", Unit: "nS", Log: true}
	for i := range 7 {
		x.Values = append(x.Values, math.Pow(10, float64(i)/3))
	}
	y := HeatAxis{Name: "t", Unit: "ms", Values: []float64{1, 2, 3}}
	d := &HeatmapData{X: x, Y: y, TargetMV: 1}
	for range y.Values {
		row := make([]float64, len(x.Values))
		for i := range row {
			row[i] = 0.1 * math.Pow(10, float64(i)/3) // 0.1 .. 10 mV
		}
		d.Z = append(d.Z, row)
	}
	img := heatmapPNG(t, d)
	bounds := img.Bounds()
	xs := redXs(img)
	if len(xs) < 20 {
		t.Fatalf("%d red pixels in the map: no contour", len(xs))
	}
	sum := 0
	for _, v := range xs {
		sum += v
	}
	// The data area spans about 8%-70% of the width; its middle is ~39%.
	if mid := float64(sum) / float64(len(xs)) / float64(bounds.Dx()); mid < 0.3 || mid > 0.48 {
		t.Errorf("the contour runs at %.0f%% of the width, want the middle of the map (about 39%%)", 100*mid)
	}
}

// redXs returns the x of every pixel of the contour's red in the map
// (left of the colour bar).
func redXs(img image.Image) []int {
	bounds := img.Bounds()
	var xs []int
	for py := bounds.Min.Y; py < bounds.Max.Y; py++ {
		for px := bounds.Min.X; px < bounds.Max.X*3/4; px++ {
			r, g, bl, _ := img.At(px, py).RGBA()
			if r>>8 > 200 && g>>8 < 80 && bl>>8 < 80 {
				xs = append(xs, px)
			}
		}
	}
	return xs
}

// heatmapPNG draws d and decodes the PNG it writes.
func heatmapPNG(t *testing.T, d *HeatmapData) image.Image {
	t.Helper()
	f, err := Heatmap(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := f.Write(&b, "png"); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestValueTicks: a few swept values label their own ticks, readably
// though a linear range's values carry rounding (2 to 23 ms in 8 steps
// gives 4.999999999999999 ms).
func TestValueTicks(t *testing.T) {
	v := []float64{2, 4.999999999999999, 8, 11, 13.999999999999998, 16.999999999999996, 20, 23}
	ticks := valueTicks(v).Ticks(v[0], v[len(v)-1])
	var labels []string
	for _, tk := range ticks {
		labels = append(labels, tk.Label)
	}
	if want := []string{"2", "5", "8", "11", "14", "17", "20", "23"}; !slices.Equal(labels, want) {
		t.Errorf("labels %q, want %q (values %v)", labels, want, v)
	}
}

// TestHeatmapContourSkipsFailedCells: the target contour is drawn only
// between recorded points: a map whose |PSP| crosses the target once, its
// right quarter failed (NaN) next to points above the target, has the
// same contour as the map with those points recorded above the target;
// a second line was drawn along the edge of the failed cells.
func TestHeatmapContourSkipsFailedCells(t *testing.T) {
	x := HeatAxis{Name: "g", Unit: "nS", Log: true}
	for i := range 8 {
		x.Values = append(x.Values, math.Pow(10, float64(i)/3))
	}
	y := HeatAxis{Name: "t", Unit: "ms", Values: []float64{1, 2, 3}}
	contourXs := func(failed float64) []int {
		d := &HeatmapData{X: x, Y: y, TargetMV: 1}
		for range y.Values {
			row := make([]float64, len(x.Values))
			for i := range row {
				row[i] = 0.3 * math.Pow(10, float64(i)/3) // 0.3 .. 30 mV, 1 mV near column 2
				if i >= 6 {
					row[i] = failed
				}
			}
			d.Z = append(d.Z, row)
		}
		return redXs(heatmapPNG(t, d))
	}
	// A target crossed only next to failed points: no line, and the
	// title promises none.
	{
		d := &HeatmapData{X: x, Y: y, TargetMV: 1, Title: "t"}
		for range y.Values {
			d.Z = append(d.Z, []float64{0.3, 0.5, 0.7, math.NaN(), 3, 10, 20, 30})
		}
		f, err := Heatmap(d, nil)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := f.Write(&b, "svg"); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b.Bytes(), []byte("red line")) || !bytes.Contains(b.Bytes(), []byte("target 1 mV: no line")) {
			t.Errorf("target crossed only at failed points: the title promises a line")
		}
	}
	want, got := contourXs(40), contourXs(math.NaN())
	// The failed cells are named, grey, in the title.
	for _, failed := range []float64{40, math.NaN()} {
		d := &HeatmapData{X: x, Y: y, TargetMV: 1, Title: "t"}
		for range y.Values {
			d.Z = append(d.Z, []float64{0.3, 1, 3, 10, 20, 30, failed, failed})
		}
		f, err := Heatmap(d, nil)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := f.Write(&b, "svg"); err != nil {
			t.Fatal(err)
		}
		if has := bytes.Contains(b.Bytes(), []byte("grey: failed or missing")); has != math.IsNaN(failed) {
			t.Errorf("failed cells %v: title names grey cells: %v", failed, has)
		}
	}
	if len(want) < 20 {
		t.Fatalf("%d red pixels: no contour where the map crosses the target", len(want))
	}
	// (The red pixels counted vary with the colours under the line: the
	// failed cells change the colour scale.)
	if slices.Max(got) > slices.Max(want)+2 || len(got) > 3*len(want)/2 {
		t.Errorf("with failed points: %d red pixels up to x=%d; recorded above the target: %d up to x=%d: a contour along the failed cells",
			len(got), slices.Max(got), len(want), slices.Max(want))
	}
}

// TestPixelsPerCell: a resampled axis gives every cell a pixel, however
// many cells (3000 g values beside a list axis lost a third of their
// columns to a 2048-pixel cap), and a few uneven cells at least
// minPixels, the narrowest one pixel or more.
func TestPixelsPerCell(t *testing.T) {
	even := make([]float64, 3001)
	for i := range even {
		even[i] = float64(i)
	}
	if n := pixels(even); n < 3000 {
		t.Errorf("3000 even cells: %d pixels", n)
	}
	uneven := []float64{0.5, 1.5, 2.5, 4, 6.5, 9.5} // narrowest 1 of 9
	if n := pixels(uneven); n < minPixels || n > maxPixels || n < 9 {
		t.Errorf("5 uneven cells: %d pixels", n)
	}
}

// TestHeatmapImageSize: a heat map's image gives each cell a block of
// pixels, minPixels a side at least, so that scaling it to the figure
// blends cells only at their edges (an even 200 x 40 grid was an image of
// a pixel a cell, smoothed into colours the colour bar does not have); an
// axis of many cells keeps a pixel a cell within maxImagePixels.
func TestHeatmapImageSize(t *testing.T) {
	edges := func(n int) []float64 {
		e := make([]float64, n+1)
		for i := range e {
			e[i] = float64(i)
		}
		return e
	}
	for _, tc := range []struct {
		nx, ny int
		w, h   int
	}{
		{200, 40, 600, 600},
		{80, 70, 640, 630},
		{3, 5, 600, 600},
		{1000, 1000, 1000, 1000},
		// The image stays within maxImagePixels: 100,000 x 40 pixels.
		{100000, 40, 100000, 40},
		{3000, 10, 3000, 600},
		{20000, 40, 20000, 120},
	} {
		w, h := imageSize(edges(tc.nx), edges(tc.ny))
		if w != tc.w || h != tc.h || w < tc.nx || h < tc.ny || w%tc.nx != 0 || h%tc.ny != 0 {
			t.Errorf("%d x %d cells: image %d x %d, want %d x %d, whole pixels a cell", tc.nx, tc.ny, w, h, tc.w, tc.h)
		}
		if w*h > maxImagePixels && (w > tc.nx || h > tc.ny) {
			t.Errorf("%d x %d cells: image of %d pixels, over %d", tc.nx, tc.ny, w*h, maxImagePixels)
		}
	}
}
