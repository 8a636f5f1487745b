package sim

import "context"

// maxLinearReceptors bounds the receptors runLinearEuler keeps in local
// arrays.
const maxLinearReceptors = 8

// runLinearEuler runs steps start..n-1 of a one-lane Euler batch of the
// common linear case (passive or leakyIF compartments, AMPA/GABA
// receptors, no dSpikes) and keeps V_record from k0 on. It is the hot loop
// of fits and single PSPs: the whole run stays in one function with the
// model in local slices and arrays, so the compiler keeps them in
// registers, several times faster than the general per-step loop. The
// arithmetic is the same operations in the same order as the batched
// kernels, so results are bit-identical (TestBatchMatchesScalar). It
// returns ctx's error if ctx ends first, checked every 1024 steps as the
// general loop does.
func (s *Simulator) runLinearEuler(ctx context.Context, start int, early bool) error {
	e := s.e
	n, k0 := s.nSteps, s.k0
	nc := len(e.comps)
	y := e.y
	vNew := e.acc[:nc]
	rec := s.rec[:n-k0]
	ri := s.setup.Protocol.Record
	dt := e.dt
	gl, el, ie, dtc := e.cGL[:nc], e.cEL[:nc], e.iext[:nc], e.cDtC[:nc]
	nbStart, nbs := e.nbStart[:nc+1], e.nbs
	sy := e.syn
	nr := len(e.recs)
	// Per receptor: the slot that drives the current (s, or x with a rise),
	// its reversal and rate constants, in flat local arrays.
	var drvA, sA, xA [maxLinearReceptors]int
	var eA, gA, itdA, itrA [maxLinearReceptors]float64
	for r := 0; r < nr; r++ {
		sh := &e.recs[r]
		sA[r], xA[r], drvA[r] = sh.s, sh.x, sh.s
		if sh.rise {
			drvA[r] = sh.x
		}
		eA[r], gA[r], itdA[r], itrA[r] = sh.e, e.geff[r], e.invTd[r], e.invTr[r]
	}
	// V ping-pongs between two buffers so that no load waits on a store
	// of the same step.
	cur := e.k1[:nc]
	copy(cur, y[:nc])
	for k := start; k < n; k++ {
		if (k-k0)&1023 == 0 && ctx != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		if k >= k0 {
			rec[k-k0] = cur[ri]
			if early && k > k0 && (k-k0)%stopEvery == 0 {
				copy(y[:nc], cur)
				if s.canStop(k-k0, false, nil) {
					s.filled = k - k0 + 1
					return nil
				}
			}
		}
		for c := 0; c < nc; c++ {
			v := cur[c]
			a := float64(gl[c]*(el[c]-v)) + ie[c]
			for j := nbStart[c]; j < nbStart[c+1]; j++ {
				a += float64(nbs[j].g * (cur[nbs[j].o] - v))
			}
			if c == sy {
				for r := 0; r < nr; r++ {
					a += float64(gA[r] * (eA[r] - v) * y[drvA[r]])
				}
			}
			vNew[c] = v + float64(a*dtc[c])
		}
		for r := 0; r < nr; r++ {
			sv := y[sA[r]]
			if x := xA[r]; x >= 0 {
				y[x] += float64((float64(-y[x]*itdA[r]) + float64(sv*1e3)) * dt)
				y[sA[r]] += float64(-sv * itrA[r] * dt)
			} else {
				y[sA[r]] += float64(-sv * itdA[r] * dt)
			}
		}
		cur, vNew = vNew, cur
		if k == k0 {
			for r := 0; r < nr; r++ {
				y[sA[r]]++
			}
		}
	}
	copy(y[:nc], cur)
	return nil
}

// linearEulerBatch is one Euler update of a batch of lanes for the linear
// models (see runLinearEuler): the same operations in the same order, with
// the lane loop innermost so that each is a tight loop over contiguous
// memory.
func (e *engine) linearEulerBatch() {
	L := e.L
	y, acc := e.y, e.acc
	dt := e.dt
	sy := e.syn
	// New V of every compartment into acc (the old V is read by the
	// neighbours), one fused pass a compartment where it has at most two
	// couplings and, at the synapse, one receptor; the general passes
	// otherwise. Either way the additions come in the same order.
	for c := range e.comps {
		V := y[c*L : c*L+L]
		a := acc[c*L : c*L+L]
		a = a[:len(V)]
		gl, el, ie, dtc := e.cGL[c], e.cEL[c], e.iext[c], e.cDtC[c]
		nb := e.nbs[e.nbStart[c]:e.nbStart[c+1]]
		if len(nb) <= 2 && (c != sy || len(e.recs) == 1) {
			var g0, g1 float64
			V0, V1 := V, V // placeholders for absent neighbours, never read
			if len(nb) > 0 {
				g0, V0 = nb[0].g, y[nb[0].o*L:nb[0].o*L+L]
			}
			if len(nb) > 1 {
				g1, V1 = nb[1].g, y[nb[1].o*L:nb[1].o*L+L]
			}
			V0, V1 = V0[:len(V)], V1[:len(V)]
			switch {
			case c == sy:
				sh := &e.recs[0]
				slot := sh.s
				if sh.rise {
					slot = sh.x
				}
				d := y[slot*L : slot*L+L]
				gr := e.geff[:L]
				E := sh.e
				d, gr = d[:len(V)], gr[:len(V)]
				switch len(nb) {
				case 0:
					for l, v := range V {
						t := float64(gl*(el-v)) + ie
						t += float64(gr[l] * (E - v) * d[l])
						a[l] = v + float64(t*dtc)
					}
				case 1:
					for l, v := range V {
						t := float64(gl*(el-v)) + ie
						t += float64(g0 * (V0[l] - v))
						t += float64(gr[l] * (E - v) * d[l])
						a[l] = v + float64(t*dtc)
					}
				default:
					for l, v := range V {
						t := float64(gl*(el-v)) + ie
						t += float64(g0 * (V0[l] - v))
						t += float64(g1 * (V1[l] - v))
						t += float64(gr[l] * (E - v) * d[l])
						a[l] = v + float64(t*dtc)
					}
				}
			default:
				switch len(nb) {
				case 0:
					for l, v := range V {
						t := float64(gl*(el-v)) + ie
						a[l] = v + float64(t*dtc)
					}
				case 1:
					for l, v := range V {
						t := float64(gl*(el-v)) + ie
						t += float64(g0 * (V0[l] - v))
						a[l] = v + float64(t*dtc)
					}
				default:
					for l, v := range V {
						t := float64(gl*(el-v)) + ie
						t += float64(g0 * (V0[l] - v))
						t += float64(g1 * (V1[l] - v))
						a[l] = v + float64(t*dtc)
					}
				}
			}
			continue
		}
		for l, v := range V {
			a[l] = float64(gl*(el-v)) + ie
		}
		for _, n := range nb {
			g := n.g
			Vo := y[n.o*L : n.o*L+L]
			Vo = Vo[:len(V)]
			for l, v := range V {
				a[l] += float64(g * (Vo[l] - v))
			}
		}
		if c == sy {
			for r := range e.recs {
				sh := &e.recs[r]
				slot := sh.s
				if sh.rise {
					slot = sh.x
				}
				d := y[slot*L : slot*L+L]
				gr := e.geff[r*L : r*L+L]
				E := sh.e
				d, gr = d[:len(V)], gr[:len(V)]
				for l, v := range V {
					a[l] += float64(gr[l] * (E - v) * d[l])
				}
			}
		}
		for l, v := range V {
			a[l] = v + float64(a[l]*dtc)
		}
	}
	for r := range e.recs {
		sh := &e.recs[r]
		s := y[sh.s*L : sh.s*L+L]
		itd := e.invTd[r*L : r*L+L]
		itd = itd[:len(s)]
		if sh.rise {
			x := y[sh.x*L : sh.x*L+L]
			itr := e.invTr[r*L : r*L+L]
			x, itr = x[:len(s)], itr[:len(s)]
			for l, sv := range s {
				x[l] += float64((float64(-x[l]*itd[l]) + float64(sv*1e3)) * dt)
				s[l] += float64(-sv * itr[l] * dt)
			}
		} else {
			for l, sv := range s {
				s[l] += float64(-sv * itd[l] * dt)
			}
		}
	}
	n := len(e.comps) * L
	copy(y[:n], acc[:n])
}

// vecPlan is the vector loop of fusedEuler prepared for one run (the zero
// value when there is none).
type vecPlan struct {
	run fused2Steps // advances lanes [0, n); nil if there is no vector loop
	n   int
	key vecKey // what it was prepared for
}

// vecKey is what a vector loop depends on: its constants, and where the
// state, per-lane parameters and extremes it works on live (setShape
// reallocates them when a run needs more room, and a loop prepared for
// the old arrays must not be reused on the new).
type vecKey struct {
	c       [12]float64
	slot, L int
	mode    int
	recB    bool
	mem     [5]*float64 // y, geff, invTd, hi, lo
}

// first is &x[0], or nil for an empty x.
func first(x []float64) *float64 {
	if len(x) == 0 {
		return nil
	}
	return &x[0]
}

// fused2Steps advances the vector loop's lanes m >= 1 steps. When rec is
// not nil, it first stores each step's sample of the record compartment:
// step t's into rec[t*L : t*L+n], L the batch's lanes.
type fused2Steps func(m int, rec []float64)

// fuseOff disables fusedEuler, vecOff its vector loops and vec512Off
// their eight-lane kernels, for tests and benchmarks that compare them
// with the general path and each other.
var fuseOff, vecOff, vec512Off bool

// canFuse reports whether fusedEuler applies: Euler, linear, one
// receptor and one or two compartments (a point cell, or soma and
// dendrite: the reduced models sweeps spend most of their time on).
func (e *engine) canFuse() bool {
	if fuseOff || e.method != Euler || !e.linear() || len(e.recs) != 1 || len(e.mechs) > 0 {
		return false
	}
	switch len(e.comps) {
	case 1:
		return e.nbStart[1] == 0
	case 2:
		return e.nbStart[1]-e.nbStart[0] == 1 && e.nbStart[2]-e.nbStart[1] == 1
	}
	return false
}

// prepareVec readies fusedEuler's vector loop for the run (s.vec), for
// two compartments without a rise time; the state and parameters stay
// where they are for the whole run.
func (s *Simulator) prepareVec(track bool) {
	s.vec = vecPlan{}
	e := s.e
	sh := &e.recs[0]
	if len(e.comps) != 2 || sh.rise {
		return
	}
	L := e.L
	y := e.y
	a, b := e.syn, 1-e.syn
	c := [12]float64{e.cEL[a], e.cGL[a], e.iext[a], e.nbs[e.nbStart[a]].g, sh.e,
		e.cEL[b], e.cGL[b], e.iext[b], e.nbs[e.nbStart[b]].g, e.cDtC[a], e.cDtC[b], e.dt}
	rec := s.setup.Protocol.Record
	mode := 0
	var hi, lo []float64
	if track {
		o := a // the compartment that is not recorded
		mode = 1
		if o == rec {
			o, mode = b, 2
		}
		hi, lo = s.vmax[o*L:o*L+L], s.vmin[o*L:o*L+L]
	}
	// A sweep runs thousands of batches of one shape: the loop prepared
	// for the last is reused.
	key := vecKey{c: c, slot: sh.s, L: L, mode: mode, recB: rec == b,
		mem: [5]*float64{first(y), first(e.geff), first(e.invTd), first(hi), first(lo)}}
	if s.vecs.run != nil && s.vecs.key == key && !vecOff && !vec512Off {
		s.vec = s.vecs
		return
	}
	s.vec.n, s.vec.run = fused2Prepare(y[a*L:a*L+L], y[b*L:b*L+L], y[sh.s*L:sh.s*L+L], e.geff[:L], e.invTd[:L],
		hi, lo, mode, rec == b, &c)
	s.vec.key = key
	s.vecs = s.vec
}

// fusedEuler is one Euler update of the batch, as linearEulerBatch, and
// the monitor of the step's sample: the running extremes of the
// compartment that is not recorded (the recorded one is scanned from its
// samples) when track is set. Each lane's state is loaded once, updated in
// registers and stored in place, instead of one pass a compartment, one
// for the receptor and a copy. The arithmetic is linearEulerBatch's, in
// the same order, so results are bit-identical (TestFusedMatchesGeneral);
// where it reads s - s*a*b for s + -s*a*b, and x + (s*1e3 - x*a)*b for
// x + (-x*a + s*1e3)*b, the two are the same IEEE operations (negation
// and addition commute exactly), written so that no sign flip is left in
// the loop. For two compartments without a rise time, the largest multiple
// of four of the lanes goes through fused2AVX2 where the CPU has AVX2
// (prepared once a run by prepareVec), the rest through the Go loop.
func (s *Simulator) fusedEuler(track bool) {
	if s.vec.run != nil {
		s.vec.run(1, nil)
		if s.vec.n == s.e.L {
			return
		}
	}
	e := s.e
	L := e.L
	y := e.y
	dt := e.dt
	sh := &e.recs[0]
	E := sh.e
	S := y[sh.s*L : sh.s*L+L]
	gr := e.geff[:L]
	itd := e.invTd[:L]
	gr, itd = gr[:len(S)], itd[:len(S)]
	a := e.syn // the synapse's compartment
	glA, elA, ieA, dtcA := e.cGL[a], e.cEL[a], e.iext[a], e.cDtC[a]
	VA := y[a*L : a*L+L]
	VA = VA[:len(S)]
	if len(e.comps) == 1 {
		if sh.rise {
			X := y[sh.x*L : sh.x*L+L]
			itr := e.invTr[:L]
			X, itr = X[:len(S)], itr[:len(S)]
			for l, sv := range S {
				v, x := VA[l], X[l]
				t := float64(glA*(elA-v)) + ieA
				t += float64(gr[l] * (E - v) * x)
				VA[l] = v + float64(t*dtcA)
				X[l] = x + float64((float64(sv*1e3)-float64(x*itd[l]))*dt)
				S[l] = sv - float64(sv*itr[l]*dt)
			}
			return
		}
		for l, sv := range S {
			v := VA[l]
			t := float64(glA*(elA-v)) + ieA
			t += float64(gr[l] * (E - v) * sv)
			VA[l] = v + float64(t*dtcA)
			S[l] = sv - float64(sv*itd[l]*dt)
		}
		return
	}
	b := 1 - a
	glB, elB, ieB, dtcB := e.cGL[b], e.cEL[b], e.iext[b], e.cDtC[b]
	gAB, gBA := e.nbs[e.nbStart[a]].g, e.nbs[e.nbStart[b]].g
	VB := y[b*L : b*L+L]
	VB = VB[:len(S)]
	// The unrecorded compartment's extremes, before its update: a pass of
	// its own keeps the update loop free of branches.
	o := a
	if o == s.setup.Protocol.Record {
		o = b
	}
	n0 := s.vec.n // lanes the vector loop advanced
	if track {
		trackExtremes(y[o*L+n0:o*L+L], s.vmax[o*L+n0:o*L+L], s.vmin[o*L+n0:o*L+L])
	}
	// In linearEulerBatch compartment 0 is updated first; the order of the
	// two updates does not matter (each reads only old values), the order
	// of the additions within each does, and is kept.
	if sh.rise {
		X := y[sh.x*L : sh.x*L+L]
		itr := e.invTr[:L]
		X, itr = X[:len(S)], itr[:len(S)]
		for l, sv := range S {
			va, vb, x := VA[l], VB[l], X[l]
			ta := float64(glA*(elA-va)) + ieA
			ta += float64(gAB * (vb - va))
			ta += float64(gr[l] * (E - va) * x)
			tb := float64(glB*(elB-vb)) + ieB
			tb += float64(gBA * (va - vb))
			VA[l] = va + float64(ta*dtcA)
			VB[l] = vb + float64(tb*dtcB)
			X[l] = x + float64((float64(sv*1e3)-float64(x*itd[l]))*dt)
			S[l] = sv - float64(sv*itr[l]*dt)
		}
		return
	}
	for l := n0; l < len(S); l++ {
		sv := S[l]
		va, vb := VA[l], VB[l]
		ta := float64(glA*(elA-va)) + ieA
		ta += float64(gAB * (vb - va))
		ta += float64(gr[l] * (E - va) * sv)
		tb := float64(glB*(elB-vb)) + ieB
		tb += float64(gBA * (va - vb))
		VA[l] = va + float64(ta*dtcA)
		VB[l] = vb + float64(tb*dtcB)
		S[l] = sv - float64(sv*itd[l]*dt)
	}
}
