package sim

import "math"

// runScalarEuler runs steps start..n-1 of a one-lane Euler batch and keeps
// V_record from k0 on. It is the hot loop of fits and of single PSPs: the
// whole run stays in one function with the model in local slices, so the
// compiler keeps their headers in registers instead of reloading them after
// every store. It performs the same floating-point operations in the same
// order as the batched kernel (deriv + the Euler update), so a point gives
// bit-identical numbers alone or in a batch (TestBatchMatchesScalar).
func (s *Simulator) runScalarEuler(start int, events *[]DSpikeEvent) {
	e := s.e
	n, k0 := s.nSteps, s.k0
	nc := len(e.comps)
	y := e.y
	acc := e.acc[:nc]
	rec := s.rec[:n-k0]
	ri := s.setup.Protocol.Record
	dt := e.dt
	gl, el, ie, dtc := e.cGL[:nc], e.cEL[:nc], e.iext[:nc], e.cDtC[:nc]
	wslot := e.wSlot[:nc]
	nbStart, nbs := e.nbStart, e.nbs
	recs := e.recs
	geff, invTd, invTr := e.geff[:len(recs)], e.invTd[:len(recs)], e.invTr[:len(recs)]
	sy := e.syn
	adaptive := e.adaptive
	mechs := e.mechs
	for k := start; k < n; k++ {
		if k >= k0 {
			rec[k-k0] = y[ri]
		}
		if len(mechs) > 0 {
			e.gates(k)
		}
		// Gather form: each compartment's current is summed in a register,
		// adding its couplings in coupling order, then synapses, then
		// dSpikes: the same sequence of additions as the scatter loops of
		// the batched kernel, hence the same rounding.
		for c := range acc {
			v := y[c]
			a := gl[c]*(el[c]-v) + ie[c]
			if adaptive {
				if ws := wslot[c]; ws >= 0 {
					cp := &e.comps[c]
					a -= y[ws]
					if cp.Kind == AdEx {
						a += cp.GL * cp.DeltaT * math.Exp((v-cp.VT)/cp.DeltaT)
					}
				}
			}
			for j := nbStart[c]; j < nbStart[c+1]; j++ {
				nb := &nbs[j]
				a += nb.g * (y[nb.o] - v)
			}
			if c == sy {
				for r := range recs {
					sh := &recs[r]
					slot := sh.s
					if sh.rise {
						slot = sh.x
					}
					if sh.block {
						a += geff[r] * (sh.e - v) * y[slot] * e.mgBlock(v)
					} else {
						a += geff[r] * (sh.e - v) * y[slot]
					}
				}
			}
			for _, m := range e.compMechs[c] {
				d := &mechs[m]
				if gr, gf := e.gR[m], e.gF[m]; gr != 0 || gf != 0 {
					a += gr*(d.eRise-v) + gf*(d.eFall-v)
				}
			}
			acc[c] = v + a*dtc[c]
		}
		// w, s and x read the old V and s: update them before V and x.
		if adaptive {
			for c := range acc {
				if ws := wslot[c]; ws >= 0 {
					cp := &e.comps[c]
					y[ws] += (cp.A*(y[c]-cp.EL) - y[ws]) * (dt / cp.TauW)
				}
			}
		}
		for r := range recs {
			sh := &recs[r]
			sv := y[sh.s]
			if sh.rise {
				y[sh.x] += (-y[sh.x]*invTd[r] + sv*1e3) * dt
				y[sh.s] += -sv * invTr[r] * dt
			} else {
				y[sh.s] += -sv * invTd[r] * dt
			}
		}
		for c, v := range acc {
			y[c] = v
		}
		if len(mechs) > 0 {
			s.checkDSpikes(k, []*[]DSpikeEvent{events})
		}
		if k == k0 {
			for r := range recs {
				y[recs[r].s]++
			}
		}
	}
}
