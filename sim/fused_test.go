package sim

import (
	"context"
	"fmt"
	"math"
	"testing"
)

// TestFusedMatchesGeneral: the fused one- and two-compartment Euler step
// gives, lane by lane, exactly the results of the general batched path,
// for point cells and soma-dendrite cells, the synapse and the record site
// on either compartment, receptors with and without rise, AMPA and GABA,
// with and without holding, peaks kept or not, and a lane that diverges.
func TestFusedMatchesGeneral(t *testing.T) {
	defer func() { fuseOff, vecOff = false, false }()
	n := 0
	for _, nc := range []int{1, 2} {
		for _, syn := range []int{0, 1} {
			for _, rec := range []int{0, 1} {
				if nc == 1 && (syn > 0 || rec > 0) {
					continue
				}
				for _, ch := range []Channel{AMPA, GABA} {
					for _, rise := range []float64{0, 0.5e-3} {
						for _, hold := range []bool{false, true} {
							for _, trackAll := range []bool{false, true} {
								s, _ := seed()
								if nc == 1 {
									s.Cell = &Cell{Compartments: s.Cell.Compartments[:1]}
								}
								s.Protocol.Synapse, s.Protocol.Record = syn, rec
								s.Protocol.Hold, s.Protocol.Holding = hold, -0.06
								name := fmt.Sprintf("nc%d syn%d rec%d %v rise%v hold%v all%v", nc, syn, rec, ch, rise, hold, trackAll)
								const L = 9
								lanes := make([][]Receptor, L)
								for l := range lanes {
									g := 0.05e-9 * math.Pow(3, float64(l))
									if l == L-1 {
										g = 1e-3 // diverges under Euler
									}
									lanes[l] = []Receptor{{Channel: ch, G: g, TauDecay: (1 + float64(l)) * 1e-3, TauRise: rise}}
								}
								run := func(off bool) ([]Result, []error) {
									fuseOff, vecOff = off, off
									sm, err := New(s, L)
									if err != nil {
										t.Fatal(err)
									}
									out, errs := make([]Result, L), make([]error, L)
									if err := sm.RunEach(context.Background(), lanes, &Options{RecordOnly: !trackAll}, out, errs); err != nil {
										t.Fatal(err)
									}
									if !off && !sm.e.canFuse() { // the receptors are loaded by the run
										t.Fatalf("%s: not fused", name)
									}
									return out, errs
								}
								fo, fe := run(false)
								go_, ge := run(true)
								for l := range fo {
									if fmt.Sprint(fe[l]) != fmt.Sprint(ge[l]) {
										t.Errorf("%s lane %d: error %v, general %v", name, l, fe[l], ge[l])
									}
									a, b := fmt.Sprintf("%#v", resultBits(fo[l])), fmt.Sprintf("%#v", resultBits(go_[l]))
									if a != b {
										t.Errorf("%s lane %d:\nfused   %s\ngeneral %s", name, l, a, b)
									}
									n++
								}
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d lanes compared", n)
}

// resultBits is r's metrics with floats as bits.
func resultBits(r Result) []any {
	out := []any{r.SpikeStep, math.Float64bits(r.Baseline), math.Float64bits(r.PSP), r.PeakStep,
		math.Float64bits(r.TimeToPeak), math.Float64bits(r.Rise1090), r.HasRise, math.Float64bits(r.HalfWidth),
		r.HasHalfWidth, r.DSpikeFired}
	for c := range r.Peaks {
		out = append(out, math.Float64bits(r.Peaks[c]), math.Float64bits(r.Baselines[c]))
	}
	return out
}

// TestVectorScanStopsWhereGoDoes: the AVX2 scan of the record samples
// leaves every lane's scan state exactly as the Go scan does, so a batch
// stops early at the same sample (results alone cannot show this: an
// early stop never changes them).
func TestVectorScanStopsWhereGoDoes(t *testing.T) {
	defer func() { vecOff = false }()
	for _, L := range []int{4, 9, 32} {
		s, _ := seed()
		lanes := make([][]Receptor, L)
		for l := range lanes {
			lanes[l] = []Receptor{{Channel: AMPA, G: 0.1e-9 * math.Pow(100, float64(l)/float64(L)), TauDecay: 2e-3}}
		}
		type state struct {
			filled, scanned int
			st              string
		}
		run := func(off bool) state {
			vecOff = off
			sm, err := New(s, L)
			if err != nil {
				t.Fatal(err)
			}
			out, errs := make([]Result, L), make([]error, L)
			if err := sm.RunEach(context.Background(), lanes, nil, out, errs); err != nil {
				t.Fatal(err)
			}
			st := sm.scan
			return state{sm.filled, sm.scanned, fmt.Sprint(st.best[:L], st.kbest[:L], st.down[:L], st.bad[:L])}
		}
		vec, scalar := run(false), run(true)
		if vec != scalar {
			t.Errorf("%d lanes: vector scan %+v, Go scan %+v", L, vec, scalar)
		}
		if vec.filled >= 900 {
			t.Errorf("%d lanes: no early stop (%d samples)", L, vec.filled)
		}
	}
}
