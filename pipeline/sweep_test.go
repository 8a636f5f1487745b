package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/fit"
	"github.com/dendfit/dendfit/sim"
	"github.com/dendfit/dendfit/sim/spec"
)

// memStore collects points; the database itself is tested in db and in
// TestSweepRecordsInDatabase.
type memStore struct {
	mu  sync.Mutex
	pts []db.Point
}

func (m *memStore) InsertPointBlocks(_ context.Context, runID int64, blocks []*db.PointBlock) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range blocks {
		m.pts = append(m.pts, b.Points(runID)...)
	}
	return nil
}

func (m *memStore) sorted() []db.Point {
	sort.Slice(m.pts, func(i, j int) bool { return m.pts[i].PointKey < m.pts[j].PointKey })
	return m.pts
}

// TestSweepMatchesReference checks every reference case with a sweep block
// row by row against what Dendrify + Brian 2 computed.
func TestSweepMatchesReference(t *testing.T) {
	n := 0
	for _, rc := range loadReference(t) {
		if rc.want.Sweep == nil {
			continue
		}
		t.Run(rc.name, func(t *testing.T) {
			st := &memStore{}
			if _, err := Sweep(context.Background(), rc.spec, st, 1, &SweepOptions{Workers: 2}); err != nil {
				t.Fatal(err)
			}
			gr := NewGrid(rc.spec)
			byKey := map[string]db.Point{}
			for _, p := range st.pts {
				byKey[p.PointKey] = p
			}
			if len(st.pts) != len(rc.want.Sweep) || gr.Len() != len(rc.want.Sweep) {
				t.Fatalf("%d points (grid %d), want %d", len(st.pts), gr.Len(), len(rc.want.Sweep))
			}
			for i, w := range rc.want.Sweep {
				gp := gr.Point(i)
				p := byKey[gp.Key]
				if p.Pathway != w.Pathway {
					t.Errorf("row %d: pathway %d, want %d", i, p.Pathway, w.Pathway)
				}
				if w.GNS != nil && !relClose(p.GNS, *w.GNS, 1e-12) {
					t.Errorf("row %d: g %v nS, want %v", i, p.GNS, *w.GNS)
				}
				if w.TDecayMS != nil && !relClose(p.TDecayMS, *w.TDecayMS, 1e-12) {
					t.Errorf("row %d: t_decay %v, want %v", i, p.TDecayMS, *w.TDecayMS)
				}
				if w.TRiseMS != nil && (p.TRiseMS == nil || !relClose(*p.TRiseMS, *w.TRiseMS, 1e-12)) {
					t.Errorf("row %d: t_rise %v, want %v", i, p.TRiseMS, *w.TRiseMS)
				}
				if !relClose(p.PSPMV, w.PSPMV, 1e-9) {
					t.Errorf("row %d: psp %v mV, want %v", i, p.PSPMV, w.PSPMV)
				}
				if p.DSpikeFired != w.DSpikeFired {
					t.Errorf("row %d: dspike %v, want %v", i, p.DSpikeFired, w.DSpikeFired)
				}
				n++
			}
		})
	}
	if n == 0 {
		t.Fatal("no reference sweep rows compared")
	}
	t.Logf("%d sweep rows compared", n)
}

func bigGridSpec(t testing.TB, steps int) *spec.Spec {
	t.Helper()
	s, err := spec.Load("testdata/reference/cases/two-populations-three-pathways.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s.Sweep.G = spec.Axis{From: 0.1e-9, To: 10e-9, Steps: steps, Log: true}
	s.Sweep.TDecay = spec.Axis{List: []float64{1e-3, 3e-3, 7e-3}}
	return s
}

// TestSweepIdenticalAcrossWorkersAndShards: the same grid run with 1 or 3
// workers, or as 3 shards, gives bit-identical points, each exactly once;
// and each equals a single-point simulation of it.
func TestSweepIdenticalAcrossWorkersAndShards(t *testing.T) {
	s := bigGridSpec(t, 23)
	run := func(workers, k, n int) []db.Point {
		st := &memStore{}
		if _, err := Sweep(context.Background(), s, st, 1, &SweepOptions{Workers: workers, ShardK: k, ShardN: n, FlushEvery: 7}); err != nil {
			t.Fatal(err)
		}
		return st.pts
	}
	one := (&memStore{pts: run(1, 0, 1)}).sorted()
	three := (&memStore{pts: run(3, 0, 1)}).sorted()
	// Far more workers than chunks: those without one are not started
	// (a billion took 23 GB), and the points are the same.
	if many := (&memStore{pts: run(1<<30, 0, 1)}).sorted(); !reflect.DeepEqual(many, one) {
		t.Errorf("2^30 workers: %d points, differing from one worker's %d", len(many), len(one))
	}
	sh := &memStore{}
	for k := 0; k < 3; k++ {
		sh.pts = append(sh.pts, run(2, k, 3)...)
	}
	shards := sh.sorted()
	if len(one) != NewGrid(s).Len() || len(three) != len(one) || len(shards) != len(one) {
		t.Fatalf("point counts %d %d %d, grid %d", len(one), len(three), len(shards), NewGrid(s).Len())
	}
	for i := range one {
		for _, o := range []db.Point{three[i], shards[i]} {
			if o.PointKey != one[i].PointKey || math.Float64bits(o.PSPMV) != math.Float64bits(one[i].PSPMV) ||
				math.Float64bits(*o.HalfWidthMS) != math.Float64bits(*one[i].HalfWidthMS) {
				t.Fatalf("point %s differs: %v vs %v", one[i].PointKey, o.PSPMV, one[i].PSPMV)
			}
		}
	}
	// Lanes of a batch equal lone runs, bit for bit.
	gr := NewGrid(s)
	for _, i := range []int{0, 5, 40, 100, gr.Len() - 1} {
		gp := gr.Point(i)
		setup, _, _ := s.Setup(gp.Pathway)
		pr, err := SimulateOne(context.Background(), s, gp.Pathway, setup, gp.Receptors, false)
		if err != nil {
			t.Fatal(err)
		}
		var got db.Point
		for _, p := range one {
			if p.PointKey == gp.Key {
				got = p
			}
		}
		if math.Float64bits(got.PSPMV) != math.Float64bits(pr.PSPMV) {
			t.Errorf("point %s: batch %v, alone %v", gp.Key, got.PSPMV, pr.PSPMV)
		}
		for c, v := range pr.PeaksMV {
			if math.Float64bits(got.PeaksMV[c]) != math.Float64bits(v) {
				t.Errorf("point %s peak %s: batch %v, alone %v", gp.Key, c, got.PeaksMV[c], v)
			}
		}
	}
}

// TestSweepRecordsInDatabase runs a sweep into a real SQLite file, then
// resumes it: every point is recorded exactly once.
func TestSweepRecordsInDatabase(t *testing.T) {
	ctx := context.Background()
	// Large enough that the cancel lands before the workers finish (with
	// 400 g steps they sometimes had, under load).
	s := bigGridSpec(t, 2000)
	d := tempDB(t)
	run, err := StartRun(ctx, d, s, RunInfo{Command: db.CommandSweep, Argv: []string{"dendfit", "sweep"}})
	if err != nil {
		t.Fatal(err)
	}
	// A first, cancelled pass records part of the grid.
	cctx, cancel := context.WithCancel(ctx)
	_, err = Sweep(cctx, s, d, run.ID, &SweepOptions{Workers: 2, FlushEvery: 5, Progress: func(done, total int) {
		if done >= 1 {
			cancel()
		}
	}})
	if err == nil {
		t.Fatal("cancelled sweep returned no error")
	}
	done, err := d.RecordedPoints(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.Len() == 0 || done.Len() >= NewGrid(s).Len() {
		t.Fatalf("after cancel: %d points recorded of %d", done.Len(), NewGrid(s).Len())
	}
	// The count the stop message gives, read without the keys.
	if n, err := d.PointCount(ctx, run.ID); err != nil || n != int64(done.Len()) {
		t.Errorf("PointCount %d (%v), want the %d recorded", n, err, done.Len())
	}
	// The resumed pass's progress counts the points recorded before too,
	// and ends at the total.
	lastDone, lastTotal := -1, -1
	st, err := Sweep(ctx, s, d, run.ID, &SweepOptions{Workers: 2, Skip: done, Progress: func(done, total int) {
		if done < lastDone {
			t.Errorf("progress went back from %d to %d", lastDone, done)
		}
		lastDone, lastTotal = done, total
	}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Skipped != done.Len() {
		t.Errorf("skipped %d, want %d", st.Skipped, done.Len())
	}
	if lastDone != NewGrid(s).Len() || lastTotal != lastDone {
		t.Errorf("resumed sweep's progress ended at %d of %d, want %d of %d", lastDone, lastTotal, NewGrid(s).Len(), NewGrid(s).Len())
	}
	if err := run.Finish(nil); err != nil {
		t.Fatal(err)
	}
	pts, err := d.Points(ctx, db.PointFilter{RunID: run.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != NewGrid(s).Len() {
		t.Fatalf("%d points recorded, want %d", len(pts), NewGrid(s).Len())
	}
	seen := map[string]bool{}
	for _, p := range pts {
		if seen[p.PointKey] {
			t.Fatalf("point %s recorded twice", p.PointKey)
		}
		seen[p.PointKey] = true
	}
}

// TestSweepLanesMatchLoneRunsWithDSpikes: in a batch some lanes fire
// dSpikes and others do not; every lane equals its point run alone, for
// every method.
func TestSweepLanesMatchLoneRunsWithDSpikes(t *testing.T) {
	for _, m := range []string{"euler", "rk4", "exponential_euler"} {
		b, err := os.ReadFile("testdata/reference/cases/dspike-na-2comp-triggered.yaml")
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Replace(string(b), "method: euler", "method: "+m, 1) + "sweep:\n  g: {from: 5 nS, to: 40 nS, steps: 40, scale: log}\n"
		s, err := spec.Parse("dspike-sweep.yaml", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		st := &memStore{}
		if _, err := Sweep(context.Background(), s, st, 1, &SweepOptions{Workers: 2}); err != nil {
			t.Fatal(err)
		}
		gr := NewGrid(s)
		fired := 0
		for _, p := range st.pts {
			var gp GridPoint
			for i := 0; i < gr.Len(); i++ {
				if gr.Point(i).Key == p.PointKey {
					gp = gr.Point(i)
				}
			}
			setup, _, _ := s.Setup(gp.Pathway)
			alone, err := SimulateOne(context.Background(), s, gp.Pathway, setup, gp.Receptors, false)
			if err != nil {
				t.Fatal(err)
			}
			if math.Float64bits(alone.PSPMV) != math.Float64bits(p.PSPMV) || alone.DSpikeFired != p.DSpikeFired {
				t.Fatalf("%s %s: batch %v (dSpike %v), alone %v (%v)", m, p.PointKey, p.PSPMV, p.DSpikeFired, alone.PSPMV, alone.DSpikeFired)
			}
			if p.DSpikeFired {
				fired++
			}
		}
		if fired == 0 || fired == len(st.pts) {
			t.Fatalf("%s: %d of %d points fired: the batch does not mix", m, fired, len(st.pts))
		}
	}
}

// TestSweepRecordsWhatSimulateGives: every point a sweep records (as
// blocks, in a real database) reads back equal, bit for bit and field by
// field, to the point of its parameters simulated alone, including points
// that fail (Euler at an enormous conductance diverges) and a second
// pathway on another cell.
func TestSweepRecordsWhatSimulateGives(t *testing.T) {
	ctx := context.Background()
	s, err := spec.Load("testdata/reference/cases/two-populations-three-pathways.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s.Sweep.G = spec.Axis{List: []float64{0.1e-9, 1e-9, 7e-9, 1e-3, 5e-3}}
	s.Sweep.TDecay = spec.Axis{List: []float64{1e-3, 6e-3}}
	d := tempDB(t)
	run, err := StartRun(ctx, d, s, RunInfo{Command: db.CommandSweep})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Sweep(ctx, s, d, run.ID, &SweepOptions{Workers: 2}); err != nil {
		t.Fatal(err)
	}
	got, err := d.Points(ctx, db.PointFilter{RunID: run.ID})
	if err != nil {
		t.Fatal(err)
	}
	gr := NewGrid(s)
	if len(got) != gr.Len() {
		t.Fatalf("%d points recorded, want %d", len(got), gr.Len())
	}
	byKey := map[string]db.Point{}
	for _, p := range got {
		byKey[p.PointKey] = p
	}
	failed := 0
	for i := range gr.Len() {
		gp := gr.Point(i)
		setup, _, err := s.Setup(gp.Pathway)
		if err != nil {
			t.Fatal(err)
		}
		want := db.Point{}
		alone, err := SimulateOne(ctx, s, gp.Pathway, setup, gp.Receptors, false)
		if err != nil {
			sm, _ := sim.New(setup, 1)
			want = PointOf(gp.Key, newPathwayResult(s, gp.Pathway, setup, gp.Receptors, sm.Steady(), &sim.Result{}))
			want.Status, want.Error = db.PointFailed, err.Error()
			want.PSPMV, want.BaselineMV, want.TimeToPeakMS = 0, 0, 0 // NULL in the database
			failed++
		} else {
			want = PointOf(gp.Key, alone)
		}
		want.RunID = run.ID
		g := byKey[gp.Key]
		if gj, wj := fmt.Sprintf("%#v", bits(g)), fmt.Sprintf("%#v", bits(want)); gj != wj {
			t.Errorf("%s:\nswept %s\nalone %s", gp.Key, gj, wj)
		}
	}
	if failed == 0 || failed == gr.Len() {
		t.Fatalf("%d of %d points failed: want some of each", failed, gr.Len())
	}
}

// bits is p with its floats as their bits, for exact comparison.
func bits(p db.Point) []any {
	f := func(v *float64) any {
		if v == nil {
			return nil
		}
		return math.Float64bits(*v)
	}
	out := []any{p.RunID, p.Pathway, p.Pre, p.Post, p.Compartment, p.Record, p.Tag, p.PointKey,
		math.Float64bits(p.GNS), math.Float64bits(p.TDecayMS), f(p.TRiseMS),
		math.Float64bits(p.PSPMV), math.Float64bits(p.BaselineMV), math.Float64bits(p.TimeToPeakMS),
		f(p.Rise1090MS), f(p.HalfWidthMS), f(p.IHoldPA), p.DSpikeFired, p.Status, p.Error}
	for _, r := range p.Receptors {
		out = append(out, r.Channel, math.Float64bits(r.GNS), math.Float64bits(r.TDecayMS), f(r.TRiseMS))
	}
	keys := make([]string, 0, len(p.PeaksMV))
	for k := range p.PeaksMV {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k, math.Float64bits(p.PeaksMV[k]))
	}
	return out
}

// failStore refuses every write.
type failStore struct{ err error }

func (f failStore) InsertPointBlocks(context.Context, int64, []*db.PointBlock) error { return f.err }

// TestSweepStopsWhenStoreFails: when the store refuses a write, the
// sweep returns that error and its workers stop instead of simulating the
// rest of the grid for nothing.
func TestSweepStopsWhenStoreFails(t *testing.T) {
	const n = 200000
	s := seedGrid(t, n)
	boom := errors.New("disk on fire")
	st, err := Sweep(context.Background(), s, failStore{boom}, 1, &SweepOptions{Workers: 2})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want %v", err, boom)
	}
	if got := st.Pathways[0].Points; got > n/2 {
		t.Errorf("%d of %d points simulated after the store failed", got, n)
	}
}

// blockStore keeps, for each block it is given, its pathway and its
// points' keys in block order.
type blockStore struct {
	blocks []struct {
		pathway int
		keys    []string
	}
}

func (s *blockStore) InsertPointBlocks(_ context.Context, runID int64, blocks []*db.PointBlock) error {
	for _, b := range blocks {
		e := struct {
			pathway int
			keys    []string
		}{pathway: b.Pathway}
		for _, p := range b.Points(runID) {
			e.keys = append(e.keys, p.PointKey)
		}
		s.blocks = append(s.blocks, e)
	}
	return nil
}

// TestSweepBlocksFollowTheGrid: however many workers finish chunks in
// whatever order, each pathway's blocks hold its grid's points in index
// order, one after the other, and the blocks are the same.
func TestSweepBlocksFollowTheGrid(t *testing.T) {
	s := bigGridSpec(t, 700)
	gr := NewGrid(s)
	per := gr.Len() / len(s.Pathways)
	var layouts []string
	for _, workers := range []int{1, 3} {
		st := &blockStore{}
		if _, err := Sweep(context.Background(), s, st, 1, &SweepOptions{Workers: workers}); err != nil {
			t.Fatal(err)
		}
		next := make([]int, len(s.Pathways)) // the index each pathway's next point must have
		var layout strings.Builder
		for _, b := range st.blocks {
			for _, k := range b.keys {
				if want := db.GridKey(b.pathway, gr.Axes(), next[b.pathway]); k != want {
					t.Fatalf("%d workers: pathway %d: point %s where %s comes next", workers, b.pathway, k, want)
				}
				next[b.pathway]++
			}
			fmt.Fprintf(&layout, "%d:%d ", b.pathway, len(b.keys))
		}
		for p, n := range next {
			if n != per {
				t.Errorf("%d workers: pathway %d has %d points, want %d", workers, p, n, per)
			}
		}
		layouts = append(layouts, layout.String())
	}
	if layouts[0] != layouts[1] {
		t.Errorf("blocks differ with the worker count:\n%s\n%s", layouts[0], layouts[1])
	}
}

// TestSweepBlocksFillPages: a sweep's blocks fill the database's pages.
// Each row takes one page (none spills onto overflow pages), and a block
// is closed only when its next chunk would not fit, so its row is within
// a chunk of db.MaxRowBytes. Blocks of a fixed 1024 points left a quarter
// of every page empty.
func TestSweepBlocksFillPages(t *testing.T) {
	ctx := context.Background()
	s := seedGrid(t, 40000)
	d := tempDB(t)
	run, err := StartRun(ctx, d, s, RunInfo{Command: db.CommandSweep})
	if err != nil {
		t.Fatal(err)
	}
	one := func(q string) int64 {
		t.Helper()
		_, rows, err := d.QueryReadOnly(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return rows[0][0].(int64)
	}
	before := one("PRAGMA page_count")
	if _, err := Sweep(ctx, s, d, run.ID, nil); err != nil {
		t.Fatal(err)
	}
	pages := one("PRAGMA page_count") - before
	blocks := one("SELECT count(*) FROM point_blocks")
	// Beside a page a row: the root of the table's b-tree and of its index.
	if pages > blocks+2 {
		t.Errorf("%d blocks took %d pages", blocks, pages)
	}
	chunk := 8 * one("SELECT max(stride) FROM point_blocks") * BatchSize
	full := one(`SELECT min(length(data) + length(shared) + length(layout) + length(errors) + length(channels) + length(compartments))
		FROM point_blocks WHERE first_index < (SELECT max(first_index) FROM point_blocks)`)
	if full < db.MaxRowBytes-chunk-512 {
		t.Errorf("a block closed at %d bytes, short of %d less a chunk (%d bytes)", full, db.MaxRowBytes, chunk)
	}
	t.Logf("%d points in %d blocks on %d pages", 40000, blocks, pages)
}

// TestRunRecordsTheWorkersUsed: a sweep or fit given no worker count runs
// one a core, and records that many (it recorded 0); simulate runs no
// workers and records none.
func TestRunRecordsTheWorkersUsed(t *testing.T) {
	ctx := context.Background()
	d := tempDB(t)
	s := seedGrid(t, 10)
	for _, tc := range []struct {
		command       string
		given, stored int
	}{
		{db.CommandSweep, 0, runtime.NumCPU()},
		{db.CommandFit, 0, runtime.NumCPU()},
		{db.CommandSweep, 3, 3},
		{db.CommandSimulate, 0, 0},
	} {
		run, err := StartRun(ctx, d, s, RunInfo{Command: tc.command, Workers: tc.given})
		if err != nil {
			t.Fatal(err)
		}
		r, err := d.Run(ctx, run.ID)
		run.Finish(nil)
		if err != nil || r.Workers != tc.stored {
			t.Errorf("%s with %d workers given: recorded %d (%v), want %d", tc.command, tc.given, r.Workers, err, tc.stored)
		}
	}
}

// TestStartedRunsAreClaimed: a run of any command reads as running while
// its process works on it and as done once finished; a fit or simulate
// killed before finishing then reads as interrupted, not running forever.
func TestStartedRunsAreClaimed(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("runs are claimed on Linux only")
	}
	ctx := context.Background()
	d := tempDB(t)
	s := seedGrid(t, 10)
	for _, command := range []string{db.CommandSimulate, db.CommandSweep, db.CommandFit, db.CommandReproduce} {
		run, err := StartRun(ctx, d, s, RunInfo{Command: command})
		if err != nil {
			t.Fatal(err)
		}
		if r, err := d.Run(ctx, run.ID); err != nil || r.Status != db.StatusRunning {
			t.Errorf("%s run while started: %v, %v; want status running", command, r, err)
		}
		if err := run.Finish(nil); err != nil {
			t.Fatal(err)
		}
		if r, err := d.Run(ctx, run.ID); err != nil || r.Status != db.StatusDone {
			t.Errorf("%s run once finished: %v, %v; want status done", command, r, err)
		}
	}
}

// TestStartRunUnclaimableIsFailed: a sweep that cannot be claimed (its
// lock file cannot be made) is refused and recorded as failed with why,
// not left running with no process on it; a fit goes on unclaimed.
func TestStartRunUnclaimableIsFailed(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("runs are claimed on Linux only")
	}
	ctx := context.Background()
	d := tempDB(t)
	if err := os.Mkdir(d.Path()+"-lock", 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := StartRun(ctx, d, seedGrid(t, 10), RunInfo{Command: db.CommandSweep}); err == nil {
		t.Fatal("StartRun claimed a run with a directory as its lock file")
	}
	runs, err := d.Runs(ctx, db.RunFilter{})
	if err != nil || len(runs) != 1 || runs[0].Status != db.StatusFailed || !strings.Contains(runs[0].Error, "claim run") {
		t.Errorf("runs after a refused claim: %+v, %v; want one failed run saying why", runs, err)
	}
	run, err := StartRun(ctx, d, seedGrid(t, 10), RunInfo{Command: db.CommandFit})
	if err != nil {
		t.Fatalf("a fit without a claim: %v", err)
	}
	if run.Unclaimed() == nil {
		t.Error("the unclaimed fit's Unclaimed() is nil")
	}
	if err := run.Finish(nil); err != nil {
		t.Fatal(err)
	}
	if r, err := d.Run(ctx, run.ID); err != nil || r.Status != db.StatusDone {
		t.Errorf("the unclaimed fit: %+v, %v; want done", r, err)
	}
}

// blockLog is a Store that keeps, for each write, the points of each
// pathway it held.
type blockLog struct {
	mu     sync.Mutex
	writes []map[int]int
}

func (l *blockLog) InsertPointBlocks(_ context.Context, _ int64, blocks []*db.PointBlock) error {
	w := map[int]int{}
	for _, b := range blocks {
		w[b.Pathway] += b.Len()
	}
	l.mu.Lock()
	l.writes = append(l.writes, w)
	l.mu.Unlock()
	return nil
}

// TestSweepWritesAFinishedPathway: once the sweep has moved on to the
// next pathway, the last block of the one before goes out with the next
// write, not at the end of the sweep (it stayed open, unwritten, and a
// killed sweep lost it, however long ago its pathway had finished).
func TestSweepWritesAFinishedPathway(t *testing.T) {
	s := reproSpec(t, "two-populations-three-pathways.yaml")
	const steps = 20000 // a pathway's points: more than a write's, the default 16384
	s.Sweep.G = spec.Axis{From: 0.1e-9, To: 10e-9, Steps: steps, Log: true}
	var log blockLog
	if _, err := Sweep(context.Background(), s, &log, 1, &SweepOptions{Workers: 2}); err != nil {
		t.Fatal(err)
	}
	total := map[int]int{}
	done := map[int]int{} // pathway: the write that completed it
	for i, w := range log.writes {
		for p, n := range w {
			total[p] += n
			if total[p] == steps {
				done[p] = i
			}
		}
	}
	last := len(log.writes) - 1
	for p := range 3 {
		if total[p] != steps {
			t.Fatalf("pathway %d: %d points written, want %d", p, total[p], steps)
		}
		if p < 2 && done[p] == last {
			t.Errorf("pathway %d's last block waited for the sweep's last write (%d writes)", p, len(log.writes))
		}
	}
}

// tempDB opens a new SQLite database in a temporary directory, closed when
// the test ends.
func tempDB(t *testing.T) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// TestRunStatsMatchesSweep: a run's stats read back from the database are
// the ones its sweep counted as it went, on a grid with failed points and
// points that peak at the window's end (a short window), so that a resumed
// sweep can report its whole run.
func TestRunStatsMatchesSweep(t *testing.T) {
	s := reproSpec(t, "two-populations-three-pathways.yaml")
	s.Sweep.G = spec.Axis{From: 0.1e-9, To: 1e6, Steps: 300, Log: true} // the largest run away
	s.Simulation.Duration = s.Simulation.SpikeAt + 3e-3                 // some peak at the end
	d := tempDB(t)
	run, err := StartRun(context.Background(), d, s, RunInfo{Command: db.CommandSweep})
	if err != nil {
		t.Fatal(err)
	}
	want, err := Sweep(context.Background(), s, d, run.ID, &SweepOptions{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	failed, atEnd := 0, 0
	for _, p := range want.Pathways {
		failed += p.Failed
		atEnd += p.PeakAtEnd
	}
	if failed == 0 || atEnd == 0 {
		t.Fatalf("the grid has %d failed points and %d peaking at the end; want some of each", failed, atEnd)
	}
	got, err := RunStats(context.Background(), d, s, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RunStats %+v, Sweep counted %+v", got, want)
	}
}

// TestResumeRefusesADamagedFile: a resume checks the file first, and
// refuses one cut short (it wrote more points into it); so does a new run.
func TestResumeRefusesADamagedFile(t *testing.T) {
	ctx := context.Background()
	s := seedGrid(t, 20000)
	path := filepath.Join(t.TempDir(), "d.db")
	d, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	run, err := StartRun(ctx, d, s, RunInfo{Command: db.CommandSweep})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Sweep(ctx, s, d, run.ID, nil)
	if err := errors.Join(err, run.Finish(context.Canceled), d.Close()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()-4096); err != nil { // part of its last page
		t.Fatal(err)
	}
	d, err = db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, _, err := ResumeRun(ctx, d, s, RunInfo{Command: db.CommandSweep}, 0); !db.IsDamaged(err) {
		t.Errorf("resume of a file cut short: %v, want it refused as damaged", err)
	}
	// Nor does a new run of any command write into it.
	if _, err := StartRun(ctx, d, s, RunInfo{Command: db.CommandFit}); !db.IsDamaged(err) {
		t.Errorf("a new run in a file cut short: %v, want it refused as damaged", err)
	}
}

// TestResumeRunOfAnotherText: a resume whose only unfinished sweeps read
// another text of the spec is refused with ErrSpecChanged, by id or not,
// naming them, and the command that writes their text from this database.
func TestResumeRunOfAnotherText(t *testing.T) {
	ctx := context.Background()
	d := tempDB(t)
	old := seedGrid(t, 100)
	run, err := StartRun(ctx, d, old, RunInfo{Command: db.CommandSweep})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Finish(context.Canceled); err != nil {
		t.Fatal(err)
	}
	edited, err := spec.Parse(old.File, append(slices.Clone(old.Text), "# a comment\n"...))
	if err != nil {
		t.Fatal(err)
	}
	edited.Sweep = old.Sweep
	for _, id := range []int64{0, run.ID} {
		if _, _, err := ResumeRun(ctx, d, edited, RunInfo{Command: db.CommandSweep}, id); !errors.Is(err, ErrSpecChanged) ||
			!strings.Contains(err.Error(), fmt.Sprintf("run %d of %s is unfinished, but read another text", run.ID, old.Name)) ||
			// The command to get the text back names this database.
			!strings.Contains(err.Error(), fmt.Sprintf("('dendfit query spec %d --db %s' writes it)", run.ID, d.Path())) {
			t.Errorf("resume %d of the edited spec: %v, want ErrSpecChanged naming run %d and how to get its text from %s", id, err, run.ID, d.Path())
		}
	}
	if r, _, err := ResumeRun(ctx, d, old, RunInfo{Command: db.CommandSweep}, 0); err != nil || r.ID != run.ID {
		t.Errorf("resume of the spec as it was: %v, %v", r, err)
	} else {
		r.Finish(nil)
	}
}

// TestUnsimulablePathwayStopsTheSweepFirst: a pathway whose cell cannot be
// simulated at the spec's dt stops the sweep before any point is written,
// naming it; met midway by one worker, it cancelled the others after a
// share of the grid that depended on timing.
func TestUnsimulablePathwayStopsTheSweepFirst(t *testing.T) {
	s, err := spec.Load("../experiments/cortex-paired-recordings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s.Simulation.Dt = 1e-3
	s.Sweep.G = spec.Axis{From: 0.1e-9, To: 10e-9, Steps: 2000, Log: true}
	for _, workers := range []int{1, 2} {
		st := &memStore{}
		_, err := Sweep(context.Background(), s, st, 1, &SweepOptions{Workers: workers})
		if err == nil || !strings.Contains(err.Error(), "stability limit") || !strings.Contains(err.Error(), "pathway ") {
			t.Errorf("%d workers: err %v, want the unstable pathway named", workers, err)
		}
		if len(st.pts) != 0 {
			t.Errorf("%d workers: %d points written before the error", workers, len(st.pts))
		}
	}
}

// TestUnstableGating: a receptor time constant below Euler's stability
// limit (dt/2) grows step by step whatever g: a fit of g ends sim_failed
// without a search, a sweep with it refuses the spec before a point is
// written, and a t_decay axis that also holds stable values keeps those
// and fails the others, naming the time constant.
func TestUnstableGating(t *testing.T) {
	load := func() *spec.Spec {
		s, err := spec.Load("testdata/reference/cases/seed-ampa-2comp-dimensional.yaml")
		if err != nil {
			t.Fatal(err)
		}
		s.Pathways[0].Receptors[0].TauDecay = 0.04e-3 // dt 0.1 ms
		return s
	}
	s := load()
	res, err := Fit(context.Background(), s, &FitOptions{NoFine: true})
	if err != nil {
		t.Fatal(err)
	}
	if r := res[0]; r.Outcome != fit.SimFailed || r.Evaluations != 0 || !strings.Contains(r.Message, "t_decay 0.04 ms is not above euler's stability limit") {
		t.Errorf("fit: %s after %d evaluations: %s", r.Outcome, r.Evaluations, r.Message)
	}
	// A kinetics fit moves its first receptor's time constants (kept at
	// dt or above), not a second one's: with that one unstable it ends
	// the same way, naming it.
	k := load()
	k.Pathways[0].Receptors[0].TauDecay = 2e-3
	k.Pathways[0].Receptors = append(k.Pathways[0].Receptors, spec.Receptor{Channel: sim.NMDA, G: 0.5e-9, TauDecay: 0.04e-3})
	k.Pathways[0].TargetTimeToPeak = 2e-3
	res, err = Fit(context.Background(), k, &FitOptions{NoFine: true})
	if err != nil {
		t.Fatal(err)
	}
	if r := res[0]; r.Outcome != fit.SimFailed || r.Evaluations != 0 || !strings.Contains(r.Message, "receptor 1 (NMDA): t_decay 0.04 ms is not above euler's stability limit") {
		t.Errorf("kinetics fit: %s after %d evaluations: %s", r.Outcome, r.Evaluations, r.Message)
	}
	s.Sweep.G = spec.Axis{List: []float64{0.5e-9, 1e-9}}
	if err := CheckSimulable(s); err == nil || !strings.Contains(err.Error(), "t_decay") {
		t.Errorf("sweep of an unstable t_decay: %v", err)
	}
	// Swept, it is refused when even the longest value is unstable, and
	// said so.
	s.Sweep.TDecay = spec.Axis{From: 0.01e-3, To: 0.04e-3, Steps: 5}
	if err := CheckSimulable(s); err == nil || !strings.HasPrefix(err.Error(), "pathway 0 (L23E->L23E (AMPA)): with the swept time constants at their longest: sim: receptor 0 (AMPA): t_decay 0.04 ms") {
		t.Errorf("sweep of unstable t_decay values: %v", err)
	}
	s.Sweep.TDecay = spec.Axis{List: []float64{0.04e-3, 2e-3}}
	if err := CheckSimulable(s); err != nil {
		t.Fatalf("sweep with a stable t_decay too: %v", err)
	}
	st := &memStore{}
	if _, err := Sweep(context.Background(), s, st, 1, nil); err != nil {
		t.Fatal(err)
	}
	if len(st.pts) != 4 {
		t.Fatalf("%d points, want 4", len(st.pts))
	}
	for _, p := range st.sorted() {
		unstable := p.TDecayMS == 0.04
		if failed := p.Status == db.PointFailed && strings.Contains(p.Error, "stability limit"); failed != unstable {
			t.Errorf("point %s (t_decay %g ms): %s %v", p.PointKey, p.TDecayMS, p.Status, p.Error)
		}
	}
}

// TestSweepNewMatchesStartRunThenSweep: a new run swept while its database
// opens holds the same points, bit for bit, as one recorded first and
// swept after; the run is told to started once, before any point of it
// is written, and finishes as any other.
func TestSweepNewMatchesStartRunThenSweep(t *testing.T) {
	ctx := context.Background()
	s := bigGridSpec(t, 300)
	info := RunInfo{Command: db.CommandSweep, Argv: []string{"dendfit", "sweep"}}
	// As the command did before: the run first.
	d := tempDB(t)
	r0, err := StartRun(ctx, d, s, info)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Sweep(ctx, s, d, r0.ID, &SweepOptions{Workers: 2, FlushEvery: 100}); err != nil {
		t.Fatal(err)
	}
	if err := r0.Finish(nil); err != nil {
		t.Fatal(err)
	}
	want, err := d.Points(ctx, db.PointFilter{RunID: r0.ID})
	if err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(t.TempDir(), "new.db")
	var told []int64
	run, st, err := SweepNew(ctx, s, path, info, &SweepOptions{Workers: 2, FlushEvery: 100}, func(r *Run) {
		n, err := r.DB.PointCount(ctx, r.ID)
		if err != nil || n != 0 {
			t.Errorf("started: %d points already written (%v), want none", n, err)
		}
		told = append(told, r.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer run.DB.Close()
	if len(told) != 1 || told[0] != run.ID {
		t.Errorf("started told %v, want run %d once", told, run.ID)
	}
	if sumPts(st) != len(want) {
		t.Errorf("stats count %d points, want %d", sumPts(st), len(want))
	}
	if err := run.Finish(nil); err != nil {
		t.Fatal(err)
	}
	got, err := run.DB.Points(ctx, db.PointFilter{RunID: run.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(want) != NewGrid(s).Len() {
		t.Fatalf("%d points, want %d (grid %d)", len(got), len(want), NewGrid(s).Len())
	}
	for i := range want {
		if !reflect.DeepEqual(bits(got[i]), bits(want[i])) {
			t.Fatalf("point %s: %v, want %v", want[i].PointKey, bits(got[i]), bits(want[i]))
		}
	}
	rr, err := run.DB.Run(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rr.Status != db.StatusDone || rr.Command != db.CommandSweep || rr.Workers != 2 {
		t.Errorf("run recorded as %+v", rr)
	}
}

func sumPts(st *SweepStats) int {
	n := 0
	for _, p := range st.Pathways {
		n += p.Points
	}
	return n
}

// TestSweepNewEmptyShardRecordsARun: a shard without a point still
// records its (empty) run.
func TestSweepNewEmptyShardRecordsARun(t *testing.T) {
	ctx := context.Background()
	s := bigGridSpec(t, 1)
	n := NewGrid(s).Len() + 5 // more shards than chunks
	started := 0
	run, _, err := SweepNew(ctx, s, filepath.Join(t.TempDir(), "e.db"), RunInfo{Command: db.CommandSweep, ShardK: n - 1, ShardN: n},
		&SweepOptions{ShardK: n - 1, ShardN: n}, func(*Run) { started++ })
	if err != nil {
		t.Fatal(err)
	}
	defer run.DB.Close()
	if started != 1 {
		t.Errorf("started called %d times, want 1", started)
	}
	if c, err := run.DB.PointCount(ctx, run.ID); err != nil || c != 0 {
		t.Errorf("%d points (%v), want none", c, err)
	}
}

// TestSweepNewUnopenableRecordsNothing: a file that is not a database
// stops the sweep with the open's error, and is left as it was.
func TestSweepNewUnopenableRecordsNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.db")
	text := []byte("not a database, and long enough to be read as one: " + strings.Repeat("x", 200))
	if err := os.WriteFile(path, text, 0o644); err != nil {
		t.Fatal(err)
	}
	called := false
	run, _, err := SweepNew(context.Background(), bigGridSpec(t, 2000), path, RunInfo{Command: db.CommandSweep},
		&SweepOptions{Workers: 2}, func(*Run) { called = true })
	if err == nil || run != nil || called {
		t.Fatalf("run %v, started called %v, err %v: want an error and no run", run, called, err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, text) {
		t.Errorf("the file changed")
	}
}

// TestSweepHoldsBoundedPointsWhileOpening: while the run is being
// recorded the writer holds at most four write transactions of points
// (and the chunk that took it there): the workers wait, memory stays
// bounded. Once recorded, every point is written.
func TestSweepHoldsBoundedPointsWhileOpening(t *testing.T) {
	s := bigGridSpec(t, 2000)
	const flush = 500
	hold := 4 * flush
	st := &memStore{}
	release := make(chan struct{})
	var taken atomic.Int64
	var held atomic.Bool
	held.Store(true)
	go func() {
		// Once the writer has taken what it may hold (it reports a chunk
		// after holding it), give the workers time to run past it,
		// should they be able to.
		for taken.Load() < int64(hold-BatchSize) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond)
		held.Store(false)
		close(release)
	}()
	k := &sink{ready: make(chan struct{})}
	open := func(context.Context) (Store, int64, error) {
		<-release
		return st, 7, nil
	}
	over := false // told once
	_, err := sweep(context.Background(), s, k, open, &SweepOptions{Workers: 2, FlushEvery: flush, Progress: func(done, total int) {
		taken.Store(int64(done))
		if held.Load() && done >= hold+BatchSize && !over {
			over = true
			t.Errorf("%d points taken while the run was being recorded, want under %d", done, hold+BatchSize)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.pts) != NewGrid(s).Len() {
		t.Errorf("%d points written, want %d", len(st.pts), NewGrid(s).Len())
	}
	for _, p := range st.pts {
		if p.RunID != 7 {
			t.Fatalf("point written to run %d, want 7", p.RunID)
		}
	}
}

func TestRunsNamed(t *testing.T) {
	for _, tc := range []struct {
		ids  []int64
		want string
	}{
		{[]int64{3}, "run 3"},
		{[]int64{3, 1}, "runs 3 and 1"},
		{[]int64{4, 3, 1}, "runs 4, 3 and 1"},
	} {
		if got := runsNamed(tc.ids); got != tc.want {
			t.Errorf("runsNamed(%v) = %q, want %q", tc.ids, got, tc.want)
		}
	}
}

// TestSpecChangedQuotesTheDatabase: the command that writes an edited
// spec's old text names a database path with blanks or quotes quoted for
// the shell, and the default database not at all.
func TestSpecChangedQuotesTheDatabase(t *testing.T) {
	s := &spec.Spec{Name: "x"}
	for path, want := range map[string]string{
		"/tmp/r.db":        "('dendfit query spec 3 --db /tmp/r.db' writes it)",
		"/tmp/sp ace/r.db": "('dendfit query spec 3 --db '/tmp/sp ace/r.db'' writes it)",
		"/tmp/it's/r.db":   `('dendfit query spec 3 --db '/tmp/it'\''s/r.db'' writes it)`,
		db.DefaultPath():   "('dendfit query spec 3' writes it)",
	} {
		if got := specChanged(s, []int64{3}, path).Error(); !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
}
