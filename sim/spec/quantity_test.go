package spec

import (
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"
)

func TestParseQuantity(t *testing.T) {
	// The wanted values are written as Brian 2 evaluates number*unit in
	// Python; the scales are variables so that Go computes them in float64
	// at run time like Python does (Go constant arithmetic would be exact).
	var (
		milli, micro, nano, pico, centi = 1e-3, 1e-6, 1e-9, 1e-12, 1e-2
		cm2                             = centi * centi
	)
	tests := []struct {
		in   string
		dim  Dimension
		want float64
	}{
		{"5 mV", Voltage, 5 * milli},
		{"5mV", Voltage, 5 * milli},
		{"-70 mV", Voltage, -70 * milli},
		{"+1.5 V", Voltage, 1.5},
		{"3 uV", Voltage, 3 * micro},
		{"3 µV", Voltage, 3 * micro},
		{"3 μV", Voltage, 3 * micro},
		{"0.1 ms", Time, 0.1 * milli},
		{".5 ms", Time, 0.5 * milli},
		{"2. s", Time, 2},
		{"1e-3 s", Time, 1e-3},
		{"1.5E+2 us", Time, 150 * micro},
		{"  12 nS  ", Conductance, 12 * nano},
		{"7 pS", Conductance, 7 * pico},
		{"1 uS", Conductance, micro},
		{"2 mS", Conductance, 2 * milli},
		{"200 pF", Capacitance, 200 * pico},
		{"1 nF", Capacitance, nano},
		{"5 pA", Current, 5 * pico},
		{"2 nA", Current, 2 * nano},
		{"20 um", Length, 20 * micro},
		{"1 mm", Length, milli},
		{"3 cm", Length, 3 * centi},
		{"1 uF/cm2", SpecificCapacitance, 1 * (micro) / cm2},
		{"1 uF/cm^2", SpecificCapacitance, 1 * (micro) / cm2},
		{"0.9 µF/cm2", SpecificCapacitance, 0.9 * (micro) / cm2},
		{"5e-5 S/cm²", SpecificConductance, 5e-5 / cm2},
		{"150 \u03a9·cm", AxialResistivity, 150 * centi},
		{"150 \u2126·cm", AxialResistivity, 150 * centi}, // OHM SIGN
		{"1 kΩ cm", AxialResistivity, 1 * 1e3 * centi},
		{"0.01 F/m2", SpecificCapacitance, 0.01},
		{"0.01 F/m^2", SpecificCapacitance, 0.01},
		{"40 uS/cm2", SpecificConductance, 40 * (micro) / cm2},
		{"50 uS/cm^2", SpecificConductance, 50 * (micro) / cm2},
		{"1 mS/cm2", SpecificConductance, milli / cm2},
		{"1 S/cm2", SpecificConductance, 1 / cm2},
		{"0.4 S/m2", SpecificConductance, 0.4},
		{"150 ohm*cm", AxialResistivity, 150 * centi},
		{"100 ohm cm", AxialResistivity, 100 * centi},
		{"1.5 ohm*m", AxialResistivity, 1.5},
		{"0.2 kohm*cm", AxialResistivity, 0.2 * (1e3 * centi)},
		{"0 mV", Voltage, 0},
	}
	for _, tc := range tests {
		got, err := ParseQuantity(tc.in, tc.dim)
		if err != nil {
			t.Errorf("ParseQuantity(%q, %v): %v", tc.in, tc.dim, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseQuantity(%q, %v) = %v, want %v", tc.in, tc.dim, got, tc.want)
		}
	}
	// Brian's 1 uF/cm**2 is 1e-6/(0.01**2) in Python: not exactly 0.01.
	if got, _ := ParseQuantity("1 uF/cm2", SpecificCapacitance); got != 0.009999999999999998 {
		t.Errorf("1 uF/cm2 = %v, want Python's 0.009999999999999998", got)
	}
}

func TestParseQuantityErrors(t *testing.T) {
	tests := []struct {
		in   string
		dim  Dimension
		want string
	}{
		{"5 mV", SpecificConductance, `want specific conductance (S/m2) in S/cm2, mS/cm2, S/m2, uS/cm2 or nS/cm2, got "5 mV", a voltage`},
		{"5", Voltage, `want voltage (V), got "5" (no unit)`},
		{"mV", Voltage, `want voltage (V) in V, mV or uV, got "mV"`},
		{"", Time, `want time (s) in s, ms or us, got ""`},
		{"5 ms", Voltage, `want voltage (V) in V, mV or uV, got "5 ms", a time`},
		{"5 MV", Voltage, `want voltage (V) in V, mV or uV, got "5 MV"`},
		{"5 kV", Voltage, `want voltage (V) in V, mV or uV, got "5 kV"`},
		{"1 uF/cm3", SpecificCapacitance, `want specific capacitance (F/m2) in F/m2, uF/cm2 or nF/cm2, got "1 uF/cm3"`},
		{"1 kohm*m", AxialResistivity, `want axial resistivity (ohm*m) in kohm*cm, ohm*m or ohm*cm, got "1 kohm*m"`},
		{"NaN mV", Voltage, `want voltage (V)`},
		{"Inf mV", Voltage, `want voltage (V)`},
		{"1e999 mV", Voltage, `want a finite voltage (V), got "1e999 mV"`},
		{"1e308 S/cm2", SpecificConductance, `want a finite specific conductance (S/m2)`},
		{"1 2 mV", Voltage, `want voltage (V)`},
		{"--1 mV", Voltage, `want voltage (V)`},
		{"0x10 mV", Voltage, `want voltage (V)`},
		{"1_000 mV", Voltage, `want voltage (V)`},
		{"1e-320 um", Length, `underflows to zero`},
		{"1e-330 mV", Voltage, `underflows to zero`}, // ParseFloat gives 0
		{"-0.0001e-400 mV", Voltage, `underflows to zero`},
		{"1e-310 nS", Conductance, `underflows double precision`}, // 1e-319 S: subnormal
		// A unit of the wanted dimension in another case is named.
		{"-70 mv", Voltage, `want voltage (V) in V, mV or uV, got "-70 mv": did you mean "mV"? (units are case-sensitive)`},
		{"1 ns", Conductance, `got "1 ns": did you mean "nS"? (units are case-sensitive)`},
		{"2 MS", Time, `want time (s) in s, ms or us, got "2 MS": did you mean "ms"? (units are case-sensitive)`},
		{"2 mS", Time, `got "2 mS", a conductance: did you mean "ms"? (units are case-sensitive)`},
		{"1 UF/CM2", SpecificCapacitance, `got "1 UF/CM2": did you mean "uF/cm2"?`},
		{"1 NS", Time, `want time (s) in s, ms or us, got "1 NS"`},
		// A unit of another dimension in another case: what it would be.
		{"3 mv", Time, `want time (s) in s, ms or us, got "3 mv" (as "mV" it would be a voltage, not time (s); units are case-sensitive)`},
	}
	for _, tc := range tests {
		v, err := ParseQuantity(tc.in, tc.dim)
		if err == nil {
			t.Errorf("ParseQuantity(%q, %v) = %v, want an error", tc.in, tc.dim, v)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseQuantity(%q, %v) error %q, want it to contain %q", tc.in, tc.dim, err, tc.want)
		}
	}
	// No hint where no unit of the dimension matches in another case.
	for _, in := range []string{"5 kV", "5 ms"} {
		if _, err := ParseQuantity(in, Time); err != nil && strings.Contains(err.Error(), "did you mean") {
			t.Errorf("ParseQuantity(%q, time): %v, want no hint", in, err)
		}
	}
	if _, err := ParseQuantity("1 V", Dimension(0)); err == nil {
		t.Error("unknown dimension accepted")
	}
}

func TestDimensionString(t *testing.T) {
	want := map[Dimension]string{
		Voltage: "voltage (V)", Time: "time (s)", Conductance: "conductance (S)",
		Capacitance: "capacitance (F)", Current: "current (A)", Length: "length (m)",
		SpecificCapacitance: "specific capacitance (F/m2)",
		SpecificConductance: "specific conductance (S/m2)",
		AxialResistivity:    "axial resistivity (ohm*m)",
	}
	for d, s := range want {
		if d.String() != s {
			t.Errorf("%d: String() = %q, want %q", int(d), d.String(), s)
		}
	}
	if got := Dimension(99).String(); got != "Dimension(99)" {
		t.Errorf("Dimension(99).String() = %q", got)
	}
}

func ExampleParseQuantity() {
	v, err := ParseQuantity("-70 mV", Voltage)
	fmt.Println(v, err)
	g, _ := ParseQuantity("40 uS/cm^2", SpecificConductance)
	fmt.Println(g)
	_, err = ParseQuantity("5 mV", SpecificConductance)
	fmt.Println(err)
	// Output:
	// -0.07 <nil>
	// 0.39999999999999997
	// want specific conductance (S/m2) in S/cm2, mS/cm2, S/m2, uS/cm2 or nS/cm2, got "5 mV", a voltage
}

func FuzzParseQuantity(f *testing.F) {
	for _, s := range []string{"5 mV", "1 uF/cm2", "150 ohm*cm", "100 ohm cm", "1e-3 s", "3 µV", "-1.5e+300 S/cm^2", ".5ms", "0 pA"} {
		f.Add(s, 1)
	}
	f.Fuzz(func(t *testing.T, s string, d int) {
		dim := Dimension(d%12 - 1)
		v, err := ParseQuantity(s, dim)
		if err != nil {
			return
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("ParseQuantity(%q, %v) = %v", s, dim, v)
		}
		// Zero only from a number written as zero (big.Float does not
		// underflow).
		if num, _ := splitNumber(strings.TrimSpace(s)); v == 0 {
			if f, _, err := big.ParseFloat(num, 10, 64, big.ToNearestEven); err == nil && f.Sign() != 0 {
				t.Fatalf("ParseQuantity(%q, %v) = 0 from the non-zero %s", s, dim, num)
			}
		}
	})
}

// TestQuantityMatchesBrian: the doubles Brian 2.5.1 gives for the same
// expressions written with its units (`float(40*uS/cm**2)` etc., printed
// with repr in Python).
func TestQuantityMatchesBrian(t *testing.T) {
	for _, c := range []struct {
		s    string
		d    Dimension
		want float64
	}{
		{"1 uF/cm2", SpecificCapacitance, 0.009999999999999998},
		{"0.9 uF/cm2", SpecificCapacitance, 0.009},
		{"40 uS/cm2", SpecificConductance, 0.39999999999999997},
		{"50 uS/cm2", SpecificConductance, 0.49999999999999994},
		{"30 uS/cm2", SpecificConductance, 0.29999999999999993},
		{"2.5 mS/cm2", SpecificConductance, 25.0},
		{"150 ohm*cm", AxialResistivity, 1.5},
		{"1 kohm*cm", AxialResistivity, 10.0},
		{"20 um", Length, 1.9999999999999998e-05},
		{"0.5 ms", Time, 0.0005},
		{"1.5 nS", Conductance, 1.5000000000000002e-09},
		{"1000 nF/cm2", SpecificCapacitance, 0.010000000000000002},
		{"1 nF/cm2", SpecificCapacitance, 1e-05},
		{"250 nF/cm2", SpecificCapacitance, 0.0025000000000000005},
		{"40 nS/cm2", SpecificConductance, 0.00039999999999999996},
		{"7.5 nS/cm2", SpecificConductance, 7.500000000000001e-05},
	} {
		got, err := ParseQuantity(c.s, c.d)
		if err != nil || got != c.want {
			t.Errorf("%q: %v (%v), Brian gives %v", c.s, got, err, c.want)
		}
	}
}
