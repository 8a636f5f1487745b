package pipeline

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/sim/spec"
)

// seedGrid is the seed model with a log grid of n conductances, 0.1-10 nS
// (the sweep benchmark at 1e5 points; here n per iteration).
func seedGrid(b testing.TB, n int) *spec.Spec {
	s, err := spec.Load("testdata/reference/cases/seed-ampa-2comp-dimensional.yaml")
	if err != nil {
		b.Fatal(err)
	}
	s.Sweep.G = spec.Axis{From: 0.1e-9, To: 10e-9, Steps: n, Log: true}
	// As parsing a spec does: the sweep reads the values, computed once.
	s.Sweep.G.Prepare()
	return s
}

// BenchmarkSweepSeedRecorded is the seed grid swept and recorded in a real
// SQLite file, closing it included, per point.
func BenchmarkSweepSeedRecorded(b *testing.B) {
	const n = 100000
	s := seedGrid(b, n)
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		d, err := db.Open(ctx, filepath.Join(b.TempDir(), "b.db"))
		if err != nil {
			b.Fatal(err)
		}
		run, err := StartRun(ctx, d, s, RunInfo{Command: db.CommandSweep})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := Sweep(ctx, s, d, run.ID, nil); err != nil {
			b.Fatal(err)
		}
		// Closing checkpoints the WAL into the file, part of recording.
		if err := d.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/point")
}

// BenchmarkSweepSeedUnrecorded is the same sweep into a store that keeps
// nothing: the recording's share is the difference.
func BenchmarkSweepSeedUnrecorded(b *testing.B) {
	const n = 100000
	s := seedGrid(b, n)
	for b.Loop() {
		if _, err := Sweep(context.Background(), s, discard{}, 1, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/point")
}

type discard struct{}

func (discard) InsertPointBlocks(context.Context, int64, []*db.PointBlock) error { return nil }
