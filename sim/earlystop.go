package sim

import "math"

// Early stopping: after the PSP has peaked and fallen below half its
// amplitude, the rest of a run can change a metric only if some later
// sample moves further from rest than the peak did. For the linear models
// (passive membranes, AMPA/GABA receptors, no dSpikes) integrated with
// Euler this can be ruled out exactly: with u = V - V_rest, one step is
// u' = A u + b where, as long as dt is small enough that A has no negative
// entry, A is non-negative with row sums <= 1, so
//
//	max_c |u_c| at any later step <= max_c |u_c| now + sum over later steps of |b|,
//
// and |b| is the synaptic drive times the driving force at rest, whose
// future sum is a geometric series in the synaptic variables. When that
// bound (plus a margin far above rounding) is below the peak of the record
// compartment (and of every compartment, when their peaks are kept), no
// later sample can be a new extremum, the rise and half-width crossings are
// already found, and the run stops: the metrics are those of the full run.
// Sweeps and fits spend most of their time in exactly that tail.

// stopMargin is far above the rounding of a trajectory (~1e-14 V) and far
// below any PSP that matters.
const stopMargin = 1e-12 // V

// stopEvery is how often (in steps) the bound is checked.
const stopEvery = 16

// scanState is the online view of every lane's record trace, a slice a
// field so that the scan runs across lanes (scanRows).
type scanState struct {
	best  []float64 // largest |V - baseline| so far
	kbest []int64   // its sample (from k0)
	// neg is the sign bit of V - baseline at kbest (1<<63 below
	// baseline): it orients the half-amplitude crossing.
	neg []uint64
	// kdown is the first sample after kbest whose deviation, oriented
	// like the peak's, is below best/2 (the half-width's falling
	// crossing); 0 if none yet.
	kdown []int64
	// bad is the first sample (from k0) beyond maxVoltage or not finite;
	// 0 if none.
	bad []int64
	// rise holds, once the scan is complete (findRise), the first sample
	// in (0, kbest] whose oriented deviation reaches 10, 50 and 90 % of
	// best; 0 for a level not reached.
	rise [3][]int64
}

func newScanState(lanes int) scanState {
	i := func() []int64 { return make([]int64, lanes) }
	return scanState{best: make([]float64, lanes), kbest: i(), neg: make([]uint64, lanes), kdown: i(), bad: i(),
		rise: [3][]int64{i(), i(), i()}}
}

// reset clears lanes [0, L).
func (st *scanState) reset(L int) {
	clear(st.best[:L])
	clear(st.kbest[:L])
	clear(st.neg[:L])
	clear(st.kdown[:L])
	clear(st.bad[:L])
}

// scanRowsGo folds samples from..to (rows of rec, L lanes a row) of lanes
// [lo, L) into st; row 0 holds each lane's baseline. What it keeps is
// exactly what metrics needs of the samples after the rise: the peak and
// the half-width crossing are found here once, across lanes, instead of
// in a strided search per lane afterwards.
func scanRowsGo(rec []float64, L, lo, from, to int, st *scanState) {
	for l := lo; l < L; l++ {
		b := rec[l]
		// The lane's state in locals, so that the loop keeps it in
		// registers (stores through st would be reloaded every sample).
		best, kbest, neg, kdown, bad := st.best[l], st.kbest[l], st.neg[l], st.kdown[l], st.bad[l]
		for i := from; i <= to; i++ {
			v := rec[i*L+l]
			if bad == 0 && !(math.Abs(v) <= maxVoltage) {
				bad = int64(i)
			}
			u := v - b
			d := math.Abs(u)
			if d > best {
				best, kbest, kdown = d, int64(i), 0
				neg = math.Float64bits(u) & signBit
			} else if kdown == 0 && math.Float64frombits(math.Float64bits(u)^neg) < 0.5*best {
				kdown = int64(i)
			}
		}
		st.best[l], st.kbest[l], st.neg[l], st.kdown[l], st.bad[l] = best, kbest, neg, kdown, bad
	}
}

// riseLevels are the fractions of the amplitude whose first crossings
// give the rise time (10 and 90 %) and the half-width's rising side.
var riseLevels = [3]float64{0.1, 0.5, 0.9}

// riseRowsGo fills st.rise for lanes [lo, L) from their finished scan.
// The crossings of higher levels come no earlier, so one pass finds the
// three.
func riseRowsGo(rec []float64, L, lo int, st *scanState) {
	for l := lo; l < L; l++ {
		b, kp, best, neg := rec[l], int(st.kbest[l]), st.best[l], st.neg[l]
		levels := [3]float64{riseLevels[0] * best, riseLevels[1] * best, riseLevels[2] * best}
		var at [3]int64
		next := 0
		for j := 1; j <= kp && next < 3; j++ {
			u := math.Float64frombits(math.Float64bits(rec[j*L+l]-b) ^ neg)
			for next < 3 && u >= levels[next] {
				at[next] = int64(j)
				next++
			}
		}
		for k := range at {
			st.rise[k][l] = at[k]
		}
	}
}

// findRise fills s.scan.rise for every lane, after the scan of every
// sample: across lanes, row by row, where the CPU has vectors.
func (s *Simulator) findRise() {
	L := s.e.L
	n := riseRowsVec(s.rec, L, &s.scan)
	riseRowsGo(s.rec, L, n, &s.scan)
}

// signBit is a float64's sign bit: flipping it negates exactly, as
// multiplying by -1 does.
const signBit = 1 << 63

// scanTo folds every sample not scanned yet, up to j, into s.scan.
func (s *Simulator) scanTo(j int) {
	if from := s.scanned + 1; from <= j {
		L := s.e.L
		n := scanRowsVec(s.rec, L, from, j, &s.scan)
		scanRowsGo(s.rec, L, n, from, j, &s.scan)
		s.scanned = j
	}
}

// earlyStopOK reports whether the loaded model admits the bound.
func (s *Simulator) earlyStopOK(opt *Options) bool {
	return s.e.method == Euler && s.e.linear() && !opt.Trace && !opt.Full
}

// canStop scans the record samples up to j = k - k0 (the state in e.y is
// sample k) and reports whether every lane may stop.
func (s *Simulator) canStop(j int, trackAll bool, baselines []float64) bool {
	s.scanTo(j)
	st := &s.scan
	all := true
	for l := 0; l < s.e.L && all; l++ {
		all = st.kdown[l] != 0 && s.laneBound(l, trackAll, baselines) < st.best[l]
	}
	return all
}

// laneBound returns an upper bound (plus margin) on |V - V_rest| at every
// later sample of lane l, or +Inf when the bound does not apply yet. With
// trackAll it also requires the bound below every compartment's peak so
// far, returning +Inf otherwise.
func (s *Simulator) laneBound(l int, trackAll bool, baselines []float64) float64 {
	e := s.e
	L := e.L
	y := e.y
	dt := e.dt
	sy := e.syn
	vss := s.steady.V
	m := 0.0
	for c := range e.comps {
		m = math.Max(m, math.Abs(y[c*L+l]-vss[c]))
	}
	// Future drive of each receptor: its sum over all later steps (for
	// the bound) and its largest value (for the sign condition on A).
	future, gdMax := 0.0, 0.0
	for r, sh := range e.recs {
		g := e.geff[r*L+l]
		sv := y[sh.s*L+l]
		ad := dt * e.invTd[r*L+l] // 1 - decay factor per step
		var sum, dmax float64
		if sh.rise {
			x := y[sh.x*L+l]
			ar := dt * e.invTr[r*L+l]
			c := dt * 1e3
			sum = x/ad + c*sv/(ar*ad)
			dmax = x + c*sv/ar
		} else {
			sum, dmax = sv/ad, sv
		}
		if ad >= 1 || (sh.rise && dt*e.invTr[r*L+l] >= 1) {
			return math.Inf(1) // the synaptic variables themselves are unstable
		}
		future += float64(g * math.Abs(sh.e-vss[sy]) * sum)
		gdMax += float64(g * dmax)
	}
	// A must have no negative entry: 1 - dt/C (gL + couplings [+ g d]) >= 0.
	for c := range e.comps {
		gt := e.cGL[c]
		for j := e.nbStart[c]; j < e.nbStart[c+1]; j++ {
			gt += e.nbs[j].g
		}
		if c == sy {
			gt += gdMax
		}
		if e.cDtC[c]*gt > 1 {
			return math.Inf(1)
		}
	}
	bound := m + float64(e.cDtC[sy]*future) + stopMargin
	if trackAll {
		for c := range e.comps {
			if c == s.setup.Protocol.Record {
				continue // its peak is the lane's best, which the caller checks
			}
			i := c*L + l
			b := baselines[i]
			if peak := math.Max(s.vmax[i]-b, b-s.vmin[i]); !(bound < peak) {
				return math.Inf(1)
			}
		}
	}
	return bound
}
