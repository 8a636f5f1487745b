package sim

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestRunCancelled: a run whose context has ended returns its error on
// every path (the one-lane linear Euler loop of fits, the fused and vector
// loops of sweeps, the general loop of rk4 and of traces) instead of
// running to the end. The decay is slow enough that no early stop comes
// first.
func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		lanes  int
		method Method
		opt    Options
	}{
		{1, Euler, Options{RecordOnly: true}}, // runLinearEuler
		{1, Euler, Options{}},
		{8, Euler, Options{RecordOnly: true}}, // fused, vector loop
		{1, RK4, Options{RecordOnly: true}},
		{1, Euler, Options{Trace: true}},
	} {
		t.Run(fmt.Sprintf("L%d %v %+v", tc.lanes, tc.method, tc.opt), func(t *testing.T) {
			s, _ := seed()
			s.Protocol.Method = tc.method
			s.Protocol.Duration = 20
			lanes := make([][]Receptor, tc.lanes)
			for l := range lanes {
				lanes[l] = []Receptor{{Channel: AMPA, G: 1e-9, TauDecay: 1e3}}
			}
			sm, err := New(s, tc.lanes)
			if err != nil {
				t.Fatal(err)
			}
			err = sm.Run(ctx, lanes, &tc.opt, make([]Result, tc.lanes))
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
		})
	}
}

// TestTooManySamples: a protocol whose samples do not fit the bound is an
// error from New (and, with a trace, from Run), not an out-of-memory crash;
// the same protocol with fewer lanes runs.
func TestTooManySamples(t *testing.T) {
	s, _ := seed()
	s.Protocol.Dt = 1e-6
	s.Protocol.Duration = 10 // 1e7 steps: 3.2e8 samples in 32 lanes
	if _, err := New(s, 32); err == nil || !strings.Contains(err.Error(), "32 lanes") || !strings.Contains(err.Error(), "shorten the duration or enlarge dt") {
		t.Errorf("32 lanes of 1e7 steps: err = %v, want the samples refused", err)
	}
	// A step count beyond an int's range is refused, not converted.
	for _, d := range []float64{3e3, 1e300} { // 3e9 and 1e306 steps
		s.Protocol.Duration = d
		if _, err := New(s, 1); err == nil || !strings.Contains(err.Error(), "steps, more than 2.147e+09") {
			t.Errorf("duration %g s at dt 1 us: err = %v, want the steps refused", d, err)
		}
	}
	s.Protocol.Duration = 10
	// A chain of 40 compartments: its trace of 1e7 steps is 4e8 samples.
	cp := s.Cell.Compartments[1]
	for i := 2; i < 40; i++ {
		cp.Name = fmt.Sprintf("d%d", i)
		s.Cell.Compartments = append(s.Cell.Compartments, cp)
		s.Cell.Couplings = append(s.Cell.Couplings, Coupling{i - 1, i, 12e-9})
	}
	sm, err := New(s, 1)
	if err != nil {
		t.Fatalf("one lane of 1e7 steps: %v", err)
	}
	rs := [][]Receptor{{{Channel: AMPA, G: 1e-9, TauDecay: 2e-3}}}
	err = sm.Run(context.Background(), rs, &Options{Trace: true}, make([]Result, 1))
	if err == nil || !strings.Contains(err.Error(), "40 compartments") {
		t.Errorf("trace of 1e7 steps: err = %v, want the samples refused", err)
	}
}
