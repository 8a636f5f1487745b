package pipeline

import (
	"context"
	"math"
	"testing"

	"github.com/dendfit/dendfit/fit"
)

// TestFitMatchesReference: every reference pathway with g_fit_nS is fitted
// to it within 1e-6 relative (the reference converged to ~1e-13; we stop
// at |PSP| rtol 1e-7), and pathways the reference could not fit are
// reported unconverged.
func TestFitMatchesReference(t *testing.T) {
	fitted, refused := 0, 0
	for _, rc := range loadReference(t) {
		res, err := Fit(context.Background(), rc.spec, &FitOptions{NoFine: true})
		if err != nil {
			t.Fatalf("%s: %v", rc.name, err)
		}
		byPath := map[int]FitResult{}
		for _, r := range res {
			byPath[r.Pathway] = r
		}
		for i, w := range rc.want.Pathways {
			if w.TargetPSPMV == nil {
				continue
			}
			got, ok := byPath[i]
			if !ok {
				t.Errorf("%s pathway %d: not fitted", rc.name, i)
				continue
			}
			if w.GFitNS == nil {
				refused++
				if got.Converged {
					t.Errorf("%s pathway %d: converged to %v nS, but the reference has no fit (%v)", rc.name, i, got.GFitNS, *w.GFitReason)
				}
				continue
			}
			fitted++
			if !got.Converged || math.Abs(got.GFitNS[0] / *w.GFitNS - 1) > 1e-6 {
				t.Errorf("%s pathway %d: g %v nS (%s), want %v", rc.name, i, got.GFitNS, got.Outcome, *w.GFitNS)
			}
			if math.Abs(got.PSPAtFitMV-*w.TargetPSPMV) > 1e-7**w.TargetPSPMV*1.0000001 {
				t.Errorf("%s pathway %d: psp at fit %v, target %v", rc.name, i, got.PSPAtFitMV, *w.TargetPSPMV)
			}
			if got.Evaluations > 12 {
				t.Errorf("%s pathway %d: %d evaluations", rc.name, i, got.Evaluations)
			}
		}
	}
	t.Logf("%d pathways fitted to the reference, %d refused like it", fitted, refused)
	if fitted == 0 {
		t.Fatal("nothing compared")
	}
	_ = fit.Converged
}
