package db

import (
	"context"
	"math/bits"
	"testing"
)

// TestRecordedPoints: the compact set a resumed sweep skips by holds
// exactly the points pointKeys lists, whatever the blocks' layout, and
// rows by key; a point in two blocks counts once.
func TestRecordedPoints(t *testing.T) {
	ctx := context.Background()
	d, run := sweepRunDB(t, "")
	seq, _ := seqBlockFixture(40) // pathway 1, grid of 1000, indexes 10..49 in any order: layout '+'
	sparse, _ := blockFixture(12) // pathway 3, grid of 50x4, indexes 1, 8, .. 78: stored
	one, _ := blockFixture(1)     // a single point: every slot stored (0003's layout)
	one.Pathway = 5
	// Indexes 197, 204 and 211: the last two lie outside the 200 points of
	// a 50x4 grid.
	far, farPts := blockFixture(31)
	far.Pathway = 6
	far.Reset()
	for i := 28; i < 31; i++ {
		far.Add(&farPts[i])
	}
	if err := d.InsertPointBlocks(ctx, run, []*PointBlock{seq, sparse, one, far}); err != nil {
		t.Fatal(err)
	}
	// A block can hold an index another block has (49) beside a new one.
	_, pts := seqBlockFixture(40)
	dup := &PointBlock{Pathway: 1, Channels: seq.Channels, Compartments: seq.Compartments, Axes: seq.Axes}
	for _, p := range pts {
		if p.Index == 49 {
			dup.Add(&p)
			p.Index = 60
			dup.Add(&p)
		}
	}
	if err := d.InsertPointBlocks(ctx, run, []*PointBlock{dup}); err != nil {
		t.Fatal(err)
	}
	if err := d.InsertPoints(ctx, run, []Point{
		{Pathway: 2, PointKey: GridKey(2, [3]int{10, 0, 0}, 4), Status: PointOK},
		{Pathway: 9, PointKey: "manual", Status: PointOK},
	}); err != nil {
		t.Fatal(err)
	}

	keys, err := pointKeys(ctx, d, run)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := d.RecordedPoints(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	if want := 40 + 12 + 1 + 3 + 1 + 2; len(keys) != want {
		t.Fatalf("pointKeys: %d keys, want %d", len(keys), want)
	}
	if rec.Len() != len(keys) {
		t.Errorf("Len %d, pointKeys %d", rec.Len(), len(keys))
	}
	set := len(rec.keys)
	for _, s := range rec.grids {
		for _, w := range s {
			set += bits.OnesCount64(w)
		}
	}
	if set != rec.Len() {
		t.Errorf("%d bits and keys set, Len %d", set, rec.Len())
	}
	if len(rec.keys) != 4 { // the two rows, and far's two indexes outside its grid
		t.Errorf("%d points kept by key, want 4: %v", len(rec.keys), rec.keys)
	}
	grids := map[int][3]int{1: seq.Axes, 2: {10, 0, 0}, 3: sparse.Axes, 5: one.Axes, 6: far.Axes, 7: {3, 0, 0}}
	for p, axes := range grids {
		for i := -1; i < 1100; i++ {
			_, want := keys[GridKey(p, axes, i)]
			if got := rec.Has(p, axes, i); got != want {
				t.Errorf("Has(%d, %v, %d) = %v, want %v", p, axes, i, got, want)
			}
		}
	}
	if rec.Has(1, [3]int{1000, 1, 0}, 10) {
		t.Error("a point is recorded in a grid of other axes")
	}
	var none *Recorded
	if none.Has(1, seq.Axes, 10) || none.Len() != 0 {
		t.Error("a nil set is not empty")
	}
}
