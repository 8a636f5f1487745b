package spec

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/dendfit/dendfit/sim"
)

var (
	pathwayFields  = []string{"pre", "post", "compartment", "tag", "receptors", "target_psp", "record", "holding", "target_rise", "target_half_width", "target_time_to_peak"}
	receptorFields = []string{"channel", "g", "t_decay", "t_rise", "scale_g"}
)

// pathwayNodes keeps a parsed pathway's YAML nodes for later errors.
type pathwayNodes struct {
	m         *mapping
	receptors []*mapping
}

func (p *parser) pathways(s *Spec, top *mapping, cells map[string]*cellNodes) []*pathwayNodes {
	var out []*pathwayNodes
	n := p.require(top, "pathways")
	if n == nil {
		return nil
	}
	items := p.seq(n, "pathways")
	if p.failed() {
		return nil
	}
	if len(items) == 0 {
		p.failf(n, "pathways", "want at least one pathway")
		return nil
	}
	type synKey struct{ post, tag, comp string }
	type synUse struct {
		pathway int
		channel sim.Channel
	}
	used := map[synKey][]synUse{}
	// Each pathway is parsed on its own, so that a mistake in one does not
	// hide another's; the checks across pathways need all before it.
	failed := false
pathways:
	for i, it := range items {
		path := index("pathways", i)
		var pw Pathway
		var pn *pathwayNodes
		if p.section(func() { pw, pn = p.pathway(s, it, path) }) || failed {
			failed = true
			continue
		}
		// (tag, compartment, channel) is unique within one post population.
		key := synKey{pw.Post, pw.Tag, pw.Compartment}
		for j, r := range pw.Receptors {
			for _, u := range used[key] {
				if u.channel != r.Channel {
					continue
				}
				rn := pn.receptors[j]
				at := rn.get("channel")
				if u.pathway == i {
					p.failf(at, join(index(join(path, "receptors"), j), "channel"),
						"second %v receptor of this pathway: Dendrify has one %v synapse per tag and compartment", r.Channel, r.Channel)
				} else {
					p.failf(at, join(index(join(path, "receptors"), j), "channel"),
						"synapse %v with tag %s on %s of population %s is also made by pathways[%d] (%s); give one of them a distinct tag",
						r.Channel, pw.Tag, pw.Compartment, pw.Post, u.pathway, s.Pathways[u.pathway].Label())
				}
				failed = true
				continue pathways
			}
			used[key] = append(used[key], synUse{i, r.Channel})
		}
		s.Pathways = append(s.Pathways, pw)
		out = append(out, pn)
	}
	if failed {
		return nil
	}
	return out
}

func (p *parser) pathway(s *Spec, n *yaml.Node, path string) (Pathway, *pathwayNodes) {
	var pw Pathway
	m := p.mapping(n, path, pathwayFields)
	pn := &pathwayNodes{m: m}
	if p.failed() {
		return pw, pn
	}
	if n.Kind != yaml.MappingNode {
		p.failf(n, path, "want a mapping, got %s", describe(n))
		return pw, pn
	}
	// Each field is checked on its own: pre's mistake does not hide
	// post's, nor the receptors' (read before what builds on the post
	// population's cell).
	pop := func(f string) string {
		before := len(p.errs)
		v := p.require(m, f)
		name, ok := p.scalar(v, m.sub(f), "a population name")
		if !ok || len(p.errs) != before {
			return ""
		}
		if s.PopulationCell(name) == "" {
			p.failf(v, m.sub(f), "unknown population %q (populations: %s)", name, strings.Join(popNames(s), ", "))
		}
		return name
	}
	pw.Pre = pop("pre")
	pw.Post = pop("post")
	p.receptors(&pw, pn, m)
	if p.failed() {
		// The holding and targets build on neither the post cell nor the
		// receptors: their mistakes are listed with those (a trial mended
		// a misspelt channel, then met a unitless target_psp).
		p.targets(&pw, m)
		return pw, pn
	}
	cell := s.CellByName(s.PopulationCell(pw.Post))
	comp := func(f string) string {
		before := len(p.errs)
		v := m.get(f)
		name, ok := p.scalar(v, m.sub(f), "a compartment name")
		if !ok || len(p.errs) != before {
			return ""
		}
		if cell.CompartmentIndex(name) < 0 {
			var names []string
			for _, k := range cell.Compartments {
				names = append(names, k.Name)
			}
			p.failf(v, m.sub(f), "unknown compartment %q in cell %s of population %s (compartments: %s)", name, cell.Name, pw.Post, strings.Join(names, ", "))
		}
		return name
	}
	p.require(m, "compartment")
	pw.Compartment = comp("compartment")
	pw.Tag = pw.Pre
	if v := m.get("tag"); v != nil {
		pw.Tag = p.ident(v, m.sub("tag"), "tag")
	}
	if m.has("record") {
		pw.Record = comp("record")
	} else if !p.failed() {
		var somas []string
		for _, k := range cell.Compartments {
			if k.Type == Soma {
				somas = append(somas, k.Name)
			}
		}
		switch len(somas) {
		case 1:
			pw.Record = somas[0]
		case 0:
			p.failf(m.node, m.sub("record"), "cell %s has no soma: give record", cell.Name)
		default:
			p.failf(m.node, m.sub("record"), "cell %s has several somas (%s): give record", cell.Name, strings.Join(somas, ", "))
		}
	}
	p.targets(&pw, m)
	// A measure the window after the spike cannot hold cannot be fitted:
	// the search would stop at the window's edge and call that converged.
	// (A target that failed to parse is 0, and meets neither rule.)
	if window := s.Simulation.Duration - s.Simulation.SpikeAt; window > 0 {
		for _, t := range []struct {
			key string
			v   float64
		}{{"target_rise", pw.TargetRise}, {"target_half_width", pw.TargetHalfWidth}, {"target_time_to_peak", pw.TargetTimeToPeak}} {
			if t.v >= window*(1-1e-9) { // 100 ms - 10 ms is 90.00000000000001 ms
				v, w := distinctMS(t.v, window)
				if e := p.fitRule(m.get(t.key), m.sub(t.key), "%s ms does not fit in the %s ms the simulation runs after the spike: lengthen simulation.duration", v, w); e != nil {
					pw.FitErrors = append(pw.FitErrors, e)
				}
			}
		}
	}
	// The spike's step updates V before the synapse gets its spike, so V
	// first moves at the second sample after it: no PSP peaks sooner.
	if tp, dt := pw.TargetTimeToPeak, s.Simulation.Dt; tp > 0 && tp < 2*dt*(1-1e-9) {
		v, two := distinctMS(tp, 2*dt)
		if e := p.fitRule(m.get("target_time_to_peak"), m.sub("target_time_to_peak"), "%s ms is shorter than two steps (%s ms at dt %.6g ms): no PSP peaks sooner, as V first moves at the second sample after the spike", v, two, dt/1e-3); e != nil {
			pw.FitErrors = append(pw.FitErrors, e)
		}
	}
	// The 10-90 % rise ends at or before the peak: a rise target at or
	// beyond the time to peak meets no PSP, and the search would run to
	// its limit of candidates.
	if r, tp := pw.TargetRise, pw.TargetTimeToPeak; r > 0 && tp > 0 && r >= tp {
		if e := p.fitRule(m.get("target_rise"), m.sub("target_rise"), "%.6g ms is not shorter than target_time_to_peak (%.6g ms): a PSP's 10-90 %% rise ends before its peak, so no PSP meets both", r/1e-3, tp/1e-3); e != nil {
			pw.FitErrors = append(pw.FitErrors, e)
		}
	}

	// The kinetics fit frees the first receptor's t_decay, and its t_rise
	// when it has one: one target for two time constants is met by a
	// whole curve of pairs, and the fit returns whichever its start and
	// method lead to.
	var targets []string
	for _, k := range []string{"target_rise", "target_half_width", "target_time_to_peak"} {
		if m.get(k) != nil {
			targets = append(targets, k)
		}
	}
	if len(targets) == 1 && pw.Receptors[0].TauRise > 0 {
		p.warnf(m.get(targets[0]), m.sub(targets[0]), "one kinetics target for two time constants (the first receptor's t_decay and t_rise): many pairs meet it, and the fit returns one that depends on its start and the method; give a second target, or drop t_rise")
	}
	return pw, pn
}

// targets reads a pathway's holding and target fields, which need
// nothing else of it.
func (p *parser) targets(pw *Pathway, m *mapping) {
	if v := m.get("holding"); v != nil {
		pw.Hold = true
		pw.Holding = p.quantity(v, m.sub("holding"), Voltage)
		if p.plausiblePotential(v, m.sub("holding"), pw.Holding) && pw.Holding > 0 && !p.failed() {
			// Paired recordings hold below rest or near it: a positive
			// holding is most often a lost minus sign.
			p.warnf(v, m.sub("holding"), "holding at %+g mV, above 0 mV; did you mean %g mV?", pw.Holding/1e-3, -pw.Holding/1e-3)
		}
	}
	if v := m.get("target_psp"); v != nil {
		// A hyperpolarising target is written as its magnitude: the sign
		// is the receptors'.
		if q, err := ParseQuantity(v.Value, Voltage); err == nil && q < 0 && v.Kind == yaml.ScalarNode {
			p.failf(v, m.sub("target_psp"), "give the amplitude, %g mV: a target is |PSP|, the sign comes from the receptors (an IPSP's is negative)", -q/1e-3)
		}
		pw.TargetPSP = p.positive(v, m.sub("target_psp"), Voltage)
		if !p.failed() && (pw.TargetPSP < 1e-6 || pw.TargetPSP > 0.1) {
			// Paired recordings report PSPs of tens of uV to tens of mV.
			p.warnf(v, m.sub("target_psp"), "a PSP of %.6g mV is outside what one synaptic connection gives (1 uV to 100 mV); check the unit", pw.TargetPSP/1e-3)
		}
	}
	if v := m.get("target_rise"); v != nil {
		pw.TargetRise = p.positive(v, m.sub("target_rise"), Time)
	}
	if v := m.get("target_half_width"); v != nil {
		pw.TargetHalfWidth = p.positive(v, m.sub("target_half_width"), Time)
	}
	if v := m.get("target_time_to_peak"); v != nil {
		pw.TargetTimeToPeak = p.positive(v, m.sub("target_time_to_peak"), Time)
	}
	for _, k := range []string{"target_rise", "target_half_width", "target_time_to_peak"} {
		if v := m.get(k); v != nil && m.get("target_psp") == nil {
			p.failf(v, m.sub(k), "kinetics targets are fitted together with the amplitude: give target_psp too")
		}
	}
}

// receptors reads a pathway's receptors into pw and pn, each on its own:
// a mistake in one does not hide another's.
func (p *parser) receptors(pw *Pathway, pn *pathwayNodes, m *mapping) {
	rpath := m.sub("receptors")
	var items []*yaml.Node
	if p.section(func() { items = p.seq(p.require(m, "receptors"), rpath) }) {
		return
	}
	if len(items) == 0 {
		p.failf(m.get("receptors"), rpath, "want at least one receptor")
		return
	}
	for i, it := range items {
		var r Receptor
		var rm *mapping
		if p.section(func() { r, rm = p.receptor(it, index(rpath, i)) }) {
			continue
		}
		pw.Receptors = append(pw.Receptors, r)
		pn.receptors = append(pn.receptors, rm)
	}
}

func (p *parser) receptor(n *yaml.Node, path string) (Receptor, *mapping) {
	var r Receptor
	m := p.mapping(n, path, receptorFields)
	if p.failed() {
		return r, m
	}
	if n.Kind != yaml.MappingNode {
		p.failf(n, path, "want a mapping, got %s", describe(n))
		return r, m
	}
	if v := p.require(m, "channel"); v != nil {
		if s, ok := p.scalar(v, m.sub("channel"), "AMPA, NMDA or GABA"); ok {
			ch, err := sim.ParseChannel(s)
			if err != nil {
				p.failf(v, m.sub("channel"), "%v", err)
			}
			r.Channel = ch
		}
	}
	r.G = p.positive(p.require(m, "g"), m.sub("g"), Conductance)
	before := len(p.errs)
	r.TauDecay = p.positive(p.require(m, "t_decay"), m.sub("t_decay"), Time)
	if len(p.errs) == before {
		p.synapticTau(m.get("t_decay"), m.sub("t_decay"), r.TauDecay)
	}
	if v := m.get("t_rise"); v != nil {
		// Dendrify reads an exact zero as no t_rise (an instant rise, and
		// no scale_g normalisation), as it reads one of v_rest or g; unlike
		// those, a zero rise time means just that, so it is taken, not
		// refused.
		before := len(p.errs)
		if d := p.quantity(v, m.sub("t_rise"), Time); d == 0 && len(p.errs) == before {
			p.warnf(v, m.sub("t_rise"), "t_rise %s: Dendrify reads an exact zero as no t_rise, so the conductance rises at once (as without t_rise)", v.Value)
		} else if r.TauRise = p.positive(v, m.sub("t_rise"), Time); len(p.errs) == before {
			p.synapticTau(v, m.sub("t_rise"), r.TauRise)
		}
	}
	if v := m.get("scale_g"); v != nil {
		r.ScaleG = p.boolean(v, m.sub("scale_g"))
	}
	if p.failed() {
		return r, m
	}
	if r.ScaleG && r.TauRise == 0 {
		p.warnf(m.get("scale_g"), m.sub("scale_g"), "scale_g changes nothing without t_rise")
	}
	if r.TauRise > r.TauDecay {
		// The conductance is a difference of the two exponentials: the
		// slower one sets its decay, whichever name it has.
		p.warnf(m.get("t_rise"), m.sub("t_rise"), "t_rise (%g ms) is longer than t_decay (%g ms): the conductance then rises with t_decay and decays with t_rise; did you swap them?", r.TauRise/1e-3, r.TauDecay/1e-3)
	}
	if r.ScaleG && r.TauRise == r.TauDecay {
		p.failf(m.get("t_rise"), m.sub("t_rise"), "t_rise equal to t_decay with scale_g: Dendrify's normalisation divides by zero")
	} else if g := r.EffectiveG(); !(g > 0) || math.IsInf(g, 0) {
		p.failf(m.get("t_rise"), m.sub("t_rise"), "scale_g gives a non-finite conductance (%g S) for these t_rise and t_decay", g)
	}
	return r, m
}

func (p *parser) sweep(s *Spec, n *yaml.Node, pn []*pathwayNodes) {
	if n == nil {
		return
	}
	m := p.mapping(n, "sweep", []string{"g", "t_decay", "t_rise"})
	if v := m.get("g"); v != nil {
		s.Sweep.G = p.axis(v, "sweep.g", Conductance)
	}
	if v := m.get("t_decay"); v != nil {
		s.Sweep.TDecay = p.axis(v, "sweep.t_decay", Time)
	}
	if v := m.get("t_rise"); v != nil {
		s.Sweep.TRise = p.axis(v, "sweep.t_rise", Time)
	}
	if p.failed() {
		return
	}
	// Counted in float64: each axis may have 10^7 values, and their
	// product over the pathways would overflow an int.
	total := float64(max(len(s.Pathways), 1))
	for _, a := range []Axis{s.Sweep.G, s.Sweep.TDecay, s.Sweep.TRise} {
		total *= float64(max(a.Len(), 1))
	}
	if total > maxGridPoints {
		p.failf(n, "sweep", "the grid has %.4g points, counting every pathway, more than %g: sweep fewer values, or split the spec", total, float64(maxGridPoints))
		return
	}
	if s.Sweep.TRise.Given() {
		// Every such pathway at once: one error at the axis.
		var bad []string
		for i, pw := range s.Pathways {
			if pw.Receptors[0].TauRise == 0 {
				bad = append(bad, fmt.Sprintf("pathways[%d] (%s)", i, pw.Label()))
			}
		}
		switch {
		case len(bad) == 1:
			p.failf(m.get("t_rise"), "sweep.t_rise", "%s: its first receptor has no t_rise, so a t_rise axis cannot apply to it", bad[0])
			return
		case len(bad) > 1:
			p.failf(m.get("t_rise"), "sweep.t_rise", "%s: their first receptors have no t_rise, so a t_rise axis cannot apply to them", strings.Join(bad, ", "))
			return
		}
	}
	p.sweptKineticsSwapped(s, m)
	// scale_g with t_rise == t_decay anywhere on the grid.
	for i, pw := range s.Pathways {
		r := pw.Receptors[0]
		if !r.ScaleG || r.TauRise == 0 || !(s.Sweep.TDecay.Given() || s.Sweep.TRise.Given()) {
			continue
		}
		tds, trs := sweptKinetics(s, r)
		rise := map[float64]bool{}
		for _, tr := range trs {
			rise[tr] = true
		}
		for _, td := range tds {
			if rise[td] {
				at, path := m.get("t_decay"), "sweep.t_decay"
				if at == nil {
					at, path = m.get("t_rise"), "sweep.t_rise"
				}
				p.failf(at, path, "pathways[%d] (%s) would get t_rise equal to t_decay (%g ms) with scale_g: Dendrify's normalisation divides by zero", i, pw.Label(), td/1e-3)
				return
			}
		}
	}
}

// sweptKinetics returns the t_decay and t_rise values the grid gives
// receptor r (a pathway's first): the sweep's axes where given, else r's
// own.
func sweptKinetics(s *Spec, r Receptor) (tds, trs []float64) {
	tds, trs = []float64{r.TauDecay}, []float64{r.TauRise}
	if s.Sweep.TDecay.Given() {
		tds = s.Sweep.TDecay.Values()
	}
	if s.Sweep.TRise.Given() {
		trs = s.Sweep.TRise.Values()
	}
	return tds, trs
}

// sweptKineticsSwapped warns, for the first pathway that has one, of the
// grid points whose t_rise is longer than their t_decay, as for a
// receptor written so: the sweep's axes make them where no receptor
// does.
func (p *parser) sweptKineticsSwapped(s *Spec, m *mapping) {
	if !s.Sweep.TDecay.Given() && !s.Sweep.TRise.Given() {
		return
	}
	// One warning: the first pathway in detail, the others by index.
	var msg string
	var others []string
	for i, pw := range s.Pathways {
		r := pw.Receptors[0]
		if r.TauRise == 0 {
			continue
		}
		tds, trs := sweptKinetics(s, r)
		n, td, tr := longerRise(tds, trs)
		if n == 0 {
			continue
		}
		if msg != "" {
			others = append(others, strconv.Itoa(i))
			continue
		}
		have := "have"
		if n == 1 {
			have = "has"
		}
		msg = fmt.Sprintf("pathways[%d] (%s): %d of its %d (t_decay, t_rise) pairs %s t_rise longer than t_decay (such as %g ms and %g ms)",
			i, pw.Label(), n, len(tds)*len(trs), have, td/1e-3, tr/1e-3)
	}
	if msg == "" {
		return
	}
	switch len(others) {
	case 0:
	case 1:
		msg += "; so has pathway " + others[0]
	default:
		msg += "; so have pathways " + strings.Join(others, ", ")
	}
	at, path := m.get("t_rise"), "sweep.t_rise"
	if at == nil {
		at, path = m.get("t_decay"), "sweep.t_decay"
	}
	p.warnf(at, path, "%s: the conductance then rises with t_decay and decays with t_rise", msg)
}

// longerRise counts the pairs of tds x trs whose rise is longer than
// their decay, and returns one of them (the shortest decay with its
// longest rise). Sorting keeps it n log n for axes of millions.
func longerRise(tds, trs []float64) (n int, td, tr float64) {
	trs = slices.Clone(trs)
	slices.Sort(trs)
	for _, d := range tds {
		// trs[k:] are the rises longer than d.
		k, _ := slices.BinarySearch(trs, math.Nextafter(d, math.Inf(1)))
		if m := len(trs) - k; m > 0 {
			if n == 0 || d < td {
				td, tr = d, trs[len(trs)-1]
			}
			n += m
		}
	}
	return n, td, tr
}

// axis parses a list of quantities or {from, to, steps, scale}.
func (p *parser) axis(n *yaml.Node, path string, d Dimension) Axis {
	var a Axis
	// The axis's own errors (the sweep's other axes are checked too).
	mark := len(p.errs)
	failed := func() bool { return len(p.errs) != mark }
	if n.Kind == yaml.SequenceNode {
		items := p.seq(n, path)
		if len(items) == 0 {
			p.failf(n, path, "want at least one value")
			return a
		}
		a.List = make([]float64, 0, len(items))
		first := map[float64]int{}
		for i, it := range items {
			before := len(p.errs)
			v := p.positive(it, index(path, i), d)
			if d == Time && len(p.errs) == before {
				p.synapticTau(it, index(path, i), v)
			}
			if j, dup := first[v]; dup && len(p.errs) == before {
				p.warnf(it, index(path, i), "the same value as %s: every point there is swept twice", index(path, j))
			} else {
				first[v] = i
			}
			a.List = append(a.List, v)
		}
		return a
	}
	if n.Kind != yaml.MappingNode {
		p.failf(n, path, "want a list of %v values or {from, to, steps, scale}, got %s", d, describe(n))
		return a
	}
	m := p.mapping(n, path, []string{"from", "to", "steps", "scale"})
	if failed() {
		// An unknown or repeated key ends the reading of the mapping:
		// the keys after it would read as missing.
		return Axis{}
	}
	a.From = p.positive(p.require(m, "from"), m.sub("from"), d)
	a.To = p.positive(p.require(m, "to"), m.sub("to"), d)
	sn := p.require(m, "steps")
	before := len(p.errs)
	steps := p.integer(sn, m.sub("steps"))
	if sn != nil && len(p.errs) == before && (steps < 1 || steps > maxAxisSteps) {
		p.failf(sn, m.sub("steps"), "want 1 to %d steps, got %d", maxAxisSteps, steps)
	}
	if v := m.get("scale"); v != nil {
		a.Log = p.oneOf(v, m.sub("scale"), "linear", "log") == "log"
	}
	if failed() {
		return Axis{}
	}
	if d == Time {
		p.synapticTau(m.get("from"), m.sub("from"), a.From)
		p.synapticTau(m.get("to"), m.sub("to"), a.To)
	}
	if steps == 1 && a.From != a.To {
		p.warnf(sn, m.sub("steps"), "one step sweeps from only (%s); to is unused", m.get("from").Value)
	}
	if steps > 1 && a.From == a.To {
		p.warnf(sn, m.sub("steps"), "from and to are the same value (%s): all %d steps sweep it, every point %d times", m.get("from").Value, steps, steps)
	}
	a.Steps = steps
	a.Prepare()
	if i, v, bad := a.firstBad(); bad {
		p.failf(n, path, "value %d (%g) is not positive and finite", i, v)
		return Axis{}
	}
	return a
}

// maxSynapticTau bounds the time constants of the synapses dendfit
// calibrates: NMDA's decay is about 100 ms and GABA_B's a few hundred. One
// above is most likely in s for ms (a trial's "t_decay: 8 s" fitted, as
// converged, a PSP that lasted tens of seconds).
const maxSynapticTau = 1.0

// synapticTau warns of a receptor time constant (s) above maxSynapticTau,
// with the value the unit most likely meant.
func (p *parser) synapticTau(n *yaml.Node, path string, v float64) {
	if n == nil || v <= maxSynapticTau {
		return
	}
	hint := ""
	if unitOf(n.Value) == "s" && v <= 1000 {
		hint = fmt.Sprintf("; did you mean %.6g ms?", v)
	}
	p.warnf(n, path, "%q is %.6g ms, longer than any synaptic time constant (NMDA's decay is about 100 ms, GABA_B's a few hundred)%s", n.Value, v/1e-3, hint)
}

// firstBad returns the first value of a range a that is not positive and
// finite. Between ends of 10^-290 to 10^290 none can be (a value lies
// between the ends but for rounding, and a log range's ratio of ends that
// overflows is taken through their logarithms), so only the ends are
// tried there, and every value of ranges beyond.
func (a Axis) firstBad() (i int, v float64, bad bool) {
	ok := func(v float64) bool { return v > 0 && !math.IsInf(v, 0) }
	lo, hi := min(a.From, a.To), max(a.From, a.To)
	if lo >= 1e-290 && hi <= 1e290 {
		for _, i := range []int{0, a.Steps - 1} {
			if v := a.Value(i); !ok(v) {
				return i, v, true
			}
		}
		return 0, 0, false
	}
	for i, v := range a.Values() {
		if !ok(v) {
			return i, v, true
		}
	}
	return 0, 0, false
}

// distinctMS writes times a and b (s) in ms with 6 significant digits, or
// as many more as tell them apart, up to 10 (the rules compare to 1e-9,
// below which a difference is the arithmetic's, as 100 ms - 10 ms is
// 90.00000000000001 ms): a message comparing them must not say "90 ms
// does not fit in the 90 ms" of 90.0000001 ms.
func distinctMS(a, b float64) (string, string) {
	for prec := 6; ; prec++ {
		sa, sb := strconv.FormatFloat(a/1e-3, 'g', prec, 64), strconv.FormatFloat(b/1e-3, 'g', prec, 64)
		if sa != sb || prec >= 10 {
			return sa, sb
		}
	}
}
