package db

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// shardBlocks makes shardDB record its points as a point block, as
// sweeps do, instead of rows.
var shardBlocks bool

// forEachStorage runs f with shard points stored as rows, then as blocks,
// then as blocks with union blocks of 3 points, so that unions write
// blocks as they fill.
func forEachStorage(t *testing.T, f func(t *testing.T)) {
	defer func(n int) { shardBlocks, unionBlockPoints = false, n }(unionBlockPoints)
	for _, c := range []struct {
		name   string
		blocks bool
		union  int
	}{{"rows", false, unionBlockPoints}, {"blocks", true, unionBlockPoints}, {"small union blocks", true, 3}} {
		shardBlocks, unionBlockPoints = c.blocks, c.union
		t.Run(c.name, f)
	}
}

// shardDB writes a shard database holding shard k of n of a 10-point grid
// of spec "ca1" (point i belongs to shard i%n), finished with status.
func shardDB(t *testing.T, dir string, k, n int, status string) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(dir, fmt.Sprintf("shard-%d.db", k))
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	eid, err := d.PutExperiment(ctx, "ca1", []byte("spec v1"))
	if err != nil {
		t.Fatal(err)
	}
	r := NewRun(eid, CommandSweep, []string{"dendfit", "sweep", "--shard", fmt.Sprintf("%d/%d", k, n)})
	r.ShardK, r.ShardN, r.DtMS, r.Method = k, n, 0.1, "euler"
	if _, err := d.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	var pts []Point
	blk := &PointBlock{Pathway: 0, Pre: "CA3", Post: "CA1", Compartment: "dend", Record: "soma", Tag: "t",
		Channels: []string{"AMPA"}, Compartments: []string{"soma"}, Axes: [3]int{10, 0, 0}}
	for i := k; i < 10; i += n {
		p := testPoint(0, fmt.Sprintf("p0000/g%06d", i))
		p.GNS = float64(i) * 0.1 // distinct values, inexact in binary
		pts = append(pts, p)
		blk.Add(&BlockPoint{Index: i, GNS: []float64{p.GNS}, TDecayMS: []float64{5}, TRiseMS: []float64{0.5},
			PSPMV: 0.8 * p.GNS, BaselineMV: -70, TimeToPeakMS: 3.2, Rise1090MS: 1.1, HalfWidthMS: math.NaN(),
			IHoldPA: -12, PeaksMV: []float64{-69.2}})
	}
	if status != StatusDone { // an interrupted task recorded only some
		pts = pts[:len(pts)/2]
		blk.vals = blk.vals[:len(pts)*blk.stride()]
	}
	var err2 error
	if shardBlocks {
		err2 = d.InsertPointBlocks(ctx, r.ID, []*PointBlock{blk})
	} else {
		err2 = d.InsertPoints(ctx, r.ID, pts)
	}
	if err2 != nil {
		t.Fatal(err2)
	}
	if err := d.FinishRun(ctx, r.ID, status, ""); err != nil {
		t.Fatal(err)
	}
	return path
}

func mergeAll(t *testing.T, dst string, srcs ...string) (*DB, UnionStats) {
	t.Helper()
	ctx := context.Background()
	d, err := Open(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	for _, s := range srcs {
		if _, err := Merge(ctx, d, s, MergeOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	sets, err := d.ShardSets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) != 1 {
		t.Fatalf("%d shard sets, want 1", len(sets))
	}
	st, err := d.UnionShardSet(ctx, sets[0], 10, []string{"dendfit", "merge"})
	if err != nil {
		t.Fatal(err)
	}
	return d, st
}

// unionDump is the union run and its points as text, ids left out.
func unionDump(t *testing.T, d *DB, id int64) string {
	t.Helper()
	ctx := context.Background()
	r, err := d.Run(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	pts, err := d.Points(ctx, PointFilter{RunID: id})
	if err != nil {
		t.Fatal(err)
	}
	s := fmt.Sprintf("%s %s %d/%d %s %s %v %s %s\n", r.RunUID, r.Status, r.ShardK, r.ShardN,
		r.StartedAt.Format(TimeFormat), r.EndedAt.Format(TimeFormat), r.Error, r.Settings, r.Method)
	for _, p := range pts {
		p.ID, p.RunID = 0, 0
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		s += string(b) + "\n"
	}
	return s
}

func TestUnionShardSet(t *testing.T) { forEachStorage(t, testUnionShardSet) }

func testUnionShardSet(t *testing.T) {
	dir := t.TempDir()
	s0 := shardDB(t, dir, 0, 3, StatusDone)
	s1 := shardDB(t, dir, 1, 3, StatusDone)
	s2 := shardDB(t, dir, 2, 3, StatusDone)

	a, sa := mergeAll(t, filepath.Join(dir, "a.db"), s0, s1, s2)
	b, sb := mergeAll(t, filepath.Join(dir, "b.db"), s2, s0, s1)
	if sa.Status != StatusDone || sa.Points != 10 || sa.Added != 10 || !sa.Created {
		t.Errorf("union = %+v, want a new done run with 10 points", sa)
	}
	if da, db := unionDump(t, a, sa.RunID), unionDump(t, b, sb.RunID); da != db {
		t.Errorf("union depends on the merge order:\n%s\n%s", da, db)
	}
	// The union's blocks hold runs of consecutive indexes, in order, so
	// that a reader takes one at a time.
	if shardBlocks {
		rows, err := a.sql.Query(`SELECT first_index, n_points, layout FROM point_blocks WHERE run_id = ? ORDER BY id`, sa.RunID)
		if err != nil {
			t.Fatal(err)
		}
		next := 0
		for rows.Next() {
			var first, n int
			var layout string
			if err := rows.Scan(&first, &n, &layout); err != nil {
				t.Fatal(err)
			}
			if first != next || (n > 1 && !strings.HasPrefix(layout, "+")) {
				t.Errorf("union block from %d of %d points, layout %q; want from %d, indexes in a row", first, n, layout, next)
			}
			next = first + n
		}
		rows.Close()
		if next != 10 {
			t.Errorf("union blocks end at index %d, want 10", next)
		}
	}

	// Again: nothing changes.
	before := unionDump(t, a, sa.RunID)
	sets, err := a.ShardSets(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	again, err := a.UnionShardSet(context.Background(), sets[0], 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.Created || again.Added != 0 || again.RunID != sa.RunID || unionDump(t, a, sa.RunID) != before {
		t.Errorf("second union changed something: %+v", again)
	}

	// The newest finished sweep is the union run.
	r, err := a.NewestRun(context.Background(), "ca1", CommandSweep, StatusDone)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != sa.RunID || !IsUnionRun(r) {
		t.Errorf("newest done sweep is run %d, want union run %d", r.ID, sa.RunID)
	}

	// Merging merged databases dedupes the union run on its derived uid.
	c, sc := mergeAll(t, filepath.Join(dir, "c.db"), filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db"))
	if n := count(t, c, `SELECT count(*) FROM runs`); n != 4 {
		t.Errorf("%d runs after merging two merged dbs, want 3 shard runs and 1 union run", n)
	}
	if n := count(t, c, `SELECT count(*) FROM points`); n != 20 {
		t.Errorf("%d points, want 10 in the shard runs and 10 in the union run", n)
	}
	if unionDump(t, c, sc.RunID) != before {
		t.Errorf("union run changed by merging merged databases")
	}
}

func TestUnionShardSetIncomplete(t *testing.T) { forEachStorage(t, testUnionShardSetIncomplete) }

func testUnionShardSetIncomplete(t *testing.T) {
	tests := []struct {
		name    string
		shards  map[int]string // shard -> status
		points  int64
		status  string
		missing []int
	}{
		{"one shard missing", map[int]string{0: StatusDone, 2: StatusDone}, 7, StatusFailed, []int{1}},
		{"one shard cancelled", map[int]string{0: StatusDone, 1: StatusCancelled, 2: StatusDone}, 8, StatusFailed, []int{1}},
		{"all done", map[int]string{0: StatusDone, 1: StatusDone, 2: StatusDone}, 10, StatusDone, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var srcs []string
			for k := 0; k < 3; k++ {
				if st, ok := tc.shards[k]; ok {
					srcs = append(srcs, shardDB(t, dir, k, 3, st))
				}
			}
			d, st := mergeAll(t, filepath.Join(dir, "out.db"), srcs...)
			if st.Points != tc.points || st.Status != tc.status {
				t.Errorf("union = %+v, want %d points, %s", st, tc.points, tc.status)
			}
			sets, err := d.ShardSets(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := sets[0].Missing(); fmt.Sprint(got) != fmt.Sprint(tc.missing) || sets[0].MissingCount() != len(tc.missing) {
				t.Errorf("missing = %v (count %d), want %v", got, sets[0].MissingCount(), tc.missing)
			}
			r, err := d.Run(context.Background(), st.RunID)
			if err != nil {
				t.Fatal(err)
			}
			if (r.Error != "") != (tc.status == StatusFailed) {
				t.Errorf("error = %q with status %s", r.Error, r.Status)
			}
		})
	}
}

func TestUnionRunUID(t *testing.T) {
	a := UnionRunUID("abc", 4)
	if len(a) != 32 || a != UnionRunUID("abc", 4) || a == UnionRunUID("abc", 5) || a == UnionRunUID("abd", 4) {
		t.Errorf("UnionRunUID not a stable 128-bit hex id per (spec, n): %q", a)
	}
}

// TestMissingOfAHugeShardCount: a shard count read from a file, however
// large, lists the first 1000 missing shards and counts them all, without
// a slice of that many flags (2^63-1 shards panicked merge).
func TestMissingOfAHugeShardCount(t *testing.T) {
	s := &ShardSet{ShardN: math.MaxInt, Runs: []Run{{ShardK: 1, Status: StatusDone}, {ShardK: 5, Status: StatusFailed}}}
	m := s.Missing()
	if len(m) != 1000 || m[0] != 0 || m[1] != 2 || m[999] != 1000 || s.MissingCount() != math.MaxInt-1 {
		t.Errorf("missing %v... (%d listed), count %d", m[:min(3, len(m))], len(m), s.MissingCount())
	}
}

// TestMixedBuilds: a shard with finished runs of two dendfit builds is
// named (which copy of a point a union holds would then depend on the
// merge order: a trial got other numbers by merging the other way); runs
// of one build, an unfinished one of another, or other shards' are not.
func TestMixedBuilds(t *testing.T) {
	run := func(id int64, k int, status, version, rev string, modified bool) Run {
		return Run{ID: id, ShardK: k, ShardN: 2, Status: status, Version: version, VCSRevision: rev, VCSModified: modified}
	}
	for _, tc := range []struct {
		name string
		runs []Run
		want []string
	}{
		{"one build", []Run{run(1, 0, StatusDone, "v1", "a", false), run(2, 0, StatusDone, "v1", "a", false), run(3, 1, StatusDone, "v1", "a", false)}, nil},
		{"another build unfinished", []Run{run(1, 0, StatusDone, "v1", "a", false), run(2, 0, StatusCancelled, "v2", "b", false)}, nil},
		{"other shards", []Run{run(1, 0, StatusDone, "v1", "a", false), run(2, 1, StatusDone, "v2", "b", false)}, nil},
		{"two builds", []Run{run(1, 0, StatusDone, "v1", "a", false), run(3, 1, StatusDone, "v1", "a", false), run(5, 1, StatusDone, "v1", "a", true)},
			[]string{"shard 1/2 has finished runs of different builds (run 3 by dendfit v1 (revision a), run 5 by dendfit v1 (revision a, modified))"}},
	} {
		set := ShardSet{ShardN: 2, Runs: tc.runs}
		if got := set.MixedBuilds(); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
