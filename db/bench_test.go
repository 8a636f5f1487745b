package db

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"
)

// BenchmarkInsertPoints records sweep-like points (two compartments, one
// receptor) into a real file, per point.
func BenchmarkInsertPoints(b *testing.B) {
	ctx := context.Background()
	const n = 8192
	pts := make([]Point, n)
	for i := range pts {
		g := 0.1 + float64(i)*1e-3
		hw := 26.1 + g
		pts[i] = Point{Pathway: 0, Pre: "L23E", Post: "L23E", Compartment: "dend", Record: "soma", Tag: "L23E",
			GNS: g, TDecayMS: 2, Receptors: []Receptor{{Channel: "AMPA", GNS: g, TDecayMS: 2}},
			PSPMV: 0.7 * g, BaselineMV: -70, TimeToPeakMS: 9.1, Rise1090MS: &hw, HalfWidthMS: &hw,
			PeaksMV: map[string]float64{"soma": 0.7 * g, "dend": 1.2 * g}}
	}
	i := 0
	for b.Loop() {
		b.StopTimer()
		d, run := newSweepRun(b, filepath.Join(b.TempDir(), "b.db"))
		for j := range pts {
			pts[j].PointKey = fmt.Sprintf("p0000/g%06d/d-/r-", j+i)
		}
		i += n
		b.StartTimer()
		for lo := 0; lo < n; lo += 4096 {
			if err := d.InsertPoints(ctx, run, pts[lo:lo+4096]); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		d.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/point")
}

// BenchmarkInsertPointBlocks records the same points as sweeps do, in
// blocks of 1024, four blocks a transaction; per point. Against
// BenchmarkInsertPoints it is the saving of block storage.
func BenchmarkInsertPointBlocks(b *testing.B) {
	ctx := context.Background()
	const n, per = 65536, 1024
	var blocks []*PointBlock
	for lo := 0; lo < n; lo += per {
		blk := &PointBlock{Pre: "L23E", Post: "L23E", Compartment: "dend", Record: "soma", Tag: "L23E",
			Channels: []string{"AMPA"}, Compartments: []string{"soma", "dend"}, Axes: [3]int{n, 0, 0}}
		for i := lo; i < lo+per; i++ {
			g := 0.1 + float64(i)*1e-3
			blk.Add(&BlockPoint{Index: i, GNS: []float64{g}, TDecayMS: []float64{2}, TRiseMS: []float64{nan()},
				PSPMV: 0.7 * g, BaselineMV: -70, TimeToPeakMS: 9.1, Rise1090MS: 26.1 + g, HalfWidthMS: 26.1 + g,
				IHoldPA: nan(), PeaksMV: []float64{0.7 * g, 1.2 * g}})
		}
		blocks = append(blocks, blk)
	}
	for b.Loop() {
		b.StopTimer()
		d, run := newSweepRun(b, filepath.Join(b.TempDir(), "b.db"))
		b.StartTimer()
		for lo := 0; lo < len(blocks); lo += 4 {
			if err := d.InsertPointBlocks(ctx, run, blocks[lo:lo+4]); err != nil {
				b.Fatal(err)
			}
		}
		if err := d.Close(); err != nil { // the final checkpoint is part of recording
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/point")
}

func nan() float64 { return math.NaN() }

// BenchmarkStoreBlock is the layout of a full sweep-like block for
// point_blocks (what InsertPointBlocks does before SQLite), per point.
func BenchmarkStoreBlock(b *testing.B) {
	blk, _ := seqBlockFixture(1024)
	sc := new(storeScratch)
	for b.Loop() {
		blk.store(10, sc)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1024), "ns/point")
}

// BenchmarkBlockAdd is PointBlock.Add as a sweep's worker calls it: 32
// points into a block from a pool, per point.
func BenchmarkBlockAdd(b *testing.B) {
	src, pts := seqBlockFixture(32)
	blk := &PointBlock{}
	for b.Loop() {
		blk.SetHeader(src)
		blk.Grow(len(pts))
		for i := range pts {
			blk.Add(&pts[i])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(pts)), "ns/point")
}

// BenchmarkOpenNew is the fixed cost a command pays for a new database:
// creating it from the baseline schema and closing it.
func BenchmarkOpenNew(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	i := 0
	for b.Loop() {
		i++
		d, err := Open(ctx, filepath.Join(dir, fmt.Sprintf("n%d.db", i)))
		if err != nil {
			b.Fatal(err)
		}
		if err := d.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
