package spec

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
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
	dim Dimension
	// The value is ((number * mul) * mul2) / div, left to right as Python
	// evaluates `40*uS/cm**2` or `150*kohm*cm`; absent factors are 1,
	// which multiplies and divides exactly.
	mul, mul2, div float64
}

// units maps every accepted unit spelling (after normalisation: µ and μ
// become u, "^2" becomes "2", a space between two unit factors becomes "*")
// to its dimension and its SI scale.
//
// A value is computed in float64 in the order Python evaluates the same
// expression written with Brian 2 units, so that it is the double a
// Dendrify script gets: "5 mV" is 5*0.001, "40 uS/cm2" is (40*1e-6)/(0.01**2)
// = 0.39999999999999997 as `40*uS/cm**2`, and "150 kohm*cm" is
// (150*1e3)*0.01 (TestQuantityMatchesBrian).
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
	simple := func(d Dimension, scale float64) unit { return unit{d, scale, 1, 1} }
	u := map[string]unit{
		"V": simple(Voltage, one), "mV": simple(Voltage, milli), "uV": simple(Voltage, micro),
		"s": simple(Time, one), "ms": simple(Time, milli), "us": simple(Time, micro),
		"S": simple(Conductance, one), "mS": simple(Conductance, milli), "uS": simple(Conductance, micro),
		"nS": simple(Conductance, nano), "pS": simple(Conductance, pico),
		"F": simple(Capacitance, one), "uF": simple(Capacitance, micro), "nF": simple(Capacitance, nano),
		"pF": simple(Capacitance, pico),
		"A":  simple(Current, one), "nA": simple(Current, nano), "pA": simple(Current, pico),
		"m": simple(Length, one), "cm": simple(Length, centi), "mm": simple(Length, milli), "um": simple(Length, micro),
		"uF/cm2":  {SpecificCapacitance, micro, 1, cm2},
		"nF/cm2":  {SpecificCapacitance, nano, 1, cm2},
		"F/m2":    {SpecificCapacitance, one, 1, m2},
		"S/cm2":   {SpecificConductance, one, 1, cm2},
		"mS/cm2":  {SpecificConductance, milli, 1, cm2},
		"uS/cm2":  {SpecificConductance, micro, 1, cm2},
		"nS/cm2":  {SpecificConductance, nano, 1, cm2},
		"S/m2":    {SpecificConductance, one, 1, m2},
		"ohm*cm":  {AxialResistivity, one, centi, 1},
		"ohm*m":   {AxialResistivity, one, one, 1},
		"kohm*cm": {AxialResistivity, kilo, centi, 1},
	}
	return u
}

// acceptedUnits lists the spellings units accepts for d, largest first,
// as "V, mV or uV" (u may be written µ, cm2 cm^2, ohm Ω).
func acceptedUnits(d Dimension) string {
	var names []string
	for n, u := range units {
		if u.dim == d {
			names = append(names, n)
		}
	}
	scale := func(n string) float64 { u := units[n]; return u.mul * u.mul2 / u.div }
	sort.Slice(names, func(i, j int) bool {
		if a, b := scale(names[i]), scale(names[j]); a != b {
			return a > b
		}
		return names[i] < names[j]
	})
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// normUnit brings a unit spelling to the keys of units.
func normUnit(s string) string {
	s = strings.ReplaceAll(s, "µ", "u") // U+00B5 MICRO SIGN
	s = strings.ReplaceAll(s, "μ", "u") // U+03BC GREEK SMALL LETTER MU
	s = strings.ReplaceAll(s, "^2", "2")
	s = strings.ReplaceAll(s, "**2", "2")
	s = strings.ReplaceAll(s, "²", "2")        // U+00B2 SUPERSCRIPT TWO
	s = strings.ReplaceAll(s, "\u03a9", "ohm") // GREEK CAPITAL LETTER OMEGA, as papers write ohm
	s = strings.ReplaceAll(s, "\u2126", "ohm") // OHM SIGN
	// "ohm cm" and "ohm * cm" are "ohm*cm".
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '*' || r == '\t' || r == '·' })
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
	want := func() error { return fmt.Errorf("want %v in %s, got %q", d, acceptedUnits(d), s) }
	num, rest := splitNumber(strings.TrimSpace(s))
	if num == "" {
		return 0, want()
	}
	us := strings.TrimSpace(rest)
	if us == "" {
		return 0, fmt.Errorf("want %v, got %q (no unit)", d, s)
	}
	u, ok := units[normUnit(us)]
	if ok && u.dim != d {
		// A slip of dimension (ms for mS): say what was given.
		article := "a"
		if strings.ContainsRune("aeiou", rune(dimNames[u.dim][0][0])) {
			article = "an"
		}
		return 0, fmt.Errorf("want %v in %s, got %q, %s %s%s", d, acceptedUnits(d), s, article, dimNames[u.dim][0], caseHint(us, d))
	}
	if !ok {
		hint := caseHint(us, d)
		if hint == "" {
			hint = otherDimHint(us, d)
		}
		return 0, fmt.Errorf("%w%s", want(), hint)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil && !isRange(err) {
		return 0, want()
	}
	q := v * u.mul * u.mul2 / u.div
	if math.IsNaN(q) || math.IsInf(q, 0) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("want a finite %v, got %q", d, s)
	}
	// ParseFloat itself gives 0 for a number too small for float64
	// (1e-400), so a non-zero digit is what says it was not zero.
	if q == 0 && (v != 0 || nonzeroMantissa(num)) {
		return 0, fmt.Errorf("want %v, got %q, which underflows to zero", d, s)
	}
	// Below the smallest normal double, digits are lost (1e-310 nS, a
	// log range's end, came back as 1.1e-299 nS).
	if q != 0 && math.Abs(q) < 0x1p-1022 {
		return 0, fmt.Errorf("want %v, got %q, which underflows double precision", d, s)
	}
	return q, nil
}

// caseHint is ": did you mean "mV"? (units are case-sensitive)" when
// the unit us differs from one of d's units in case alone ("mv", "ns",
// "MS" for a time), and "" otherwise.
func caseHint(us string, d Dimension) string {
	for _, name := range unitsByCase(us) {
		if units[name].dim == d {
			return fmt.Sprintf(": did you mean %q? (units are case-sensitive)", name)
		}
	}
	return ""
}

// otherDimHint is, for a unit us that is none, " (as "mV" it would be
// a voltage, not time (s); ...)" when it is one of another dimension but
// for its case ("3 mv" for a time), and "" otherwise.
func otherDimHint(us string, d Dimension) string {
	for _, name := range unitsByCase(us) {
		if u := units[name]; u.dim != d {
			return fmt.Sprintf(" (as %q it would be a %s, not %v; units are case-sensitive)", name, dimNames[u.dim][0], d)
		}
	}
	return ""
}

// unitsByCase returns the units spelt as us but for case, in order.
func unitsByCase(us string) []string {
	lower := strings.ToLower(normUnit(us))
	var out []string
	for _, name := range slices.Sorted(maps.Keys(units)) {
		if lower != "" && strings.ToLower(name) == lower {
			out = append(out, name)
		}
	}
	return out
}

// nonzeroMantissa reports whether a number's digits before its exponent
// include one that is not 0.
func nonzeroMantissa(num string) bool {
	mant, _, _ := strings.Cut(strings.ToLower(num), "e")
	return strings.ContainsAny(mant, "123456789")
}

func isRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
