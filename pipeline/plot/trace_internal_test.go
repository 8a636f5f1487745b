package plot

import (
	"testing"

	"gonum.org/v1/plot/vg"
)

// TestLabelBox: the PSP's label goes right of its point and above it
// (below for an IPSP), unless a trace crosses that corner and another is
// clear, or it would leave the plotting area; it hid a stretch of a
// trial's dendrite trace.
func TestLabelBox(t *testing.T) {
	bounds := vg.Rectangle{Max: vg.Point{X: 400, Y: 300}}
	at := vg.Point{X: 100, Y: 100}
	line := func(y vg.Length, x0, x1 vg.Length) []vg.Point {
		var ps []vg.Point
		for x := x0; x <= x1; x += 2 {
			ps = append(ps, vg.Point{X: x, Y: y})
		}
		return ps
	}
	right, left := func(r vg.Rectangle) bool { return r.Min.X > at.X }, func(r vg.Rectangle) bool { return r.Max.X < at.X }
	above, below := func(r vg.Rectangle) bool { return r.Min.Y > at.Y }, func(r vg.Rectangle) bool { return r.Max.Y < at.Y }
	for _, tc := range []struct {
		name   string
		at     vg.Point
		below  bool
		avoid  []vg.Point
		wantLR func(vg.Rectangle) bool
		wantUD func(vg.Rectangle) bool
	}{
		{"clear", at, false, nil, right, above},
		{"clear, an IPSP", at, true, nil, right, below},
		{"a trace right above", at, false, line(105, 100, 200), right, below},
		{"a trace right below, an IPSP", at, true, line(95, 100, 200), right, above},
		{"traces right of it", at, false, append(line(105, 100, 200), line(95, 100, 200)...), left, above},
		// Every corner crossed alike: the usual one.
		{"crossed everywhere", at, false, append(line(105, 0, 300), line(95, 0, 300)...), right, above},
		{"at the right edge", vg.Point{X: 380, Y: 100}, false, nil, left, above},
	} {
		r := labelBox(tc.at, 50, 10, tc.below, tc.avoid, bounds)
		if tc.at == at && (!tc.wantLR(r) || !tc.wantUD(r)) || tc.at != at && !(r.Max.X < tc.at.X) {
			t.Errorf("%s: box %v", tc.name, r)
		}
		if r.Max.X-r.Min.X != 50 || r.Max.Y-r.Min.Y != 10 {
			t.Errorf("%s: box %v is not 50 x 10", tc.name, r)
		}
	}
}
