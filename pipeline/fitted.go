package pipeline

import (
	"fmt"
	"math"
	"reflect"
	"slices"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/sim"
	"github.com/dendfit/dendfit/sim/spec"
)

// FittedReceptors returns a copy of a pathway's receptors rs (as its spec
// gives them) with what fit f recorded put in: every receptor's g and,
// after a kinetics fit, the first receptor's t_decay and t_rise. Exports,
// plots and reports all simulate or write the fitted pathway through it,
// so that none of them keeps the spec's kinetics beside a fitted g. A nil
// fit, or one that recorded no conductances, leaves rs as it is.
func FittedReceptors(rs []sim.Receptor, f *db.Fit) ([]sim.Receptor, error) {
	out := slices.Clone(rs)
	if f == nil || len(f.GFitNS) == 0 {
		return out, nil
	}
	if len(f.GFitNS) != len(rs) {
		return nil, fmt.Errorf("fit of pathway %d has %d conductances, want one per receptor (%d)", f.Pathway, len(f.GFitNS), len(rs))
	}
	for j := range out {
		out[j].G = f.GFitNS[j] * 1e-9
	}
	if f.TDecayMS != nil {
		out[0].TauDecay = *f.TDecayMS * 1e-3
	}
	if f.TRiseMS != nil {
		if rs[0].TauRise == 0 {
			return nil, fmt.Errorf("fit of pathway %d has a t_rise, but its first receptor rises instantly", f.Pathway)
		}
		out[0].TauRise = *f.TRiseMS * 1e-3
	}
	return out, nil
}

// SameModel says whether pathway i of a and pathway j of b are one model
// up to the scale of their conductances: the same name (pre, post,
// receptors), cell, constants and protocol (method, dt, window, synapse
// and recording site, holding), and the same receptors and kinetics with
// conductances in the same ratios. A fit or sweep recorded for one then
// holds for the other, whatever else their specs change (targets, grids,
// fit settings, other pathways, the spec g that a fit replaces); a
// figure that applied a fit of another cell would show numbers no model
// gives.
func SameModel(a *spec.Spec, i int, b *spec.Spec, j int) bool {
	if i < 0 || i >= len(a.Pathways) || j < 0 || j >= len(b.Pathways) || a.Pathways[i].Label() != b.Pathways[j].Label() {
		return false
	}
	sa, ra, err := a.Setup(i)
	if err != nil {
		return false
	}
	sb, rb, err := b.Setup(j)
	if err != nil || !reflect.DeepEqual(sa, sb) || len(ra) != len(rb) {
		return false
	}
	for k := range ra {
		x, y := ra[k], rb[k]
		// The same ratio, to rounding: an exported spec's g (g x the
		// fit's factor) divides back to its ratio within an ulp or two.
		if gx, gy := x.G*rb[0].G, y.G*ra[0].G; math.Abs(gx-gy) > 1e-12*max(math.Abs(gx), math.Abs(gy)) {
			return false
		}
		x.G, y.G = 0, 0
		if x != y {
			return false
		}
	}
	return true
}
