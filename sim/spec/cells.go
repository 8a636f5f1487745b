package spec

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/dendfit/dendfit/sim"
)

// cellNodes keeps a parsed cell's YAML nodes for later errors.
type cellNodes struct {
	m     *mapping
	comps []*mapping
	conns []*yaml.Node
}

var (
	cellFields = []string{"v_rest", "cm", "gl", "r_axial", "scale_factor", "spine_factor", "compartments", "connections"}
	compFields = []string{"name", "type", "model", "length", "diameter", "cm", "gl", "r_axial", "v_rest", "cm_abs", "gl_abs", "params", "dspikes"}
	dspFields  = []string{"name", "threshold", "g_rise", "g_fall", "duration_rise", "duration_fall", "offset_fall", "refractory", "reversal_rise", "reversal_fall"}
	// dimensional fields, which a dimensionless compartment must not have.
	dimFields   = []string{"length", "diameter", "cm", "gl", "r_axial"}
	modelParams = map[sim.Kind][]string{
		sim.AdaptiveIF: {"a", "tauw"},
		sim.AdEx:       {"a", "tauw", "DeltaT", "Vth"},
	}
	reversalConstants = []string{"E_Na", "E_K", "E_Ca", "E_AMPA", "E_NMDA", "E_GABA"}
)

func (p *parser) cells(s *Spec, top *mapping) map[string]*cellNodes {
	out := map[string]*cellNodes{}
	n := p.require(top, "cells")
	if n == nil {
		return out
	}
	m := p.mapping(n, "cells", nil)
	if !p.failed() && len(m.order) == 0 {
		p.failf(n, "cells", "want at least one cell")
	}
	if p.failed() {
		return out
	}
	// Each cell on its own: a mistake in one does not hide another's.
	for _, k := range m.order {
		path := m.sub(k)
		var name string
		var c Cell
		var cn *cellNodes
		if p.section(func() {
			name = p.identKey(m.keys[k], path, "cell name")
			c, cn = p.cell(s, name, m.vals[k], path)
		}) {
			continue
		}
		s.Cells = append(s.Cells, c)
		out[name] = cn
	}
	return out
}

func (p *parser) cell(s *Spec, name string, n *yaml.Node, path string) (Cell, *cellNodes) {
	c := Cell{Name: name}
	m := p.mapping(n, path, cellFields)
	cn := &cellNodes{m: m}
	if p.failed() {
		return c, cn
	}
	if v := m.get("v_rest"); v != nil {
		c.VRest = p.nonzero(v, m.sub("v_rest"), Voltage)
		p.plausiblePotential(v, m.sub("v_rest"), c.VRest)
	}
	if v := m.get("cm"); v != nil {
		c.Cm = p.positive(v, m.sub("cm"), SpecificCapacitance)
	}
	if v := m.get("gl"); v != nil {
		c.Gl = p.positive(v, m.sub("gl"), SpecificConductance)
	}
	if v := m.get("r_axial"); v != nil {
		c.RAxial = p.positive(v, m.sub("r_axial"), AxialResistivity)
	}
	for _, f := range []string{"scale_factor", "spine_factor"} {
		v := m.get(f)
		if v == nil {
			continue
		}
		before := len(p.errs)
		x := p.number(v, m.sub(f))
		if len(p.errs) == before && !(x > 0) {
			p.failf(v, m.sub(f), "must be positive, got %s", describe(v))
		}
		if f == "scale_factor" {
			c.ScaleFactor = x
		} else {
			c.SpineFactor = x
		}
	}
	// The compartments are read whatever the cell's own fields gave, and
	// each on its own: a mistake in one does not hide another's.
	var items []*yaml.Node
	if p.section(func() { items = p.seq(p.require(m, "compartments"), m.sub("compartments")) }) {
		return c, cn
	}
	if len(items) == 0 {
		p.failf(m.get("compartments"), m.sub("compartments"), "want at least one compartment")
		return c, cn
	}
	seen := map[string]int{}
	for i, it := range items {
		ipath := index(m.sub("compartments"), i)
		var k Compartment
		var km *mapping
		if p.section(func() { k, km = p.compartment(s, it, ipath) }) {
			continue
		}
		if j, dup := seen[k.Name]; dup {
			p.failf(km.get("name"), join(ipath, "name"), "duplicate compartment name %q (also compartments[%d])", k.Name, j)
			return c, cn
		}
		seen[k.Name] = i
		if k.Name == "ext" && len(items) > 1 {
			// Dendrify names the coupling current from compartment X into
			// its neighbour N I_X_N, and N's own input current is I_ext_N:
			// Brian refuses the duplicate definition.
			p.failf(km.get("name"), join(ipath, "name"), "compartment name %q: Dendrify would name the coupling current from it I_ext_<neighbour>, the neighbour's own external current; choose another name", k.Name)
			return c, cn
		}
		c.Compartments = append(c.Compartments, k)
		cn.comps = append(cn.comps, km)
	}
	if len(items) == 1 {
		// The cell's own fields a point cell refuses need only the
		// count: said with its compartment's mistakes, not after them.
		p.pointCellFields(cn.m)
	}
	if p.failed() {
		return c, cn
	}
	p.cellRules(&c, cn)
	if p.failed() {
		return c, cn
	}
	p.connections(&c, cn)
	if p.failed() {
		return c, cn
	}
	if !p.constantsFailed {
		p.dspikeReversals(&c, cn)
	}
	if p.failed() {
		return c, cn
	}
	if _, err := c.Build(); err != nil {
		p.failf(m.node, path, "%s", strings.TrimPrefix(err.Error(), "spec: "))
	}
	return c, cn
}

func (p *parser) compartment(s *Spec, n *yaml.Node, path string) (Compartment, *mapping) {
	var k Compartment
	m := p.mapping(n, path, compFields)
	if p.failed() {
		return k, m
	}
	if n.Kind != yaml.MappingNode {
		p.failf(n, path, "want a mapping, got %s", describe(n))
		return k, m
	}
	k.Name = p.ident(p.require(m, "name"), m.sub("name"), "compartment name")
	typed := false // the type is known: what depends on it can be checked
	switch p.oneOf(p.require(m, "type"), m.sub("type"), "soma", "dendrite") {
	case "soma":
		k.Type, k.Model, typed = Soma, sim.LeakyIF, true
	case "dendrite":
		k.Type, k.Model, typed = Dendrite, sim.Passive, true
	}
	if v := m.get("model"); v != nil {
		switch p.oneOf(v, m.sub("model"), "passive", "leakyIF", "adaptiveIF", "adex") {
		case "passive":
			k.Model = sim.Passive
		case "leakyIF":
			k.Model = sim.LeakyIF
		case "adaptiveIF":
			k.Model = sim.AdaptiveIF
		case "adex":
			k.Model = sim.AdEx
		}
	}
	pos := func(f string, d Dimension) float64 {
		if v := m.get(f); v != nil {
			return p.positive(v, m.sub(f), d)
		}
		return 0
	}
	k.Length = pos("length", Length)
	k.Diameter = pos("diameter", Length)
	k.Cm = pos("cm", SpecificCapacitance)
	k.Gl = pos("gl", SpecificConductance)
	k.RAxial = pos("r_axial", AxialResistivity)
	k.CmAbs = pos("cm_abs", Capacitance)
	k.GlAbs = pos("gl_abs", Conductance)
	if v := m.get("v_rest"); v != nil {
		k.VRest = p.nonzero(v, m.sub("v_rest"), Voltage)
		p.plausiblePotential(v, m.sub("v_rest"), k.VRest)
	}
	p.params(&k, m)
	if v := m.get("dspikes"); v != nil && typed {
		if k.Type != Dendrite {
			p.failf(m.keys["dspikes"], m.sub("dspikes"), "dspikes are for dendrites only")
			return k, m
		}
		seen := map[string]int{}
		for i, it := range p.seq(v, m.sub("dspikes")) {
			dpath := index(m.sub("dspikes"), i)
			d, dm := p.dspike(s, it, dpath)
			if p.failed() {
				return k, m
			}
			if j, dup := seen[d.Name]; dup {
				p.failf(dm.get("name"), join(dpath, "name"), "duplicate dspike name %q (also dspikes[%d])", d.Name, j)
				return k, m
			}
			seen[d.Name] = i
			k.DSpikes = append(k.DSpikes, d)
		}
	}
	return k, m
}

func (p *parser) params(k *Compartment, m *mapping) {
	if p.failed() {
		return
	}
	want := modelParams[k.Model]
	pn := m.get("params")
	path := m.sub("params")
	pm := p.mapping(pn, path, nil)
	if p.failed() {
		return
	}
	if want == nil {
		if len(pm.order) > 0 {
			p.failf(pm.keys[pm.order[0]], pm.sub(pm.order[0]), "model %v takes no params", k.Model)
		}
		return
	}
	for _, key := range pm.order {
		if !contains(want, key) {
			p.failf(pm.keys[key], pm.sub(key), "unknown parameter for model %v (want %s)", k.Model, strings.Join(want, ", "))
			return
		}
	}
	for _, key := range want {
		v := pm.get(key)
		if v == nil {
			at := pn
			if at == nil {
				at = m.node
			}
			p.failf(at, join(path, key), "missing: model %v needs params %s", k.Model, strings.Join(want, ", "))
			return
		}
		kp := pm.sub(key)
		switch key {
		case "a":
			k.A = p.capped(v, kp, Conductance, p.quantity(v, kp, Conductance))
		case "tauw":
			k.TauW = p.positive(v, kp, Time)
		case "DeltaT":
			k.DeltaT = p.positive(v, kp, Voltage)
			p.plausibleSlope(v, kp, k.DeltaT)
		case "Vth":
			k.VT = p.potential(v, kp)
		}
	}
}

func (p *parser) dspike(s *Spec, n *yaml.Node, path string) (DSpike, *mapping) {
	var d DSpike
	m := p.mapping(n, path, dspFields)
	if p.failed() {
		return d, m
	}
	if n.Kind != yaml.MappingNode {
		p.failf(n, path, "want a mapping, got %s", describe(n))
		return d, m
	}
	d.Name = p.ident(p.require(m, "name"), m.sub("name"), "dspike name")
	d.Threshold = p.potential(p.require(m, "threshold"), m.sub("threshold"))
	// Dendrify stores a dSpike's conductances as given (no "not given"
	// test, unlike its durations): a zero one is a mechanism without that
	// current.
	d.GRise = p.nonNegative(p.require(m, "g_rise"), m.sub("g_rise"), Conductance)
	d.GFall = p.nonNegative(p.require(m, "g_fall"), m.sub("g_fall"), Conductance)
	d.DurationRise = p.positive(p.require(m, "duration_rise"), m.sub("duration_rise"), Time)
	d.DurationFall = p.positive(p.require(m, "duration_fall"), m.sub("duration_fall"), Time)
	d.OffsetFall = p.positive(p.require(m, "offset_fall"), m.sub("offset_fall"), Time)
	d.Refractory = p.positive(p.require(m, "refractory"), m.sub("refractory"), Time)
	d.ERise, d.RiseConst = p.reversalValue(s, p.require(m, "reversal_rise"), m.sub("reversal_rise"))
	d.EFall, d.FallConst = p.reversalValue(s, p.require(m, "reversal_fall"), m.sub("reversal_fall"))
	return d, m
}

// reversalValue parses a constant's name or a voltage.
func (p *parser) reversalValue(s *Spec, n *yaml.Node, path string) (float64, string) {
	if n == nil {
		return 0, ""
	}
	if n.Kind == yaml.ScalarNode {
		if v, ok := s.reversal(n.Value); ok {
			return v, n.Value
		}
		if strings.HasPrefix(n.Value, "E_") {
			p.failf(n, path, "unknown constant %q (want one of %s, or a voltage)", n.Value, strings.Join(reversalConstants, ", "))
			return 0, ""
		}
	}
	v := p.potential(n, path)
	if p.failed() {
		return 0, ""
	}
	if v == 0 {
		p.failf(n, path, "must not be zero: Dendrify treats an exact zero as not given (use a constant such as E_AMPA)")
	}
	return v, ""
}

// pointCellFields refuses the cell-level fields of m, a one-compartment
// cell's, that PointNeuronModel does not take, and says whether it did.
func (p *parser) pointCellFields(m *mapping) bool {
	for _, f := range []string{"r_axial", "scale_factor", "spine_factor"} {
		if m.has(f) {
			p.failf(m.keys[f], m.sub(f), "a one-compartment cell (a PointNeuronModel) takes no %s", f)
			return true
		}
	}
	return false
}

// cellRules checks the compartments against each other and the cell-level
// options, as NeuronModel and PointNeuronModel do.
func (p *parser) cellRules(c *Cell, cn *cellNodes) {
	m := cn.m
	if c.point() {
		if p.pointCellFields(m) {
			return
		}
		km := cn.comps[0]
		if km.has("r_axial") {
			p.failf(km.keys["r_axial"], km.sub("r_axial"), "a one-compartment cell (a PointNeuronModel) takes no r_axial")
			return
		}
		if km.has("dspikes") && len(c.Compartments[0].DSpikes) > 0 {
			p.failf(km.keys["dspikes"], km.sub("dspikes"), "a one-compartment cell (a PointNeuronModel) takes no dspikes")
			return
		}
		if v := m.get("connections"); v != nil && !(v.Kind == yaml.SequenceNode && len(v.Content) == 0) {
			p.failf(m.keys["connections"], m.sub("connections"), "a one-compartment cell takes no connections")
			return
		}
	}
	for i := range c.Compartments {
		k, km := &c.Compartments[i], cn.comps[i]
		if !k.Dimensionless() {
			continue
		}
		for _, f := range dimFields {
			if km.has(f) {
				p.failf(km.keys[f], km.sub(f), "a dimensionless compartment (cm_abs, gl_abs) takes no %s (Dendrify: give either length, diameter, cm, gl, r_axial or cm_abs, gl_abs)", f)
				return
			}
		}
	}
	first := c.Compartments[0].Dimensionless()
	for i := range c.Compartments {
		if c.Compartments[i].Dimensionless() != first {
			kind := func(d bool) string {
				if d {
					return "dimensionless (cm_abs, gl_abs)"
				}
				return "dimensional (length, diameter, cm, gl)"
			}
			p.failf(cn.comps[i].node, cn.comps[i].path, "cell mixes dimensionless and dimensional compartments: %s is %s but %s is %s",
				c.Compartments[i].Name, kind(!first), c.Compartments[0].Name, kind(first))
			return
		}
	}
	if first {
		fields := []string{"cm", "gl", "r_axial", "scale_factor", "spine_factor"}
		if c.point() {
			fields = []string{"cm", "gl"}
		}
		for _, f := range fields {
			if m.has(f) {
				p.failf(m.keys[f], m.sub(f), "the dimensionless compartment %s cannot take a cell-level %s", c.Compartments[0].Name, f)
				return
			}
		}
	}
	for i := range c.Compartments {
		k, km := &c.Compartments[i], cn.comps[i]
		r := c.resolve(i)
		var missing []string
		if r.dimensionless {
			if r.cmAbs == 0 {
				missing = append(missing, "cm_abs")
			}
			if r.glAbs == 0 {
				missing = append(missing, "gl_abs")
			}
		} else {
			for _, f := range []struct {
				name string
				v    float64
			}{{"length", r.length}, {"diameter", r.diameter}, {"cm", r.cm}, {"gl", r.gl}} {
				if f.v == 0 {
					missing = append(missing, f.name)
				}
			}
		}
		if len(missing) > 0 {
			how := "give length, diameter, cm and gl (cm, gl may be cell-level), or cm_abs and gl_abs"
			p.failf(km.node, km.path, "compartment %s is missing %s: %s", k.Name, strings.Join(missing, ", "), how)
			return
		}
		if r.vRest == 0 {
			p.failf(km.node, km.path, "compartment %s has no v_rest (give it here or at the cell level): Dendrify cannot resolve EL", k.Name)
			return
		}
	}
}

// connections parses and checks the cell's connections and that they join
// every compartment.
func (p *parser) connections(c *Cell, cn *cellNodes) {
	m := cn.m
	path := m.sub("connections")
	items := p.seq(m.get("connections"), path)
	if p.failed() {
		return
	}
	seen := map[pair]int{}
	// Each connection on its own: a mistake in one does not hide
	// another's; the graph is checked once they are all right.
	failed := false
	for i, it := range items {
		ipath := index(path, i)
		cn.conns = append(cn.conns, it)
		failed = p.section(func() { p.connection(c, it, ipath, i, seen) }) || failed
	}
	if failed {
		return
	}
	if len(c.Compartments) < 2 {
		return
	}
	// Connectivity: every compartment must be reachable from the first.
	adj := map[string][]string{}
	for _, cn := range c.Connections {
		adj[cn.A] = append(adj[cn.A], cn.B)
		adj[cn.B] = append(adj[cn.B], cn.A)
	}
	reached := map[string]bool{c.Compartments[0].Name: true}
	stack := []string{c.Compartments[0].Name}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, y := range adj[x] {
			if !reached[y] {
				reached[y] = true
				stack = append(stack, y)
			}
		}
	}
	for i, k := range c.Compartments {
		if !reached[k.Name] {
			at := m.get("connections")
			if at == nil {
				at = m.node
			}
			_ = i
			p.failf(at, path, "compartment %s is not connected to %s (a cell's compartments must form one connected graph)", k.Name, c.Compartments[0].Name)
			return
		}
	}
}

// pair is two compartments a connection joins, in name order.
type pair struct{ a, b string }

// connection reads item i of a cell's connections into c, where seen
// holds the pairs of those before it.
func (p *parser) connection(c *Cell, it *yaml.Node, ipath string, i int, seen map[pair]int) {
	if it.Kind != yaml.SequenceNode || len(it.Content) < 2 || len(it.Content) > 3 {
		p.failf(it, ipath, "want [a, b], [a, b, half_cylinders], [a, b, cylinder_<a or b>] or [a, b, <conductance>], got %s", describeConn(it))
		return
	}
	var names [2]string
	for j := 0; j < 2; j++ {
		e := it.Content[j]
		name, ok := p.scalar(e, index(ipath, j), "a compartment name")
		if !ok {
			return
		}
		if c.CompartmentIndex(name) < 0 {
			p.failf(e, index(ipath, j), "unknown compartment %q in cell %s", name, c.Name)
			return
		}
		names[j] = name
	}
	if names[0] == names[1] {
		p.failf(it, ipath, "connects %s to itself", names[0])
		return
	}
	key := pair{names[0], names[1]}
	if key.b < key.a {
		key = pair{key.b, key.a}
	}
	if j, dup := seen[key]; dup {
		p.failf(it, ipath, "duplicate connection %s-%s (also connections[%d])", names[0], names[1], j)
		return
	}
	seen[key] = i
	conn := Connection{A: names[0], B: names[1], Rule: HalfCylinders}
	if len(it.Content) == 3 {
		e, epath := it.Content[2], index(ipath, 2)
		want := fmt.Sprintf("half_cylinders, cylinder_%s, cylinder_%s or a conductance (S)", names[0], names[1])
		v, ok := p.scalar(e, epath, want)
		if !ok {
			return
		}
		switch {
		case v == "half_cylinders":
		case strings.HasPrefix(v, "cylinder_"):
			x := strings.TrimPrefix(v, "cylinder_")
			if x != names[0] && x != names[1] {
				p.failf(e, epath, "%s names neither %s nor %s", v, names[0], names[1])
				return
			}
			conn.Rule, conn.Cylinder = Cylinder, x
		default:
			g, err := ParseQuantity(v, Conductance)
			if err != nil {
				// A conductance out of range says so; anything else
				// gets the choices.
				if msg := err.Error(); strings.Contains(msg, "flows") || strings.Contains(msg, "finite") {
					p.failf(e, epath, "%s", msg)
				} else {
					_, unit := splitNumber(strings.TrimSpace(v))
					p.failf(e, epath, "want %s, got %q%s", want, v, caseHint(strings.TrimSpace(unit), Conductance))
				}
				return
			}
			if !(g > 0) {
				p.failf(e, epath, "coupling conductance must be positive, got %q", v)
				return
			}
			if p.capped(e, epath, Conductance, g); p.failed() {
				return
			}
			conn.Rule, conn.G = Explicit, g
		}
	}
	if conn.Rule != Explicit {
		ia, ib := c.CompartmentIndex(names[0]), c.CompartmentIndex(names[1])
		ra, rb := c.resolve(ia), c.resolve(ib)
		if ra.dimensionless || rb.dimensionless {
			p.failf(it, ipath, "dimensionless compartments need an explicit coupling conductance, e.g. [%s, %s, 10 nS]", names[0], names[1])
			return
		}
		need := []string{names[0], names[1]}
		if conn.Rule == Cylinder {
			need = []string{conn.Cylinder}
		}
		for _, nm := range need {
			if c.resolve(c.CompartmentIndex(nm)).rAxial == 0 {
				rule := "half_cylinders"
				if conn.Rule == Cylinder {
					rule = "cylinder_" + conn.Cylinder
				}
				p.failf(it, ipath, "%s needs r_axial of %s (give it on the compartment or the cell)", rule, nm)
				return
			}
		}
	}
	c.Connections = append(c.Connections, conn)
}

func describeConn(n *yaml.Node) string {
	if n.Kind == yaml.SequenceNode {
		return fmt.Sprintf("a list of %d", len(n.Content))
	}
	return describe(n)
}

// dspikeReversals checks that one dSpike mechanism name has one pair of
// reversals in the cell (Dendrify names them E_rise_<name>, E_fall_<name>).
func (p *parser) dspikeReversals(c *Cell, cn *cellNodes) {
	type first struct {
		comp      string
		rise, fal float64
	}
	seen := map[string]first{}
	for i, k := range c.Compartments {
		for j, d := range k.DSpikes {
			f, ok := seen[d.Name]
			if !ok {
				seen[d.Name] = first{k.Name, d.ERise, d.EFall}
				continue
			}
			if f.rise != d.ERise || f.fal != d.EFall {
				path := index(cn.comps[i].sub("dspikes"), j)
				at := cn.comps[i].get("dspikes")
				if at != nil && j < len(at.Content) {
					at = at.Content[j]
				}
				p.failf(at, path, "dspike %s has reversals %.6g/%.6g mV here but %.6g/%.6g mV on %s: Dendrify keeps one E_rise_%s and E_fall_%s per cell",
					d.Name, d.ERise/1e-3, d.EFall/1e-3, f.rise/1e-3, f.fal/1e-3, f.comp, d.Name, d.Name)
				return
			}
		}
	}
}
