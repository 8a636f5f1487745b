package pipeline

import (
	"context"
	"math"
	"testing"

	"github.com/dendfit/dendfit/fit"
	"github.com/dendfit/dendfit/sim"
	"github.com/dendfit/dendfit/sim/spec"
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

// TestFitKineticsRecoversSimulatedTruth: simulate the seed pathway with a
// rise+decay AMPA at known g and kinetics, take its amplitude and half
// width and rise time as targets, start the fit elsewhere, and recover the
// known g and time constants.
func TestFitKineticsRecoversSimulatedTruth(t *testing.T) {
	s := loadCase(t, "ampa-rise-decay-3comp-chain")
	p := &s.Pathways[0]
	truth := p.Receptors[0]
	truth.G, truth.TauDecay, truth.TauRise = 1.7e-9, 6e-3, 1.2e-3
	setup, _, err := s.Setup(0)
	if err != nil {
		t.Fatal(err)
	}
	want, err := SimulateOne(context.Background(), s, 0, setup, []sim.Receptor{truth}, false)
	if err != nil {
		t.Fatal(err)
	}
	p.TargetPSP = math.Abs(want.PSPMV) * 1e-3
	p.TargetHalfWidth = *want.HalfWidthMS * 1e-3
	p.TargetRise = *want.Rise1090MS * 1e-3
	res, err := Fit(context.Background(), s, &FitOptions{NoFine: true})
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	if !r.Converged {
		t.Fatalf("%s: %s", r.Outcome, r.Message)
	}
	if math.Abs(*r.TDecayMS/6-1) > 1e-3 || math.Abs(*r.TRiseMS/1.2-1) > 1e-3 || math.Abs(r.GFitNS[0]/1.7-1) > 1e-3 {
		t.Errorf("fit g %v nS, t_decay %v ms, t_rise %v ms; want 1.7, 6, 1.2 (%s)", r.GFitNS, *r.TDecayMS, *r.TRiseMS, r.Message)
	}
	if math.Abs(r.PSPAtFitMV-math.Abs(want.PSPMV)) > s.Fit.RTol*math.Abs(want.PSPMV)*1.001 {
		t.Errorf("amplitude %v, want %v", r.PSPAtFitMV, want.PSPMV)
	}
	if len(r.Residuals) != 2 {
		t.Errorf("residuals %+v", r.Residuals)
	}
	t.Logf("%d evaluations; %s", r.Evaluations, r.Message)
}

func loadCase(t *testing.T, name string) *spec.Spec {
	t.Helper()
	s, err := spec.Load("testdata/reference/cases/" + name + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	return s
}
