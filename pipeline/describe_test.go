package pipeline

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/dendfit/dendfit/sim/spec"
)

// TestDescribe checks resolved cells against Dendrify's formulas by hand:
// area = pi L d scale spine, C = area cm, gL = area gl, a half-cylinder
// coupling 2/(r_a + r_b) with r = 4 Ra L/(pi d^2), and the fastest passive
// rate of two equal coupled compartments (gL + 2 g)/C.
func TestDescribe(t *testing.T) {
	seed := loadCase(t, "seed-ampa-2comp-dimensional")
	cells, err := Describe(seed)
	if err != nil {
		t.Fatal(err)
	}
	area := math.Pi * 20e-6 * 20e-6 * 5
	C, gL := area*0.01, area*0.4
	c := cells[0]
	for _, cp := range c.Compartments {
		if math.Abs(cp.CPF/(C/1e-12)-1) > 1e-12 || math.Abs(cp.GLNS/(gL/1e-9)-1) > 1e-12 || cp.RestMV == nil || *cp.RestMV != -70 {
			t.Errorf("%s: %+v, want C %g pF, gL %g nS", cp.Name, cp, C/1e-12, gL/1e-9)
		}
	}
	if want := C / (gL + 2*12e-9) / 1e-3; math.Abs(c.FastestTauMS/want-1) > 1e-9 {
		t.Errorf("fastest tau %g ms, want %g", c.FastestTauMS, want)
	}
	hc := loadCase(t, "half-cylinders-explicit-2comp")
	cells, err = Describe(hc)
	if err != nil {
		t.Fatal(err)
	}
	r := func(L, d float64) float64 { return 4 * 1.0 * L / (math.Pi * d * d) } // 100 ohm cm = 1 ohm m
	want := 2 / (r(30e-6, 15e-6) + r(150e-6, 3e-6)) / 1e-9
	if got := cells[0].Couplings[0].GNS; math.Abs(got/want-1) > 1e-12 {
		t.Errorf("half-cylinder coupling %g nS, want %g", got, want)
	}
	// A point cell's couplings are an empty list, not null, in the JSON.
	pt := loadCase(t, "ampa-instant-point-cell-dimensionless")
	if cells, err = Describe(pt); err != nil {
		t.Fatal(err)
	}
	if b, err := json.Marshal(cells[0]); err != nil || !strings.Contains(string(b), `"couplings":[]`) {
		t.Errorf("point cell: %s (%v), want \"couplings\":[]", b, err)
	}
}

// TestDescribeCellWithNoRest: a cell with no resting state (an AdEx soma
// resting above its threshold) is described, with no rest and why; describe
// failed whole, where it is the command for finding out.
func TestDescribeCellWithNoRest(t *testing.T) {
	s, err := spec.Load("export/testdata/no-steady-state.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cells, err := Describe(s)
	if err != nil {
		t.Fatal(err)
	}
	c := cells[0]
	if !strings.Contains(c.NoRest, "AdEx soma has v_rest -40 mV, above -51.64 mV") || len(c.Compartments) != 2 {
		t.Fatalf("%+v", c)
	}
	for _, cp := range c.Compartments {
		if cp.RestMV != nil {
			t.Errorf("%s: rest %v mV, want none", cp.Name, *cp.RestMV)
		}
	}
}

// TestDescribeInputResistance checks R_in against the inverse of the
// two-compartment conductance matrix: at compartment a of conductances
// ga (leak, plus adaptiveIF's a at steady state) and gb coupled by gc,
// R_a = (gb + gc) / (ga gb + ga gc + gb gc); a point cell's is 1/gL.
func TestDescribeInputResistance(t *testing.T) {
	two := func(ga, gb, gc float64) float64 { return (gb + gc) / (ga*gb + ga*gc + gb*gc) }
	area := math.Pi * 20e-6 * 20e-6 * 5
	gL := area * 0.4
	for _, tc := range []struct {
		name string
		want []float64 // ohm, per compartment
	}{
		{"seed-ampa-2comp-dimensional", []float64{two(gL, gL, 12e-9), two(gL, gL, 12e-9)}},
		// The adaptation current at steady state, a (V - EL), adds a to
		// the soma's leak.
		{"adaptiveif-soma-ampa-dend", []float64{two(12e-9, 2.5e-9, 15e-9), two(2.5e-9, 12e-9, 15e-9)}},
		{"ampa-instant-point-cell-dimensionless", nil},
	} {
		s := loadCase(t, tc.name)
		cells, err := Describe(s)
		if err != nil {
			t.Fatal(err)
		}
		cps := cells[0].Compartments
		want := tc.want
		if want == nil { // a point cell
			want = []float64{1 / (cps[0].GLNS * 1e-9)}
		}
		for i, cp := range cps {
			if cp.RInMOhm == nil || math.Abs(*cp.RInMOhm*1e6/want[i]-1) > 1e-9 {
				t.Errorf("%s: %s: R_in %v MOhm, want %.10g", tc.name, cp.Name, cp.RInMOhm, want[i]/1e6)
			}
		}
	}
}
