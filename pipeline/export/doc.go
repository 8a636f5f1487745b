// Package export writes a calibration (the fits of one recorded fit run
// with the experiment spec it ran) in the forms its users need: a Python
// module for Dendrify 2.x with Brian 2 units, JSON with units and
// provenance, a CSV table per pathway and receptor, and the experiment spec
// with every fitted conductance written in.
//
// Every value is printed round-trip exact (strconv 'g', -1), so a reader
// gets the float64 the fit found.
package export
