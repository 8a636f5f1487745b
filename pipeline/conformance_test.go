package pipeline

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dendfit/dendfit/sim/spec"
)

// The expected files are what Dendrify 2.2.0 on Brian 2.5.1 computed for
// each case (testdata/reference/README.md, copied from the project's shared
// reference). Tolerances are the README's.

type refPathway struct {
	GNS          []float64          `json:"g_nS"`
	GEffNS       []float64          `json:"g_eff_nS"`
	IHoldPA      *float64           `json:"i_hold_pA"`
	SteadyState  map[string]float64 `json:"steady_state"`
	BaselineMV   float64            `json:"baseline_mV"`
	PSPMV        float64            `json:"psp_mV"`
	TimeToPeakMS float64            `json:"time_to_peak_ms"`
	Rise1090MS   *float64           `json:"rise_10_90_ms"`
	HalfWidthMS  *float64           `json:"half_width_ms"`
	PeaksMV      map[string]float64 `json:"peaks_mV"`
	BaselinesMV  map[string]float64 `json:"baselines_mV"`
	DSpikeFired  bool               `json:"dspike_fired"`
	DSpikeEvents []DSpikeEvent      `json:"dspike_events"`
	NSamples     int                `json:"n_samples"`
	SpikeSample  int                `json:"spike_sample"`
	Trace        struct {
		FirstSample int       `json:"first_sample"`
		VRecordMV   []float64 `json:"v_record_mV"`
	} `json:"trace"`
	TargetPSPMV *float64 `json:"target_psp_mV"`
	GFitNS      *float64 `json:"g_fit_nS"`
	GFitReason  *string  `json:"g_fit_reason"`
	PSPAtFitMV  *float64 `json:"psp_at_fit_mV"`
}

type refSweepRow struct {
	Pathway     int      `json:"pathway"`
	GNS         *float64 `json:"g_nS"`
	TDecayMS    *float64 `json:"t_decay_ms"`
	TRiseMS     *float64 `json:"t_rise_ms"`
	PSPMV       float64  `json:"psp_mV"`
	DSpikeFired bool     `json:"dspike_fired"`
}

type refCase struct {
	Case     string        `json:"case"`
	DtMS     float64       `json:"dt_ms"`
	Pathways []refPathway  `json:"pathways"`
	Sweep    []refSweepRow `json:"sweep"`
}

type refEntry struct {
	name string
	spec *spec.Spec
	want refCase
}

func loadReference(t testing.TB) []refEntry {
	t.Helper()
	files, err := filepath.Glob("testdata/reference/cases/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no reference cases: %v", err)
	}
	var out []refEntry
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		s, err := spec.Load(f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, err := os.ReadFile(filepath.Join("testdata/reference/expected", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var rc refCase
		if err := json.Unmarshal(b, &rc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, refEntry{name, s, rc})
	}
	return out
}

func relClose(got, want, rtol float64) bool {
	if math.IsNaN(got) || math.IsInf(got, 0) {
		return false
	}
	return math.Abs(got-want) <= rtol*math.Abs(want) || (want == 0 && got == 0)
}

func absClose(got, want, atol float64) bool {
	if math.IsNaN(got) || math.IsInf(got, 0) {
		return false
	}
	return math.Abs(got-want) <= atol
}

func TestConformance(t *testing.T) {
	compared := 0
	for _, rc := range loadReference(t) {
		t.Run(rc.name, func(t *testing.T) {
			got, err := Simulate(context.Background(), rc.spec, &SimulateOptions{Trace: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(rc.want.Pathways) {
				t.Fatalf("%d pathways, want %d", len(got), len(rc.want.Pathways))
			}
			dt := rc.want.DtMS
			for i, w := range rc.want.Pathways {
				g := got[i]
				check := func(what string, ok bool, gv, wv any) {
					t.Helper()
					compared++
					if !ok {
						t.Errorf("pathway %d %s: got %v, want %v", i, what, gv, wv)
					}
				}
				check("psp_mV", relClose(g.PSPMV, w.PSPMV, 1e-9), g.PSPMV, w.PSPMV)
				check("baseline_mV", absClose(g.BaselineMV, w.BaselineMV, 1e-9), g.BaselineMV, w.BaselineMV)
				check("time_to_peak sample", math.Round(g.TimeToPeakMS/dt) == math.Round(w.TimeToPeakMS/dt), g.TimeToPeakMS, w.TimeToPeakMS)
				check("n_samples", g.NSamples == w.NSamples, g.NSamples, w.NSamples)
				check("spike_sample", g.SpikeSample == w.SpikeSample, g.SpikeSample, w.SpikeSample)
				for j := range w.GEffNS {
					check("g_eff_nS", relClose(g.GEffNS[j], w.GEffNS[j], 1e-12), g.GEffNS[j], w.GEffNS[j])
				}
				optClose := func(what string, gv, wv *float64) {
					t.Helper()
					if gv == nil || wv == nil {
						check(what+" null", (gv == nil) == (wv == nil), gv, wv)
						return
					}
					check(what, absClose(*gv, *wv, 1e-6), *gv, *wv)
				}
				optClose("rise_10_90_ms", g.Rise1090MS, w.Rise1090MS)
				optClose("half_width_ms", g.HalfWidthMS, w.HalfWidthMS)
				if w.IHoldPA == nil || g.IHoldPA == nil {
					check("i_hold_pA null", (w.IHoldPA == nil) == (g.IHoldPA == nil), g.IHoldPA, w.IHoldPA)
				} else {
					check("i_hold_pA", relClose(*g.IHoldPA, *w.IHoldPA, 1e-9), *g.IHoldPA, *w.IHoldPA)
				}
				check("steady_state keys", len(g.SteadyState) == len(w.SteadyState), g.SteadyState, w.SteadyState)
				for k, wv := range w.SteadyState {
					gv, ok := g.SteadyState[k]
					check("steady_state "+k, ok && absClose(gv, wv, 1e-9), gv, wv)
				}
				for k, wv := range w.PeaksMV {
					check("peaks_mV "+k, relClose(g.PeaksMV[k], wv, 1e-9), g.PeaksMV[k], wv)
				}
				for k, wv := range w.BaselinesMV {
					check("baselines_mV "+k, absClose(g.BaselinesMV[k], wv, 1e-9), g.BaselinesMV[k], wv)
				}
				check("dspike_fired", g.DSpikeFired == w.DSpikeFired, g.DSpikeFired, w.DSpikeFired)
				check("dspike events", len(g.DSpikeEvents) == len(w.DSpikeEvents), g.DSpikeEvents, w.DSpikeEvents)
				for j := range w.DSpikeEvents {
					if j < len(g.DSpikeEvents) {
						ge, we := g.DSpikeEvents[j], w.DSpikeEvents[j]
						check("dspike event", ge.Compartment == we.Compartment && ge.Name == we.Name &&
							math.Round(ge.TMS/dt) == math.Round(we.TMS/dt), ge, we)
					}
				}
				tr := g.Trace.VMV[g.Record]
				bad := 0
				for j, wv := range w.Trace.VRecordMV {
					k := w.Trace.FirstSample + j
					if k >= len(tr) || !absClose(tr[k], wv, 1e-9) {
						bad++
						if bad < 3 {
							t.Errorf("pathway %d trace sample %d: got %v, want %v", i, k, tr[min(k, len(tr)-1)], wv)
						}
					}
				}
				compared++
				if bad > 0 {
					t.Errorf("pathway %d: %d of %d trace samples differ", i, bad, len(w.Trace.VRecordMV))
				}
			}
		})
	}
	t.Logf("%d quantities compared", compared)
}
