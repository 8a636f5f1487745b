package pipeline

import (
	"fmt"
	"strings"

	"github.com/dendfit/dendfit/sim"
	"github.com/dendfit/dendfit/sim/spec"
)

// CellDescription is a cell as the simulator builds it from the spec:
// Dendrify's areas, capacitances, leaks and couplings resolved, in the
// units a modeller reads.
type CellDescription struct {
	Cell         string                   `json:"cell"`
	Populations  []string                 `json:"populations"`
	Point        bool                     `json:"point_neuron"`
	Compartments []CompartmentDescription `json:"compartments"`
	Couplings    []CouplingDescription    `json:"couplings"`
	// FastestTauMS is the fastest passive time constant; explicit methods
	// need dt well below it (Euler: below twice it).
	FastestTauMS float64 `json:"fastest_tau_ms"`
	// NoRest says why the cell has no resting state (an AdEx with v_rest
	// above its threshold): its compartments then have no rest_mV.
	NoRest string `json:"no_rest,omitempty"`
}

// CompartmentDescription is one resolved compartment.
type CompartmentDescription struct {
	Name   string   `json:"name"`
	Model  string   `json:"model"`
	CPF    float64  `json:"C_pF"`
	GLNS   float64  `json:"gL_nS"`
	ELMV   float64  `json:"EL_mV"`
	TauMS  float64  `json:"tau_m_ms"` // C / gL
	RestMV *float64 `json:"rest_mV"`  // steady state of the whole cell; null without one
	// RInMOhm is the input resistance at rest: the steady-state change of
	// this compartment's V per current injected into it, the first number
	// a model is compared with recordings by (null without a rest).
	RInMOhm *float64 `json:"R_in_MOhm"`
	DSpikes []string `json:"dspikes"`
}

// CouplingDescription is one resolved axial coupling.
type CouplingDescription struct {
	A   string  `json:"a"`
	B   string  `json:"b"`
	GNS float64 `json:"g_nS"`
}

// Describe resolves every cell of s as the simulator sees it.
func Describe(s *spec.Spec) ([]CellDescription, error) {
	var out []CellDescription
	for _, sc := range s.Cells {
		c, err := s.Cell(sc.Name)
		if err != nil {
			return nil, fmt.Errorf("cell %s: %w", sc.Name, err)
		}
		d := CellDescription{Cell: sc.Name, Point: len(c.Compartments) == 1, Populations: []string{}, Couplings: []CouplingDescription{}}
		// A cell with no resting state is described all the same: what
		// describe is for is finding out why.
		ss, err := sim.Steady(c, false, 0, 0)
		if err != nil {
			d.NoRest = strings.TrimPrefix(err.Error(), "sim: ")
		}
		for _, p := range s.Populations {
			if p.Cell == sc.Name {
				d.Populations = append(d.Populations, p.Name)
			}
		}
		for i, cp := range c.Compartments {
			cd := CompartmentDescription{Name: cp.Name, Model: cp.Kind.String(), CPF: cp.C / 1e-12, GLNS: cp.GL / 1e-9,
				ELMV: cp.EL / 1e-3, TauMS: cp.C / cp.GL / 1e-3, DSpikes: []string{}}
			if d.NoRest == "" {
				v := ss.V[i] / 1e-3
				cd.RestMV = &v
				if r, err := inputResistance(c, i, ss.V[i]); err == nil {
					rMOhm := r / 1e6
					cd.RInMOhm = &rMOhm
				}
			}
			for _, m := range cp.DSpikes {
				cd.DSpikes = append(cd.DSpikes, m.Name)
			}
			d.Compartments = append(d.Compartments, cd)
		}
		for _, cu := range c.Couplings {
			d.Couplings = append(d.Couplings, CouplingDescription{A: c.Compartments[cu.A].Name, B: c.Compartments[cu.B].Name, GNS: cu.G / 1e-9})
		}
		d.FastestTauMS = 1 / sim.FastestRate(c) / 1e-3
		out = append(out, d)
	}
	return out, nil
}

// inputResistance is compartment i's steady-state input resistance at
// its rest vRest, in ohm: the step of V the held steady state (sim.Steady,
// the state a holding potential starts from, adaptation included) needs
// per ampere injected, over a step of 0.1 mV (the slope, to 1e-4 of it
// near an AdEx's exponential; exact for the passive rest).
func inputResistance(c *sim.Cell, i int, vRest float64) (float64, error) {
	const step = 1e-4
	ss, err := sim.Steady(c, true, i, vRest+step)
	if err != nil {
		return 0, err
	}
	if ss.IHold <= 0 {
		return 0, fmt.Errorf("no positive input resistance")
	}
	return step / ss.IHold, nil
}

// PathwayDescription is a pathway of a spec as describe --json gives it:
// what it connects and how it is measured, units in the names.
type PathwayDescription struct {
	PathwayID
	Label       string   `json:"label"`
	TargetPSPMV *float64 `json:"target_psp_mV"` // null: no target
	HoldingMV   *float64 `json:"holding_mV"`    // null: at rest
}

// DescribePathways returns every pathway of s, in spec order.
func DescribePathways(s *spec.Spec) []PathwayDescription {
	pws := make([]PathwayDescription, len(s.Pathways))
	for i, p := range s.Pathways {
		pd := PathwayDescription{PathwayID: NewPathwayID(s, i), Label: p.Label()}
		if p.TargetPSP > 0 {
			v := p.TargetPSP / 1e-3
			pd.TargetPSPMV = &v
		}
		if p.Hold {
			v := p.Holding / 1e-3
			pd.HoldingMV = &v
		}
		pws[i] = pd
	}
	return pws
}

// PathwayID is what names a pathway in every result (simulate, fit,
// describe, query): its index in the spec and what tells it apart from
// the spec's other pathways.
type PathwayID struct {
	Pathway     int      `json:"pathway"`
	Pre         string   `json:"pre"`
	Post        string   `json:"post"`
	Compartment string   `json:"compartment"`
	Record      string   `json:"record"`
	Tag         string   `json:"tag"`
	Receptors   []string `json:"receptors"` // channels, in spec order
}

// NewPathwayID returns the identity of pathway i of s.
func NewPathwayID(s *spec.Spec, i int) PathwayID {
	p := &s.Pathways[i]
	id := PathwayID{Pathway: i, Pre: p.Pre, Post: p.Post, Compartment: p.Compartment, Record: p.Record, Tag: p.Tag,
		Receptors: make([]string, len(p.Receptors))}
	for j, r := range p.Receptors {
		id.Receptors[j] = r.Channel.String()
	}
	return id
}
