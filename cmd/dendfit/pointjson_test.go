package main

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestPointJSONMatchesEncodingJSON: appendPointJSON writes what
// encoding/json writes through printJSON, byte for byte, for points
// with every field absent, empty or set, floats across the formats' edges
// and strings that need escaping; and it fails where encoding/json fails.
func TestPointJSONMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	floats := []float64{0, math.Copysign(0, -1), 1, -3, 0.1, 1e-6, 9.999999e-7, 1e-7, -2.5e-9, 1e21, 9.99e20, -1e21,
		123456789012345678901, 5e-324, math.MaxFloat64, -math.SmallestNonzeroFloat64, 1.0 / 3, 2e-10, 1e-100, 1e100}
	strs := []string{"", "L23E", "p0000/g000012/d-/r-", `a"b\c`, "<&>", "tab\there\nline", "\x01\x1f", "é", "\u2028\u2029",
		"\xff bad", "ok", "sim: unstable at step 12 (|V| > 1 V)"}
	f := func() float64 {
		if rng.IntN(3) == 0 {
			return floats[rng.IntN(len(floats))]
		}
		return math.Float64frombits(rng.Uint64()>>2) * float64(1-2*rng.IntN(2))
	}
	opt := func() *float64 {
		if rng.IntN(4) == 0 {
			return nil
		}
		v := f()
		return &v
	}
	s := func() string { return strs[rng.IntN(len(strs))] }
	for i := range 3000 {
		p := pointJSON{Pathway: rng.IntN(20) - 2, Pre: s(), Post: s(), Compartment: s(), Record: s(), Tag: s(), Key: s(),
			TDecayMS: opt(), TRiseMS: opt(), PSPMV: opt(), BaselineMV: opt(), TimeToPeakMS: opt(),
			Rise1090MS: opt(), HalfWidthMS: opt(), IHoldPA: opt(), DSpikeFired: rng.IntN(2) == 0, Status: s(), Error: s()}
		switch rng.IntN(4) {
		case 0: // nil
		case 1:
			p.Receptors = []string{}
		default:
			for range 1 + rng.IntN(3) {
				p.Receptors = append(p.Receptors, s())
			}
		}
		switch rng.IntN(4) {
		case 0: // nil
		case 1:
			p.GNS = []float64{}
		default:
			for range 1 + rng.IntN(3) {
				p.GNS = append(p.GNS, f())
			}
		}
		switch rng.IntN(4) {
		case 0: // nil
		case 1:
			p.PeaksMV = map[string]float64{}
		default:
			p.PeaksMV = map[string]float64{}
			for range 1 + rng.IntN(3) {
				p.PeaksMV[s()] = f()
			}
		}
		if i%500 == 7 { // encoding/json refuses these
			p.GNS = append(p.GNS, math.NaN())
		}
		var wb bytes.Buffer
		werr := printJSON(&wb, p)
		// printJSON's document at an indent of four spaces, as a point
		// in the list of query points --json.
		want := strings.ReplaceAll(strings.TrimSuffix(wb.String(), "\n"), "\n", "\n    ")
		got, gerr := appendPointJSON(nil, &p)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("point %d: encoding/json error %v, appendPointJSON error %v", i, werr, gerr)
		}
		if werr == nil && string(got) != want {
			t.Fatalf("point %d:\n got %s\nwant %s", i, got, want)
		}
	}
}
