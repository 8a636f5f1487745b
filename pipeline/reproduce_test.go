package pipeline

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/sim/spec"
)

func reproSpec(t *testing.T, name string) *spec.Spec {
	t.Helper()
	s, err := spec.Load(filepath.Join("testdata", "reference", "cases", name))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// recordRun runs command on s the way the CLI does and records it.
func recordRun(t *testing.T, d *db.DB, s *spec.Spec, command string, settings any, k, n int) int64 {
	t.Helper()
	ctx := context.Background()
	run, err := StartRun(ctx, d, s, RunInfo{Command: command, Settings: settings, ShardK: k, ShardN: n})
	if err != nil {
		t.Fatal(err)
	}
	switch command {
	case db.CommandSimulate:
		var st SimulateSettings
		b, _ := json.Marshal(settings)
		json.Unmarshal(b, &st)
		var res []PathwayResult
		res, err = Simulate(ctx, s, &SimulateOptions{Pathways: st.Pathways})
		if err != nil {
			t.Fatal(err)
		}
		err = RecordSimulate(ctx, d, run.ID, res)
	case db.CommandSweep:
		_, err = Sweep(ctx, s, d, run.ID, &SweepOptions{Workers: 3, ShardK: k, ShardN: n})
	case db.CommandFit:
		var res []FitResult
		res, err = Fit(ctx, s, &FitOptions{NoFine: true})
		if err == nil {
			err = RecordFit(ctx, d, run.ID, res)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Finish(nil); err != nil {
		t.Fatal(err)
	}
	return run.ID
}

func TestReproduceEveryKindOfRun(t *testing.T) {
	tests := []struct {
		name     string
		spec     string
		command  string
		settings any
		k, n     int
		points   int
		fits     int
	}{
		{"simulate all", "two-populations-three-pathways.yaml", db.CommandSimulate, SimulateSettings{}, 0, 1, 3, 0},
		{"simulate selected", "two-populations-three-pathways.yaml", db.CommandSimulate, SimulateSettings{Pathways: []int{2, 0}}, 0, 1, 2, 0},
		{"sweep", "ampa-instant-2comp-dimensionless-gsweep.yaml", db.CommandSweep, map[string]any{"shard_k": 0, "shard_n": 1}, 0, 1, 12, 0},
		{"sweep shard", "sweep-tdecay-trise-ampa-3comp.yaml", db.CommandSweep, map[string]any{"shard_k": 0, "shard_n": 2}, 0, 2, -1, 0},
		{"fit", "two-populations-three-pathways.yaml", db.CommandFit, map[string]any{"no_fine_dt": true}, 0, 1, -1, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			d := tempDB(t)
			id := recordRun(t, d, reproSpec(t, tc.spec), tc.command, tc.settings, tc.k, tc.n)
			r, err := Reproduce(ctx, d, id, &ReproduceOptions{Workers: 2})
			if err != nil {
				t.Fatal(err)
			}
			if !r.Identical() {
				t.Fatalf("differences: %+v", r.Differences)
			}
			if r.Points == 0 || tc.points >= 0 && r.Points != tc.points || r.Fits != tc.fits {
				t.Errorf("compared %d points and %d fits, want %d and %d", r.Points, r.Fits, tc.points, tc.fits)
			}
			if r.Command != tc.command || r.New.Command != db.CommandReproduce || r.New.ReproducesRunID == nil ||
				*r.New.ReproducesRunID != id || r.New.Status != db.StatusDone || r.VersionDiffers {
				t.Errorf("new run %+v, command %s, version differs %v", r.New, r.Command, r.VersionDiffers)
			}
			// A reproduction reproduces too, rerunning the original command.
			r2, err := Reproduce(ctx, d, r.New.ID, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !r2.Identical() || r2.Command != tc.command || r2.Points != r.Points {
				t.Errorf("reproducing the reproduction: %+v", r2)
			}
			// Another tool deletes the original: the reproductions still
			// say what they reran, from their settings, or (recorded before
			// settings named it) from what they hold, and still reproduce.
			raw, err := sql.Open("sqlite3", d.Path()+"?_foreign_keys=on")
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			if _, err := raw.Exec(`DELETE FROM runs WHERE id = ?`, id); err != nil {
				t.Fatal(err)
			}
			for _, strip := range []bool{false, true} {
				if strip {
					if _, err := raw.Exec(`UPDATE runs SET settings = json_remove(settings, '$.reran') WHERE command = 'reproduce'`); err != nil {
						t.Fatal(err)
					}
				}
				for _, rid := range []int64{r.New.ID, r2.New.ID} {
					run, err := d.Run(ctx, rid)
					if err != nil {
						t.Fatal(err)
					}
					if got, err := RanCommand(ctx, d, run); err != nil || got != tc.command {
						t.Errorf("settings stripped %v: RanCommand(run %d) = %q, %v; want %q", strip, rid, got, err, tc.command)
					}
				}
			}
			r3, err := Reproduce(ctx, d, r2.New.ID, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !r3.Identical() || r3.Command != tc.command || r3.Points != r.Points {
				t.Errorf("reproducing a reproduction of a deleted run: %+v", r3)
			}
		})
	}
}

// TestReproduceComparesFits: a fit's rows are compared too, field by
// field: a fit row that changed (here its dt/10 check, which is no point)
// or is missing is a difference. Only the points were compared, and a
// change to a fit's outcome or check reproduced as identical.
func TestReproduceComparesFits(t *testing.T) {
	ctx := context.Background()
	d := tempDB(t)
	id := recordRun(t, d, reproSpec(t, "two-populations-three-pathways.yaml"), db.CommandFit, map[string]any{"no_fine_dt": true}, 0, 1)
	raw, err := sql.Open("sqlite3", d.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{
		`UPDATE fits SET psp_fine_dt_mV = 0.5, outcome = 'max_evals' WHERE run_id = ? AND pathway = 0`,
		`DELETE FROM fits WHERE run_id = ? AND pathway = 2`,
	} {
		if _, err := raw.Exec(q, id); err != nil {
			t.Fatal(err)
		}
	}
	r, err := Reproduce(ctx, d, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Difference{
		{"fit/p0000", "psp_fine_dt_mV", "0.5", "null"},
		{"fit/p0000", "outcome", `"max_evals"`, `"converged"`},
		{"fit/p0002", "fit", "missing", "recorded"},
	}
	if !reflect.DeepEqual(r.Differences, want) || r.Fits != 2 {
		t.Errorf("differences %+v (of %d fits), want %+v (of 2)", r.Differences, r.Fits, want)
	}
}

// TestReproduceACancelledFit: a fit stopped after its first pathway kept
// that pathway; its reproduction reruns that pathway alone and compares
// it, identical (it refitted every pathway, counting the others as not
// compared; before that, every one was a difference). So does a
// reproduction of the reproduction.
func TestReproduceACancelledFit(t *testing.T) {
	ctx := context.Background()
	d := tempDB(t)
	s := reproSpec(t, "two-populations-three-pathways.yaml")
	run, err := StartRun(ctx, d, s, RunInfo{Command: db.CommandFit, Settings: map[string]any{"no_fine_dt": true}})
	if err != nil {
		t.Fatal(err)
	}
	stop, cancel := context.WithCancel(ctx)
	defer cancel()
	res, err := Fit(stop, s, &FitOptions{Workers: 1, NoFine: true, Progress: func(done, _ int) {
		if done == 1 {
			cancel()
		}
	}})
	if len(res) != 1 || !errors.Is(err, context.Canceled) {
		t.Fatalf("the stopped fit: %d pathways, %v", len(res), err)
	}
	if err := RecordFit(ctx, d, run.ID, res); err != nil {
		t.Fatal(err)
	}
	if err := run.Finish(err); err != nil {
		t.Fatal(err)
	}
	r, err := Reproduce(ctx, d, run.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Identical() || r.Fits != 1 || r.Points != len(res[0].Points()) || r.NotCompared != 0 || r.FitsNotCompared != 0 {
		t.Errorf("differences %+v, %d fits and %d points compared, %d and %d fits not; want none, 1, %d, none",
			r.Differences, r.Fits, r.Points, r.NotCompared, r.FitsNotCompared, len(res[0].Points()))
	}
	again, err := Reproduce(ctx, d, r.New.ID, nil)
	if err != nil || !again.Identical() || again.Fits != 1 || again.NotCompared != 0 || again.FitsNotCompared != 0 {
		t.Errorf("reproduction of the reproduction: %v, %+v", err, again)
	}
}

// TestReproduceACancelledSweep: a sweep stopped part way compares the
// points it recorded, identical, and reruns only those: the rest of its
// grid was swept only to be counted as not compared (before that, every
// one of them was reported, and the reproduction failed). A reproduction
// of that reproduction holds the same points.
func TestReproduceACancelledSweep(t *testing.T) {
	ctx := context.Background()
	d := tempDB(t)
	// The grid widened in the spec's text, which the reproduction reruns.
	text, err := os.ReadFile(filepath.Join("testdata", "reference", "cases", "ampa-instant-2comp-dimensionless-gsweep.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	wide := strings.Replace(string(text), "steps: 12", "steps: 3000", 1)
	if wide == string(text) {
		t.Fatal("reference case changed: no 'steps: 12'")
	}
	s, err := spec.Parse("gsweep.yaml", []byte(wide))
	if err != nil {
		t.Fatal(err)
	}
	run, err := StartRun(ctx, d, s, RunInfo{Command: db.CommandSweep, Settings: map[string]any{"shard_k": 0, "shard_n": 1}})
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	_, err = Sweep(sctx, s, d, run.ID, &SweepOptions{Workers: 1, FlushEvery: 64, Progress: func(done, total int) {
		if done > total/3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("sweep: %v, want it cancelled", err)
	}
	// Still recorded as running, and claimed: another command may be
	// adding points, which a comparison would count as differences.
	if runtime.GOOS == "linux" {
		_, rerr := Reproduce(ctx, d, run.ID, nil)
		if want := fmt.Sprintf("reproduce: run %d is still being recorded by another command: reproduce it once that has ended", run.ID); rerr == nil || rerr.Error() != want {
			t.Errorf("reproduce of a run being recorded: %v, want %q", rerr, want)
		}
	}
	if err := run.Finish(err); err != nil {
		t.Fatal(err)
	}
	recorded, err := d.Points(ctx, db.PointFilter{RunID: run.ID})
	if err != nil {
		t.Fatal(err)
	}
	total := NewGrid(s).ShardLen(0, 1)
	if len(recorded) == 0 || len(recorded) >= total {
		t.Fatalf("cancelled sweep recorded %d of %d points", len(recorded), total)
	}
	r, err := Reproduce(ctx, d, run.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Identical() || r.Points != len(recorded) || r.NotCompared != 0 {
		t.Errorf("reproduction: %d differences, %d compared, %d not compared; want the %d recorded identical and none else",
			len(r.Differences), r.Points, r.NotCompared, len(recorded))
	}
	for _, id := range []int64{r.New.ID, -1} {
		if id < 0 {
			r2, err := Reproduce(ctx, d, r.New.ID, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !r2.Identical() || r2.Points != len(recorded) || r2.NotCompared != 0 {
				t.Errorf("reproduction of the reproduction: %+v", r2)
			}
			id = r2.New.ID
		}
		if n, err := d.PointCount(ctx, id); err != nil || n != int64(len(recorded)) {
			t.Errorf("run %d holds %d points (%v), want the %d recorded", id, n, err, len(recorded))
		}
	}
}

func TestReproduceRefusals(t *testing.T) {
	ctx := context.Background()
	d := tempDB(t)
	eid, err := d.PutExperiment(ctx, "x", []byte("not: a spec\n"))
	if err != nil {
		t.Fatal(err)
	}
	odd := db.NewRun(eid, "plot", nil)
	if _, err := d.CreateRun(ctx, odd); err != nil {
		t.Fatal(err)
	}
	bad := db.NewRun(eid, db.CommandSimulate, nil)
	if _, err := d.CreateRun(ctx, bad); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id   int64
		want string
	}{
		{99, "reproduce: db: run 99: not found"},
		{odd.ID, `reproduce: run 1: cannot rerun command "plot" (want simulate, sweep or fit)`},
		{bad.ID, "reproduce: stored spec: x (spec of run 2):1: "},
	}
	for _, tc := range tests {
		_, err := Reproduce(ctx, d, tc.id, nil)
		if err == nil || len(err.Error()) < len(tc.want) || err.Error()[:len(tc.want)] != tc.want {
			t.Errorf("Reproduce(%d) error = %v, want prefix %q", tc.id, err, tc.want)
		}
	}
}

func TestComparePoints(t *testing.T) {
	p := func(key string, psp float64) db.Point {
		return db.Point{PointKey: key, PSPMV: psp, PeaksMV: map[string]float64{"soma": psp}, Receptors: []db.Receptor{{Channel: "AMPA", GNS: 1}}}
	}
	next := 0.5000000000000001 // one ulp above 0.5
	tests := []struct {
		name     string
		old, new []db.Point
		want     []Difference
	}{
		{"identical", []db.Point{p("a", 0.5), p("b", 1)}, []db.Point{p("b", 1), p("a", 0.5)}, nil},
		{"one ulp", []db.Point{p("a", 0.5)}, []db.Point{p("a", next)}, []Difference{
			{"a", "psp_mV", "0.5", "0.5000000000000001"},
			{"a", "peaks_mV", `{"soma":0.5}`, `{"soma":0.5000000000000001}`}}},
		{"missing and extra", []db.Point{p("a", 0.5)}, []db.Point{p("b", 0.5)}, []Difference{
			{"a", "point", "recorded", "missing"}, {"b", "point", "missing", "recorded"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ComparePoints(tc.old, tc.new); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestCompareRunsReadsInStep: comparing two recorded runs block by block
// finds what ComparePoints finds on the collected points (a point missing,
// one extra, a value one ulp off, a failure), and counts the old run.
func TestCompareRunsReadsInStep(t *testing.T) {
	ctx := context.Background()
	d := tempDB(t)
	eid, err := d.PutExperiment(ctx, "x", []byte("spec"))
	if err != nil {
		t.Fatal(err)
	}
	record := func(edit func(i int, bp *db.BlockPoint) bool) int64 {
		id, err := d.CreateRun(ctx, db.NewRun(eid, db.CommandSweep, nil))
		if err != nil {
			t.Fatal(err)
		}
		var blocks []*db.PointBlock
		for p := range 2 {
			b := &db.PointBlock{Pathway: p, Channels: []string{"AMPA"}, Compartments: []string{"soma"}, Axes: [3]int{3000, 0, 0}}
			for i := 2999; i >= 0; i-- {
				bp := db.BlockPoint{Index: i, GNS: []float64{float64(i) / 300}, TDecayMS: []float64{2}, TRiseMS: []float64{0.5},
					PSPMV: float64(i) / 7, PeaksMV: []float64{float64(i) / 7}}
				if edit(p*3000+i, &bp) {
					b.Add(&bp)
				}
				if b.Len() == 700 {
					blocks = append(blocks, b)
					b = &db.PointBlock{Pathway: p, Channels: b.Channels, Compartments: b.Compartments, Axes: b.Axes}
				}
			}
			blocks = append(blocks, b)
		}
		if err := d.InsertPointBlocks(ctx, id, blocks); err != nil {
			t.Fatal(err)
		}
		return id
	}
	oldID := record(func(i int, _ *db.BlockPoint) bool { return i != 4500 })
	newID := record(func(i int, bp *db.BlockPoint) bool {
		switch i {
		case 17:
			return false
		case 2999:
			bp.PSPMV = math.Nextafter(bp.PSPMV, 1)
		case 3001:
			bp.Error = "sim: unstable"
		}
		return true
	})
	n, got, extra, err := compareRuns(ctx, d, oldID, newID, false)
	if err != nil {
		t.Fatal(err)
	}
	oldPts, err := d.Points(ctx, db.PointFilter{RunID: oldID})
	if err != nil {
		t.Fatal(err)
	}
	newPts, err := d.Points(ctx, db.PointFilter{RunID: newID})
	if err != nil {
		t.Fatal(err)
	}
	want := ComparePoints(oldPts, newPts)
	if n != len(oldPts) || !reflect.DeepEqual(got, want) || extra != 0 {
		t.Errorf("compareRuns: %d points, differences\n%+v\nComparePoints: %d points,\n%+v", n, got, len(oldPts), want)
	}
	if len(want) != 6 { // 17 missing; psp of 2999; psp, status and error of 3001; 4500 extra
		t.Errorf("%d differences, want 6: %+v", len(want), want)
	}
}

// TestIdenticalAgreesWithDiffPoint: identical is true exactly when
// diffPoint finds no difference, over pairs that differ in one field or
// none: a float by one ulp, -0 against 0, NaN against NaN, nil against
// a value, nil against empty, a peak renamed, a receptor's t_rise.
func TestIdenticalAgreesWithDiffPoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	f := func(v float64) *float64 { return &v }
	base := func() db.Point {
		return db.Point{Pathway: 1, Pre: "E", Post: "I", Compartment: "dend", Record: "soma", Tag: "t", PointKey: "k",
			GNS: 1.5, TDecayMS: 2, TRiseMS: f(0.5), PSPMV: 0.7, BaselineMV: -70, TimeToPeakMS: 3, Rise1090MS: f(1),
			HalfWidthMS: f(math.NaN()), IHoldPA: nil, DSpikeFired: false, Status: db.PointOK,
			Receptors: []db.Receptor{{Channel: "AMPA", GNS: 1.5, TDecayMS: 2, TRiseMS: f(0.5)}, {Channel: "NMDA", GNS: 0.5, TDecayMS: 50}},
			PeaksMV:   map[string]float64{"soma": 0.7, "dend": math.Copysign(0, -1)}}
	}
	edits := []func(p *db.Point){
		func(p *db.Point) {},
		func(p *db.Point) { p.PSPMV = math.Nextafter(p.PSPMV, 1) },
		func(p *db.Point) { p.BaselineMV = math.Copysign(0, 1) },
		func(p *db.Point) { p.HalfWidthMS = f(math.NaN()) },
		func(p *db.Point) { p.HalfWidthMS = nil },
		func(p *db.Point) { p.IHoldPA = f(0) },
		func(p *db.Point) { p.TRiseMS = nil },
		func(p *db.Point) { p.PeaksMV["dend"] = 0 },
		func(p *db.Point) { delete(p.PeaksMV, "dend"); p.PeaksMV["apical"] = 0 },
		func(p *db.Point) { p.PeaksMV = map[string]float64{} },
		func(p *db.Point) { p.PeaksMV = nil },
		func(p *db.Point) { p.Receptors[1].TRiseMS = f(2) },
		func(p *db.Point) { p.Receptors[0].Channel = "GABA" },
		func(p *db.Point) { p.Receptors = p.Receptors[:1] },
		func(p *db.Point) { p.Receptors = nil },
		func(p *db.Point) { p.Receptors = []db.Receptor{} },
		func(p *db.Point) { p.Tag = "" },
		func(p *db.Point) { p.DSpikeFired = true },
		func(p *db.Point) { p.Status, p.Error = db.PointFailed, "x" },
		func(p *db.Point) { p.GNS = math.Inf(1) },
	}
	for range 2000 {
		o, n := base(), base()
		edits[rng.IntN(len(edits))](&o)
		edits[rng.IntN(len(edits))](&n)
		if got, want := identical(&o, &n), len(diffPoint("k", &o, &n)) == 0; got != want {
			t.Fatalf("identical = %v, diffPoint found %v\nold %+v\nnew %+v", got, diffPoint("k", &o, &n), o, n)
		}
	}
}
