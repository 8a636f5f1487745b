// Package sim computes what Dendrify 2.2 on Brian 2.5 computes for the PSP
// protocol of a reduced compartmental neuron, step for step: one
// presynaptic spike onto a cell at its steady state (at rest, or held at
// a potential by a constant current), and the PSP it makes at a recorded
// compartment.
//
// A Setup is the cell (Compartments with their C, gL, EL, adaptation,
// AdEx and dSpike mechanisms; Couplings between them), the Constants
// (reversal potentials, the NMDA Mg block) and the Protocol (method, dt,
// duration, spike time, synaptic and recorded compartments, holding). The
// Receptors (AMPA, NMDA, GABA: g, t_decay, optional t_rise and scale_g)
// are what a sweep or a fit varies, so a Simulator built once for a Setup
// runs batches of receptor sets, lane by lane, reusing its buffers;
// Simulate is the one-PSP convenience. Values are SI throughout: V, S, F,
// A, s.
//
// The step rules are Brian 2's (the euler, rk4 and exponential_euler state
// updaters as Brian 2.5.1 generates them, the order of monitor, update,
// spike delivery and dSpike events within a step, and the time grid k dt),
// and the results match real Dendrify to 1e-12 mV a sample or better over the
// reference cases. A batched run gives bit-identical numbers to a run of
// one lane: the fast paths (a fused step for small linear cells, AVX2 and
// AVX-512 assembly on amd64, stopping once no later sample can change a
// metric) keep the same IEEE operations in the same order.
//
// Every product that is added to something is written float64(x*y): Go
// may otherwise fuse a multiply and an add into one FMA instruction, which
// rounds once instead of twice. The arm64 compiler always fuses, and amd64
// does under GOAMD64=v3, so results would depend on the machine and, where
// the vector lanes and the Go loop differ, on a point's place in its batch;
// Brian 2's numpy code never fuses. TestNoFusedMultiplyAdd keeps it so.
//
// The package imports nothing of dendfit's: the spec parser (sim/spec)
// builds Setups, and pipeline runs them.
package sim
