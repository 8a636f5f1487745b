// Package plot draws dendfit's figures with gonum.org/v1/plot: the voltage
// traces of one pathway's PSP protocol, PSP amplitude against conductance
// from a sweep or a fit, and PSP heat maps over two sweep axes. Figures are
// written as PNG or SVG; data come from pipeline results and the database.
package plot
