package sim

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestFusedMatchesGeneral: the fused one- and two-compartment Euler step
// gives, lane by lane, exactly the results of the general batched path,
// for point cells and soma-dendrite cells, the synapse and the record site
// on either compartment, receptors with and without rise, AMPA and GABA,
// with and without holding, peaks kept or not, and a lane that diverges;
// with every lane in the vector loop (which then runs many steps a call)
// and with some in the Go loop, with the four- and (where the CPU has
// them) eight-lane kernels.
func TestFusedMatchesGeneral(t *testing.T) {
	defer func() { fuseOff, vecOff, vec512Off = false, false, false }()
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
								// 8 lanes go through the vector loop alone, 9
								// through it and the Go loop, 12 through the
								// four-lane kernel alone.
								for _, L := range []int{8, 9, 12} {
									name := fmt.Sprintf("nc%d syn%d rec%d %v rise%v hold%v all%v L%d", nc, syn, rec, ch, rise, hold, trackAll, L)
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
									go_, ge := run(true)
									for _, narrow := range []bool{false, true} {
										vec512Off = narrow
										fo, fe := run(false)
										vec512Off = false
										for l := range fo {
											if fmt.Sprint(fe[l]) != fmt.Sprint(ge[l]) {
												t.Errorf("%s narrow %v lane %d: error %v, general %v", name, narrow, l, fe[l], ge[l])
											}
											a, b := fmt.Sprintf("%#v", resultBits(fo[l])), fmt.Sprintf("%#v", resultBits(go_[l]))
											if a != b {
												t.Errorf("%s narrow %v lane %d:\nfused   %s\ngeneral %s", name, narrow, l, a, b)
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

// TestVectorScanStopsWhereGoDoes: the vector scans (four and eight lanes
// an instruction) of the record samples leave every lane's scan state
// exactly as the Go scan does, so a batch stops early at the same sample
// (results alone cannot show this: an early stop never changes them).
func TestVectorScanStopsWhereGoDoes(t *testing.T) {
	defer func() { vecOff, vec512Off = false, false }()
	for _, L := range []int{4, 9, 12, 32} {
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
			return state{sm.filled, sm.scanned, fmt.Sprint(st.best[:L], st.kbest[:L], st.neg[:L], st.kdown[:L], st.bad[:L])}
		}
		vec, scalar := run(false), run(true)
		vec512Off = true
		narrow := run(false)
		vec512Off = false
		if vec != scalar || narrow != scalar {
			t.Errorf("%d lanes: vector scan %+v, four-lane %+v, Go scan %+v", L, vec, narrow, scalar)
		}
		if vec.filled >= 900 {
			t.Errorf("%d lanes: no early stop (%d samples)", L, vec.filled)
		}
	}
}

// TestScanMatchesDefinition: the online scan, Go and vector, scanned in
// arbitrary pieces, and the rise search after it leave for every lane what
// the definitions give over the whole trace at once: the first sample of
// largest |V - baseline|, the first sample after it whose deviation in the
// peak's direction is below half of that, the first sample out of range,
// and the first samples up to the peak whose deviation reaches 10, 50 and
// 90 % of it. The traces wander on
// both sides of the baseline, dip before they peak and carry NaN and
// out-of-range samples, which no PSP of the reference cases does.
func TestScanMatchesDefinition(t *testing.T) {
	defer func() { vecOff, vec512Off = false, false }()
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		L := 1 + rng.IntN(26)
		rows := 2 + rng.IntN(60)
		rec := make([]float64, rows*L)
		for l := range L {
			v := -0.07 + 0.01*rng.NormFloat64()
			rec[l] = v
			for i := 1; i < rows; i++ {
				switch u := rng.Float64(); {
				case u < 0.01:
					v = math.NaN()
				case u < 0.02:
					v = 2 * float64(1-2*rng.IntN(2)) // beyond maxVoltage
				case u < 0.05:
					v = rec[l] // back to the baseline exactly
				default:
					v = rec[(i-1)*L+l] + 0.002*rng.NormFloat64()
					if math.IsNaN(v) || math.Abs(v) > 1 {
						v = rec[l]
					}
				}
				if u := rng.Float64(); u < 0.05 {
					v = rec[l] + 0.5*(rec[(i-1)*L+l]-rec[l]) // exactly half of the last
				}
				rec[i*L+l] = v
			}
			if trial%3 == 0 {
				// A baseline of 0 and samples at exactly 10, 50 and 90 %
				// (and 100) of the peak to come: >= and > differ here.
				P := (0.01 + 0.04*rng.Float64()) * float64(1-2*rng.IntN(2))
				kpk := 1 + rng.IntN(rows-1)
				levels := []float64{0.1 * P, 0.5 * P, 0.9 * P, P, 0}
				rec[l] = 0
				for i := 1; i < rows; i++ {
					switch {
					case i == kpk:
						rec[i*L+l] = P
					case i < kpk:
						rec[i*L+l] = levels[rng.IntN(3)]
					default:
						rec[i*L+l] = levels[1+rng.IntN(4)]
					}
				}
			}
		}
		for _, mode := range []string{"wide", "narrow", "off"} {
			vecOff, vec512Off = mode == "off", mode == "narrow"
			st := newScanState(L)
			for from := 1; from < rows; {
				to := min(rows-1, from+rng.IntN(8))
				n := scanRowsVec(rec, L, from, to, &st)
				scanRowsGo(rec, L, n, from, to, &st)
				from = to + 1
			}
			n := riseRowsVec(rec, L, &st)
			riseRowsGo(rec, L, n, &st)
			for l := range L {
				b := rec[l]
				var best float64
				var kbest, kdown, bad int64
				for i := 1; i < rows; i++ {
					v := rec[i*L+l]
					if bad == 0 && !(math.Abs(v) <= maxVoltage) {
						bad = int64(i)
					}
					if d := math.Abs(v - b); d > best {
						best, kbest = d, int64(i)
					}
				}
				sign := 1.0
				if kbest > 0 && rec[int(kbest)*L+l]-b < 0 {
					sign = -1
				}
				for i := kbest + 1; kbest > 0 && i < int64(rows); i++ {
					if sign*(rec[int(i)*L+l]-b) < 0.5*best {
						kdown = i
						break
					}
				}
				var rise [3]int64
				for k, p := range []float64{0.1, 0.5, 0.9} {
					for i := int64(1); i <= kbest; i++ {
						if sign*(rec[int(i)*L+l]-b) >= p*best {
							rise[k] = i
							break
						}
					}
				}
				got := [7]float64{st.best[l], float64(st.kbest[l]), float64(st.kdown[l]), float64(st.bad[l]),
					float64(st.rise[0][l]), float64(st.rise[1][l]), float64(st.rise[2][l])}
				want := [7]float64{best, float64(kbest), float64(kdown), float64(bad), float64(rise[0]), float64(rise[1]), float64(rise[2])}
				if math.Float64bits(got[0]) != math.Float64bits(want[0]) || [6]float64(got[1:]) != [6]float64(want[1:]) {
					t.Fatalf("trial %d, lane %d of %d, vectors %s: scan (best, kbest, kdown, bad, rise 10/50/90) %v, definition %v", trial, l, L, mode, got, want)
				}
			}
		}
	}
}

// TestSimulatorReusedAcrossShapes: one Simulator run on batches of other
// receptor shapes in turn (instant rise, then a rise time, which grows its
// state arrays, then instant again) gives each batch what a fresh
// Simulator gives it. The vector loop prepared for the first batch held
// the old arrays; reused on the third, it returned about half the PSP.
func TestSimulatorReusedAcrossShapes(t *testing.T) {
	s, _ := seed()
	const L = 4
	batch := func(rise float64, extra bool) [][]Receptor {
		lanes := make([][]Receptor, L)
		for l := range lanes {
			lanes[l] = []Receptor{{Channel: AMPA, G: float64(l+1) * 1e-9, TauDecay: 2e-3, TauRise: rise}}
			if extra {
				lanes[l] = append(lanes[l], Receptor{Channel: NMDA, G: 0.5e-9, TauDecay: 60e-3, TauRise: 5e-3})
			}
		}
		return lanes
	}
	ctx := context.Background()
	run := func(sm *Simulator, lanes [][]Receptor) []Result {
		out := make([]Result, L)
		if err := sm.Run(ctx, lanes, &Options{RecordOnly: true}, out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	reused, err := New(s, L)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range [][][]Receptor{batch(0, false), batch(0.5e-3, false), batch(0, false), batch(0, true), batch(0, false)} {
		fresh, err := New(s, L)
		if err != nil {
			t.Fatal(err)
		}
		got, want := run(reused, b), run(fresh, b)
		for l := range got {
			if got[l].PSP != want[l].PSP || got[l].TimeToPeak != want[l].TimeToPeak {
				t.Errorf("batch %d lane %d: reused Simulator gives PSP %g V, a fresh one %g V", i, l, got[l].PSP, want[l].PSP)
			}
		}
	}
}
