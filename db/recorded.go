package db

import (
	"context"
	"fmt"
)

// Recorded is the set of points a run holds, for a resumed sweep to skip:
// a bit a grid point for points recorded in blocks, and the keys of points
// recorded as rows. A million-point sweep's set is 125 KB, where its keys
// as strings took over 100 MB and were slower to build than the points
// were to simulate.
type Recorded struct {
	grids map[recordedGrid][]uint64 // bit i: grid index i is recorded
	keys  map[string]struct{}       // keys of rows, and of block points outside their grid
	n     int
}

// recordedGrid is one pathway's grid, as a block's axes give it.
type recordedGrid struct {
	pathway int
	axes    [3]int
}

// Has reports whether the point of grid index index of pathway, in a grid
// with the given axis lengths (0 for an absent axis), is recorded: the
// point whose key is GridKey(pathway, axes, index).
func (r *Recorded) Has(pathway int, axes [3]int, index int) bool {
	if r == nil {
		return false
	}
	if set := r.grids[recordedGrid{pathway, axes}]; index >= 0 && index/64 < len(set) && set[index/64]&(1<<(index%64)) != 0 {
		return true
	}
	if len(r.keys) == 0 {
		return false
	}
	_, ok := r.keys[GridKey(pathway, axes, index)]
	return ok
}

// Len is the number of points recorded.
func (r *Recorded) Len() int {
	if r == nil {
		return 0
	}
	return r.n
}

func (r *Recorded) addKey(k string) {
	if _, ok := r.keys[k]; !ok {
		r.keys[k] = struct{}{}
		r.n++
	}
}

// add records point i of block b, a bit in its grid when the index lies
// in the grid its axes give (any other is kept by key, so that a block
// from elsewhere cannot make the set huge).
func (r *Recorded) add(b *PointBlock, i int) {
	idx := int(b.rec(i)[slotIndex])
	size := 1
	for _, n := range b.Axes {
		n = max(n, 1)
		if size > maxGridBits/n {
			size = 0 // a grid too large for a bit set: keys
			break
		}
		size *= n
	}
	if idx < 0 || idx >= size {
		r.addKey(b.key(i))
		return
	}
	g := recordedGrid{b.Pathway, b.Axes}
	set := r.grids[g]
	if set == nil {
		set = make([]uint64, (size+63)/64)
		r.grids[g] = set
	}
	if w, m := idx/64, uint64(1)<<(idx%64); set[w]&m == 0 {
		set[w] |= m
		r.n++
	}
}

// maxGridBits bounds the bit set of one grid (128 MiB, a grid of over a
// billion points); the points of a larger one are kept by key.
const maxGridBits = 1 << 30

// RecordedPoints returns the set of points run runID has recorded, reading
// its blocks one at a time.
func (d *DB) RecordedPoints(ctx context.Context, runID int64) (*Recorded, error) {
	r, err := recordedPoints(ctx, d.sql, runID)
	if err != nil {
		return nil, fmt.Errorf("db: recorded points of run %d: %w", runID, err)
	}
	return r, nil
}

// PointCount returns how many points run runID has recorded, from the
// blocks' counts: a sweep interrupted after millions of points says what
// it kept at once, where RecordedPoints reads every key.
func (d *DB) PointCount(ctx context.Context, runID int64) (int64, error) {
	var n int64
	err := d.sql.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM point_rows WHERE run_id = ?)
		+ (SELECT coalesce(sum(n_points), 0) FROM point_blocks WHERE run_id = ?)`, runID, runID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("db: count the points of run %d: %w", runID, err)
	}
	return n, nil
}

// RunContents counts what a run recorded, by kind: what a reproduction
// holds says what it reran when its original is gone.
type RunContents struct {
	Fits   int64 // fit rows: a fit
	Blocks int64 // point blocks: a sweep
	Rows   int64 // single points: a simulate, or a fit's evaluations
}

// Contents returns what run runID recorded.
func (d *DB) Contents(ctx context.Context, runID int64) (RunContents, error) {
	var c RunContents
	err := d.sql.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM fits WHERE run_id = ?1),
		(SELECT count(*) FROM point_blocks WHERE run_id = ?1),
		(SELECT count(*) FROM point_rows WHERE run_id = ?1)`, runID).Scan(&c.Fits, &c.Blocks, &c.Rows)
	if err != nil {
		return RunContents{}, fmt.Errorf("db: what run %d recorded: %w", runID, err)
	}
	return c, nil
}

func recordedPoints(ctx context.Context, q rowsQueryer, runID int64) (*Recorded, error) {
	r := &Recorded{grids: map[recordedGrid][]uint64{}, keys: map[string]struct{}{}}
	err := eachPointKey(ctx, q, runID, r.addKey, func(b *PointBlock) {
		for i := range b.Len() {
			r.add(b, i)
		}
	})
	return r, err
}
