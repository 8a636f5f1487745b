package db

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

// Slots of a block point's record (see migrations/0003_point_blocks.sql;
// 0004_compact_blocks.sql gives how a block stores them).
const (
	slotIndex = iota
	slotFlags
	slotPSP
	slotBaseline
	slotTimeToPeak
	slotRise
	slotHalfWidth
	slotIHold
	slotReceptors // g of each receptor, then t_decay, then t_rise, then peaks
)

const (
	flagDSpike = 1
	flagFailed = 2
)

// PointBlock is many points of one pathway of one run, stored as one row
// of point_blocks: the pathway's identity once and each point's numbers as
// a record of float64 values. Sweeps record blocks because a row a point
// costs more than simulating it. Readers (Points, EachPoint) return block
// points as Points, indistinguishable from rows but for a zero ID.
type PointBlock struct {
	Pathway                             int
	Pre, Post, Compartment, Record, Tag string
	Channels                            []string // receptor channels, in order
	Compartments                        []string // the cell's compartments, the order of peaks
	// Axes holds the lengths of the sweep's g, t_decay and t_rise axes (0
	// for an absent axis): with the pathway and a point's index they give
	// its point key (GridKey).
	Axes [3]int

	vals   []float64 // records of stride values
	errors map[int]string

	// What store will find, kept by Add and AddBlock so that Fits need not
	// scan the block: the slots whose bits differ from the first point's,
	// whether the indexes run first, first+1, ... in the order added, and
	// the bytes the errors take in the row.
	varies   []bool
	inOrder  bool
	errBytes int
	// pspPeak says whether every point's PSP has the bits of its peak at
	// the record compartment, slot peakSlot (-1: no such compartment):
	// store keeps the two as one value (migration 0008).
	pspPeak  bool
	peakSlot int
}

// BlockPoint is one point as PointBlock.Add takes it. Units are in the
// names; NaN stands for an absent value (no rise time, no half width, no
// holding current, a single-exponential receptor's t_rise, a peak not
// kept).
type BlockPoint struct {
	Index                           int       // position in the pathway's grid
	GNS, TDecayMS, TRiseMS          []float64 // one per channel
	PSPMV, BaselineMV, TimeToPeakMS float64
	Rise1090MS, HalfWidthMS         float64
	IHoldPA                         float64
	PeaksMV                         []float64 // one per compartment
	DSpikeFired                     bool
	Error                           string // non-empty: the point failed
}

// stride is the number of float64 values a point takes.
func (b *PointBlock) stride() int { return slotReceptors + 3*len(b.Channels) + len(b.Compartments) }

// Len is the number of points in the block.
func (b *PointBlock) Len() int {
	if len(b.vals) == 0 {
		return 0
	}
	return len(b.vals) / b.stride()
}

// SetHeader empties b and gives it h's header (pathway, names, channels,
// compartments, axes), keeping b's memory.
func (b *PointBlock) SetHeader(h *PointBlock) {
	b.Pathway, b.Pre, b.Post, b.Compartment, b.Record, b.Tag = h.Pathway, h.Pre, h.Post, h.Compartment, h.Record, h.Tag
	b.Channels, b.Compartments, b.Axes = h.Channels, h.Compartments, h.Axes
	b.Reset()
}

// Reset empties the block, keeping its header and its memory.
func (b *PointBlock) Reset() {
	b.vals = b.vals[:0]
	clear(b.errors)
	b.varies, b.inOrder, b.errBytes = b.varies[:0], false, 0
	b.pspPeak, b.peakSlot = false, -1
}

// Grow makes room for n more points without reallocating. New memory of
// a page or more is filled in at once (prefault), not a fault a page.
func (b *PointBlock) Grow(n int) {
	n *= b.stride()
	if cap(b.vals)-len(b.vals) >= n {
		return
	}
	// Not slices.Grow: it clears the new capacity itself, touching every
	// page (a fault each) before prefault could fill them in at once;
	// make leaves fresh memory from the OS as it is, known to be zero.
	vals := make([]float64, len(b.vals), len(b.vals)+n)
	prefault(vals)
	copy(vals, b.vals)
	b.vals = vals
}

// Add appends p. Its slices must have one value per channel and per
// compartment.
func (b *PointBlock) Add(p *BlockPoint) {
	nr, nc := len(b.Channels), len(b.Compartments)
	if len(p.GNS) != nr || len(p.TDecayMS) != nr || len(p.TRiseMS) != nr || len(p.PeaksMV) != nc {
		panic(fmt.Sprintf("db: PointBlock.Add: %d/%d/%d receptor values and %d peaks for %d channels and %d compartments",
			len(p.GNS), len(p.TDecayMS), len(p.TRiseMS), len(p.PeaksMV), nr, nc))
	}
	flags := 0.0
	if p.DSpikeFired {
		flags += flagDSpike
	}
	// The record is written in place, a slot at a time: a sweep adds
	// every point here, and appends and copies of one or two values each
	// cost more than the values.
	S, off := slotReceptors+3*nr+nc, len(b.vals)
	n := off / S
	if p.Error != "" {
		flags += flagFailed
		if b.errors == nil {
			b.errors = map[int]string{}
		}
		b.errors[n] = p.Error
		b.errBytes += errorBytes(n, p.Error)
	}
	b.vals = slices.Grow(b.vals, S)[:off+S]
	r := b.vals[off : off+S : off+S]
	r[slotIndex], r[slotFlags], r[slotPSP], r[slotBaseline] = float64(p.Index), flags, p.PSPMV, p.BaselineMV
	r[slotTimeToPeak], r[slotRise], r[slotHalfWidth], r[slotIHold] = p.TimeToPeakMS, p.Rise1090MS, p.HalfWidthMS, p.IHoldPA
	rest := r[slotReceptors:]
	for j := range nr {
		rest[j], rest[nr+j], rest[2*nr+j] = p.GNS[j], p.TDecayMS[j], p.TRiseMS[j]
	}
	for j, v := range p.PeaksMV {
		rest[3*nr+j] = v
	}
	if n == 0 {
		b.track(r)
		return
	}
	first, varies := b.vals[:S], b.varies[:S]
	for k, v := range r {
		if math.Float64bits(v) != math.Float64bits(first[k]) {
			varies[k] = true
		}
	}
	b.inOrder = b.inOrder && r[slotIndex] == first[slotIndex]+float64(n)
	b.pspPeak = b.pspPeak && math.Float64bits(r[slotPSP]) == math.Float64bits(r[b.peakSlot])
}

// track starts what Add tracks at a block's first point, rec.
func (b *PointBlock) track(rec []float64) {
	b.varies, b.inOrder = slices.Grow(b.varies[:0], len(rec))[:len(rec)], true
	clear(b.varies)
	b.peakSlot = b.recordPeakSlot()
	b.pspPeak = b.peakSlot >= 0 && math.Float64bits(rec[slotPSP]) == math.Float64bits(rec[b.peakSlot])
}

// recordPeakSlot is the slot of the peak at the record compartment, -1
// when the record is none of b's compartments.
func (b *PointBlock) recordPeakSlot() int {
	c := slices.Index(b.Compartments, b.Record)
	if c < 0 {
		return -1
	}
	return slotReceptors + 3*len(b.Channels) + c
}

// errorBytes bounds what point i's error adds to a row's errors JSON.
func errorBytes(i int, e string) int { return len(e) + len(strconv.Itoa(i)) + 8 }

// AddBlock appends o's points; o must have b's header.
func (b *PointBlock) AddBlock(o *PointBlock) {
	n := b.Len()
	if n == 0 {
		b.varies, b.inOrder = append(b.varies[:0], o.varies...), o.inOrder
		b.pspPeak, b.peakSlot = o.pspPeak, o.peakSlot
	} else if o.Len() > 0 {
		b.inOrder, _ = b.join(o, true)
		b.pspPeak = b.pspPeak && o.pspPeak
	}
	b.vals = append(b.vals, o.vals...)
	for i, e := range o.errors {
		if b.errors == nil {
			b.errors = map[int]string{}
		}
		b.errors[n+i] = e
		b.errBytes += errorBytes(n+i, e)
	}
}

// join reckons what Add would have tracked had o's points been added to
// b's (both non-empty): whether the indexes would still run in order, and
// how many values a point store would keep. With update it also marks
// b.varies.
func (b *PointBlock) join(o *PointBlock, update bool) (inOrder bool, stored int) {
	first, ofirst := b.rec(0), o.rec(0)
	inOrder = b.inOrder && o.inOrder && ofirst[slotIndex] == first[slotIndex]+float64(b.Len())
	for k, v := range b.varies {
		v = v || o.varies[k] || math.Float64bits(ofirst[k]) != math.Float64bits(first[k])
		if update {
			b.varies[k] = v
		}
		if v && !(k == slotIndex && inOrder) {
			stored++
		}
	}
	// The record's peak, when it is the PSP throughout, is not stored
	// again (it varies when the PSP does).
	if b.pspPeak && o.pspPeak && (b.varies[slotPSP] || o.varies[slotPSP] ||
		math.Float64bits(ofirst[slotPSP]) != math.Float64bits(first[slotPSP])) {
		stored--
	}
	return inOrder, stored
}

// MaxRowBytes is the size a sweep keeps a block's row within: what SQLite
// keeps on one 64 KiB page of the databases dendfit creates (a row longer
// than page size - 35 bytes spills to overflow pages), less a margin. Rows
// of a few hundred points shorter than that share no page, so a block
// closed by point count left a quarter of each page empty.
const MaxRowBytes = 65536 - 35 - 64

// Fits says whether b with o's points appended (both with one header)
// still stores as a row of at most MaxRowBytes. It reckons as store will,
// from what Add tracked, without scanning either block: a new varying
// slot widens every point already in b.
func (b *PointBlock) Fits(o *PointBlock) bool {
	n, m := b.Len(), o.Len()
	if n == 0 || m == 0 {
		return true
	}
	_, stored := b.join(o, false)
	if S := b.stride(); S > maxLayoutSlots {
		stored = S
	}
	return b.rowBytes(n+m, stored, b.errBytes+o.errBytes) <= MaxRowBytes
}

// Room bounds how many more points b can take (Fits) before its row
// passes MaxRowBytes: as many as would fit were they to store only the
// values b's points store now (points only widen a row, so more never
// fit). It is 0 when b's points do not tell yet: fewer than two, or all
// alike, store nothing a point. A sweep grows a new block by Room at once.
func (b *PointBlock) Room() int {
	stored := 0
	for k, v := range b.varies {
		if v && !(k == slotIndex && b.inOrder) {
			stored++
		}
	}
	if b.pspPeak && b.Len() > 1 && b.varies[slotPSP] {
		stored--
	}
	if S := b.stride(); S > maxLayoutSlots && b.Len() > 1 {
		stored = S
	}
	if stored == 0 {
		return 0
	}
	free := MaxRowBytes - b.rowBytes(b.Len(), stored, b.errBytes)
	if free <= 0 {
		return 0
	}
	return free / (8 * stored)
}

// rowBytes bounds the bytes of b's row with n points of stored values
// each: the data, the shared values and layout, the names and the errors,
// and the record header and integer columns.
func (b *PointBlock) rowBytes(n, stored, errBytes int) int {
	s := b.stride()
	size := 8*n*stored + 9*s + 128 + errBytes
	for _, t := range []string{b.Pre, b.Post, b.Compartment, b.Record, b.Tag} {
		size += len(t)
	}
	for _, t := range b.Channels {
		size += len(t) + 3
	}
	for _, t := range b.Compartments {
		size += len(t) + 3
	}
	return size
}

// key returns point i's point key.
func (b *PointBlock) key(i int) string { return GridKey(b.Pathway, b.Axes, int(b.rec(i)[slotIndex])) }

// rec returns point i's record.
func (b *PointBlock) rec(i int) []float64 {
	s := b.stride()
	return b.vals[i*s : (i+1)*s]
}

// GridKey is the point key of point index of a pathway's grid whose axes
// (g, t_decay, t_rise) have the given lengths, 0 for an absent axis: the
// pathway and the axis indices, zero-padded so that keys sort in grid
// order, "-" for an absent axis.
func GridKey(pathway int, axes [3]int, index int) string {
	nd, nr := max(axes[1], 1), max(axes[2], 1)
	ax := [3]int{index / (nr * nd), index / nr % nd, index % nr}
	b := make([]byte, 0, 32)
	b = append(b, 'p')
	b = appendPadded(b, pathway, 4)
	for i, c := range []byte{'g', 'd', 'r'} {
		b = append(b, '/', c)
		if axes[i] == 0 {
			b = append(b, '-')
		} else {
			b = appendPadded(b, ax[i], 6)
		}
	}
	return string(b)
}

func appendPadded(b []byte, v, width int) []byte {
	s := strconv.Itoa(v)
	for range width - len(s) {
		b = append(b, '0')
	}
	return append(b, s...)
}

// Points returns the block's points as Points of run runID.
func (b *PointBlock) Points(runID int64) []Point {
	out := make([]Point, b.Len())
	for i := range out {
		out[i] = b.point(runID, i)
	}
	return out
}

// point returns point i as a Point of run runID.
func (b *PointBlock) point(runID int64, i int) Point {
	nr := len(b.Channels)
	opt := func(v float64) *float64 {
		if math.IsNaN(v) {
			return nil
		}
		return &v
	}
	r := b.rec(i)
	flags := int(r[slotFlags])
	p := Point{
		RunID: runID, Pathway: b.Pathway, Pre: b.Pre, Post: b.Post, Compartment: b.Compartment,
		Record: b.Record, Tag: b.Tag, PointKey: b.key(i),
		PSPMV: r[slotPSP], BaselineMV: r[slotBaseline], TimeToPeakMS: r[slotTimeToPeak],
		Rise1090MS: opt(r[slotRise]), HalfWidthMS: opt(r[slotHalfWidth]), IHoldPA: opt(r[slotIHold]),
		PeaksMV: map[string]float64{}, DSpikeFired: flags&flagDSpike != 0, Status: PointOK,
	}
	if flags&flagFailed != 0 {
		p.Status, p.Error = PointFailed, b.errors[i]
		p.PSPMV, p.BaselineMV, p.TimeToPeakMS = 0, 0, 0
	}
	p.Receptors = make([]Receptor, nr)
	for k, ch := range b.Channels {
		p.Receptors[k] = Receptor{Channel: ch, GNS: r[slotReceptors+k], TDecayMS: r[slotReceptors+nr+k],
			TRiseMS: opt(r[slotReceptors+2*nr+k])}
	}
	if nr > 0 {
		p.GNS, p.TDecayMS, p.TRiseMS = p.Receptors[0].GNS, p.Receptors[0].TDecayMS, p.Receptors[0].TRiseMS
	}
	for k, c := range b.Compartments {
		if v := r[slotReceptors+3*nr+k]; !math.IsNaN(v) {
			p.PeaksMV[c] = v
		}
	}
	return p
}

// InsertPointBlocks records blocks of run runID in one transaction. A
// block holds points the run does not have yet: resumed sweeps skip
// recorded points before simulating.
func (d *DB) InsertPointBlocks(ctx context.Context, runID int64, blocks []*PointBlock) error {
	var n int64
	err := d.withTx(ctx, func(tx *sql.Tx) (err error) {
		n, err = insertPointBlocks(ctx, tx, runID, blocks)
		return err
	})
	if err == nil {
		d.committed(n)
	}
	if err != nil {
		return fmt.Errorf("db: insert point blocks of run %d: %w", runID, err)
	}
	return nil
}

// nativeLE says whether float64s are little-endian in memory, the
// layout of a block's data.
var nativeLE = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// littleEndian returns vals as little-endian bytes: their own memory
// where the host is little-endian (SQLite copies a bound BLOB at once, so
// a sweep's 10 MB of points need not be copied twice), else converted
// into buf.
func littleEndian(vals []float64, buf []byte) []byte {
	if len(vals) > 0 && nativeLE {
		return unsafe.Slice((*byte)(unsafe.Pointer(&vals[0])), 8*len(vals))
	}
	buf = buf[:0]
	for _, v := range vals {
		buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(v))
	}
	return buf
}

// maxLayoutSlots bounds the slots a layout describes: a stored slot is
// the character 'A' + its position, up to '~'.
const maxLayoutSlots = '~' - 'A' + 1

// storedBlock is a block as a point_blocks row holds it (migration 0004):
// its layout, shared values and stored values, with the order in which
// its points are stored.
type storedBlock struct {
	layout string // "" when every slot is stored
	shared []byte
	data   []byte
	stride int   // values stored a point
	pos    []int // pos[i]: where point i is stored; nil for i
}

// store lays b out for point_blocks: a slot with the same bits in every
// point is stored once, an index that runs through first_index ..
// first_index+n-1 (in whatever order the points came) is not stored, the
// points going in index order; every other slot is stored a point. A
// block that saves nothing that way keeps 0003's layout, its memory
// reused as data (sc's otherwise). The result uses sc's memory: it is
// valid until sc's next use.
func (b *PointBlock) store(first int64, sc *storeScratch) storedBlock {
	n, S := b.Len(), b.stride()
	full := storedBlock{data: littleEndian(b.vals, sc.data), stride: S}
	if n < 2 || S > maxLayoutSlots {
		return full
	}
	vals := b.vals[:n*S]
	// Slot by slot: most slots differ at the second point already, and the
	// rest are read down the block without a test per slot and point.
	var same [maxLayoutSlots]bool
	for k := range S {
		bits := math.Float64bits(vals[k])
		same[k] = true
		for i := k + S; i < len(vals); i += S {
			if math.Float64bits(vals[i]) != bits {
				same[k] = false
				break
			}
		}
	}
	// order[p] is the point stored at p: point i goes to position index-first
	// when the indexes are first .. first+n-1, each once.
	sc.order = slices.Grow(sc.order[:0], n)[:n]
	order := sc.order
	for p := range order {
		order[p] = -1
	}
	seq := true
	for i := range n {
		j := vals[i*S+slotIndex] - float64(first)
		if !(j >= 0 && j < float64(n)) || j != math.Trunc(j) || order[int(j)] >= 0 {
			seq = false
			break
		}
		order[int(j)] = i
	}
	peak := b.recordPeakSlot() // kept when it is the PSP throughout
	if peak >= 0 {
		for i := 0; i < len(vals); i += S {
			if math.Float64bits(vals[i+peak]) != math.Float64bits(vals[i+slotPSP]) {
				peak = -1
				break
			}
		}
	}
	var layout [maxLayoutSlots]byte
	var cols [maxLayoutSlots]int // the stored slots, in order
	stride := 0
	for k := range S {
		switch {
		case k == slotIndex && seq:
			layout[k] = '+'
		case same[k]:
			layout[k] = '.'
		case k == peak && layout[slotPSP] >= 'A':
			// The record compartment's peak, the PSP in every point, is
			// read from the PSP's value (Fits reckons with the same).
			layout[k] = layout[slotPSP]
		default:
			layout[k] = byte('A' + stride)
			cols[stride] = k
			stride++
		}
	}
	if stride == S {
		return full
	}
	st := storedBlock{layout: string(layout[:S]), shared: make([]byte, 8*S), stride: stride}
	for k := range S {
		if layout[k] == '.' {
			binary.LittleEndian.PutUint64(st.shared[8*k:], math.Float64bits(vals[k]))
		}
	}
	if seq {
		sc.pos = slices.Grow(sc.pos[:0], n)[:n]
		st.pos = sc.pos
		for p, i := range order {
			st.pos[i] = p
		}
	} else {
		for i := range order {
			order[i] = i
		}
	}
	size := 8 * stride * n
	sc.data = slices.Grow(sc.data[:0], size)
	data := sc.data[:size]
	o := 0
	for _, i := range order {
		r := vals[i*S : i*S+S]
		for _, k := range cols[:stride] {
			binary.LittleEndian.PutUint64(data[o:o+8], math.Float64bits(r[k]))
			o += 8
		}
	}
	st.data = data
	return st
}

// storeScratch is the memory store lays a block out in, kept from one
// write transaction to the next: fresh memory costs a page fault a page,
// which on virtual machines costs as much as simulating a few points.
type storeScratch struct {
	data       []byte
	order, pos []int
}

var storeScratches = sync.Pool{New: func() any { return new(storeScratch) }}

// insertPointBlocks inserts blocks as rows of point_blocks and returns the
// bytes of their data.
func insertPointBlocks(ctx context.Context, tx *sql.Tx, runID int64, blocks []*PointBlock) (int64, error) {
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO point_blocks (run_id, pathway, first_index, pre, post,
		compartment, record, tag, channels, compartments, n_receptors, n_g, n_t_decay, n_t_rise,
		n_points, stride, g_min_nS, g_max_nS, data, errors, layout, shared)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return 0, err
	}
	defer stmt.Close()
	sc := storeScratches.Get().(*storeScratch)
	defer storeScratches.Put(sc)
	var size int64
	for _, b := range blocks {
		n := b.Len()
		if n == 0 {
			continue
		}
		first := math.Inf(1)
		gmin, gmax := math.Inf(1), math.Inf(-1)
		S := b.stride()
		for i := 0; i < n*S; i += S {
			first = min(first, b.vals[i+slotIndex])
		}
		if len(b.Channels) > 0 {
			for i := 0; i < n*S; i += S {
				gmin, gmax = min(gmin, b.vals[i+slotReceptors]), max(gmax, b.vals[i+slotReceptors])
			}
		}
		var gLo, gHi any
		if len(b.Channels) > 0 {
			gLo, gHi = gmin, gmax
		}
		st := b.store(int64(first), sc)
		chans, err := json.Marshal(nonNil(b.Channels))
		if err != nil {
			return 0, err
		}
		comps, err := json.Marshal(nonNil(b.Compartments))
		if err != nil {
			return 0, err
		}
		errs := map[string]string{}
		for i, e := range b.errors {
			if st.pos != nil {
				i = st.pos[i]
			}
			errs[strconv.Itoa(i)] = e
		}
		errJSON, err := json.Marshal(errs)
		if err != nil {
			return 0, err
		}
		if _, err := stmt.ExecContext(ctx, runID, b.Pathway, int64(first), b.Pre, b.Post, b.Compartment,
			b.Record, b.Tag, string(chans), string(comps), len(b.Channels), b.Axes[0], b.Axes[1], b.Axes[2],
			n, st.stride, gLo, gHi, nonNilBytes(st.data), string(errJSON), st.layout, nonNilBytes(st.shared)); err != nil {
			return 0, fmt.Errorf("pathway %d, block from index %d: %w", b.Pathway, int64(first), err)
		}
		size += int64(len(st.data) + len(st.shared) + len(errJSON))
	}
	return size, nil
}

// nonNilBytes is b, or an empty BLOB for nil (which would bind as NULL).
func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// blockColumns are the point_blocks columns scanBlock reads.
const blockColumns = `b.pathway, b.pre, b.post, b.compartment, b.record, b.tag, b.channels, b.compartments,
	b.n_g, b.n_t_decay, b.n_t_rise, b.n_points, b.stride, b.data, b.errors, b.first_index, b.layout, b.shared`

// blockColumnsOf is blockColumns for the database q reads: one opened
// read-only before migration 0004 has no layout and shared columns, and
// its blocks are 0003's, every slot stored.
func blockColumnsOf(ctx context.Context, q queryer) (string, error) {
	layout, err := columnOr(ctx, q, "point_blocks", "b", "layout", "''")
	if err != nil || layout == "b.layout" {
		return blockColumns, err
	}
	return strings.Replace(blockColumns, "b.layout, b.shared", "'', x''", 1), nil
}

func scanBlock(s scanner) (*PointBlock, error) {
	b := &PointBlock{}
	var r blockRow
	if err := s.Scan(&b.Pathway, &b.Pre, &b.Post, &b.Compartment, &b.Record, &b.Tag, &r.chans, &r.comps,
		&b.Axes[0], &b.Axes[1], &b.Axes[2], &r.n, &r.stride, &r.data, &r.errs, &r.first, &r.layout, &r.shared); err != nil {
		return nil, err
	}
	if err := decodeBlock(b, &r); err != nil {
		return nil, err
	}
	return b, nil
}

// blockRow is a point_blocks row's encoded columns.
type blockRow struct {
	chans, comps, errs string
	n, stride          int
	first              int64
	data, shared       []byte
	layout             string
}

// maxBlockPoints bounds the points of a block read back (dendfit writes at
// most 65536), so that a bad row whose values are all shared cannot claim
// more points than memory holds.
const maxBlockPoints = 1 << 20

// decodeBlock fills b from a point_blocks row's encoded columns, checking
// them: a database may come from elsewhere (merge), so a bad row is an
// error, never a panic.
func decodeBlock(b *PointBlock, r *blockRow) error {
	if err := json.Unmarshal([]byte(r.chans), &b.Channels); err != nil {
		return fmt.Errorf("bad channels JSON: %w", err)
	}
	if err := json.Unmarshal([]byte(r.comps), &b.Compartments); err != nil {
		return fmt.Errorf("bad compartments JSON: %w", err)
	}
	n, S := r.n, b.stride()
	stride := S // values stored a point
	if r.layout != "" {
		if len(r.layout) != S || len(r.shared) != 8*S {
			return fmt.Errorf("layout %q and %d shared bytes for %d slots", r.layout, len(r.shared), S)
		}
		stride = 0
		for k := range S {
			switch c := r.layout[k]; {
			case c == '+' && k == slotIndex, c == '.':
			case c == byte('A'+stride):
				stride++
			case c >= 'A' && c < byte('A'+stride): // a value stored for a slot before (0008)
			default:
				return fmt.Errorf("layout %q: slot %d is %q", r.layout, k, c)
			}
		}
	}
	if n < 0 || n > maxBlockPoints {
		return fmt.Errorf("block of %d points: want 0 to %d", n, maxBlockPoints)
	}
	if r.stride != stride || len(r.data) != 8*stride*n {
		return fmt.Errorf("block of %d points has stride %d and %d bytes, want stride %d", n, r.stride, len(r.data), stride)
	}
	if r.layout != "" && r.layout[slotIndex] == '+' && !(r.first >= 0 && r.first+int64(n) <= 1<<53) {
		return fmt.Errorf("block of %d points from index %d", n, r.first)
	}
	b.vals = make([]float64, n*S)
	at := func(data []byte, j int) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(data[8*j:])) }
	for i := range n {
		rec := b.vals[i*S : (i+1)*S]
		for k := range rec {
			switch {
			case r.layout == "":
				rec[k] = at(r.data, i*S+k)
			case r.layout[k] == '+':
				rec[k] = float64(r.first + int64(i))
			case r.layout[k] == '.':
				rec[k] = at(r.shared, k)
			default:
				rec[k] = at(r.data, i*stride+int(r.layout[k]-'A'))
			}
		}
	}
	for i := range n {
		if x := b.rec(i)[slotIndex]; !(x >= 0 && x < 1<<53 && x == math.Trunc(x)) {
			return fmt.Errorf("point %d: index %v is not a grid index", i, x)
		}
	}
	var em map[string]string
	if err := json.Unmarshal([]byte(r.errs), &em); err != nil {
		return fmt.Errorf("bad errors JSON: %w", err)
	}
	for k, e := range em {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || i >= n {
			return fmt.Errorf("errors JSON: bad position %q", k)
		}
		if b.errors == nil {
			b.errors = map[int]string{}
		}
		b.errors[i] = e
	}
	return nil
}

// rowsQueryer is *sql.DB or *sql.Tx.
type rowsQueryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
