package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/fit"
	"github.com/dendfit/dendfit/sim"
	"github.com/dendfit/dendfit/sim/spec"
)

// TestFitMatchesReference: every reference pathway with g_fit_nS is fitted
// to it within 1e-6 relative (the reference converged to ~1e-13; we stop
// at |PSP| rtol 1e-7), with the reference's psp_at_fit_mV (signed) to the
// fit's tolerance, and pathways the reference could not fit are reported
// unconverged.
func TestFitMatchesReference(t *testing.T) {
	fitted, refused := 0, 0
	for _, rc := range loadReference(t) {
		res, err := Fit(context.Background(), rc.spec, &FitOptions{NoFine: true})
		if err != nil {
			t.Fatalf("%s: %v", rc.name, err)
		}
		byPath := map[int]FitResult{}
		for _, r := range res {
			byPath[r.Pathway] = r
		}
		for i, w := range rc.want.Pathways {
			if w.TargetPSPMV == nil {
				continue
			}
			got, ok := byPath[i]
			if !ok {
				t.Errorf("%s pathway %d: not fitted", rc.name, i)
				continue
			}
			if w.GFitNS == nil {
				refused++
				if got.Converged {
					t.Errorf("%s pathway %d: converged to %v nS, but the reference has no fit (%v)", rc.name, i, got.GFitNS, *w.GFitReason)
				}
				continue
			}
			fitted++
			if !got.Converged || math.Abs(got.GFitNS[0] / *w.GFitNS - 1) > 1e-6 {
				t.Errorf("%s pathway %d: g %v nS (%s), want %v", rc.name, i, got.GFitNS, got.Outcome, *w.GFitNS)
			}
			// The PSP at the fit is signed, as the reference's is (an
			// IPSP's is negative), and its magnitude meets the target.
			if w.PSPAtFitMV == nil || math.Abs(got.PSPAtFitMV-*w.PSPAtFitMV) > 1e-7**w.TargetPSPMV*1.0000001 {
				t.Errorf("%s pathway %d: psp at fit %v, want %v (target %v)", rc.name, i, got.PSPAtFitMV, fmtPtr(w.PSPAtFitMV), *w.TargetPSPMV)
			}
			if got.Evaluations > 12 {
				t.Errorf("%s pathway %d: %d evaluations", rc.name, i, got.Evaluations)
			}
		}
	}
	t.Logf("%d pathways fitted to the reference, %d refused like it", fitted, refused)
	if fitted == 0 {
		t.Fatal("nothing compared")
	}
	_ = fit.Converged
}

// TestFitKineticsRecoversSimulatedTruth: simulate the seed pathway with a
// rise+decay AMPA at known g and kinetics, take its amplitude and half
// width and rise time as targets, start the fit elsewhere, and recover the
// known g and time constants.
func TestFitKineticsRecoversSimulatedTruth(t *testing.T) {
	s := loadCase(t, "ampa-rise-decay-3comp-chain")
	p := &s.Pathways[0]
	truth := p.Receptors[0]
	truth.G, truth.TauDecay, truth.TauRise = 1.7e-9, 6e-3, 1.2e-3
	setup, _, err := s.Setup(0)
	if err != nil {
		t.Fatal(err)
	}
	want, err := SimulateOne(context.Background(), s, 0, setup, []sim.Receptor{truth}, false)
	if err != nil {
		t.Fatal(err)
	}
	p.TargetPSP = math.Abs(want.PSPMV) * 1e-3
	p.TargetHalfWidth = *want.HalfWidthMS * 1e-3
	p.TargetRise = *want.Rise1090MS * 1e-3
	res, err := Fit(context.Background(), s, &FitOptions{NoFine: true})
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	if !r.Converged {
		t.Fatalf("%s: %s", r.Outcome, r.Message)
	}
	if math.Abs(*r.TDecayMS/6-1) > 1e-3 || math.Abs(*r.TRiseMS/1.2-1) > 1e-3 || math.Abs(r.GFitNS[0]/1.7-1) > 1e-3 {
		t.Errorf("fit g %v nS, t_decay %v ms, t_rise %v ms; want 1.7, 6, 1.2 (%s)", r.GFitNS, *r.TDecayMS, *r.TRiseMS, r.Message)
	}
	if math.Abs(r.PSPAtFitMV-math.Abs(want.PSPMV)) > s.Fit.RTol*math.Abs(want.PSPMV)*1.001 {
		t.Errorf("amplitude %v, want %v", r.PSPAtFitMV, want.PSPMV)
	}
	if len(r.Residuals) != 2 {
		t.Errorf("residuals %+v", r.Residuals)
	}
	t.Logf("%d evaluations; %s", r.Evaluations, r.Message)
}

func loadCase(t *testing.T, name string) *spec.Spec {
	t.Helper()
	s, err := spec.Load("testdata/reference/cases/" + name + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// refBracketFit is the reference's fitting rule written out literally (its
// README, "Fit"): bracket by doubling or halving g from the spec g inside
// [g_min, g_max], then bisect; no fit when no bracket exists or when any
// run in the bracket fires a dSpike.
func refBracketFit(t *testing.T, psp func(g float64) (float64, bool), g0, gmin, gmax, target float64) (float64, bool) {
	t.Helper()
	type run struct {
		g, p  float64
		spike bool
	}
	var runs []run
	eval := func(g float64) run {
		p, s := psp(g)
		r := run{g, math.Abs(p), s}
		runs = append(runs, r)
		return r
	}
	lo, hi := eval(g0), run{}
	if lo.p < target {
		for hi = lo; hi.p < target; {
			if hi.g >= gmax {
				return 0, false
			}
			lo, hi = hi, eval(math.Min(2*hi.g, gmax))
		}
	} else {
		for hi = lo; lo.p >= target; {
			if lo.g <= gmin {
				return 0, false
			}
			hi, lo = lo, eval(math.Max(lo.g/2, gmin))
		}
	}
	a, b := lo.g, hi.g
	for i := 0; i < 200 && b/a-1 > 1e-13; i++ {
		m := eval(0.5 * (a + b))
		if m.p < target {
			a = m.g
		} else {
			b = m.g
		}
	}
	for _, r := range runs {
		if r.spike && r.g >= lo.g && r.g <= hi.g {
			return 0, false
		}
	}
	return 0.5 * (a + b), true
}

// TestFitDSpikeFollowsReferenceRule: on the dSpike reference cell, for
// targets below, near and above the dSpike threshold and from spec g on
// both sides of it, dendfit fits exactly when the reference rule does, to
// the same g.
func TestFitDSpikeFollowsReferenceRule(t *testing.T) {
	base := loadCase(t, "dspike-na-2comp-triggered")
	setup, rs, err := base.Setup(0)
	if err != nil {
		t.Fatal(err)
	}
	sm, err := sim.New(setup, 1)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]sim.Result, 1)
	psp := func(g float64) (float64, bool) {
		if err := sm.Run(context.Background(), [][]sim.Receptor{scaled(rs, g)}, &sim.Options{RecordOnly: true}, out); err != nil {
			t.Fatal(err)
		}
		return out[0].PSP, out[0].DSpikeFired
	}
	fitted, refused := 0, 0
	for _, g0 := range []float64{30e-9, 5e-9, 20e-9} {
		for _, target := range []float64{1e-3, 3e-3, 5e-3, 7e-3, 7.7e-3, 8.5e-3, 12e-3} {
			s := loadCase(t, "dspike-na-2comp-triggered")
			s.Pathways[0].Receptors[0].G = g0
			s.Pathways[0].Receptors[1].G = g0 * rs[1].G / rs[0].G
			s.Pathways[0].TargetPSP = target
			res, err := Fit(context.Background(), s, &FitOptions{NoFine: true})
			if err != nil {
				t.Fatal(err)
			}
			r := res[0]
			wantG, ok := refBracketFit(t, psp, g0, s.Fit.GMin, s.Fit.GMax, target)
			if ok != r.Converged {
				t.Errorf("g0 %g nS, target %g mV: converged %v (%s: %s), reference rule %v", g0*1e9, target*1e3, r.Converged, r.Outcome, r.Message, ok)
				continue
			}
			if ok {
				fitted++
				if math.Abs(r.GFitNS[0]/(wantG*1e9)-1) > 1e-6 {
					t.Errorf("g0 %g nS, target %g mV: g %v nS, reference rule %v", g0*1e9, target*1e3, r.GFitNS[0], wantG*1e9)
				}
			} else {
				refused++
			}
		}
	}
	t.Logf("%d fitted, %d refused, as the reference rule", fitted, refused)
	if fitted == 0 || refused == 0 {
		t.Fatal("the cases do not exercise both outcomes")
	}
}

// TestFitSimFailureIsAnOutcome: the seed cell is numerically unstable
// under Euler from a few uS. A target it reaches below that (69 mV) is
// fitted: a run that fails takes its g as too strong, and the search goes
// on below it (it gave up). One no run reaches (2000 mV: a run whose V
// leaves +-1 V fails) ends that pathway's fit with sim_failed, saying
// that the target is out of reach below the g that fails, recorded like
// any other outcome instead of failing the whole fit run.
func TestFitSimFailureIsAnOutcome(t *testing.T) {
	for _, tc := range []struct {
		targetMV  float64
		converged bool
	}{{69, true}, {2000, false}} {
		s := loadCase(t, "seed-ampa-2comp-dimensional")
		s.Pathways[0].TargetPSP = tc.targetMV * 1e-3
		s.Fit.GMax = 10e-6
		res, err := Fit(context.Background(), s, &FitOptions{NoFine: true})
		if err != nil {
			t.Fatalf("fit run failed: %v", err)
		}
		r := res[0]
		if tc.converged {
			if !r.Converged || math.Abs(r.PSPAtFitMV-tc.targetMV) > 1e-6*tc.targetMV {
				t.Errorf("target %g mV: outcome %s (%s), PSP %g mV", tc.targetMV, r.Outcome, r.Message, r.PSPAtFitMV)
			}
			continue
		}
		if r.Converged || r.Outcome != fit.Unreachable || r.Evaluations == 0 || len(r.GBestNS) == 0 || r.ReachableMV == nil ||
			!strings.Contains(r.Message, "target 2000 mV is out of reach: the PSP is ") || !strings.Contains(r.Message, "numerically unstable") {
			t.Errorf("target %g mV: outcome %s (%s), %d evaluations, best g %v", tc.targetMV, r.Outcome, r.Message, r.Evaluations, r.GBestNS)
		}
	}
}

// TestFitIdenticalAcrossWorkers: a fit's results (each pathway's g, PSPs,
// kinetics, evaluations, outcome and every evaluation's point) are the
// same bits whatever the number of workers, as a sweep's are.
func TestFitIdenticalAcrossWorkers(t *testing.T) {
	s, err := spec.Load("../experiments/cortex-paired-recordings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	run := func(workers int) string {
		res, err := Fit(context.Background(), s, &FitOptions{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i := range res {
			// JSON writes floats round-trip exact, and what pointers hold.
			j, err := json.Marshal([]any{res[i].DBFit(), res[i].Points()})
			if err != nil {
				t.Fatal(err)
			}
			b.Write(j)
			b.WriteByte('\n')
		}
		return b.String()
	}
	one := run(1)
	if !strings.Contains(one, `"Converged":true`) || strings.Count(one, "\n") != 7 {
		t.Fatalf("fits of the 7 pathways:\n%.500s", one)
	}
	for _, w := range []int{2, 3, 7} {
		if got := run(w); got != one {
			t.Errorf("%d workers: results differ from one worker's", w)
		}
	}
}

// TestFitKeepsFinishedPathwaysOnCancel: a fit stopped (Ctrl-C) after its
// first pathway returns that pathway's result, whole, with the error, and
// RecordFit keeps it; the run used to lose every pathway.
func TestFitKeepsFinishedPathwaysOnCancel(t *testing.T) {
	s, err := spec.Load("../experiments/cortex-paired-recordings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	full, err := Fit(context.Background(), s, &FitOptions{Workers: 1, NoFine: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls [][2]int
	res, err := Fit(ctx, s, &FitOptions{Workers: 1, NoFine: true, Progress: func(done, total int) {
		calls = append(calls, [2]int{done, total})
		if done == 1 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || len(res) != 1 {
		t.Fatalf("stopped after one pathway: %d results, err %v; want 1 and context.Canceled", len(res), err)
	}
	if !slices.Equal(calls, [][2]int{{0, 7}, {1, 7}}) {
		t.Errorf("progress calls %v, want [[0 7] [1 7]]", calls)
	}
	if !reflect.DeepEqual(res[0], full[0]) {
		t.Errorf("kept pathway differs from an uninterrupted fit's:\n%+v\nwant\n%+v", res[0], full[0])
	}
	d := tempDB(t)
	run, err := StartRun(context.Background(), d, s, RunInfo{Command: db.CommandFit})
	if err != nil {
		t.Fatal(err)
	}
	if err := RecordFit(context.Background(), d, run.ID, res); err != nil {
		t.Fatal(err)
	}
	run.Finish(context.Canceled)
	fits, err := d.Fits(context.Background(), db.FitFilter{RunID: run.ID})
	if err != nil || len(fits) != 1 || fits[0].Pathway != res[0].Pathway {
		t.Errorf("recorded fits %+v, %v; want pathway %d's", fits, err, res[0].Pathway)
	}
	if n := len(res[0].Points()); n == 0 {
		t.Error("the kept pathway has no evaluations")
	}
}

// TestFitSelectedPathways: FitOptions.Pathways fits those pathways only,
// in spec order, each exactly as a fit of all of them does; a pathway
// out of range or without a target is refused.
func TestFitSelectedPathways(t *testing.T) {
	s, err := spec.Load("../experiments/cortex-paired-recordings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	all, err := Fit(context.Background(), s, &FitOptions{NoFine: true})
	if err != nil {
		t.Fatal(err)
	}
	some, err := Fit(context.Background(), s, &FitOptions{NoFine: true, Pathways: []int{6, 0}})
	if err != nil {
		t.Fatal(err)
	}
	if len(some) != 2 || !reflect.DeepEqual(some[0], all[0]) || !reflect.DeepEqual(some[1], all[6]) {
		t.Errorf("pathways 6 and 0: got %d results (%v), want pathways 0 and 6 as in the full fit", len(some), some)
	}
	untargeted := *s
	untargeted.Pathways = slices.Clone(s.Pathways)
	untargeted.Pathways[3].TargetPSP = 0
	for _, tc := range []struct {
		s    *spec.Spec
		sel  []int
		want string
	}{
		{s, []int{7}, "pathway 7: the spec has pathways 0..6"},
		{&untargeted, []int{3}, "pathway 3 (L4SS->L5APC (AMPA+NMDA)) has no target_psp: nothing to fit"},
	} {
		if _, err := Fit(context.Background(), tc.s, &FitOptions{Pathways: tc.sel}); err == nil || err.Error() != tc.want {
			t.Errorf("pathways %v: %v, want %q", tc.sel, err, tc.want)
		}
	}
}

// TestFitSelection: selecting every pathway with a target_psp (in any
// order, one twice) is the whole fit (nil, recorded as one); a part stays
// as selected; a pathway without a target or out of range is refused, as
// Fit refuses it.
func TestFitSelection(t *testing.T) {
	s, err := spec.Load("../experiments/cortex-paired-recordings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	untargeted := *s
	untargeted.Pathways = slices.Clone(s.Pathways)
	untargeted.Pathways[3].TargetPSP = 0
	for _, tc := range []struct {
		name    string
		s       *spec.Spec
		sel     []int
		want    []int
		wantErr string
	}{
		{"none selected", s, nil, nil, ""},
		{"every target", s, []int{0, 1, 2, 3, 4, 5, 6}, nil, ""},
		{"every target, shuffled, one twice", s, []int{6, 5, 4, 3, 2, 1, 0, 3}, nil, ""},
		{"a part", s, []int{6, 0}, []int{6, 0}, ""},
		{"every target of a spec with an untargeted pathway", &untargeted, []int{0, 1, 2, 4, 5, 6}, nil, ""},
		{"no target", &untargeted, []int{3}, nil, "pathway 3 (L4SS->L5APC (AMPA+NMDA)) has no target_psp: nothing to fit"},
		{"out of range", s, []int{7}, nil, "pathway 7: the spec has pathways 0..6"},
		{"negative", s, []int{-1}, nil, "pathway -1: the spec has pathways 0..6"},
	} {
		got, err := FitSelection(tc.s, tc.sel)
		switch {
		case tc.wantErr != "":
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("%s: %v, %v; want error %q", tc.name, got, err, tc.wantErr)
			}
		case err != nil || !slices.Equal(got, tc.want) || (got == nil) != (tc.want == nil):
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

// TestFitWarnings checks the doubts a fit reports against what causes
// them: Euler's error grows with dt, so the seed model at dt = 1 ms (half
// its AMPA decay) moves by more than 1% at dt/10 while at 0.025 ms it does
// not; a window that ends 1 ms after the spike cuts the PSP while it rises.
func TestFitWarnings(t *testing.T) {
	for _, tc := range []struct {
		name       string
		dt, window float64 // s; window: duration after the spike
		noFine     bool
		want       []string
	}{
		{"fine dt", 0.025e-3, 90e-3, false, nil},
		{"coarse dt", 1e-3, 90e-3, false, []string{"with dt/10"}},
		// A rising PSP also moves with dt, so the dt/10 check is off.
		{"short window", 0.025e-3, 1e-3, true, []string{"peaks at the last sample"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := loadCase(t, "seed-ampa-2comp-dimensional")
			s.Simulation.Dt = tc.dt
			s.Simulation.Duration = s.Simulation.SpikeAt + tc.window
			res, err := Fit(context.Background(), s, &FitOptions{NoFine: tc.noFine})
			if err != nil {
				t.Fatal(err)
			}
			ws := res[0].Warnings
			if len(ws) != len(tc.want) {
				t.Fatalf("warnings %q, want %d matching %q", ws, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(ws[i], w) || !strings.HasPrefix(ws[i], "pathway 0 (") {
					t.Errorf("warning %q, want pathway 0's, with %q", ws[i], w)
				}
			}
			// A cut window is also kept in the fit's message, for the
			// database.
			if cut := strings.Contains(res[0].Message, "window's last sample"); cut != (tc.name == "short window") {
				t.Errorf("message %q", res[0].Message)
			}
		})
	}
}

// TestFitRecordsEachPathway: with RecordEach, each pathway is in the
// database as soon as it is fitted, so a fit stopped part way (here
// cancelled after its second pathway; a kill -9 the same) keeps exactly
// the pathways it returns as finished, as fitted in a full fit; a
// recording that fails stops the fit, and its pathway is not returned.
func TestFitRecordsEachPathway(t *testing.T) {
	s, err := spec.Load("../experiments/cortex-paired-recordings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	full, err := Fit(context.Background(), s, &FitOptions{NoFine: true})
	if err != nil {
		t.Fatal(err)
	}
	d := tempDB(t)
	run, err := StartRun(context.Background(), d, s, RunInfo{Command: db.CommandFit})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	record, n := RecordEach(ctx, d, run.ID), 0
	res, err := Fit(ctx, s, &FitOptions{NoFine: true, Workers: 1, Finished: func(r *FitResult) error {
		if n++; n == 2 {
			cancel()
		}
		return record(r)
	}})
	if !errors.Is(err, context.Canceled) || len(res) < 2 || len(res) >= len(full) {
		t.Fatalf("cancelled fit: %d results, %v; want 2 or more of %d, and Canceled", len(res), err, len(full))
	}
	fits, err := d.Fits(context.Background(), db.FitFilter{RunID: run.ID})
	if err != nil || len(fits) != len(res) {
		t.Fatalf("recorded %d fits (%v), want the %d finished", len(fits), err, len(res))
	}
	for _, f := range fits {
		if want := full[f.Pathway]; !slices.Equal(f.GFitNS, want.GFitNS) {
			t.Errorf("pathway %d: recorded g %v, a full fit's %v", f.Pathway, f.GFitNS, want.GFitNS)
		}
	}

	// A recording that fails after Ctrl-C stopped the others is the error
	// reported, not the cancellation (whose "finished work is kept" would
	// be untrue): here the first pathway to finish cancels, waits for the
	// other to return Canceled (the group's first error), then fails.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	diskFull := errors.New("disk full")
	var once sync.Once
	_, err = Fit(ctx, s, &FitOptions{NoFine: true, Workers: 2, Finished: func(r *FitResult) error {
		err := error(nil)
		once.Do(func() {
			cancel()
			time.Sleep(200 * time.Millisecond)
			err = diskFull
		})
		return err
	}})
	if !errors.Is(err, diskFull) || errors.Is(err, context.Canceled) {
		t.Errorf("recording failed after Ctrl-C: %v; want the recording's error alone", err)
	}

	d.Close() // recording now fails
	res, err = Fit(context.Background(), s, &FitOptions{NoFine: true, Workers: 1, Finished: RecordEach(context.Background(), d, run.ID)})
	if err == nil || !strings.Contains(err.Error(), "record:") || len(res) != 0 {
		t.Errorf("fit into a closed database: %d results, %v; want none, and the recording's error", len(res), err)
	}
}

// TestFitWarnsOfADepolarisingIPSP: a GABA pathway held below E_GABA
// (-80 mV) makes a depolarising PSP, which its fit warns of; held above
// it, the PSP hyperpolarises and nothing is said.
func TestFitWarnsOfADepolarisingIPSP(t *testing.T) {
	for _, tc := range []struct {
		holding float64 // V
		warn    bool
	}{{-90e-3, true}, {-50e-3, false}} {
		s := loadCase(t, "gaba-point-cell-held")
		s.Pathways[0].Holding = tc.holding
		d := tempDB(t)
		run, err := StartRun(context.Background(), d, s, RunInfo{Command: db.CommandFit})
		if err != nil {
			t.Fatal(err)
		}
		res, err := Fit(context.Background(), s, &FitOptions{NoFine: true, Finished: RecordEach(context.Background(), d, run.ID)})
		if err != nil || !res[0].Converged {
			t.Fatalf("holding %g mV: %v %+v", tc.holding/1e-3, err, res)
		}
		ws := strings.Join(res[0].Warnings, "\n")
		if got := strings.Contains(ws, "depolarises"); got != tc.warn {
			t.Errorf("holding %g mV: warnings %q, want the depolarising IPSP named: %v", tc.holding/1e-3, ws, tc.warn)
		}
		// Recorded with the fit, for query, export and report.
		fits, err := d.Fits(context.Background(), db.FitFilter{RunID: run.ID})
		if err != nil || len(fits) != 1 || !slices.Equal(fits[0].Warnings, res[0].Warnings) {
			t.Errorf("holding %g mV: recorded %+v (%v), want the warnings %q", tc.holding/1e-3, fits, err, res[0].Warnings)
		}
	}
}

// TestUnsimulablePathwayFailsAlone: at a dt (0.95 ms) beyond the stability limit of
// one cell (pc, fastest passive time constant 0.46 ms, so 0.93 ms under
// Euler) or of a receptor's time constant (dt/2), those pathways end
// sim_failed, saying why, and the other
// pathways are fitted, the same whatever the worker count: the error used
// to cancel the whole fit, and which pathways got recorded was chance.
func TestUnsimulablePathwayFailsAlone(t *testing.T) {
	s, err := spec.Load("../experiments/cortex-paired-recordings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s.Simulation.Dt = 0.95e-3
	var first []FitResult
	for _, workers := range []int{1, 3} {
		res, err := Fit(context.Background(), s, &FitOptions{Workers: workers, NoFine: true})
		if err != nil {
			t.Fatalf("%d workers: %v", workers, err)
		}
		if len(res) != len(s.Pathways) {
			t.Fatalf("%d workers: %d results for %d pathways", workers, len(res), len(s.Pathways))
		}
		failed := 0
		for i, r := range res {
			unstable := s.PopulationCell(s.Pathways[i].Post) == "pc"
			for _, r := range s.Pathways[i].Receptors {
				// Euler's limit for a receptor's gating: dt/2, itself included.
				if s.Simulation.Method == sim.Euler && (r.TauDecay <= s.Simulation.Dt/2 || r.TauRise > 0 && r.TauRise <= s.Simulation.Dt/2) {
					unstable = true
				}
			}
			if unstable {
				failed++
			}
			if got := r.Outcome == fit.SimFailed && strings.Contains(r.Message, "stability limit"); got != unstable {
				t.Errorf("%d workers: pathway %d (%s): outcome %s (%s), want sim_failed %v", workers, i, s.Pathways[i].Label(), r.Outcome, r.Message, unstable)
			}
		}
		if failed == 0 || failed == len(res) {
			t.Fatalf("%d of %d pathways post-synaptic to pc: the test needs some of each", failed, len(res))
		}
		if first == nil {
			first = res
		} else if !reflect.DeepEqual(res, first) {
			t.Errorf("%d workers: results differ from one worker's", workers)
		}
	}
}

// TestFitWarnsOfAHyperpolarisingEPSP: the mirror of the depolarising
// IPSP: an AMPA pathway held above its reversal (0 mV; +10 mV is a lost
// minus sign) makes a hyperpolarising PSP, which its fit warns of; held
// below it, nothing is said.
func TestFitWarnsOfAHyperpolarisingEPSP(t *testing.T) {
	for _, tc := range []struct {
		holding float64 // V
		warn    bool
	}{{10e-3, true}, {-60e-3, false}} {
		// The synapse on the held soma: the membrane there is at the
		// holding.
		s := loadCase(t, "seed-ampa-2comp-dimensional")
		s.Pathways[0].Hold, s.Pathways[0].Holding, s.Pathways[0].Compartment = true, tc.holding, "soma"
		res, err := Fit(context.Background(), s, &FitOptions{NoFine: true})
		if err != nil || !res[0].Converged {
			t.Fatalf("holding %g mV: %v %+v", tc.holding/1e-3, err, res)
		}
		ws := strings.Join(res[0].Warnings, "\n")
		if got := strings.Contains(ws, "its excitatory PSP at the g found hyperpolarises"); got != tc.warn {
			t.Errorf("holding %g mV: warnings %q, want the hyperpolarising EPSP named: %v", tc.holding/1e-3, ws, tc.warn)
		}
	}
}

// TestFitFailedAtFirstRun: a fit whose first simulation fails (an AdEx
// soma driven past its VT at the spec g) halves g until a run does not,
// and fits below it (it gave up); with g_min no lower, it ran no g to the
// end: it has no best g and no PSP (it gave g 0 nS and 0 mV, shown as
// tried and measured).
func TestFitFailedAtFirstRun(t *testing.T) {
	s, err := spec.Load("testdata/dendrify-check/cases/adex-soma-rk4.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s.Pathways[0].Compartment = "soma"
	s.Pathways[0].Receptors[0].G = 100e-9
	res, err := Fit(context.Background(), s, &FitOptions{NoFine: true, Pathways: []int{0}})
	if err != nil {
		t.Fatal(err)
	}
	if r := res[0]; !r.Converged || r.GFitNS[0] >= 50 || math.Abs(r.PSPAtFitMV-r.TargetPSPMV) > 1e-6*r.TargetPSPMV {
		t.Errorf("from g = 100 nS: outcome %s (%s), g %v nS, PSP %g mV", r.Outcome, r.Message, r.GFitNS, r.PSPAtFitMV)
	}
	s.Fit.GMin = 90e-9
	res, err = Fit(context.Background(), s, &FitOptions{NoFine: true, Pathways: []int{0}})
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	if r.Outcome != "sim_failed" || r.Evaluations != 2 || !strings.Contains(r.Message, "crossed its VT") {
		t.Fatalf("outcome %s after %d evaluations (%s), want sim_failed after 100 and 90 nS failed", r.Outcome, r.Evaluations, r.Message)
	}
	if r.GBestNS != nil || r.GFitNS != nil || r.PSPAtFitMV != 0 {
		t.Errorf("g_best %v, g_fit %v, PSP %v mV: want none", r.GBestNS, r.GFitNS, r.PSPAtFitMV)
	}
	if f := r.DBFit(); len(f.GFitNS) != 0 {
		t.Errorf("recorded g %v: want none", f.GFitNS)
	}
}

// TestFitKineticsAtDtWarns: a rise target no rise time above dt meets (a
// 3 ms 10-90 % rise with a 25 ms half width for a GABA synapse on a
// three-compartment cell, from a new user's trial) ends with t_rise at dt,
// the least euler allows, and the fit says so: it had looked like any
// other converged fit.
func TestFitKineticsAtDtWarns(t *testing.T) {
	_, r := fitText(t, "kin.yaml", `dendfit: 1
experiment: kin
simulation: {dt: 0.05 ms, method: euler, duration: 120 ms, spike_at: 10 ms}
cells:
  pyr:
    cm: 1 uF/cm2
    gl: 50 uS/cm2
    r_axial: 150 ohm*cm
    v_rest: -68 mV
    scale_factor: 3
    spine_factor: 1.5
    compartments:
      - {name: soma, type: soma, length: 25 um, diameter: 25 um}
      - {name: proximal, type: dendrite, length: 100 um, diameter: 2.5 um}
      - {name: distal, type: dendrite, length: 150 um, diameter: 1.5 um}
    connections: [[soma, proximal], [proximal, distal]]
populations: {CA1: pyr, PV: pyr}
pathways:
  - pre: PV
    post: CA1
    compartment: soma
    receptors:
      - {channel: GABA, g: 2 nS, t_rise: 0.4 ms, t_decay: 8 ms}
    target_psp: 0.9 mV
    target_rise: 3 ms
    target_half_width: 25 ms
fit: {g_min: 0.001 nS, g_max: 1 uS, rtol: 1e-6}
`)
	if r.TRiseMS == nil || *r.TRiseMS != 0.05 {
		t.Fatalf("t_rise %v ms (%s: %s): the case no longer ends at dt", r.TRiseMS, r.Outcome, r.Message)
	}
	want := "pathway 0 (PV->CA1 (GABA)): its fitted t_rise (0.05 ms) is the least the search allows, dt: the kinetics there are what this dt can step"
	if !slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.HasPrefix(w, want) }) {
		t.Errorf("warnings %q, want one that starts %q", r.Warnings, want)
	}
	for _, w := range r.Warnings {
		if strings.Contains(w, "its fitted t_decay") {
			t.Errorf("t_decay %v ms warned of: %q", *r.TDecayMS, w)
		}
	}
}

// TestFitRootBelowJump: a root that fires no dSpike, in a bracket that
// reaches one, is no fit by the reference's rule (dspike_jump); asked to
// (RootBelowJump), the fit takes it, warns, and its PSP is the target with
// no dSpike.
func TestFitRootBelowJump(t *testing.T) {
	s, err := spec.Load("testdata/dspike-root-below-jump.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := Fit(ctx, s, &FitOptions{NoFine: true})
	if err != nil || res[0].Outcome != fit.DSpikeJump {
		t.Fatalf("by the reference's rule: %v %+v; want dspike_jump", err, res)
	}
	res, err = Fit(ctx, s, &FitOptions{NoFine: true, RootBelowJump: true})
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	if !r.Converged || math.Abs(r.PSPAtFitMV-14) > 1e-6*14 || len(r.Warnings) != 1 ||
		!strings.Contains(r.Warnings[0], "the reference's rule gives no fit here; it was accepted as asked (root_below_jump)") {
		t.Fatalf("root_below_jump: %s (%s), PSP %g mV, warnings %q", r.Outcome, r.Message, r.PSPAtFitMV, r.Warnings)
	}
	setup, base, err := s.Setup(0)
	if err != nil {
		t.Fatal(err)
	}
	at, err := SimulateOne(ctx, s, 0, setup, scaled(base, r.GFitNS[0]*1e-9), false)
	if err != nil || at.DSpikeFired || math.Abs(math.Abs(at.PSPMV)-14) > 1e-6*14 {
		t.Errorf("at the g found: %+v, %v; want a 14 mV PSP and no dSpike", at, err)
	}
}

// TestFitDSpikeBeforeTheSpike: a pathway whose held state fires a dSpike
// before the presynaptic spike ends dspike_jump saying so, naming the
// holding: every g's PSP is that dSpike's (a trial's IPSPs read as if
// inhibition fired it). A jump the synapse makes says nothing of it.
func TestFitDSpikeBeforeTheSpike(t *testing.T) {
	const said = "a dSpike fires before the presynaptic spike, with no synaptic input"
	for _, tc := range []struct {
		file, edit, want string
	}{
		{"testdata/hold-above-dspike.yaml", "", said + ": holding oblique at -38 mV puts a dendrite above its dSpike threshold, so every g's PSP measures that dSpike, not the synapse (hold lower)"},
		// A kinetics fit's too.
		{"testdata/hold-above-dspike.yaml", "  target_half_width: 20 ms\n", said + ": holding oblique at -38 mV"},
		{"testdata/dspike-root-below-jump.yaml", "", ""},
	} {
		text, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		if tc.edit != "" {
			text = []byte(strings.Replace(string(text), "  target_psp: 0.5 mV\n", "  target_psp: 0.5 mV\n"+tc.edit, 1))
		}
		s, err := spec.Parse(tc.file, text)
		if err != nil {
			t.Fatal(err)
		}
		if tc.edit != "" && s.Pathways[0].TargetHalfWidth == 0 {
			t.Fatal("no kinetics target added")
		}
		res, err := Fit(context.Background(), s, &FitOptions{NoFine: true})
		if err != nil || res[0].Outcome != fit.DSpikeJump {
			t.Fatalf("%s: %v %+v; want dspike_jump", tc.file, err, res)
		}
		if msg := res[0].Message; tc.want == "" && strings.Contains(msg, said) || tc.want != "" && !strings.Contains(msg, tc.want) {
			t.Errorf("%s: message %q, want %q", tc.file, msg, tc.want)
		}
	}
}

// TestFitKineticsKeepsRiseBelowDecay: the double exponential is symmetric
// in its two time constants, and a search free in both came back with
// them swapped (from a user's trial: exponential_euler, t_decay 0.009 ms,
// a tenth of dt, t_rise 0.56 ms, g 117 nS, "converged"). The fit keeps
// t_rise below t_decay, both at dt or above, and meets the targets.
func TestFitKineticsKeepsRiseBelowDecay(t *testing.T) {
	for _, method := range []string{"exponential_euler", "euler"} {
		s, r := fitText(t, "kee.yaml", `dendfit: 1
experiment: kee
simulation: {dt: 0.1 ms, method: `+method+`, duration: 100 ms, spike_at: 5 ms}
cells:
  pv:
    compartments:
      - {name: soma, type: soma, cm_abs: 30 pF, gl_abs: 10 nS, v_rest: -68 mV}
populations: {E: pv, PV: pv}
pathways:
  - pre: E
    post: PV
    compartment: soma
    receptors: [{channel: AMPA, g: 1 nS, t_rise: 0.5 ms, t_decay: 2 ms}]
    target_psp: 1 mV
    target_time_to_peak: 1.5 ms
    target_half_width: 3.5 ms
`)
		if r.TRiseMS == nil || r.TDecayMS == nil || !r.Converged {
			t.Fatalf("%s: %s: %s", method, r.Outcome, r.Message)
		}
		if !(*r.TRiseMS < *r.TDecayMS) || *r.TRiseMS < 0.1 {
			t.Errorf("%s: t_rise %g ms, t_decay %g ms: want 0.1 ms <= t_rise < t_decay", method, *r.TRiseMS, *r.TDecayMS)
		}
		// The fitted kinetics, simulated again, give the targets.
		s.Pathways[0].Receptors[0].G = r.GFitNS[0] * 1e-9
		s.Pathways[0].Receptors[0].TauDecay = *r.TDecayMS * 1e-3
		s.Pathways[0].Receptors[0].TauRise = *r.TRiseMS * 1e-3
		sims, err := Simulate(context.Background(), s, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, hw := sims[0], math.NaN()
		if got.HalfWidthMS != nil {
			hw = *got.HalfWidthMS
		}
		if math.Abs(got.PSPMV-1) > 1e-6 || !(math.Abs(hw-3.5) <= 0.01) || math.Abs(got.TimeToPeakMS-1.5) > 0.01 {
			t.Errorf("%s: resimulated psp %g mV, half width %g ms, time to peak %g ms", method, got.PSPMV, hw, got.TimeToPeakMS)
		}
	}
}

// TestFitAtTheReversalPotential: a GABA synapse held at E_GABA drives no
// current, so no g reaches the target: the message says why (it said only
// that the PSP at g_max is 0 mV). Held elsewhere, the same pathway fits.
func TestFitAtTheReversalPotential(t *testing.T) {
	for _, c := range []struct {
		holding string
		why     bool
	}{{"-80 mV", true}, {"-60 mV", false}} {
		_, r := fitText(t, "egaba.yaml", `dendfit: 1
experiment: egaba
simulation: {dt: 0.1 ms, method: euler, duration: 100 ms, spike_at: 5 ms}
cells:
  pv:
    compartments:
      - {name: soma, type: soma, cm_abs: 60 pF, gl_abs: 8 nS, v_rest: -68 mV}
populations: {PV: pv}
pathways:
  - {pre: PV, post: PV, compartment: soma, receptors: [{channel: GABA, g: 1 nS, t_decay: 8 ms}], target_psp: 0.5 mV, holding: `+c.holding+`}
`)
		said := strings.Contains(r.Message, "the synapse sits at -80 mV, its receptors' reversal potential: with no driving force no g makes a PSP")
		if said != c.why || c.why && r.Outcome != fit.Unreachable || !c.why && !r.Converged {
			t.Errorf("held at %s: %s: %s", c.holding, r.Outcome, r.Message)
		}
	}
}

// TestFitKineticsFloorUnderExponentialEuler: under exponential_euler the
// membrane's step holds the gating of the step's start, so below dt a
// conductance's time constant hardly changes the PSP; a kinetics fit
// there wandered down a flat stretch (from a user's trial: t_decay 0.0027
// ms, a 37th of dt, "converged"). The fit stops at dt, and says so.
func TestFitKineticsFloorUnderExponentialEuler(t *testing.T) {
	_, r := fitText(t, "hw.yaml", `dendfit: 1
experiment: hw
simulation: {dt: 0.1 ms, method: exponential_euler, duration: 100 ms, spike_at: 10 ms}
cells:
  pv:
    compartments:
      - {name: soma, type: soma, model: leakyIF, cm_abs: 50 pF, gl_abs: 10 nS, v_rest: -68 mV}
populations: {D: pv}
pathways:
  - {pre: D, post: D, compartment: soma, receptors: [{channel: AMPA, g: 1 nS, t_decay: 2 ms}], target_psp: 1 mV, target_half_width: 3.55 ms}
`)
	if r.TDecayMS == nil {
		t.Fatalf("no t_decay (%s: %s)", r.Outcome, r.Message)
	}
	if *r.TDecayMS < 0.1 {
		t.Fatalf("t_decay %g ms (%s: %s), want 0.1 ms (dt) or more", *r.TDecayMS, r.Outcome, r.Message)
	}
	if *r.TDecayMS <= 0.1*(1+1e-9) && !slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, "is the least the search allows, dt") }) {
		t.Errorf("t_decay at dt without the warning: %q", r.Warnings)
	}
}

// fitText parses a spec from text and fits it (without the dt/10 check),
// returning the spec and its first pathway's fit.
func fitText(t *testing.T, name, text string) (*spec.Spec, FitResult) {
	t.Helper()
	s, err := spec.Parse(name, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Fit(context.Background(), s, &FitOptions{NoFine: true})
	if err != nil {
		t.Fatal(err)
	}
	return s, res[0]
}

// fmtPtr writes *p, or null.
func fmtPtr(p *float64) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

// TestFitRefusesImpossibleKineticsTargets: Fit refuses a pathway whose
// kinetics target no PSP of the window can meet (spec.Pathway.FitErrors),
// before any run, and fits the others when that pathway is not selected.
func TestFitRefusesImpossibleKineticsTargets(t *testing.T) {
	b, err := os.ReadFile("testdata/reference/cases/two-populations-three-pathways.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := spec.Parse("t.yaml", b)
	if err != nil {
		t.Fatal(err)
	}
	window := s.Simulation.Duration - s.Simulation.SpikeAt
	s.Pathways[1].FitErrors = spec.Errors{{File: "t.yaml", Line: 9, Path: "pathways[1].target_half_width", Msg: "too long"}}
	s.Pathways[1].TargetHalfWidth = 2 * window
	if _, err := Fit(context.Background(), s, &FitOptions{NoFine: true}); err == nil || err.Error() != "t.yaml:9: pathways[1].target_half_width: too long" {
		t.Errorf("Fit of every pathway: %v", err)
	}
	if err := CheckFitTargets(s, []int{0, 2}); err != nil {
		t.Errorf("CheckFitTargets(0, 2): %v", err)
	}
	res, err := Fit(context.Background(), s, &FitOptions{NoFine: true, Pathways: []int{0, 2}})
	if err != nil || len(res) != 2 || !res[0].Converged || !res[1].Converged {
		t.Errorf("Fit of pathways 0 and 2: %v, %+v", err, res)
	}
}

// TestKineticsFitOffTheStaircase: a time-to-peak target a few steps after
// the spike is met; the time to peak moves in whole steps, and the first
// search, from a t_decay of 2 ms, settles on the floor missing it by 60%
// (kinetics_missed): the scan that follows a miss finds it.
func TestKineticsFitOffTheStaircase(t *testing.T) {
	for _, f := range []string{
		"testdata/kinetics-near-dt.yaml",
		// Met only from the scan's second best start.
		"testdata/kinetics-far.yaml",
		// Met only just above the floor.
		"testdata/kinetics-three-steps.yaml",
	} {
		s, err := spec.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Fit(context.Background(), s, &FitOptions{NoFine: true})
		if err != nil || len(res) != 1 {
			t.Fatalf("%s: %v, %d results", f, err, len(res))
		}
		r := res[0]
		if !r.Converged || r.TDecayMS == nil || len(r.Residuals) != 1 || math.Abs(r.Residuals[0].Relative) > 1e-9 {
			t.Errorf("%s: outcome %s (%s), t_decay %v ms", f, r.Outcome, r.Message, fmtPtr(r.TDecayMS))
		}
	}
}

// TestKineticsFitOutOfReachKeepsItsBest: a kinetics fit whose amplitude
// no time constants reach (the simulation fails above 2000 mV's g) gives,
// as a fit of g alone does, the best g tried at the spec's time constants
// (exactly them), its PSP and the largest PSP reached: it gave none.
func TestKineticsFitOutOfReachKeepsItsBest(t *testing.T) {
	s := loadCase(t, "seed-ampa-2comp-dimensional")
	s.Pathways[0].TargetPSP = 2
	s.Pathways[0].TargetTimeToPeak = 5e-3
	s.Fit.GMax = 10e-6
	res, err := Fit(context.Background(), s, &FitOptions{NoFine: true})
	if err != nil || len(res) != 1 {
		t.Fatalf("%v, %d results", err, len(res))
	}
	r := res[0]
	if r.Converged || r.Outcome != fit.Unreachable || len(r.GBestNS) == 0 || !(r.PSPAtFitMV > 0) || r.ReachableMV == nil ||
		*r.ReachableMV < r.PSPAtFitMV || r.TDecayMS == nil || *r.TDecayMS != s.Pathways[0].Receptors[0].TauDecay/1e-3 {
		t.Errorf("outcome %s (%s): best g %v nS, PSP %v mV, reachable %v, t_decay %v ms", r.Outcome, r.Message, r.GBestNS, r.PSPAtFitMV, fmtPtr(r.ReachableMV), fmtPtr(r.TDecayMS))
	}
}

// TestFitWarnsOfAPSPPastItsReversal: an IPSP of 19 mV from -70 mV with
// E_GABA at -80 mV is Euler's (dt 0.2 ms: the step overshoots and
// oscillates); a fit to it converges, and its warnings say so. A 5 mV
// IPSP, and an EPSP, say nothing of it.
func TestFitWarnsOfAPSPPastItsReversal(t *testing.T) {
	s, err := spec.Parse("past.yaml", []byte(`dendfit: 1
experiment: past
simulation: {dt: 0.2 ms, method: euler, duration: 100 ms, spike_at: 10 ms}
cells:
  pyr:
    scale_factor: 5
    compartments:
      - {name: soma, type: soma, length: 20 um, diameter: 20 um, cm: 1 uF/cm2, gl: 40 uS/cm2, r_axial: 150 ohm*cm, v_rest: -70 mV}
      - {name: dend, type: dendrite, length: 20 um, diameter: 20 um, cm: 1 uF/cm2, gl: 40 uS/cm2, r_axial: 150 ohm*cm, v_rest: -70 mV}
    connections:
      - [soma, dend, 12 nS]
populations: {A: pyr, B: pyr}
pathways:
  - {pre: B, post: A, compartment: soma, receptors: [{channel: GABA, g: 1 nS, t_decay: 10 ms}], target_psp: 19 mV}
  - {pre: A, post: B, compartment: soma, receptors: [{channel: GABA, g: 1 nS, t_decay: 10 ms}], target_psp: 5 mV}
  - {pre: B, post: B, compartment: dend, receptors: [{channel: AMPA, g: 1 nS, t_decay: 2 ms}], target_psp: 1 mV}
fit: {g_min: 0.001 nS, g_max: 1 uS}
`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Fit(context.Background(), s, &FitOptions{NoFine: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false, false} {
		ws := strings.Join(res[i].Warnings, "\n")
		if !res[i].Converged || strings.Contains(ws, "past the reversal of its receptors (-80 mV)") != want {
			t.Errorf("pathway %d: converged %v, warnings %q; want the reversal passed named: %v", i, res[i].Converged, ws, want)
		}
	}
}
