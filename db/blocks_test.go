package db

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dendfit/dendfit/migrations"
)

// blockFixture is a block of two receptors and three compartments whose
// values cover the awkward doubles: subnormals, the largest finite,
// negative zero, integers, NaN (absent) and random bit patterns.
func blockFixture(n int) (*PointBlock, []BlockPoint) {
	special := []float64{0.1 + 0.2, 1.0 / 3, 5e-324, 4.9406564584124654e-322, 2.2250738585072014e-308,
		2.225073858507201e-308, 1.7976931348623157e308, -0.7468298080736818, 123456789.123456789,
		1e-300, -1e300, 1, -1, 2, 0.5, 4503599627370496, 9007199254740993, math.Copysign(0, -1)}
	rng := rand.New(rand.NewPCG(1, 2))
	val := func(i int) float64 {
		if i < len(special) {
			return special[i]
		}
		for {
			v := math.Float64frombits(rng.Uint64())
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				return v
			}
		}
	}
	b := &PointBlock{Pathway: 3, Pre: "L23E", Post: "PV \"fast\"", Compartment: "dend", Record: "soma", Tag: "t",
		Channels: []string{"AMPA", "NMDA"}, Compartments: []string{"soma", "dend", "apical"}, Axes: [3]int{50, 4, 0}}
	var pts []BlockPoint
	k := 0
	next := func() float64 { k++; return val(k - 1) }
	for i := range n {
		p := BlockPoint{Index: 7*i + 1, GNS: []float64{next(), next()}, TDecayMS: []float64{next(), next()},
			TRiseMS: []float64{math.NaN(), next()}, PSPMV: next(), BaselineMV: next(), TimeToPeakMS: next(),
			Rise1090MS: next(), HalfWidthMS: math.NaN(), IHoldPA: next(), PeaksMV: []float64{next(), math.NaN(), next()},
			DSpikeFired: i%3 == 0}
		if i%5 == 4 {
			p.Error = "sim: unstable at step 12 (|V| > 1 V)"
		}
		pts = append(pts, p)
		b.Add(&pts[len(pts)-1])
	}
	return b, pts
}

func TestPointBlocksRoundTrip(t *testing.T) {
	ctx := context.Background()
	d, run := sweepRunDB(t, "")
	b, in := blockFixture(40)
	want := b.Points(run)
	if err := d.InsertPointBlocks(ctx, run, []*PointBlock{b}); err != nil {
		t.Fatal(err)
	}
	got, err := d.Points(ctx, PointFilter{RunID: run})
	if err != nil {
		t.Fatal(err)
	}
	sortPoints(want)
	if !samePoints(got, want) {
		t.Fatalf("points read back differ from those written:\n got %+v\nwant %+v", got[0], want[0])
	}
	// Its NULL slots (a t_rise, the half width, a peak) are stored once;
	// its indexes (7i+1) are stored a point.
	if layout := str(t, d, `SELECT layout FROM point_blocks WHERE run_id = ?`, run); layout != "ABCDEF.GHIJK.LM.N" {
		t.Errorf("layout %q, want ABCDEF.GHIJK.LM.N", layout)
	}
	// What Add was given comes back, field by field.
	for _, p := range want {
		var src *BlockPoint
		for i := range in {
			if GridKey(3, b.Axes, in[i].Index) == p.PointKey {
				src = &in[i]
			}
		}
		if src == nil {
			t.Fatalf("point %s: not written", p.PointKey)
		}
		if (src.Error != "") != (p.Status == PointFailed) || p.Error != src.Error || p.DSpikeFired != src.DSpikeFired {
			t.Errorf("point %s: status %s %q dspike %v from %q %v", p.PointKey, p.Status, p.Error, p.DSpikeFired, src.Error, src.DSpikeFired)
		}
		if p.Status == PointOK && math.Float64bits(p.PSPMV) != math.Float64bits(src.PSPMV) {
			t.Errorf("point %s: psp %v, want %v", p.PointKey, p.PSPMV, src.PSPMV)
		}
		if p.Receptors[1].TRiseMS == nil || *p.Receptors[1].TRiseMS != src.TRiseMS[1] || p.Receptors[0].TRiseMS != nil {
			t.Errorf("point %s: t_rise %v", p.PointKey, p.Receptors)
		}
		if _, ok := p.PeaksMV["dend"]; ok || len(p.PeaksMV) != 2 || p.HalfWidthMS != nil {
			t.Errorf("point %s: NaN values not absent: peaks %v half width %v", p.PointKey, p.PeaksMV, p.HalfWidthMS)
		}
	}
	keys, err := pointKeys(ctx, d, run)
	if err != nil || len(keys) != len(in) {
		t.Fatalf("pointKeys: %d keys, %v; want %d", len(keys), err, len(in))
	}
	if _, ok := keys["p0003/g000000/d000001/r-"]; !ok { // index 1 = g 0, t_decay 1
		t.Errorf("keys lack p0003/g000000/d000001/r-: %v", keys)
	}
	// Filters apply to block points as to rows.
	lo, hi := want[3].GNS, want[3].GNS
	one, err := d.Points(ctx, PointFilter{RunID: run, GMinNS: &lo, GMaxNS: &hi})
	if err != nil || len(one) != 1 || one[0].PointKey != want[3].PointKey {
		t.Errorf("g filter: %d points, %v", len(one), err)
	}
	failed, err := d.Points(ctx, PointFilter{RunID: run, Status: PointFailed, Limit: 3})
	if err != nil || len(failed) != 3 || failed[0].Status != PointFailed {
		t.Errorf("status filter with limit: %d points, %v", len(failed), err)
	}
	checkViewMatches(t, d, run, want)
}

// samePoints compares points with floats bit for bit.
func samePoints(a, b []Point) bool {
	if len(a) != len(b) {
		return false
	}
	ja, _ := json.Marshal(bitsOf(a))
	jb, _ := json.Marshal(bitsOf(b))
	return string(ja) == string(jb) && reflect.DeepEqual(keysOf(a), keysOf(b))
}

func keysOf(ps []Point) []string {
	var k []string
	for _, p := range ps {
		k = append(k, p.PointKey)
	}
	return k
}

// bitsOf replaces each point's floats by their bits, so that -0 and 0
// differ.
func bitsOf(ps []Point) []any {
	var out []any
	for _, p := range ps {
		f := func(v *float64) any {
			if v == nil {
				return nil
			}
			return math.Float64bits(*v)
		}
		var rs []any
		for _, r := range p.Receptors {
			rs = append(rs, []any{r.Channel, math.Float64bits(r.GNS), math.Float64bits(r.TDecayMS), f(r.TRiseMS)})
		}
		peaks := map[string]uint64{}
		for k, v := range p.PeaksMV {
			peaks[k] = math.Float64bits(v)
		}
		out = append(out, []any{p.RunID, p.Pathway, p.Pre, p.Post, p.Compartment, p.Record, p.Tag, p.PointKey,
			math.Float64bits(p.GNS), math.Float64bits(p.TDecayMS), f(p.TRiseMS), rs,
			math.Float64bits(p.PSPMV), math.Float64bits(p.BaselineMV), math.Float64bits(p.TimeToPeakMS),
			f(p.Rise1090MS), f(p.HalfWidthMS), peaks, f(p.IHoldPA), p.DSpikeFired, p.Status, p.Error})
	}
	return out
}

// checkViewMatches reads run's points through the points view, which
// decodes blocks in SQL, and compares them with want (from Go) bit for
// bit, negative zero aside (SQLite does not keep its sign).
func checkViewMatches(t *testing.T, d *DB, run int64, want []Point) {
	t.Helper()
	rows, err := d.sql.Query(`SELECT pathway, pre, post, compartment, record, tag, point_key, g_nS, t_decay_ms,
		t_rise_ms, receptors, psp_mV, baseline_mV, time_to_peak_ms, rise_10_90_ms, half_width_ms, peaks_mV,
		i_hold_pA, dspike_fired, status, error FROM points WHERE run_id = ? ORDER BY pathway, point_key`, run)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []Point
	for rows.Next() {
		p := Point{RunID: run}
		var tRise, psp, base, ttp, rise, half, ihold sql.NullFloat64
		var rec, peaks string
		var errText sql.NullString
		if err := rows.Scan(&p.Pathway, &p.Pre, &p.Post, &p.Compartment, &p.Record, &p.Tag, &p.PointKey,
			&p.GNS, &p.TDecayMS, &tRise, &rec, &psp, &base, &ttp, &rise, &half, &peaks, &ihold,
			&p.DSpikeFired, &p.Status, &errText); err != nil {
			t.Fatal(err)
		}
		p.TRiseMS, p.Rise1090MS, p.HalfWidthMS, p.IHoldPA = floatPtr(tRise), floatPtr(rise), floatPtr(half), floatPtr(ihold)
		p.PSPMV, p.BaselineMV, p.TimeToPeakMS, p.Error = psp.Float64, base.Float64, ttp.Float64, errText.String
		if err := json.Unmarshal([]byte(rec), &p.Receptors); err != nil {
			t.Fatalf("view receptors %s: %v", rec, err)
		}
		if err := json.Unmarshal([]byte(peaks), &p.PeaksMV); err != nil {
			t.Fatalf("view peaks %s: %v", peaks, err)
		}
		got = append(got, p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("view: %d points", len(got))
	// The receptors and peaks JSON of the view go through SQLite's float
	// printing; compare the REAL columns exactly and JSON values to 1e-15.
	unsign := func(ps []Point) []Point {
		out := make([]Point, len(ps))
		for i, p := range ps {
			for _, v := range []*float64{&p.GNS, &p.TDecayMS, &p.PSPMV, &p.BaselineMV, &p.TimeToPeakMS, p.TRiseMS, p.Rise1090MS, p.HalfWidthMS, p.IHoldPA} {
				if v != nil && *v == 0 {
					*v = 0
				}
			}
			p.Receptors, p.PeaksMV = nil, nil
			out[i] = p
		}
		return out
	}
	if !samePoints(unsign(got), unsign(want)) {
		for i := range min(len(got), len(want)) {
			if !samePoints(unsign(got[i:i+1]), unsign(want[i:i+1])) {
				t.Fatalf("view point %d differs:\n got %+v\nwant %+v", i, got[i], want[i])
			}
		}
		t.Fatalf("view has %d points, want %d", len(got), len(want))
	}
	close := func(a, b float64) bool { return a == b || math.Abs(a-b) <= 1e-15*math.Abs(b) }
	for i := range got {
		g, w := got[i], want[i]
		if len(g.Receptors) != len(w.Receptors) || len(g.PeaksMV) != len(w.PeaksMV) {
			t.Fatalf("view point %s: receptors %v peaks %v, want %v %v", g.PointKey, g.Receptors, g.PeaksMV, w.Receptors, w.PeaksMV)
		}
		for k, r := range g.Receptors {
			wr := w.Receptors[k]
			if r.Channel != wr.Channel || !close(r.GNS, wr.GNS) || !close(r.TDecayMS, wr.TDecayMS) || (r.TRiseMS == nil) != (wr.TRiseMS == nil) {
				t.Errorf("view point %s: receptor %+v, want %+v", g.PointKey, r, wr)
			}
		}
		for c, v := range w.PeaksMV {
			if !close(g.PeaksMV[c], v) {
				t.Errorf("view point %s: peak %s %v, want %v", g.PointKey, c, g.PeaksMV[c], v)
			}
		}
	}
}

func TestGridKey(t *testing.T) {
	tests := []struct {
		p     int
		axes  [3]int
		index int
		want  string
	}{
		{0, [3]int{0, 0, 0}, 0, "p0000/g-/d-/r-"},
		{2, [3]int{10, 0, 0}, 7, "p0002/g000007/d-/r-"},
		{1, [3]int{3, 4, 5}, 2*20 + 3*5 + 4, "p0001/g000002/d000003/r000004"},
		{12345, [3]int{0, 3, 0}, 2, "p12345/g-/d000002/r-"},
		{0, [3]int{2000000, 0, 0}, 1234567, "p0000/g1234567/d-/r-"},
	}
	for _, tc := range tests {
		if got := GridKey(tc.p, tc.axes, tc.index); got != tc.want {
			t.Errorf("GridKey(%d, %v, %d) = %q, want %q", tc.p, tc.axes, tc.index, got, tc.want)
		}
	}
}

// TestMigration3KeepsRowPoints: a database written before 0003 (points a
// table) upgrades in place; its points stay readable through Points and
// through the points view, beside new block points of another run.
func TestMigration3KeepsRowPoints(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	raw := replayed(t, "sqlite3", path, 2)
	if _, err := raw.Exec(`INSERT INTO experiments (name, spec_text, spec_sha256, created_at) VALUES ('x', 's', 'h', 't');
		INSERT INTO runs (experiment_id, command, status, started_at, run_uid) VALUES (1, 'sweep', 'done', 't', 'u1');
		INSERT INTO points (run_id, pathway, point_key, g_nS, t_decay_ms, receptors, psp_mV, baseline_mV,
			time_to_peak_ms, peaks_mV, status)
		VALUES (1, 0, 'p0000/g000001/d-/r-', 0.30000000000000004, 2, '[{"channel":"AMPA","g_nS":0.30000000000000004,"t_decay_ms":2,"t_rise_ms":null}]',
			0.1234567890123456, -70, 1.5, '{"soma":-69.87654321}', 'ok')`); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	run2, err := d.CreateRun(ctx, NewRun(1, CommandSweep, nil))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := blockFixture(6)
	if err := d.InsertPointBlocks(ctx, run2, []*PointBlock{b}); err != nil {
		t.Fatal(err)
	}
	old, err := d.Points(ctx, PointFilter{RunID: 1})
	if err != nil || len(old) != 1 || old[0].PSPMV != 0.1234567890123456 || old[0].PeaksMV["soma"] != -69.87654321 {
		t.Fatalf("row point after migration: %+v, %v", old, err)
	}
	checkViewMatches(t, d, 1, old)
	if n := count(t, d, `SELECT count(*) FROM points`); n != 7 {
		t.Errorf("points view has %d points, want 1 row + 6 block points", n)
	}
}

// replayed opens the file at path through driver and applies migrations
// 1..v to it one by one, recording them as Open does: a database as an
// older dendfit, or the migrations without the baseline, would leave it.
func replayed(t *testing.T, driver, path string, v int) *sql.DB {
	t.Helper()
	raw, err := sql.Open(driver, "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	all, err := migrationsUpTo(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		if _, err := raw.Exec(m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if _, err := raw.Exec(`INSERT INTO schema_migrations VALUES (?, ?, '2026-01-01T00:00:00.000000000Z')`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	return raw
}

func migrationsUpTo(v int) ([]migrations.Migration, error) {
	all, err := migrations.All()
	if err != nil {
		return nil, err
	}
	var out []migrations.Migration
	for _, m := range all {
		if m.Version <= v {
			out = append(out, m)
		}
	}
	return out, nil
}

// FuzzDecodeBlock: whatever a point_blocks row holds, decoding it returns
// a block or an error, never a panic, and a decoded block's points can be
// listed.
func FuzzDecodeBlock(f *testing.F) {
	b, _ := blockFixture(3)
	var data []byte
	for _, v := range b.vals {
		data = binary.LittleEndian.AppendUint64(data, math.Float64bits(v))
	}
	f.Add(`["AMPA","NMDA"]`, `["soma","dend","apical"]`, 3, b.stride(), data, `{"1":"x"}`, 50, 4, 0, int64(1), "", []byte{})
	f.Add(`[]`, `[]`, 1, 8, make([]byte, 64), `{}`, 0, 0, 0, int64(0), "", []byte{})
	f.Add(`["A"]`, `["s"]`, 0, 12, []byte{}, `{"0":"x"}`, 2, 0, 0, int64(0), "", []byte{})
	seq, _ := seqBlockFixture(5)
	st := seq.store(10, new(storeScratch))
	f.Add(`["AMPA"]`, `["soma","dend"]`, 5, st.stride, st.data, `{"2":"x"}`, 100, 0, 0, int64(10), st.layout, st.shared)
	f.Add(`[]`, `[]`, 2, 1, make([]byte, 16), `{}`, 0, 0, 0, int64(7), "+.A.....", make([]byte, 64))
	// Every value shared: no data bytes bound the points a row claims.
	f.Add(`[]`, `[]`, 1<<40, 0, []byte{}, `{}`, 0, 0, 0, int64(0), "+.......", make([]byte, 64))
	f.Fuzz(func(t *testing.T, chans, comps string, n, stride int, data []byte, errs string, ng, nd, nr int, first int64, layout string, shared []byte) {
		var b PointBlock
		r := blockRow{chans: chans, comps: comps, errs: errs, n: n, stride: stride, first: first, data: data, shared: shared, layout: layout}
		if err := decodeBlock(&b, &r); err != nil {
			return
		}
		b.Axes = [3]int{ng & 0xffff, nd & 0xff, nr & 0xff}
		if got := len(b.Points(1)); got != n {
			t.Fatalf("%d points from a block of %d", got, n)
		}
		// What decodes stores again as the same points.
		st := b.store(first, new(storeScratch))
		var c PointBlock
		r2 := blockRow{chans: chans, comps: comps, errs: "{}", n: n, stride: st.stride, first: first, data: st.data, shared: st.shared, layout: st.layout}
		if first2 := minIndex(&b); n > 0 && first2 != first && st.layout != "" && st.layout[0] == '+' {
			t.Fatalf("stored from index %d, smallest index %d", first, first2)
		}
		if err := decodeBlock(&c, &r2); err != nil {
			t.Fatalf("a decoded block does not decode again: %v", err)
		}
		c.Axes = b.Axes
		if !sameSorted(c.Points(1), b.Points(1)) {
			t.Fatal("a decoded block stores as other points")
		}
	})
}

// TestBadBlockRows: rows no dendfit writes (a block from elsewhere, by
// merge) are errors or kept by key, never a crash: a block claiming 2^40
// points whose values are all shared (it ran out of memory), a grid of
// 2^60 points and a negative index (a bit set index out of range).
func TestBadBlockRows(t *testing.T) {
	var b PointBlock
	r := blockRow{chans: `[]`, comps: `[]`, errs: `{}`, n: 1 << 40, layout: "+.......", shared: make([]byte, 64)}
	if err := decodeBlock(&b, &r); err == nil || !strings.Contains(err.Error(), "block of 1099511627776 points") {
		t.Errorf("2^40 shared points: err = %v", err)
	}
	for _, tc := range []struct {
		axes  [3]int
		index float64
	}{{[3]int{1 << 20, 1 << 20, 1 << 20}, 5}, {[3]int{10, 0, 0}, -3}} {
		seq, _ := seqBlockFixture(2)
		seq.Axes = tc.axes
		seq.rec(0)[slotIndex] = tc.index
		rec := &Recorded{grids: map[recordedGrid][]uint64{}, keys: map[string]struct{}{}}
		rec.add(seq, 0)
		rec.add(seq, 1)
		if rec.Len() != 2 || len(rec.keys) == 0 {
			t.Errorf("axes %v, index %v: %d points recorded, %d by key", tc.axes, tc.index, rec.Len(), len(rec.keys))
		}
	}
}

// minIndex is the smallest index of b's points.
func minIndex(b *PointBlock) int64 {
	m := math.Inf(1)
	for i := range b.Len() {
		m = min(m, b.rec(i)[slotIndex])
	}
	return int64(m)
}

// sameSorted compares points, errors aside, in key order.
func sameSorted(a, b []Point) bool {
	for _, ps := range [][]Point{a, b} {
		for i := range ps {
			ps[i].Status, ps[i].Error = "", ""
		}
		sortPoints(ps)
	}
	return samePoints(a, b)
}

// seqBlockFixture is a sweep-like block: indexes first .. first+n-1 in a
// shuffled order, the baseline, flags, kinetics and NULLs the same in
// every point, the rest varying.
func seqBlockFixture(n int) (*PointBlock, []BlockPoint) {
	rng := rand.New(rand.NewPCG(3, 4))
	b := &PointBlock{Pathway: 1, Pre: "E", Post: "E", Compartment: "dend", Record: "soma", Tag: "",
		Channels: []string{"AMPA"}, Compartments: []string{"soma", "dend"}, Axes: [3]int{1000, 0, 0}}
	var pts []BlockPoint
	for _, i := range rng.Perm(n) {
		g := 0.1 * math.Pow(100, float64(i)/float64(n))
		p := BlockPoint{Index: 10 + i, GNS: []float64{g}, TDecayMS: []float64{2}, TRiseMS: []float64{math.NaN()},
			PSPMV: 0.7 * g, BaselineMV: -70, TimeToPeakMS: 9.1 + float64(i%3), Rise1090MS: 4.8, HalfWidthMS: 26 + g,
			IHoldPA: math.NaN(), PeaksMV: []float64{0.7 * g, 1.3 * g}}
		if i == 2 {
			p.Error = "sim: unstable"
		}
		pts = append(pts, p)
		b.Add(&pts[len(pts)-1])
	}
	return b, pts
}

// TestBackgroundCheckpoint: commits do not checkpoint the WAL; the DB's
// checkpointer copies it into the database file while the DB stays open,
// so the WAL does not grow with a long sweep.
func TestBackgroundCheckpoint(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	d, run := sweepRunDB(t, path)
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := blockFixture(50000) // about 7 MB, more than any free space left by the migrations
	if err := d.InsertPointBlocks(ctx, run, []*PointBlock{b}); err != nil {
		t.Fatal(err)
	}
	stored := int64(count(t, d, `SELECT sum(length(data)) FROM point_blocks`))
	deadline := time.Now().Add(5 * time.Second)
	for {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() >= before.Size()+stored {
			break // the block's pages are in the database file
		}
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes after 5 s (was %d): the WAL was not checkpointed", fi.Size(), before.Size())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSmallCommitsDoNotKickTheCheckpointer: a checkpoint syncs the file
// twice, which a command of a few small commits (a run row, a simulate's
// points) waited for at Close: the checkpointer is kicked once the commits
// since its last kick add up to checkpointAfter (the timer and Close still
// checkpoint the rest), and a sweep's large commits kick it as before.
func TestSmallCommitsDoNotKickTheCheckpointer(t *testing.T) {
	ctx := context.Background()
	d, run := sweepRunDB(t, filepath.Join(t.TempDir(), "k.db"))
	// The count is reset when the checkpointer is kicked.
	before := d.unckpt.Load()
	for i := range 5 {
		if _, err := d.PutExperiment(ctx, "e"+strconv.Itoa(i), []byte("dendfit: 1\n")); err != nil {
			t.Fatal(err)
		}
	}
	if got := d.unckpt.Load(); got != before+5*(64<<10) {
		t.Errorf("after five small commits %d bytes counted (%d before): the checkpointer was kicked", got, before)
	}
	b, _ := blockFixture(150000) // about 21 MB
	if err := d.InsertPointBlocks(ctx, run, []*PointBlock{b}); err != nil {
		t.Fatal(err)
	}
	if stored := int64(count(t, d, `SELECT sum(length(data)) FROM point_blocks`)); stored < checkpointAfter {
		t.Fatalf("the large commit stored %d bytes, not over checkpointAfter (%d)", stored, checkpointAfter)
	}
	if got := d.unckpt.Load(); got != 0 {
		t.Errorf("after a 21 MB commit %d bytes counted: the checkpointer was not kicked", got)
	}
}

// TestLittleEndianData: a block's data is the same bytes whether it is the
// floats' own memory (little-endian hosts) or converted one by one (the
// path big-endian hosts take), NaN payloads, -0 and subnormals included.
func TestLittleEndianData(t *testing.T) {
	vals := []float64{0, math.Copysign(0, -1), 1, -2.5, math.SmallestNonzeroFloat64, math.MaxFloat64,
		math.Inf(-1), math.NaN(), math.Float64frombits(0x7ff8_dead_beef_0001)}
	saved := nativeLE
	defer func() { nativeLE = saved }()
	nativeLE = false
	converted := append([]byte(nil), littleEndian(vals, nil)...)
	nativeLE = saved
	native := littleEndian(vals, nil)
	if !bytes.Equal(native, converted) || len(native) != 8*len(vals) {
		t.Fatalf("native %x\nconverted %x", native, converted)
	}
	for i, v := range vals {
		if got := binary.LittleEndian.Uint64(converted[8*i:]); got != math.Float64bits(v) {
			t.Errorf("value %d: %#x, want %#x", i, got, math.Float64bits(v))
		}
	}
}

// TestCompactBlocksRoundTrip: a sweep-like block is stored compact (its
// index not stored, its repeated values once, its points in index order)
// and reads back, through Points, pointKeys and the SQL view, as the
// points written, its failed point's error with it.
func TestCompactBlocksRoundTrip(t *testing.T) {
	ctx := context.Background()
	d, run := sweepRunDB(t, "")
	const n = 50
	b, in := seqBlockFixture(n)
	want := b.Points(run)
	sortPoints(want)
	if err := d.InsertPointBlocks(ctx, run, []*PointBlock{b}); err != nil {
		t.Fatal(err)
	}
	var layout string
	var stride, bytes, first int
	if err := d.sql.QueryRow(`SELECT layout, stride, length(data), first_index FROM point_blocks WHERE run_id = ?`, run).
		Scan(&layout, &stride, &bytes, &first); err != nil {
		t.Fatal(err)
	}
	// index, flags (one failed point), psp, baseline, time to peak, rise,
	// half width, i_hold, g, t_decay, t_rise, two peaks: the record's
	// (soma's) the PSP's value (0008), read from it by Go and the view.
	if layout != "+AB.C.D.E..BF" || stride != 6 || bytes != 8*6*n || first != 10 {
		t.Errorf("stored layout %q, stride %d, %d bytes from index %d; want +AB.C.D.E..BF, 6, %d from 10", layout, stride, bytes, first, 8*6*n)
	}
	got, err := d.Points(ctx, PointFilter{RunID: run})
	if err != nil {
		t.Fatal(err)
	}
	if !samePoints(got, want) {
		t.Fatalf("points read back differ from those written:\n got %+v\nwant %+v", got, want)
	}
	for _, p := range got {
		if failed := p.PointKey == GridKey(1, b.Axes, 12); failed != (p.Status == PointFailed) || failed != (p.Error == "sim: unstable") {
			t.Errorf("point %s: status %s, error %q", p.PointKey, p.Status, p.Error)
		}
	}
	keys, err := pointKeys(ctx, d, run)
	if err != nil || len(keys) != len(in) {
		t.Fatalf("pointKeys: %d keys, %v; want %d", len(keys), err, len(in))
	}
	checkViewMatches(t, d, run, want)
}

// str returns the one text value q gives.
func str(t *testing.T, d *DB, q string, args ...any) string {
	t.Helper()
	var v string
	if err := d.sql.QueryRow(q, args...).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestMigration4KeepsBlocks: a schema-3 file's blocks, every slot stored,
// read the same after migration 0004, through Points and the view,
// beside compact blocks written after it.
func TestMigration4KeepsBlocks(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	raw := replayed(t, "sqlite3", path, 3)
	old, _ := seqBlockFixture(20)
	if _, err := raw.Exec(`INSERT INTO experiments (name, spec_text, spec_sha256, created_at) VALUES ('x', 's', 'h', 't');
		INSERT INTO runs (experiment_id, command, status, started_at, run_uid) VALUES (1, 'sweep', 'done', 't', 'u1')`); err != nil {
		t.Fatal(err)
	}
	// 0003's encoding: every slot of every point, errors by position.
	var data []byte
	for _, v := range old.vals {
		data = binary.LittleEndian.AppendUint64(data, math.Float64bits(v))
	}
	errs := map[string]string{}
	for i, e := range old.errors {
		errs[strconv.Itoa(i)] = e
	}
	ej, _ := json.Marshal(errs)
	if _, err := raw.Exec(`INSERT INTO point_blocks (run_id, pathway, first_index, pre, post, compartment, record, tag,
		channels, compartments, n_receptors, n_g, n_t_decay, n_t_rise, n_points, stride, data, errors)
		VALUES (1, 1, 10, 'E', 'E', 'dend', 'soma', '', '["AMPA"]', '["soma","dend"]', 1, 1000, 0, 0, 20, ?, ?, ?)`,
		old.stride(), data, string(ej)); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	want := old.Points(1)
	sortPoints(want)
	// Read-only, the file is not migrated: its blocks read all the same.
	ro, err := OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ro.Points(ctx, PointFilter{RunID: 1}); err != nil || !samePoints(got, want) {
		t.Errorf("0003 block read-only: %v\n got %+v\nwant %+v", err, got, want)
	}
	if rec, err := ro.RecordedPoints(ctx, 1); err != nil || rec.Len() != len(want) {
		t.Errorf("0003 block read-only: recorded %v, %v", rec, err)
	}
	ro.Close()
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	got, err := d.Points(ctx, PointFilter{RunID: 1})
	if err != nil || !samePoints(got, want) {
		t.Fatalf("0003 block after migration: %v\n got %+v\nwant %+v", err, got, want)
	}
	checkViewMatches(t, d, 1, want)
	run2, err := d.CreateRun(ctx, NewRun(1, CommandSweep, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.InsertPointBlocks(ctx, run2, []*PointBlock{old}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, d, `SELECT count(*) FROM points`); n != 40 {
		t.Errorf("points view has %d points, want 20 of each layout", n)
	}
}

// TestStoreLayout: store keeps a slot once only when every point has the
// same bits there, and leaves the index out only when the indexes are
// first .. first+n-1, each once; whatever it chooses decodes to the same
// points.
func TestStoreLayout(t *testing.T) {
	negZero := math.Copysign(0, -1)
	tests := []struct {
		name   string
		edit   func(pts []BlockPoint) // on 8 points with indexes 10..17, shuffled
		layout string
	}{
		{"sweep", func([]BlockPoint) {}, "+AB.C.D.E..FG"},
		{"index twice, one missing", func(p []BlockPoint) { p[3].Index = p[5].Index }, "ABC.D.E.F..GH"},
		{"index past the range", func(p []BlockPoint) { p[0].Index = 18 + 10*p[0].Index }, "ABC.D.E.F..GH"},
		{"baseline differs in the last point", func(p []BlockPoint) { p[7].BaselineMV = -69 }, "+ABCD.E.F..GH"},
		{"baseline differs in the first point", func(p []BlockPoint) { p[0].BaselineMV = -69 }, "+ABCD.E.F..GH"},
		{"baseline differs in the second point", func(p []BlockPoint) { p[1].BaselineMV = -69 }, "+ABCD.E.F..GH"},
		{"-0 is not 0", func(p []BlockPoint) {
			for i := range p {
				p[i].Rise1090MS = 0
			}
			p[4].Rise1090MS = negZero
		}, "+AB.CDE.F..GH"},
		{"the same NaN is shared", func(p []BlockPoint) {
			for i := range p {
				p[i].HalfWidthMS = math.NaN()
			}
		}, "+AB.C...D..EF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, pts := seqBlockFixture(8)
			tt.edit(pts)
			b := &PointBlock{Pathway: 1, Channels: []string{"AMPA"}, Compartments: []string{"soma", "dend"}, Axes: [3]int{1000, 0, 0}}
			for i := range pts {
				b.Add(&pts[i])
			}
			st := b.store(10, new(storeScratch))
			if st.layout != tt.layout {
				t.Errorf("layout %q, want %q", st.layout, tt.layout)
			}
			var c PointBlock
			r := blockRow{chans: `["AMPA"]`, comps: `["soma","dend"]`, errs: "{}", n: len(pts), stride: st.stride,
				first: 10, data: st.data, shared: st.shared, layout: st.layout}
			if err := decodeBlock(&c, &r); err != nil {
				t.Fatal(err)
			}
			c.Pathway, c.Axes = b.Pathway, b.Axes
			if got, want := c.Points(1), b.Points(1); !sameSorted(got, want) {
				t.Errorf("stored block decodes to other points:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestRoomSizesARow: read after a block's first chunk, Room is the points
// the block then takes to its close within a chunk, when the chunks store
// what the first did (as a sweep's, whose varying metrics vary from the
// start); it is 0, unknown, after one point or points all alike.
func TestRoomSizesARow(t *testing.T) {
	_, pts := seqBlockFixture(20000)
	slices.SortFunc(pts, func(a, b BlockPoint) int { return a.Index - b.Index })
	header := &PointBlock{Pathway: 1, Pre: "E", Post: "E", Compartment: "dend", Record: "soma",
		Channels: []string{"AMPA"}, Compartments: []string{"soma", "dend"}, Axes: [3]int{20000, 0, 0}}
	const chunk = 32
	open, room, took, closed := new(PointBlock), -1, 0, 0
	open.SetHeader(header)
	for i := 0; i < len(pts); i += chunk {
		c := new(PointBlock)
		c.SetHeader(header)
		for j := i; j < min(i+chunk, len(pts)); j++ {
			p := pts[j]
			p.Error = "" // errors widen a row by their text
			c.Add(&p)
		}
		if !open.Fits(c) {
			if took > room || took < room-chunk {
				t.Errorf("block %d: Room %d after its first chunk, then it took %d points", closed, room, took)
			}
			closed++
			open = new(PointBlock)
			open.SetHeader(header)
		}
		open.AddBlock(c)
		if room < 0 || open.Len() == c.Len() {
			room, took = open.Room(), 0
			if room == 0 {
				t.Fatalf("block %d: Room 0 after a chunk of %d varying points", closed, c.Len())
			}
		} else {
			took += c.Len()
		}
	}
	if closed < 3 {
		t.Fatalf("%d blocks closed: too few to test", closed)
	}
	one := new(PointBlock)
	one.SetHeader(header)
	p := pts[0]
	p.Error = ""
	one.Add(&p)
	if r := one.Room(); r != 0 {
		t.Errorf("after one point Room is %d, want 0 (unknown)", r)
	}
	p.Index++
	one.Add(&p)
	if r := one.Room(); r != 0 {
		t.Errorf("after two points alike but for their index, Room is %d, want 0 (unknown)", r)
	}
}

// TestBlockOfEqualPoints: a block whose points differ only in their
// index (a list axis that repeats a value) stores no data at all, and
// reads back through Points and the view.
func TestBlockOfEqualPoints(t *testing.T) {
	ctx := context.Background()
	d, run := sweepRunDB(t, "")
	b := &PointBlock{Pathway: 0, Channels: []string{"AMPA"}, Compartments: []string{"soma"}, Axes: [3]int{3, 0, 0}}
	for x := range 3 {
		b.Add(&BlockPoint{Index: x, GNS: []float64{1}, TDecayMS: []float64{2}, TRiseMS: []float64{math.NaN()},
			PSPMV: 0.5, BaselineMV: -70, TimeToPeakMS: 3, Rise1090MS: 1, HalfWidthMS: 9, IHoldPA: math.NaN(), PeaksMV: []float64{0.5}})
	}
	want := b.Points(run)
	if err := d.InsertPointBlocks(ctx, run, []*PointBlock{b}); err != nil {
		t.Fatal(err)
	}
	if got := str(t, d, `SELECT layout || ' ' || stride || ' ' || length(data) FROM point_blocks`); got != "+........... 0 0" {
		t.Errorf("stored as %q, want layout +..........., stride 0, no data", got)
	}
	got, err := d.Points(ctx, PointFilter{RunID: run})
	if err != nil {
		t.Fatal(err)
	}
	if !samePoints(got, want) {
		t.Errorf("read back:\n got %+v\nwant %+v", got, want)
	}
	checkViewMatches(t, d, run, want)
}

// TestFitsReckonsAsStore builds blocks as a sweep's writer does (a chunk
// at a time, closing a block when Fits says the next chunk would not fit)
// from chunks whose slots vary at random places, with failures, gaps and
// repeated indexes, and checks what Add and AddBlock tracked against a
// scan of the block and against store: a closed block stays within
// MaxRowBytes, and with its next chunk it would not have; and Room, read
// after a block's first chunk, bounds the points it took after it.
func TestFitsReckonsAsStore(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 40 {
		_, base := seqBlockFixture(6000)
		slices := func(p *BlockPoint) []*float64 {
			return []*float64{&p.PSPMV, &p.BaselineMV, &p.TimeToPeakMS, &p.Rise1090MS, &p.HalfWidthMS, &p.IHoldPA,
				&p.GNS[0], &p.TDecayMS[0], &p.TRiseMS[0], &p.PeaksMV[0], &p.PeaksMV[1]}
		}
		// Each slot is constant, or changes from a random point on, or
		// at every point.
		change := make([]int, 11)
		for k := range change {
			change[k] = []int{-1, rng.IntN(6000), 0}[rng.IntN(3)]
		}
		idx := 0
		header := &PointBlock{Pathway: 1, Pre: "E", Post: "E", Compartment: "dend", Record: "soma",
			Channels: []string{"AMPA"}, Compartments: []string{"soma", "dend"}, Axes: [3]int{100000, 0, 0}}
		var blocks []*PointBlock
		open := new(PointBlock)
		open.SetHeader(header)
		var refused []*PointBlock // the chunk each closed block refused
		var firstLen, room []int  // each block's: its first chunk's points, Room after it
		for i := 0; i < len(base); {
			c := new(PointBlock)
			c.SetHeader(header)
			for range min(1+rng.IntN(40), len(base)-i) {
				p := base[i]
				p.GNS, p.TDecayMS, p.TRiseMS, p.PeaksMV = []float64{1}, []float64{2}, []float64{math.NaN()}, []float64{3, 4}
				p.PSPMV, p.BaselineMV, p.TimeToPeakMS, p.Rise1090MS, p.HalfWidthMS, p.IHoldPA = 5, -70, 6, 7, 8, math.NaN()
				for k, f := range slices(&p) {
					if change[k] >= 0 && i >= change[k] {
						*f = float64(i) + 0.5
					}
				}
				p.DSpikeFired = trial%4 == 1 && rng.IntN(500) == 0
				if trial%4 == 2 && rng.IntN(300) == 0 {
					p.Error = strings.Repeat("e", rng.IntN(2000))
				}
				switch r := rng.IntN(2000); {
				case trial%4 == 3 && r == 0:
					idx += 2 // a gap: another shard's chunk
				case trial%4 == 3 && r == 1:
					idx-- // an index twice
				}
				p.Index = idx
				idx++
				i++
				c.Add(&p)
			}
			if !open.Fits(c) {
				blocks, refused = append(blocks, open), append(refused, c)
				open = new(PointBlock)
				open.SetHeader(header)
			}
			open.AddBlock(c)
			if open.Len() == c.Len() {
				firstLen, room = append(firstLen, c.Len()), append(room, open.Room())
			}
		}
		blocks = append(blocks, open)
		for bi, b := range blocks {
			n, S := b.Len(), b.stride()
			first := b.rec(0)
			inOrder, stored := true, 0
			for k := range S {
				varies := false
				for i := 1; i < n; i++ {
					if math.Float64bits(b.rec(i)[k]) != math.Float64bits(first[k]) {
						varies = true
					}
				}
				if varies != b.varies[k] {
					t.Fatalf("trial %d, block %d: slot %d varies %v, tracked %v", trial, bi, k, varies, b.varies[k])
				}
				if varies && k != slotIndex {
					stored++
				}
			}
			for i := range n {
				inOrder = inOrder && b.rec(i)[slotIndex] == first[slotIndex]+float64(i)
			}
			if inOrder != b.inOrder {
				t.Fatalf("trial %d, block %d: indexes in order %v, tracked %v", trial, bi, inOrder, b.inOrder)
			}
			if !inOrder && b.varies[slotIndex] {
				stored++
			}
			// The record's (soma's) peak, the PSP in every point, is
			// stored once with it (0008).
			peak := slotReceptors + 3 + 0
			samePeak := true
			for i := range n {
				samePeak = samePeak && math.Float64bits(b.rec(i)[peak]) == math.Float64bits(b.rec(i)[slotPSP])
			}
			if samePeak != b.pspPeak {
				t.Fatalf("trial %d, block %d: PSP is the record's peak %v, tracked %v", trial, bi, samePeak, b.pspPeak)
			}
			if samePeak && b.varies[slotPSP] {
				stored--
			}
			st := b.store(minIndex(b), new(storeScratch))
			if n > 1 && st.stride != stored {
				t.Fatalf("trial %d, block %d: store keeps %d values a point, Fits reckons %d", trial, bi, st.stride, stored)
			}
			if size := b.rowBytes(n, st.stride, b.errBytes); size > MaxRowBytes {
				t.Errorf("trial %d, block %d: %d points make a row of %d bytes, over %d", trial, bi, n, size, MaxRowBytes)
			}
			if took := n - firstLen[bi]; room[bi] > 0 && took > room[bi] {
				t.Errorf("trial %d, block %d: took %d points after its first chunk, Room said at most %d", trial, bi, took, room[bi])
			}
			if bi == len(blocks)-1 {
				continue
			}
			// Not closed too soon: with the chunk it refused, it is over.
			both := new(PointBlock)
			both.SetHeader(header)
			both.AddBlock(b)
			both.AddBlock(refused[bi])
			st = both.store(minIndex(both), new(storeScratch))
			if size := both.rowBytes(both.Len(), st.stride, both.errBytes); size <= MaxRowBytes {
				t.Errorf("trial %d, block %d: closed at %d points, yet its next chunk fit (%d bytes)", trial, bi, n, size)
			}
		}
	}
}

// TestLayoutRepeats: a layout may name a stored value again for a later
// slot (0008), which then reads that value; a letter past the values
// stored so far is refused.
func TestLayoutRepeats(t *testing.T) {
	data := binary.LittleEndian.AppendUint64(nil, math.Float64bits(1.5))
	data = binary.LittleEndian.AppendUint64(data, math.Float64bits(-2.25))
	var b PointBlock
	r := blockRow{chans: `[]`, comps: `[]`, errs: `{}`, n: 2, stride: 1, first: 4, data: data, shared: make([]byte, 64), layout: "+.A..A.."}
	if err := decodeBlock(&b, &r); err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{1.5, -2.25} {
		if rec := b.rec(i); rec[slotPSP] != want || rec[5] != want || rec[slotIndex] != float64(4+i) {
			t.Errorf("point %d: %v, want PSP and slot 5 %v", i, rec, want)
		}
	}
	r.layout = "+.B..A.."
	if err := decodeBlock(&b, &r); err == nil || !strings.Contains(err.Error(), `slot 2 is 'B'`) {
		t.Errorf("layout %q: err %v, want it refused", r.layout, err)
	}
}
