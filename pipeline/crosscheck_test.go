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

// TestDendrifyCrossCheck compares every compartment's trace and every
// dSpike event with what Dendrify 2.2 + Brian 2.5.1 computed for the cases
// in testdata/dendrify-check (see its README), at the reference tolerance
// of 1e-9 mV.
func TestDendrifyCrossCheck(t *testing.T) {
	files, _ := filepath.Glob("testdata/dendrify-check/cases/*.yaml")
	if len(files) == 0 {
		t.Fatal("no cross-check cases")
	}
	samples := 0
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			s, err := spec.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join("testdata/dendrify-check/expected", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var want struct {
				DtMS     float64 `json:"dt_ms"`
				Pathways []struct {
					FirstSample  int                  `json:"first_sample"`
					TracesMV     map[string][]float64 `json:"traces_mV"`
					DSpikeEvents []struct {
						Compartment string `json:"compartment"`
						Name        string `json:"name"`
						Step        int    `json:"step"`
					} `json:"dspike_events"`
				} `json:"pathways"`
			}
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			got, err := Simulate(context.Background(), s, &SimulateOptions{Trace: true})
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range want.Pathways {
				g := got[i]
				for comp, tr := range w.TracesMV {
					gt := g.Trace.VMV[comp]
					if len(gt) != w.FirstSample+len(tr) {
						t.Fatalf("pathway %d %s: %d samples, want %d", i, comp, len(gt), w.FirstSample+len(tr))
					}
					for j, v := range tr {
						samples++
						if d := math.Abs(gt[w.FirstSample+j] - v); !(d <= 1e-9) {
							t.Fatalf("pathway %d %s sample %d: %v mV, want %v", i, comp, w.FirstSample+j, gt[w.FirstSample+j], v)
						}
					}
				}
				if len(g.DSpikeEvents) != len(w.DSpikeEvents) {
					t.Fatalf("pathway %d: %d dSpikes, want %d", i, len(g.DSpikeEvents), len(w.DSpikeEvents))
				}
				// Both lists are sorted by compartment, name, step in the
				// expected file; compare as sets.
				seen := map[[3]any]int{}
				for _, e := range w.DSpikeEvents {
					seen[[3]any{e.Compartment, e.Name, e.Step}]++
				}
				for _, e := range g.DSpikeEvents {
					k := [3]any{e.Compartment, e.Name, int(math.Round(e.TMS / want.DtMS))}
					if seen[k] == 0 {
						t.Errorf("pathway %d: unexpected dSpike %v", i, k)
					}
					seen[k]--
				}
			}
		})
	}
	t.Logf("%d samples compared", samples)
}
