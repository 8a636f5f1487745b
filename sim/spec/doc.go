// Package spec parses dendfit experiment specs: the YAML files that describe
// Dendrify-style reduced compartmental cell models, the populations using
// them, the pathways between populations with their receptors and target
// PSP amplitudes, and the sweep and fit settings (format 1, see
// docs/experiment-spec.md).
//
// Load and Parse return a validated *Spec with every quantity in SI units
// (ParseQuantity does the unit arithmetic the way Brian 2 does). Every
// problem in the input is an *Error naming the file, line and field path:
//
//	l23.yaml:14: cells.pyr.compartments[1].gl: want specific conductance (S/m2) in S/cm2, mS/cm2, S/m2, uS/cm2 or nS/cm2, got "5 mV", a voltage
//
// Spec.Cell and Spec.Setup convert a spec to the simulator's types
// (sim.Cell, sim.Setup, sim.Receptor) with Dendrify's rules for areas,
// cell-level overrides and axial couplings, so that a spec means exactly
// what Dendrify would build from it.
package spec
