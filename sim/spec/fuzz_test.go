package spec

import (
	"math"
	"os"
	"strings"
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
			if !isSpecError(err) {
				t.Fatalf("error %T is not an *Error or Errors: %v", err, err)
			}
			es, ok := err.(Errors)
			if !ok {
				es = Errors{err.(*Error)}
			}
			for _, e := range es {
				if strings.Contains(e.Error(), "\n") {
					t.Fatalf("error of more than one line: %q", e)
				}
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != min(len(es), maxShown+1) {
				t.Fatalf("%d errors in %d lines: %q", len(es), n, err)
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

// isSpecError reports whether err is an *Error, or Errors of them.
func isSpecError(err error) bool {
	switch e := err.(type) {
	case *Error:
		return true
	case Errors:
		return len(e) > 1
	case *WarnedError:
		return len(e.Warnings) > 0 && isSpecError(e.Err)
	}
	return false
}

// Extreme magnitudes in every numeric field give an *Error (Errors where
// several fields have them) or finite values, never a panic or an Inf.
func TestExtremeValues(t *testing.T) {
	fields := []struct{ old, unit string }{
		{"length: 20 um\n      diameter: 2 um", "um"},
		{"diameter: 2 um", "um"},
		{"gl: 40 uS/cm2\n      r_axial", "uS/cm2"},
		{"r_axial: 150 ohm*cm\n    connections", "ohm*cm"},
		{"dt: 0.1 ms", "ms"},
		{"duration: 100 ms", "ms"},
		{"spike_at: 10 ms", "ms"},
		{"g: 1 nS", "nS"},
		{"t_decay: 2 ms", "ms"},
	}
	values := []string{"1e-320", "4.9e-324", "1e-30", "1e30", "1e300", "1.7976931348623157e308"}
	for _, f := range fields {
		key := f.old[:strings.Index(f.old, ":")]
		for _, v := range values {
			y := strings.Replace(dimBase, f.old, strings.Replace(f.old, f.old[len(key)+2:strings.Index(f.old+"\n", "\n")], v+" "+f.unit, 1), 1)
			for _, extra := range []string{"", "    t_rise: " + v + " ms\n    scale_g: true\n"} {
				if y == dimBase {
					t.Fatalf("%s: no substitution", key)
				}
				s, err := Parse("x.yaml", []byte(y+extra))
				if err != nil {
					if !isSpecError(err) {
						t.Errorf("%s %s: error %T", key, v, err)
					}
					continue
				}
				for i := range s.Pathways {
					su, rs, err := s.Setup(i)
					if err != nil {
						t.Errorf("%s %s: Setup: %v", key, v, err)
						continue
					}
					for _, k := range su.Cell.Compartments {
						if math.IsInf(k.C, 0) || math.IsInf(k.GL, 0) || !(k.C > 0) || !(k.GL > 0) {
							t.Errorf("%s %s: %+v", key, v, k)
						}
					}
					for _, r := range rs {
						if g := r.EffectiveG(); math.IsInf(g, 0) || !(g > 0) {
							t.Errorf("%s %s: effective g %v", key, v, g)
						}
					}
				}
			}
		}
	}
}
