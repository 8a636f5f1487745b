package pipeline

import (
	"reflect"
	"strings"
	"testing"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/sim"
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
