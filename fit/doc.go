// Package fit finds the synaptic conductance at which a PSP reaches a
// target amplitude. It knows functions, not simulators: the caller supplies
// the PSP as a function of g, and fit brackets the root from a starting g
// (using the near-proportionality of small PSPs to g) and then refines it
// with Brent's method, reporting plainly when the target cannot be met: out
// of reach, below the smallest g, not monotone, or across a dSpike jump.
package fit
