package plot

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/plot/plotter"
)

// TestThin: a thinned curve is a subsequence of the points with the first
// and last, and in every slice of the drawn x range the lowest and highest
// point of that slice; at most 4 points a slice.
func TestThin(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, tc := range []struct {
		name   string
		n      int
		logX   bool
		spikes bool
	}{{"linear", 50000, false, false}, {"log, with spikes", 200000, true, true}, {"few", 3, true, false}, {"one x", 100, false, false}} {
		t.Run(tc.name, func(t *testing.T) {
			xy := make(plotter.XYs, tc.n)
			for i := range xy {
				x := 0.1 * math.Pow(100, float64(i)/float64(max(tc.n-1, 1)))
				if tc.name == "one x" {
					x = 2
				}
				xy[i] = plotter.XY{X: x, Y: math.Sqrt(x) + 0.01*rng.NormFloat64()}
				if tc.spikes && rng.IntN(5000) == 0 {
					xy[i].Y = 50 * rng.Float64()
				}
			}
			drawnX := func(x float64) float64 { return x }
			if tc.logX {
				drawnX = math.Log
			}
			const bins = 100
			out := thin(xy, bins, drawnX)
			if len(out) > 4*bins || len(out) == 0 {
				t.Fatalf("%d points of %d", len(out), len(xy))
			}
			if out[0] != xy[0] || out[len(out)-1] != xy[len(xy)-1] {
				t.Errorf("first or last point dropped")
			}
			// Subsequence, and every slice's extremes kept.
			lo, hi := drawnX(xy[0].X), drawnX(xy[len(xy)-1].X)
			slice := func(x float64) int {
				if hi <= lo {
					return 0
				}
				return min(int(bins*(drawnX(x)-lo)/(hi-lo)), bins-1)
			}
			kept := map[plotter.XY]bool{}
			j := 0
			for _, p := range out {
				for j < len(xy) && xy[j] != p {
					j++
				}
				if j == len(xy) {
					t.Fatalf("point %v is not in order among the originals", p)
				}
				kept[p] = true
			}
			lowest, highest := map[int]plotter.XY{}, map[int]plotter.XY{}
			for _, p := range xy {
				b := slice(p.X)
				if l, ok := lowest[b]; !ok || p.Y < l.Y {
					lowest[b] = p
				}
				if h, ok := highest[b]; !ok || p.Y > h.Y {
					highest[b] = p
				}
			}
			for b := range lowest {
				if !kept[lowest[b]] || !kept[highest[b]] {
					t.Errorf("slice %d: its lowest or highest point was dropped", b)
				}
			}
		})
	}
}
