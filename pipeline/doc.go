// Package pipeline runs dendfit's work over an experiment spec: the PSP
// protocol of every pathway (Simulate), and concurrent, resumable,
// shardable sweeps over grids of conductance and kinetics (Sweep) whose
// results go to a Store. It turns simulator results (SI) into records with
// unit-suffixed fields (mV, ms, nS, pA), the units users read.
package pipeline
