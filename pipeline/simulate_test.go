package pipeline

import (
	"context"
	"strings"
	"testing"

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
