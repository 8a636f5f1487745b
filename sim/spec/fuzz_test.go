package spec

import (
	"math"
	"os"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, file := range caseFiles(f) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(base))
	f.Add([]byte(dimBase))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T is not an *Error: %v", err, err)
			}
			return
		}
		finite := func(what string, v float64) {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%s = %v", what, v)
			}
		}
		finite("dt", s.Simulation.Dt)
		finite("duration", s.Simulation.Duration)
		finite("spike_at", s.Simulation.SpikeAt)
		for _, c := range s.Cells {
			sc, err := s.Cell(c.Name)
			if err != nil {
				t.Fatalf("valid spec, but Cell(%s): %v", c.Name, err)
			}
			for _, k := range sc.Compartments {
				for _, v := range []float64{k.C, k.GL, k.EL, k.A, k.TauW, k.DeltaT, k.VT} {
					finite(k.Name, v)
				}
				if !(k.C > 0 && k.GL > 0) {
					t.Fatalf("%s: C %v gL %v", k.Name, k.C, k.GL)
				}
			}
			for _, g := range sc.Couplings {
				if !(g.G > 0) || math.IsInf(g.G, 0) {
					t.Fatalf("coupling %v", g)
				}
			}
		}
		for i, p := range s.Pathways {
			if _, _, err := s.Setup(i); err != nil {
				t.Fatalf("valid spec, but Setup(%d): %v", i, err)
			}
			for _, r := range p.Receptors {
				finite("g", r.G)
				finite("t_decay", r.TauDecay)
				finite("t_rise", r.TauRise)
				finite("g_eff", r.EffectiveG())
			}
			finite("holding", p.Holding)
			finite("target", p.TargetPSP)
		}
		for _, a := range []Axis{s.Sweep.G, s.Sweep.TDecay, s.Sweep.TRise} {
			for _, v := range a.Values() {
				finite("axis", v)
			}
		}
	})
}
