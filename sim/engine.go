package sim

import (
	"fmt"
	"math"
)

// steps returns Brian 2's number of steps for a run of duration d:
// round(d/dt), or ceil when d/dt is not within 1e-4 of an integer.
func steps(d, dt float64) int {
	r := d / dt
	n := math.Round(r)
	if math.Abs(r-n) <= 1e-4 {
		return int(n)
	}
	return int(math.Ceil(r))
}

// timestep is Brian 2's conversion of a time to a step index
// (brian2.core.functions.timestep): floor((t + 1e-3 dt)/dt).
// Timestep is the number of whole steps of dt in t, as Brian 2 and
// Dendrify count them (a time a thousandth of a step short of a whole
// number of steps counts as that many): the step a time falls on, and a
// dSpike's durations, offset and refractory period in steps.
func Timestep(t, dt float64) int { return timestep(t, dt) }

func timestep(t, dt float64) int {
	return int(math.Floor((t + float64(1e-3*dt)) / dt))
}

// Steps returns the number of samples a run of the protocol has.
func (p *Protocol) Steps() int { return steps(p.Duration, p.Dt) }

// SpikeStep returns the step after whose update the presynaptic spike
// increments the synaptic variables; it is also the baseline sample.
func (p *Protocol) SpikeStep() int { return timestep(p.SpikeAt, p.Dt) }

// dspikeMech is a dSpike mechanism resolved to steps.
type dspikeMech struct {
	comp                     int
	name                     string
	vth, gRise, gFall        float64
	eRise, eFall             float64
	nRise, nFall, nOff, nRef int
}

// receptorShape is what a batch shares for one receptor: its channel,
// reversal and whether it has a rise phase (an extra state variable).
type receptorShape struct {
	block bool    // NMDA Mg block
	e     float64 // reversal
	rise  bool
	s, x  int // state slots; x = -1 without rise
}

// neighbour is one coupling seen from one of its compartments.
type neighbour struct {
	o int     // the other compartment
	g float64 // S
}

// engine holds a compiled cell for a batch of L lanes (parameter points).
// State is structure-of-arrays: y[v*L+l] is variable v of lane l.
type engine struct {
	L, n   int
	nVar   int
	dt     float64
	method Method
	comps  []Compartment
	coup   []Coupling
	syn    int
	recs   []receptorShape
	wSlot  []int // per compartment: state slot of w, or -1
	mechs  []dspikeMech
	iext   []float64 // per compartment
	// per compartment copies for the scalar loop
	cGL, cEL, cDtC []float64
	adaptive       bool
	isLinear       bool // set by setShape: see linear
	// couplings as per-compartment neighbour lists, in coupling order
	nbStart   []int
	nbs       []neighbour
	compMechs [][]int // per compartment: indices into mechs
	cst       Constants

	// per-lane receptor parameters, [r*L+l]
	geff, invTd, invTr []float64

	// per-step dSpike conductances, [m*L+l]
	gR, gF []float64
	// dSpike state, [m*L+l]
	spiketime []int
	gate      []bool

	y, k1, k2, k3, k4, tmp []float64
	acc                    []float64 // per compartment current, [c*L+l]
	aV                     []float64 // exponential Euler: per compartment A, [c*L+l]
}

func newEngine(s *Setup, L int) (*engine, error) {
	c := s.Cell
	p := &s.Protocol
	n := len(c.Compartments)
	e := &engine{L: L, n: n, dt: p.Dt, method: p.Method, comps: c.Compartments, coup: c.Couplings, syn: p.Synapse, cst: s.Constants}
	if p.Synapse < 0 || p.Synapse >= n || p.Record < 0 || p.Record >= n {
		return nil, fmt.Errorf("sim: synapse or record compartment out of range")
	}
	v := n
	e.wSlot = make([]int, n)
	for i, cp := range c.Compartments {
		e.wSlot[i] = -1
		if cp.Kind.Adaptive() {
			e.wSlot[i] = v
			v++
		}
		for _, d := range cp.DSpikes {
			e.mechs = append(e.mechs, dspikeMech{
				comp: i, name: d.Name, vth: d.Threshold, gRise: d.GRise, gFall: d.GFall,
				eRise: d.ERise, eFall: d.EFall,
				nRise: timestep(d.DurationRise, p.Dt), nFall: timestep(d.DurationFall, p.Dt),
				nOff: timestep(d.OffsetFall, p.Dt), nRef: timestep(d.Refractory, p.Dt),
			})
		}
	}
	e.nVar = v
	e.nbStart = make([]int, n+1)
	for c := 0; c < n; c++ {
		e.nbStart[c] = len(e.nbs)
		e.nbs = append(e.nbs, c2(c, s.Cell.Couplings)...)
	}
	e.nbStart[n] = len(e.nbs)
	e.compMechs = make([][]int, n)
	for m, d := range e.mechs {
		e.compMechs[d.comp] = append(e.compMechs[d.comp], m)
	}
	for _, cp := range c.Compartments {
		e.cGL = append(e.cGL, cp.GL)
		e.cEL = append(e.cEL, cp.EL)
		e.cDtC = append(e.cDtC, p.Dt/cp.C)
		e.adaptive = e.adaptive || cp.Kind.Adaptive()
	}
	e.iext = make([]float64, n)
	e.acc = make([]float64, n*L)
	e.aV = make([]float64, n*L)
	m := len(e.mechs)
	e.gR = make([]float64, m*L)
	e.gF = make([]float64, m*L)
	e.spiketime = make([]int, m*L)
	e.gate = make([]bool, m*L)
	return e, nil
}

// setReceptors lays out the receptor state for the shape of rs (the same
// for every lane) and sizes the state arrays.
func (e *engine) setShape(rs []Receptor) {
	e.recs = e.recs[:0]
	v := e.nVar
	for _, r := range rs {
		sh := receptorShape{block: r.Channel == NMDA, rise: r.TauRise > 0, s: v, x: -1}
		v++
		if sh.rise {
			sh.x = v
			v++
		}
		sh.e = e.cst.Reversal(r.Channel)
		e.recs = append(e.recs, sh)
	}
	e.isLinear = e.computeLinear()
	total := v * e.L
	for _, p := range []*[]float64{&e.y, &e.k1, &e.k2, &e.k3, &e.k4, &e.tmp} {
		if cap(*p) < total {
			*p = make([]float64, total)
		}
		*p = (*p)[:total]
	}
	nr := len(rs) * e.L
	for _, p := range []*[]float64{&e.geff, &e.invTd, &e.invTr} {
		if cap(*p) < nr {
			*p = make([]float64, nr)
		}
		*p = (*p)[:nr]
	}
}

// mgBlock is the NMDA Mg2+ unblock factor, Dendrify's
// 1 / (1 + Mg exp(-alpha (V/mV + gamma)) / beta).
func (e *engine) mgBlock(v float64) float64 {
	c := &e.cst
	return 1 / (1 + c.MgCon*math.Exp(-c.AlphaNMDA*(float64(v*1e3)+c.GammaNMDA))/c.BetaNMDA)
}

// gates sets the dSpike conductances for the update of step k from the
// state before it (Brian evaluates the gates once per step, with the old
// spiketime and t_in_timesteps = k, in every RK4 stage).
func (e *engine) gates(k int) {
	L := e.L
	for m := range e.mechs {
		d := &e.mechs[m]
		for l := 0; l < L; l++ {
			i := m*L + l
			gr, gf := 0.0, 0.0
			if e.gate[i] {
				st := e.spiketime[i]
				if k <= st+d.nRise {
					gr = d.gRise
				}
				if k >= st+d.nOff && k <= st+d.nOff+d.nFall {
					gf = d.gFall
				}
			}
			e.gR[i], e.gF[i] = gr, gf
		}
	}
}

// currents fills acc[c] with the total membrane current of every
// compartment (everything in C dV/dt) for state y.
func (e *engine) currents(y []float64) {
	L := e.L
	acc := e.acc
	for c := range e.comps {
		cp := &e.comps[c]
		V := y[c*L : c*L+L]
		a := acc[c*L : c*L+L]
		gl, el, ie := cp.GL, cp.EL, e.iext[c]
		for l := range a {
			a[l] = float64(gl*(el-V[l])) + ie
		}
		if ws := e.wSlot[c]; ws >= 0 {
			w := y[ws*L : ws*L+L]
			for l := range a {
				a[l] -= w[l]
			}
			if cp.Kind == AdEx {
				dT, vt := cp.DeltaT, cp.VT
				for l := range a {
					a[l] += float64(gl * dT * math.Exp((V[l]-vt)/dT))
				}
			}
		}
	}
	for _, cu := range e.coup {
		va, vb := y[cu.A*L:cu.A*L+L], y[cu.B*L:cu.B*L+L]
		aa, ab := acc[cu.A*L:cu.A*L+L], acc[cu.B*L:cu.B*L+L]
		g := cu.G
		for l := range aa {
			d := float64(g * (vb[l] - va[l]))
			aa[l] += d
			ab[l] -= d
		}
	}
	sy := e.syn
	V := y[sy*L : sy*L+L]
	a := acc[sy*L : sy*L+L]
	for r, sh := range e.recs {
		slot := sh.s
		if sh.rise {
			slot = sh.x
		}
		s := y[slot*L : slot*L+L]
		g := e.geff[r*L : r*L+L]
		E := sh.e
		if sh.block {
			for l := range a {
				a[l] += float64(g[l] * (E - V[l]) * s[l] * e.mgBlock(V[l]))
			}
		} else {
			for l := range a {
				a[l] += float64(g[l] * (E - V[l]) * s[l])
			}
		}
	}
	for m := range e.mechs {
		d := &e.mechs[m]
		c := d.comp
		V := y[c*L : c*L+L]
		a := acc[c*L : c*L+L]
		gr, gf := e.gR[m*L:m*L+L], e.gF[m*L:m*L+L]
		for l := range a {
			if gr[l] != 0 || gf[l] != 0 {
				a[l] += float64(gr[l]*(d.eRise-V[l])) + float64(gf[l]*(d.eFall-V[l]))
			}
		}
	}
}

// deriv writes h * dy/dt into out for state y (h = dt for Euler, 1 for RK4).
func (e *engine) deriv(y, out []float64, h float64) {
	L := e.L
	e.currents(y)
	for c := range e.comps {
		cp := &e.comps[c]
		f := h / cp.C
		a := e.acc[c*L : c*L+L]
		o := out[c*L : c*L+L]
		for l := range o {
			o[l] = a[l] * f
		}
		if ws := e.wSlot[c]; ws >= 0 {
			V := y[c*L : c*L+L]
			w := y[ws*L : ws*L+L]
			o := out[ws*L : ws*L+L]
			A, el, f := cp.A, cp.EL, h/cp.TauW
			for l := range o {
				o[l] = float64((float64(A*(V[l]-el)) - w[l]) * f)
			}
		}
	}
	for r, sh := range e.recs {
		s := y[sh.s*L : sh.s*L+L]
		os := out[sh.s*L : sh.s*L+L]
		if sh.rise {
			x := y[sh.x*L : sh.x*L+L]
			ox := out[sh.x*L : sh.x*L+L]
			itd, itr := e.invTd[r*L:r*L+L], e.invTr[r*L:r*L+L]
			for l := range os {
				ox[l] = float64((float64(-x[l]*itd[l]) + float64(s[l]*1e3)) * h)
				os[l] = -s[l] * itr[l] * h
			}
		} else {
			itd := e.invTd[r*L : r*L+L]
			for l := range os {
				os[l] = -s[l] * itd[l] * h
			}
		}
	}
}

// step advances every lane by one update of step k with the engine's method.
func (e *engine) step(k int) {
	if len(e.mechs) > 0 {
		e.gates(k)
	}
	y := e.y
	switch e.method {
	case Euler:
		if e.linear() {
			e.linearEulerBatch()
			return
		}
		e.deriv(y, e.k1, e.dt)
		for i, d := range e.k1 {
			y[i] += d
		}
	case RK4:
		dt := e.dt
		e.deriv(y, e.k1, 1)
		for i := range y {
			e.tmp[i] = y[i] + float64(dt/2*e.k1[i])
		}
		e.deriv(e.tmp, e.k2, 1)
		for i := range y {
			e.tmp[i] = y[i] + float64(dt/2*e.k2[i])
		}
		e.deriv(e.tmp, e.k3, 1)
		for i := range y {
			e.tmp[i] = y[i] + float64(dt*e.k3[i])
		}
		e.deriv(e.tmp, e.k4, 1)
		for i := range y {
			y[i] += float64(dt / 6 * (e.k1[i] + float64(2*e.k2[i]) + float64(2*e.k3[i]) + e.k4[i]))
		}
	case ExponentialEuler:
		e.expEuler()
	}
}

// expEuler is Brian 2.5's exponential_euler: each variable separately as
// dy/dt = A y + B with A and B evaluated at the old state (nonlinear
// factors such as the Mg block frozen at the old V), then
// y' = -B/A + (y + B/A) exp(A dt). Compartments are Jacobi-coupled.
func (e *engine) expEuler() {
	L := e.L
	y, nw := e.y, e.tmp
	dt := e.dt
	// B for V: total current with the V-linear parts removed; A: minus the
	// total conductance. Both divided by C.
	for c := range e.comps {
		cp := &e.comps[c]
		V := y[c*L : c*L+L]
		a := e.acc[c*L : c*L+L]
		g := e.aV[c*L : c*L+L]
		for l := range a {
			a[l] = float64(cp.GL*cp.EL) + e.iext[c]
			g[l] = cp.GL
		}
		if ws := e.wSlot[c]; ws >= 0 {
			w := y[ws*L : ws*L+L]
			for l := range a {
				a[l] -= w[l]
			}
			if cp.Kind == AdEx {
				for l := range a {
					a[l] += float64(cp.GL * cp.DeltaT * math.Exp((V[l]-cp.VT)/cp.DeltaT))
				}
			}
		}
	}
	for _, cu := range e.coup {
		va, vb := y[cu.A*L:cu.A*L+L], y[cu.B*L:cu.B*L+L]
		for l := 0; l < L; l++ {
			e.acc[cu.A*L+l] += float64(cu.G * vb[l])
			e.aV[cu.A*L+l] += cu.G
			e.acc[cu.B*L+l] += float64(cu.G * va[l])
			e.aV[cu.B*L+l] += cu.G
		}
	}
	sy := e.syn
	V := y[sy*L : sy*L+L]
	for r, sh := range e.recs {
		slot := sh.s
		if sh.rise {
			slot = sh.x
		}
		s := y[slot*L : slot*L+L]
		for l := 0; l < L; l++ {
			g := e.geff[r*L+l] * s[l]
			if sh.block {
				g *= e.mgBlock(V[l])
			}
			e.acc[sy*L+l] += float64(g * sh.e)
			e.aV[sy*L+l] += g
		}
	}
	for m := range e.mechs {
		d := &e.mechs[m]
		for l := 0; l < L; l++ {
			gr, gf := e.gR[m*L+l], e.gF[m*L+l]
			e.acc[d.comp*L+l] += float64(gr*d.eRise) + float64(gf*d.eFall)
			e.aV[d.comp*L+l] += gr + gf
		}
	}
	for c := range e.comps {
		cp := &e.comps[c]
		for l := 0; l < L; l++ {
			i := c*L + l
			A := -e.aV[i] / cp.C
			B := e.acc[i] / cp.C
			nw[i] = expEulerStep(y[i], A, B, dt)
		}
		if ws := e.wSlot[c]; ws >= 0 {
			for l := 0; l < L; l++ {
				A := -1 / cp.TauW
				B := cp.A * (y[c*L+l] - cp.EL) / cp.TauW
				nw[ws*L+l] = expEulerStep(y[ws*L+l], A, B, dt)
			}
		}
	}
	for r, sh := range e.recs {
		for l := 0; l < L; l++ {
			s := y[sh.s*L+l]
			if sh.rise {
				nw[sh.s*L+l] = s * math.Exp(-dt*e.invTr[r*L+l])
				nw[sh.x*L+l] = expEulerStep(y[sh.x*L+l], -e.invTd[r*L+l], s*1e3, dt)
			} else {
				nw[sh.s*L+l] = s * math.Exp(-dt*e.invTd[r*L+l])
			}
		}
	}
	copy(y, nw)
}

func expEulerStep(y, A, B, dt float64) float64 {
	if A == 0 {
		return y + float64(dt*B)
	}
	if B == 0 {
		return y * math.Exp(A*dt)
	}
	ba := B / A
	return -ba + float64((y+ba)*math.Exp(A*dt))
}

// c2 lists the couplings of compartment c, in coupling order.
func c2(c int, cs []Coupling) []neighbour {
	var out []neighbour
	for _, cu := range cs {
		switch c {
		case cu.A:
			out = append(out, neighbour{o: cu.B, g: cu.G})
		case cu.B:
			out = append(out, neighbour{o: cu.A, g: cu.G})
		}
	}
	return out
}

// linear reports whether the loaded model is linear in V with constant
// coefficients between spikes: no adaptation, AdEx, Mg block or dSpikes.
func (e *engine) linear() bool { return e.isLinear }

func (e *engine) computeLinear() bool {
	if e.adaptive || len(e.mechs) > 0 {
		return false
	}
	for _, r := range e.recs {
		if r.block {
			return false
		}
	}
	return true
}
