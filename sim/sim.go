package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
)

// Options selects what a run keeps beyond the PSP metrics.
// A nil *Options means the zero value: metrics only.
type Options struct {
	// Trace keeps V of every compartment at every sample.
	Trace bool
	// RecordOnly skips the per-compartment peaks (Result.Peak stays nil),
	// which sweeps and fits do not need.
	RecordOnly bool
	// Full runs every step even when the metrics are already settled
	// (see earlystop.go); the results are the same, only slower.
	Full bool
}

// DSpikeEvent is one dSpike: the mechanism fired after the update of Step.
type DSpikeEvent struct {
	Compartment int
	Mechanism   string
	Step        int
}

// Result is one simulated PSP. Voltages are in V, times in s.
type Result struct {
	SpikeStep int // baseline sample k0
	Samples   int // number of samples

	Baseline float64 // V_record at k0
	PSP      float64 // signed extremum of V_record - Baseline after k0
	PeakStep int     // first sample of the largest |V_record - Baseline|

	TimeToPeak float64 // (PeakStep - SpikeStep) dt
	Rise1090   float64 // 10-90 % rise time; valid when HasRise
	HasRise    bool
	HalfWidth  float64 // valid when HasHalfWidth
	// HasHalfWidth is false when V never falls back below half amplitude.
	HasHalfWidth bool

	// Per compartment: the baseline and the signed extremum after k0
	// (nil with Options.RecordOnly).
	Baselines []float64
	Peaks     []float64

	DSpikeFired  bool
	DSpikeEvents []DSpikeEvent

	// Trace[c][k] is V of compartment c at sample k (with Options.Trace).
	Trace [][]float64
}

// PeakAtEnd says whether the peak is the window's last sample: the
// response was still growing when the simulation ended, so PSP is where
// the window cut it, not its peak (Dendrify's measure all the same).
func (r *Result) PeakAtEnd() bool { return r.PSP != 0 && r.PeakStep == r.Samples-1 }

// Simulator runs the PSP protocol of one Setup for batches of receptor
// parameter sets. It keeps its buffers between runs, so a fit or a sweep
// worker reuses one Simulator and allocates nothing per step or per run.
// A Simulator is not safe for concurrent use; make one per goroutine.
type Simulator struct {
	vec    vecPlan // fusedEuler's vector loop for the current run
	vecs   vecPlan // the last one prepared, reused while its key holds
	setup  Setup
	steady SteadyState
	e      *engine
	nSteps int
	k0     int
	skip   bool // the pre-spike samples are the steady state

	rec []float64 // V_record samples k0..n-1, [(k-k0)*L + l]
	// filled is the number of samples in rec (from k0): n - k0, or less
	// when the run stopped early (earlystop.go).
	filled  int
	scan    scanState
	scanned int
	base    []float64 // per compartment V at k0, [c*L+l], when peaks are kept
	vmax    []float64 // per compartment running max after k0, [c*L+l]
	vmin    []float64
	lanes   int
}

// New compiles s for batches of up to lanes parameter points and solves its
// steady state.
func New(s *Setup, lanes int) (*Simulator, error) {
	if s == nil || s.Cell == nil {
		return nil, errors.New("sim: nil setup or cell")
	}
	if lanes < 1 {
		lanes = 1
	}
	p := &s.Protocol
	if !(p.Dt > 0) || math.IsInf(p.Dt, 0) {
		return nil, fmt.Errorf("sim: dt must be positive and finite, got %g", p.Dt)
	}
	if !(p.Duration >= p.Dt) || math.IsInf(p.Duration, 0) {
		return nil, fmt.Errorf("sim: duration %g s must be at least dt %g s", p.Duration, p.Dt)
	}
	// A step count beyond an int (duration/dt of 1e300) would convert to
	// garbage; far fewer steps are refused as memory below.
	if p.Duration/p.Dt > maxRunSteps {
		return nil, fmt.Errorf("sim: duration/dt is %.4g steps, more than %.4g", p.Duration/p.Dt, float64(maxRunSteps))
	}
	n, k0 := p.Steps(), p.SpikeStep()
	if k0 < 0 || k0 >= n-1 {
		return nil, fmt.Errorf("sim: spike at %g s is outside the simulated %g s", p.SpikeAt, p.Duration)
	}
	if err := validateCell(s.Cell); err != nil {
		return nil, err
	}
	if err := checkStability(s.Cell, p); err != nil {
		return nil, err
	}
	ss, err := StartState(s.Cell, p)
	if err != nil {
		return nil, err
	}
	e, err := newEngine(s, lanes)
	if err != nil {
		return nil, err
	}
	if p.Hold {
		e.iext[p.Record] = ss.IHold
	}
	sim := &Simulator{setup: *s, steady: ss, e: e, nSteps: n, k0: k0, skip: true, lanes: lanes}
	// A dendrite resting at or above a dSpike threshold fires before the
	// spike; only then must the pre-spike steps be simulated.
	for _, m := range e.mechs {
		if ss.V[m.comp] >= m.vth {
			sim.skip = false
		}
	}
	cn := len(s.Cell.Compartments)
	if err := checkSamples(n-k0, lanes, "lanes"); err != nil {
		return nil, err
	}
	sim.rec = make([]float64, (n-k0)*lanes)
	sim.scan = newScanState(lanes)
	sim.base = make([]float64, cn*lanes)
	sim.vmax = make([]float64, cn*lanes)
	sim.vmin = make([]float64, cn*lanes)
	return sim, nil
}

// maxSamples bounds the samples a Simulator keeps (2 GiB of float64): the
// run's samples are allocated up front, and a protocol of a billion steps
// would otherwise end the process with an out-of-memory crash instead of
// an error.
const maxSamples = 1 << 28

// maxRunSteps bounds a run's steps (the spec allows 10^9): their count must
// fit an int, even on 32-bit machines.
const maxRunSteps = 1<<31 - 1

// checkSamples refuses to keep steps samples for each of n lanes or
// compartments when that is more than maxSamples.
func checkSamples(steps, n int, what string) error {
	if n == 1 {
		what = strings.TrimSuffix(what, "s")
	}
	if steps > maxSamples/n {
		return fmt.Errorf("sim: %d steps for %d %s would keep %.3g GB of samples, more than the %d GB allowed: shorten the duration or enlarge dt",
			steps, n, what, 8*float64(steps)*float64(n)/1e9, 8*maxSamples>>30)
	}
	return nil
}

func validateCell(c *Cell) error {
	n := len(c.Compartments)
	if n == 0 {
		return errors.New("sim: cell has no compartments")
	}
	for _, cp := range c.Compartments {
		if !(cp.C > 0) || !(cp.GL > 0) || math.IsInf(cp.C, 0) || math.IsInf(cp.GL, 0) || math.IsNaN(cp.EL) {
			return fmt.Errorf("sim: compartment %s: capacitance and leak must be positive and finite", cp.Name)
		}
		if cp.Kind.Adaptive() && !(cp.TauW > 0) {
			return fmt.Errorf("sim: compartment %s: tauw must be positive", cp.Name)
		}
		if cp.Kind == AdEx && !(cp.DeltaT > 0) {
			return fmt.Errorf("sim: compartment %s: DeltaT must be positive", cp.Name)
		}
	}
	for _, cu := range c.Couplings {
		if cu.A < 0 || cu.A >= n || cu.B < 0 || cu.B >= n || cu.A == cu.B {
			return fmt.Errorf("sim: bad coupling %d-%d", cu.A, cu.B)
		}
	}
	return nil
}

// Steady returns the steady state the protocol starts from.
func (s *Simulator) Steady() SteadyState { return s.steady }

// Setup returns the setup the simulator was built for.
func (s *Simulator) Setup() *Setup { return &s.setup }

// Lanes returns the largest batch Run accepts.
func (s *Simulator) Lanes() int { return s.lanes }

// Simulate runs one PSP: a convenience for New(s, 1) and Run.
func Simulate(s *Setup, rs []Receptor, opt *Options) (*Result, error) {
	sm, err := New(s, 1)
	if err != nil {
		return nil, err
	}
	out := make([]Result, 1)
	if err := sm.Run(context.Background(), [][]Receptor{rs}, opt, out); err != nil {
		return nil, err
	}
	return &out[0], nil
}

// Run simulates one PSP per element of points, all advanced together, and
// writes the results to out (len(out) >= len(points)). Every point must have
// the same receptor channels and the same instant/rise shape; only the
// conductances and time constants may differ. Each lane's numbers are
// bit-identical to a run of that point alone. A lane that goes non-finite
// makes Run return an error wrapping ErrUnstable; use RunEach to get
// per-point errors. The Baselines and Peaks slices found in out are
// reused.
func (s *Simulator) Run(ctx context.Context, points [][]Receptor, opt *Options, out []Result) error {
	errs := make([]error, len(points))
	if err := s.RunEach(ctx, points, opt, out, errs); err != nil {
		return err
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// RunEach is Run with one error per point in errs (nil for a good point);
// its own error is for the batch as a whole (bad input, cancellation).
// Like Run, it reuses the Baselines and Peaks slices it finds in out:
// copy them to keep them past the next run into the same out.
func (s *Simulator) RunEach(ctx context.Context, points [][]Receptor, opt *Options, out []Result, errs []error) error {
	if opt == nil {
		opt = &Options{}
	}
	L := len(points)
	if L == 0 {
		return nil
	}
	if L > s.lanes {
		return fmt.Errorf("sim: batch of %d points exceeds the simulator's %d lanes", L, s.lanes)
	}
	if len(out) < L || len(errs) < L {
		return errors.New("sim: result slice shorter than the batch")
	}
	e := s.e
	e.L = L // a final batch may be smaller than the simulator's lanes
	if err := s.load(points); err != nil {
		return err
	}
	cn := len(s.setup.Cell.Compartments)
	rec := s.setup.Protocol.Record
	n, k0 := s.nSteps, s.k0
	var trace [][]float64
	if opt.Trace {
		if L != 1 {
			return errors.New("sim: traces are only kept for a batch of one point")
		}
		if err := checkSamples(n, cn, "compartments"); err != nil {
			return err
		}
		trace = make([][]float64, cn)
		for c := range trace {
			trace[c] = make([]float64, n)
		}
	}
	for i := range out[:L] {
		// The per-compartment slices of a previous result are reused: a
		// sweep worker runs millions of batches into one out.
		var bs, ps []float64
		if !opt.RecordOnly {
			bs, ps = out[i].Baselines[:0], out[i].Peaks[:0]
		}
		out[i] = Result{SpikeStep: k0, Samples: n, Baselines: bs, Peaks: ps}
		errs[i] = nil
	}
	start := 0
	if s.skip {
		start = k0
		for c := range trace {
			for k := 0; k < k0; k++ {
				trace[c][k] = s.steady.V[c]
			}
		}
	}
	y := e.y
	trackAll := !opt.RecordOnly
	s.filled = n - k0
	s.scanned = 0
	s.scan.reset(L)
	early := s.earlyStopOK(opt)
	for c := 0; c < cn; c++ {
		for l := 0; l < L; l++ {
			s.vmax[c*L+l] = math.Inf(-1)
			s.vmin[c*L+l] = math.Inf(1)
		}
	}
	baselines := s.base[:0]
	if trackAll {
		baselines = s.base[:cn*L]
	}
	var events [][]DSpikeEvent
	var evPtrs []*[]DSpikeEvent
	if len(e.mechs) > 0 {
		events = make([][]DSpikeEvent, L)
		for l := range events {
			evPtrs = append(evPtrs, &events[l])
		}
	}
	fused := trace == nil && e.canFuse()
	s.vec = vecPlan{}
	if fused {
		s.prepareVec(trackAll)
	}
	// With every lane in the vector loop, the steps from one check of the
	// early stop to the next are one call that keeps the lanes in
	// registers and stores their samples itself.
	blocked := s.vec.run != nil && s.vec.n == L
	if L == 1 && e.method == Euler && e.linear() && len(e.recs) <= maxLinearReceptors && !trackAll && trace == nil {
		if err := s.runLinearEuler(ctx, start, early); err != nil {
			return err
		}
	} else {
		for k := start; k < n; k++ {
			if (k-k0)&1023 == 0 && ctx != nil && ctx.Err() != nil {
				return ctx.Err()
			}
			// (1) monitor
			if k >= k0 {
				copy(s.rec[(k-k0)*L:(k-k0)*L+L], y[rec*L:rec*L+L])
				if trackAll {
					if k == k0 {
						copy(baselines, y[:cn*L])
					} else if !fused { // fusedEuler tracks them
						// The record compartment's extremes are its
						// samples' (canStop and metrics scan those).
						trackExtremes(y[:rec*L], s.vmax[:rec*L], s.vmin[:rec*L])
						trackExtremes(y[(rec+1)*L:cn*L], s.vmax[(rec+1)*L:cn*L], s.vmin[(rec+1)*L:cn*L])
					}
				}
			}
			for c := range trace {
				trace[c][k] = y[c]
			}
			if early && k > k0 && (k-k0)%stopEvery == 0 && s.canStop(k-k0, trackAll, baselines) {
				s.filled = k - k0 + 1
				break
			}
			// (2) state update
			if blocked && k > k0 {
				// Steps k to the next check; the first stores sample
				// k - k0 again, the same bits.
				j := k - k0
				m := min(stopEvery-j%stopEvery, n-k)
				s.vec.run(m, s.rec[j*L:])
				k += m - 1
				continue // no dSpikes in a fused model, and k > k0
			}
			if fused && k > k0 {
				s.fusedEuler(trackAll)
			} else {
				e.step(k)
			}
			// (4) dSpike thresholds on the new V
			if len(e.mechs) > 0 {
				s.checkDSpikes(k, evPtrs)
			}
			// (5) the presynaptic spike
			if k == k0 {
				for _, sh := range e.recs {
					for l := 0; l < L; l++ {
						y[sh.s*L+l]++
					}
				}
			}
		}
	}
	s.scanTo(s.filled - 1)
	s.findRise()
	for l := 0; l < L; l++ {
		r := &out[l]
		if events != nil {
			r.DSpikeEvents = events[l]
			r.DSpikeFired = len(events[l]) > 0
		}
		var err error
		if gatingChecked {
			err = CheckGating(s.setup.Protocol, points[l])
		}
		if err == nil {
			err = s.metrics(l, L, r)
		}
		if err != nil {
			errs[l] = err
			r.Baselines, r.Peaks = nil, nil
			continue
		}
		if trackAll {
			r.Baselines = append(r.Baselines[:0], make([]float64, cn)...)
			r.Peaks = append(r.Peaks[:0], make([]float64, cn)...)
			for c := 0; c < cn; c++ {
				b := baselines[c*L+l]
				hi, lo := s.vmax[c*L+l]-b, s.vmin[c*L+l]-b
				r.Baselines[c] = b
				if -lo > hi {
					r.Peaks[c] = lo
				} else {
					r.Peaks[c] = hi
				}
				if c != rec && !(math.Abs(s.vmax[c*L+l]) <= maxVoltage && math.Abs(s.vmin[c*L+l]) <= maxVoltage) {
					errs[l] = fmt.Errorf("sim: compartment %s: %w", s.setup.Cell.Compartments[c].Name, ErrUnstable)
				}
			}
			// The record compartment's peak is the PSP itself.
			r.Peaks[rec] = r.PSP
		}
		r.Trace = trace
	}
	return nil
}

// load resets the state to the steady state and sets the receptor
// parameters of every lane.
func (s *Simulator) load(points [][]Receptor) error {
	e := s.e
	L := e.L
	first := points[0]
	if len(first) == 0 {
		return errors.New("sim: a pathway needs at least one receptor")
	}
	for i, rs := range points {
		if len(rs) != len(first) {
			return fmt.Errorf("sim: point %d has %d receptors, want %d", i, len(rs), len(first))
		}
		for j, r := range rs {
			if r.Channel != first[j].Channel || (r.TauRise > 0) != (first[j].TauRise > 0) {
				return fmt.Errorf("sim: point %d receptor %d differs in channel or rise shape from the batch", i, j)
			}
			if !(r.TauDecay > 0) || r.TauRise < 0 || math.IsInf(r.TauDecay, 0) || math.IsInf(r.TauRise, 0) ||
				math.IsNaN(r.G) || math.IsInf(r.G, 0) || r.G < 0 {
				return fmt.Errorf("sim: point %d receptor %d: conductance must be finite and non-negative and time constants positive", i, j)
			}
			if r.ScaleG && r.TauRise == r.TauDecay && r.TauRise > 0 {
				return fmt.Errorf("sim: point %d receptor %d: scale_g needs t_rise different from t_decay", i, j)
			}
		}
	}
	e.setShape(first)
	for r := range first {
		for l, rs := range points {
			i := r*L + l
			e.geff[i] = rs[r].EffectiveG()
			e.invTd[i] = 1 / rs[r].TauDecay
			if rs[r].TauRise > 0 {
				e.invTr[i] = 1 / rs[r].TauRise
			} else {
				e.invTr[i] = 0
			}
		}
	}
	y := e.y
	for i := range y {
		y[i] = 0
	}
	for c := range s.setup.Cell.Compartments {
		for l := 0; l < L; l++ {
			y[c*L+l] = s.steady.V[c]
			if ws := e.wSlot[c]; ws >= 0 {
				y[ws*L+l] = s.steady.W[c]
			}
		}
	}
	for i := range e.spiketime[:len(e.mechs)*L] {
		e.spiketime[i] = 0
		e.gate[i] = false
	}
	return nil
}

// checkDSpikes tests every dSpike condition on the V after the update of
// step k (Brian's thresholder runs after the state updater) and runs the
// actions: spiketime = k, gate = 1.
func (s *Simulator) checkDSpikes(k int, events []*[]DSpikeEvent) {
	e := s.e
	L := e.L
	y := e.y
	for m := range e.mechs {
		d := &e.mechs[m]
		for l := 0; l < L; l++ {
			i := m*L + l
			ref := 0
			if e.gate[i] {
				ref = d.nRef
			}
			if y[d.comp*L+l] >= d.vth && k >= e.spiketime[i]+ref {
				e.spiketime[i] = k
				e.gate[i] = true
				*events[l] = append(*events[l], DSpikeEvent{Compartment: d.comp, Mechanism: d.name, Step: k})
			}
		}
	}
}

// trackExtremes folds the voltages v into the running maxima and minima.
// Plain comparisons, not max and min: those order NaN and signed zeros
// at the cost of branches, and this loop runs for every compartment of
// every lane at every step. A NaN is skipped here, and still fails the
// lane: it reaches the final state, which metrics checks.
func trackExtremes(v, hi, lo []float64) {
	hi, lo = hi[:len(v)], lo[:len(v)]
	for i, x := range v {
		if x > hi[i] {
			hi[i] = x
		}
		if x < lo[i] {
			lo[i] = x
		}
	}
}
