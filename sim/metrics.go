package sim

import (
	"errors"
	"fmt"
	"math"
)

// metrics computes the PSP metrics of lane l from the recorded samples
// k0..n-1 (the reference README's "Metrics": level crossings linearly
// interpolated between samples, the peak the first sample of largest
// magnitude).
func (s *Simulator) metrics(l, L int, r *Result) error {
	dt := s.setup.Protocol.Dt
	rec := s.rec
	b := rec[l]
	if math.IsNaN(b) || math.IsInf(b, 0) {
		return s.unstable("")
	}
	r.Baseline = b
	// Every sample was scanned (scanTo), which noted the first one out of
	// range, so that the error names the same sample however the lane was
	// batched.
	st := &s.scan
	if j := int(st.bad[l]); j > 0 {
		// The steady state held until the spike: the synapse drove it.
		if err := s.crossedVT(l, L, j); err != nil {
			return err
		}
		return fmt.Errorf("%w (it ran away after the spike: a synaptic conductance this large, or a receptor time constant this short, needs a smaller dt)",
			s.unstable(fmt.Sprintf("at %.6g ms: ", float64(s.k0+j)*dt*1e3)))
	}
	kp := int(st.kbest[l])
	// The state after the final update is not sampled, but a blow-up there
	// is still a failed run.
	y := s.e.y
	for i := l; i < len(y); i += L {
		if v := y[i]; math.IsNaN(v) || math.IsInf(v, 0) {
			return s.unstable("")
		}
		if i < len(s.setup.Cell.Compartments)*L && !(math.Abs(y[i]) <= maxVoltage) {
			return s.unstable(fmt.Sprintf("V beyond %g V: ", maxVoltage))
		}
	}
	if kp == 0 {
		// No sample after the spike left the baseline: the peak is the
		// first largest |d_k| for k > k0, so the first of them, with a
		// PSP of 0 and no rise or half width (as when a GABA synapse is
		// held at E_GABA).
		r.PeakStep, r.TimeToPeak, r.PSP = s.k0+1, dt, 0
		return nil
	}
	r.PeakStep = s.k0 + kp
	r.TimeToPeak = float64(kp) * dt
	A := rec[kp*L+l] - b
	r.PSP = A
	sign := 1.0
	if A < 0 {
		sign = -1
	}
	yy := func(j int) float64 { return float64(sign * (rec[j*L+l] - b)) }
	mag := math.Abs(A)
	// The interpolated sample positions (from k0) where y first reaches
	// 10, 50 and 90 % of the amplitude in (0, kp], from the first samples
	// at or above each (findRise); kp for a level never reached.
	var at [3]float64
	for k := range at {
		j := int(st.rise[k][l])
		if j == 0 {
			at[k] = float64(kp)
			continue
		}
		lv := float64(riseLevels[k] * mag)
		yj, yp := yy(j), yy(j-1)
		at[k] = float64(j-1) + (lv-yp)/(yj-yp)
	}
	r.Rise1090 = (at[2] - at[0]) * dt
	r.HasRise = true
	// The scan found the falling crossing: the first sample after the
	// peak below half the amplitude.
	if j := int(st.kdown[l]); j > 0 {
		yj, yp := yy(j), yy(j-1)
		half := float64(riseLevels[1] * mag) // the level of at[1]
		down := float64(j-1) + (yp-half)/(yp-yj)
		r.HalfWidth = (down - at[1]) * dt
		r.HasHalfWidth = true
	}
	return nil
}

// ErrRunaway is wrapped by the error of a run whose recorded AdEx
// compartment crossed its VT and ran away: Dendrify's adex has no reset,
// so the synapse fired the cell, at any dt.
var ErrRunaway = errors.New("an AdEx compartment crossed its VT and ran away")

// crossedVT returns the error of lane l's run that went out of range at
// sample j when its record compartment is an AdEx one that crossed its VT
// before: the run diverged because the synapse fired the cell, not for
// dt. Other compartments are not sampled, so that it cannot tell.
func (s *Simulator) crossedVT(l, L, j int) error {
	p := &s.setup.Protocol
	cp := &s.setup.Cell.Compartments[p.Record]
	if cp.Kind != AdEx {
		return nil
	}
	for k := 0; k < j; k++ {
		if v := s.rec[k*L+l]; v >= cp.VT {
			return fmt.Errorf("sim: %w: %s crossed its VT %.4g mV at %.6g ms (the run diverged at %.6g ms): Dendrify's adex has no reset, so this synapse fires the cell at any dt; a PSP needs a smaller g",
				ErrRunaway, cp.Name, cp.VT/1e-3, float64(s.k0+k)*p.Dt*1e3, float64(s.k0+j)*p.Dt*1e3)
		}
	}
	return nil
}

// unstable is the error of a run that went non-finite or out of range,
// after what (empty, or ending in ": "). An adex compartment that crosses
// its VT runs away at any dt, Dendrify's adex having no reset, so the
// error says so when the cell has one.
func (s *Simulator) unstable(what string) error {
	for _, c := range s.setup.Cell.Compartments {
		if c.Kind == AdEx {
			return fmt.Errorf("sim: %s%w (or an adex compartment crossed its VT: Dendrify's adex has no reset, so it runs away at any dt)", what, ErrUnstable)
		}
	}
	return fmt.Errorf("sim: %s%w", what, ErrUnstable)
}
