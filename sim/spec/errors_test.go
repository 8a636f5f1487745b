package spec

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dendfit/dendfit/sim"
)

// base is a valid dimensionless two-compartment spec; the bad specs below
// are edits of it, so the line numbers in the wanted errors are its lines.
const base = `dendfit: 1
experiment: t
simulation:
  dt: 0.1 ms
  duration: 100 ms
  spike_at: 10 ms
cells:
  pyr:
    v_rest: -70 mV
    compartments:
    - name: soma
      type: soma
      cm_abs: 100 pF
      gl_abs: 10 nS
    - name: dend
      type: dendrite
      cm_abs: 50 pF
      gl_abs: 5 nS
    connections:
    - [soma, dend, 12 nS]
populations:
  E: pyr
pathways:
- pre: E
  post: E
  compartment: dend
  receptors:
  - channel: AMPA
    g: 1 nS
    t_decay: 2 ms
  target_psp: 0.5 mV
`

// dimBase is a valid dimensional spec (lines as in base up to line 8).
const dimBase = `dendfit: 1
experiment: t
simulation:
  dt: 0.1 ms
  duration: 100 ms
  spike_at: 10 ms
cells:
  pyr:
    v_rest: -70 mV
    compartments:
    - name: soma
      type: soma
      length: 20 um
      diameter: 20 um
      cm: 1 uF/cm2
      gl: 40 uS/cm2
      r_axial: 150 ohm*cm
    - name: dend
      type: dendrite
      length: 20 um
      diameter: 2 um
      cm: 1 uF/cm2
      gl: 40 uS/cm2
      r_axial: 150 ohm*cm
    connections:
    - [soma, dend]
populations:
  E: pyr
pathways:
- pre: E
  post: E
  compartment: dend
  receptors:
  - channel: AMPA
    g: 1 nS
    t_decay: 2 ms
`

// edit replaces each old with new in s exactly once.
func edit(t *testing.T, s string, pairs ...string) string {
	t.Helper()
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.Count(s, pairs[i]) != 1 {
			t.Fatalf("edit: %q occurs %d times", pairs[i], strings.Count(s, pairs[i]))
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

func TestBasesAreValid(t *testing.T) {
	for _, b := range []string{base, dimBase} {
		if _, err := Parse("x.yaml", []byte(b)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestErrors(t *testing.T) {
	const soma0 = "    - name: soma\n      type: soma\n      cm_abs: 100 pF\n      gl_abs: 10 nS\n"
	tests := []struct {
		name   string
		yaml   string
		prefix string // file:line: path:
		phrase string
	}{
		{"wrong dimension", edit(t, base, "gl_abs: 5 nS", "gl_abs: 5 mV"),
			"l23.yaml:18: cells.pyr.compartments[1].gl_abs:", `want conductance (S) in S, mS, uS, nS or pS, got "5 mV", a voltage`},
		{"wrong specific dimension", "", "", ""}, // filled in below
		{"unknown top field", base + "colour: red\n", "l23.yaml:32: colour:", "unknown field (want one of"},
		// A misspelling of a field gets it named.
		{"misspelt field", edit(t, base, "  target_psp: 0.5 mV\n", "  target_psp: 0.5 mV\n  holdin: -55 mV\n"), "l23.yaml:32: pathways[0].holdin:", "unknown field; did you mean holding? (want one of"},
		{"misspelt case", edit(t, base, "  spike_at: 10 ms\n", "  Spike_At: 10 ms\n"), "l23.yaml:6: simulation.Spike_At:", "unknown field; did you mean spike_at?"},
		{"misspelt short", edit(t, base, "    g: 1 nS\n", "    g: 1 nS\n    gg: 2 nS\n"), "l23.yaml:30: pathways[0].receptors[0].gg:", "unknown field; did you mean g?"},
		{"signed target", edit(t, base, "target_psp: 0.5 mV", "target_psp: -0.5 mV"),
			"l23.yaml:31: pathways[0].target_psp:", "give the amplitude, 0.5 mV: a target is |PSP|, the sign comes from the receptors"},
		{"unknown compartment field", edit(t, base, "      gl_abs: 5 nS\n", "      gl_abs: 5 nS\n      colour: red\n"),
			"l23.yaml:19: cells.pyr.compartments[1].colour:", "unknown field"},
		{"unknown receptor field", edit(t, base, "    t_decay: 2 ms\n", "    t_decay: 2 ms\n    tau: 3 ms\n"),
			"l23.yaml:31: pathways[0].receptors[0].tau:", "unknown field"},
		{"no unit", edit(t, base, "dt: 0.1 ms", "dt: 0.1"), "l23.yaml:4: simulation.dt:", "no unit"},
		{"non-finite", edit(t, base, "dt: 0.1 ms", "dt: 1e999 ms"), "l23.yaml:4: simulation.dt:", "finite"},
		{"negative dt", edit(t, base, "dt: 0.1 ms", "dt: -0.1 ms"), "l23.yaml:4: simulation.dt:", "must be positive"},
		{"negative spike_at", edit(t, base, "spike_at: 10 ms", "spike_at: -1 ms"), "l23.yaml:6: simulation.spike_at:", "must not be negative"},
		{"spike after end", edit(t, base, "spike_at: 10 ms", "spike_at: 100 ms"), "l23.yaml:6: simulation.spike_at:", "spike_at (100 ms) is not before the end of the run (duration 100 ms): the spike would never arrive"},
		// The spike at the last step leaves no sample after it to measure.
		{"spike at last step", edit(t, base, "spike_at: 10 ms", "spike_at: 99.9 ms"), "l23.yaml:6: simulation.spike_at:", "spike_at (99.9 ms) falls on the last sample of the run (step 999 of 0..999): no sample follows it"},
		{"kinetics without amplitude", edit(t, base, "  target_psp: 0.5 mV\n", "  target_half_width: 20 ms\n"), "l23.yaml:", "give target_psp too"},
		{"spike at the step before last", edit(t, base, "spike_at: 10 ms", "spike_at: 99.8 ms"), "", ""},
		{"dt above duration", edit(t, base, "dt: 0.1 ms", "dt: 200 ms"), "l23.yaml:4: simulation.dt:", "larger than duration"},
		// With dt left out, the duration is what was written wrong.
		{"duration below default dt", edit(t, base, "  dt: 0.1 ms\n", "", "duration: 100 ms", "duration: 0.05 ms", "spike_at: 10 ms", "spike_at: 0 ms"),
			"l23.yaml:4: simulation.duration:", "duration (0.05 ms) is shorter than dt (0.1 ms, the default)"},
		// What follows a --- is not silently ignored.
		{"second document", base + "---\nthis: [is, ignored\n", "l23.yaml:33:", "a second YAML document"},
		{"second document that parses", base + "---\nexperiment: other\n", "l23.yaml:32:", "a second YAML document"},
		{"document after an empty one", base + "---\n---\nexperiment: other\n", "l23.yaml:33:", "a second YAML document"},
		// A quoted key or value holding a newline stays on one line.
		{"newline in a key", edit(t, base, "    t_decay: 2 ms\n", "    t_decay: 2 ms\n    \"tau\\nx\": 3 ms\n"),
			"l23.yaml:31: pathways[0].receptors[0].tau\\nx:", "unknown field"},
		{"newline in a coupling", edit(t, base, "[soma, dend, 12 nS]", "[soma, dend, \"cylinder_x\\ny\"]"),
			"l23.yaml:20: cells.pyr.connections[0][2]:", "cylinder_x\\ny names neither"},
		{"bad method", edit(t, base, "  dt: 0.1 ms\n", "  dt: 0.1 ms\n  method: heun\n"), "l23.yaml:5: simulation.method:", "unknown method"},
		{"version missing", strings.Replace(base, "dendfit: 1\n", "", 1), "l23.yaml:1: dendfit:", "missing required field"},
		{"version 2", edit(t, base, "dendfit: 1", "dendfit: 2"), "l23.yaml:1: dendfit:", "want format version 1"},
		{"version string", edit(t, base, "dendfit: 1", `dendfit: "1"`), "l23.yaml:1: dendfit:", `want format version 1, got the string "1" (write it without quotes)`},
		{"experiment missing", edit(t, base, "experiment: t\n", ""), "l23.yaml:1: experiment:", "missing required field"},
		{"experiment name", edit(t, base, "experiment: t", "experiment: a b"), "l23.yaml:2: experiment:", "want letters, digits"},
		{"compartment name", edit(t, base, "name: dend", "name: dend_1", "compartment: dend", "compartment: dend_1", "[soma, dend, 12 nS]", "[soma, dend_1, 12 nS]"),
			"l23.yaml:15: cells.pyr.compartments[1].name:", "letters and digits only"},
		{"compartment named ext", edit(t, base, "name: dend", "name: ext", "compartment: dend", "compartment: ext", "[soma, dend, 12 nS]", "[soma, ext, 12 nS]"),
			"l23.yaml:15: cells.pyr.compartments[1].name:", "I_ext_<neighbour>"},
		{"cell name", edit(t, base, "  pyr:", "  py-r:", "E: pyr", "E: py-r"), "l23.yaml:8: cells.py-r:", "letters and digits only"},
		{"population name", edit(t, base, "  E: pyr", "  E_1: pyr"), "l23.yaml:22: populations.E_1:", "letters and digits only"},
		{"tag name", edit(t, base, "  compartment: dend\n", "  compartment: dend\n  tag: a_b\n"), "l23.yaml:27: pathways[0].tag:", "letters and digits only"},
		{"unknown compartment in pathway", edit(t, base, "compartment: dend", "compartment: axon"), "l23.yaml:26: pathways[0].compartment:", `unknown compartment "axon"`},
		{"unknown record", edit(t, base, "  target_psp: 0.5 mV\n", "  target_psp: 0.5 mV\n  record: axon\n"), "l23.yaml:32: pathways[0].record:", `unknown compartment "axon"`},
		{"unknown population", edit(t, base, "pre: E", "pre: I"), "l23.yaml:24: pathways[0].pre:", `unknown population "I"`},
		{"unknown cell", edit(t, base, "E: pyr", "E: pv"), "l23.yaml:22: populations.E:", `unknown cell "pv"`},
		{"unknown constant", edit(t, base, "cells:\n", "constants:\n  E_Cl: -70 mV\ncells:\n"), "l23.yaml:8: constants.E_Cl:", "unknown constant"},
		{"constant dimension", edit(t, base, "cells:\n", "constants:\n  E_GABA: -70\ncells:\n"), "l23.yaml:8: constants.E_GABA:", "no unit"},
		{"Mg_con string", edit(t, base, "cells:\n", "constants:\n  Mg_con: 1 mM\ncells:\n"), "l23.yaml:8: constants.Mg_con:", "want a plain number"},
		{"unknown channel", edit(t, base, "channel: AMPA", "channel: GABAB"), "l23.yaml:28: pathways[0].receptors[0].channel:", "unknown channel"},
		{"duplicate compartment", edit(t, base, "name: dend", "name: soma", "compartment: dend", "compartment: soma", "[soma, dend, 12 nS]", "[soma, soma, 12 nS]"),
			"l23.yaml:15: cells.pyr.compartments[1].name:", "duplicate compartment name"},
		{"duplicate cell", edit(t, base, "populations:\n", "  pyr:\n    compartments: []\npopulations:\n"), "l23.yaml:21: cells.pyr:", "duplicate key"},
		{"duplicate population", edit(t, base, "  E: pyr\n", "  E: pyr\n  E: pyr\n"), "l23.yaml:23: populations.E:", "duplicate key"},
		{"duplicate dspike", edit(t, base, "      gl_abs: 5 nS\n", "      gl_abs: 5 nS\n      dspikes:\n"+dsp("Na")+dsp("Na")),
			"l23.yaml:30: cells.pyr.compartments[1].dspikes[1].name:", "duplicate dspike name"},
		{"dspike on soma", edit(t, base, "      gl_abs: 10 nS\n", "      gl_abs: 10 nS\n      dspikes:\n"+dsp("Na")),
			"l23.yaml:15: cells.pyr.compartments[0].dspikes:", "dendrites only"},
		{"dspike zero offset", edit(t, base, "      gl_abs: 5 nS\n", "      gl_abs: 5 nS\n      dspikes:\n"+strings.Replace(dsp("Na"), "offset_fall: 0.2 ms", "offset_fall: 0 ms", 1)),
			"l23.yaml:26: cells.pyr.compartments[1].dspikes[0].offset_fall:", "exact zero"},
		{"dspike zero refractory", edit(t, base, "      gl_abs: 5 nS\n", "      gl_abs: 5 nS\n      dspikes:\n"+strings.Replace(dsp("Na"), "refractory: 5 ms", "refractory: 0 ms", 1)),
			"l23.yaml:27: cells.pyr.compartments[1].dspikes[0].refractory:", "exact zero"},
		{"dspike zero duration", edit(t, base, "      gl_abs: 5 nS\n", "      gl_abs: 5 nS\n      dspikes:\n"+strings.Replace(dsp("Na"), "duration_rise: 1.2 ms", "duration_rise: 0 ms", 1)),
			"l23.yaml:24: cells.pyr.compartments[1].dspikes[0].duration_rise:", "exact zero"},
		{"dspike zero g_fall", edit(t, base, "      gl_abs: 5 nS\n", "      gl_abs: 5 nS\n      dspikes:\n"+strings.Replace(dsp("Na"), "g_fall: 14 nS", "g_fall: 0 nS", 1)), "", ""},
		{"dspike negative g_rise", edit(t, base, "      gl_abs: 5 nS\n", "      gl_abs: 5 nS\n      dspikes:\n"+strings.Replace(dsp("Na"), "g_rise: 30 nS", "g_rise: -30 nS", 1)),
			"l23.yaml:22: cells.pyr.compartments[1].dspikes[0].g_rise:", "must not be negative"},
		{"dspike unknown reversal", edit(t, base, "      gl_abs: 5 nS\n", "      gl_abs: 5 nS\n      dspikes:\n"+strings.Replace(dsp("Na"), "reversal_fall: E_K", "reversal_fall: E_Cl", 1)),
			"l23.yaml:29: cells.pyr.compartments[1].dspikes[0].reversal_fall:", "unknown constant"},
		{"dspike missing field", edit(t, base, "      gl_abs: 5 nS\n", "      gl_abs: 5 nS\n      dspikes:\n"+strings.Replace(dsp("Na"), "        threshold: -35 mV\n", "", 1)),
			"l23.yaml:20: cells.pyr.compartments[1].dspikes[0].threshold:", "missing required field"},
		{"mixed", edit(t, base, "      cm_abs: 50 pF\n      gl_abs: 5 nS\n", "      length: 20 um\n      diameter: 2 um\n      cm: 1 uF/cm2\n      gl: 40 uS/cm2\n"),
			"l23.yaml:15: cells.pyr.compartments[1]:", "mixes dimensionless and dimensional"},
		{"dimensionless with length", edit(t, base, "      gl_abs: 5 nS\n", "      gl_abs: 5 nS\n      length: 20 um\n"),
			"l23.yaml:19: cells.pyr.compartments[1].length:", "takes no length"},
		{"dimensionless half cylinders", edit(t, base, "[soma, dend, 12 nS]", "[soma, dend]"),
			"l23.yaml:20: cells.pyr.connections[0]:", "explicit coupling conductance"},
		{"dimensionless cell-level cm", edit(t, base, "    v_rest: -70 mV\n", "    v_rest: -70 mV\n    cm: 1 uF/cm2\n"),
			"l23.yaml:10: cells.pyr.cm:", "cannot take a cell-level cm"},
		{"missing gl_abs", edit(t, base, "      gl_abs: 5 nS\n", ""), "l23.yaml:15: cells.pyr.compartments[1]:", "missing gl_abs"},
		{"missing gl", edit(t, dimBase, "      gl: 40 uS/cm2\n      r_axial: 150 ohm*cm\n    connections", "      r_axial: 150 ohm*cm\n    connections"),
			"l23.yaml:18: cells.pyr.compartments[1]:", "missing gl"},
		{"missing v_rest", edit(t, base, "    v_rest: -70 mV\n", ""), "l23.yaml:10: cells.pyr.compartments[0]:", "Dendrify cannot resolve EL"},
		{"zero v_rest", edit(t, base, "v_rest: -70 mV", "v_rest: 0 mV"), "l23.yaml:9: cells.pyr.v_rest:", "exact zero"},
		{"half cylinders without r_axial", edit(t, dimBase, "      r_axial: 150 ohm*cm\n    connections", "    connections"),
			"l23.yaml:25: cells.pyr.connections[0]:", "half_cylinders needs r_axial of dend"},
		{"cylinder without r_axial", edit(t, dimBase, "      r_axial: 150 ohm*cm\n    connections", "    connections", "[soma, dend]", "[soma, dend, cylinder_dend]"),
			"l23.yaml:25: cells.pyr.connections[0]:", "cylinder_dend needs r_axial of dend"},
		{"cylinder of neither", edit(t, dimBase, "[soma, dend]", "[soma, dend, cylinder_axon]"),
			"l23.yaml:26: cells.pyr.connections[0][2]:", "names neither"},
		{"bad coupling", edit(t, base, "[soma, dend, 12 nS]", "[soma, dend, 12 mV]"),
			"l23.yaml:20: cells.pyr.connections[0][2]:", "want half_cylinders, cylinder_soma, cylinder_dend or a conductance (S)"},
		{"zero coupling", edit(t, base, "[soma, dend, 12 nS]", "[soma, dend, 0 nS]"),
			"l23.yaml:20: cells.pyr.connections[0][2]:", "must be positive"},
		{"self connection", edit(t, base, "[soma, dend, 12 nS]", "[dend, dend, 12 nS]"), "l23.yaml:20: cells.pyr.connections[0]:", "connects dend to itself"},
		{"duplicate connection", edit(t, base, "    - [soma, dend, 12 nS]\n", "    - [soma, dend, 12 nS]\n    - [dend, soma, 10 nS]\n"),
			"l23.yaml:21: cells.pyr.connections[1]:", "duplicate connection"},
		{"connection arity", edit(t, base, "[soma, dend, 12 nS]", "[soma]"), "l23.yaml:20: cells.pyr.connections[0]:", "want [a, b]"},
		{"unknown connected compartment", edit(t, base, "[soma, dend, 12 nS]", "[soma, axon, 12 nS]"), "l23.yaml:20: cells.pyr.connections[0][1]:", `unknown compartment "axon"`},
		{"disconnected", edit(t, base, "    connections:\n    - [soma, dend, 12 nS]\n", ""), "l23.yaml:9: cells.pyr.connections:", "not connected"},
		{"point cell connections", edit(t, base, "    - name: dend\n      type: dendrite\n      cm_abs: 50 pF\n      gl_abs: 5 nS\n", "", "compartment: dend", "compartment: soma", "[soma, dend, 12 nS]", "[soma, soma, 1 nS]"),
			"l23.yaml:15: cells.pyr.connections:", "takes no connections"},
		{"point cell scale_factor", edit(t, dimBase, "    v_rest: -70 mV\n", "    v_rest: -70 mV\n    scale_factor: 2\n", "    - name: dend\n      type: dendrite\n      length: 20 um\n      diameter: 2 um\n      cm: 1 uF/cm2\n      gl: 40 uS/cm2\n      r_axial: 150 ohm*cm\n    connections:\n    - [soma, dend]\n", "", "compartment: dend", "compartment: soma"),
			"l23.yaml:10: cells.pyr.scale_factor:", "PointNeuronModel"},
		{"point cell r_axial", edit(t, dimBase, "    - name: dend\n      type: dendrite\n      length: 20 um\n      diameter: 2 um\n      cm: 1 uF/cm2\n      gl: 40 uS/cm2\n      r_axial: 150 ohm*cm\n    connections:\n    - [soma, dend]\n", "", "compartment: dend", "compartment: soma"),
			"l23.yaml:17: cells.pyr.compartments[0].r_axial:", "PointNeuronModel"},
		{"scale_factor zero", edit(t, dimBase, "    v_rest: -70 mV\n", "    v_rest: -70 mV\n    scale_factor: 0\n"), "l23.yaml:10: cells.pyr.scale_factor:", "must be positive"},
		{"params on passive", edit(t, base, "      gl_abs: 5 nS\n", "      gl_abs: 5 nS\n      params:\n        a: 1 nS\n"),
			"l23.yaml:20: cells.pyr.compartments[1].params.a:", "takes no params"},
		{"adex missing param", edit(t, base, "      type: soma\n", "      type: soma\n      model: adex\n      params:\n        a: 1 nS\n        tauw: 50 ms\n        DeltaT: 2 mV\n"),
			"l23.yaml:15: cells.pyr.compartments[0].params.Vth:", "needs params a, tauw, DeltaT, Vth"},
		{"adaptiveIF unknown param", edit(t, base, "      type: soma\n", "      type: soma\n      model: adaptiveIF\n      params:\n        a: 1 nS\n        tauw: 50 ms\n        b: 1 pA\n"),
			"l23.yaml:17: cells.pyr.compartments[0].params.b:", "unknown parameter"},
		{"adaptiveIF zero tauw", edit(t, base, "      type: soma\n", "      type: soma\n      model: adaptiveIF\n      params:\n        a: 1 nS\n        tauw: 0 ms\n"),
			"l23.yaml:16: cells.pyr.compartments[0].params.tauw:", "must be positive"},
		{"bad model", edit(t, base, "      type: soma\n", "      type: soma\n      model: hh\n"), "l23.yaml:13: cells.pyr.compartments[0].model:", "want passive | leakyIF"},
		{"bad type", edit(t, base, "type: soma", "type: axon"), "l23.yaml:12: cells.pyr.compartments[0].type:", "want soma | dendrite"},
		{"zero g", edit(t, base, "g: 1 nS", "g: 0 nS"), "l23.yaml:29: pathways[0].receptors[0].g:", "exact zero"},
		{"negative t_decay", edit(t, base, "t_decay: 2 ms", "t_decay: -2 ms"), "l23.yaml:30: pathways[0].receptors[0].t_decay:", "must be positive"},
		{"t_rise equals t_decay with scale_g", edit(t, base, "    t_decay: 2 ms\n", "    t_decay: 2 ms\n    t_rise: 2 ms\n    scale_g: true\n"),
			"l23.yaml:31: pathways[0].receptors[0].t_rise:", "equal to t_decay with scale_g"},
		{"no receptors", edit(t, base, "  receptors:\n  - channel: AMPA\n    g: 1 nS\n    t_decay: 2 ms\n", "  receptors: []\n"),
			"l23.yaml:27: pathways[0].receptors:", "at least one receptor"},
		{"no pathways", edit(t, base, "pathways:\n- pre: E\n  post: E\n  compartment: dend\n  receptors:\n  - channel: AMPA\n    g: 1 nS\n    t_decay: 2 ms\n  target_psp: 0.5 mV\n", "pathways: []\n"),
			"l23.yaml:23: pathways:", "at least one pathway"},
		{"holding current", base + "  holding: 10 pA\n", "l23.yaml:32: pathways[0].holding:", "want voltage (V)"},
		{"target rise dimension", base + "  target_rise: 1 mV\n", "l23.yaml:32: pathways[0].target_rise:", "want time (s)"},
		{"duplicate synapse across pathways", base + "- pre: E\n  post: E\n  compartment: dend\n  receptors:\n  - channel: AMPA\n    g: 2 nS\n    t_decay: 3 ms\n",
			"l23.yaml:36: pathways[1].receptors[0].channel:", "also made by pathways[0] (E->E (AMPA))"},
		{"duplicate channel in pathway", edit(t, base, "    t_decay: 2 ms\n", "    t_decay: 2 ms\n  - channel: AMPA\n    g: 1 nS\n    t_decay: 5 ms\n"),
			"l23.yaml:31: pathways[0].receptors[1].channel:", "second AMPA receptor"},
		{"dspike reversal conflict", edit(t, base, soma0, soma0+
			"    - name: dend2\n      type: dendrite\n      cm_abs: 50 pF\n      gl_abs: 5 nS\n      dspikes:\n"+dsp("Na"),
			"      gl_abs: 5 nS\n    connections:\n", "      gl_abs: 5 nS\n      dspikes:\n"+strings.Replace(dsp("Na"), "reversal_rise: E_Na", "reversal_rise: E_Ca", 1)+"    connections:\n",
			"    - [soma, dend, 12 nS]\n", "    - [soma, dend, 12 nS]\n    - [soma, dend2, 12 nS]\n"),
			"l23.yaml:35: cells.pyr.compartments[2].dspikes[0]:", "one E_rise_Na"},
		{"t_rise axis without t_rise", base + "sweep:\n  t_rise: [1 ms]\n", "l23.yaml:33: sweep.t_rise:", "has no t_rise"},
		// Every pathway it cannot apply to, at once (a trial mended one
		// a run).
		{"t_rise axis without t_rise, twice", base + "- pre: E\n  post: E\n  compartment: soma\n  receptors:\n  - channel: AMPA\n    g: 1 nS\n    t_decay: 2 ms\nsweep:\n  t_rise: [1 ms]\n",
			"l23.yaml:40: sweep.t_rise:", "pathways[0] (E->E (AMPA)), pathways[1] (E->E (AMPA)): their first receptors have no t_rise"},
		// In mV, as every voltage a message gives (it gave 0.07/-0.089 V).
		{"dspike reversals at odds", edit(t, dspikeCell, "reversal_rise: 70 mV, reversal_fall: E_K", "reversal_rise: 60 mV, reversal_fall: E_K"),
			"l23.yaml:22: cells.pyr.compartments[2].dspikes[0]:", "dspike Na has reversals 60/-89 mV here but 70/-89 mV on dend"},
		// A one-compartment cell's own field is refused with its
		// compartment's mistake, not after it is mended.
		{"point cell field and compartment", edit(t, base, "    v_rest: -70 mV\n", "    v_rest: -70 mV\n    scale_factor: 2\n", soma0+"    - name: dend\n      type: dendrite\n      cm_abs: 50 pF\n      gl_abs: 5 nS\n", strings.Replace(soma0, "10 nS", "10 mV", 1), "    connections:\n    - [soma, dend, 12 nS]\n", ""),
			"l23.yaml:10: cells.pyr.scale_factor:", "takes no scale_factor"},
		// The slip is dt's: named there, not at duration.
		{"dt far too small", edit(t, base, "dt: 0.1 ms", "dt: 1e-9 ms"), "l23.yaml:4: simulation.dt:", "duration/dt (100 ms / 1e-09 ms) is more than 1e+09 steps: give a larger dt"},
		{"duration far too long", edit(t, base, "duration: 100 ms", "duration: 1e9 s"), "l23.yaml:5: simulation.duration:", "is more than 1e+09 steps"},
		{"axis steps", base + "sweep:\n  g: {from: 1 nS, to: 2 nS, steps: 0}\n", "l23.yaml:33: sweep.g.steps:", "want 1 to 10000000 steps"},
		{"grid size", base + "sweep:\n  g: {from: 1 nS, to: 2 nS, steps: 2000000}\n  t_decay: {from: 1 ms, to: 2 ms, steps: 1000000}\n", "l23.yaml:33: sweep:", "the grid has 2e+12 points, counting every pathway, more than 1e+12"},
		{"axis scale", base + "sweep:\n  g: {from: 1 nS, to: 2 nS, steps: 3, scale: cubic}\n", "l23.yaml:33: sweep.g.scale:", "want linear | log"},
		{"axis dimension", base + "sweep:\n  t_decay: [1 ms, 2 mV]\n", "l23.yaml:33: sweep.t_decay[1]:", "want time (s)"},
		{"axis empty", base + "sweep:\n  t_decay: []\n", "l23.yaml:33: sweep.t_decay:", "at least one value"},
		{"sweep scale_g equality", edit(t, base, "    t_decay: 2 ms\n", "    t_decay: 2 ms\n    t_rise: 0.5 ms\n    scale_g: true\n") + "sweep:\n  t_decay: [1 ms, 0.5 ms]\n",
			"l23.yaml:35: sweep.t_decay:", "t_rise equal to t_decay"},
		{"rtol range", base + "fit:\n  rtol: 0.5\n", "l23.yaml:33: fit.rtol:", "(0, 0.1]"},
		{"g_min above g_max", base + "fit:\n  g_min: 2 uS\n", "l23.yaml:33: fit.g_min:", "less than g_max"},
		{"no soma to record", edit(t, base, "type: soma", "type: dendrite"), "l23.yaml:24: pathways[0].record:", "has no soma"},
		// At the end of the text, where the value was missed (as PyYAML).
		{"yaml syntax", "dendfit: 1\nexperiment: [\n", "l23.yaml:3:", "invalid YAML: did not find expected node content"},
		// A line one space off: the library names the start of its
		// block, here the line itself (PyYAML names it too).
		{"yaml indentation", edit(t, base, "  post: E\n  compartment: dend\n", "  post: E\n compartment: dend\n"), "l23.yaml:26:",
			"invalid YAML: did not find expected key in the block that starts at line 26: check the indentation of its lines"},
		// Below its block's first line (PyYAML: "while parsing a block
		// mapping in line 4").
		{"yaml indentation below", "dendfit: 1\nexperiment: x\ncells:\n  a:\n    model: b\n    x: 1\n   y: 2\n", "l23.yaml:4:",
			"in the block that starts at line 4"},
		// Named where the flow collection opens, as PyYAML does (the
		// library counts its parser's lines from 0).
		{"yaml flow comma", edit(t, base, "  spike_at: 10 ms\n", "  spike_at: 10 ms\nsweep: {g: [1 nS, 2 nS 3 nS}\n"), "l23.yaml:7:",
			"invalid YAML: did not find expected ',' or ']'"},
		{"yaml flow mapping", "dendfit: 1\nexperiment: x\ncells: {a: 1\npopulations: {}\n", "l23.yaml:3:", "did not find expected ',' or '}'"},
		{"yaml flow on line 1", "{dendfit: 1, experiment: [x}\n", "l23.yaml:1:", "did not find expected ',' or ']'"},
		// The library names the scalar before the tab, on line 2.
		{"yaml tab", "dendfit: 1\nexperiment: x\n\tcells: {}\n", "l23.yaml:3:", "invalid YAML"},
		{"not utf-8", "dendfit: 1\nexperiment: caf\xe9\n", "l23.yaml:2:", "byte 0xE9 is not UTF-8 text"},
		{"nul", "dendfit: 1\n\nexperiment: a\x00b\n", "l23.yaml:3:", "control character U+0000"},
		{"empty", "", "l23.yaml:1:", "empty spec"},
		{"top-level list", "- 1\n", "l23.yaml:1:", "want a mapping"},
		{"alias", edit(t, base, "cm_abs: 100 pF", "cm_abs: &c 100 pF", "cm_abs: 50 pF", "cm_abs: *c"), "l23.yaml:13: cells.pyr.compartments[0].cm_abs:", "anchors and aliases"},
		{"scalar compartment", edit(t, base, soma0, "    - soma\n"), "l23.yaml:11: cells.pyr.compartments[0]:", "want a mapping"},
		{"scale_g not bool", edit(t, base, "    t_decay: 2 ms\n", "    t_decay: 2 ms\n    scale_g: yes please\n"), "l23.yaml:31: pathways[0].receptors[0].scale_g:", "want true or false"},
	}
	// Fix up the two table rows whose text is simpler to write here.
	tests[1].yaml = edit(t, dimBase, "      diameter: 2 um\n      cm: 1 uF/cm2\n      gl: 40 uS/cm2\n", "      diameter: 2 um\n      cm: 1 uF/cm2\n      gl: 5 mV\n")
	tests[1].prefix, tests[1].phrase = "l23.yaml:23: cells.pyr.compartments[1].gl:", `want specific conductance (S/m2) in S/cm2, mS/cm2, S/m2, uS/cm2 or nS/cm2, got "5 mV", a voltage`
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse("l23.yaml", []byte(tc.yaml))
			if tc.prefix == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; spec %+v", s)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tc.prefix+" ") && !(strings.HasSuffix(tc.prefix, ":") && strings.HasPrefix(msg, tc.prefix)) {
				t.Errorf("error %q\nwant prefix %q", msg, tc.prefix)
			}
			if !strings.Contains(msg, tc.phrase) {
				t.Errorf("error %q\nwant phrase %q", msg, tc.phrase)
			}
			if strings.ToLower(e.Msg[:1]) != e.Msg[:1] {
				t.Errorf("error message %q is not lowercase", e.Msg)
			}
		})
	}
}

// dsp is a valid dspike list item for a compartment at indent 6.
func dsp(name string) string {
	return "      - name: " + name + `
        threshold: -35 mV
        g_rise: 30 nS
        g_fall: 14 nS
        duration_rise: 1.2 ms
        duration_fall: 2.4 ms
        offset_fall: 0.2 ms
        refractory: 5 ms
        reversal_rise: E_Na
        reversal_fall: E_K
`
}

func TestWarnings(t *testing.T) {
	y := edit(t, base, "    t_decay: 2 ms\n", "    t_decay: 2 ms\n    scale_g: true\n")
	s, err := Parse("l23.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	want := "l23.yaml:31: pathways[0].receptors[0].scale_g: scale_g changes nothing without t_rise"
	if len(s.Warnings) != 1 || s.Warnings[0] != want {
		t.Errorf("warnings %q, want [%q]", s.Warnings, want)
	}
}

// TestSwappedKineticsWarn: a t_rise longer than t_decay warns (the names
// then swap roles); an equal or shorter one does not.
func TestSwappedKineticsWarn(t *testing.T) {
	for _, tc := range []struct {
		rise string
		want string
	}{
		{"5 ms", "l23.yaml:31: pathways[0].receptors[0].t_rise: t_rise (5 ms) is longer than t_decay (2 ms): the conductance then rises with t_decay and decays with t_rise; did you swap them?"},
		{"2 ms", ""},
		{"0.5 ms", ""},
	} {
		s, err := Parse("l23.yaml", []byte(edit(t, base, "    t_decay: 2 ms\n", "    t_decay: 2 ms\n    t_rise: "+tc.rise+"\n")))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(s.Warnings, "\n"); got != tc.want {
			t.Errorf("t_rise %s: warnings %q, want %q", tc.rise, got, tc.want)
		}
	}
}

// TestSweptKineticsSwappedWarn: grid points whose swept t_rise is longer
// than their t_decay warn once, counted, though no receptor is written so.
func TestSweptKineticsSwappedWarn(t *testing.T) {
	rise := edit(t, base, "    t_decay: 2 ms\n", "    t_decay: 2 ms\n    t_rise: 0.5 ms\n")
	for _, tc := range []struct {
		name, sweep, want string
	}{
		{"t_rise axis", "  t_rise: [0.5 ms, 3 ms]\n",
			"l23.yaml:34: sweep.t_rise: pathways[0] (E->E (AMPA)): 1 of its 2 (t_decay, t_rise) pairs has t_rise longer than t_decay (such as 2 ms and 3 ms): the conductance then rises with t_decay and decays with t_rise"},
		{"both axes", "  t_decay: [1 ms, 2 ms]\n  t_rise: [1.5 ms, 3 ms, 2 ms]\n",
			"l23.yaml:35: sweep.t_rise: pathways[0] (E->E (AMPA)): 4 of its 6 (t_decay, t_rise) pairs have t_rise longer than t_decay (such as 1 ms and 3 ms): the conductance then rises with t_decay and decays with t_rise"},
		// 35 of the 100 decays (0.1 to 10 ms, log) are under 0.5 ms.
		{"t_decay axis", "  t_decay: {from: 0.1 ms, to: 10 ms, steps: 100, scale: log}\n",
			"l23.yaml:34: sweep.t_decay: pathways[0] (E->E (AMPA)): 35 of its 100 (t_decay, t_rise) pairs have t_rise longer than t_decay (such as 0.1 ms and 0.5 ms): the conductance then rises with t_decay and decays with t_rise"},
		{"never longer", "  t_decay: [1 ms, 2 ms]\n  t_rise: [0.2 ms, 1 ms]\n", ""},
		// Every offending pathway is named, once: here all three.
		{"three pathways", "  t_rise: [0.5 ms, 3 ms]\n",
			"l23.yaml:45: sweep.t_rise: pathways[0] (E->E (AMPA)): 1 of its 2 (t_decay, t_rise) pairs has t_rise longer than t_decay (such as 2 ms and 3 ms); so have pathways 1, 2: the conductance then rises with t_decay and decays with t_rise"},
		{"g axis only", "  g: [1 nS, 2 nS]\n", ""},
	} {
		y := rise
		if tc.name == "three pathways" {
			// Pathway 1 as 0, 2 with a decay of 1 ms.
			y = rise + `- pre: E
  post: E
  compartment: soma
  receptors:
  - {channel: AMPA, g: 1 nS, t_decay: 2 ms, t_rise: 0.5 ms}
- pre: E
  post: E
  compartment: dend
  tag: c
  receptors:
  - {channel: NMDA, g: 1 nS, t_decay: 1 ms, t_rise: 0.5 ms}
`
		}
		s, err := Parse("l23.yaml", []byte(y+"sweep:\n"+tc.sweep))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := strings.Join(s.Warnings, "\n"); got != tc.want {
			t.Errorf("%s: warnings %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestLongerRise: the sorted count agrees with counting every pair.
func TestLongerRise(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		tds, trs := make([]float64, rng.IntN(6)), make([]float64, 1+rng.IntN(6))
		for i := range tds {
			tds[i] = float64(1 + rng.IntN(5))
		}
		for i := range trs {
			trs[i] = float64(1 + rng.IntN(5))
		}
		want := 0
		for _, d := range tds {
			for _, r := range trs {
				if r > d {
					want++
				}
			}
		}
		if got, td, tr := longerRise(tds, trs); got != want || (got > 0 && !(tr > td)) {
			t.Fatalf("longerRise(%v, %v) = %d (%g, %g), want %d", tds, trs, got, td, tr, want)
		}
	}
}

// TestShortTimeConstantWarnings: a receptor or swept time constant
// shorter than dt warns under euler and rk4, naming the field, and not
// under exponential_euler, which integrates the gating exactly. So do a
// sweep axis that repeats a value, one of a single step with a to, and a
// positive holding potential.
func TestShortTimeConstantWarnings(t *testing.T) {
	short := edit(t, base, "    t_decay: 2 ms\n", "    t_decay: 2 ms\n    t_rise: 0.05 ms\n")
	for _, tc := range []struct {
		name, y string
		want    []string
	}{
		{"t_rise below dt", edit(t, short, "t_rise: 0.05 ms", "t_rise: 0.07 ms"), []string{"l23.yaml:31: pathways[0].receptors[0].t_rise: 0.07 ms is shorter than dt (0.1 ms) under euler"}},
		{"t_rise at the limit", short, []string{"l23.yaml:31: pathways[0].receptors[0].t_rise: 0.05 ms is not above euler's stability limit at dt 0.1 ms"}},
		{"t_rise at dt", edit(t, short, "t_rise: 0.05 ms", "t_rise: 0.1 ms"), nil},
		// Dendrify reads a zero t_rise as none: taken so, and said.
		{"t_rise zero", edit(t, short, "t_rise: 0.05 ms", "t_rise: 0 ms"), []string{"l23.yaml:31: pathways[0].receptors[0].t_rise: t_rise 0 ms: Dendrify reads an exact zero as no t_rise, so the conductance rises at once (as without t_rise)"}},
		{"rk4", edit(t, short, "  dt: 0.1 ms\n", "  dt: 0.1 ms\n  method: rk4\n"), []string{"under rk4"}},
		// Stable, but the rise falls within a step: the PSP depends on dt.
		{"exponential_euler", edit(t, short, "  dt: 0.1 ms\n", "  dt: 0.1 ms\n  method: exponential_euler\n"), []string{"l23.yaml:32: pathways[0].receptors[0].t_rise: 0.05 ms is shorter than dt (0.1 ms): exponential_euler keeps the synaptic gating stable, but its time course falls within a step, so the PSP depends on dt (fit's dt/10 check measures by how much); use a smaller dt"}},
		{"exponential_euler, t_rise at dt", edit(t, edit(t, short, "t_rise: 0.05 ms", "t_rise: 0.1 ms"), "  dt: 0.1 ms\n", "  dt: 0.1 ms\n  method: exponential_euler\n"), nil},
		{"exponential_euler, swept", edit(t, base, "  dt: 0.1 ms\n", "  dt: 0.1 ms\n  method: exponential_euler\n") + "sweep:\n  t_decay: [2 ms, 0.02 ms]\n", []string{"sweep.t_decay[1]: 0.02 ms is shorter than dt (0.1 ms): exponential_euler keeps"}},
		{"swept t_decay", base + "sweep:\n  t_decay: [2 ms, 0.07 ms]\n", []string{"sweep.t_decay[1]: 0.07 ms is shorter than dt (0.1 ms)"}},
		{"swept t_decay range", base + "sweep:\n  t_decay: {from: 0.06 ms, to: 5 ms, steps: 4}\n", []string{"sweep.t_decay: 0.06 ms is shorter"}},
		// Every value of a list under dt, not its least alone.
		{"swept t_decay, two under dt", base + "sweep:\n  t_decay: [0.01 ms, 0.07 ms, 1 ms]\n", []string{"sweep.t_decay[0]: 0.01 ms is not above euler's stability limit", "sweep.t_decay[1]: 0.07 ms is shorter than dt (0.1 ms)"}},
		// Below the stability limit (dt/2 under Euler): refused when run.
		{"swept t_decay below the limit", base + "sweep:\n  t_decay: [2 ms, 0.02 ms]\n", []string{"sweep.t_decay[1]: 0.02 ms is not above euler's stability limit at dt 0.1 ms: the synaptic gating oscillates without decaying whatever g, and a run with it fails"}},
		// The first receptor's time constant a sweep axis or a kinetics
		// fit replaces: the warning says which commands still take it.
		{"t_rise at the limit, swept", short + "sweep:\n  t_rise: [0.2 ms, 0.5 ms]\n", []string{"t_rise: 0.05 ms is not above euler's stability limit at dt 0.1 ms: the synaptic gating oscillates without decaying whatever g, and a run with it fails (simulate, fit and plot trace run with it; sweep takes sweep.t_rise); use"}},
		{"t_rise at the limit, kinetics fit", edit(t, short, "  target_psp: 0.5 mV\n", "  target_psp: 0.5 mV\n  target_half_width: 8 ms\n  target_rise: 1 ms\n"), []string{"t_rise: 0.05 ms is not above euler's stability limit at dt 0.1 ms: the synaptic gating oscillates without decaying whatever g, and a run with it fails (simulate, sweep and plot trace run with it; fit searches t_rise from dt up); use"}},
		{"t_rise below dt, swept and fitted", edit(t, edit(t, short, "t_rise: 0.05 ms", "t_rise: 0.07 ms"), "  target_psp: 0.5 mV\n", "  target_psp: 0.5 mV\n  target_half_width: 8 ms\n  target_rise: 1 ms\n") + "sweep:\n  t_rise: [0.2 ms, 0.5 ms]\n", []string{"t_rise: 0.07 ms is shorter than dt (0.1 ms) under euler: the step of the synaptic gating overshoots and the PSP is the integrator's (only simulate and plot trace run with it: sweep takes sweep.t_rise, and fit searches t_rise from dt up); use"}},
		{"swept t_decay leaves t_rise", short + "sweep:\n  t_decay: [2 ms, 3 ms]\n", []string{"t_rise: 0.05 ms is not above euler's stability limit at dt 0.1 ms: the synaptic gating oscillates without decaying whatever g, and a run with it fails; use"}},
		{"t_rise below the limit, rk4", edit(t, edit(t, short, "t_rise: 0.05 ms", "t_rise: 0.035 ms"), "  dt: 0.1 ms\n", "  dt: 0.1 ms\n  method: rk4\n"), []string{"t_rise: 0.035 ms is not above rk4's stability limit"}},
		{"a value twice", base + "sweep:\n  g: [1 nS, 2 nS, 1000 pS]\n", []string{"sweep.g[2]: the same value as sweep.g[0]: every point there is swept twice"}},
		{"one step", base + "sweep:\n  g: {from: 1 nS, to: 5 nS, steps: 1}\n", []string{"sweep.g.steps: one step sweeps from only (1 nS); to is unused"}},
		{"one step, to = from", base + "sweep:\n  g: {from: 1 nS, to: 1 nS, steps: 1}\n", nil},
		{"steps, to = from", base + "sweep:\n  g: {from: 1 nS, to: 1000 pS, steps: 5}\n", []string{"sweep.g.steps: from and to are the same value (1 nS): all 5 steps sweep it, every point 5 times"}},
		{"positive holding", edit(t, base, "  target_psp: 0.5 mV\n", "  target_psp: 0.5 mV\n  holding: 55 mV\n"), []string{"pathways[0].holding: holding at +55 mV, above 0 mV; did you mean -55 mV?"}},
		{"negative holding", edit(t, base, "  target_psp: 0.5 mV\n", "  target_psp: 0.5 mV\n  holding: -55 mV\n"), nil},
	} {
		s, err := Parse("l23.yaml", []byte(tc.y))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(s.Warnings) != len(tc.want) {
			t.Errorf("%s: warnings %q, want %d", tc.name, s.Warnings, len(tc.want))
			continue
		}
		for i, w := range tc.want {
			if !strings.Contains(s.Warnings[i], w) {
				t.Errorf("%s: warning %q, want it to say %q", tc.name, s.Warnings[i], w)
			}
		}
	}
}

func TestErrorFormat(t *testing.T) {
	e := &Error{File: "l23.yaml", Line: 14, Path: "cells.pyr.compartments[1].gl", Msg: `want specific conductance (S/m2), got "5 mV"`}
	if got := e.Error(); got != `l23.yaml:14: cells.pyr.compartments[1].gl: want specific conductance (S/m2), got "5 mV"` {
		t.Errorf("Error() = %q", got)
	}
}

// TestExtremeRanges: a range whose every value is finite is accepted,
// though its ratio (log) or the product of its width and an index
// (linear) overflows a double, and its ends are the ones written. (On a
// t_decay axis: conductances stop at 1 S.)
func TestExtremeRanges(t *testing.T) {
	for _, tc := range []struct {
		axis     string
		from, to float64 // s
	}{
		{"{from: 1e-170 ms, to: 1e170 ms, steps: 3, scale: log}", 1e-173, 1e167},
		{"{from: 1 ms, to: 1e308 s, steps: 3, scale: linear}", 1e-3, 1e308},
	} {
		s, err := Parse("l23.yaml", []byte(base+"sweep:\n  t_decay: "+tc.axis+"\n"))
		if err != nil {
			t.Errorf("%s: %v", tc.axis, err)
			continue
		}
		v := s.Sweep.TDecay.Values()
		if len(v) != 3 || math.Abs(v[0]/tc.from-1) > 1e-12 || math.Abs(v[2]/tc.to-1) > 1e-12 || !(v[0] < v[1] && v[1] < v[2]) {
			t.Errorf("%s: values %v", tc.axis, v)
		}
	}
}

// TestSpikeOffTheGridWarns: a spike time between two steps warns and
// says the step Brian 2 delivers it at (its timestep rule rounds down);
// one on the grid does not.
func TestSpikeOffTheGridWarns(t *testing.T) {
	for _, tc := range []struct{ at, want string }{
		{"10.02 ms", "simulation.spike_at: 10.02 ms is not a whole number of steps of dt (0.1 ms): Brian 2 delivers the spike at step 100, 10 ms"},
		{"10.09 ms", "Brian 2 delivers the spike at step 100, 10 ms"},
		{"10.1 ms", ""},
		{"10 ms", ""},
	} {
		s, err := Parse("l23.yaml", []byte(strings.Replace(base, "spike_at: 10 ms", "spike_at: "+tc.at, 1)))
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join(s.Warnings, "\n")
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("spike_at %s: warnings %q, want %q", tc.at, got, tc.want)
		}
	}
}

// TestUnstableCellWarns: a dt beyond the stability limit of a pathway's
// post cell warns once, at simulation.dt, naming the cell, its pathways and
// the limit, which is the limit at which sim.New refuses them; just
// inside it nothing warns. A method without a limit never warns.
func TestUnstableCellWarns(t *testing.T) {
	y, err := os.ReadFile("../../experiments/cortex-paired-recordings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	parse := func(dt, method string) *Spec {
		t.Helper()
		text := strings.Replace(string(y), "  dt: 0.025 ms\n  method: euler\n", "  dt: "+dt+"\n  method: "+method+"\n", 1)
		s, err := Parse("cortex.yaml", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	var warned []string
	for _, w := range parse("1 ms", "euler").Warnings {
		// The cell's limit, not its receptors' (t_rise 0.2 ms at dt 1 ms).
		if strings.Contains(w, "stability limit") && !strings.Contains(w, "t_rise") {
			warned = append(warned, w)
		}
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "cortex.yaml:12: simulation.dt: dt 1 ms is beyond euler's stability limit of 0.9255 ms for cell pc") {
		t.Fatalf("warnings %q, want one for cell pc at simulation.dt", warned)
	}
	// Past the fastest time constant (0.4628 ms) exponential_euler would
	// be far off too: it is not offered as the way out.
	if !strings.HasSuffix(warned[0], "use dt below 0.9255 ms (exponential_euler would run at this dt, but its PSPs would be far off the cell's: it needs dt below 0.4628 ms too)") {
		t.Errorf("warning %q offers exponential_euler at a dt where it is far off", warned[0])
	}
	// The pathways named are those sim.New refuses.
	s := parse("1 ms", "euler")
	var refused []string
	for i := range s.Pathways {
		setup, _, err := s.Setup(i)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sim.New(setup, 1); err != nil {
			refused = append(refused, strconv.Itoa(i))
		}
	}
	if want := "the post cell of pathways " + strings.Join(refused, ", ") + ":"; len(refused) < 2 || !strings.Contains(warned[0], want) {
		t.Errorf("warning %q, want %q", warned[0], want)
	}
	for _, c := range [][2]string{{"0.9 ms", "euler"}, {"1 ms", "exponential_euler"}, {"1.2 ms", "rk4"}} {
		for _, w := range parse(c[0], c[1]).Warnings {
			if strings.Contains(w, "stability limit") && !strings.Contains(w, "t_rise") {
				t.Errorf("dt %s under %s: %q", c[0], c[1], w)
			}
		}
	}
	// Exponential Euler is stable, but past the fastest time constant
	// (0.4628 ms) steps the coupling coarsely: warned, at dt; not below.
	coarse := func(dt string) []string {
		var w []string
		for _, s := range parse(dt, "exponential_euler").Warnings {
			if strings.Contains(s, "fastest passive time constant") {
				w = append(w, s)
			}
		}
		return w
	}
	if w := coarse("1 ms"); len(w) != 3 || !strings.HasPrefix(w[1], "cortex.yaml:12: simulation.dt: dt 1 ms is 2.16 times cell pc's fastest passive time constant (0.4628 ms): exponential_euler stays stable") {
		t.Errorf("exponential_euler at 1 ms: %q, want one warning for each of its three cells, pc's among them", w)
	}
	if w := coarse("0.6 ms"); len(w) != 1 || !strings.Contains(w[0], "cell pc's") {
		t.Errorf("exponential_euler at 0.6 ms: %q, want one for pc only", w)
	}
	if w := coarse("0.4 ms"); len(w) != 0 {
		t.Errorf("exponential_euler at 0.4 ms: %q", w)
	}
}

// TestImplausiblePotentialsWarn: a potential of the right dimension but a
// magnitude no membrane reaches (uV or V written for mV) warns, naming the
// value the unit most likely meant; so does a target PSP no connection
// gives. Plausible values, and an exact 0 mV reversal, do not.
func TestImplausiblePotentialsWarn(t *testing.T) {
	for _, tc := range []struct {
		name, y string
		want    string // "" for no warning
	}{
		{"holding in uV", edit(t, base, "  target_psp: 0.5 mV\n", "  target_psp: 0.5 mV\n  holding: -55 uV\n"),
			`l23.yaml:32: pathways[0].holding: "-55 uV" is -0.055 mV, closer to 0 mV than any membrane or reversal potential; did you mean -55 mV?`},
		// Not also "did you mean -55000 mV" for its sign.
		{"holding in V", edit(t, base, "  target_psp: 0.5 mV\n", "  target_psp: 0.5 mV\n  holding: 55 V\n"),
			`l23.yaml:32: pathways[0].holding: "55 V" is 55000 mV, beyond any membrane or reversal potential; did you mean 55 mV?`},
		{"v_rest in uV", edit(t, base, "v_rest: -70 mV", "v_rest: -72 uV"),
			`l23.yaml:9: cells.pyr.v_rest: "-72 uV" is -0.072 mV, closer to 0 mV than any membrane or reversal potential; did you mean -72 mV?`},
		{"reversal in V", edit(t, base, "cells:\n", "constants:\n  E_GABA: -80 V\ncells:\n"),
			`l23.yaml:8: constants.E_GABA: "-80 V" is -80000 mV, beyond any membrane or reversal potential; did you mean -80 mV?`},
		{"target PSP in V", edit(t, base, "target_psp: 0.5 mV", "target_psp: 0.5 V"),
			"l23.yaml:31: pathways[0].target_psp: a PSP of 500 mV is outside what one synaptic connection gives (1 uV to 100 mV); check the unit"},
		{"dt in us", edit(t, base, "dt: 0.1 ms", "dt: 0.1 us"),
			`l23.yaml:4: simulation.dt: dt "0.1 us" is 0.0001 ms, far below the 0.01 to 0.1 ms Dendrify's models run at: every run takes that much longer; did you mean 0.1 ms?`},
		// Not written in us: no value meant.
		{"dt tiny in ms", edit(t, base, "dt: 0.1 ms", "dt: 0.0005 ms"),
			`l23.yaml:4: simulation.dt: dt "0.0005 ms" is 0.0005 ms, far below the 0.01 to 0.1 ms Dendrify's models run at: every run takes that much longer`},
		// A slip by 1000 would not make it plausible either: no value
		// meant (it said "did you mean 1e+06 mV?").
		{"reversal far beyond", edit(t, base, "cells:\n", "constants:\n  E_AMPA: 1e6 V\ncells:\n"),
			`l23.yaml:8: constants.E_AMPA: "1e6 V" is 1e+09 mV, beyond any membrane or reversal potential`},
		{"holding far below", edit(t, base, "  target_psp: 0.5 mV\n", "  target_psp: 0.5 mV\n  holding: -0.003 uV\n"),
			`l23.yaml:32: pathways[0].holding: "-0.003 uV" is -3e-06 mV, closer to 0 mV than any membrane or reversal potential`},
		{"plausible", edit(t, base, "  target_psp: 0.5 mV\n", "  target_psp: 0.5 mV\n  holding: -55 mV\n"), ""},
		{"zero reversal", edit(t, base, "cells:\n", "constants:\n  E_AMPA: 0 mV\ncells:\n"), ""},
		// Dendrify's papers take E_NMDA = 0.35 mV (a bound of 1 mV called
		// it a slip); a potential in V written as mV is below 0.2 mV.
		{"reversal near zero", edit(t, base, "cells:\n", "constants:\n  E_NMDA: 0.35 mV\ncells:\n"), ""},
		{"reversal in V written as mV", edit(t, base, "cells:\n", "constants:\n  E_GABA: -0.08 mV\ncells:\n"),
			`l23.yaml:8: constants.E_GABA: "-0.08 mV" is -0.08 mV, closer to 0 mV than any membrane or reversal potential; did you mean -80 mV?`},
	} {
		s, err := Parse("l23.yaml", []byte(tc.y))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := strings.Join(s.Warnings, "\n"); got != tc.want {
			t.Errorf("%s: warnings %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestConductanceBounded: a conductance above 1 S is refused wherever it
// is written (1e300 S parsed, then printed and recorded as +Inf nS), and a
// coupling that fails to parse as a conductance says why.
func TestConductanceBounded(t *testing.T) {
	for _, tc := range []struct{ name, y, path, want string }{
		{"plain number beyond double", edit(t, base, "cells:\n", "constants:\n  Mg_con: 1e400\ncells:\n"), "constants.Mg_con:", `"1e400" is beyond double precision`},
		{"receptor", edit(t, base, "    g: 1 nS\n", "    g: 1e300 S\n"), "pathways[0].receptors[0].g:", `"1e300 S" is above 1 S`},
		{"sweep", base + "sweep:\n  g: {from: 1 nS, to: 2 S, steps: 3}\n", "sweep.g.to:", `"2 S" is above 1 S`},
		{"sweep list", base + "sweep:\n  g: [1 nS, 5 S]\n", "sweep.g[1]:", `"5 S" is above 1 S`},
		{"fit", base + "fit:\n  g_max: 10 S\n", "fit.g_max:", `"10 S" is above 1 S`},
		{"coupling", edit(t, base, "[soma, dend, 12 nS]", "[soma, dend, 12 S]"), "cells.pyr.connections[0][2]:", `"12 S" is above 1 S`},
		{"subnormal coupling", edit(t, base, "[soma, dend, 12 nS]", "[soma, dend, 1e-300 nS]"), "cells.pyr.connections[0][2]:", `want conductance (S), got "1e-300 nS", which underflows double precision`},
		{"dspike", edit(t, base, "      gl_abs: 5 nS\n", "      gl_abs: 5 nS\n      dspikes:\n"+strings.Replace(dsp("Na"), "g_rise: 30 nS", "g_rise: 1e300 S", 1)),
			"cells.pyr.compartments[1].dspikes[0].g_rise:", `"1e300 S" is above 1 S, far beyond any conductance of these models`},
		{"leak", edit(t, base, "gl_abs: 5 nS", "gl_abs: 5 S"), "cells.pyr.compartments[1].gl_abs:", `"5 S" is above 1 S`},
		{"adaptation", edit(t, base, "      type: soma\n", "      type: soma\n      model: adaptiveIF\n      params: {a: -1e300 S, tauw: 80 ms}\n"), "cells.pyr.compartments[0].params.a:", `"-1e300 S" is beyond 1 S in magnitude`},
	} {
		_, err := Parse("l23.yaml", []byte(tc.y))
		if err == nil || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %s %s", tc.name, err, tc.path, tc.want)
		}
	}
}

// TestUnderdeterminedKineticsWarns: one kinetics target for the two time
// constants of a receptor with t_rise warns (a curve of pairs meets it);
// two targets, or one for t_decay alone, do not.
func TestUnderdeterminedKineticsWarns(t *testing.T) {
	rise := edit(t, base, "    t_decay: 2 ms\n", "    t_decay: 2 ms\n    t_rise: 0.5 ms\n")
	for _, tc := range []struct {
		name, y string
		warn    bool
	}{
		{"one target, two constants", edit(t, rise, "  target_psp: 0.5 mV\n", "  target_psp: 0.5 mV\n  target_time_to_peak: 4 ms\n"), true},
		{"two targets", edit(t, rise, "  target_psp: 0.5 mV\n", "  target_psp: 0.5 mV\n  target_time_to_peak: 4 ms\n  target_half_width: 10 ms\n"), false},
		{"one target, one constant", edit(t, base, "  target_psp: 0.5 mV\n", "  target_psp: 0.5 mV\n  target_time_to_peak: 4 ms\n"), false},
	} {
		s, err := Parse("l23.yaml", []byte(tc.y))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := strings.Join(s.Warnings, "\n")
		if strings.Contains(got, "one kinetics target for two time constants") != tc.warn {
			t.Errorf("%s: warnings %q, want the underdetermined fit named: %v", tc.name, got, tc.warn)
		}
	}
	s, _ := Parse("l23.yaml", []byte(edit(t, rise, "  target_psp: 0.5 mV\n", "  target_psp: 0.5 mV\n  target_time_to_peak: 4 ms\n")))
	if want := "l23.yaml:33: pathways[0].target_time_to_peak: one kinetics target"; len(s.Warnings) != 1 || !strings.HasPrefix(s.Warnings[0], want) {
		t.Errorf("warnings %q, want %q", s.Warnings, want)
	}
}

// TestOversizedSpecRefused: a spec over MaxSize is refused at once, by
// Load without reading it all, and by Parse.
func TestOversizedSpecRefused(t *testing.T) {
	big := base + "# " + strings.Repeat("x", MaxSize) + "\n"
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "is over 4 MB: a spec is a few KB") {
		t.Errorf("Load: %v", err)
	}
	if _, err := Parse("big.yaml", []byte(big)); err == nil || !strings.Contains(err.Error(), "big.yaml is over 4 MB") {
		t.Errorf("Parse: %v", err)
	}
	if _, err := Parse("l23.yaml", []byte(base)); err != nil {
		t.Errorf("the base spec: %v", err)
	}
}

// TestFitOnlyRules: kinetics targets that no PSP of the window can meet
// are no error of the spec, which a sweep or a simulation (that use no
// targets) take with a warning, but the pathway's FitErrors, which a fit
// refuses (a sweep was refused for a fit's target).
func TestFitOnlyRules(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"time to peak past the window", edit(t, base, "  target_psp: 0.5 mV\n", "  target_psp: 0.5 mV\n  target_time_to_peak: 95 ms\n"),
			"l23.yaml:32: pathways[0].target_time_to_peak: 95 ms does not fit in the 90 ms the simulation runs after the spike: lengthen simulation.duration"},
		{"half width past the window", edit(t, base, "  target_psp: 0.5 mV\n", "  target_psp: 0.5 mV\n  target_half_width: 90 ms\n"),
			"l23.yaml:32: pathways[0].target_half_width: 90 ms does not fit in the 90 ms the simulation runs after the spike: lengthen simulation.duration"},
		// Told apart, not "90 ms does not fit in the 90 ms".
		{"half width just past the window", edit(t, base, "  target_psp: 0.5 mV\n", "  target_psp: 0.5 mV\n  target_half_width: 90.0000001 ms\n"),
			"l23.yaml:32: pathways[0].target_half_width: 90.0000001 ms does not fit in the 90 ms the simulation runs after the spike: lengthen simulation.duration"},
		{"time to peak within two steps", edit(t, base, "  target_psp: 0.5 mV\n", "  target_psp: 0.5 mV\n  target_time_to_peak: 0.15 ms\n"),
			"l23.yaml:32: pathways[0].target_time_to_peak: 0.15 ms is shorter than two steps (0.2 ms at dt 0.1 ms): no PSP peaks sooner, as V first moves at the second sample after the spike"},
		{"rise past the peak", edit(t, base, "  target_psp: 0.5 mV\n", "  target_psp: 0.5 mV\n  target_rise: 30 ms\n  target_time_to_peak: 2 ms\n"),
			"l23.yaml:32: pathways[0].target_rise: 30 ms is not shorter than target_time_to_peak (2 ms): a PSP's 10-90 % rise ends before its peak, so no PSP meets both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse("l23.yaml", []byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if fe := s.Pathways[0].FitErrors; len(fe) != 1 || fe.Error() != tc.want {
				t.Errorf("FitErrors %q, want %q", fe, tc.want)
			}
			if !slices.Contains(s.Warnings, tc.want+" (fit refuses it)") {
				t.Errorf("warnings %q, want %q", s.Warnings, tc.want+" (fit refuses it)")
			}
		})
	}
	s, err := Parse("l23.yaml", []byte(base))
	if err != nil || s.Pathways[0].FitErrors != nil {
		t.Errorf("the base spec: FitErrors %v, %v", s.Pathways[0].FitErrors, err)
	}
}

// TestParseRecordedKeepsOlderRules: the text of a run recorded before an
// input rule (a conductance above 1 S, a kinetics target longer than the
// window) parses with ParseRecorded, the rule a warning, while Parse
// refuses it as new input (the kinetics target as its fit does:
// FitErrors).
func TestParseRecordedKeepsOlderRules(t *testing.T) {
	// refusal is what Parse refuses y with: its error, or the FitErrors
	// of its first pathway.
	refusal := func(y string) string {
		s, err := Parse("l23.yaml", []byte(y))
		if err != nil {
			return err.Error()
		}
		return s.Pathways[0].FitErrors.Error()
	}
	for _, tc := range []struct{ name, y, want string }{
		{"conductance", edit(t, base, "    g: 1 nS\n", "    g: 2 S\n"), `"2 S" is above 1 S`},
		{"kinetics window", edit(t, base, "  target_psp: 0.5 mV\n", "  target_psp: 0.5 mV\n  target_time_to_peak: 95 ms\n"), "95 ms does not fit in the 90 ms"},
	} {
		if got := refusal(tc.y); !strings.Contains(got, tc.want) {
			t.Errorf("%s: Parse refuses it with %q, want %q", tc.name, got, tc.want)
		}
		s, err := ParseRecorded("l23.yaml", []byte(tc.y))
		if err != nil {
			t.Errorf("%s: ParseRecorded: %v", tc.name, err)
			continue
		}
		if s.Pathways[0].FitErrors != nil {
			t.Errorf("%s: ParseRecorded: FitErrors %v", tc.name, s.Pathways[0].FitErrors)
		}
		if got := strings.Join(s.Warnings, "\n"); !strings.Contains(got, tc.want) {
			t.Errorf("%s: ParseRecorded warnings %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestRestlessPathwaysWarn: a pathway with no state to measure a PSP from
// (an AdEx cell with no resting state, a holding above VT) warns at parse,
// once for each reason, naming the pathways, which are exactly those
// sim.New refuses; a stable AdEx cell does not warn.
func TestRestlessPathwaysWarn(t *testing.T) {
	y, err := os.ReadFile("../../pipeline/testdata/dendrify-check/cases/adex-soma-rk4.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, from, to string
		want           []string // warnings about it, in order
	}{
		{"stable", "", "", nil},
		{"held above VT", "holding: -55 mV", "holding: -45 mV",
			[]string{"adex.yaml:25: pathways[1].holding: pathway 1 cannot be simulated (fit ends it sim_failed, sweep refuses the spec): the state held at -45 mV in soma is unstable"}},
		{"no resting state", "v_rest: -70 mV, params: {a: 2 nS", "v_rest: -40 mV, params: {a: 2 nS",
			// Pathway 0, at rest; held at -55 mV, below VT, pathway 1 has
			// a stable state.
			[]string{"adex.yaml:13: pathways[0]: pathway 0 cannot be simulated (fit ends it sim_failed, sweep refuses the spec): steady state did not converge: AdEx soma has v_rest -40 mV, above -51.64 mV"}},
	} {
		text := strings.Replace(string(y), tc.from, tc.to, 1)
		if tc.from != "" && text == string(y) {
			t.Fatalf("%s: the case no longer has %q", tc.name, tc.from)
		}
		s, err := Parse("adex.yaml", []byte(text))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []string
		for _, w := range s.Warnings {
			if strings.Contains(w, "cannot be simulated") {
				got = append(got, w)
			}
		}
		if len(got) != len(tc.want) {
			t.Fatalf("%s: warnings %q, want %d", tc.name, got, len(tc.want))
		}
		for k := range got {
			if !strings.HasPrefix(got[k], tc.want[k]) {
				t.Errorf("%s: warning %q, want %q", tc.name, got[k], tc.want[k])
			}
		}
		var refused int
		for i := range s.Pathways {
			setup, _, err := s.Setup(i)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sim.New(setup, 1); err != nil {
				refused++
			}
		}
		if refused != len(tc.want) {
			t.Errorf("%s: sim.New refuses %d pathways, the warnings name %d", tc.name, refused, len(tc.want))
		}
		// A recorded text is read without the check (its run says it).
		rs, err := ParseRecorded("adex.yaml", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range rs.Warnings {
			if strings.Contains(w, "cannot be simulated") {
				t.Errorf("%s: ParseRecorded warns %q", tc.name, w)
			}
		}
	}
}

// TestImplausibleSlopeWarns: an AdEx DeltaT in uV or V (a unit slip) warns
// with the value meant; 0.5 to 5 mV does not.
func TestImplausibleSlopeWarns(t *testing.T) {
	y, err := os.ReadFile("../../pipeline/testdata/dendrify-check/cases/adex-soma-rk4.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ deltaT, want string }{
		{"2 mV", ""},
		{"0.5 mV", ""},
		{"2 uV", `adex.yaml:7: cells.pyr.compartments[0].params.DeltaT: "2 uV" is 0.002 mV, far below any AdEx slope factor (0.5 to 5 mV); did you mean 2 mV?`},
		{"2 V", `adex.yaml:7: cells.pyr.compartments[0].params.DeltaT: "2 V" is 2000 mV, far above any AdEx slope factor (0.5 to 5 mV); did you mean 2 mV?`},
		// No unit slip makes it a usual value: no value meant.
		{"60 mV", `adex.yaml:7: cells.pyr.compartments[0].params.DeltaT: "60 mV" is 60 mV, far above any AdEx slope factor (0.5 to 5 mV)`},
		{"60000 uV", `adex.yaml:7: cells.pyr.compartments[0].params.DeltaT: "60000 uV" is 60 mV, far above any AdEx slope factor (0.5 to 5 mV)`},
		{"0.06 V", `adex.yaml:7: cells.pyr.compartments[0].params.DeltaT: "0.06 V" is 60 mV, far above any AdEx slope factor (0.5 to 5 mV)`},
	} {
		text := strings.Replace(string(y), "DeltaT: 2 mV", "DeltaT: "+tc.deltaT, 1)
		s, err := Parse("adex.yaml", []byte(text))
		if err != nil {
			t.Fatalf("%s: %v", tc.deltaT, err)
		}
		var got []string
		for _, w := range s.Warnings {
			if strings.Contains(w, "slope factor") {
				got = append(got, w)
			}
		}
		if g := strings.Join(got, "\n"); g != tc.want {
			t.Errorf("DeltaT %s: warnings %q, want %q", tc.deltaT, g, tc.want)
		}
	}
}

// TestZeroTRiseIsNone: a t_rise of exactly 0 is read as Dendrify reads it,
// as no t_rise: the receptor is the one without it (an instant rise, no
// scale_g normalisation), and a negative one is still refused.
func TestZeroTRiseIsNone(t *testing.T) {
	with := edit(t, base, "    t_decay: 2 ms\n", "    t_decay: 2 ms\n    t_rise: 0 ms\n    scale_g: true\n")
	without := edit(t, base, "    t_decay: 2 ms\n", "    t_decay: 2 ms\n    scale_g: true\n")
	a, err := Parse("l23.yaml", []byte(with))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse("l23.yaml", []byte(without))
	if err != nil {
		t.Fatal(err)
	}
	ra, rb := a.Pathways[0].Receptors[0], b.Pathways[0].Receptors[0]
	if ra != rb || ra.TauRise != 0 || ra.EffectiveG() != ra.G {
		t.Errorf("t_rise 0 ms: receptor %+v, want %+v (no t_rise)", ra, rb)
	}
	if _, err := Parse("l23.yaml", []byte(edit(t, with, "t_rise: 0 ms", "t_rise: -1 ms"))); err == nil || !strings.Contains(err.Error(), `t_rise: must be positive, got "-1 ms"`) {
		t.Errorf("t_rise -1 ms: %v", err)
	}
}

// TestUnitSlipCompartments: a compartment's capacitance or membrane time
// constant far out of any neuron's range (a size or membrane field in the
// wrong unit) warns at the compartment, saying what is off; values just
// inside the bounds (10 nF, tau_m 0.1 ms and 10 s) do not, nor do the
// specs as written.
func TestUnitSlipCompartments(t *testing.T) {
	for _, tc := range []struct {
		name, y string
		want    []string
	}{
		{"as written", base, nil},
		{"dimensional, as written", dimBase, nil},
		{"cm_abs in uF", edit(t, base, "cm_abs: 100 pF", "cm_abs: 100 uF"),
			[]string{"l23.yaml:11: cells.pyr.compartments[0]: soma has a capacitance of 1e+08 pF (above 10 nF) and a membrane time constant of 1e+07 ms (outside 0.1 ms to 10 s), which no neuron compartment has"}},
		{"length in mm", edit(t, dimBase, "length: 20 um\n      diameter: 20 um", "length: 20 mm\n      diameter: 20 um"),
			[]string{"l23.yaml:11: cells.pyr.compartments[0]: soma has a capacitance of 1.257e+04 pF (above 10 nF), which"}},
		{"gl_abs in mS", edit(t, base, "gl_abs: 5 nS", "gl_abs: 5 mS"),
			[]string{"cells.pyr.compartments[1]: dend has a membrane time constant of 1e-05 ms (outside 0.1 ms to 10 s)"}},
		{"10 nF", edit(t, base, "cm_abs: 100 pF", "cm_abs: 10 nF"), nil},
		{"tau_m 8.3 s", edit(t, base, "gl_abs: 5 nS", "gl_abs: 6 pS"), nil},
		{"tau_m 0.125 ms", edit(t, base, "gl_abs: 5 nS", "gl_abs: 400 nS"), nil},
		// A trial's: 0.0125 ms passed the bound of 0.01 ms.
		{"tau_m 0.0125 ms", edit(t, base, "gl_abs: 5 nS", "gl_abs: 4 uS"),
			[]string{"cells.pyr.compartments[1]: dend has a membrane time constant of 0.0125 ms (outside 0.1 ms to 10 s)"}},
	} {
		s, err := Parse("l23.yaml", []byte(tc.y))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []string
		for _, w := range s.Warnings {
			if strings.Contains(w, "which no neuron compartment has") {
				got = append(got, w)
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: warnings %q, want %d", tc.name, got, len(tc.want))
			continue
		}
		for i, w := range tc.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s: warning %q, want it to say %q", tc.name, got[i], w)
			}
		}
	}
}

// TestZeroRefusedSaysWhy: a zero where a positive value is wanted is
// refused; for a field given to Dendrify the error says Dendrify reads an
// exact zero as not given, for one of dendfit's own (targets, the fit
// and sweep blocks) it does not claim so.
func TestZeroRefusedSaysWhy(t *testing.T) {
	const why = "(Dendrify treats an exact zero as not given)"
	for _, tc := range []struct {
		name, from, to string
		dendrify       bool
	}{
		{"receptor t_decay", "    t_decay: 2 ms\n", "    t_decay: 0 ms\n", true},
		{"target_half_width", "  target_psp: 0.5 mV\n", "  target_psp: 0.5 mV\n  target_half_width: 0 ms\n", false},
		{"fit g_min", "dendfit: 1\n", "dendfit: 1\nfit: {g_min: 0 nS}\n", false},
	} {
		_, err := Parse("l23.yaml", []byte(edit(t, base, tc.from, tc.to)))
		if err == nil || !strings.Contains(err.Error(), `must be positive, got "0 `) || strings.Contains(err.Error(), why) != tc.dendrify {
			t.Errorf("%s: %v (Dendrify's reason given: want %v)", tc.name, err, tc.dendrify)
		}
	}
}

// TestPathwayIndexes: messages name the indexes a spec has, in words for
// one ("pathways 0..0" read as a typo).
func TestPathwayIndexes(t *testing.T) {
	for n, want := range []string{"no pathway", "one pathway, 0", "pathways 0..1", "pathways 0..2"} {
		if got := (&Spec{Pathways: make([]Pathway, n)}).PathwayIndexes(); got != want {
			t.Errorf("%d pathways: %q, want %q", n, got, want)
		}
	}
}

// TestStepWarnings: times the simulator counts in whole steps of dt warn
// when they are not whole: a dSpike time under dt lasts no step (a
// trial's dSpikes fired with no current, without a word), another is cut
// to the step below; and a run that ends one sample after the spike
// measures no PSP (a trial's fit called every target out of reach). The
// spec's own whole times (dt 0.1 ms), and a longer window, do not warn.
func TestStepWarnings(t *testing.T) {
	// dspikeCell's simulation is the default: dt 0.1 ms, spike at 10 ms.
	for _, tc := range []struct {
		name, y string
		want    []string
	}{
		{"whole steps", dspikeCell, nil},
		{"under dt", edit(t, dspikeCell, "offset_fall: 0.2 ms, refractory: 5 ms, reversal_rise: E_Na", "offset_fall: 0.05 ms, refractory: 5 ms, reversal_rise: E_Na"),
			[]string{"c.yaml:15: cells.pyr.compartments[1].dspikes[0].offset_fall: 0.05 ms is under dt (0.1 ms): dSpike Na counts whole steps, as Dendrify does, so it lasts none"}},
		{"not whole", edit(t, dspikeCell, "duration_rise: 1.2 ms, duration_fall: 2.4 ms, offset_fall: 0.2 ms, refractory: 5 ms, reversal_rise: 70 mV", "duration_rise: 1.25 ms, duration_fall: 2.4 ms, offset_fall: 0.2 ms, refractory: 5 ms, reversal_rise: 70 mV"),
			[]string{"c.yaml:22: cells.pyr.compartments[2].dspikes[0].duration_rise: 1.25 ms is not a whole number of steps of dt (0.1 ms): dSpike Na counts whole steps, as Dendrify does, so it lasts 12, 1.2 ms"}},
		{"one sample after the spike", edit(t, dspikeCell, "experiment: c\n", "experiment: c\nsimulation: {dt: 0.1 ms, duration: 10.2 ms, spike_at: 10 ms}\n"),
			[]string{"c.yaml:3: simulation.duration: the run ends one sample after spike_at (step 100 of 0..101), and a spike moves V from the step after that one: every PSP is 0; give a duration longer than spike_at by the PSP's time course"}},
		{"two samples after the spike", edit(t, dspikeCell, "experiment: c\n", "experiment: c\nsimulation: {dt: 0.1 ms, duration: 10.3 ms, spike_at: 10 ms}\n"), nil},
	} {
		s, err := Parse("c.yaml", []byte(tc.y))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []string
		for _, w := range s.Warnings {
			if strings.Contains(w, "whole steps") || strings.Contains(w, "one sample after") {
				got = append(got, w)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: warnings %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestUnitSlipTimesWarn: a synaptic time constant, swept or not, above
// 1 s, a dt above 1 ms, a duration above 10 s and a positive E_GABA warn
// where they are written, with the value the unit most likely meant
// (a trial's t_decay of 8 s fitted, as converged, a PSP of tens of
// seconds, without a word); values just inside do not.
func TestUnitSlipTimesWarn(t *testing.T) {
	rise := edit(t, base, "    t_decay: 2 ms\n", "    t_decay: 2 ms\n    t_rise: 0.5 ms\n")
	for _, tc := range []struct {
		name, y string
		want    string // "" for none of these warnings
	}{
		{"t_decay in s", edit(t, base, "t_decay: 2 ms", "t_decay: 8 s"),
			`l23.yaml:30: pathways[0].receptors[0].t_decay: "8 s" is 8000 ms, longer than any synaptic time constant (NMDA's decay is about 100 ms, GABA_B's a few hundred); did you mean 8 ms?`},
		{"t_rise in s", edit(t, rise, "t_rise: 0.5 ms", "t_rise: 1.5 s"),
			`pathways[0].receptors[0].t_rise: "1.5 s" is 1500 ms, longer than any synaptic time constant (NMDA's decay is about 100 ms, GABA_B's a few hundred); did you mean 1.5 ms?`},
		{"t_decay of 1 s", edit(t, base, "t_decay: 2 ms", "t_decay: 1 s"), ""},
		{"t_decay far beyond, in ms", edit(t, base, "t_decay: 2 ms", "t_decay: 5000 ms"),
			`pathways[0].receptors[0].t_decay: "5000 ms" is 5000 ms, longer than any synaptic time constant (NMDA's decay is about 100 ms, GABA_B's a few hundred)`},
		{"swept list", base + "sweep:\n  t_decay: [2 ms, 20 s]\n", `sweep.t_decay[1]: "20 s" is 20000 ms, longer than any synaptic time constant`},
		{"swept range", base + "sweep:\n  t_decay: {from: 1 ms, to: 3 s, steps: 3}\n", `sweep.t_decay.to: "3 s" is 3000 ms, longer than any synaptic time constant (NMDA's decay is about 100 ms, GABA_B's a few hundred); did you mean 3 ms?`},
		{"dt in s", edit(t, base, "dt: 0.1 ms", "dt: 0.025 s"),
			`l23.yaml:4: simulation.dt: dt "0.025 s" is 25 ms, far above the 0.01 to 0.1 ms Dendrify's models run at: no PSP is resolved, and most cells are unstable; did you mean 0.025 ms?`},
		{"dt of 1 ms", edit(t, base, "dt: 0.1 ms", "dt: 1 ms"), ""},
		{"duration in s", edit(t, base, "duration: 100 ms", "duration: 150 s"),
			`l23.yaml:5: simulation.duration: duration "150 s" is 150 s, far beyond a PSP's window (tens to hundreds of ms): every run takes that much longer; did you mean 150 ms?`},
		{"duration of 10 s", edit(t, base, "duration: 100 ms", "duration: 10 s"), ""},
		{"E_GABA positive", edit(t, base, "cells:\n", "constants:\n  E_GABA: 75 mV\ncells:\n"),
			`l23.yaml:8: constants.E_GABA: "75 mV" is above 0 mV: GABA_A currents reverse near -70 mV (chloride), so this inhibition would excite; did you mean -75 mV?`},
		{"E_GABA depolarised", edit(t, base, "cells:\n", "constants:\n  E_GABA: -40 mV\ncells:\n"), ""},
	} {
		s, err := Parse("l23.yaml", []byte(tc.y))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []string
		for _, w := range s.Warnings {
			if strings.Contains(w, "synaptic time constant") || strings.Contains(w, "far above the 0.01") ||
				strings.Contains(w, "a PSP's window") || strings.Contains(w, "GABA_A currents") {
				got = append(got, w)
			}
		}
		switch {
		case tc.want == "" && len(got) > 0:
			t.Errorf("%s: warnings %q, want none", tc.name, got)
		case tc.want != "" && (len(got) != 1 || !strings.Contains(got[0], tc.want)):
			t.Errorf("%s: warnings %q, want one with %q", tc.name, got, tc.want)
		}
	}
}

// TestWarningsBesideErrors: a spec with errors keeps its warnings beside
// them (WarnedError), as one may say what caused them: a dt of 0.1 s ends
// the run at the spike, an error, where the warning says it was meant in
// ms. Without warnings the errors come as they are.
func TestWarningsBesideErrors(t *testing.T) {
	_, err := Parse("l23.yaml", []byte(edit(t, base, "dt: 0.1 ms", "dt: 0.1 s")))
	var we *WarnedError
	var e *Error
	if !errors.As(err, &we) || !errors.As(err, &e) || len(we.Warnings) != 1 ||
		!strings.Contains(we.Warnings[0], `did you mean 0.1 ms?`) || !strings.Contains(err.Error(), "simulation.spike_at") {
		t.Errorf("dt 0.1 s: %v (%#v)", err, we)
	}
	_, err = Parse("l23.yaml", []byte(edit(t, base, "dt: 0.1 ms", "dt: -0.1 ms")))
	if err == nil || errors.As(err, &we) {
		t.Errorf("no warnings: %v, want the errors alone", err)
	}
}
