// Package report writes the calibration report of an experiment: one
// self-contained HTML file (inline SVG and CSS, no script, nothing fetched
// over the network) with the spec, the calibration table, a trace and a
// PSP-g curve for every pathway and the provenance of the runs it shows.
package report
