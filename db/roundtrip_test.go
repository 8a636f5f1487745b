package db

import (
	"context"
	"math"
	"testing"
)

// TestPointValuesRoundTripExactly: values recorded through the batched
// JSON insert come back bit for bit, in plain and nested columns, and odd
// strings survive.
func TestPointValuesRoundTripExactly(t *testing.T) {
	ctx := context.Background()
	d, run := sweepRunDB(t, "")
	vals := []float64{0.1 + 0.2, 1.0 / 3, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -0.7468298080736818, 123456789.123456789, 1e-300}
	odd := "tab\there \"quoted\" back\\slash \x01 µ"
	var pts []Point
	for i, v := range vals {
		tr := v / 3
		pts = append(pts, Point{Pathway: i, Pre: odd, Post: "b", Compartment: "c", Record: "d", Tag: "t",
			PointKey: string(rune('a' + i)), GNS: v, TDecayMS: -v, TRiseMS: &tr,
			Receptors: []Receptor{{Channel: "AMPA", GNS: v, TDecayMS: v / 7, TRiseMS: &tr}, {Channel: "NMDA", GNS: v / 11, TDecayMS: 2}},
			PSPMV:     v, BaselineMV: -v, TimeToPeakMS: v, Rise1090MS: &tr, PeaksMV: map[string]float64{"soma": v, "dend": v / 3},
			IHoldPA: &tr, DSpikeFired: i%2 == 0, Error: ""})
	}
	pts = append(pts, Point{Pathway: 99, PointKey: "zz", Status: PointFailed, Error: odd, Receptors: []Receptor{{Channel: "GABA", GNS: 1, TDecayMS: 2}}})
	if err := d.InsertPoints(ctx, run, pts); err != nil {
		t.Fatal(err)
	}
	got, err := d.Points(ctx, PointFilter{RunID: run})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(pts) {
		t.Fatalf("%d points, want %d", len(got), len(pts))
	}
	same := func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }
	for _, g := range got {
		var w *Point
		for i := range pts {
			if pts[i].PointKey == g.PointKey {
				w = &pts[i]
			}
		}
		if w.Status == PointFailed {
			if g.Status != PointFailed || g.Error != odd {
				t.Errorf("failed point: %+v", g)
			}
			continue
		}
		if g.TRiseMS == nil || g.Rise1090MS == nil || g.IHoldPA == nil {
			t.Fatalf("point %s: null where a value was written: %+v", g.PointKey, g)
		}
		if !same(g.GNS, w.GNS) || !same(g.TDecayMS, w.TDecayMS) || !same(*g.TRiseMS, *w.TRiseMS) || !same(g.PSPMV, w.PSPMV) ||
			!same(g.BaselineMV, w.BaselineMV) || !same(*g.Rise1090MS, *w.Rise1090MS) || g.HalfWidthMS != nil || !same(*g.IHoldPA, *w.IHoldPA) {
			t.Errorf("point %s: scalar columns differ: %+v vs %+v", g.PointKey, g, *w)
		}
		if g.Pre != odd || g.DSpikeFired != w.DSpikeFired {
			t.Errorf("point %s: pre %q dspike %v", g.PointKey, g.Pre, g.DSpikeFired)
		}
		for j, r := range w.Receptors {
			gr := g.Receptors[j]
			if gr.Channel != r.Channel || !same(gr.GNS, r.GNS) || !same(gr.TDecayMS, r.TDecayMS) || (r.TRiseMS == nil) != (gr.TRiseMS == nil) {
				t.Errorf("point %s receptor %d: %+v vs %+v", g.PointKey, j, gr, r)
			}
		}
		for k, v := range w.PeaksMV {
			if !same(g.PeaksMV[k], v) {
				t.Errorf("point %s peak %s: %v vs %v", g.PointKey, k, g.PeaksMV[k], v)
			}
		}
	}
}
