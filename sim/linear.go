package sim

// runLinearEuler is runScalarEuler for the common linear case: passive or
// leakyIF compartments, AMPA/GABA receptors (no Mg block), no dSpikes.
// A smaller loop body keeps every hot value in a register, which makes a
// single PSP several times faster than the general loop; the arithmetic is
// the same operations in the same order, so results are bit-identical.
func (s *Simulator) runLinearEuler(start int) {
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
	var drvA, sA, xA [8]int
	var eA, gA, itdA, itrA [8]float64
	if nr > len(drvA) {
		s.runScalarEuler(start, nil)
		return
	}
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
		if k >= k0 {
			rec[k-k0] = cur[ri]
		}
		for c := 0; c < nc; c++ {
			v := cur[c]
			a := gl[c]*(el[c]-v) + ie[c]
			for j := nbStart[c]; j < nbStart[c+1]; j++ {
				a += nbs[j].g * (cur[nbs[j].o] - v)
			}
			if c == sy {
				for r := 0; r < nr; r++ {
					a += gA[r] * (eA[r] - v) * y[drvA[r]]
				}
			}
			vNew[c] = v + a*dtc[c]
		}
		for r := 0; r < nr; r++ {
			sv := y[sA[r]]
			if x := xA[r]; x >= 0 {
				y[x] += (-y[x]*itdA[r] + sv*1e3) * dt
				y[sA[r]] += -sv * itrA[r] * dt
			} else {
				y[sA[r]] += -sv * itdA[r] * dt
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
}
