package pipeline

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/dendfit/dendfit/sim"
	"github.com/dendfit/dendfit/sim/spec"
)

// FuzzSimulate runs every spec the loader accepts through the simulator:
// whatever the spec, a run either fails with an error or returns finite
// numbers; it never panics and never returns NaN.
func FuzzSimulate(f *testing.F) {
	files, _ := filepath.Glob("testdata/reference/cases/*.yaml")
	more, _ := filepath.Glob("testdata/dendrify-check/cases/*.yaml")
	for _, p := range append(files, more...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := spec.Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		if s.Simulation.Steps() > 20000 || len(s.Pathways) > 8 {
			t.Skip("too long a run for a fuzz iteration")
		}
		res, err := Simulate(context.Background(), s, nil)
		if err != nil {
			if !errors.Is(err, sim.ErrUnstable) && err.Error() == "" {
				t.Fatalf("empty error")
			}
			return
		}
		for _, r := range res {
			for _, v := range []float64{r.PSPMV, r.BaselineMV, r.TimeToPeakMS} {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("pathway %d: non-finite result %v", r.Pathway, r)
				}
			}
		}
	})
}
