package spec

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Dimension is the physical dimension a spec field expects.
type Dimension int

// The dimensions of the spec's quantities.
const (
	Voltage             Dimension = iota + 1 // V
	Time                                     // s
	Conductance                              // S
	Capacitance                              // F
	Current                                  // A
	Length                                   // m
	SpecificCapacitance                      // F/m2
	SpecificConductance                      // S/m2
	AxialResistivity                         // ohm*m
)

var dimNames = map[Dimension][2]string{
	Voltage:             {"voltage", "V"},
	Time:                {"time", "s"},
	Conductance:         {"conductance", "S"},
	Capacitance:         {"capacitance", "F"},
	Current:             {"current", "A"},
	Length:              {"length", "m"},
	SpecificCapacitance: {"specific capacitance", "F/m2"},
	SpecificConductance: {"specific conductance", "S/m2"},
	AxialResistivity:    {"axial resistivity", "ohm*m"},
}

// String returns the dimension's name and SI unit, as in
// "specific conductance (S/m2)".
func (d Dimension) String() string {
	if n, ok := dimNames[d]; ok {
		return n[0] + " (" + n[1] + ")"
	}
	return fmt.Sprintf("Dimension(%d)", int(d))
}

// SIUnit returns the SI unit that ParseQuantity's results are in, e.g. "S/m2".
func (d Dimension) SIUnit() string { return dimNames[d][1] }

type unit struct {
	dim   Dimension
	scale float64
}

// units maps every accepted unit spelling (after normalisation: µ and μ
// become u, "^2" becomes "2", a space between two unit factors becomes "*")
// to its dimension and its SI scale.
//
// The scales are computed at run time, in float64, in the order Brian 2
// computes the same expression, so that a parsed value is the float64 a
// Python script writing `number * unit` gets. A simple unit's scale is its
// prefix as a float64 (mV: 0.001, the same double as Python's 10.0**-3). A
// compound unit's scale is evaluated like Brian's unit arithmetic, e.g.
// uF/cm2 is 1e-6 / (0.01*0.01), which is 0.009999999999999998 and not 0.01,
// exactly as `1e-6/(0.01**2)` in Python; kohm*cm is 1e3 * 0.01.
var units = buildUnits()

func buildUnits() map[string]unit {
	// The prefixes are variables so that the compound scales below are
	// float64 operations at run time, not exact constant arithmetic.
	var (
		one   = 1.0
		kilo  = 1e3
		milli = 1e-3
		micro = 1e-6
		nano  = 1e-9
		pico  = 1e-12
		centi = 1e-2
	)
	cm2 := centi * centi
	m2 := one * one
	u := map[string]unit{
		"V": {Voltage, one}, "mV": {Voltage, milli}, "uV": {Voltage, micro},
		"s": {Time, one}, "ms": {Time, milli}, "us": {Time, micro},
		"S": {Conductance, one}, "mS": {Conductance, milli}, "uS": {Conductance, micro},
		"nS": {Conductance, nano}, "pS": {Conductance, pico},
		"F": {Capacitance, one}, "uF": {Capacitance, micro}, "nF": {Capacitance, nano},
		"pF": {Capacitance, pico},
		"A":  {Current, one}, "nA": {Current, nano}, "pA": {Current, pico},
		"m": {Length, one}, "cm": {Length, centi}, "mm": {Length, milli}, "um": {Length, micro},
		"uF/cm2":  {SpecificCapacitance, micro / cm2},
		"F/m2":    {SpecificCapacitance, one / m2},
		"S/cm2":   {SpecificConductance, one / cm2},
		"mS/cm2":  {SpecificConductance, milli / cm2},
		"uS/cm2":  {SpecificConductance, micro / cm2},
		"S/m2":    {SpecificConductance, one / m2},
		"ohm*cm":  {AxialResistivity, one * centi},
		"ohm*m":   {AxialResistivity, one * one},
		"kohm*cm": {AxialResistivity, kilo * centi},
	}
	return u
}

// normUnit brings a unit spelling to the keys of units.
func normUnit(s string) string {
	s = strings.ReplaceAll(s, "µ", "u") // U+00B5 MICRO SIGN
	s = strings.ReplaceAll(s, "μ", "u") // U+03BC GREEK SMALL LETTER MU
	s = strings.ReplaceAll(s, "^2", "2")
	s = strings.ReplaceAll(s, "**2", "2")
	// "ohm cm" and "ohm * cm" are "ohm*cm".
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '*' || r == '\t' })
	if len(f) == 2 && (f[0] == "ohm" || f[0] == "kohm") {
		return f[0] + "*" + f[1]
	}
	return s
}

// splitNumber splits s into a leading decimal number and the rest.
func splitNumber(s string) (num, rest string) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return "", s
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		k := j
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		if k > j {
			i = k
		}
	}
	return s[:i], s[i:]
}

// ParseQuantity parses "<number> <unit>" (the space is optional) and returns
// the value in the SI unit of d (d.SIUnit()). The unit must be one the spec
// accepts for d; "u", "µ" and "μ" are the same prefix and "cm^2" is "cm2".
// The result is number * scale(unit) in float64, with the unit's scale
// computed as Brian 2 computes it (see the units table): "1 uF/cm2" is
// 0.009999999999999998 F/m2, "5 mV" is 5*0.001 V. Non-finite results are
// errors.
func ParseQuantity(s string, d Dimension) (float64, error) {
	if _, ok := dimNames[d]; !ok {
		return 0, fmt.Errorf("spec: unknown dimension %d", int(d))
	}
	want := func() error { return fmt.Errorf("want %v, got %q", d, s) }
	num, rest := splitNumber(strings.TrimSpace(s))
	if num == "" {
		return 0, want()
	}
	us := strings.TrimSpace(rest)
	if us == "" {
		return 0, fmt.Errorf("want %v, got %q (no unit)", d, s)
	}
	u, ok := units[normUnit(us)]
	if !ok || u.dim != d {
		return 0, want()
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil && !isRange(err) {
		return 0, want()
	}
	q := v * u.scale
	if math.IsNaN(q) || math.IsInf(q, 0) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("want a finite %v, got %q", d, s)
	}
	if q == 0 && v != 0 {
		return 0, fmt.Errorf("want %v, got %q, which underflows to zero", d, s)
	}
	return q, nil
}

func isRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
