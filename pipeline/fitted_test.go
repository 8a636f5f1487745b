package pipeline

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/sim"
	"github.com/dendfit/dendfit/sim/spec"
)

func TestFittedReceptors(t *testing.T) {
	ptr := func(v float64) *float64 { return &v }
	// Recorded values are in nS and ms; SI is recovered by one product,
	// done here at run time as FittedReceptors does it.
	nS, ms := 1e-9, 1e-3
	spec := []sim.Receptor{
		{Channel: sim.AMPA, G: 1e-9, TauDecay: 2e-3, TauRise: 0.2e-3},
		{Channel: sim.NMDA, G: 0.5e-9, TauDecay: 60e-3, TauRise: 5e-3},
	}
	with := func(edit func(rs []sim.Receptor)) []sim.Receptor {
		rs := append([]sim.Receptor(nil), spec...)
		edit(rs)
		return rs
	}
	for _, tc := range []struct {
		name string
		fit  *db.Fit
		want []sim.Receptor
		err  string
	}{
		{"no fit", nil, spec, ""},
		{"no conductances", &db.Fit{}, spec, ""},
		{"g", &db.Fit{GFitNS: []float64{3, 1.5}}, with(func(rs []sim.Receptor) { rs[0].G, rs[1].G = 3*nS, 1.5*nS }), ""},
		{"kinetics", &db.Fit{GFitNS: []float64{3, 1.5}, TDecayMS: ptr(4), TRiseMS: ptr(0.3)},
			with(func(rs []sim.Receptor) { rs[0].G, rs[1].G, rs[0].TauDecay, rs[0].TauRise = 3*nS, 1.5*nS, 4*ms, 0.3*ms }), ""},
		{"one g for two receptors", &db.Fit{Pathway: 2, GFitNS: []float64{3}}, nil, "fit of pathway 2 has 1 conductances, want one per receptor (2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FittedReceptors(spec, tc.fit)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	// A t_rise for a receptor that rises instantly cannot be put in.
	instant := []sim.Receptor{{Channel: sim.AMPA, G: 1e-9, TauDecay: 2e-3}}
	if _, err := FittedReceptors(instant, &db.Fit{GFitNS: []float64{1}, TRiseMS: ptr(0.3)}); err == nil {
		t.Error("a fitted t_rise went into an instant receptor")
	}
	if spec[0].G != 1e-9 || spec[0].TauDecay != 2e-3 {
		t.Error("FittedReceptors changed its argument")
	}
}

// TestSameModel: specs that differ in what a fit or sweep does not depend
// on (targets, grids, fit settings, the scale of g) define the same model;
// a change to the cell, the protocol, the receptors' kinetics or the
// ratio of their conductances does not.
func TestSameModel(t *testing.T) {
	text, err := os.ReadFile("../experiments/l23-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	base, err := spec.Parse("l23-demo.yaml", text)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, old, new string
		same           bool
	}{
		{"same text", "", "", true},
		{"target", "target_psp: 0.5 mV", "target_psp: 3 mV", true},
		{"kinetics target", "target_rise: 9 ms", "target_rise: 5 ms", true},
		{"grid", "steps: 30", "steps: 7", true},
		{"fit settings", "rtol: 1e-7", "rtol: 1e-5", true},
		{"g, same ratio", "g: 1 nS, t_decay: 2 ms}\n      - {channel: NMDA, g: 0.5 nS", "g: 4 nS, t_decay: 2 ms}\n      - {channel: NMDA, g: 2 nS", true},
		{"g ratio", "g: 0.5 nS", "g: 0.7 nS", false},
		{"g ratio by 1e-9", "g: 0.5 nS", "g: 0.5000000005 nS", false},
		{"leak", "gl: 40 uS/cm2, r_axial: 150 ohm*cm, v_rest: -70 mV}\n    connections", "gl: 80 uS/cm2, r_axial: 150 ohm*cm, v_rest: -70 mV}\n    connections", false},
		{"coupling", "12 nS]", "15 nS]", false},
		{"dt", "dt: 0.1 ms", "dt: 0.05 ms", false},
		{"method", "method: euler", "method: rk4", false},
		{"holding", "holding: -65 mV", "holding: -60 mV", false},
		{"synapse", "compartment: dend", "compartment: soma", false},
		{"kinetics", "t_rise: 5 ms", "t_rise: 4 ms", false},
		{"channel", "channel: NMDA", "channel: GABA", false},
		// Only the constants its receptors (AMPA, NMDA) read count.
		{"E_GABA", "\ncells:\n", "\nconstants:\n  E_GABA: -75 mV\ncells:\n", true},
		{"E_AMPA", "\ncells:\n", "\nconstants:\n  E_AMPA: 5 mV\ncells:\n", false},
		{"Mg_con", "\ncells:\n", "\nconstants:\n  Mg_con: 2\ncells:\n", false},
		{"Gamma_NMDA", "\ncells:\n", "\nconstants:\n  Gamma_NMDA: 1\ncells:\n", false},
	} {
		edited := strings.Replace(string(text), tc.old, tc.new, 1)
		if tc.old != "" && edited == string(text) {
			t.Fatalf("%s: %q not in the spec", tc.name, tc.old)
		}
		other, err := spec.Parse("edited.yaml", []byte(edited))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := SameModel(base, 0, other, 0); got != tc.same {
			t.Errorf("%s: SameModel = %v, want %v", tc.name, got, tc.same)
		}
		if got := SameModel(other, 0, base, 0); got != tc.same {
			t.Errorf("%s, specs swapped: SameModel = %v, want %v", tc.name, got, tc.same)
		}
	}
	// An NMDA/AMPA ratio of 0.23, and the spec an export writes after a
	// fit to 2.5480798 nS: 0.5860583540000001/2.5480798 is 0.23 and 4e-17.
	ratio := func(g0, g1 string) *spec.Spec {
		t.Helper()
		y := strings.Replace(string(text), "g: 1 nS, t_decay: 2 ms}\n      - {channel: NMDA, g: 0.5 nS", "g: "+g0+" nS, t_decay: 2 ms}\n      - {channel: NMDA, g: "+g1+" nS", 1)
		s, err := spec.Parse("ratio.yaml", []byte(y))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if !SameModel(ratio("1", "0.23"), 0, ratio("2.5480798", "0.5860583540000001"), 0) {
		t.Error("a ratio equal to rounding: SameModel = false, want true")
	}
	if SameModel(base, 0, base, 1) || SameModel(base, -1, base, 0) {
		t.Error("SameModel of a pathway out of range")
	}
}
