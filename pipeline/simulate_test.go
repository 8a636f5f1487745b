package pipeline

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/fit"
	"github.com/dendfit/dendfit/sim/spec"
)

// TestEarlyDSpikes: a pathway held above a dSpike threshold fires dSpikes
// before the presynaptic spike, which EarlyDSpikes reports (fit said only
// that a dSpike fired even at g_min); a dSpike the synapse triggers, after
// the spike, is no warning.
func TestEarlyDSpikes(t *testing.T) {
	for _, tc := range []struct {
		path string
		want string
	}{
		{"testdata/hold-above-dspike.yaml", "dSpike Na of oblique fires at 0 ms, before the presynaptic spike at 15 ms: holding oblique at -38 mV may be above its dSpike threshold"},
		{"testdata/reference/cases/dspike-na-2comp-triggered.yaml", ""},
	} {
		s, err := spec.Load(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		var all []int
		for i := range s.Pathways {
			all = append(all, i)
		}
		ws, err := EarlyDSpikes(context.Background(), s, all)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case tc.want == "" && len(ws) > 0:
			t.Errorf("%s: %q, want no warning", tc.path, ws)
		case tc.want != "" && (len(ws) != 1 || !strings.Contains(ws[0], tc.want)):
			t.Errorf("%s: %q, want one containing %q", tc.path, ws, tc.want)
		}
	}
}

// TestSimulateKeepGoing: with KeepGoing, a pathway whose simulation runs
// away is a result with its error and no metrics, and the others are
// simulated as they are alone; without it, the failure ends Simulate.
func TestSimulateKeepGoing(t *testing.T) {
	ctx := context.Background()
	text, err := os.ReadFile("testdata/reference/cases/two-populations-three-pathways.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(text), "g: 3 nS", "g: 1e9 nS", 1) // pathway 1
	if bad == string(text) {
		t.Fatal("reference case changed: no 'g: 3 nS'")
	}
	s, err := spec.Parse("bad.yaml", []byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Simulate(ctx, s, nil); err == nil || !strings.HasPrefix(err.Error(), "pathway 1 ") {
		t.Fatalf("without KeepGoing: %v, want pathway 1's failure", err)
	}
	res, err := Simulate(ctx, s, &SimulateOptions{KeepGoing: true})
	if err != nil || len(res) != 3 {
		t.Fatalf("KeepGoing: %d results, %v", len(res), err)
	}
	if !strings.Contains(res[1].Error, "numerically unstable") || res[1].PSPMV != 0 || math.Abs(res[1].GNS[0]/1e9-1) > 1e-12 {
		t.Errorf("pathway 1: error %q, psp %v, g %v", res[1].Error, res[1].PSPMV, res[1].GNS)
	}
	for _, i := range []int{0, 2} {
		alone, err := Simulate(ctx, s, &SimulateOptions{Pathways: []int{i}})
		if err != nil {
			t.Fatal(err)
		}
		if res[i].Error != "" || res[i].PSPMV != alone[0].PSPMV {
			t.Errorf("pathway %d: error %q, psp %v; alone %v", i, res[i].Error, res[i].PSPMV, alone[0].PSPMV)
		}
	}
	if p := PointOf("p1", &res[1]); p.Status != db.PointFailed || p.Error != res[1].Error {
		t.Errorf("pathway 1 recorded as %s (%q)", p.Status, p.Error)
	}
}

// TestPeakAtWindowEnd: with a window that ends while the PSP still grows
// (the demo's NMDA response at 8 ms), simulate, fit and sweep each say
// that the PSP peaks at the last sample; with the spec's window none does.
func TestPeakAtWindowEnd(t *testing.T) {
	text, err := os.ReadFile("../experiments/l23-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		duration string
		atEnd    bool
	}{{"100 ms", false}, {"18 ms", true}} {
		y := strings.Replace(string(text), "duration: 100 ms", "duration: "+tc.duration, 1)
		if tc.atEnd {
			// Kinetics targets longer than the window are refused.
			y = regexp.MustCompile(`(?m)^\s*target_(rise|time_to_peak):.*\n`).ReplaceAllString(y, "")
		}
		s, err := spec.Parse("demo.yaml", []byte(y))
		if err != nil {
			t.Fatal(err)
		}
		res, err := Simulate(context.Background(), s, nil)
		if err != nil {
			t.Fatal(err)
		}
		lastMS := float64(res[0].NSamples-1-res[0].SpikeSample) * s.Simulation.Dt / 1e-3
		if res[0].PeakAtEnd != tc.atEnd || tc.atEnd && math.Abs(res[0].TimeToPeakMS-lastMS) > 1e-9 {
			t.Errorf("duration %s: simulate's PeakAtEnd %v (peak %g ms after the spike, last sample %g ms); want %v",
				tc.duration, res[0].PeakAtEnd, res[0].TimeToPeakMS, lastMS, tc.atEnd)
		}
		fits, err := Fit(context.Background(), s, &FitOptions{NoFine: true})
		if err != nil {
			t.Fatal(err)
		}
		if fits[0].PeakAtEnd != tc.atEnd {
			t.Errorf("duration %s: fit's PeakAtEnd %v, want %v", tc.duration, fits[0].PeakAtEnd, tc.atEnd)
		}
		st, err := Sweep(context.Background(), s, discard{}, 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n, all := st.Pathways[0].PeakAtEnd, st.Pathways[0].Points; tc.atEnd && n != all || !tc.atEnd && n != 0 {
			t.Errorf("duration %s: sweep counts %d of %d points peaking at the end", tc.duration, n, all)
		}
	}
}

// TestFailedResultsAreNullInJSON: a failed pathway's baseline, PSP and
// time to peak, and a sim_failed fit's PSP at fit, are null in JSON, as
// the database records them (they were 0, a plausible PSP); the keys are
// those of a good result, and a good result's values are numbers.
func TestFailedResultsAreNullInJSON(t *testing.T) {
	s := reproSpec(t, "seed-ampa-2comp-dimensional.yaml")
	good, err := Simulate(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	goodFit, err := Fit(context.Background(), s, &FitOptions{NoFine: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Pathways[0].Receptors[0].TauDecay = 0.04e-3 // below Euler's limit at dt 0.1 ms
	bad, err := Simulate(context.Background(), s, &SimulateOptions{KeepGoing: true})
	if err != nil {
		t.Fatal(err)
	}
	badFit, err := Fit(context.Background(), s, &FitOptions{NoFine: true})
	if err != nil {
		t.Fatal(err)
	}
	if bad[0].Error == "" || badFit[0].Outcome != fit.SimFailed {
		t.Fatalf("the unstable case did not fail: %q, %s", bad[0].Error, badFit[0].Outcome)
	}
	decode := func(v any) map[string]any {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, c := range []struct {
		good, bad any
		keys      []string
	}{
		{good[0], bad[0], []string{"baseline_mV", "psp_mV", "time_to_peak_ms"}},
		{goodFit[0], badFit[0], []string{"psp_at_fit_mV"}},
	} {
		g, b := decode(c.good), decode(c.bad)
		for _, k := range c.keys {
			if _, ok := g[k].(float64); !ok {
				t.Errorf("good %s = %v, want a number", k, g[k])
			}
			if v, ok := b[k]; !ok || v != nil {
				t.Errorf("failed %s = %v (present %v), want null", k, v, ok)
			}
		}
		for k := range g {
			if _, ok := b[k]; !ok && k != "error" && k != "g_fit_nS" && k != "psp_fine_dt_mV" {
				t.Errorf("failed result lacks key %s", k)
			}
		}
	}
}
