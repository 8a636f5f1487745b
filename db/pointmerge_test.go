package db

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// mergeFixture records, in one experiment, a run of point rows and a run
// of blocks whose index ranges overlap (points arrive out of order, as
// from several workers), over two pathways, with failed points and a grid
// longer than a million points, where keys do not sort as indexes. It
// returns every point it recorded.
func mergeFixture(t *testing.T) (*DB, []Point) {
	t.Helper()
	ctx := context.Background()
	d, rowsRun := sweepRunDB(t, "")
	eid, err := d.PutExperiment(ctx, "x", []byte("spec"))
	if err != nil {
		t.Fatal(err)
	}
	blocksRun, err := d.CreateRun(ctx, NewRun(eid, CommandSweep, nil))
	if err != nil {
		t.Fatal(err)
	}
	var all []Point
	var rows []Point
	for i, k := range []string{"p0001/g000005/d-/r-", "p0001/g000300/d-/r-", "manual", "p0000/g000002/d-/r-"} {
		p := testPoint(i%2, k)
		p.GNS = float64(i)
		p.Receptors[0].GNS = p.GNS
		rows = append(rows, p)
	}
	rows[1].Status, rows[1].Error = PointFailed, "sim: unstable"
	if err := d.InsertPoints(ctx, rowsRun, rows); err != nil {
		t.Fatal(err)
	}
	for _, p := range rows {
		p.RunID = rowsRun
		if p.Status == PointFailed {
			p.PSPMV, p.BaselineMV, p.TimeToPeakMS = 0, 0, 0
		}
		all = append(all, p)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var blocks []*PointBlock
	for _, g := range []struct {
		pathway int
		axes    [3]int
		n       int
	}{{0, [3]int{400, 0, 0}, 400}, {1, [3]int{100, 3, 0}, 300}, {1, [3]int{2000000, 0, 0}, 60}} {
		idx := rng.Perm(g.n)
		if g.axes[0] > 1e6 { // around the 7-digit keys
			for i := range idx {
				idx[i] = 999970 + idx[i]
			}
		}
		// Blocks of 50 points taken in arrival order: ranges overlap.
		for lo := 0; lo < len(idx); lo += 50 {
			b := &PointBlock{Pathway: g.pathway, Channels: []string{"AMPA"}, Compartments: []string{"soma"}, Axes: g.axes}
			for _, x := range idx[lo:min(lo+50, len(idx))] {
				bp := BlockPoint{Index: x, GNS: []float64{float64(x%97) / 10}, TDecayMS: []float64{2}, TRiseMS: []float64{math.NaN()},
					PSPMV: float64(x) / 7, BaselineMV: -70, TimeToPeakMS: 3, Rise1090MS: 1, HalfWidthMS: math.NaN(),
					IHoldPA: math.NaN(), PeaksMV: []float64{float64(x) / 7}}
				if x%13 == 0 {
					bp.Error = "sim: unstable"
				}
				b.Add(&bp)
			}
			blocks = append(blocks, b)
			all = append(all, b.Points(blocksRun)...)
		}
	}
	if err := d.InsertPointBlocks(ctx, blocksRun, blocks); err != nil {
		t.Fatal(err)
	}
	return d, all
}

// TestEachPointOrder: EachPoint lists exactly the points a filter
// selects, in the order sortPoints defines, rows and block points merged,
// as far as the limit.
func TestEachPointOrder(t *testing.T) {
	ctx := context.Background()
	d, all := mergeFixture(t)
	one, lo, hi := 1, 1.0, 5.0
	tests := []struct {
		name string
		f    PointFilter
		keep func(p *Point) bool
	}{
		{"all", PointFilter{}, func(*Point) bool { return true }},
		{"experiment", PointFilter{Experiment: "x"}, func(*Point) bool { return true }},
		{"run of blocks", PointFilter{RunID: 2}, func(p *Point) bool { return p.RunID == 2 }},
		{"pathway", PointFilter{Pathway: &one}, func(p *Point) bool { return p.Pathway == 1 }},
		{"failed", PointFilter{Status: PointFailed}, func(p *Point) bool { return p.Status == PointFailed }},
		{"ok", PointFilter{Status: PointOK}, func(p *Point) bool { return p.Status == PointOK }},
		{"g range", PointFilter{GMinNS: &lo, GMaxNS: &hi}, func(p *Point) bool { return p.GNS >= lo && p.GNS <= hi }},
		{"limit", PointFilter{Limit: 37}, func(*Point) bool { return true }},
		{"limit past the end", PointFilter{Limit: 5000}, func(*Point) bool { return true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []Point
			for _, p := range all {
				if tt.keep(&p) {
					want = append(want, p)
				}
			}
			sortPoints(want)
			if tt.f.Limit > 0 && len(want) > tt.f.Limit {
				want = want[:tt.f.Limit]
			}
			var got []Point
			if err := d.EachPoint(ctx, tt.f, func(p *Point) error {
				q := *p
				q.ID = 0
				got = append(got, q)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(want) == 0 {
				t.Fatal("the filter selects nothing: no test")
			}
			if !samePoints(got, want) {
				for i := range min(len(got), len(want)) {
					if got[i].PointKey != want[i].PointKey || got[i].RunID != want[i].RunID {
						t.Fatalf("%d points, want %d; first difference at %d: %s run %d, want %s run %d",
							len(got), len(want), i, got[i].PointKey, got[i].RunID, want[i].PointKey, want[i].RunID)
					}
				}
				t.Fatalf("%d points, want %d", len(got), len(want))
			}
		})
	}
}

// TestEachPointReadsBlocksWhenDue: the first point goes out when only the
// blocks that may hold an earlier one are read, and the error of fn stops
// the listing.
func TestEachPointReadsBlocksWhenDue(t *testing.T) {
	ctx := context.Background()
	d, run := sweepRunDB(t, "")
	var blocks []*PointBlock
	for lo := 0; lo < 1000; lo += 100 {
		b := &PointBlock{Pathway: 0, Channels: []string{"AMPA"}, Compartments: []string{"soma"}, Axes: [3]int{1000, 0, 0}}
		for x := lo + 99; x >= lo; x-- {
			b.Add(&BlockPoint{Index: x, GNS: []float64{1}, TDecayMS: []float64{2}, TRiseMS: []float64{math.NaN()},
				PeaksMV: []float64{0}})
		}
		blocks = append(blocks, b)
	}
	// The last block also holds index 150: the second block is then due
	// with the first.
	blocks[9].Add(&BlockPoint{Index: 150 + 1000, GNS: []float64{1}, TDecayMS: []float64{2}, TRiseMS: []float64{math.NaN()}, PeaksMV: []float64{0}})
	if err := d.InsertPointBlocks(ctx, run, blocks); err != nil {
		t.Fatal(err)
	}
	metas, err := blockMetas(ctx, d.sql, `SELECT b.id, b.run_id, b.pathway, b.n_g, b.n_t_decay, b.n_t_rise, b.first_index FROM point_blocks b`, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := pointMerge{ctx: ctx, q: d.sql, f: &PointFilter{}, metas: metas}
	next, ok, err := m.next(nil)
	if err != nil || !ok || next.idx != 0 || m.loaded != 1 {
		t.Errorf("first point: index %d (ok %v, %v) after reading %d blocks; want 0 after 1", next.idx, ok, err, m.loaded)
	}
	stop := errors.New("stop")
	n := 0
	err = d.EachPoint(ctx, PointFilter{}, func(*Point) error {
		if n++; n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Errorf("EachPoint went on to %d points after fn failed: %v", n, err)
	}
}
