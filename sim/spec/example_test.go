package spec_test

import (
	"fmt"

	"github.com/dendfit/dendfit/sim/spec"
)

func ExampleParse() {
	const text = `dendfit: 1
experiment: demo
cells:
  pyr:
    v_rest: -70 mV
    compartments:
    - {name: soma, type: soma, cm_abs: 100 pF, gl_abs: 10 nS}
    - {name: dend, type: dendrite, cm_abs: 50 pF, gl_abs: 5 nS}
    connections:
    - [soma, dend, 12 nS]
populations:
  E: pyr
pathways:
- pre: E
  post: E
  compartment: dend
  receptors:
  - {channel: AMPA, g: 1 nS, t_decay: 2 ms}
  - {channel: NMDA, g: 0.5 nS, t_rise: 5 ms, t_decay: 60 ms}
  target_psp: 0.5 mV
`
	s, err := spec.Parse("demo.yaml", []byte(text))
	if err != nil {
		fmt.Println(err)
		return
	}
	p := s.Pathways[0]
	fmt.Println(s.Name, p.Label(), "record:", p.Record, "dt:", s.Simulation.Dt)
	setup, receptors, _ := s.Setup(0)
	for _, k := range setup.Cell.Compartments {
		fmt.Printf("%s C=%g F gL=%g S EL=%g V\n", k.Name, k.C, k.GL, k.EL)
	}
	fmt.Printf("%d receptors, coupling %g S\n", len(receptors), setup.Cell.Couplings[0].G)

	_, err = spec.Parse("demo.yaml", []byte(text[:len(text)-len("  target_psp: 0.5 mV\n")]+"  target_psp: 5 ms\n"))
	fmt.Println(err)
	// Output:
	// demo E->E (AMPA+NMDA) record: soma dt: 0.0001
	// soma C=1e-10 F gL=1e-08 S EL=-0.07 V
	// dend C=5e-11 F gL=5e-09 S EL=-0.07 V
	// 2 receptors, coupling 1.2000000000000002e-08 S
	// demo.yaml:20: pathways[0].target_psp: want voltage (V) in V, mV or uV, got "5 ms", a time
}
