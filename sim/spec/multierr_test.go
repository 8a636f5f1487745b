package spec

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// specErrors parses y and returns its errors one a line, as Error writes
// them.
func specErrors(t *testing.T, y string) []string {
	t.Helper()
	_, err := Parse("l23.yaml", []byte(y))
	if err == nil {
		return nil
	}
	var es Errors
	if !errors.As(err, &es) {
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("error %T is not a spec error: %v", err, err)
		}
		es = Errors{e}
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Error())
	}
	return out
}

// mistakes are one-line edits of base, each a single error in a part of
// the spec: the simulation, the experiment, a cell's own fields, each of
// its compartments and couplings, the populations, a pathway's fields and
// its receptor.
var mistakes = []struct{ name, old, new string }{
	{"dt", "dt: 0.1 ms", "dt: 0.1 parsec"},
	{"duration", "duration: 100 ms", "duration: 100 kg"},
	{"experiment", "experiment: t", "experiment: a b"},
	{"v_rest", "v_rest: -70 mV", "v_rest: -70 nS"},
	{"soma cm", "cm_abs: 100 pF", "cm_abs: 100 pV"},
	{"dend gl", "gl_abs: 5 nS", "gl_abs: 5 mV"},
	{"coupling", "[soma, dend, 12 nS]", "[soma, dend, 12 mV]"},
	{"population", "E: pyr", "E: pv"},
	{"pre", "pre: E", "pre: I"},
	{"target", "target_psp: 0.5 mV", "target_psp: 0.5 nS"},
	{"channel", "channel: AMPA", "channel: GABAB"},
	{"g", "g: 1 nS", "g: 1 nF"},
}

// TestSeveralErrorsNoCascade: a spec with two mistakes reports nothing
// that neither mistake reports alone (no error follows from another), in
// line order, and at least the first of them. Each mistake alone is one
// error.
func TestSeveralErrorsNoCascade(t *testing.T) {
	alone := map[string][]string{}
	for _, m := range mistakes {
		errs := specErrors(t, edit(t, base, m.old, m.new))
		if len(errs) != 1 {
			t.Fatalf("%s alone: %d errors %q, want 1", m.name, len(errs), errs)
		}
		alone[m.name] = errs
	}
	for i, a := range mistakes {
		for _, b := range mistakes[i+1:] {
			both := specErrors(t, edit(t, base, a.old, a.new, b.old, b.new))
			union := append(slices.Clone(alone[a.name]), alone[b.name]...)
			for _, e := range both {
				if !slices.Contains(union, e) {
					t.Errorf("%s and %s: %q is neither's own error (%q)", a.name, b.name, e, union)
				}
			}
			if len(both) == 0 {
				t.Errorf("%s and %s: no error", a.name, b.name)
			}
			line := func(e string) (n int) { fmt.Sscanf(strings.SplitN(e, ":", 3)[1], "%d", &n); return n }
			if !slices.IsSortedFunc(both, func(x, y string) int { return line(x) - line(y) }) {
				t.Errorf("%s and %s: errors out of line order: %q", a.name, b.name, both)
			}
		}
	}
}

// TestSeveralErrorsTogether: mistakes in parts that do not build on each
// other are reported together: the simulation with every compartment and
// a cell's own field; each receptor of a pathway; and then one line a
// message through Error. A mistake in what others build on (a cell)
// hides theirs (a pathway's).
func TestSeveralErrorsTogether(t *testing.T) {
	two := edit(t, base, "    g: 1 nS\n    t_decay: 2 ms\n", "    g: 1 nF\n    t_decay: 2 ms\n  - channel: NMDA\n    g: 1 nS\n    t_decay: 2 kg\n")
	tests := []struct {
		name string
		yaml string
		want []string // the errors' fields, in order
	}{
		{"simulation and cells", edit(t, base, "dt: 0.1 ms", "dt: 0.1 parsec", "v_rest: -70 mV", "v_rest: -70 nS",
			"cm_abs: 100 pF", "cm_abs: 100 pV", "gl_abs: 5 nS", "gl_abs: 5 mV"),
			[]string{"simulation.dt", "cells.pyr.v_rest", "cells.pyr.compartments[0].cm_abs", "cells.pyr.compartments[1].gl_abs"}},
		{"receptors", two, []string{"pathways[0].receptors[0].g", "pathways[0].receptors[1].t_decay"}},
		{"a cell hides the pathways", edit(t, base, "gl_abs: 5 nS", "gl_abs: 5 mV", "g: 1 nS", "g: 1 nF"),
			[]string{"cells.pyr.compartments[1].gl_abs"}},
		// A range check is the field's own: an earlier field's error
		// does not turn it off.
		{"unit, then sign, in one compartment", edit(t, base, "cm_abs: 100 pF", "cm_abs: 100 pV", "gl_abs: 10 nS", "gl_abs: -10 nS"),
			[]string{"cells.pyr.compartments[0].cm_abs", "cells.pyr.compartments[0].gl_abs"}},
		{"dt, then spike_at's sign", edit(t, base, "dt: 0.1 ms", "dt: 0.1 mV", "spike_at: 10 ms", "spike_at: -1 ms"),
			[]string{"simulation.dt", "simulation.spike_at"}},
		// Nothing builds on the experiment's name or the fit block.
		{"name and receptor", edit(t, base, "experiment: t", "experiment: a b", "g: 1 nS", "g: 1 nF"),
			[]string{"experiment", "pathways[0].receptors[0].g"}},
		{"simulation and fit", edit(t, base, "dt: 0.1 ms", "dt: 0.1 mV") + "fit: {g_min: 1 mV, rtol: 2}\n",
			[]string{"simulation.dt", "fit.g_min", "fit.rtol"}},
		// A pathway's fields on their own, and its receptors.
		{"pre, post and receptor", edit(t, base, "pre: E", "pre: I", "post: E", "post: J", "g: 1 nS", "g: 1 nF"),
			[]string{"pathways[0].pre", "pathways[0].post", "pathways[0].receptors[0].g"}},
		{"populations", edit(t, base, "  E: pyr\n", "  E: pyr\n  F: pv\n  G: px\n"),
			[]string{"populations.F", "populations.G"}},
		{"connections", edit(t, base, "    - [soma, dend, 12 nS]\n", "    - [soma, dend, 12 mV]\n    - [dend, dend, 1 nS]\n"),
			[]string{"cells.pyr.connections[0][2]", "cells.pyr.connections[1]"}},
		// A synapse made twice does not hide a later pathway's mistake.
		{"synapse twice, then a pathway", base + "- pre: E\n  post: E\n  compartment: dend\n  receptors:\n  - channel: AMPA\n    g: 2 nS\n    t_decay: 2 ms\n" +
			"- pre: E\n  post: E\n  compartment: soma\n  receptors:\n  - channel: GABA\n    g: 1 mV\n    t_decay: 5 ms\n",
			[]string{"pathways[1].receptors[0].channel", "pathways[2].receptors[0].g"}},
		// An unknown field is reported with the mapping's other
		// mistakes (a trial's misspelt target_PSP hid its receptor's
		// unit); a misspelt required field is not also "missing", and
		// what needs it is not checked.
		{"unknown field and receptor", edit(t, base, "target_psp: 0.5 mV", "target_PSP: 0.5 mV", "t_decay: 2 ms", "t_decay: 2 mV"),
			[]string{"pathways[0].receptors[0].t_decay", "pathways[0].target_PSP"}},
		// The targets build on neither the receptors nor the cell (a
		// trial's misspelt channel hid its unitless target_psp).
		{"channel and target", edit(t, base, "channel: AMPA", "channel: NDMA", "target_psp: 0.5 mV", "target_psp: 0.5"),
			[]string{"pathways[0].receptors[0].channel", "pathways[0].target_psp"}},
		{"misspelt required field and receptor", edit(t, base, "compartment: dend", "compartmnt: dend", "g: 1 nS", "g: 1 nF"),
			[]string{"pathways[0].compartmnt", "pathways[0].receptors[0].g"}},
		{"unknown cell field and compartment", edit(t, base, "v_rest: -70 mV", "v_rst: -70 mV", "gl_abs: 5 nS", "gl_abs: 5 mV"),
			[]string{"cells.pyr.v_rst", "cells.pyr.compartments[1].gl_abs"}},
		// A one-compartment cell's own field is refused with its
		// compartment's mistake (it was only once that was mended).
		{"point cell field and compartment", edit(t, base, "    v_rest: -70 mV\n", "    v_rest: -70 mV\n    spine_factor: 2\n", "      gl_abs: 10 nS\n    - name: dend\n      type: dendrite\n      cm_abs: 50 pF\n      gl_abs: 5 nS\n    connections:\n    - [soma, dend, 12 nS]\n", "      gl_abs: 10 mV\n"),
			[]string{"cells.pyr.spine_factor", "cells.pyr.compartments[0].gl_abs"}},
		// The pathways build on the simulation's window.
		{"simulation hides the pathways", edit(t, base, "dt: 0.1 ms", "dt: 0.1 mV", "g: 1 nS", "g: 1 nF"),
			[]string{"simulation.dt"}},
	}
	for _, tc := range tests {
		errs := specErrors(t, tc.yaml)
		var got []string
		for _, e := range errs {
			got = append(got, strings.SplitN(e, ": ", 3)[1])
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: errors at %q, want %q (%q)", tc.name, got, tc.want, errs)
		}
		_, err := Parse("l23.yaml", []byte(tc.yaml))
		if n := strings.Count(err.Error(), "\n") + 1; n != len(tc.want) {
			t.Errorf("%s: Error() has %d lines for %d errors: %q", tc.name, n, len(tc.want), err)
		}
	}
}

// TestManyErrorsShortened: past maxShown errors, Error lists the first
// and counts the rest.
func TestManyErrorsShortened(t *testing.T) {
	var es Errors
	for i := range maxShown + 3 {
		es = append(es, &Error{File: "a.yaml", Line: i + 1, Path: "x", Msg: "bad"})
	}
	lines := strings.Split(es.Error(), "\n")
	if len(lines) != maxShown+1 || lines[maxShown] != "a.yaml: 3 more errors" || lines[0] != "a.yaml:1: x: bad" {
		t.Errorf("Error() = %q", lines)
	}
	if last := strings.Split(es[:maxShown+1].Error(), "\n")[maxShown]; last != "a.yaml: 1 more error" {
		t.Errorf("one more: %q", last)
	}
	var first *Error
	if !errors.As(error(es), &first) || first != es[0] {
		t.Errorf("errors.As gives %v, want the first", first)
	}
}

// dspikeCell is a cell whose dendrites have a dSpike with the same name,
// one with its rise reversal by a constant's name and one in mV: the
// values agree only where E_Na is 70 mV.
const dspikeCell = `dendfit: 1
experiment: c
constants:
  E_Na: 70 mV
cells:
  pyr:
    compartments:
      - {name: soma, type: soma, cm_abs: 50 pF, gl_abs: 2.5 nS, v_rest: -70 mV}
      - name: dend
        type: dendrite
        cm_abs: 50 pF
        gl_abs: 2.5 nS
        v_rest: -70 mV
        dspikes:
          - {name: Na, threshold: -35 mV, g_rise: 30 nS, g_fall: 14 nS, duration_rise: 1.2 ms, duration_fall: 2.4 ms, offset_fall: 0.2 ms, refractory: 5 ms, reversal_rise: E_Na, reversal_fall: E_K}
      - name: dend2
        type: dendrite
        cm_abs: 50 pF
        gl_abs: 2.5 nS
        v_rest: -70 mV
        dspikes:
          - {name: Na, threshold: -35 mV, g_rise: 30 nS, g_fall: 14 nS, duration_rise: 1.2 ms, duration_fall: 2.4 ms, offset_fall: 0.2 ms, refractory: 5 ms, reversal_rise: 70 mV, reversal_fall: E_K}
    connections:
      - [soma, dend, 12 nS]
      - [soma, dend2, 12 nS]
populations: {P: pyr}
pathways:
  - {pre: P, post: P, compartment: dend, receptors: [{channel: AMPA, g: 1 nS, t_decay: 2 ms}]}
`

// TestNoCascadeFromAFieldBefore: a field's own check does not change with
// an earlier field's mistake (a second trial found both): a t_rise of 0
// ms, which only warns, stays a warning after a mistake in the receptor's
// g; and an unknown key in a sweep range, which ends the reading of the
// range, does not make the keys after it missing.
func TestNoCascadeFromAFieldBefore(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"t_rise after g", edit(t, base, "    g: 1 nS\n", "    g: 1 nF\n    t_rise: 0 ms\n"), "pathways[0].receptors[0].g"},
		{"unknown key in a range", base + "sweep:\n  g: {from: 0.1 nS, tox: 10 nS, steps: 30}\n", "sweep.g.tox"},
		{"repeated key in a range", base + "sweep:\n  g: {from: 0.1 nS, from: 0.2 nS, to: 10 nS, steps: 30}\n", "sweep.g.from"},
	} {
		errs := specErrors(t, tc.yaml)
		if len(errs) != 1 || !strings.Contains(errs[0], ": "+tc.want+": ") {
			t.Errorf("%s: errors %q, want the one at %s", tc.name, errs, tc.want)
		}
	}
}

// TestNoCascadeFromWhatCellsRead: one mistake that a cell's later checks
// read gives one error, not one more for each check (a user trial found
// both): a compartment type that failed does not make its dSpikes "for
// dendrites only", and a constant that failed (read as 0 V) does not set
// two dSpike reversals at odds.
func TestNoCascadeFromWhatCellsRead(t *testing.T) {
	if errs := specErrors(t, dspikeCell); errs != nil {
		t.Fatalf("the valid spec: %q", errs)
	}
	for _, tc := range []struct{ name, yaml, want string }{
		{"type", edit(t, dspikeCell, "type: dendrite\n        cm_abs: 50 pF\n        gl_abs: 2.5 nS\n        v_rest: -70 mV\n        dspikes:\n          - {name: Na, threshold: -35 mV, g_rise: 30 nS, g_fall: 14 nS, duration_rise: 1.2 ms, duration_fall: 2.4 ms, offset_fall: 0.2 ms, refractory: 5 ms, reversal_rise: 70 mV",
			"type: dendrit\n        cm_abs: 50 pF\n        gl_abs: 2.5 nS\n        v_rest: -70 mV\n        dspikes:\n          - {name: Na, threshold: -35 mV, g_rise: 30 nS, g_fall: 14 nS, duration_rise: 1.2 ms, duration_fall: 2.4 ms, offset_fall: 0.2 ms, refractory: 5 ms, reversal_rise: 70 mV"),
			"cells.pyr.compartments[2].type"},
		{"constant", edit(t, dspikeCell, "E_Na: 70 mV", "E_Na: 70 mv"), "constants.E_Na"},
	} {
		errs := specErrors(t, tc.yaml)
		if len(errs) != 1 || !strings.Contains(errs[0], ": "+tc.want+": ") {
			t.Errorf("%s: errors %q, want the one at %s", tc.name, errs, tc.want)
		}
	}
}

// TestMgBlockFieldExplained: a receptor field for the Mg block (a trial
// wrote mg_block: true) says that NMDA always has it and what sets it.
func TestMgBlockFieldExplained(t *testing.T) {
	y := edit(t, base, "    g: 1 nS\n", "    g: 1 nS\n    mg_block: true\n")
	_, err := Parse("l23.yaml", []byte(y))
	if err == nil || !strings.Contains(err.Error(), "receptors[0].mg_block: unknown field; NMDA always carries Dendrify's Mg block, set by constants Mg_con") {
		t.Errorf("mg_block: %v", err)
	}
}

// TestConnectionUnitCaseHint: a coupling conductance whose unit differs
// in case alone names the right one, as other fields' do.
func TestConnectionUnitCaseHint(t *testing.T) {
	y := edit(t, base, "[soma, dend, 12 nS]", "[soma, dend, 12 ns]")
	_, err := Parse("l23.yaml", []byte(y))
	if err == nil || !strings.Contains(err.Error(), `got "12 ns": did you mean "nS"? (units are case-sensitive)`) {
		t.Errorf("connection 12 ns: %v", err)
	}
}
