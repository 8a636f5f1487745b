package spec

import (
	"errors"
	"fmt"
	"math"

	"github.com/dendfit/dendfit/sim"
)

// resolved is a compartment's values after the cell-level overrides, in the
// way Dendrify resolves them.
type resolved struct {
	dimensionless bool
	length        float64
	diameter      float64
	cm, gl        float64
	rAxial        float64
	vRest         float64
	cmAbs, glAbs  float64
	scale, spine  float64
}

// point reports whether the cell is a PointNeuronModel.
func (c *Cell) point() bool { return len(c.Compartments) == 1 }

// hasAreaOptions reports whether any of NeuronModel's area-related options
// (cm, gl, r_axial, scale_factor, spine_factor) is given at the cell level.
func (c *Cell) hasAreaOptions() bool {
	return c.Cm != 0 || c.Gl != 0 || c.RAxial != 0 || c.ScaleFactor != 0 || c.SpineFactor != 0
}

// resolve applies the cell-level options to compartment i as NeuronModel
// (or PointNeuronModel) does. It does not validate.
func (c *Cell) resolve(i int) resolved {
	k := &c.Compartments[i]
	r := resolved{
		dimensionless: k.Dimensionless(),
		length:        k.Length, diameter: k.Diameter,
		cm: k.Cm, gl: k.Gl, rAxial: k.RAxial, vRest: k.VRest,
		cmAbs: k.CmAbs, glAbs: k.GlAbs,
		scale: 1, spine: 1,
	}
	if c.VRest != 0 {
		r.vRest = c.VRest
	}
	if c.point() {
		// refgen's reading of the spec: the model-level cm, gl win.
		if c.Cm != 0 {
			r.cm = c.Cm
		}
		if c.Gl != 0 {
			r.gl = c.Gl
		}
		return r
	}
	if r.dimensionless || !c.hasAreaOptions() {
		return r
	}
	if c.Cm != 0 {
		r.cm = c.Cm
	}
	if c.Gl != 0 {
		r.gl = c.Gl
	}
	if c.RAxial != 0 {
		r.rAxial = c.RAxial
	}
	if c.ScaleFactor != 0 {
		r.scale = c.ScaleFactor
	}
	if c.SpineFactor != 0 && k.Type != Soma {
		r.spine = c.SpineFactor
	}
	return r
}

// area is Dendrify's pi * length * diameter * (scale_factor*spine_factor).
func (r resolved) area() float64 {
	return math.Pi * r.length * r.diameter * (r.scale * r.spine)
}

// axialR is a cylinder's axial resistance 4 r_axial L / (pi d^2), ohm.
func (r resolved) axialR() float64 {
	return (4 * r.rAxial * r.length) / (math.Pi * (r.diameter * r.diameter))
}

// capacitance and leak return C and gL in F and S.
func (r resolved) capacitance() float64 {
	if r.dimensionless {
		return r.cmAbs
	}
	return r.area() * r.cm
}

func (r resolved) leak() float64 {
	if r.dimensionless {
		return r.glAbs
	}
	return r.area() * r.gl
}

// Build converts the cell to the simulator's cell with Dendrify's rules:
// area = pi*length*diameter*scale_factor*spine_factor (a soma keeps
// spine_factor 1), C = area*cm, gL = area*gl (cm_abs, gl_abs for
// dimensionless compartments), cell-level options override the
// compartments', and couplings are 1/r_x for cylinder_x and 2/(r_a+r_b) for
// half_cylinders with r = 4 r_axial L/(pi d^2). Compartments keep their
// order. Build checks only what it needs to compute; Parse validates a spec
// fully, with line numbers.
func (c *Cell) Build() (*sim.Cell, error) {
	if len(c.Compartments) == 0 {
		return nil, fmt.Errorf("spec: cell %s has no compartments", c.Name)
	}
	out := &sim.Cell{Compartments: make([]sim.Compartment, len(c.Compartments))}
	res := make([]resolved, len(c.Compartments))
	for i := range c.Compartments {
		k := &c.Compartments[i]
		r := c.resolve(i)
		res[i] = r
		sc := sim.Compartment{
			Name: k.Name, Kind: k.Model,
			C: r.capacitance(), GL: r.leak(), EL: r.vRest,
			A: k.A, TauW: k.TauW, DeltaT: k.DeltaT, VT: k.VT,
		}
		for _, d := range k.DSpikes {
			sc.DSpikes = append(sc.DSpikes, d.DSpike)
		}
		if !(sc.C > 0) || !(sc.GL > 0) || math.IsInf(sc.C, 0) || math.IsInf(sc.GL, 0) {
			return nil, fmt.Errorf("spec: cell %s, compartment %s: cannot resolve a positive finite C and gL", c.Name, k.Name)
		}
		if sc.EL == 0 {
			return nil, fmt.Errorf("spec: cell %s, compartment %s: v_rest not given", c.Name, k.Name)
		}
		out.Compartments[i] = sc
	}
	for _, cn := range c.Connections {
		a, b := c.CompartmentIndex(cn.A), c.CompartmentIndex(cn.B)
		if a < 0 || b < 0 || a == b {
			return nil, fmt.Errorf("spec: cell %s: bad connection %s-%s", c.Name, cn.A, cn.B)
		}
		g, err := couplingG(cn, res[a], res[b])
		if err != nil {
			return nil, fmt.Errorf("spec: cell %s: connection %s-%s: %w", c.Name, cn.A, cn.B, err)
		}
		out.Couplings = append(out.Couplings, sim.Coupling{A: a, B: b, G: g})
	}
	return out, nil
}

func couplingG(cn Connection, ra, rb resolved) (float64, error) {
	var g float64
	switch cn.Rule {
	case Explicit:
		g = cn.G
	case HalfCylinders:
		if ra.dimensionless || rb.dimensionless {
			return 0, errors.New("dimensionless compartments need an explicit coupling conductance")
		}
		g = 1 / ((ra.axialR() + rb.axialR()) / 2)
	case Cylinder:
		r := rb
		if cn.Cylinder == cn.A {
			r = ra
		} else if cn.Cylinder != cn.B {
			return 0, fmt.Errorf("cylinder_%s names neither compartment", cn.Cylinder)
		}
		if r.dimensionless {
			return 0, errors.New("dimensionless compartments need an explicit coupling conductance")
		}
		g = 1 / r.axialR()
	default:
		return 0, fmt.Errorf("unknown coupling rule %d", int(cn.Rule))
	}
	if !(g > 0) || math.IsInf(g, 0) {
		return 0, fmt.Errorf("coupling conductance %g S is not positive and finite", g)
	}
	return g, nil
}

// Cell builds the named cell model for the simulator (see Cell.Build). Each
// call returns a new sim.Cell that the caller may modify.
func (s *Spec) Cell(name string) (*sim.Cell, error) {
	c := s.CellByName(name)
	if c == nil {
		return nil, fmt.Errorf("spec: unknown cell %q", name)
	}
	return c.Build()
}

// Setup returns what the simulator needs for pathway i: the post cell, the
// constants and the PSP protocol, and the pathway's receptors (SI, with the
// spec g; sim.Receptor.EffectiveG applies scale_g). The receptors are a copy.
func (s *Spec) Setup(i int) (*sim.Setup, []sim.Receptor, error) {
	if i < 0 || i >= len(s.Pathways) {
		return nil, nil, fmt.Errorf("spec: pathway %d out of range (%d pathways)", i, len(s.Pathways))
	}
	p := s.Pathways[i]
	cname := s.PopulationCell(p.Post)
	c := s.CellByName(cname)
	if c == nil {
		return nil, nil, fmt.Errorf("spec: pathway %d: unknown post population %q", i, p.Post)
	}
	syn, rec := c.CompartmentIndex(p.Compartment), c.CompartmentIndex(p.Record)
	if syn < 0 || rec < 0 {
		return nil, nil, fmt.Errorf("spec: pathway %d: compartment %q or record %q not in cell %s", i, p.Compartment, p.Record, cname)
	}
	cell, err := c.Build()
	if err != nil {
		return nil, nil, err
	}
	su := &sim.Setup{
		Cell:      cell,
		Constants: s.Constants,
		Protocol: sim.Protocol{
			Method:   s.Simulation.Method,
			Dt:       s.Simulation.Dt,
			Duration: s.Simulation.Duration,
			SpikeAt:  s.Simulation.SpikeAt,
			Synapse:  syn,
			Record:   rec,
			Hold:     p.Hold,
			Holding:  p.Holding,
		},
	}
	return su, append([]sim.Receptor(nil), p.Receptors...), nil
}

// StateKey is what a pathway's starting state (sim.StartState) depends
// on: its post cell and its holding. Pathways with equal keys start from
// the same state, which callers solve once (its stability may take an
// eigensolve of the whole cell).
type StateKey struct {
	Cell    string
	Hold    bool
	Record  int     // the held compartment; -1 at rest
	Holding float64 // V; 0 at rest
}

// StateKeyOf returns the StateKey of pathway i, whose protocol (Setup's)
// is pr.
func (s *Spec) StateKeyOf(i int, pr *sim.Protocol) StateKey {
	k := StateKey{Cell: s.PopulationCell(s.Pathways[i].Post), Record: -1}
	if pr.Hold {
		k.Hold, k.Record, k.Holding = true, pr.Record, pr.Holding
	}
	return k
}
