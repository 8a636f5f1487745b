package spec

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"

	"github.com/dendfit/dendfit/sim"
)

// Spec is a parsed and validated experiment spec. Every physical value is in
// SI units (V, s, S, F, m, F/m2, S/m2, ohm*m).
type Spec struct {
	File   string // the file name as given to Load or Parse
	Text   []byte // the bytes exactly as read
	SHA256 string // lowercase hex SHA-256 of Text

	Version     int    // the dendfit format version (always 1)
	Name        string // the experiment name
	Description string

	Simulation Simulation
	Constants  sim.Constants // Dendrify's ionic defaults with the spec's overrides
	Ions       Ions          // E_Na, E_K, E_Ca (the dSpike reversals' constants)

	Cells       []Cell       // in YAML order
	Populations []Population // in YAML order
	Pathways    []Pathway    // in YAML order
	Sweep       Sweep
	Fit         Fit

	// Warnings are messages about legal but suspicious input, each in the
	// form "file:line: path: message".
	Warnings []string
}

// Simulation is the clock and the integrator of the PSP protocol.
type Simulation struct {
	Dt       float64    // integration step, s (default 0.1 ms)
	Duration float64    // simulated time, s (default 100 ms)
	SpikeAt  float64    // time of the presynaptic spike, s (default 10 ms)
	Method   sim.Method // default euler
}

// Steps returns Brian 2's number of steps for Duration: round(D/dt), or
// ceil(D/dt) when D/dt is not within 1e-4 of an integer.
func (s Simulation) Steps() int { return s.protocol().Steps() }

// SpikeStep returns Brian 2's step index of SpikeAt: floor((t + 1e-3 dt)/dt).
func (s Simulation) SpikeStep() int { return s.protocol().SpikeStep() }

func (s Simulation) protocol() *sim.Protocol {
	return &sim.Protocol{Method: s.Method, Dt: s.Dt, Duration: s.Duration, SpikeAt: s.SpikeAt}
}

// Ions are the reversal potentials that only dSpikes use, in V.
type Ions struct {
	ENa, EK, ECa float64
}

// DefaultIons returns Dendrify 2.2's E_Na, E_K and E_Ca.
func DefaultIons() Ions { return Ions{ENa: 70e-3, EK: -89e-3, ECa: 136e-3} }

// CompartmentType is a compartment's Dendrify class.
type CompartmentType int

// Compartment types.
const (
	Soma CompartmentType = iota
	Dendrite
)

// String returns "soma" or "dendrite".
func (t CompartmentType) String() string {
	switch t {
	case Soma:
		return "soma"
	case Dendrite:
		return "dendrite"
	}
	return fmt.Sprintf("CompartmentType(%d)", int(t))
}

// Cell is a cell model: Dendrify's NeuronModel, or a PointNeuronModel when
// it has one compartment. The model-level options are 0 when not given
// (Dendrify treats zero as "not given" too); when given they override the
// compartments' values as NeuronModel does. Cell.Build and Spec.Cell turn it
// into a sim.Cell.
type Cell struct {
	Name        string
	VRest       float64 // V
	Cm          float64 // F/m2
	Gl          float64 // S/m2
	RAxial      float64 // ohm*m
	ScaleFactor float64
	SpineFactor float64

	Compartments []Compartment // in YAML order; sim.Cell uses the same order
	Connections  []Connection
}

// Compartment is one compartment of a Cell, as written in the spec: every
// value is 0 when not given.
type Compartment struct {
	Name     string
	Type     CompartmentType
	Model    sim.Kind
	Length   float64 // m
	Diameter float64 // m
	Cm       float64 // F/m2
	Gl       float64 // S/m2
	RAxial   float64 // ohm*m
	VRest    float64 // V
	CmAbs    float64 // F
	GlAbs    float64 // S

	// Model parameters: A (S) and TauW (s) for adaptiveIF and adex, DeltaT
	// and VT (V) for adex.
	A, TauW, DeltaT, VT float64

	DSpikes []DSpike
}

// Dimensionless reports whether the compartment is given by absolute values
// (cm_abs or gl_abs), as Dendrify decides it.
func (c *Compartment) Dimensionless() bool { return c.CmAbs != 0 || c.GlAbs != 0 }

// DSpike is a dSpike mechanism of a dendrite with its reversals resolved to
// voltages. RiseConst and FallConst name the constant a reversal was given
// as ("E_Na", ...), or are empty when it was given as a voltage.
type DSpike struct {
	sim.DSpike
	RiseConst, FallConst string
}

// CouplingRule is how a connection's axial conductance is obtained.
type CouplingRule int

// Coupling rules.
const (
	HalfCylinders CouplingRule = iota // 2/(r_a + r_b), Dendrify's default
	Cylinder                          // 1/r of the named compartment's cylinder
	Explicit                          // a given conductance
)

// Connection couples compartments A and B of a cell.
type Connection struct {
	A, B     string
	Rule     CouplingRule
	Cylinder string  // Rule Cylinder: the compartment (A or B) whose cylinder is used
	G        float64 // Rule Explicit: the conductance, S
}

// Population maps a population name to its cell model.
type Population struct {
	Name string
	Cell string
}

// Receptor is one receptor of a pathway, in SI units. G is the spec g;
// sim.Receptor.EffectiveG applies scale_g.
type Receptor = sim.Receptor

// Pathway is a presynaptic population contacting a postsynaptic one at one
// compartment with one or more receptors activated by the same spike.
type Pathway struct {
	Pre, Post   string
	Compartment string // compartment of the post cell with the synapses
	Tag         string // Dendrify synapse tag (default: Pre)
	Receptors   []Receptor
	Record      string // compartment where the PSP is measured (default: the soma)

	TargetPSP float64 // wanted |PSP|, V; 0 when not given
	Hold      bool    // whether Holding is given
	Holding   float64 // V, with Hold

	// Optional kinetics targets for the fitter, s; 0 when not given.
	TargetRise       float64 // 10-90 % rise time
	TargetHalfWidth  float64
	TargetTimeToPeak float64
	// FitErrors say why no PSP can meet the pathway's kinetics targets
	// (one longer than the window after the spike, a rise not shorter
	// than the time to peak), each also among the spec's Warnings: a fit
	// of the pathway refuses it, while a sweep or a simulation, which do
	// not use targets, go on. Nil when there is none.
	FitErrors Errors
}

// Label returns "pre->post (AMPA+NMDA)", for legends and tables.
func (p Pathway) Label() string {
	ch := make([]string, len(p.Receptors))
	for i, r := range p.Receptors {
		ch[i] = r.Channel.String()
	}
	return fmt.Sprintf("%s->%s (%s)", p.Pre, p.Post, strings.Join(ch, "+"))
}

// Sweep is the grid to sweep over every pathway. An axis that was not given
// has no values. G sets the first receptor's g (the others keep their
// ratio); TDecay and TRise set the first receptor's kinetics.
type Sweep struct {
	G      Axis // S
	TDecay Axis // s
	TRise  Axis // s
}

// Given reports whether the sweep has any axis: without one, a sweep is a
// point a pathway, at the spec's g and kinetics.
func (w Sweep) Given() bool { return w.G.Given() || w.TDecay.Given() || w.TRise.Given() }

// Axis is one sweep axis: an explicit list of values, or Steps values from
// From to To on a linear or logarithmic scale. All values are SI.
type Axis struct {
	List     []float64 // explicit values; when non-nil, the other fields are unused
	From, To float64
	Steps    int // number of values of a range; 0 for no axis
	Log      bool

	// lr holds a log range's constants (the logarithm of To/From), made
	// once when the spec is parsed or by Prepare. Values are computed
	// where they are read, not stored: 10^5 of them were 800 KB of fresh
	// memory that every sweep paid for in page faults before simulating.
	lr logRange
}

// Len is the number of values of the axis.
func (a Axis) Len() int {
	if a.List != nil {
		return len(a.List)
	}
	return max(a.Steps, 0)
}

// Given reports whether the axis has any value.
func (a Axis) Given() bool { return len(a.List) > 0 || a.Steps > 0 }

// Values returns the axis' values: the list, or for a range
// From*(To/From)**(i/(Steps-1)) (log) or From+(To-From)*i/(Steps-1)
// (linear), i = 0 .. Steps-1; one step gives [From].
func (a Axis) Values() []float64 {
	if a.List != nil {
		return append([]float64(nil), a.List...)
	}
	if a.Steps <= 0 {
		return nil
	}
	return a.compute()
}

// Value returns value i of the axis (0 <= i < Len()), as Values would,
// without making them all. A parsed or prepared log range takes about
// 20 ns a value.
func (a *Axis) Value(i int) float64 {
	switch {
	case a.List != nil:
		return a.List[i]
	case a.Steps == 1:
		return a.From
	}
	n := float64(a.Steps - 1)
	if !a.Log {
		return a.linear(i, n)
	}
	if l := &a.lr; l.of(a.From, a.To) {
		return l.at(float64(i) / n)
	}
	l := newLogRange(a.From, a.To)
	return l.at(float64(i) / n)
}

// Prepare makes a log range's constants once, for an Axis made in code
// rather than parsed (parsing prepares it): Value then does not take a
// logarithm at every call. It is safe to call again.
func (a *Axis) Prepare() {
	if a.Log && a.List == nil {
		a.lr = a.logRange()
	}
}

// logRange returns a's prepared constants, or makes them when a was not
// prepared or its ends changed since.
func (a *Axis) logRange() logRange {
	if a.lr.of(a.From, a.To) {
		return a.lr
	}
	return newLogRange(a.From, a.To)
}

// of reports whether l was made for the range from, to.
func (l *logRange) of(from, to float64) bool { return l.ready && l.from == from && l.to == to }

// linear is value i of a linear range of n+1 steps.
func (a Axis) linear(i int, n float64) float64 {
	t := float64(i) / n
	v := a.From + (a.To-a.From)*float64(i)/n
	if math.IsInf(v, 0) { // (To-From)*i overflowed before the division
		v = a.From + float64((a.To-a.From)*t)
	}
	return v
}

// logRange evaluates a log range, From*(To/From)**t, as math.Pow does it
// bit for bit (TestLogRangeIsPow), but with the logarithm of To/From
// taken once for the range rather than at every value: it was half of
// the cost of a long log axis.
type logRange struct {
	ready    bool    // made by newLogRange
	from, to float64 // From and To
	r, lr    float64 // To/From and its logarithm
	frac     float64 // r = frac * 2**exp, as math.Frexp splits it
	exp      int
	// When To/From overflows (a range over 308 decades), values go
	// through the logarithms of From and To, which do not.
	overflow   bool
	lFrom, lTo float64
}

func newLogRange(from, to float64) logRange {
	l := logRange{ready: true, from: from, to: to, r: to / from}
	if math.IsInf(l.r, 0) || l.r == 0 {
		l.overflow, l.lFrom, l.lTo = true, math.Log(from), math.Log(to)
		return l
	}
	l.lr = math.Log(l.r)
	l.frac, l.exp = math.Frexp(l.r)
	return l
}

// at is the value at t in [0, 1]. For t in (0.5, 1) math.Pow takes
// r**(t-1) * r, the integer power of r by its Frexp parts.
func (l *logRange) at(t float64) float64 {
	if l.overflow {
		return math.Exp(l.lFrom + float64((l.lTo-l.lFrom)*t))
	}
	var p float64
	switch {
	case t == 0 || l.r == 1:
		p = 1
	case t == 1:
		p = l.r
	case t == 0.5:
		p = math.Sqrt(l.r)
	case t > 0.5:
		p = math.Ldexp(math.Exp((t-1)*l.lr)*l.frac, l.exp)
	default:
		p = math.Exp(t * l.lr)
	}
	return l.from * p
}

// compute returns a range's values.
func (a Axis) compute() []float64 {
	v := make([]float64, a.Steps)
	if a.Steps == 1 {
		v[0] = a.From
		return v
	}
	n := float64(a.Steps - 1)
	fill := func(lo, hi int) {
		if !a.Log {
			for i := lo; i < hi; i++ {
				v[i] = a.linear(i, n)
			}
			return
		}
		l := a.logRange()
		for i := lo; i < hi; i++ {
			v[i] = l.at(float64(i) / n)
		}
	}
	// A long log axis is spread over the cores (a value is about 50 ns,
	// and parsing comes before any simulation); each value is a function of
	// its index alone, so the values do not depend on the split.
	parts := 1
	if a.Log && a.Steps >= parallelSteps {
		parts = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	for p := range parts {
		wg.Go(func() { fill(p*a.Steps/parts, (p+1)*a.Steps/parts) })
	}
	wg.Wait()
	return v
}

// parallelSteps is the length from which a log axis is computed on every
// core.
const parallelSteps = 1 << 14

// Fit holds the fitter's settings.
type Fit struct {
	GMin float64 // S, default 0.001 nS
	GMax float64 // S, default 1 uS
	RTol float64 // relative tolerance on |PSP|, in (0, 0.1]; default 1e-7
}

// DefaultFit returns the fit settings used when the spec gives none.
func DefaultFit() Fit { return Fit{GMin: 0.001 * 1e-9, GMax: 1 * 1e-6, RTol: 1e-7} }

// DefaultSimulation returns the simulation settings used when the spec
// gives none.
func DefaultSimulation() Simulation {
	return Simulation{Dt: 0.1 * 1e-3, Duration: 100 * 1e-3, SpikeAt: 10 * 1e-3, Method: sim.Euler}
}

// Error is an invalid spec: the file, the 1-based line, the field path
// (e.g. "cells.pyr.compartments[1].gl") and what was wrong.
type Error struct {
	File string
	Line int
	Path string
	Msg  string

	col int // the column, to order a line's errors
}

// Error returns "file:line: path: msg".
func (e *Error) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Path, e.Msg)
}

// Errors is what Parse returns for a spec with several errors: each an
// *Error, in line order (errors.As finds the first).
type Errors []*Error

// maxShown is how many of a spec's errors Errors.Error lists.
const maxShown = 10

// Error returns the errors one a line, as *Error writes them, the first
// maxShown of them and then how many more there are.
func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i == maxShown {
			more, noun := len(es)-maxShown, "errors"
			if more == 1 {
				noun = "error"
			}
			fmt.Fprintf(&b, "\n%s: %d more %s", e.File, more, noun)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the errors, for errors.As and errors.Is.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// CellByName returns the cell with the given name, or nil.
func (s *Spec) CellByName(name string) *Cell {
	for i := range s.Cells {
		if s.Cells[i].Name == name {
			return &s.Cells[i]
		}
	}
	return nil
}

// PopulationCell returns the cell name of a population, or "".
func (s *Spec) PopulationCell(pop string) string {
	for _, p := range s.Populations {
		if p.Name == pop {
			return p.Cell
		}
	}
	return ""
}

// CompartmentIndex returns the index of the named compartment, or -1.
func (c *Cell) CompartmentIndex(name string) int {
	for i := range c.Compartments {
		if c.Compartments[i].Name == name {
			return i
		}
	}
	return -1
}

// PathwayIndexes says which pathway indexes s has, for messages: "one
// pathway, 0", or "pathways 0..4".
func (s *Spec) PathwayIndexes() string {
	switch n := len(s.Pathways); n {
	case 0:
		return "no pathway"
	case 1:
		return "one pathway, 0"
	default:
		return fmt.Sprintf("pathways 0..%d", n-1)
	}
}
