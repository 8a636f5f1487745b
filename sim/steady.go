package sim

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/mat"
)

// SteadyState is the fixed point the PSP protocol starts from: every
// synaptic variable 0, V and w at rest, and with holding the constant
// current at the recorded compartment that pins it at the holding voltage.
type SteadyState struct {
	V     []float64 // per compartment, V
	W     []float64 // per compartment, A (0 where not adaptive)
	IHold float64   // A; 0 without holding
}

// Steady solves the steady state of c by Newton's method. With hold, V of
// compartment rec is fixed at vHold and the current injected there is the
// unknown instead. The system is linear except for AdEx's exponential, so
// Newton converges in one step for most cells; iterative refinement then
// removes the rounding left by the elimination.
func Steady(c *Cell, hold bool, rec int, vHold float64) (SteadyState, error) {
	n := len(c.Compartments)
	if n == 0 {
		return SteadyState{}, fmt.Errorf("sim: cell has no compartments")
	}
	if hold && (rec < 0 || rec >= n) {
		return SteadyState{}, fmt.Errorf("sim: holding compartment %d out of range", rec)
	}
	x := make([]float64, n) // V, or I_hold in slot rec
	for i, cp := range c.Compartments {
		x[i] = cp.EL
	}
	if hold {
		x[rec] = 0
	}
	vOf := func(x []float64, i int) float64 {
		if hold && i == rec {
			return vHold
		}
		return x[i]
	}
	residual := func(x, r []float64) {
		for i := range r {
			cp := &c.Compartments[i]
			v := vOf(x, i)
			f := float64(cp.GL * (cp.EL - v))
			if hold && i == rec {
				f += x[rec]
			}
			if cp.Kind.Adaptive() {
				f -= float64(cp.A * (v - cp.EL))
			}
			if cp.Kind == AdEx {
				f += float64(cp.GL * cp.DeltaT * math.Exp((v-cp.VT)/cp.DeltaT))
			}
			r[i] = f
		}
		for _, cu := range c.Couplings {
			d := float64(cu.G * (vOf(x, cu.B) - vOf(x, cu.A)))
			r[cu.A] += d
			r[cu.B] -= d
		}
	}
	jac := make([]float64, n*n)
	jacobian := func(x []float64) {
		for i := range jac {
			jac[i] = 0
		}
		for i := range c.Compartments {
			cp := &c.Compartments[i]
			if hold && i == rec {
				jac[i*n+i] = 1 // dF_rec/dI_hold
				continue
			}
			v := x[i]
			d := -cp.GL
			if cp.Kind.Adaptive() {
				d -= cp.A
			}
			if cp.Kind == AdEx {
				d += float64(cp.GL * math.Exp((v-cp.VT)/cp.DeltaT))
			}
			jac[i*n+i] += d
		}
		for _, cu := range c.Couplings {
			a, b := cu.A, cu.B
			if !(hold && b == rec) {
				jac[a*n+b] += cu.G
				jac[b*n+b] -= cu.G
			}
			if !(hold && a == rec) {
				jac[a*n+a] -= cu.G
				jac[b*n+a] += cu.G
			}
		}
	}
	r := make([]float64, n)
	dx := make([]float64, n)
	lu := make([]float64, n*n)
	best := math.Inf(1)
	for it := 0; it < 100; it++ {
		residual(x, r)
		jacobian(x)
		copy(lu, jac)
		if err := solveDense(lu, r, dx, n); err != nil {
			// A coupling or leak many orders of magnitude above the
			// others leaves the Jacobian singular in float64.
			if why := adaptationCancelsLeak(c); why != "" {
				return SteadyState{}, fmt.Errorf("sim: no resting state: %s", why)
			}
			return SteadyState{}, fmt.Errorf("sim: steady state: %w: look for a coupling or leak conductance many orders of magnitude from the others", err)
		}
		step := 0.0
		for i := range x {
			x[i] -= dx[i]
			step = math.Max(step, math.Abs(dx[i])/(1e-3+math.Abs(x[i])))
		}
		for _, v := range x {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return SteadyState{}, fmt.Errorf("sim: no resting state (Newton diverged): %s", noFixedPoint(c))
			}
		}
		if step == 0 || (step < 1e-15 && it > 1) || (step >= best && it > 3 && step < 1e-12) {
			break
		}
		best = math.Min(best, step)
		if it == 99 {
			return SteadyState{}, fmt.Errorf("sim: steady state did not converge: %s", noFixedPoint(c))
		}
	}
	ss := SteadyState{V: make([]float64, n), W: make([]float64, n)}
	for i, cp := range c.Compartments {
		ss.V[i] = vOf(x, i)
		if cp.Kind.Adaptive() {
			ss.W[i] = cp.A * (ss.V[i] - cp.EL)
		}
	}
	if hold {
		ss.IHold = x[rec]
	}
	return ss, nil
}

// solveDense solves J dx = r by Gaussian elimination with partial pivoting,
// overwriting J. The systems are tiny (one row a compartment).
func solveDense(J, r, dx []float64, n int) error {
	b := dx
	copy(b, r)
	for k := 0; k < n; k++ {
		p := k
		for i := k + 1; i < n; i++ {
			if math.Abs(J[i*n+k]) > math.Abs(J[p*n+k]) {
				p = i
			}
		}
		if J[p*n+k] == 0 {
			return fmt.Errorf("the cell's equations are singular in double precision")
		}
		if p != k {
			for j := 0; j < n; j++ {
				J[k*n+j], J[p*n+j] = J[p*n+j], J[k*n+j]
			}
			b[k], b[p] = b[p], b[k]
		}
		for i := k + 1; i < n; i++ {
			f := J[i*n+k] / J[k*n+k]
			if f == 0 {
				continue
			}
			for j := k; j < n; j++ {
				J[i*n+j] -= float64(f * J[k*n+j])
			}
			b[i] -= float64(f * b[k])
		}
	}
	for i := n - 1; i >= 0; i-- {
		s := b[i]
		for j := i + 1; j < n; j++ {
			s -= float64(J[i*n+j] * b[j])
		}
		b[i] = s / J[i*n+i]
	}
	return nil
}

// growthRate is the largest real part (1/s) of the eigenvalues of c's
// equations linearised at ss, with every synapse and dSpike off and the
// holding current constant, as the protocol runs before the spike. Above
// zero the state is a fixed point the cell leaves on its own (an AdEx
// compartment held above its VT), and a "PSP" measured from it is the
// runaway. It is -Inf where no eigenvalue need be computed: with every
// AdEx compartment at or below its VT and every adaptation a >= 0, the
// energy sum C V^2/2 + tauw w^2/(2a) of the deviations never grows, and
// passive and leaky compartments only add to the leak. It is +Inf for a
// linearisation that is not finite (an exponential term that overflows)
// and NaN when the eigenvalues cannot be computed.
func growthRate(c *Cell, ss SteadyState) float64 {
	var adaptive []int // compartments with w, in state order after the Vs
	stable := true
	for i, cp := range c.Compartments {
		if cp.Kind.Adaptive() {
			adaptive = append(adaptive, i)
			stable = stable && cp.A >= 0 && !(cp.Kind == AdEx && ss.V[i] > cp.VT)
		}
	}
	if stable {
		return math.Inf(-1)
	}
	return eigenRate(c, ss, adaptive)
}

// eigenRate is growthRate computed, the adaptive compartments given.
func eigenRate(c *Cell, ss SteadyState, adaptive []int) float64 {
	n := len(c.Compartments)
	k := n + len(adaptive)
	J := mat.NewDense(k, k, nil)
	for i, cp := range c.Compartments {
		d := -cp.GL
		if cp.Kind == AdEx {
			d += float64(cp.GL * math.Exp((ss.V[i]-cp.VT)/cp.DeltaT))
		}
		J.Set(i, i, d/cp.C)
	}
	for _, cu := range c.Couplings {
		a, b := cu.A, cu.B
		ca, cb := c.Compartments[a].C, c.Compartments[b].C
		J.Set(a, a, J.At(a, a)-cu.G/ca)
		J.Set(a, b, J.At(a, b)+cu.G/ca)
		J.Set(b, b, J.At(b, b)-cu.G/cb)
		J.Set(b, a, J.At(b, a)+cu.G/cb)
	}
	for j, i := range adaptive {
		cp := &c.Compartments[i]
		w := n + j
		J.Set(i, w, -1/cp.C)
		J.Set(w, i, cp.A/cp.TauW)
		J.Set(w, w, -1/cp.TauW)
	}
	for _, v := range J.RawMatrix().Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return math.Inf(1)
		}
	}
	var eig mat.Eigen
	if !eig.Factorize(J, mat.EigenNone) {
		return math.NaN()
	}
	rate := math.Inf(-1)
	for _, v := range eig.Values(nil) {
		rate = math.Max(rate, real(v))
	}
	return rate
}

// StartState returns the state p's PSP starts from in c (Steady), or an
// error when there is none, or when c would leave it with no input (an
// AdEx above its VT, a negative adaptation): a PSP measured from it
// would be the runaway, not the synapse's. New refuses such a setup.
func StartState(c *Cell, p *Protocol) (SteadyState, error) {
	// Before the steady state is sought: an AdEx cell held there has none
	// (Newton diverged, and the error named v_rest and VT).
	if p.Hold && !(math.Abs(p.Holding) <= maxVoltage) {
		return SteadyState{}, holdingBeyond(p.Holding)
	}
	ss, err := Steady(c, p.Hold, p.Record, p.Holding)
	if err != nil {
		return SteadyState{}, err
	}
	if err := checkInRange(c, ss, p); err != nil {
		return SteadyState{}, err
	}
	if err := checkFixedPoint(c, ss, p); err != nil {
		return SteadyState{}, err
	}
	return ss, nil
}

// holdingBeyond is the error of a holding potential v beyond maxVoltage.
func holdingBeyond(v float64) error {
	return fmt.Errorf("sim: the holding potential %.6g mV is beyond ±%g V, which no membrane reaches (a run from there stops at once as diverged); check its unit", v/1e-3, maxVoltage)
}

// checkInRange returns an error when ss puts a compartment beyond
// maxVoltage: every run from it would stop at its first sample as
// diverged, and say to shorten dt, when what is wrong is a potential
// given in V for mV. (A holding beyond it, a trial's -55 V, is refused
// before: StartState.)
func checkInRange(c *Cell, ss SteadyState, p *Protocol) error {
	for i, v := range ss.V {
		if math.Abs(v) <= maxVoltage {
			continue
		}
		state := "the resting state"
		if p.Hold {
			state = fmt.Sprintf("the state held at %.4g mV in %s", p.Holding/1e-3, c.Compartments[p.Record].Name)
		}
		return fmt.Errorf("sim: %s puts %s at %.6g mV, beyond ±%g V, which no membrane reaches (a run from there stops at once as diverged); check the units of the cell's potentials", state, c.Compartments[i].Name, v/1e-3, maxVoltage)
	}
	return nil
}

// checkFixedPoint returns an error when ss is a state c leaves on its own
// (growthRate above zero, beyond rounding against the cell's fastest
// rate), or one whose stability cannot be computed, saying what makes it
// so.
func checkFixedPoint(c *Cell, ss SteadyState, p *Protocol) error {
	rate := growthRate(c, ss)
	if rate <= 1e-9*FastestRate(c) {
		return nil
	}
	state := "the resting state"
	if p.Hold {
		state = fmt.Sprintf("the state held at %.4g mV in %s", p.Holding/1e-3, c.Compartments[p.Record].Name)
	}
	if math.IsNaN(rate) {
		return fmt.Errorf("sim: whether %s is stable could not be computed (the eigenvalues of the linearised cell did not converge); check the cell's parameters", state)
	}
	var causes, cures []string
	aboveVT, negA := false, false
	for i, cp := range c.Compartments {
		if cp.Kind == AdEx && ss.V[i] > cp.VT {
			aboveVT = true
			causes = append(causes, fmt.Sprintf("AdEx %s at %.4g mV, above its VT %.4g mV", cp.Name, ss.V[i]/1e-3, cp.VT/1e-3))
		}
		if cp.Kind.Adaptive() && cp.A < 0 {
			negA = true
			causes = append(causes, fmt.Sprintf("%s's adaptation a is negative (%.4g nS)", cp.Name, cp.A/1e-9))
		}
	}
	switch {
	case aboveVT && p.Hold:
		cures = append(cures, "hold lower, or check VT")
	case aboveVT:
		cures = append(cures, "check VT and the rest potentials")
	}
	if negA {
		cures = append(cures, "check a")
	}
	if len(cures) == 0 {
		cures = append(cures, "check the cell's parameters")
	}
	cure := strings.Join(cures, "; ")
	speed := "it runs away at once"
	if !math.IsInf(rate, 1) {
		speed = fmt.Sprintf("e-fold every %.3g ms", 1/rate/1e-3)
	}
	hint := ""
	if len(causes) > 0 {
		hint = " (" + strings.Join(causes, "; ") + ")"
	}
	return fmt.Errorf("sim: %s is unstable%s: with no input the cell leaves it, %s, so a PSP measured from it is the runaway, not the synapse's; %s", state, hint, speed, cure)
}

// noFixedPoint says what most likely leaves c with no fixed point: an AdEx
// compartment whose v_rest is above the highest at which it has one when
// uncoupled. At rest, gL DeltaT exp((V-VT)/DeltaT) = (gL+a)(V-EL) has a
// root only for EL <= VT + DeltaT (ln(1 + a/gL) - 1).
func noFixedPoint(c *Cell) string {
	if why := adaptationCancelsLeak(c); why != "" {
		return why
	}
	var above []string
	adex := false
	for i := range c.Compartments {
		cp := &c.Compartments[i]
		if cp.Kind != AdEx {
			continue
		}
		adex = true
		if top := cp.VT + float64(cp.DeltaT*(math.Log1p(cp.A/cp.GL)-1)); cp.EL > top {
			above = append(above, fmt.Sprintf("AdEx %s has v_rest %.4g mV, above %.4g mV, the highest at which it has a resting state (VT %.4g mV, DeltaT %.4g mV)",
				cp.Name, cp.EL/1e-3, top/1e-3, cp.VT/1e-3, cp.DeltaT/1e-3))
		}
	}
	switch {
	case len(above) > 0:
		return strings.Join(above, "; ") + ": lower v_rest, or raise Vth"
	case adex:
		return "an AdEx compartment may have no fixed point (its exponential current outgrowing leak, adaptation and couplings); check v_rest, Vth, DeltaT and a"
	}
	return "check the cell's conductances, which may differ by many orders of magnitude"
}

// adaptationCancelsLeak names the compartments whose adaptation a is at or
// below -gL: at rest their adaptation current a(V-EL) then cancels the
// leak or outgrows it, so no v_rest or Vth gives them a resting state.
func adaptationCancelsLeak(c *Cell) string {
	var out []string
	for i := range c.Compartments {
		cp := &c.Compartments[i]
		if cp.Kind.Adaptive() && cp.A <= -cp.GL {
			out = append(out, fmt.Sprintf("%s's adaptation a (%.4g nS) cancels its leak gL (%.4g nS)", cp.Name, cp.A/1e-9, cp.GL/1e-9))
		}
	}
	if len(out) == 0 {
		return ""
	}
	return strings.Join(out, "; ") + ": a must be above -gL for a resting state; check a"
}
