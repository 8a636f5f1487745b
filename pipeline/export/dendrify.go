package export

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/dendfit/dendfit/sim"
	"github.com/dendfit/dendfit/sim/spec"
)

// pyUnit is the Brian 2 expression for each unit quantity writes.
var pyUnit = map[string]string{
	"mV": "mV", "ms": "ms", "nS": "nS", "pF": "pF", "pA": "pA", "um": "um",
	"uF/cm2": "(uF/cm**2)", "uS/cm2": "(uS/cm**2)", "ohm*cm": "(ohm*cm)",
	"V": "volt", "s": "second", "S": "siemens", "F": "farad", "A": "amp", "m": "metre",
	"F/m2": "(farad/metre**2)", "S/m2": "(siemens/metre**2)", "ohm*m": "(ohm*metre)",
}

// pyWriter accumulates the module's body and the Brian units it uses.
type pyWriter struct {
	b     strings.Builder
	units map[string]bool
}

func (p *pyWriter) printf(format string, a ...any) { fmt.Fprintf(&p.b, format, a...) }

// q writes SI value v of dimension d as a Brian 2 quantity, exactly.
func (p *pyWriter) q(v float64, d spec.Dimension) string {
	n, u := quantity(v, d)
	return p.unit(n, u)
}

func (p *pyWriter) unit(n, u string) string {
	e := pyUnit[u]
	for _, f := range strings.FieldsFunc(e, func(r rune) bool { return strings.ContainsRune("()/*0123456789", r) }) {
		p.units[f] = true
	}
	return n + "*" + e
}

// pyStr quotes s for Python (the spec restricts names to letters, digits,
// '_', '.' and '-'; anything else is escaped).
func pyStr(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch {
		case r == '\'' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

func writeDendrify(w io.Writer, c *Calibration) error {
	p := &pyWriter{units: map[string]bool{}}
	s := c.Spec
	fitted, total := 0, 0
	for _, f := range c.Fits {
		total++
		if f.Converged {
			fitted++
		}
	}

	p.printf("\n# Simulation settings of the experiment (the PSP protocol's clock).\n")
	p.printf("DT = %s\n", p.q(s.Simulation.Dt, spec.Time))
	p.printf("METHOD = %s\n", pyStr(s.Simulation.Method.String()))
	p.printf("DURATION = %s\n", p.q(s.Simulation.Duration, spec.Time))
	p.printf("SPIKE_AT = %s\n", p.q(s.Simulation.SpikeAt, spec.Time))

	k := s.Constants
	p.printf("\n# Dendrify's ionic constants as the experiment sets them.\n")
	p.printf("CONSTANTS = {\n")
	p.printf("    'E_AMPA': %s,\n", p.q(k.EAMPA, spec.Voltage))
	p.printf("    'E_NMDA': %s,\n", p.q(k.ENMDA, spec.Voltage))
	p.printf("    'E_GABA': %s,\n", p.q(k.EGABA, spec.Voltage))
	p.printf("    'Mg_con': %s,\n", num(k.MgCon))
	p.printf("    'Alpha_NMDA': %s,\n", num(k.AlphaNMDA))
	p.printf("    'Beta_NMDA': %s,\n", num(k.BetaNMDA))
	p.printf("    'Gamma_NMDA': %s,\n", num(k.GammaNMDA))
	p.printf("    'E_Na': %s,\n", p.q(s.Ions.ENa, spec.Voltage))
	p.printf("    'E_K': %s,\n", p.q(s.Ions.EK, spec.Voltage))
	p.printf("    'E_Ca': %s,\n", p.q(s.Ions.ECa, spec.Voltage))
	p.printf("}\n")

	p.printf("\n# Synaptic parameters per population, with Dendrify's names:\n")
	for _, d := range synapseParams {
		p.printf("#   %s (%s): %s\n", d.Pattern, d.Unit, d.Doc)
	}
	p.printf("# Ready for model.add_params(PARAMS[population]); every population has an\n")
	p.printf("# entry, empty for one that no pathway reaches.\n")
	p.printf("PARAMS = {\n")
	for _, pop := range s.Populations {
		ps := c.params(pop.Name)
		if len(ps) == 0 {
			p.printf("    %s: {},  # no pathway onto it\n", pyStr(pop.Name))
			continue
		}
		p.printf("    %s: {\n", pyStr(pop.Name))
		for _, x := range ps {
			note := ""
			switch {
			case x.Fitted:
				note = fmt.Sprintf("  # fitted by run %d", x.Run)
			case x.Name[0] == 'g':
				note = "  # spec value, not fitted"
			}
			p.printf("        %s: %s,%s\n", pyStr(x.Name), p.unit(num(x.Value), x.Unit), note)
		}
		p.printf("    },\n")
	}
	p.printf("}\n")

	p.printf("\n# The pathways, for running the PSP protocol: a presynaptic spike adds 1 to\n")
	p.printf("# s_<channel>_<tag>_<compartment> (s_<channel>_<tag> on a point neuron) of each receptor.\n")
	p.printf("# With 'holding', the PSP was measured with the constant current 'i_hold' in\n")
	p.printf("# the variable 'i_ext' (I_ext_<record>), from the steady state it holds.\n")
	p.printf("# 'steady_state' is the state each PSP was measured from (every synaptic\n")
	p.printf("# variable 0): set it as the model's initial values, for no settling run.\n")
	p.printf("# A pathway with no state to measure a PSP from (no steady state, or an\n")
	p.printf("# unstable one) has 'steady_state' None (and 'i_hold' None when held): the\n")
	p.printf("# comment above it says why.\n")
	p.printf("PATHWAYS = [\n")
	for i, pw := range s.Pathways {
		cell := s.CellByName(s.PopulationCell(pw.Post))
		point := len(cell.Compartments) == 1
		var vars []string
		for _, r := range pw.Receptors {
			v := "s_" + r.Channel.String() + "_" + pw.Tag
			if !point {
				v += "_" + pw.Compartment
			}
			vars = append(vars, pyStr(v))
		}
		target, hold, ihold := "None", "None", "None"
		if pw.TargetPSP > 0 {
			target = p.q(pw.TargetPSP, spec.Voltage)
		}
		if _, cur, held, known, err := c.holding(i); err != nil {
			return err
		} else if held {
			hold = p.q(pw.Holding, spec.Voltage)
			if known {
				ihold = p.unit(num(cur), "pA")
			}
		}
		f := c.fitOf(i)
		conv := "None"
		if f != nil {
			conv = map[bool]string{true: "True", false: "False"}[f.Converged]
		}
		rec, iext := "V_"+pw.Record, "I_ext_"+pw.Record
		if point {
			rec, iext = "V", "I_ext"
		}
		p.printf("    {'pre': %s, 'post': %s, 'compartment': %s, 'tag': %s,\n", pyStr(pw.Pre), pyStr(pw.Post), pyStr(pw.Compartment), pyStr(pw.Tag))
		p.printf("     'on_pre': %s, 'record': %s,\n", pyStr(strings.Join(unquote(vars), " += 1; ")+" += 1"), pyStr(rec))
		p.printf("     'target_psp': %s, 'holding': %s, 'i_hold': %s, 'i_ext': %s,\n", target, hold, ihold, pyStr(iext))
		ps, err := c.state(i)
		if err != nil {
			return err
		}
		if ps.err != nil {
			p.printf("     # %s\n", strings.ReplaceAll(ps.err.Error(), "\n", " "))
			p.printf("     'steady_state': None,\n")
			p.printf("     'converged': %s},\n", conv)
			continue
		}
		ss := ps.ss
		var st []string
		for k, cp := range ps.cell.Compartments {
			suffix := "_" + cp.Name
			if point {
				suffix = ""
			}
			// Computed, not written by the user: the number the JSON
			// export gives, round-trip exact in mV (quantity would print
			// the fewest digits within two ulp of it).
			st = append(st, pyStr("V"+suffix)+": "+p.unit(num(ss.V[k]/1e-3), "mV"))
			if cp.Kind.Adaptive() {
				st = append(st, pyStr("w"+suffix)+": "+p.unit(num(ss.W[k]/1e-12), "pA"))
			}
		}
		p.printf("     'steady_state': {%s},\n", strings.Join(st, ", "))
		p.printf("     'converged': %s},\n", conv)
	}
	p.printf("]\n")

	p.buildModels(c)

	bw := bufio.NewWriter(w)
	run := c.Run
	rev := run.VCSRevision
	if rev == "" {
		rev = "unknown"
	}
	if run.VCSModified {
		rev += ", modified"
	}
	fmt.Fprintf(bw, "# Calibrated synapses of experiment %q for Dendrify 2.x on Brian 2.\n", s.Name)
	fmt.Fprintf(bw, "# Written by dendfit %s on %s; do not edit, export again.\n", orUnknown(c.Version), c.Date.UTC().Format("2006-01-02T15:04:05Z"))
	fmt.Fprintf(bw, "# Fit run %d (uid %s) by dendfit %s (revision %s), started %s.\n", run.ID, run.RunUID, orUnknown(run.Version), rev,
		run.StartedAt.UTC().Format("2006-01-02T15:04:05Z"))
	if o := c.OtherRuns(); o != "" {
		fmt.Fprintf(bw, "# Not fitted by run %d, so from earlier fits of the same pathways and targets: %s.\n", run.ID, o)
	}
	fmt.Fprintf(bw, "# Spec SHA-256: %s\n", c.SpecSHA256)
	fmt.Fprintf(bw, "# Fits: %d of %d pathways converged", fitted, total)
	if fitted < len(s.Pathways) {
		fmt.Fprintf(bw, "; the other pathways keep their spec g")
	}
	fmt.Fprintf(bw, ".\n")
	for _, n := range c.notes() {
		fmt.Fprintf(bw, "# %s\n", n)
	}
	fmt.Fprintf(bw, "\"\"\"Calibrated synapses of experiment %s (dendfit fit run %d).\n\n", s.Name, run.ID)
	fmt.Fprintf(bw, "PARAMS[population] holds the synaptic parameters with Dendrify's names and\n")
	fmt.Fprintf(bw, "Brian 2 units, for model.add_params(PARAMS[population]). build_models()\n")
	fmt.Fprintf(bw, "returns {population: NeuronModel or PointNeuronModel} built with Dendrify's\n")
	fmt.Fprintf(bw, "API from the experiment spec, with the calibrated synapses.\n\n")
	fmt.Fprintf(bw, "Make each population's NeuronGroup with make_neurongroup(models, population, N):\n\n")
	fmt.Fprintf(bw, "    models = build_models()\n")
	fmt.Fprintf(bw, "    group = make_neurongroup(models, %s, 100)\n\n", pyStr(firstPopulation(s)))
	fmt.Fprintf(bw, "It integrates with METHOD, as the PSPs were calibrated (the model's own\n")
	fmt.Fprintf(bw, "make_neurongroup uses euler unless told), and sets Dendrify's default ionic\n")
	fmt.Fprintf(bw, "parameters to CONSTANTS first: a PointNeuronModel reads them when its group\n")
	fmt.Fprintf(bw, "is made, so another calibration's build_models() in the same script would\n")
	fmt.Fprintf(bw, "change its E_GABA or Mg_con. The calibration holds at the clock DT.\n\"\"\"\n\n")
	fmt.Fprintf(bw, "from brian2 import defaultclock\n")
	var us []string
	for u := range p.units {
		us = append(us, u)
	}
	sort.Strings(us)
	fmt.Fprintf(bw, "from brian2.units import %s\n", strings.Join(us, ", "))
	bw.WriteString(p.b.String())
	return bw.Flush()
}

func unquote(v []string) []string {
	out := make([]string, len(v))
	for i, s := range v {
		out[i] = strings.Trim(s, "'")
	}
	return out
}

// orUnknown names a dendfit version as --version does: Go records a
// binary built from a work tree as "(devel)", which reads as "devel".
func orUnknown(s string) string {
	switch s {
	case "":
		return "(unknown version)"
	case "(devel)":
		return "devel"
	}
	return s
}

// buildModels writes build_models(): one model per population, built with
// Dendrify's API as the spec describes the cell, with the pathways onto
// that population as synapses.
func (p *pyWriter) buildModels(c *Calibration) {
	s := c.Spec
	p.printf("\n\ndef build_models(dt=None):\n")
	p.printf("    \"\"\"Return {population: model} with the calibrated synapses.\n\n")
	p.printf("    Sets Brian's defaultclock.dt to dt (default DT) first: Dendrify turns\n")
	p.printf("    dSpike durations into time steps of the clock when the model is built.\n")
	p.printf("    Sets Dendrify's default ionic parameters to CONSTANTS too\n")
	p.printf("    (update_default_params): a PointNeuronModel takes E_GABA and the others\n")
	p.printf("    from them whatever add_params says, and dSpike reversals given by name\n")
	p.printf("    are looked up there.\n")
	p.printf("    \"\"\"\n")
	p.printf("    from dendrify import Dendrite, NeuronModel, PointNeuronModel, Soma, update_default_params\n\n")
	p.printf("    defaultclock.dt = DT if dt is None else dt\n")
	p.printf("    update_default_params(CONSTANTS)\n")
	p.printf("    models = {}\n")
	syns := c.synapses()
	for _, pop := range s.Populations {
		cell := s.CellByName(pop.Cell)
		p.printf("\n    # population %s: cell %s\n", pop.Name, cell.Name)
		var mine []synapse
		for _, sy := range syns {
			if sy.p.Post == pop.Name {
				mine = append(mine, sy)
			}
		}
		if len(cell.Compartments) == 1 {
			p.pointModel(cell, mine)
		} else {
			p.neuronModel(cell, mine)
		}
		p.printf("    model.add_params(CONSTANTS)\n")
		p.printf("    models[%s] = model\n", pyStr(pop.Name))
	}
	p.printf("    return models\n")
	p.printf("\n\ndef make_neurongroup(models, population, N, **kwargs):\n")
	p.printf("    \"\"\"Return models[population].make_neurongroup(N, method=METHOD, dt=DT, **kwargs).\n\n")
	p.printf("    Sets Dendrify's default ionic parameters to CONSTANTS first, which a\n")
	p.printf("    PointNeuronModel reads here whatever add_params said (another\n")
	p.printf("    calibration's build_models() may have changed them since), and gives\n")
	p.printf("    the group its own clock at DT, whatever defaultclock.dt another\n")
	p.printf("    calibration's build_models() set. Run the synapses and monitors that\n")
	p.printf("    measure its PSPs at DT too (dt=DT). A method or dt in kwargs replaces\n")
	p.printf("    METHOD or DT, and the PSPs then differ from the targets.\n")
	p.printf("    \"\"\"\n")
	p.printf("    from dendrify import update_default_params\n\n")
	p.printf("    update_default_params(CONSTANTS)\n")
	p.printf("    kwargs.setdefault('method', METHOD)\n")
	p.printf("    kwargs.setdefault('dt', DT)\n")
	p.printf("    return models[population].make_neurongroup(N, **kwargs)\n")
}

// firstPopulation names a population of s for the module's usage example:
// the first that a pathway reaches.
func firstPopulation(s *spec.Spec) string {
	if len(s.Pathways) > 0 {
		return s.Pathways[0].Post
	}
	if len(s.Populations) > 0 {
		return s.Populations[0].Name
	}
	return "population"
}

// synapseCall writes the arguments of synapse() for sy.
func (p *pyWriter) synapseCall(sy synapse) string {
	args := []string{pyStr(sy.r.Channel.String()), "tag=" + pyStr(sy.p.Tag), "g=" + p.unit(num(sy.gNS), "nS")}
	// Fitted time constants are written exactly in ms, as fitted g is in
	// nS; spec values in their shortest spelling.
	tau := func(v float64) string {
		if sy.tauFit {
			return p.unit(num(v/1e-3), "ms")
		}
		return p.q(v, spec.Time)
	}
	if sy.r.TauRise > 0 {
		args = append(args, "t_rise="+tau(sy.r.TauRise))
	}
	args = append(args, "t_decay="+tau(sy.r.TauDecay))
	if sy.r.ScaleG {
		args = append(args, "scale_g=True")
	}
	return strings.Join(args, ", ")
}

// adaptParams writes the model parameters of an adaptive compartment as
// an add_params dict, with suffix "" (point neuron) or "_<comp>".
func (p *pyWriter) adaptParams(k *spec.Compartment, suffix string) {
	if !k.Model.Adaptive() {
		return
	}
	items := []string{
		pyStr("a"+suffix) + ": " + p.q(k.A, spec.Conductance),
		pyStr("tauw"+suffix) + ": " + p.q(k.TauW, spec.Time),
	}
	if k.Model == sim.AdEx {
		items = append(items, pyStr("DeltaT"+suffix)+": "+p.q(k.DeltaT, spec.Voltage), pyStr("Vth"+suffix)+": "+p.q(k.VT, spec.Voltage))
	}
	p.printf("    model.add_params({%s})\n", strings.Join(items, ", "))
}

func (p *pyWriter) pointModel(cell *spec.Cell, syns []synapse) {
	k := cell.Compartments[0]
	cm, gl, vr := k.Cm, k.Gl, k.VRest
	if cell.Cm != 0 {
		cm = cell.Cm
	}
	if cell.Gl != 0 {
		gl = cell.Gl
	}
	if cell.VRest != 0 {
		vr = cell.VRest
	}
	args := []string{"model=" + pyStr(k.Model.String())}
	args = p.kw(args, "length", k.Length, spec.Length)
	args = p.kw(args, "diameter", k.Diameter, spec.Length)
	args = p.kw(args, "cm", cm, spec.SpecificCapacitance)
	args = p.kw(args, "gl", gl, spec.SpecificConductance)
	args = p.kw(args, "cm_abs", k.CmAbs, spec.Capacitance)
	args = p.kw(args, "gl_abs", k.GlAbs, spec.Conductance)
	args = p.kw(args, "v_rest", vr, spec.Voltage)
	p.printf("    model = PointNeuronModel(%s)\n", strings.Join(args, ", "))
	for _, sy := range syns {
		p.printf("    model.synapse(%s)\n", p.synapseCall(sy))
	}
	p.adaptParams(&k, "")
}

func (p *pyWriter) kw(args []string, name string, v float64, d spec.Dimension) []string {
	if v == 0 {
		return args
	}
	return append(args, name+"="+p.q(v, d))
}

func (p *pyWriter) neuronModel(cell *spec.Cell, syns []synapse) {
	v := func(name string) string { return "c_" + name }
	// A mechanism configured alike on every dendrite that has it (but for
	// its conductances) is set once with config_dspikes, Dendrify's usual
	// way; otherwise each dendrite gets its whole configuration in its own
	// dspikes call. Reversals belong to the name either way (the spec
	// refuses two for one name).
	shared := map[string]bool{}
	var order []string
	firsts := map[string]spec.DSpike{}
	for _, k := range cell.Compartments {
		for _, d := range k.DSpikes {
			f, ok := firsts[d.Name]
			if !ok {
				firsts[d.Name], shared[d.Name] = d, true
				order = append(order, d.Name)
				continue
			}
			a, b := f.DSpike, d.DSpike
			a.GRise, a.GFall, b.GRise, b.GFall = 0, 0, 0, 0
			if a != b {
				shared[d.Name] = false
			}
		}
	}
	for i := range cell.Compartments {
		k := &cell.Compartments[i]
		class := "Soma"
		if k.Type == spec.Dendrite {
			class = "Dendrite"
		}
		args := []string{pyStr(k.Name), "model=" + pyStr(k.Model.String())}
		args = p.kw(args, "length", k.Length, spec.Length)
		args = p.kw(args, "diameter", k.Diameter, spec.Length)
		args = p.kw(args, "cm", k.Cm, spec.SpecificCapacitance)
		args = p.kw(args, "gl", k.Gl, spec.SpecificConductance)
		args = p.kw(args, "r_axial", k.RAxial, spec.AxialResistivity)
		args = p.kw(args, "v_rest", k.VRest, spec.Voltage)
		args = p.kw(args, "cm_abs", k.CmAbs, spec.Capacitance)
		args = p.kw(args, "gl_abs", k.GlAbs, spec.Conductance)
		p.printf("    %s = %s(%s)\n", v(k.Name), class, strings.Join(args, ", "))
		for _, d := range k.DSpikes {
			if !shared[d.Name] {
				p.dspikeCall(v(k.Name)+".dspikes", d, true)
				continue
			}
			p.printf("    %s.dspikes(%s, g_rise=%s, g_fall=%s)\n", v(k.Name), pyStr(d.Name), p.q(d.GRise, spec.Conductance), p.q(d.GFall, spec.Conductance))
		}
	}
	for _, sy := range syns {
		p.printf("    %s.synapse(%s)\n", v(sy.p.Compartment), p.synapseCall(sy))
	}
	var conns []string
	for _, cn := range cell.Connections {
		t := v(cn.A) + ", " + v(cn.B)
		switch cn.Rule {
		case spec.Cylinder:
			t += ", " + pyStr("cylinder_"+cn.Cylinder)
		case spec.Explicit:
			t += ", " + p.q(cn.G, spec.Conductance)
		}
		conns = append(conns, "("+t+")")
	}
	args := []string{"[" + strings.Join(conns, ", ") + "]"}
	args = p.kw(args, "cm", cell.Cm, spec.SpecificCapacitance)
	args = p.kw(args, "gl", cell.Gl, spec.SpecificConductance)
	args = p.kw(args, "r_axial", cell.RAxial, spec.AxialResistivity)
	args = p.kw(args, "v_rest", cell.VRest, spec.Voltage)
	if cell.ScaleFactor != 0 {
		args = append(args, "scale_factor="+num(cell.ScaleFactor))
	}
	if cell.SpineFactor != 0 {
		args = append(args, "spine_factor="+num(cell.SpineFactor))
	}
	p.printf("    model = NeuronModel(%s)\n", strings.Join(args, ", "))
	for _, name := range order {
		if shared[name] {
			p.dspikeCall("model.config_dspikes", firsts[name], false)
		}
	}
	for i := range cell.Compartments {
		p.adaptParams(&cell.Compartments[i], "_"+cell.Compartments[i].Name)
	}
}

// dspikeCall writes fn(name, threshold=..., ...) for d: a dendrite's
// dspikes call with its conductances too (withG), or config_dspikes.
func (p *pyWriter) dspikeCall(fn string, d spec.DSpike, withG bool) {
	rise, fall := p.reversal(d.ERise, d.RiseConst), p.reversal(d.EFall, d.FallConst)
	g := ""
	if withG {
		g = fmt.Sprintf(" g_rise=%s, g_fall=%s,", p.q(d.GRise, spec.Conductance), p.q(d.GFall, spec.Conductance))
	}
	p.printf("    %s(%s,%s threshold=%s, duration_rise=%s, duration_fall=%s,\n", fn, pyStr(d.Name), g,
		p.q(d.Threshold, spec.Voltage), p.q(d.DurationRise, spec.Time), p.q(d.DurationFall, spec.Time))
	p.printf("        reversal_rise=%s, reversal_fall=%s, offset_fall=%s, refractory=%s)\n",
		rise, fall, p.q(d.OffsetFall, spec.Time), p.q(d.Refractory, spec.Time))
}

// reversal writes a dSpike reversal of v volts given in the spec as the
// constant named constName, or as a voltage (""). A name goes as the name,
// which Dendrify looks up in its defaults (set to CONSTANTS): as a Dendrify
// user writes it, and the one way to pass a constant of 0 V, since Dendrify
// reads a zero quantity as not given.
func (p *pyWriter) reversal(v float64, constName string) string {
	if constName != "" {
		return pyStr(constName)
	}
	return p.q(v, spec.Voltage)
}

// joinInts writes 0, 3, 5.
func joinInts(v []int) string {
	t := make([]string, len(v))
	for i, x := range v {
		t[i] = strconv.Itoa(x)
	}
	return strings.Join(t, ", ")
}
