package db

import (
	"container/heap"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// pointRef is a point's place in the order of Points: pathway, point key,
// run, then, between copies of one key in one run, rows before block
// points, and blocks in id order.
type pointRef struct {
	pathway int
	run     int64
	row     *Point      // a point row, or
	b       *PointBlock // point i of block b (i = -1: before all of them)
	i       int
	idx     int // a block point's grid index
	blockID int64
}

func rowRef(p *Point) pointRef { return pointRef{pathway: p.Pathway, run: p.RunID, row: p} }

// indexOrdered says whether the keys of a grid with these axes sort as
// their indexes: each axis index is printed in 6 digits (GridKey), so an
// axis longer than a million breaks it.
func indexOrdered(axes [3]int) bool {
	for _, n := range axes {
		if n > 1e6 {
			return false
		}
	}
	return true
}

func (r *pointRef) key() string {
	if r.row != nil {
		return r.row.PointKey
	}
	return GridKey(r.pathway, r.b.Axes, r.idx)
}

// less orders refs as Points sorts points. Two points of grids with the
// same axes compare by index when that is the key order, without making
// their keys.
func (a *pointRef) less(b *pointRef) bool {
	if a.pathway != b.pathway {
		return a.pathway < b.pathway
	}
	if a.row == nil && b.row == nil && a.b.Axes == b.b.Axes && indexOrdered(a.b.Axes) {
		if a.idx != b.idx {
			return a.idx < b.idx
		}
	} else if c := strings.Compare(a.key(), b.key()); c != 0 {
		return c < 0
	}
	if a.run != b.run {
		return a.run < b.run
	}
	if (a.row == nil) != (b.row == nil) {
		return a.row != nil
	}
	if a.blockID != b.blockID {
		return a.blockID < b.blockID
	}
	return a.i < b.i
}

// blockMeta is a point block before it is read: its place is that of its
// smallest key, which is its first index's where keys sort as indexes;
// other blocks are read first.
type blockMeta struct {
	ref   pointRef
	eager bool
}

// blockMetas lists the blocks query q selects (id, run_id, pathway, n_g,
// n_t_decay, n_t_rise, first_index) in the order they are due.
func blockMetas(ctx context.Context, q rowsQueryer, query string, args []any) ([]blockMeta, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []blockMeta
	for rows.Next() {
		var m blockMeta
		h := &PointBlock{}
		if err := rows.Scan(&m.ref.blockID, &m.ref.run, &h.Pathway, &h.Axes[0], &h.Axes[1], &h.Axes[2], &m.ref.idx); err != nil {
			return nil, err
		}
		m.ref.pathway, m.ref.b, m.ref.i = h.Pathway, h, -1
		m.eager = !indexOrdered(h.Axes)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].eager != out[j].eager {
			return out[i].eager
		}
		return out[i].ref.less(&out[j].ref)
	})
	return out, nil
}

// pointMerge merges the points of blocks, read as they come due, in the
// order of Points: each block's points are sorted once when it is read,
// and a heap of blocks gives the one whose next point comes first (a heap
// of every point was most of what listing a million cost).
type pointMerge struct {
	ctx    context.Context
	q      rowsQueryer
	f      *PointFilter
	metas  []blockMeta
	loaded int // metas[:loaded] are read
	h      cursorHeap
	cols   string // blockColumnsOf, looked up at the first block
}

// top returns the first pending block point.
func (m *pointMerge) top() (pointRef, bool) {
	if len(m.h) == 0 {
		return pointRef{}, false
	}
	c := m.h[0]
	return c.refs[c.pos], true
}

// pop drops the first pending block point.
func (m *pointMerge) pop() {
	c := m.h[0]
	c.refs[c.pos] = pointRef{} // let a finished block go
	if c.pos++; c.pos == len(c.refs) {
		heap.Pop(&m.h)
	} else {
		heap.Fix(&m.h, 0)
	}
}

// next returns the point to go out next: the smaller of the first row (nil
// when none is left) and the first queued block point, once every block
// that may hold a smaller one is read. ok is false when none is left.
func (m *pointMerge) next(row *Point) (next pointRef, ok bool, err error) {
	for {
		top, queued := m.top()
		switch {
		case queued && (row == nil || top.less(&pointRef{pathway: row.Pathway, run: row.RunID, row: row})):
			next = top
		case row != nil:
			next = rowRef(row)
		case m.loaded < len(m.metas):
			if err := m.load(); err != nil {
				return pointRef{}, false, err
			}
			continue
		default:
			return pointRef{}, false, nil
		}
		if !m.due(next) {
			return next, true, nil
		}
		if err := m.load(); err != nil {
			return pointRef{}, false, err
		}
	}
}

// due says whether the next unread block must be read before next goes
// out: it is eager, or it may hold a point that comes before next.
func (m *pointMerge) due(next pointRef) bool {
	if m.loaded == len(m.metas) {
		return false
	}
	meta := &m.metas[m.loaded]
	return meta.eager || !next.less(&meta.ref)
}

// load reads the next block and queues its points that pass the filter,
// sorted.
func (m *pointMerge) load() error {
	meta := &m.metas[m.loaded]
	m.loaded++
	if m.cols == "" {
		cols, err := blockColumnsOf(m.ctx, m.q)
		if err != nil {
			return err
		}
		m.cols = cols
	}
	b, err := scanBlock(m.q.QueryRowContext(m.ctx, `SELECT `+m.cols+` FROM point_blocks b WHERE b.id = ?`, meta.ref.blockID))
	if err != nil {
		return fmt.Errorf("point block %d: %w", meta.ref.blockID, err)
	}
	f := m.f
	refs := make([]pointRef, 0, b.Len())
	for i := range b.Len() {
		r := b.rec(i)
		switch failed := int(r[slotFlags])&flagFailed != 0; {
		case f.Status == PointOK && failed, f.Status == PointFailed && !failed:
			continue
		}
		g := 0.0 // a Point's GNS without receptors
		if len(b.Channels) > 0 {
			g = r[slotReceptors]
		}
		if f.GMinNS != nil && !(g >= *f.GMinNS) || f.GMaxNS != nil && !(g <= *f.GMaxNS) {
			continue
		}
		refs = append(refs, pointRef{pathway: b.Pathway, run: meta.ref.run, b: b, i: i, idx: int(r[slotIndex]), blockID: meta.ref.blockID})
	}
	if len(refs) == 0 {
		return nil
	}
	slices.SortFunc(refs, func(x, y pointRef) int {
		if x.less(&y) {
			return -1
		}
		if y.less(&x) {
			return 1
		}
		return 0
	})
	heap.Push(&m.h, &cursor{refs: refs})
	return nil
}

// cursor is a read block's sorted points and the next to go out.
type cursor struct {
	refs []pointRef
	pos  int
}

// cursorHeap is a min-heap of cursors by their next point.
type cursorHeap []*cursor

func (h cursorHeap) Len() int { return len(h) }
func (h cursorHeap) Less(i, j int) bool {
	return h[i].refs[h[i].pos].less(&h[j].refs[h[j].pos])
}
func (h cursorHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)   { *h = append(*h, x.(*cursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return x
}
