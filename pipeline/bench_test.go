package pipeline

import (
	"context"
	"os"
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

// BenchmarkSweepSeedDiskFloor is the unrecorded sweep doing, without
// SQLite, the file work that recording it durably cannot avoid: its
// blocks' bytes (as many as recording them adds to the database file) appended to
// one file as they come, as a WAL is, then, at the end, that file synced,
// the bytes written to a second file and synced, as a checkpoint does,
// and the first removed. Recorded minus DiskFloor is what SQLite adds;
// DiskFloor minus Unrecorded is the disk's share, which no design that
// syncs what it records can save.
func BenchmarkSweepSeedDiskFloor(b *testing.B) {
	const n = 100000
	s := seedGrid(b, n)
	ctx := context.Background()
	size := recordedSize(b, s)
	buf := make([]byte, size)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		wal, err := os.Create(filepath.Join(dir, "wal"))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		st := &fileStore{f: wal, buf: buf, perPoint: size / n}
		if _, err := Sweep(ctx, s, st, 1, nil); err != nil {
			b.Fatal(err)
		}
		if st.err != nil {
			b.Fatal(st.err)
		}
		if err := wal.Sync(); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "db"), buf, 0o644); err != nil {
			b.Fatal(err)
		}
		f, err := os.OpenFile(filepath.Join(dir, "db"), os.O_RDWR, 0)
		if err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		f.Close()
		wal.Close()
		if err := os.Remove(wal.Name()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size), "bytes")
}

// recordedSize is how many bytes recording the sweep of s adds to the
// database file.
func recordedSize(b *testing.B, s *spec.Spec) int {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "b.db")
	d, err := db.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	run, err := StartRun(ctx, d, s, RunInfo{Command: db.CommandSweep})
	if err != nil {
		b.Fatal(err)
	}
	// What the run's start wrote is out of the timed part of the
	// recorded benchmark too.
	if err := d.Close(); err != nil {
		b.Fatal(err)
	}
	before, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	if d, err = db.Open(ctx, path); err != nil {
		b.Fatal(err)
	}
	if _, err := Sweep(ctx, s, d, run.ID, nil); err != nil {
		b.Fatal(err)
	}
	if err := d.Close(); err != nil {
		b.Fatal(err)
	}
	after, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return int(after.Size() - before.Size())
}

// fileStore appends perPoint bytes of buf a point to f, as SQLite appends
// a committed block to its WAL (the sweep's single writer calls it).
type fileStore struct {
	f        *os.File
	buf      []byte
	perPoint int
	off      int
	err      error
}

func (w *fileStore) InsertPointBlocks(_ context.Context, _ int64, blocks []*db.PointBlock) error {
	for _, bl := range blocks {
		end := min(w.off+bl.Len()*w.perPoint, len(w.buf))
		if _, err := w.f.Write(w.buf[w.off:end]); err != nil && w.err == nil {
			w.err = err
		}
		w.off = end
	}
	return nil
}
