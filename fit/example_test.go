package fit_test

import (
	"context"
	"fmt"
	"log"

	"github.com/dendfit/dendfit/fit"
)

// Find the g that makes a 0.5 mV PSP, here of a synapse whose PSP
// saturates as 2 mV g/(g + 3 nS): the root is g = 0.5*3/(2-0.5) = 1 nS.
// In dendfit the evaluation is a simulation (pipeline.Fit).
func ExampleAmplitude() {
	psp := func(_ context.Context, g float64) (float64, bool, error) {
		return 2e-3 * g / (g + 3e-9), false, nil
	}
	r, err := fit.Amplitude(context.Background(), fit.Problem{
		Eval: psp, Target: 0.5e-3, G0: 0.1e-9, GMin: 1e-12, GMax: 1e-6, RTol: 1e-9,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: g = %.6f nS, PSP = %.6f mV\n", r.Outcome, r.G/1e-9, r.PSP/1e-3)
	// Output: converged: g = 1.000000 nS, PSP = 0.500000 mV
}
