package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
)

// seed is the seed model of the reference (two 20x20 um cylinders, scale
// factor 5, 12 nS coupling, AMPA 1 nS / 2 ms on the dendrite).
func seed() (*Setup, []Receptor) {
	area := math.Pi * 20e-6 * 20e-6 * 5
	cp := func(name string) Compartment {
		return Compartment{Name: name, C: area * 0.01, GL: area * 40e-6 * 1e4, EL: -70e-3}
	}
	cell := &Cell{Compartments: []Compartment{cp("soma"), cp("dend")}, Couplings: []Coupling{{0, 1, 12e-9}}}
	return &Setup{Cell: cell, Constants: DefaultConstants(), Protocol: Protocol{Method: Euler, Dt: 1e-4, Duration: 0.1, SpikeAt: 0.01, Synapse: 1, Record: 0}},
		[]Receptor{{Channel: AMPA, G: 1e-9, TauDecay: 2e-3}}
}

// TestSeedReference: the seed model, built here by hand, against what
// Dendrify 2.2 / Brian 2.5 computed for it
// (pipeline/testdata/reference/expected/seed-ampa-2comp-dimensional.json).
func TestSeedReference(t *testing.T) {
	b, err := os.ReadFile("../pipeline/testdata/reference/expected/seed-ampa-2comp-dimensional.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Pathways []struct {
			PSPMV       float64            `json:"psp_mV"`
			PeaksMV     map[string]float64 `json:"peaks_mV"`
			Rise1090MS  float64            `json:"rise_10_90_ms"`
			HalfWidthMS float64            `json:"half_width_ms"`
			TimeToPeak  float64            `json:"time_to_peak_ms"`
		} `json:"pathways"`
	}
	if err := json.Unmarshal(b, &ref); err != nil || len(ref.Pathways) != 1 {
		t.Fatalf("reference: %v", err)
	}
	want := ref.Pathways[0]
	s, rs := seed()
	r, err := Simulate(s, rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"psp", r.PSP * 1e3, want.PSPMV},
		{"peak dend", r.Peaks[1] * 1e3, want.PeaksMV["dend"]},
		{"rise", r.Rise1090 * 1e3, want.Rise1090MS},
		{"half width", r.HalfWidth * 1e3, want.HalfWidthMS},
		{"time to peak", float64(r.PeakStep-r.SpikeStep) * s.Protocol.Dt * 1e3, want.TimeToPeak},
	} {
		if !(math.Abs(c.got-c.want) <= 1e-9*math.Abs(c.want)) {
			t.Errorf("%s: got %.17g, want %.17g", c.name, c.got, c.want)
		}
	}
}

// TestHoldingCurrentAnalytic: for a passive two-compartment cell the holding
// current has a closed form, I = gL_r (V_h - EL) + g gL_o/(g + gL_o) (V_h - EL).
func TestHoldingCurrentAnalytic(t *testing.T) {
	c := &Cell{Compartments: []Compartment{{Name: "a", C: 1e-10, GL: 1e-8, EL: -0.07}, {Name: "b", C: 5e-11, GL: 2.5e-9, EL: -0.07}},
		Couplings: []Coupling{{0, 1, 1.5e-8}}}
	vh := -0.055
	ss, err := Steady(c, true, 0, vh)
	if err != nil {
		t.Fatal(err)
	}
	g, gb := 1.5e-8, 2.5e-9
	want := 1e-8*(vh+0.07) + g*gb/(g+gb)*(vh+0.07)
	if math.Abs(ss.IHold-want) > 1e-12*math.Abs(want) {
		t.Errorf("I_hold %g, want %g", ss.IHold, want)
	}
	vb := (g*vh + gb*-0.07) / (g + gb)
	if math.Abs(ss.V[1]-vb) > 1e-15 {
		t.Errorf("V_b %g, want %g", ss.V[1], vb)
	}
}

// TestStartBeyondAnyMembraneRefused: a holding potential or a rest given
// in V for mV starts every run beyond maxVoltage, where a run is taken as
// diverged; New refuses it naming the potential, not dt (a trial held at
// -55 V was told to shorten dt). Within the range the setup runs.
func TestStartBeyondAnyMembraneRefused(t *testing.T) {
	mk := func(el float64, hold bool, vh float64) *Setup {
		return &Setup{Cell: &Cell{Compartments: []Compartment{{Name: "soma", C: 1e-10, GL: 1e-8, EL: -0.07}, {Name: "dend", C: 5e-11, GL: 2.5e-9, EL: el}},
			Couplings: []Coupling{{0, 1, 1.5e-8}}}, Constants: DefaultConstants(),
			Protocol: Protocol{Method: Euler, Dt: 0.025e-3, Duration: 0.05, SpikeAt: 0.005, Hold: hold, Holding: vh}}
	}
	adex := func(vh float64) *Setup {
		return &Setup{Cell: &Cell{Compartments: []Compartment{{Name: "soma", Kind: AdEx, C: 100e-12, GL: 5e-9, EL: -0.07,
			A: 2e-9, TauW: 0.08, DeltaT: 2e-3, VT: -0.05}}}, Constants: DefaultConstants(),
			Protocol: Protocol{Method: Euler, Dt: 0.025e-3, Duration: 0.05, SpikeAt: 0.005, Hold: true, Holding: vh}}
	}
	for _, tc := range []struct {
		name string
		s    *Setup
		want string // "" when it must run
	}{
		{"held at -55 V", mk(-0.07, true, -55), "the holding potential -55000 mV is beyond ±1 V"},
		{"held at +2 V", mk(-0.07, true, 2), "the holding potential 2000 mV is beyond ±1 V"},
		{"held at -0.99 V", mk(-0.07, true, -0.99), ""},
		{"dendrite resting at -70 V", mk(-70, false, 0), "the resting state puts"},
		{"dendrite at -70 V, soma held", mk(-70, true, -0.06), "the state held at -60 mV in soma puts dend at"},
		// An AdEx cell held there has no steady state: the error named
		// v_rest and VT.
		{"AdEx held at 1.5 V", adex(1.5), "the holding potential 1500 mV is beyond ±1 V"},
	} {
		_, err := New(tc.s, 1)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, ErrUnstable)):
			t.Errorf("%s: err %v, want one containing %q that does not blame dt", tc.name, err, tc.want)
		}
	}
}

// TestZeroPSPPeaksAtTheFirstSample: a GABA synapse onto a point cell held
// at E_GABA moves no sample (no driving force, and the held state is
// exact), so every d_k is 0 and the peak, the first largest |d_k| for
// k > k0, is the sample after the spike: a time to peak of dt, a PSP of 0,
// and no rise or half width.
func TestZeroPSPPeaksAtTheFirstSample(t *testing.T) {
	cons := DefaultConstants()
	for _, m := range []Method{Euler, RK4, ExponentialEuler} {
		s := &Setup{Cell: &Cell{Compartments: []Compartment{{Name: "soma", C: 1e-10, GL: 1e-8, EL: -0.065}}}, Constants: cons,
			Protocol: Protocol{Method: m, Dt: 1e-4, Duration: 0.05, SpikeAt: 0.01, Hold: true, Holding: cons.EGABA}}
		r, err := Simulate(s, []Receptor{{Channel: GABA, G: 1e-9, TauRise: 5e-4, TauDecay: 8e-3}}, &Options{Trace: true})
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range r.Trace[0][r.SpikeStep:] {
			if v != r.Baseline {
				t.Fatalf("%v: sample k0+%d moved to %g from %g: the test's premise fails", m, k, v, r.Baseline)
			}
		}
		if r.PSP != 0 || r.PeakStep != r.SpikeStep+1 || r.TimeToPeak != s.Protocol.Dt || r.HasRise || r.HasHalfWidth {
			t.Errorf("%v: psp %g, peak step %d (spike %d), time to peak %g, rise %v, half width %v; want 0, spike+1, dt, none, none",
				m, r.PSP, r.PeakStep, r.SpikeStep, r.TimeToPeak, r.HasRise, r.HasHalfWidth)
		}
	}
}

// TestPointCellPSPAnalytic: a point cell with an instant AMPA synapse at
// small g is a linear system whose Euler solution is known in closed form:
// after the spike, d_k = A (a^(k-1) - b^(k-1)) for k >= 1 with
// a = 1 - dt/tau_m, b = 1 - dt/tau_s.
func TestPointCellPSPAnalytic(t *testing.T) {
	C, gl, el, dt, tau := 1e-10, 1e-8, -0.07, 1e-4, 2e-3
	g := 1e-15 // small: the driving force stays at E - EL to ~1e-8 relative
	s := &Setup{Cell: &Cell{Compartments: []Compartment{{Name: "soma", C: C, GL: gl, EL: el}}}, Constants: DefaultConstants(),
		Protocol: Protocol{Method: Euler, Dt: dt, Duration: 0.1, SpikeAt: 0.01}}
	r, err := Simulate(s, []Receptor{{Channel: AMPA, G: g, TauDecay: tau}}, &Options{Trace: true})
	if err != nil {
		t.Fatal(err)
	}
	a, b := 1-dt*gl/C, 1-dt/tau
	amp := dt / C * g * (0 - el) / (a - b)
	k0 := r.SpikeStep
	for j := 2; j < 300; j++ {
		want := amp * (math.Pow(a, float64(j-1)) - math.Pow(b, float64(j-1)))
		got := r.Trace[0][k0+j] - r.Baseline
		if math.Abs(got-want) > 1e-6*math.Abs(want) {
			t.Fatalf("sample k0+%d: %g, want %g", j, got, want)
		}
	}
}

// TestBatchMatchesScalar: every lane of a batch (generic kernel) equals the
// same point run alone (the scalar kernels), bit for bit, for every method.
func TestBatchMatchesScalar(t *testing.T) {
	for _, m := range []Method{Euler, RK4, ExponentialEuler} {
		s, _ := seed()
		s.Protocol.Method = m
		var pts [][]Receptor
		for i := 0; i < 7; i++ {
			pts = append(pts, []Receptor{{Channel: AMPA, G: float64(i+1) * 0.7e-9, TauDecay: float64(i+1) * 1e-3, TauRise: 0.3e-3},
				{Channel: NMDA, G: 0.5e-9, TauDecay: 50e-3}})
		}
		sm, err := New(s, len(pts))
		if err != nil {
			t.Fatal(err)
		}
		for _, opt := range []*Options{nil, {RecordOnly: true}} {
			batch := make([]Result, len(pts))
			if err := sm.Run(context.Background(), pts, opt, batch); err != nil {
				t.Fatal(err)
			}
			for i, p := range pts {
				alone, err := Simulate(s, p, opt)
				if err != nil {
					t.Fatal(err)
				}
				if math.Float64bits(alone.PSP) != math.Float64bits(batch[i].PSP) || alone.PeakStep != batch[i].PeakStep ||
					math.Float64bits(alone.HalfWidth) != math.Float64bits(batch[i].HalfWidth) {
					t.Errorf("%v lane %d: batch %v, alone %v", m, i, batch[i].PSP, alone.PSP)
				}
			}
		}
		// The linear fast path (AMPA only) against the batch.
		lin := [][]Receptor{{{Channel: AMPA, G: 2e-9, TauDecay: 3e-3}}, {{Channel: AMPA, G: 5e-9, TauDecay: 1e-3}}}
		batch := make([]Result, 2)
		if err := sm.Run(context.Background(), lin, &Options{RecordOnly: true}, batch); err != nil {
			t.Fatal(err)
		}
		for i, p := range lin {
			alone, _ := Simulate(s, p, &Options{RecordOnly: true})
			if math.Float64bits(alone.PSP) != math.Float64bits(batch[i].PSP) {
				t.Errorf("%v linear lane %d: batch %v, alone %v", m, i, batch[i].PSP, alone.PSP)
			}
		}
	}
}

// TestUnstableIsAnError: a dt far above the membrane time constant blows
// up; the simulator says so instead of returning NaN.
func TestUnstableIsAnError(t *testing.T) {
	s, rs := seed()
	s.Protocol.Dt = 5e-3
	s.Protocol.Duration = 2
	s.Protocol.SpikeAt = 0.05
	s.Cell.Couplings[0].G = 1e-6
	if _, err := Simulate(s, rs, nil); err == nil {
		t.Fatal("no error for an unstable run")
	}
}

// BenchmarkSeedPSP is one PSP of the seed model, metrics only: compare
// with the scalar C loop ../shared/tools/limit/psp2c.c (gcc -O2).
func BenchmarkSeedPSP(b *testing.B) {
	s, rs := seed()
	sm, err := New(s, 1)
	if err != nil {
		b.Fatal(err)
	}
	out := make([]Result, 1)
	pts := [][]Receptor{rs}
	opt := &Options{RecordOnly: true}
	for b.Loop() {
		if err := sm.Run(context.Background(), pts, opt, out); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSeedBatch32 is the batched path: 32 conductances per call;
// reported per PSP.
func BenchmarkSeedBatch32(b *testing.B) {
	s, rs := seed()
	sm, _ := New(s, 32)
	pts := make([][]Receptor, 32)
	for i := range pts {
		r := rs[0]
		r.G = float64(i+1) * 0.1e-9
		pts[i] = []Receptor{r}
	}
	out := make([]Result, 32)
	opt := &Options{RecordOnly: true}
	for b.Loop() {
		if err := sm.Run(context.Background(), pts, opt, out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*32), "ns/psp")
}

// BenchmarkSeedSweepBatch is the batch as sweeps run it: 32 lanes, every
// compartment's peak kept (RunEach with default options); per PSP.
func BenchmarkSeedSweepBatch(b *testing.B) {
	s, rs := seed()
	sm, _ := New(s, 32)
	pts := make([][]Receptor, 32)
	for i := range pts {
		r := rs[0]
		r.G = 0.1e-9 * math.Pow(100, float64(i)/31)
		pts[i] = []Receptor{r}
	}
	out := make([]Result, 32)
	errs := make([]error, 32)
	// fused is fusedEuler with its vector loop where the CPU has one,
	// scalar without it, general the batch without fusedEuler.
	for _, v := range []struct {
		name          string
		noFuse, noVec bool
	}{{"fused", false, false}, {"scalar", false, true}, {"general", true, true}} {
		b.Run(v.name, func(b *testing.B) {
			fuseOff, vecOff = v.noFuse, v.noVec
			defer func() { fuseOff, vecOff = false, false }()
			for b.Loop() {
				if err := sm.RunEach(context.Background(), pts, nil, out, errs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*32), "ns/psp")
		})
	}
}

// TestEarlyStopKeepsMetrics: stopping once the bound rules out any later
// extremum gives exactly the metrics of the full run, over a wide range of
// conductances, kinetics, receptors, holding and record sites.
func TestEarlyStopKeepsMetrics(t *testing.T) {
	stopped := 0
	for _, ch := range []Channel{AMPA, GABA} {
		for _, rec := range []int{0, 1} {
			for _, hold := range []bool{false, true} {
				for _, rise := range []float64{0, 0.4e-3} {
					for _, g := range []float64{1e-12, 1e-10, 1e-9, 1e-8, 1e-7} {
						for _, td := range []float64{0.5e-3, 3e-3, 20e-3} {
							s, _ := seed()
							s.Protocol.Record = rec
							s.Protocol.Hold, s.Protocol.Holding = hold, -0.05
							rs := []Receptor{{Channel: ch, G: g, TauDecay: td, TauRise: rise}}
							for _, trackAll := range []bool{false, true} {
								full, err := Simulate(s, rs, &Options{Full: true, RecordOnly: !trackAll})
								if err != nil {
									t.Fatal(err)
								}
								sm, _ := New(s, 1)
								out := make([]Result, 1)
								if err := sm.Run(context.Background(), [][]Receptor{rs}, &Options{RecordOnly: !trackAll}, out); err != nil {
									t.Fatal(err)
								}
								if sm.filled < sm.nSteps-sm.k0 {
									stopped++
								}
								got := out[0]
								if got.PSP != full.PSP || got.PeakStep != full.PeakStep || got.Rise1090 != full.Rise1090 ||
									got.HalfWidth != full.HalfWidth || got.HasHalfWidth != full.HasHalfWidth {
									t.Fatalf("%v rec %d hold %v rise %g g %g td %g: early %+v, full %+v", ch, rec, hold, rise, g, td, got, full)
								}
								for c := range full.Peaks {
									if got.Peaks[c] != full.Peaks[c] {
										t.Fatalf("peak %d: early %g, full %g", c, got.Peaks[c], full.Peaks[c])
									}
								}
							}
						}
					}
				}
			}
		}
	}
	if stopped == 0 {
		t.Fatal("no run stopped early: the test checks nothing")
	}
	t.Logf("%d runs stopped early", stopped)
}

// BenchmarkSeedPSPFull is BenchmarkSeedPSP with every step run (no early
// stop): the like-for-like comparison with the C loop, which runs them all.
func BenchmarkSeedPSPFull(b *testing.B) {
	s, rs := seed()
	sm, _ := New(s, 1)
	out := make([]Result, 1)
	pts := [][]Receptor{rs}
	opt := &Options{RecordOnly: true, Full: true}
	for b.Loop() {
		if err := sm.Run(context.Background(), pts, opt, out); err != nil {
			b.Fatal(err)
		}
	}
}

// TestTooLargeDtIsRefused: a dt beyond Euler's (or RK4's) stability limit
// for the cell's fastest passive time constant is an error before the run,
// with the limit in the message; just inside the limit the run goes ahead.
func TestTooLargeDtIsRefused(t *testing.T) {
	// One compartment: rate gL/C = 1e5 /s, so Euler's limit is dt = 20 us.
	mk := func(m Method, dt float64) *Setup {
		return &Setup{Cell: &Cell{Compartments: []Compartment{{Name: "soma", C: 1e-12, GL: 1e-7, EL: -0.07}}}, Constants: DefaultConstants(),
			Protocol: Protocol{Method: m, Dt: dt, Duration: 0.01, SpikeAt: 0.001}}
	}
	rs := []Receptor{{Channel: AMPA, G: 1e-9, TauDecay: 2e-3}}
	for _, c := range []struct {
		m   Method
		dt  float64
		bad bool
	}{
		{Euler, 25e-6, true}, {Euler, 19e-6, false}, {RK4, 28e-6, true}, {RK4, 25e-6, false}, {ExponentialEuler, 100e-6, false},
	} {
		_, err := Simulate(mk(c.m, c.dt), rs, nil)
		if c.bad != (err != nil && errors.Is(err, ErrUnstable)) {
			t.Errorf("%v dt %g: err %v, want refused %v", c.m, c.dt, err, c.bad)
		}
	}
	// The fastest rate of a two-compartment cell against its closed form.
	s, _ := seed()
	c := s.Cell.Compartments[0]
	want := (c.GL + 2*12e-9) / c.C // equal compartments: (gL + 2 g)/C
	if got := FastestRate(s.Cell); math.Abs(got/want-1) > 1e-9 {
		t.Errorf("fastest rate %g, want %g", got, want)
	}
}

// TestAdExRunawaySaysSo: an adex soma driven past its VT runs away (the
// model has no reset) at a dt well inside the stability limit; the error
// wraps ErrRunaway and says when the soma crossed VT, not that dt is too
// large (it said so first), and the same drive on a leaky soma runs.
func TestAdExRunawaySaysSo(t *testing.T) {
	mk := func(k Kind) *Setup {
		return &Setup{Cell: &Cell{Compartments: []Compartment{{Name: "soma", Kind: k, C: 100e-12, GL: 5e-9, EL: -0.07,
			TauW: 0.1, DeltaT: 2e-3, VT: -0.05}}}, Constants: DefaultConstants(),
			Protocol: Protocol{Method: Euler, Dt: 0.05e-3, Duration: 0.1, SpikeAt: 0.005}}
	}
	rs := []Receptor{{Channel: AMPA, G: 50e-9, TauDecay: 5e-3}}
	_, err := Simulate(mk(AdEx), rs, nil)
	if !errors.Is(err, ErrRunaway) || !strings.Contains(err.Error(), "soma crossed its VT -50 mV at ") || strings.Contains(err.Error(), "smaller dt") {
		t.Errorf("adex: err %v, want a runaway blamed on the adex soma crossing VT, not on dt", err)
	}
	if _, err := Simulate(mk(LeakyIF), rs, nil); err != nil {
		t.Errorf("leakyIF: %v", err)
	}
}

// TestSingularCellSaysWhy: a coupling 10^300 times the leaks leaves the
// resting state's equations singular in float64; the error says what to
// look for.
func TestSingularCellSaysWhy(t *testing.T) {
	s, rs := seed()
	s.Cell.Couplings[0].G = 1e291 // 1e300 nS
	_, err := Simulate(s, rs, nil)
	if err == nil || !strings.Contains(err.Error(), "singular in double precision: look for a coupling or leak conductance") {
		t.Errorf("err = %v, want the singular system explained", err)
	}
}

// TestUnstableFixedPointRefused: an AdEx soma held above its VT sits on a
// fixed point it leaves with no input (the reported "PSP" was the
// runaway); New refuses it, naming the holding and the VT. Held below VT,
// and at rest, it runs. growthRate agrees with the closed form of one
// adaptive compartment's 2x2 system.
func TestUnstableFixedPointRefused(t *testing.T) {
	const vt, dT, gl, c, a, tauw = -0.05, 2e-3, 5e-9, 100e-12, 2e-9, 0.08
	mk := func(hold bool, v float64) *Setup {
		return &Setup{Cell: &Cell{Compartments: []Compartment{{Name: "soma", Kind: AdEx, C: c, GL: gl, EL: -0.07,
			A: a, TauW: tauw, DeltaT: dT, VT: vt}}}, Constants: DefaultConstants(),
			Protocol: Protocol{Method: Euler, Dt: 0.025e-3, Duration: 0.05, SpikeAt: 0.005, Hold: hold, Holding: v}}
	}
	rs := []Receptor{{Channel: GABA, G: 1e-9, TauDecay: 5e-3}}
	for _, tc := range []struct {
		hold     bool
		v        float64
		unstable bool
	}{{true, -0.045, true}, {true, -0.040, true}, {true, -0.055, false}, {false, 0, false}} {
		_, err := Simulate(mk(tc.hold, tc.v), rs, nil)
		got := err != nil && strings.Contains(err.Error(), "is unstable (AdEx soma at") && strings.Contains(err.Error(), "above its VT -50 mV")
		if got != tc.unstable || (!tc.unstable && err != nil) {
			t.Errorf("hold %v at %g mV: err %v, want refused %v", tc.hold, tc.v/1e-3, err, tc.unstable)
		}
	}
	for _, v := range []float64{-0.06, -0.05, -0.046, -0.04} {
		s := mk(true, v)
		ss, err := Steady(s.Cell, true, 0, v)
		if err != nil {
			t.Fatal(err)
		}
		// J = [[(-gL + gL e^((V-VT)/dT))/C, -1/C], [a/tauw, -1/tauw]].
		j11, j12, j21, j22 := (-gl+gl*math.Exp((v-vt)/dT))/c, -1/c, a/tauw, -1/tauw
		tr, det := j11+j22, j11*j22-j12*j21
		want := tr / 2
		if d := tr*tr/4 - det; d > 0 {
			want += math.Sqrt(d)
		}
		if got := eigenRate(s.Cell, ss, []int{0}); math.Abs(got-want) > 1e-9*math.Abs(want) {
			t.Errorf("held at %g mV: eigenvalues' largest real part %g /s, want %g", v/1e-3, got, want)
		}
		// At or below VT, with a >= 0, stability needs no eigenvalues.
		got := growthRate(s.Cell, ss)
		if v <= vt && (!math.IsInf(got, -1) || !(want < 0)) || v > vt && got != eigenRate(s.Cell, ss, []int{0}) {
			t.Errorf("held at %g mV: growth rate %g /s (closed form %g)", v/1e-3, got, want)
		}
	}
}

// TestUnstableFixedPointEdges: a linearisation that overflows (an AdEx
// term far above VT in a tiny compartment) is refused as running away,
// not passed as "no verdict"; a negative adaptation is named as the cause.
func TestUnstableFixedPointEdges(t *testing.T) {
	overflow := &Setup{Cell: &Cell{Compartments: []Compartment{{Name: "soma", Kind: AdEx, C: 1e-15, GL: 5e-9, EL: -0.07,
		A: 2e-9, TauW: 0.08, DeltaT: 0.1e-3, VT: -0.08}}}, Constants: DefaultConstants(),
		Protocol: Protocol{Method: ExponentialEuler, Dt: 0.025e-3, Duration: 0.05, SpikeAt: 0.005, Hold: true, Holding: -0.01}}
	ss, err := Steady(overflow.Cell, true, 0, -0.01)
	if err != nil {
		t.Skipf("no steady state to test: %v", err)
	}
	if r := growthRate(overflow.Cell, ss); !math.IsInf(r, 1) {
		t.Errorf("overflowing linearisation: growth rate %g, want +Inf", r)
	}
	if err := checkFixedPoint(overflow.Cell, ss, &overflow.Protocol); err == nil || !strings.Contains(err.Error(), "it runs away at once") {
		t.Errorf("overflowing linearisation: %v", err)
	}
	negA := &Cell{Compartments: []Compartment{{Name: "soma", Kind: AdaptiveIF, C: 100e-12, GL: 5e-9, EL: -0.07, A: -50e-9, TauW: 0.1}}}
	ss, err = Steady(negA, false, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	err = checkFixedPoint(negA, ss, &Protocol{})
	if err == nil || !strings.Contains(err.Error(), "soma's adaptation a is negative (-50 nS)") || !strings.HasSuffix(err.Error(), "check a") {
		t.Errorf("negative a: %v", err)
	}
	// Both causes, in two compartments, the negative a first: both named,
	// both cures.
	both := &Cell{Compartments: []Compartment{
		{Name: "dend", Kind: AdaptiveIF, C: 50e-12, GL: 3e-9, EL: -0.07, A: -1e-9, TauW: 0.1},
		{Name: "soma", Kind: AdEx, C: 100e-12, GL: 5e-9, EL: -0.07, A: 2e-9, TauW: 0.08, DeltaT: 2e-3, VT: -0.05}},
		Couplings: []Coupling{{A: 0, B: 1, G: 5e-9}}}
	p := &Protocol{Hold: true, Record: 1, Holding: -0.045}
	if ss, err = Steady(both, true, 1, -0.045); err != nil {
		t.Fatal(err)
	}
	err = checkFixedPoint(both, ss, p)
	if err == nil || !strings.Contains(err.Error(), "dend's adaptation a is negative") || !strings.Contains(err.Error(), "AdEx soma at -45 mV, above its VT -50 mV") ||
		!strings.HasSuffix(err.Error(), "hold lower, or check VT; check a") {
		t.Errorf("two causes: %v", err)
	}
}

// TestSteadyAdExRestLimit: an uncoupled AdEx compartment has a resting
// state exactly while v_rest <= VT + DeltaT (ln(1 + a/gL) - 1), where its
// exponential current touches the leak and adaptation line; just above,
// Steady fails and names v_rest and that limit.
func TestSteadyAdExRestLimit(t *testing.T) {
	for _, a := range []float64{0, 2e-9, 20e-9} {
		gl, dT, vt := 5e-9, 2e-3, -0.05
		top := vt + dT*(math.Log1p(a/gl)-1)
		cell := func(el float64) *Cell {
			return &Cell{Compartments: []Compartment{{Name: "soma", Kind: AdEx, C: 100e-12, GL: gl, EL: el, A: a, TauW: 0.08, DeltaT: dT, VT: vt}}}
		}
		if _, err := Steady(cell(top-0.2e-3), false, 0, 0); err != nil {
			t.Errorf("a=%g: v_rest 0.2 mV below the limit: %v", a, err)
		}
		_, err := Steady(cell(top+0.2e-3), false, 0, 0)
		want := fmt.Sprintf("above %.4g mV, the highest at which it has a resting state", top/1e-3)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "lower v_rest, or raise Vth") {
			t.Errorf("a=%g: v_rest 0.2 mV above the limit: %v, want %q", a, err, want)
		}
	}
}

// TestSteadyAdaptationCancelsLeak: an adaptation a of exactly -gL leaves
// no resting state whatever v_rest (the adaptation current cancels the
// leak); the error names a (it blamed v_rest against a limit of -Inf mV,
// or conductances orders of magnitude apart). Below -gL the rest exists,
// unstable: StartState refuses it for the negative a.
func TestSteadyAdaptationCancelsLeak(t *testing.T) {
	for _, kind := range []Kind{AdaptiveIF, AdEx} {
		cell := func(a float64) *Cell {
			return &Cell{Compartments: []Compartment{{Name: "soma", Kind: kind, C: 100e-12, GL: 10e-9, EL: -0.07, A: a, TauW: 0.08, DeltaT: 2e-3, VT: -0.05}}}
		}
		_, err := Steady(cell(-10e-9), false, 0, 0)
		if err == nil || !strings.Contains(err.Error(), "soma's adaptation a (-10 nS) cancels its leak gL (10 nS)") || !strings.HasSuffix(err.Error(), "a must be above -gL for a resting state; check a") {
			t.Errorf("%v, a = -gL: %v", kind, err)
		}
		_, err = StartState(cell(-20e-9), &Protocol{})
		if err == nil || !strings.Contains(err.Error(), "adaptation a is negative (-20 nS)") {
			t.Errorf("%v, a = -2 gL: %v", kind, err)
		}
	}
}

// TestGatingBeyondStabilityLimit: a receptor time constant at or below
// the method's stability limit on the negative real axis (Euler dt/2, RK4
// dt/2.7853, the real root of 1 + z/2 + z^2/6 + z^3/24) fails its point
// with ErrUnstable naming the time constant; above it runs, and
// exponential Euler has no limit. A stable lane of the same
// batch is untouched.
func TestGatingBeyondStabilityLimit(t *testing.T) {
	// The RK4 limit from its cubic by Newton's method.
	z := -2.8
	for range 50 {
		f := 24 + z*(12+z*(4+z))
		df := 12 + z*(8+3*z)
		z -= f / df
	}
	rk4 := -z
	if math.Abs(rk4-2.785293563) > 1e-8 {
		t.Fatalf("RK4 limit %v", rk4)
	}
	const dt = 1e-4
	for _, c := range []struct {
		m        Method
		tau      float64
		rise     bool // the time constant is t_rise (t_decay 2 ms)
		unstable bool
	}{
		{Euler, dt / 2, false, true}, // undamped: 1, -1, 1, ...
		{Euler, dt / 2 * (1 - 1e-9), false, true},
		{Euler, dt / 2 * (1 - 1e-9), true, true},
		{Euler, dt / 2 * (1 + 1e-9), true, false},
		{RK4, dt / rk4 * (1 + 1e-6), false, false},
		{RK4, dt / rk4 * (1 - 1e-6), false, true},
		{RK4, dt / rk4 * (1 - 1e-6), true, true},
		{ExponentialEuler, dt / 100, false, false},
		{ExponentialEuler, dt / 100, true, false},
	} {
		s, _ := seed()
		s.Protocol.Method, s.Protocol.Dt = c.m, dt
		r := Receptor{Channel: AMPA, G: 1e-9, TauDecay: c.tau}
		name := "t_decay"
		if c.rise {
			r.TauDecay, r.TauRise, name = 2e-3, c.tau, "t_rise"
		}
		good := []Receptor{{Channel: AMPA, G: 1e-9, TauDecay: 2e-3, TauRise: r.TauRise}}
		if c.rise {
			good[0].TauRise = 0.5e-3
		}
		sm, err := New(s, 2)
		if err != nil {
			t.Fatal(err)
		}
		out, errs := make([]Result, 2), make([]error, 2)
		if err := sm.RunEach(context.Background(), [][]Receptor{good, {r}}, nil, out, errs); err != nil {
			t.Fatal(err)
		}
		got := errs[1] != nil && errors.Is(errs[1], ErrUnstable) && strings.Contains(errs[1].Error(), name)
		if got != c.unstable || (errs[1] != nil && !c.unstable) {
			t.Errorf("%v %s %g s: error %v, want unstable %v", c.m, name, c.tau, errs[1], c.unstable)
		}
		alone, err := Simulate(s, good, nil)
		if err != nil || errs[0] != nil || math.Float64bits(alone.PSP) != math.Float64bits(out[0].PSP) {
			t.Errorf("%v: stable lane %v (%v), alone %v (%v)", c.m, out[0].PSP, errs[0], alone, err)
		}
	}
}

// TestGatingLimitIsWhereRunsDiverge: run without the check, a receptor
// time constant just inside the limit CheckGating draws (0.1% either
// side) gives a finite PSP over 2 s, and one just beyond it runs away:
// the limit is the integrator's, not a guess.
func TestGatingLimitIsWhereRunsDiverge(t *testing.T) {
	gatingChecked = false
	defer func() { gatingChecked = true }()
	const dt = 1e-4
	for _, m := range []Method{Euler, RK4} {
		lim := 2.0
		if m == RK4 {
			lim = 2.7852935634052813
		}
		for _, rise := range []bool{false, true} {
			for _, f := range []float64{1 - 1e-3, 1 + 1e-3} {
				tau := dt / lim * f
				s, _ := seed()
				s.Protocol.Method, s.Protocol.Dt, s.Protocol.Duration = m, dt, 2
				r := Receptor{Channel: AMPA, G: 1e-9, TauDecay: tau}
				if rise {
					r.TauDecay, r.TauRise = 2e-3, tau
				}
				refused := CheckGating(s.Protocol, []Receptor{r}) != nil
				_, err := Simulate(s, []Receptor{r}, &Options{RecordOnly: true})
				if diverged := errors.Is(err, ErrUnstable); diverged != refused || refused != (f < 1) {
					t.Errorf("%v rise %v tau = limit x %g: refused %v, run error %v", m, rise, f, refused, err)
				}
			}
		}
	}
}

// TestPeakG checks the peak conductance against the gating equations
// themselves, integrated by RK4 in 1e-7 s steps: x' = -x/t_decay + s/ms,
// s' = -s/t_rise, s(0) = 1.
func TestPeakG(t *testing.T) {
	peakX := func(tRise, tDecay float64) float64 {
		const h, ms = 1e-7, 1e-3
		f := func(x, s float64) (float64, float64) { return -x/tDecay + s/ms, -s / tRise }
		x, s, best := 0.0, 1.0, 0.0
		for k := 0; k < int(10*tDecay/h); k++ {
			k1x, k1s := f(x, s)
			k2x, k2s := f(x+h/2*k1x, s+h/2*k1s)
			k3x, k3s := f(x+h/2*k2x, s+h/2*k2s)
			k4x, k4s := f(x+h*k3x, s+h*k3s)
			x += h / 6 * (k1x + 2*k2x + 2*k3x + k4x)
			s += h / 6 * (k1s + 2*k2s + 2*k3s + k4s)
			best = math.Max(best, x)
		}
		return best
	}
	for _, tc := range []struct {
		r    Receptor
		want float64
	}{
		{Receptor{G: 2e-9, TauDecay: 2e-3}, 2e-9}, // instant rise: g
		{Receptor{G: 2e-9, TauRise: 0.1e-3, TauDecay: 2e-3}, 2e-9 * peakX(0.1e-3, 2e-3)},
		{Receptor{G: 2e-9, TauRise: 5e-3, TauDecay: 60e-3}, 2e-9 * peakX(5e-3, 60e-3)},
		{Receptor{G: 2e-9, TauRise: 3e-3, TauDecay: 3e-3}, 2e-9 * peakX(3e-3, 3e-3)},
		{Receptor{G: 2e-9, TauRise: 0.1e-3, TauDecay: 2e-3, ScaleG: true}, 2e-9}, // scale_g: g is the peak
	} {
		if got := tc.r.PeakG(); math.Abs(got/tc.want-1) > 1e-6 {
			t.Errorf("%+v: PeakG %g, want %g", tc.r, got, tc.want)
		}
	}
}

// TestConstantsUsed: constants that Used leaves out change no PSP of the
// receptors given (every one is perturbed), and each that it keeps
// changes it: a fit holds across an edit of the first kind only.
func TestConstantsUsed(t *testing.T) {
	base := DefaultConstants()
	perturb := []func(*Constants){
		func(c *Constants) { c.EAMPA = 0.01 },
		func(c *Constants) { c.ENMDA = 0.01 },
		func(c *Constants) { c.EGABA = -0.07 },
		func(c *Constants) { c.MgCon = 2 },
		func(c *Constants) { c.AlphaNMDA = 0.07 },
		func(c *Constants) { c.BetaNMDA = 3 },
		func(c *Constants) { c.GammaNMDA = 1 },
	}
	psp := func(c Constants, rs []Receptor) float64 {
		s := &Setup{Cell: &Cell{Compartments: []Compartment{{Name: "soma", C: 1e-10, GL: 1e-8, EL: -0.065}}}, Constants: c,
			Protocol: Protocol{Method: Euler, Dt: 2.5e-5, Duration: 0.05, SpikeAt: 0.005}}
		r, err := Simulate(s, rs, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r.PSP
	}
	for _, rs := range [][]Receptor{
		{{Channel: AMPA, G: 1e-9, TauDecay: 2e-3}},
		{{Channel: NMDA, G: 1e-9, TauRise: 2e-3, TauDecay: 50e-3}},
		{{Channel: GABA, G: 1e-9, TauDecay: 8e-3}},
		{{Channel: AMPA, G: 1e-9, TauDecay: 2e-3}, {Channel: NMDA, G: 1e-9, TauDecay: 50e-3}},
	} {
		want := psp(base, rs)
		for k, f := range perturb {
			c := base
			f(&c)
			used := c.Used(rs) != base.Used(rs)
			if got := psp(c, rs); (got != want) != used {
				t.Errorf("%v, constant %d changed (used: %v): PSP %g, was %g", rs[0].Channel, k, used, got, want)
			}
		}
	}
}
