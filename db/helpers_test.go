package db

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func mkdir(dir string) error { return os.MkdirAll(dir, 0o755) }

// sweepRunDB opens a new database at path (in t.TempDir() when empty),
// closed when t ends, with one experiment and one sweep run in it, and
// returns the run's id.
func sweepRunDB(t testing.TB, path string) (*DB, int64) {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "t.db")
	}
	d, run := newSweepRun(t, path)
	t.Cleanup(func() { d.Close() })
	return d, run
}

// newSweepRun is sweepRunDB for a caller that closes the database itself
// (a benchmark times the close).
func newSweepRun(t testing.TB, path string) (*DB, int64) {
	t.Helper()
	ctx := context.Background()
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	eid, err := d.PutExperiment(ctx, "x", []byte("spec"))
	if err != nil {
		t.Fatal(err)
	}
	run, err := d.CreateRun(ctx, NewRun(eid, CommandSweep, nil))
	if err != nil {
		t.Fatal(err)
	}
	return d, run
}

// sortPoints orders points by pathway, point key and run: the order
// Points and EachPoint promise, by its definition.
func sortPoints(ps []Point) {
	slices.SortStableFunc(ps, func(a, b Point) int {
		if a.Pathway != b.Pathway {
			return a.Pathway - b.Pathway
		}
		if c := strings.Compare(a.PointKey, b.PointKey); c != 0 {
			return c
		}
		return int(a.RunID - b.RunID)
	})
}

// pointKeys returns the keys of the points run runID has recorded, every
// one spelled out: what RecordedPoints stands for.
func pointKeys(ctx context.Context, d *DB, runID int64) (map[string]struct{}, error) {
	keys := map[string]struct{}{}
	add := func(k string) { keys[k] = struct{}{} }
	err := eachPointKey(ctx, d.sql, runID, add, func(b *PointBlock) {
		for i := range b.Len() {
			add(b.key(i))
		}
	})
	return keys, err
}
