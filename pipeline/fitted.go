package pipeline

import (
	"fmt"
	"slices"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/sim"
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
