package sim_test

import (
	"context"
	"fmt"
	"math"

	"github.com/dendfit/dendfit/sim"
)

// The seed model of the reference set: two 20 um x 20 um cylinders with
// Dendrify's scale_factor 5, coupled by 12 nS, an AMPA synapse on the
// dendrite and the PSP recorded at the soma.
func ExampleSimulate() {
	area := math.Pi * 20e-6 * 20e-6 * 5 // m2
	comp := func(name string) sim.Compartment {
		return sim.Compartment{Name: name, C: area * 0.01, GL: area * 0.4, EL: -70e-3}
	}
	setup := &sim.Setup{
		Cell:      &sim.Cell{Compartments: []sim.Compartment{comp("soma"), comp("dend")}, Couplings: []sim.Coupling{{A: 0, B: 1, G: 12e-9}}},
		Constants: sim.DefaultConstants(),
		Protocol:  sim.Protocol{Method: sim.Euler, Dt: 0.1e-3, Duration: 100e-3, SpikeAt: 10e-3, Synapse: 1, Record: 0},
	}
	r, err := sim.Simulate(setup, []sim.Receptor{{Channel: sim.AMPA, G: 1e-9, TauDecay: 2e-3}}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("PSP %.6f mV, peak after %.1f ms, half width %.3f ms\n", r.PSP*1e3, r.TimeToPeak*1e3, r.HalfWidth*1e3)
	// Output: PSP 0.746830 mV, peak after 9.1 ms, half width 26.133 ms
}

// A batch advances many parameter points of one cell together; each lane
// is bit-identical to a lone run of its point.
func ExampleSimulator_Run() {
	setup := &sim.Setup{
		Cell:      &sim.Cell{Compartments: []sim.Compartment{{Name: "soma", C: 100e-12, GL: 10e-9, EL: -70e-3}}},
		Constants: sim.DefaultConstants(),
		Protocol:  sim.Protocol{Method: sim.RK4, Dt: 0.1e-3, Duration: 100e-3, SpikeAt: 10e-3},
	}
	sm, err := sim.New(setup, 3)
	if err != nil {
		fmt.Println(err)
		return
	}
	var points [][]sim.Receptor
	for _, g := range []float64{0.5e-9, 1e-9, 2e-9} {
		points = append(points, []sim.Receptor{{Channel: sim.GABA, G: g, TauDecay: 8e-3}})
	}
	out := make([]sim.Result, len(points))
	if err := sm.Run(context.Background(), points, &sim.Options{RecordOnly: true}, out); err != nil {
		fmt.Println(err)
		return
	}
	for i, r := range out {
		fmt.Printf("g %.1f nS: %.4f mV\n", points[i][0].G*1e9, r.PSP*1e3)
	}
	// Output:
	// g 0.5 nS: -0.1620 mV
	// g 1.0 nS: -0.3203 mV
	// g 2.0 nS: -0.6263 mV
}
