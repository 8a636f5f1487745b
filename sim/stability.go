package sim

import (
	"fmt"
	"math"
)

// Instability. An explicit method with too large a dt does not always
// overflow: a passive cell stepped beyond Euler's limit oscillates with
// growing but finite amplitude, and a result of -4e43 mV is as wrong as
// NaN. Two checks say so instead:
//
//   - before a run, the fastest rate of the cell's passive linear part
//     (leak and couplings, no synapse) against the method's stability
//     limit on the negative real axis (Euler 2, RK4 2.785);
//   - during a run, any voltage beyond maxVoltage, which no membrane
//     reaches and no stable run of these models can.

// maxVoltage bounds |V| in a stable run (V).
const maxVoltage = 1.0

// rk4Limit is where the classical RK4 stability region meets the negative
// real axis.
const rk4Limit = 2.785

// StableDt returns the largest dt at which method m is stable for the
// passive part of c (+Inf for exponential Euler, which integrates each
// variable's own decay exactly), and c's fastest passive time constant.
func StableDt(c *Cell, m Method) (dt, tau float64) {
	mu := FastestRate(c)
	switch m {
	case Euler:
		return 2 / mu, 1 / mu
	case RK4:
		return rk4Limit / mu, 1 / mu
	}
	return math.Inf(1), 1 / mu
}

// checkStability returns an error when dt is beyond the method's stability
// limit for the passive part of c.
func checkStability(c *Cell, p *Protocol) error {
	if lim, tau := StableDt(c, p.Method); p.Dt > lim {
		return fmt.Errorf("sim: dt %.4g ms is beyond %s's stability limit of %.4g ms for this cell (its fastest passive time constant is %.4g ms): %w",
			p.Dt*1e3, p.Method, lim*1e3, tau*1e3, ErrUnstable)
	}
	return nil
}

// FastestRate estimates from below the largest eigenvalue (1/s) of
// C^-1 (G_L + couplings) by power iteration on its symmetric form
// C^-1/2 (G_L + L) C^-1/2. An estimate from below never rejects a dt that
// is in fact stable.
func FastestRate(c *Cell) float64 {
	n := len(c.Compartments)
	isq := make([]float64, n) // C^-1/2
	for i, cp := range c.Compartments {
		isq[i] = 1 / math.Sqrt(cp.C)
	}
	apply := func(x, out []float64) {
		for i, cp := range c.Compartments {
			out[i] = cp.GL * isq[i] * x[i]
		}
		for _, cu := range c.Couplings {
			a, b := cu.A, cu.B
			d := float64(cu.G * (float64(isq[a]*x[a]) - float64(isq[b]*x[b])))
			out[a] += d
			out[b] -= d
		}
		for i := range out {
			out[i] *= isq[i]
		}
	}
	x, y := make([]float64, n), make([]float64, n)
	for i := range x {
		// An alternating start has a component along the fastest mode,
		// which in a cable-like cell alternates in sign.
		x[i] = 1 + float64(0.1*float64(i))
		if i%2 == 1 {
			x[i] = -x[i]
		}
	}
	mu := 0.0
	for it := 0; it < 200; it++ {
		norm := 0.0
		for _, v := range x {
			norm += float64(v * v)
		}
		norm = math.Sqrt(norm)
		if norm == 0 || math.IsNaN(norm) {
			break
		}
		for i := range x {
			x[i] /= norm
		}
		apply(x, y)
		rq := 0.0
		for i := range x {
			rq += float64(x[i] * y[i])
		}
		if math.Abs(rq-mu) <= 1e-12*math.Abs(rq) {
			mu = rq
			break
		}
		mu = rq
		x, y = y, x
	}
	return mu
}

// gatingGrowth is the factor by which method m multiplies, each step of
// dt, a variable that decays with time constant tau: 1 - dt/tau for Euler,
// RK4's fourth-order polynomial in -dt/tau, exp(-dt/tau) for exponential
// Euler (exact).
func gatingGrowth(m Method, dt, tau float64) float64 {
	z := -dt / tau
	switch m {
	case Euler:
		return 1 + z
	case RK4:
		// float64() rounds each product: no fused multiply-add, so that
		// every architecture refuses the same time constants.
		return 1 + float64(z*(1+float64(z*(1.0/2+float64(z*(1.0/6+z/24))))))
	}
	return math.Exp(z)
}

// gatingChecked is off only in a test that runs such receptors to see
// them diverge.
var gatingChecked = true

// GatingError is CheckGating's error: which receptor's time constant does
// not decay at which dt. It wraps ErrUnstable.
type GatingError struct {
	Receptor int // index in the receptors checked
	Channel  Channel
	Param    string  // "t_decay" or "t_rise"
	Tau      float64 // s
	Method   Method
	Dt       float64 // s
}

func (e *GatingError) Error() string {
	// The least stable tau at this dt, for the message: dt over 2
	// (Euler) or over RK4's exact bound, the real root of
	// 24 + 12z + 4z^2 + z^3.
	lim := 2.0
	if e.Method == RK4 {
		lim = 2.7852935634052813
	}
	return fmt.Sprintf("sim: receptor %d (%s): %s %.4g ms is not above %s's stability limit at dt %.4g ms (%.4g ms), so its gating oscillates without decaying whatever g (exponential_euler has no such limit): %v",
		e.Receptor, e.Channel, e.Param, e.Tau*1e3, e.Method, e.Dt*1e3, e.Dt/lim*1e3, ErrUnstable)
}

func (e *GatingError) Unwrap() error { return ErrUnstable }

// CheckGating returns a *GatingError when the gating of a receptor in rs
// does not decay under p's method and dt: a time constant at or below
// Euler's limit (dt/2) or RK4's (dt/2.785). Such a variable oscillates,
// undamped or growing, from the spike on, whatever g, so no run with it
// means anything; Dendrify would run it all the same. The passive limit
// is checked by New. Sweeps call it for every point: it allocates only
// when it fails.
func CheckGating(p Protocol, rs []Receptor) error {
	if p.Method == ExponentialEuler {
		return nil // each decay integrated exactly
	}
	// At the limit itself (|factor| = 1) the variable oscillates undamped
	// (1, -1, 1, ... under Euler at dt/2), as wrong as growing.
	decays := func(tau float64) bool { return !(tau > 0) || math.Abs(gatingGrowth(p.Method, p.Dt, tau)) < 1 }
	for j, r := range rs {
		param, tau := "t_decay", r.TauDecay
		if decays(tau) {
			param, tau = "t_rise", r.TauRise
			if decays(tau) {
				continue
			}
		}
		return &GatingError{Receptor: j, Channel: r.Channel, Param: param, Tau: tau, Method: p.Method, Dt: p.Dt}
	}
	return nil
}
