package spec

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/dendfit/dendfit/sim"
)

func load(t *testing.T, name string) *Spec {
	t.Helper()
	s, err := Load(filepath.Join("testdata", "cases", name))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// brian returns number*unit the way Brian 2 evaluates it (see units).
func brian(t *testing.T, q string, d Dimension) float64 {
	t.Helper()
	v, err := ParseQuantity(q, d)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// cylR is a cylinder's axial resistance, 4 r_axial L / (pi d^2), written out
// by hand from Dendrify's EphysProperties.g_cylinder.
func cylR(ra, l, d float64) float64 { return (4 * ra * l) / (math.Pi * (d * d)) }

func close(a, b float64) bool { return a == b || math.Abs(a-b) <= 1e-15*math.Abs(b) }

func TestBuildDimensional(t *testing.T) {
	um := func(x float64) float64 { return x * 1e-6 }
	cm := brian(t, "1 uF/cm2", SpecificCapacitance)
	gl40 := brian(t, "40 uS/cm2", SpecificConductance)
	ra150 := brian(t, "150 ohm*cm", AxialResistivity)

	type comp struct{ c, gl, el float64 }
	tests := []struct {
		file  string
		comps []comp
		g     []float64 // coupling conductances in connection order
	}{
		{
			// The seed: area = pi * 20 um * 20 um * (5*1), soma and dend alike.
			file: "seed-ampa-2comp-dimensional.yaml",
			comps: []comp{
				{math.Pi * um(20) * um(20) * 5 * cm, math.Pi * um(20) * um(20) * 5 * gl40, -70e-3},
				{math.Pi * um(20) * um(20) * 5 * cm, math.Pi * um(20) * um(20) * 5 * gl40, -70e-3},
			},
			g: []float64{12e-9},
		},
		{
			// cylinder_dend: g = 1/r_dend.
			file: "cylinder-named-coupling-2comp.yaml",
			comps: []comp{
				{math.Pi * um(20) * um(20) * 1 * cm, math.Pi * um(20) * um(20) * 1 * gl40, -70e-3},
				{math.Pi * um(120) * um(2) * 1 * cm, math.Pi * um(120) * um(2) * 1 * gl40, -70e-3},
			},
			g: []float64{1 / cylR(ra150, um(120), um(2))},
		},
		{
			// Default half_cylinders: g = 1/((r_a + r_b)/2).
			file: "half-cylinders-default-3comp-dimensional.yaml",
			comps: []comp{
				{math.Pi * um(25) * um(25) * cm, math.Pi * um(25) * um(25) * gl40, -65e-3},
				{math.Pi * um(100) * um(2.5) * cm, math.Pi * um(100) * um(2.5) * gl40, -65e-3},
				{math.Pi * um(100) * um(1) * cm, math.Pi * um(100) * um(1) * gl40, -65e-3},
			},
			g: []float64{
				1 / ((cylR(ra150, um(25), um(25)) + cylR(ra150, um(100), um(2.5))) / 2),
				1 / ((cylR(ra150, um(100), um(2.5)) + cylR(ra150, um(100), um(1))) / 2),
			},
		},
		{
			// spine_factor 1.5 applies to dendrites only; scale_factor 2.8 to all.
			file: "spine-factor-skips-soma-3comp.yaml",
			comps: []comp{
				{math.Pi * um(25) * um(25) * (2.8 * 1) * cm, math.Pi * um(25) * um(25) * (2.8 * 1) * gl40, -65e-3},
				{math.Pi * um(100) * um(2.5) * (2.8 * 1.5) * cm, math.Pi * um(100) * um(2.5) * (2.8 * 1.5) * gl40, -65e-3},
				{math.Pi * um(100) * um(1) * (2.8 * 1.5) * cm, math.Pi * um(100) * um(1) * (2.8 * 1.5) * gl40, -65e-3},
			},
			g: []float64{15e-9, 6e-9},
		},
		{
			// Cell-level cm 0.9, gl 30, r_axial 200, v_rest -72 replace the
			// compartments' 2 uF/cm2, 100 uS/cm2, 80 ohm*cm, -60 mV.
			file: "model-overrides-cm-gl-raxial-vrest.yaml",
			comps: []comp{
				{math.Pi * um(25) * um(25) * brian(t, "0.9 uF/cm2", SpecificCapacitance), math.Pi * um(25) * um(25) * brian(t, "30 uS/cm2", SpecificConductance), -72e-3},
				{math.Pi * um(200) * um(1.5) * brian(t, "0.9 uF/cm2", SpecificCapacitance), math.Pi * um(200) * um(1.5) * brian(t, "30 uS/cm2", SpecificConductance), -72e-3},
			},
			g: []float64{1 / ((cylR(brian(t, "200 ohm*cm", AxialResistivity), um(25), um(25)) + cylR(brian(t, "200 ohm*cm", AxialResistivity), um(200), um(1.5))) / 2)},
		},
		{
			// Point cell: area = pi * 50 um * 50 um.
			file:  "gaba-point-cell-held.yaml",
			comps: []comp{{math.Pi * um(50) * um(50) * cm, math.Pi * um(50) * um(50) * brian(t, "50 uS/cm2", SpecificConductance), -65e-3}},
		},
		{
			// Dimensionless: cm_abs, gl_abs as given; cell-level v_rest.
			file:  "adaptiveif-soma-ampa-dend.yaml",
			comps: []comp{{200e-12, 10e-9, -70e-3}, {50e-12, 2.5e-9, -70e-3}},
			g:     []float64{15e-9},
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			s := load(t, tc.file)
			c, err := s.Cell(s.Cells[0].Name)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Compartments) != len(tc.comps) || len(c.Couplings) != len(tc.g) {
				t.Fatalf("got %d compartments, %d couplings", len(c.Compartments), len(c.Couplings))
			}
			for i, w := range tc.comps {
				k := c.Compartments[i]
				if !close(k.C, w.c) || !close(k.GL, w.gl) || !close(k.EL, w.el) {
					t.Errorf("%s: C, gL, EL = %v, %v, %v; want %v, %v, %v", k.Name, k.C, k.GL, k.EL, w.c, w.gl, w.el)
				}
			}
			for i, g := range tc.g {
				if !close(c.Couplings[i].G, g) {
					t.Errorf("coupling %d: g = %v, want %v", i, c.Couplings[i].G, g)
				}
			}
		})
	}
}

// The seed case in numbers: 20 um x 20 um x 5 at 1 uF/cm2 is 62.83 pF,
// at 40 uS/cm2 2.513 nS.
func TestSeedNumbers(t *testing.T) {
	c, err := load(t, "seed-ampa-2comp-dimensional.yaml").Cell("pyr")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Compartments[0].C; math.Abs(got-62.83185307179586e-12) > 1e-24 {
		t.Errorf("C = %v F, want 62.83185307179586 pF", got)
	}
	if got := c.Compartments[0].GL; math.Abs(got-2.5132741228718345e-9) > 1e-21 {
		t.Errorf("gL = %v S, want 2.5132741228718345 nS", got)
	}
	if c.Compartments[0].Kind != sim.LeakyIF || c.Compartments[1].Kind != sim.Passive {
		t.Errorf("kinds %v, %v", c.Compartments[0].Kind, c.Compartments[1].Kind)
	}
}

func TestSetup(t *testing.T) {
	nS := 1e-9 // a variable: 3*nS is then Brian's float64 product, not exact 3e-9
	s := load(t, "two-populations-three-pathways.yaml")
	su, rs, err := s.Setup(1)
	if err != nil {
		t.Fatal(err)
	}
	p := su.Protocol
	if p.Synapse != 0 || p.Record != 0 || !p.Hold || p.Holding != -55*1e-3 {
		t.Errorf("protocol %+v", p)
	}
	if p.Dt != 0.1*1e-3 || p.Duration != 100*1e-3 || p.SpikeAt != 10*1e-3 || p.Method != sim.Euler {
		t.Errorf("clock %+v", p)
	}
	if len(rs) != 1 || rs[0].Channel != sim.GABA || rs[0].G != 3*nS || rs[0].TauDecay != 7e-3 || rs[0].TauRise != 0 {
		t.Errorf("receptors %+v", rs)
	}
	if got := s.Pathways[1].Label(); got != "PV->E (GABA)" {
		t.Errorf("Label = %q", got)
	}
	if got := s.Pathways[1].Tag; got != "PV" {
		t.Errorf("default tag %q, want PV", got)
	}
	su, _, err = s.Setup(0)
	if err != nil {
		t.Fatal(err)
	}
	if su.Protocol.Synapse != 1 || su.Protocol.Record != 0 || su.Protocol.Hold {
		t.Errorf("pathway 0 protocol %+v", su.Protocol)
	}
	su, _, err = s.Setup(2)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(su.Cell.Compartments); n != 1 || su.Cell.Compartments[0].C != 80e-12 || su.Cell.Compartments[0].EL != -65e-3 {
		t.Errorf("point cell %+v", su.Cell)
	}
	// The receptors and the cell are copies.
	_, rs, _ = s.Setup(0)
	rs[0].G = 1
	if s.Pathways[0].Receptors[0].G == 1 {
		t.Error("Setup shares the receptors with the spec")
	}
	if _, _, err := s.Setup(3); err == nil {
		t.Error("Setup(3) of 3 pathways succeeded")
	}
	if _, err := s.Cell("nope"); err == nil {
		t.Error("Cell(nope) succeeded")
	}
}

func TestLoadedValues(t *testing.T) {
	nS := 1e-9
	s := load(t, "dspike-na-2comp-triggered.yaml")
	d := s.Cells[0].Compartments[1].DSpikes[0]
	want := sim.DSpike{Name: "Na", Threshold: -35e-3, GRise: 30 * nS, GFall: 14 * nS, ERise: 70e-3, EFall: -89e-3,
		DurationRise: 1.2e-3, DurationFall: 2.4e-3, OffsetFall: 0.2e-3, Refractory: 5e-3}
	if d.DSpike != want || d.RiseConst != "E_Na" || d.FallConst != "E_K" {
		t.Errorf("dspike %+v, want %+v", d, want)
	}
	c, _ := s.Cell("pyr")
	if len(c.Compartments[1].DSpikes) != 1 || c.Compartments[1].DSpikes[0] != want {
		t.Errorf("built dspikes %+v", c.Compartments[1].DSpikes)
	}
	if p := s.Pathways[0]; p.Tag != "x" || p.Label() != "E->E (AMPA+NMDA)" || p.Record != "soma" || p.TargetPSP != 0 {
		t.Errorf("pathway %+v", p)
	}

	s = load(t, "adaptiveif-soma-ampa-dend.yaml")
	k := s.Cells[0].Compartments[0]
	if k.Model != sim.AdaptiveIF || k.A != 2e-9 || k.TauW != 100e-3 {
		t.Errorf("adaptiveIF soma %+v", k)
	}
	if s.Simulation.Duration != 200e-3 || s.Pathways[0].TargetPSP != 2e-3 {
		t.Errorf("simulation %+v, target %v", s.Simulation, s.Pathways[0].TargetPSP)
	}

	s = load(t, "constants-egaba-minus70-gaba-dend.yaml")
	wc := sim.DefaultConstants()
	wc.EGABA = -70e-3
	if s.Constants != wc || s.Ions != DefaultIons() {
		t.Errorf("constants %+v %+v", s.Constants, s.Ions)
	}

	s = load(t, "exponential-euler-ampa-2comp.yaml")
	if s.Simulation.Method != sim.ExponentialEuler {
		t.Errorf("method %v", s.Simulation.Method)
	}
	s = load(t, "ampa-rise-decay-scaleg-2comp.yaml")
	if r := s.Pathways[0].Receptors[0]; !r.ScaleG || r.TauRise != 0.5e-3 || r.TauDecay != 3e-3 || r.G != 2e-9 {
		t.Errorf("receptor %+v", r)
	}
	if s.Fit != DefaultFit() || s.Fit.GMin != 1e-12 || s.Fit.GMax != 1e-6 || s.Fit.RTol != 1e-7 {
		t.Errorf("fit %+v", s.Fit)
	}
	if len(s.SHA256) != 64 || s.Name != "ampa-rise-decay-scaleg-2comp" || s.Version != 1 {
		t.Errorf("name %q sha %q", s.Name, s.SHA256)
	}
}

func TestSweepAxes(t *testing.T) {
	s := load(t, "ampa-instant-2comp-dimensionless-gsweep.yaml")
	g := s.Sweep.G.Values()
	nS := 1e-9
	if len(g) != 12 || g[0] != 0.1*nS || math.Abs(g[11]-10e-9) > 1e-23 {
		t.Fatalf("g axis %v", g)
	}
	for i, v := range g {
		// from*(to/from)**(i/(steps-1))
		w := 0.1 * nS * math.Pow(100, float64(i)/11)
		if !close(v, w) {
			t.Errorf("g[%d] = %v, want %v", i, v, w)
		}
	}
	if s.Sweep.TDecay.Given() || s.Sweep.TRise.Given() || s.Sweep.TDecay.Values() != nil {
		t.Error("absent axes are given")
	}
	if s.Sweep.G.Len() != 12 || s.Sweep.TDecay.Len() != 0 {
		t.Errorf("axis lengths %d, %d, want 12, 0", s.Sweep.G.Len(), s.Sweep.TDecay.Len())
	}
	// Values computed once at parsing are handed out as copies.
	g[0] = -1
	if s.Sweep.G.Values()[0] != 0.1*nS {
		t.Error("changing the values returned changed the axis")
	}
	s = load(t, "sweep-tdecay-trise-ampa-3comp.yaml")
	td, tr := s.Sweep.TDecay.Values(), s.Sweep.TRise.Values()
	if len(td) != 4 || td[0] != 1e-3 || td[3] != 10e-3 || len(tr) != 3 || tr[1] != 0.5e-3 {
		t.Errorf("axes %v %v", td, tr)
	}

	tests := []struct {
		a    Axis
		want []float64
	}{
		{Axis{From: 1, To: 3, Steps: 3}, []float64{1, 2, 3}},
		{Axis{From: 1, To: 100, Steps: 3, Log: true}, []float64{1, 10, 100}},
		{Axis{From: 2, To: 5, Steps: 1, Log: true}, []float64{2}},
		{Axis{From: 0, To: 1, Steps: 5}, []float64{0, 0.25, 0.5, 0.75, 1}},
		{Axis{List: []float64{3, 1}}, []float64{3, 1}},
		{Axis{}, nil},
	}
	for _, tc := range tests {
		got := tc.a.Values()
		if len(got) != len(tc.want) {
			t.Errorf("%+v: %v, want %v", tc.a, got, tc.want)
			continue
		}
		for i := range got {
			if !close(got[i], tc.want[i]) {
				t.Errorf("%+v: %v, want %v", tc.a, got, tc.want)
				break
			}
		}
	}
}

func TestSimulationSteps(t *testing.T) {
	tests := []struct {
		s           Simulation
		steps, kspk int
	}{
		{Simulation{Dt: 0.1e-3, Duration: 100e-3, SpikeAt: 10e-3}, 1000, 100},
		{Simulation{Dt: 0.025e-3, Duration: 50e-3, SpikeAt: 5e-3}, 2000, 200},
		{Simulation{Dt: 0.1e-3, Duration: 100.05e-3, SpikeAt: 0}, 1001, 0},
		{Simulation{Dt: 0.3e-3, Duration: 0.9e-3, SpikeAt: 0.6e-3}, 3, 2},
	}
	for _, tc := range tests {
		if n, k := tc.s.Steps(), tc.s.SpikeStep(); n != tc.steps || k != tc.kspk {
			t.Errorf("%+v: steps %d, spike step %d; want %d, %d", tc.s, n, k, tc.steps, tc.kspk)
		}
	}
}

// TestLongLogAxisSplit: a log axis long enough to be computed on several
// cores has, bit for bit, the values of the formula taken in order,
// whatever the number of cores.
func TestLongLogAxisSplit(t *testing.T) {
	a := Axis{From: 0.1e-9, To: 10e-9, Steps: parallelSteps + 7, Log: true}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 3} {
		runtime.GOMAXPROCS(procs)
		v := a.Values()
		n := float64(a.Steps - 1)
		for i, got := range v {
			if want := a.From * math.Pow(a.To/a.From, float64(i)/n); math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("%d cores: value %d = %v, want %v", procs, i, got, want)
			}
		}
	}
}

// TestLogRangeIsPow: a log range's values are From*math.Pow(To/From, t)
// bit for bit, t = i/(Steps-1), for ranges up and down over few and many
// decades, of one value, and with odd step counts (t = 0.5 exactly, which
// math.Pow takes as a square root); a range whose ratio overflows goes
// through the logarithms of its ends.
func TestLogRangeIsPow(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	type rangeCase struct {
		from, to float64
		steps    int
	}
	cases := []rangeCase{{0.1e-9, 10e-9, 100000}, {10e-9, 0.1e-9, 1001}, {2e-3, 2e-3, 7}, {1e-150, 1e150, 9}, {3, 3.0000000000000004, 5}}
	for range 300 {
		from := math.Pow(10, -15+20*rng.Float64())
		to := from * math.Pow(10, -6+12*rng.Float64())
		cases = append(cases, rangeCase{from, to, 2 + rng.IntN(2000)})
	}
	for _, c := range cases {
		a := Axis{From: c.from, To: c.to, Steps: c.steps, Log: true}
		n := float64(c.steps - 1)
		for i, got := range a.Values() {
			tt := float64(i) / n
			want := c.from * math.Pow(c.to/c.from, tt)
			if got != a.Value(i) {
				t.Fatalf("%+v: Values()[%d] = %v, Value(%d) = %v", c, i, got, i, a.Value(i))
			}
			if math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("%+v: value %d = %v (%x), math.Pow gives %v (%x)", c, i, got, math.Float64bits(got), want, math.Float64bits(want))
			}
		}
	}
	// 10^-200 to 10^200: the ratio overflows.
	a := Axis{From: 1e-200, To: 1e200, Steps: 5, Log: true}
	lf, lt := math.Log(a.From), math.Log(a.To)
	for i, got := range a.Values() {
		if want := math.Exp(lf + (lt-lf)*float64(i)/4); got != want {
			t.Errorf("overflowing ratio: value %d = %v, want %v", i, got, want)
		}
	}
	if v := a.Values(); math.Abs(v[0]/a.From-1) > 1e-12 || math.Abs(v[4]/a.To-1) > 1e-12 || math.Abs(v[2]-1) > 1e-12 {
		t.Errorf("overflowing ratio: values %v", v)
	}
}

// TestAxisValue: Value(i) is Values()[i] bit for bit, for lists, linear
// and log ranges, one step, an axis made in code, the same axis prepared,
// a parsed one, and a prepared one whose ends were changed after.
func TestAxisValue(t *testing.T) {
	prepared := Axis{From: 0.3e-9, To: 7e-9, Steps: 33, Log: true}
	prepared.Prepare()
	moved := prepared
	moved.To = 70e-9
	parsed := load(t, "ampa-instant-2comp-dimensionless-gsweep.yaml").Sweep.G
	if !parsed.Log || parsed.Steps < 2 {
		t.Fatalf("the case's g axis is %+v, want a log range", parsed)
	}
	for _, a := range []Axis{
		{List: []float64{3e-3, 1e-3, 2e-3}},
		{From: 0.1e-9, To: 10e-9, Steps: 101, Log: true},
		{From: 1e-3, To: 5e-3, Steps: 9},
		{From: 2e-3, To: 9e-3, Steps: 1, Log: true},
		prepared, moved, parsed,
	} {
		v := a.Values()
		if len(v) != a.Len() {
			t.Fatalf("%+v: %d values, Len %d", a, len(v), a.Len())
		}
		n := float64(a.Len() - 1)
		for i, want := range v {
			if got := a.Value(i); math.Float64bits(got) != math.Float64bits(want) {
				t.Errorf("%+v: Value(%d) = %v, Values()[%d] = %v", a, i, got, i, want)
			}
			if a.Log && a.Len() > 1 {
				if pow := a.From * math.Pow(a.To/a.From, float64(i)/n); math.Float64bits(want) != math.Float64bits(pow) {
					t.Errorf("%+v: value %d = %v, math.Pow gives %v", a, i, want, pow)
				}
			}
		}
	}
}

// TestAxisBadValues: firstBad, which tries only the ends of ranges
// within 10^-290 to 10^290, finds what trying every value finds, for
// ranges within those bounds and at the ends of the float64s (where a
// value can overflow).
func TestAxisBadValues(t *testing.T) {
	huge := math.MaxFloat64
	sawBad := false
	for _, a := range []Axis{
		{From: 0.1e-9, To: 10e-9, Steps: 1000, Log: true},
		{From: 10e-9, To: 0.1e-9, Steps: 1000, Log: true},
		{From: 1e-290, To: 1e290, Steps: 1001, Log: true},
		{From: 1e290, To: 1e-290, Steps: 1001},
		{From: 1e-300, To: huge, Steps: 1001, Log: true},
		{From: huge, To: 1e-300, Steps: 1001, Log: true},
		{From: 1, To: huge, Steps: 1001, Log: true},
		{From: 5e-324, To: huge, Steps: 101, Log: true},
		{From: 5e-324, To: 1e-323, Steps: 5},
		{From: 1e308, To: huge, Steps: 5},
	} {
		a.Prepare()
		want := -1
		for i, v := range a.Values() {
			if !(v > 0) || math.IsInf(v, 0) {
				want = i
				break
			}
		}
		got := -1
		if i, _, bad := a.firstBad(); bad {
			got = i
		}
		if got != want {
			t.Errorf("%+v: firstBad finds value %d, trying every value finds %d (-1: none)", a, got, want)
		}
		sawBad = sawBad || want >= 0
	}
	if !sawBad {
		t.Error("no case has a bad value: the cases do not test the refusal")
	}
}

// BenchmarkLogAxis is the values of the seed sweep's g axis, 100,000 steps
// from 0.1 to 10 nS, all made at once, as Values makes them.
func BenchmarkLogAxis(b *testing.B) {
	a := Axis{From: 0.1e-9, To: 10e-9, Steps: 100000, Log: true}
	for b.Loop() {
		a.compute()
	}
}

// BenchmarkAxisValue is a value of the seed sweep's g axis read alone, as
// a sweep's grid reads each point's.
func BenchmarkAxisValue(b *testing.B) {
	a := Axis{From: 0.1e-9, To: 10e-9, Steps: 100000, Log: true}
	a.Prepare()
	sum, i := 0.0, 0
	for b.Loop() {
		sum += a.Value(i)
		i = (i + 7919) % a.Steps
	}
	if !(sum > 0) {
		b.Fatal("no values")
	}
}

// TestSweepGiven: a sweep is given by any one of its axes.
func TestSweepGiven(t *testing.T) {
	ax := Axis{List: []float64{1e-9}}
	for _, tc := range []struct {
		w    Sweep
		want bool
	}{{Sweep{}, false}, {Sweep{G: ax}, true}, {Sweep{TDecay: ax}, true}, {Sweep{TRise: ax}, true}, {Sweep{G: Axis{Steps: 0}}, false}} {
		if got := tc.w.Given(); got != tc.want {
			t.Errorf("%+v: Given %v, want %v", tc.w, got, tc.want)
		}
	}
}
