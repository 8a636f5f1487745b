package fit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Outcome says how a fit ended.
type Outcome string

// Fit outcomes. Only Converged carries a usable g.
const (
	Converged   Outcome = "converged"
	Unreachable Outcome = "unreachable"  // target above the PSP at GMax, or below a g whose simulation fails
	BelowMin    Outcome = "below_g_min"  // target below the PSP at GMin
	NonMonotone Outcome = "non_monotone" // |PSP| decreased as g grew
	DSpikeJump  Outcome = "dspike_jump"  // a dSpike fired inside the bracket
	NoProgress  Outcome = "max_evaluations"
	SimFailed   Outcome = "sim_failed" // a simulation failed, with no PSP below the target under it
	// KineticsMissed: the amplitude is met, but at the kinetics search's
	// best a kinetics target is missed by more than MissedAt.
	KineticsMissed Outcome = "kinetics_missed"
)

// Eval is one simulation: |PSP| at conductance g, and whether a dSpike
// (a jump in the PSP) fired.
type Eval func(ctx context.Context, g float64) (psp float64, dspike bool, err error)

// Problem is one amplitude fit.
type Problem struct {
	Eval       Eval
	Target     float64 // wanted |PSP| (> 0)
	G0         float64 // starting conductance
	GMin, GMax float64
	RTol       float64 // relative tolerance on |PSP|; default 1e-7
	MaxEvals   int     // default 100
	// Jumps says the model can jump (it has dSpikes). A root found then
	// is only accepted if neither end of the doubling bracket around it
	// fires a dSpike: the bracket that doubling or halving g from G0
	// (inside [GMin, GMax]) reaches, whose ends a plain bracket-then-Brent
	// search would simulate. Otherwise the fit is a DSpikeJump. This is
	// the reference's rule ("null when any run in the bracket fires a
	// dSpike": the PSP then jumps each time a threshold crossing moves by
	// one step), so the outcome can depend on G0: a root well below the
	// threshold is refused from a G0 whose bracket reaches it.
	Jumps bool
	// RootBelowJump, with Jumps, accepts a root that fires no dSpike
	// though a run of that bracket does: Result.BelowJump then says which.
	// The outcome no longer depends on G0, but departs from the
	// reference's rule, which gives no fit there.
	RootBelowJump bool
}

// Result is the fit's answer and how it got there.
type Result struct {
	G           float64 // fitted g (converged), else the best g found
	PSP         float64 // |PSP| at G
	Evaluations int
	Outcome     Outcome
	Message     string
	// Reachable is the largest |PSP| seen without a dSpike: for
	// Unreachable and DSpikeJump outcomes, the most a calibration can get.
	Reachable float64
	// BelowJump, for a root taken under Problem.RootBelowJump, says which
	// run of its bracket fired a dSpike; "" otherwise.
	BelowJump string
}

// check validates what Amplitude and Kinetics are given.
func check(target, gMin, gMax float64) error {
	if !(target > 0) || math.IsInf(target, 0) {
		return fmt.Errorf("fit: target must be positive, got %g", target)
	}
	if !(gMin > 0) || !(gMax > gMin) || math.IsInf(gMax, 0) {
		return fmt.Errorf("fit: need 0 < g_min < g_max, got %g, %g", gMin, gMax)
	}
	return nil
}

// Amplitude fits g so that |PSP(g)| = Target within RTol. A simulation
// that fails on the way (numerically unstable at a large g) ends the fit
// with SimFailed; the error is for a bad problem or a cancelled ctx only.
func Amplitude(ctx context.Context, p Problem) (Result, error) {
	if err := check(p.Target, p.GMin, p.GMax); err != nil {
		return Result{}, err
	}
	if p.RTol <= 0 {
		p.RTol = 1e-7
	}
	if p.MaxEvals <= 0 {
		p.MaxEvals = 100
	}
	f := &fitter{p: p}
	r, err := f.run(ctx)
	if err != nil {
		return r, err
	}
	if r.Outcome == Converged && p.Jumps {
		return f.checkBracket(ctx, r)
	}
	if r.Outcome != Converged {
		// An unconverged search that met a dSpike failed because of it;
		// the lowest g it fired at is the one to name.
		var fired *sample
		for _, s := range f.samples {
			if s.spike && (fired == nil || s.g < fired.g) {
				c := s
				fired = &c
			}
		}
		if fired != nil {
			return f.jump(ctx, *fired, fmt.Sprintf("the search met a dSpike at g = %.6g nS (%s)", fired.g*1e9, r.Message), 0)
		}
	}
	return r, nil
}

// checkBracket simulates the ends of the doubling bracket around the root
// of r (see Problem.Jumps).
func (f *fitter) checkBracket(ctx context.Context, r Result) (Result, error) {
	p := f.p
	g0 := math.Min(math.Max(p.G0, p.GMin), p.GMax)
	lo, hi := g0, g0
	switch {
	case r.G > g0:
		for hi < r.G && hi < p.GMax {
			lo, hi = hi, math.Min(2*hi, p.GMax)
		}
	case r.G < g0:
		for lo > r.G && lo > p.GMin {
			lo, hi = math.Max(lo/2, p.GMin), lo
		}
	}
	for _, g := range []float64{lo, hi} {
		if _, ok := f.sampleAt(g); ok || f.failed[g] {
			continue
		}
		if _, err := f.eval(ctx, g); err != nil {
			var se *simError
			switch {
			case errors.As(err, &se):
				// An end whose run fails (too strong, as the search took
				// it) fires no dSpike to find; the root ran.
			case errors.Is(err, errStop):
				// The check was cut short: not a converged fit.
				return f.result(NoProgress, f.closest(), fmt.Sprintf("no convergence in %d evaluations: the dSpike check of the bracket around the root %.6g nS was cut short", f.p.MaxEvals, r.G*1e9)), nil
			default:
				return f.stopped(err)
			}
		}
	}
	for _, s := range f.samples {
		if s.spike && s.g >= lo && s.g <= hi {
			if root, ok := f.sampleAt(r.G); ok && !root.spike && p.RootBelowJump {
				r.Evaluations = f.evals()
				r.BelowJump = fmt.Sprintf("the root fires no dSpike, but one fires at g = %.6g nS, inside the bracket [%.6g, %.6g] nS that doubling or halving from the spec g reaches: the reference's rule gives no fit here; it was accepted as asked (root_below_jump)",
					s.g*1e9, lo*1e9, hi*1e9)
				return r, nil
			}
			return f.jump(ctx, s, fmt.Sprintf("the search met a dSpike at g = %.6g nS, inside the bracket [%.6g, %.6g] nS around the root %.6g nS", s.g*1e9, lo*1e9, hi*1e9, r.G*1e9), r.G)
		}
	}
	r.Evaluations = f.evals()
	return r, nil
}

// threshold bisects, in log g, between a sample that does not fire and a
// larger one that does, to 1e-3 relative, and returns the last of each.
func (f *fitter) threshold(ctx context.Context, below, above sample) (sample, sample, error) {
	for above.g/below.g-1 > 1e-3 {
		s, err := f.eval(ctx, math.Sqrt(below.g*above.g))
		if err != nil {
			return below, above, err
		}
		if s.spike {
			above = s
		} else {
			below = s
		}
	}
	return below, above, nil
}

// closest is the sample nearest the target (the zero sample before any).
func (f *fitter) closest() sample {
	if len(f.samples) == 0 {
		return sample{}
	}
	best := f.samples[0]
	for _, s := range f.samples {
		if math.Abs(s.psp-f.p.Target) < math.Abs(best.psp-f.p.Target) {
			best = s
		}
	}
	return best
}

// sampleAt returns an evaluation already made at exactly g.
func (f *fitter) sampleAt(g float64) (sample, bool) {
	for _, s := range f.samples {
		if s.g == g {
			return s, true
		}
	}
	return sample{}, false
}

type sample struct {
	g, psp float64
	spike  bool
}

type fitter struct {
	p       Problem
	samples []sample
	fails   int              // evaluations whose simulation failed (not in samples)
	failed  map[float64]bool // the g of each
}

// evals is the number of simulations run, failed ones included.
func (f *fitter) evals() int { return len(f.samples) + f.fails }

var errStop = errors.New("stop")

// simError is a simulation that failed at g: the fit of this pathway ends
// with SimFailed, and other pathways go on.
type simError struct {
	g   float64
	err error
}

func (e *simError) Error() string { return fmt.Sprintf("fit: g = %g: %v", e.g, e.err) }
func (e *simError) Unwrap() error { return e.err }

func (f *fitter) eval(ctx context.Context, g float64) (sample, error) {
	if f.evals() >= f.p.MaxEvals {
		return sample{}, errStop
	}
	if err := ctx.Err(); err != nil {
		return sample{}, err
	}
	psp, sp, err := f.p.Eval(ctx, g)
	if err != nil {
		if ctx.Err() != nil {
			return sample{}, ctx.Err()
		}
		f.fails++
		if f.failed == nil {
			f.failed = map[float64]bool{}
		}
		f.failed[g] = true
		return sample{}, &simError{g, err}
	}
	s := sample{g, math.Abs(psp), sp}
	f.samples = append(f.samples, s)
	return s, nil
}

func (f *fitter) done(s sample) bool {
	return math.Abs(s.psp-f.p.Target) <= f.p.RTol*f.p.Target
}

func (f *fitter) result(o Outcome, best sample, msg string) Result {
	r := Result{G: best.g, PSP: best.psp, Evaluations: f.evals(), Outcome: o, Message: msg}
	for _, s := range f.samples {
		if !s.spike && s.psp > r.Reachable {
			r.Reachable = s.psp
		}
	}
	return r
}

// jump reports a dSpike at sample fired. It locates the threshold in g,
// halving g until no dSpike fires and then bisecting to 1e-3 relative, so
// that the user learns where the PSP jumps and the largest PSP reachable
// below it: the sub-threshold maximum a calibration can use. root, if not
// 0, is a root the search found that the bracket rule refused.
func (f *fitter) jump(ctx context.Context, fired sample, msg string, root float64) (Result, error) {
	hi := fired
	var lo *sample
	for _, s := range f.samples {
		switch {
		case s.spike && s.g < hi.g:
			hi = s
		case !s.spike && (lo == nil || s.g > lo.g):
			c := s
			lo = &c
		}
	}
	if lo != nil && lo.g > hi.g {
		lo = nil // firing is not monotone in g: look below the lowest firing g
	}
	// Halve g, down to g_min itself, until no dSpike fires.
	for lo == nil && hi.g > f.p.GMin {
		s, err := f.eval(ctx, math.Max(hi.g/2, f.p.GMin))
		if err != nil {
			return f.stoppedJump(err, fired, msg)
		}
		if s.spike {
			hi = s
		} else {
			lo = &s
		}
	}
	if lo != nil {
		b, a, err := f.threshold(ctx, *lo, hi)
		if err != nil {
			return f.stoppedJump(err, fired, msg)
		}
		lo, hi = &b, a
	}
	// A root the search passed by: the PSP meets the target below the
	// threshold too, though the root found (if any) fires a dSpike (a PSP
	// that falls as a dSpike takes over, and rises again above).
	var below *sample
	if lo != nil && lo.psp > f.p.Target && !(root > 0 && root < lo.g) {
		var err error
		if below, err = f.rootBelow(ctx, *lo); err != nil {
			return f.stoppedJump(err, fired, msg)
		}
	}
	if below != nil && f.p.RootBelowJump {
		r := f.result(Converged, *below, "")
		r.BelowJump = fmt.Sprintf("the root taken is below the dSpike threshold and fires none: %s; the reference's rule gives no fit here; it was accepted as asked (root_below_jump)", msg)
		return r, nil
	}
	// The g given with the outcome is the best one tried: the root the
	// bracket rule refused, else the largest PSP below the threshold.
	best := fired
	if lo != nil {
		best = *lo
	}
	if s, ok := f.sampleAt(root); ok && root > 0 {
		best = s
	}
	if lo != nil {
		gl, gh := distinct(lo.g*1e9, hi.g*1e9)
		msg += fmt.Sprintf("; the PSP jumps from %.6g mV to %.6g mV between g = %s and %s nS, so the largest PSP below the dSpike threshold is %.6g mV",
			lo.psp*1e3, hi.psp*1e3, gl, gh, lo.psp*1e3)
		switch {
		case root > 0 && root < lo.g:
			// Any start in (root, lo.g] halves down to a bracket below
			// the threshold.
			msg += fmt.Sprintf("; the root fires no dSpike, but the reference's rule refuses any bracket that reaches one, so the outcome depends on the starting g: a spec g between %.6g and %.6g nS brackets the root below the threshold, and root_below_jump (fit --root-below-jump) takes it from any",
				root*1e9, lo.g*1e9)
		case below != nil:
			msg += fmt.Sprintf("; below the threshold the PSP meets the target too, at g = %.6g nS with no dSpike, but the search from the spec g bracketed another root, so the outcome depends on the starting g: a spec g between %.6g and %.6g nS brackets the root below the threshold, and root_below_jump (fit --root-below-jump) takes it from any",
				below.g*1e9, below.g*1e9, lo.g*1e9)
		case lo.psp < f.p.Target:
			msg += fmt.Sprintf(": the target %.6g mV is met only by a PSP with a dSpike", f.p.Target*1e3)
		}
	} else {
		msg += fmt.Sprintf("; a dSpike fires even at g_min = %.6g nS", f.p.GMin*1e9)
	}
	return f.result(DSpikeJump, best, msg), nil
}

// rootBelow finds, below top (a sample under the dSpike threshold whose
// PSP is above the target), the g where the PSP meets the target with no
// dSpike: from the largest sample below target under top (halving g from
// top when there is none), by Brent's method over the samples under the
// threshold, whose PSP rises with g. It returns nil when there is none
// (g_min reached above the target, a dSpike on the way down, a search
// that does not converge); the error is errStop, a simError or ctx's.
func (f *fitter) rootBelow(ctx context.Context, top sample) (*sample, error) {
	T := f.p.Target
	var a *sample
	for _, s := range f.samples {
		if !s.spike && s.psp < T && s.g < top.g && (a == nil || s.g > a.g) {
			c := s
			a = &c
		}
	}
	for g := top.g; a == nil; {
		if g <= f.p.GMin {
			return nil, nil
		}
		g = math.Max(g/2, f.p.GMin)
		s, err := f.eval(ctx, g)
		if err != nil {
			return nil, err
		}
		switch {
		case s.spike:
			return nil, nil
		case s.psp < T:
			a = &s
		}
	}
	// Brent's monotonicity check looks at every sample: it is given those
	// under the threshold in [a, top] only, and the budget left.
	sub := &fitter{p: f.p, fails: f.fails, failed: f.failed}
	for _, s := range f.samples {
		if !s.spike && s.g >= a.g && s.g <= top.g {
			sub.samples = append(sub.samples, s)
		}
	}
	sub.p.MaxEvals = f.p.MaxEvals - f.evals() + sub.evals()
	n, fails := len(sub.samples), sub.fails
	r, err := sub.brent(ctx, *a, top)
	f.samples = append(f.samples, sub.samples[n:]...)
	f.fails += sub.fails - fails
	if f.failed == nil {
		f.failed = sub.failed
	}
	if err != nil {
		return nil, err
	}
	if s, ok := f.sampleAt(r.G); ok && r.Outcome == Converged && !s.spike {
		return &s, nil
	}
	return nil, nil
}

// distinct formats a and b with the fewest significant digits, six or
// more, that tell them apart: a threshold bisected to 1e-3 relative can
// print as "between 27.2109 and 27.2109".
func distinct(a, b float64) (string, string) {
	for prec := 6; ; prec++ {
		x, y := strconv.FormatFloat(a, 'g', prec, 64), strconv.FormatFloat(b, 'g', prec, 64)
		if x != y || prec >= 17 {
			return x, y
		}
	}
}

func (f *fitter) stoppedJump(err error, fired sample, msg string) (Result, error) {
	var se *simError
	if errors.Is(err, errStop) || errors.As(err, &se) {
		// The best g tried, as jump gives it: the largest that fired no
		// dSpike, if any did not.
		best := fired
		for _, s := range f.samples {
			if !s.spike && s.g < fired.g && (best.spike || s.g > best.g) {
				best = s
			}
		}
		return f.result(DSpikeJump, best, msg), nil
	}
	return Result{Evaluations: f.evals()}, err
}

func (f *fitter) run(ctx context.Context) (Result, error) {
	p := f.p
	T := p.Target
	g := math.Min(math.Max(p.G0, p.GMin), p.GMax)
	if !(g > 0) {
		g = math.Sqrt(p.GMin * p.GMax)
	}
	var lo, hi *sample // |PSP| below / above target
	// A run that fails (it starts from a stable steady state, so the
	// synapse drove it out of range: an AdEx that fired and ran away, a
	// step unstable at that g) takes g as too strong, as a PSP above
	// target would be: the search goes on below the smallest g that
	// failed, halving g, or halfway to lo once one is below target.
	var fail *simError
	try := func(g float64) (sample, error) {
		for {
			s, err := f.eval(ctx, g)
			var se *simError
			if !errors.As(err, &se) || hi != nil {
				return s, err
			}
			if fail == nil || g < fail.g {
				fail = se
			}
			floor := p.GMin
			if lo != nil {
				floor = lo.g
			}
			if g-floor <= 1e-6*g {
				return s, err
			}
			if lo != nil {
				g = (lo.g + g) / 2
			} else {
				g = math.Max(g/2, p.GMin)
			}
		}
	}
	// stop ends the search after err; with a PSP below target and a
	// failed run above it, the target is out of reach: the pathway was
	// simulated (it is no sim_failed pathway), its response runs away
	// (an AdEx cell fires) before it gets there.
	stop := func(err error) (Result, error) {
		var se *simError
		if lo != nil && errors.As(err, &se) {
			gl, gf := distinct(lo.g*1e9, se.g*1e9)
			return f.result(Unreachable, *lo, fmt.Sprintf("target %.6g mV is out of reach: the PSP is %.6g mV at g = %s nS, and the simulation fails at g = %s nS, just above: %v",
				T*1e3, lo.psp*1e3, gl, gf, se.err)), nil
		}
		return f.stopped(err)
	}
	cur, err := try(g)
	if err != nil {
		return stop(err)
	}
	// Bracket: step by the proportional estimate g*T/psp, overshooting a
	// little so that one step usually brackets; fall back to doubling or
	// halving where the PSP saturates.
	for {
		if f.done(cur) {
			return f.result(Converged, cur, ""), nil
		}
		c := cur
		if cur.psp < T {
			if lo != nil && c.g > lo.g && c.psp < lo.psp {
				// Below the target all the way: say so, not only the fall.
				return f.result(NonMonotone, c, fmt.Sprintf("|PSP| falls from %.6g mV to %.6g mV as g grows from %.6g to %.6g nS, never having reached the target %.6g mV: most likely out of reach (the largest |PSP| met is %.6g mV)",
					lo.psp*1e3, c.psp*1e3, lo.g*1e9, c.g*1e9, T*1e3, lo.psp*1e3)), nil
			}
			lo = &c
		} else {
			hi = &c
		}
		if lo != nil && hi != nil {
			break
		}
		var next float64
		switch {
		case cur.psp < T && cur.g >= p.GMax:
			return f.result(Unreachable, cur, fmt.Sprintf("target %.6g mV is out of reach: the PSP at g_max = %.6g nS is %.6g mV", T*1e3, p.GMax*1e9, cur.psp*1e3)), nil
		case cur.psp > T && cur.g <= p.GMin:
			return f.result(BelowMin, cur, fmt.Sprintf("target %.6g mV is below the PSP at g_min = %.6g nS (%.6g mV)", T*1e3, p.GMin*1e9, cur.psp*1e3)), nil
		case cur.psp < T:
			next = 2 * cur.g
			if cur.psp > 0 {
				next = math.Min(cur.g*(T/cur.psp)*1.02, 16*cur.g)
			}
			if lo != nil && len(f.samples) > 1 && next < 1.1*cur.g {
				next = 2 * cur.g
			}
			next = math.Min(next, p.GMax)
			if fail != nil && next >= fail.g {
				// Runs up to just below a g that fails stay under
				// target: it is out of reach.
				if fail.g-cur.g <= 1e-6*fail.g {
					return stop(fail)
				}
				next = (cur.g + fail.g) / 2
			}
		default:
			next = math.Max(cur.g*(T/cur.psp)*0.98, cur.g/16)
			next = math.Max(next, p.GMin)
		}
		cur, err = try(next)
		if err != nil {
			return stop(err)
		}
	}
	if lo.g > hi.g {
		return f.result(NonMonotone, *hi, fmt.Sprintf("|PSP| at g = %.6g nS (%.6g mV) exceeds that at the larger g = %.6g nS (%.6g mV)", hi.g*1e9, hi.psp*1e3, lo.g*1e9, lo.psp*1e3)), nil
	}
	return f.brent(ctx, *lo, *hi)
}

func (f *fitter) stopped(err error) (Result, error) {
	var se *simError
	switch {
	case errors.Is(err, errStop):
		return f.result(NoProgress, f.closest(), fmt.Sprintf("no convergence in %d evaluations", f.p.MaxEvals)), nil
	case errors.As(err, &se):
		return f.result(SimFailed, f.closest(), fmt.Sprintf("the simulation fails at g = %.6g nS: %v", se.g*1e9, se.err)), nil
	}
	return Result{Evaluations: f.evals()}, err
}

// brent refines a bracket [a, b] of h(g) = |PSP(g)| - target with Brent's
// method (inverse quadratic interpolation, secant and bisection). A
// bracket that shrinks to adjacent conductances without meeting RTol is a
// jump across the target, unless the jump is rounding noise.
func (f *fitter) brent(ctx context.Context, a, b sample) (Result, error) {
	T := f.p.Target
	fa, fb := a.psp-T, b.psp-T
	c, fc := a, fa
	d := b.g - a.g
	e := d
	for {
		if math.Abs(fc) < math.Abs(fb) {
			a, b, c = b, c, b
			fa, fb, fc = fb, fc, fb
		}
		tol := float64(2 * 1e-15 * math.Abs(b.g))
		m := float64(0.5 * (c.g - b.g))
		if math.Abs(m) <= tol {
			if f.done(b) {
				return f.result(Converged, b, ""), nil
			}
			// An RTol finer than the PSP's rounding: the two ends differ by
			// a few ulps, and the nearer one is as close as float64 gets.
			if math.Abs(b.psp-c.psp) <= 1e-12*f.p.Target {
				return f.result(Converged, b, ""), nil
			}
			// A bracket that shrinks to nothing around no root is a
			// discontinuity: the PSP jumps across the target there.
			return f.result(NonMonotone, b, fmt.Sprintf("|PSP| jumps across the target at g = %.6g nS (from below %.6g mV to above it)", b.g*1e9, f.p.Target*1e3)), nil
		}
		if math.Abs(e) >= tol && math.Abs(fa) > math.Abs(fb) {
			var pp, q float64
			s := fb / fa
			if a.g == c.g {
				pp, q = float64(2*m*s), 1-s
			} else {
				qa, r := fa/fc, fb/fc
				pp = float64(s * (float64(2*m*qa*(qa-r)) - float64((b.g-a.g)*(r-1))))
				q = float64((qa - 1) * (r - 1) * (s - 1))
			}
			if pp > 0 {
				q = -q
			} else {
				pp = -pp
			}
			if 2*pp < math.Min(float64(3*m*q)-math.Abs(tol*q), math.Abs(e*q)) {
				e, d = d, pp/q
			} else {
				d, e = m, m
			}
		} else {
			d, e = m, m
		}
		a, fa = b, fb
		ng := b.g
		if math.Abs(d) > tol {
			ng += d
		} else if m > 0 {
			ng += tol
		} else {
			ng -= tol
		}
		nb, err := f.eval(ctx, ng)
		if err != nil {
			return f.stopped(err)
		}
		if err := f.checkMonotone(); err != nil {
			return f.result(NonMonotone, nb, err.Error()), nil
		}
		b, fb = nb, nb.psp-T
		if f.done(b) {
			return f.result(Converged, b, ""), nil
		}
		if (fb > 0) == (fc > 0) {
			c, fc = a, fa
			d = b.g - a.g
			e = d
		}
	}
}

// checkMonotone reports a pair of evaluations where |PSP| fell as g rose.
func (f *fitter) checkMonotone() error {
	n := f.samples[len(f.samples)-1]
	for _, s := range f.samples[:len(f.samples)-1] {
		if (s.g < n.g && s.psp > n.psp) || (s.g > n.g && s.psp < n.psp) {
			lo, hi := s, n
			if lo.g > hi.g {
				lo, hi = hi, lo
			}
			return fmt.Errorf("|PSP| falls from %.6g mV to %.6g mV as g grows from %.6g to %.6g nS", lo.psp*1e3, hi.psp*1e3, lo.g*1e9, hi.g*1e9)
		}
	}
	return nil
}
