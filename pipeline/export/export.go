package export

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/pipeline"
	"github.com/dendfit/dendfit/sim"
	"github.com/dendfit/dendfit/sim/spec"
)

// Format is an export format.
type Format string

// The export formats.
const (
	Dendrify Format = "dendrify" // Python module for Dendrify 2.x
	JSON     Format = "json"     // parameters with units and provenance
	CSV      Format = "csv"      // one row per pathway and receptor
	YAML     Format = "yaml"     // the spec with the fitted g (and kinetics) written in
)

// Formats lists the formats in the order help text shows them.
func Formats() []Format { return []Format{Dendrify, JSON, CSV, YAML} }

// ParseFormat maps a format name to a Format.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats() {
		if string(f) == s {
			return f, nil
		}
	}
	names := make([]string, 0, 4)
	for _, f := range Formats() {
		names = append(names, string(f))
	}
	return "", fmt.Errorf("export: unknown format %q (want %s)", s, strings.Join(names, ", "))
}

// Calibration is what an export is written from: the spec, exactly as
// stored, that fit run Run fitted, and a fit of its pathways: Run's, or
// for a pathway Run did not fit (fit --pathway), an earlier run's fit of
// the same pathway to the same targets (FitRun).
type Calibration struct {
	Spec *spec.Spec
	Run  *db.Run
	Fits []db.Fit // at most one per pathway
	// FitRun holds, by pathway, the run of each fit that is not Run's.
	FitRun     map[int]*db.Run
	SpecSHA256 string
	// Version is the dendfit that writes the export and Date when; both go
	// into the provenance (tests fix them).
	Version string
	Date    time.Time

	// fitted holds, by pathway, the receptors of each converged fit with
	// its values put in (set by check).
	fitted map[int][]sim.Receptor
	// states keeps each pathway's steady state (see state): solved once,
	// whatever the rows a format writes for it.
	states map[int]*pathState
	solved map[spec.StateKey]*solvedState
}

// pathState is the state a pathway's PSP is measured from, or why it has
// none.
type pathState struct {
	ss   sim.SteadyState
	cell *sim.Cell
	err  error
}

// ErrNoFit is wrapped by Load when no fit run recorded a fit to export.
var ErrNoFit = errors.New("no recorded fit")

// Load reads the calibration of fit run runID, or, when runID is 0, of the
// newest fit run of experiment that recorded fits, finished or not
// (pipeline.NewestFitRun), with the newest fit of each
// pathway that run did not fit, made to the same targets
// (pipeline.CalibrationsFor). A run given by id must belong to experiment
// when experiment is not empty.
func Load(ctx context.Context, d *db.DB, experiment string, runID int64) (*Calibration, error) {
	var run *db.Run
	var err error
	if runID == 0 {
		if experiment == "" {
			return nil, errors.New("export: want an experiment name or a run id")
		}
		run, _, err = pipeline.NewestFitRun(ctx, d, experiment)
		if errors.Is(err, pipeline.ErrNoFit) {
			return nil, fmt.Errorf("export: experiment %q: %w in %s", experiment, ErrNoFit, d.Path())
		}
	} else {
		run, err = d.Run(ctx, runID)
	}
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if experiment != "" && run.Experiment != experiment {
		return nil, fmt.Errorf("export: run %d is of experiment %q, not %q", run.ID, run.Experiment, experiment)
	}
	fits, err := d.Fits(ctx, db.FitFilter{RunID: run.ID})
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if len(fits) == 0 {
		return nil, fmt.Errorf("export: run %d (%s) recorded no fits: want a fit run", run.ID, run.Command)
	}
	exp, err := d.Experiment(ctx, run.ExperimentID)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if err := exp.CheckText(); err != nil {
		return nil, fmt.Errorf("export: run %d: %w", run.ID, err)
	}
	s, err := spec.ParseRecorded(fmt.Sprintf("%s (spec of run %d)", exp.Name, run.ID), exp.SpecText)
	if err != nil {
		return nil, fmt.Errorf("export: stored spec: %w", err)
	}
	c := &Calibration{Spec: s, Run: run, Fits: fits, SpecSHA256: exp.SpecSHA256, Date: time.Now().UTC()}
	if runID == 0 {
		// After 'fit --pathway', the newest run holds only some pathways;
		// the others keep their earlier fits, not their spec g.
		applied, err := pipeline.CalibrationsFor(ctx, d, s)
		if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		for p, af := range applied {
			if c.fitOf(p) == nil {
				c.Fits = append(c.Fits, af.Fit)
				if c.FitRun == nil {
					c.FitRun = map[int]*db.Run{}
				}
				c.FitRun[p] = af.Run
			}
		}
		slices.SortFunc(c.Fits, func(a, b db.Fit) int { return cmp.Compare(a.Pathway, b.Pathway) })
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return c, nil
}

// check verifies that the fits match the spec's pathways and puts what
// each converged fit found (g, and kinetics after a kinetics fit) into its
// pathway's receptors.
func (c *Calibration) check() error {
	seen := map[int]bool{}
	c.fitted = map[int][]sim.Receptor{}
	for _, f := range c.Fits {
		if f.Pathway < 0 || f.Pathway >= len(c.Spec.Pathways) {
			return fmt.Errorf("export: fit of pathway %d: the spec has %s", f.Pathway, c.Spec.PathwayIndexes())
		}
		if seen[f.Pathway] {
			return fmt.Errorf("export: two fits of pathway %d", f.Pathway)
		}
		seen[f.Pathway] = true
		p := c.Spec.Pathways[f.Pathway]
		if !f.Converged {
			continue
		}
		if len(f.GFitNS) == 0 {
			return fmt.Errorf("export: converged fit of pathway %d recorded no conductances", f.Pathway)
		}
		rs, err := pipeline.FittedReceptors(p.Receptors, &f)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		c.fitted[f.Pathway] = rs
	}
	return nil
}

// Write writes c in format f to w.
func Write(w io.Writer, c *Calibration, f Format) error {
	if err := c.check(); err != nil {
		return err
	}
	switch f {
	case Dendrify:
		return writeDendrify(w, c)
	case JSON:
		return writeJSON(w, c)
	case CSV:
		return writeCSV(w, c)
	case YAML:
		return writeYAML(w, c)
	}
	_, err := ParseFormat(string(f))
	return err
}

// notes are the header lines of the formats that have one: the
// pathways left at their spec g because no fit was made to their target,
// and what makes a fitted g doubtful.
func (c *Calibration) notes() []string {
	out := c.runNotes()
	for i := range c.Spec.Pathways {
		if f := c.fitOf(i); f != nil {
			for _, w := range f.Warnings {
				out = append(out, "WARNING of the fit: "+strings.ReplaceAll(w, "\n", " "))
			}
		}
	}
	return out
}

// runNotes are the notes on where the fits come from: a run that did not
// finish, pathways with none.
func (c *Calibration) runNotes() []string {
	var out []string
	if u := c.unfinished(); u != "" {
		out = append(out, u)
	}
	if u := c.Unfitted(); len(u) > 0 {
		out = append(out, fmt.Sprintf("NOT FITTED as they are now (target, model or fit settings changed since their fit, or never fitted), so at their spec g: pathway(s) %s.", joinInts(u)))
	}
	return out
}

// unfinished says which fit runs whose fits c holds did not finish, and
// which pathways they fitted; "" when all finished. Their fits are whole
// (pipeline.NewestFitRun), but a reader of the export should know that
// such a run stopped before the pathways it did not reach.
func (c *Calibration) unfinished() string {
	var parts []string
	for _, rp := range c.pathwaysByRun(func(r *db.Run) bool { return r.Status != db.StatusDone }) {
		how := rp.run.Status
		switch how {
		case db.StatusRunning:
			how = "still running"
		case db.StatusInterrupted:
			how = "interrupted"
		}
		parts = append(parts, fmt.Sprintf("fit run %d (%s) for pathway(s) %s", rp.run.ID, how, joinInts(rp.pathways)))
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("FROM A FIT RUN THAT DID NOT FINISH (each pathway's fit is recorded whole): %s.", strings.Join(parts, "; "))
}

// runPathways is a run whose fits c holds, and the pathways they are of.
type runPathways struct {
	run      *db.Run
	pathways []int // in order
}

// pathwaysByRun groups c's fits by the run that made them (runOf), of
// the runs keep takes, in run order.
func (c *Calibration) pathwaysByRun(keep func(*db.Run) bool) []runPathways {
	byID := map[int64]*runPathways{}
	for _, f := range c.Fits {
		r := c.runOf(f.Pathway)
		if !keep(r) {
			continue
		}
		if byID[r.ID] == nil {
			byID[r.ID] = &runPathways{run: r}
		}
		byID[r.ID].pathways = append(byID[r.ID].pathways, f.Pathway)
	}
	out := make([]runPathways, 0, len(byID))
	for _, id := range slices.Sorted(maps.Keys(byID)) {
		rp := byID[id]
		slices.Sort(rp.pathways)
		out = append(out, *rp)
	}
	return out
}

// unconverged returns the pathways whose fit did not converge.
func (c *Calibration) unconverged() []int {
	var out []int
	for _, f := range c.Fits {
		if !f.Converged {
			out = append(out, f.Pathway)
		}
	}
	return out
}

// fitOf returns the fit of pathway i, or nil.
// runOf is the run whose fit of pathway i the export holds.
func (c *Calibration) runOf(i int) *db.Run {
	if r := c.FitRun[i]; r != nil {
		return r
	}
	return c.Run
}

// OtherRuns describes the fits that are not Run's, for a provenance
// line: "pathways 0, 2 by run 1; pathway 3 by run 4", or "".
func (c *Calibration) OtherRuns() string {
	var parts []string
	for _, rp := range c.pathwaysByRun(func(r *db.Run) bool { return r.ID != c.Run.ID }) {
		word := "pathway"
		if len(rp.pathways) > 1 {
			word = "pathways"
		}
		parts = append(parts, fmt.Sprintf("%s %s by run %d", word, joinInts(rp.pathways), rp.run.ID))
	}
	return strings.Join(parts, "; ")
}

// Unfitted returns the pathways that have a target_psp but no fit in c:
// none of their fits was made to their present target, model and fit
// settings (pipeline.WhyUnfitted says which changed), or they were never
// fitted. An export gives them their spec g.
func (c *Calibration) Unfitted() []int {
	var out []int
	for i, p := range c.Spec.Pathways {
		if p.TargetPSP > 0 && c.fitOf(i) == nil {
			out = append(out, i)
		}
	}
	return out
}

func (c *Calibration) fitOf(i int) *db.Fit {
	for k := range c.Fits {
		if c.Fits[k].Pathway == i {
			return &c.Fits[k]
		}
	}
	return nil
}

// state is the state pathway i's PSP was measured from: at rest, or held
// with its holding current (sim.StartState, as fit and sweep). Its error
// is a spec error (returned by every format), or, wrapped in NoState, a
// cell with no such state (a fit ends such a pathway sim_failed): the
// exports then write the pathway without it, and say so.
func (c *Calibration) state(i int) (*pathState, error) {
	if st, ok := c.states[i]; ok {
		return st, nil
	}
	setup, _, err := c.Spec.Setup(i)
	if err != nil {
		return nil, fmt.Errorf("export: pathway %d: %w", i, err)
	}
	p := setup.Protocol
	// Pathways onto one cell at one holding share the state: solved once
	// (its stability may take an eigensolve of the whole cell).
	k := c.Spec.StateKeyOf(i, &p)
	if c.solved == nil {
		c.solved = map[spec.StateKey]*solvedState{}
	}
	sv := c.solved[k]
	if sv == nil {
		sv = &solvedState{}
		sv.ss, sv.err = sim.StartState(setup.Cell, &p)
		c.solved[k] = sv
	}
	st := &pathState{cell: setup.Cell, ss: sv.ss}
	if sv.err != nil {
		st.err = &NoState{Pathway: i, Label: c.Spec.Pathways[i].Label(), Held: p.Hold, Err: sv.err}
	}
	if c.states == nil {
		c.states = map[int]*pathState{}
	}
	c.states[i] = st
	return st, nil
}

// solvedState is a starting state solved for a spec.StateKey.
type solvedState struct {
	ss  sim.SteadyState
	err error
}

// NoState is why a pathway has no state to measure a PSP from (no steady
// state, nor, when held, a holding current): its cell has no fixed point,
// or one it leaves with no input (held above an AdEx VT), as fit and
// sweep found.
type NoState struct {
	Pathway int
	Label   string
	Held    bool
	Err     error
}

// Error says which pathway has no state, and why.
func (e *NoState) Error() string {
	return fmt.Sprintf("pathway %d (%s) has no state to measure a PSP from: %s", e.Pathway, e.Label, strings.TrimPrefix(e.Err.Error(), "sim: "))
}

// Unwrap returns the simulator's error: why the cell has no such state.
func (e *NoState) Unwrap() error { return e.Err }

// Stateless returns why each pathway that has no steady state has none,
// in pathway order: every format writes them without it (no i_hold, no
// steady_state), for the command to warn about.
func (c *Calibration) Stateless() ([]*NoState, error) {
	var out []*NoState
	for i := range c.Spec.Pathways {
		st, err := c.state(i)
		if err != nil {
			return nil, err
		}
		var ns *NoState
		if errors.As(st.err, &ns) {
			out = append(out, ns)
		}
	}
	return out, nil
}

// holding is pathway i's holding protocol: the potential its record
// compartment is held at and the constant current that holds it there
// (the steady state, with every synapse silent, so the same at any g).
// A fitted g reproduces its PSP only with that current injected: the
// exports carry it. held is false for a pathway measured at rest; known
// is false when the current cannot be solved (see state).
func (c *Calibration) holding(i int) (vMV, iPA float64, held, known bool, err error) {
	pw := &c.Spec.Pathways[i]
	if !pw.Hold {
		return 0, 0, false, false, nil
	}
	st, err := c.state(i)
	if err != nil {
		return 0, 0, false, false, err
	}
	if st.err != nil {
		return pw.Holding / 1e-3, 0, true, false, nil
	}
	return pw.Holding / 1e-3, st.ss.IHold / 1e-12, true, true, nil
}

// synapse is one receptor of one pathway with its calibrated conductance.
type synapse struct {
	pathway  int
	p        *spec.Pathway
	receptor int
	r        sim.Receptor // with the fitted G when fitted
	gNS      float64      // spec g (before scale_g), nS
	fitted   bool         // the pathway's fit converged
	tauFit   bool         // and fitted this receptor's time constants
	point    bool         // the post cell is a PointNeuronModel
}

// synapses lists every receptor of every pathway in spec order.
func (c *Calibration) synapses() []synapse {
	var out []synapse
	for i := range c.Spec.Pathways {
		p := &c.Spec.Pathways[i]
		f := c.fitOf(i)
		cell := c.Spec.CellByName(c.Spec.PopulationCell(p.Post))
		for j, r := range p.Receptors {
			s := synapse{pathway: i, p: p, receptor: j, r: r, gNS: r.G / 1e-9, point: len(cell.Compartments) == 1}
			if rs, ok := c.fitted[i]; ok {
				s.fitted = true
				s.gNS = f.GFitNS[j]
				s.r = rs[j]
				s.tauFit = j == 0 && (f.TDecayMS != nil || f.TRiseMS != nil)
			}
			out = append(out, s)
		}
	}
	return out
}

// suffix is Dendrify's name suffix: _<tag>_<compartment>, or _<tag> on a
// point neuron.
func (s synapse) suffix() string {
	if s.point {
		return "_" + s.p.Tag
	}
	return "_" + s.p.Tag + "_" + s.p.Compartment
}

// param is one Dendrify parameter of a population's model.
type param struct {
	Name   string
	Value  float64 // in Unit
	Unit   string
	Fitted bool
	Run    int64 // the fit run, when Fitted
}

// paramDecl declares a synaptic parameter once: its Dendrify name
// pattern, unit and description; the Python comments, JSON units and CSV
// headers come from here.
type paramDecl struct {
	Key     string // g, t_rise, t_decay
	Pattern string // Dendrify's name, as dendrifyName builds it
	Unit    string
	Doc     string
}

var synapseParams = []paramDecl{
	{"g", "g_<channel>_<tag>_<compartment>", "nS", "conductance in the equations, after scale_g (Dendrify's own normalisation may differ in the last bit or two): give it to model.add_params, not to synapse(scale_g=True), which would scale it again"},
	{"t_rise", "t_<channel>_rise_<tag>_<compartment>", "ms", "rise time constant (absent for an instant rise)"},
	{"t_decay", "t_<channel>_decay_<tag>_<compartment>", "ms", "decay time constant"},
}

// dendrifyName returns g_<CH>_<tag>_<comp>, t_<CH>_rise_<tag>_<comp> or
// t_<CH>_decay_<tag>_<comp>.
func (s synapse) dendrifyName(key string) string {
	ch := s.r.Channel.String()
	switch key {
	case "g":
		return "g_" + ch + s.suffix()
	case "t_rise":
		return "t_" + ch + "_rise" + s.suffix()
	default:
		return "t_" + ch + "_decay" + s.suffix()
	}
}

// gEffNS is the conductance in the equations (after scale_g) in nS, as
// every format writes it: the nS value Dendrify is given, times its
// normalisation.
func (s synapse) gEffNS() float64 {
	if s.r.ScaleG && s.r.TauRise > 0 {
		return s.gNS * sim.GNormFactor(s.r.TauRise, s.r.TauDecay)
	}
	return s.gNS
}

// params returns the synaptic parameters of population pop, in spec order,
// as Dendrify's model.parameters holds them (g after scale_g).
func (c *Calibration) params(pop string) []param {
	var out []param
	for _, s := range c.synapses() {
		if s.p.Post != pop {
			continue
		}
		run := c.runOf(s.pathway).ID
		out = append(out, param{s.dendrifyName("g"), s.gEffNS(), "nS", s.fitted, run})
		if s.r.TauRise > 0 {
			out = append(out, param{s.dendrifyName("t_rise"), s.r.TauRise / 1e-3, "ms", s.tauFit, run})
		}
		out = append(out, param{s.dendrifyName("t_decay"), s.r.TauDecay / 1e-3, "ms", s.tauFit, run})
	}
	return out
}

// num formats a float64 round-trip exact.
func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// displayUnit is the unit each dimension is written in.
var displayUnit = map[spec.Dimension]string{
	spec.Voltage: "mV", spec.Time: "ms", spec.Conductance: "nS", spec.Capacitance: "pF",
	spec.Current: "pA", spec.Length: "um", spec.SpecificCapacitance: "uF/cm2",
	spec.SpecificConductance: "uS/cm2", spec.AxialResistivity: "ohm*cm",
}

// siUnit is the spec spelling of each dimension's SI unit.
var siUnit = map[spec.Dimension]string{
	spec.Voltage: "V", spec.Time: "s", spec.Conductance: "S", spec.Capacitance: "F",
	spec.Current: "A", spec.Length: "m", spec.SpecificCapacitance: "F/m2",
	spec.SpecificConductance: "S/m2", spec.AxialResistivity: "ohm*m",
}

// brianScale is the float64 Brian 2 gives each display unit (its unit
// arithmetic tracks powers of ten, so uF/cm**2 is exactly 0.01).
var brianScale = map[string]float64{
	"mV": 1e-3, "ms": 1e-3, "nS": 1e-9, "pF": 1e-12, "pA": 1e-12, "um": 1e-6,
	"uF/cm2": 1e-2, "uS/cm2": 1e-2, "ohm*cm": 1e-2,
}

// quantity writes the SI value v of dimension d as a number and a unit for
// Brian 2: in the display unit, with the fewest digits that give v within
// two units in the last place (so "1 uF/cm2", which the spec loader reads
// as 0.009999999999999998 F/m2, is written as the user wrote it), else
// round-trip exact in the SI unit. Fitted conductances do not come here:
// they are written exactly in nS.
func quantity(v float64, d spec.Dimension) (string, string) {
	u := displayUnit[d]
	scale := brianScale[u]
	if v == 0 {
		return "0", u
	}
	x := v / scale
	ulp := math.Abs(math.Nextafter(v, math.Inf(1)) - v)
	for prec := 1; prec <= 17; prec++ {
		s := num(parsed(strconv.FormatFloat(x, 'g', prec, 64)))
		if math.Abs(parsed(s)*scale-v) <= 2*ulp {
			return s, u
		}
	}
	return num(v), siUnit[d]
}

func parsed(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}
