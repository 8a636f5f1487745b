package spec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/dendfit/dendfit/sim"
)

// maxSteps bounds a simulation's number of steps and a sweep axis' length.
const (
	maxSteps     = 1e9
	maxAxisSteps = 10000000
	// maxGridPoints bounds a sweep's points over every pathway: far more
	// than a cluster sweeps (10^12 points at 1 us each is 11 core-days),
	// and far from overflowing an int.
	maxGridPoints = 1e12
	// minDt (s) is far below any dt Dendrify's models run at (0.01 to
	// 0.1 ms): a run is a thousand times the work, most likely us
	// written for ms.
	minDt = 1e-6
)

// Load reads and parses the spec file at path. Errors about the content are
// *Error values naming path as given.
func Load(path string) (*Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	defer f.Close()
	// One byte past the limit tells a spec too large from one at it.
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	return Parse(path, data)
}

// MaxSize bounds a spec's size in bytes. Specs are a few KB; a 100 MB one
// took 20 s and 1 GB to parse, and its text is recorded with every run.
const MaxSize = 4 << 20

// Parse parses and validates a spec. name is used in error messages (and
// kept in Spec.File). Every error about the content is an *Error with the
// line and the field path, or Errors when there are several: the parts of
// a spec that do not build on each other (the top-level fields, the
// simulation, the constants, each cell and compartment, each pathway and
// receptor, the sweep and fit blocks) are all checked, and what builds
// on a part that failed is not (the pathways build on the simulation,
// the constants, the cells and the populations; the sweep on the
// pathways). When warnings were found beside them, the *Error or Errors
// come wrapped in a *WarnedError that holds them too.
func Parse(name string, data []byte) (*Spec, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("spec: %s is over %d MB: a spec is a few KB of YAML; give the spec file", name, MaxSize>>20)
	}
	return parse(&parser{file: name}, data)
}

// ParseRecorded parses the spec text a run recorded, as Parse does but for
// the refusals added for new input after such a run may have been
// recorded (a conductance above 1 S, a text over MaxSize): what was
// recorded stays readable, to export, report, reproduce and merge.
func ParseRecorded(name string, data []byte) (*Spec, error) {
	return parse(&parser{file: name, recorded: true}, data)
}

func parse(p *parser, data []byte) (*Spec, error) {
	name := p.file
	var doc yaml.Node
	if err := unmarshal(data, &doc); err != nil {
		return nil, p.yamlError(err, data)
	}
	sum := sha256.Sum256(data)
	s := &Spec{
		File:       name,
		Text:       append([]byte(nil), data...),
		SHA256:     hex.EncodeToString(sum[:]),
		Simulation: DefaultSimulation(),
		Constants:  sim.DefaultConstants(),
		Ions:       DefaultIons(),
		Fit:        DefaultFit(),
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		p.failf(&yaml.Node{Line: 1}, "", "empty spec")
		return nil, p.error()
	}
	if line := secondDocument(data); line > 0 {
		p.failf(&yaml.Node{Line: line}, "", "a second YAML document (after ---): a spec is one document")
		return nil, p.error()
	}
	p.top(s, doc.Content[0])
	if err := p.error(); err != nil {
		if len(p.warn) > 0 {
			return nil, &WarnedError{Err: err, Warnings: p.warn}
		}
		return nil, err
	}
	s.Warnings = p.warn
	return s, nil
}

// WarnedError is a spec's errors with the warnings found beside them,
// which may say what caused them: a dt of 0.1 s ends the run at the
// spike, an error, where the warning says the dt was meant in ms.
type WarnedError struct {
	Err      error
	Warnings []string
}

// Error returns the errors' message alone.
func (e *WarnedError) Error() string { return e.Err.Error() }

// Unwrap returns the errors.
func (e *WarnedError) Unwrap() error { return e.Err }

// secondDocument returns the line of a second YAML document in data (one
// with content, or one that does not parse), or 0. yaml.Unmarshal reads
// the first alone: what follows a --- would be ignored without a word.
func secondDocument(data []byte) (line int) {
	defer func() {
		if recover() != nil {
			line = 1
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var first yaml.Node
	if dec.Decode(&first) != nil {
		return 0
	}
	for {
		var next yaml.Node
		err := dec.Decode(&next)
		switch {
		case errors.Is(err, io.EOF):
			return 0
		case err == nil && (len(next.Content) == 0 || next.Content[0].Tag == "!!null" && next.Content[0].Value == ""):
			continue // an empty document: a lone ---
		case err == nil:
			return max(next.Line, 1)
		}
		if n, _ := yamlLine(err, data); n > 0 {
			return n
		}
		return 1
	}
}

// unmarshal decodes YAML into a node tree; a panic inside the YAML library
// becomes an error.
func unmarshal(data []byte, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	return yaml.Unmarshal(data, n)
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlParserProblems are the YAML library's parser errors (not its
// scanner's or reader's). The line it gives them counts from 0: it adds 1
// to its scanner's only. They name the line where the collection they
// could not finish starts ([, {, a block mapping or list).
var yamlParserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"found undefined tag handle":             true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// yamlLine returns the line (from 1; 0 when unknown) and the message of a
// YAML syntax error in data. The library gives no line for what its
// reader refuses (bytes that are not UTF-8 text, control characters): it
// is found here.
func yamlLine(err error, data []byte) (int, string) {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if yamlParserProblems[m[2]] {
			line++
		}
		// A tab is named at the start of the scalar it follows (its
		// line may go on below): the tab's line is more use.
		if strings.Contains(m[2], "tab character") {
			line = tabLine(data, line)
		}
		return line, m[2]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	if at, what := badText(data); at >= 0 {
		return 1 + bytes.Count(data[:at], []byte("\n")), what
	}
	return 0, msg
}

// tabLine returns the first line of data from line on (from 1) whose
// indentation holds a tab, or line when none does.
func tabLine(data []byte, line int) int {
	for i, l := range strings.Split(string(data), "\n") {
		if i+1 >= line && strings.Contains(l[:len(l)-len(strings.TrimLeft(l, " \t"))], "\t") {
			return i + 1
		}
	}
	return line
}

// badText returns the offset of the first character of data that the
// YAML library's reader refuses (a byte that is not UTF-8, a control
// character), and what it is; -1 when there is none.
func badText(data []byte) (int, string) {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			return i, fmt.Sprintf("byte 0x%02X is not UTF-8 text: save the spec as UTF-8", data[i])
		case !(r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0x7E || r == 0x85 ||
			r >= 0xA0 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000):
			return i, fmt.Sprintf("control character %U: a spec is text", r)
		}
		i += n
	}
	return -1, ""
}

// yamlError turns a YAML syntax error into an *Error.
func (p *parser) yamlError(err error, data []byte) *Error {
	line, msg := yamlLine(err, data)
	// The slip (a line indented one space off) is in or below the block
	// named. (A flow collection, [..] or {..}, is named where it opens.)
	if msg == "did not find expected key" || msg == "did not find expected '-' indicator" {
		msg += fmt.Sprintf(" in the block that starts at line %d: check the indentation of its lines", line)
	}
	return &Error{File: p.file, Line: max(line, 1), Msg: "invalid YAML: " + msg}
}

var experimentRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

var constantNames = []string{"E_AMPA", "E_NMDA", "E_GABA", "E_Na", "E_K", "E_Ca", "Mg_con", "Alpha_NMDA", "Beta_NMDA", "Gamma_NMDA"}

func (p *parser) top(s *Spec, root *yaml.Node) {
	m := p.mapping(root, "", []string{"dendfit", "experiment", "description", "simulation", "constants", "cells", "populations", "pathways", "sweep", "fit"})
	if p.failed() {
		return
	}
	if root.Kind != yaml.MappingNode {
		p.failf(root, "", "want a mapping at the top level")
		return
	}
	if n := p.require(m, "dendfit"); n != nil {
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Value != "1" {
			got := describe(n)
			if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
				got = fmt.Sprintf("the string %q (write it without quotes)", n.Value)
			}
			p.failf(n, "dendfit", "want format version 1, got %s", got)
		}
		s.Version = 1
	}
	if n := p.require(m, "experiment"); n != nil {
		if v, ok := p.scalar(n, "experiment", "an experiment name"); ok {
			if !experimentRE.MatchString(v) {
				p.failf(n, "experiment", "name %q: want letters, digits, _, . and - only", v)
			}
			s.Name = v
		}
	}
	if n := m.get("description"); n != nil {
		if n.Kind != yaml.ScalarNode {
			p.failf(n, "description", "want text, got %s", describe(n))
		} else if n.ShortTag() != "!!null" {
			s.Description = n.Value
		}
	}
	// The parts of a spec are each checked, and their errors reported
	// together, but for what builds on a part that failed: the
	// populations name cells; the pathways build on the populations, on
	// the simulation's window and on the constants (their reversals); the
	// sweep on the pathways. Cells read the constants (dSpike reversals)
	// but are checked without them: p.constantsFailed turns off the one
	// check that compares them.
	simFailed := p.section(func() { p.simulation(s, m) })
	p.constantsFailed = p.section(func() { p.constants(s, m.get("constants")) })
	p.section(func() { p.fit(s, m.get("fit")) })
	var cellNodes map[string]*cellNodes
	if p.section(func() { cellNodes = p.cells(s, m) }) {
		return
	}
	if p.section(func() { p.populations(s, m) }) || simFailed || p.constantsFailed {
		return
	}
	var pn []*pathwayNodes
	if p.section(func() { pn = p.pathways(s, m, cellNodes) }) {
		return
	}
	p.section(func() { p.sweep(s, m.get("sweep"), pn) })
	if !p.failed() {
		p.shortTimeConstants(s, pn, m.get("sweep"))
		built := builtCells(s)
		p.unstableCells(s, m, cellNodes, built)
		p.oddCompartments(s, cellNodes, built)
		p.dspikeSteps(s, cellNodes)
		p.restlessPathways(s, pn)
	}
}

// maxParseSolve is the most compartments of a cell whose states parsing
// solves (restlessPathways).
const maxParseSolve = 64

// restlessPathways warns of pathways with no state to measure a PSP from:
// an AdEx cell with no resting state, or held where it leaves the holding
// on its own (above VT), or a negative adaptation. Every run of such a
// pathway fails as every run of an unstable cell does, so it is said
// here, once for each reason, with the pathways it stops. Only cells that
// can have no stable state (an AdEx compartment, a negative a) are
// solved, a linear cell always has one, and only small ones: the
// stability of a state takes a dense eigensolve, 1.5 s at 800
// compartments, which every parse would pay (sim.New still refuses such
// a pathway, saying why). A recorded text is not checked: what it warns
// of is in the run.
func (p *parser) restlessPathways(s *Spec, pn []*pathwayNodes) {
	if p.recorded {
		return
	}
	type reason struct {
		pws  []string
		node *yaml.Node
		path string
	}
	var order []string
	byMsg := map[string]*reason{}
	// Pathways onto one cell share its state, unless their holdings
	// differ: solved once each.
	solved := map[StateKey]error{}
	for i, pw := range s.Pathways {
		if i >= len(pn) || pn[i] == nil {
			continue
		}
		sc := s.CellByName(s.PopulationCell(pw.Post))
		if sc == nil {
			continue
		}
		if len(sc.Compartments) > maxParseSolve {
			continue
		}
		restless := false
		for _, cp := range sc.Compartments {
			if cp.Model == sim.AdEx || cp.Model.Adaptive() && cp.A < 0 {
				restless = true
			}
		}
		if !restless {
			continue
		}
		setup, _, err := s.Setup(i)
		if err != nil {
			continue // Setup says why, where it matters
		}
		pr := &setup.Protocol
		k := s.StateKeyOf(i, pr)
		err, ok := solved[k]
		if !ok {
			_, err = sim.StartState(setup.Cell, pr)
			solved[k] = err
		}
		if err == nil {
			continue
		}
		msg := strings.TrimPrefix(err.Error(), "sim: ")
		r := byMsg[msg]
		if r == nil {
			m := pn[i].m
			r = &reason{node: m.node, path: m.path}
			if pw.Hold {
				r.node, r.path = m.get("holding"), m.sub("holding")
			}
			byMsg[msg] = r
			order = append(order, msg)
		}
		r.pws = append(r.pws, strconv.Itoa(i))
	}
	for _, msg := range order {
		r := byMsg[msg]
		which := "pathway " + r.pws[0] + " cannot be simulated (fit ends it sim_failed"
		if len(r.pws) > 1 {
			which = "pathways " + strings.Join(r.pws, ", ") + " cannot be simulated (fit ends them sim_failed"
		}
		p.warnf(r.node, r.path, "%s, sweep refuses the spec): %s", which, msg)
	}
}

// unstableCells warns of a post cell whose passive part the method cannot
// step at dt: every run of its pathways fails (fit ends them sim_failed,
// sweep refuses the spec), so it is said once, here, where the cure is.
func (p *parser) unstableCells(s *Spec, top *mapping, cn map[string]*cellNodes, built map[string]*sim.Cell) {
	sm := s.Simulation
	for _, sc := range s.Cells {
		var pws []string
		for i, pw := range s.Pathways {
			if s.PopulationCell(pw.Post) == sc.Name {
				pws = append(pws, strconv.Itoa(i))
			}
		}
		if len(pws) == 0 {
			continue
		}
		c := built[sc.Name]
		if c == nil {
			continue // Setup says why, where it matters
		}
		lim, tau := sim.StableDt(c, sm.Method)
		// Exponential Euler is stable at any dt, but takes each
		// compartment's neighbours as constant over a step: past the
		// fastest time constant of their coupling its PSPs drift far
		// from the cell's (a trial's: -15% at dt = tau, -75% at 10 tau).
		coarse := sm.Method == sim.ExponentialEuler && len(c.Compartments) > 1 && sm.Dt > tau
		if !(sm.Dt > lim) && !coarse {
			continue
		}
		at, path := cn[sc.Name].m.node, "cells."+sc.Name
		if sn := top.get("simulation"); sn != nil && sn.Kind == yaml.MappingNode {
			if dn := p.mapping(sn, "simulation", nil).get("dt"); dn != nil {
				at, path = dn, "simulation.dt"
			}
		}
		if coarse {
			p.warnf(at, path, "dt %g ms is %.3g times cell %s's fastest passive time constant (%.4g ms): exponential_euler stays stable, but steps the coupling of its compartments so coarsely that its PSPs can be far off the cell's (fit's dt/10 check measures by how much); use dt below %.4g ms",
				sm.Dt/1e-3, sm.Dt/tau, sc.Name, tau/1e-3, tau/1e-3)
			continue
		}
		which := "pathway " + pws[0] + ": it cannot be simulated (fit ends it sim_failed"
		if len(pws) > 1 {
			which = "pathways " + strings.Join(pws, ", ") + ": they cannot be simulated (fit ends them sim_failed"
		}
		// exponential_euler is offered only where it would be accurate:
		// at a dt past the coupling's time constant its PSPs are far off
		// (a trial took the advice and fitted a g 25 times too strong).
		alt := " or method exponential_euler"
		if len(c.Compartments) > 1 && sm.Dt > tau {
			alt = fmt.Sprintf(" (exponential_euler would run at this dt, but its PSPs would be far off the cell's: it needs dt below %.4g ms too)", tau/1e-3)
		}
		p.warnf(at, path, "dt %g ms is beyond %s's stability limit of %.4g ms for cell %s (its fastest passive time constant is %.4g ms), the post cell of %s, sweep refuses the spec); use dt below %.4g ms%s",
			sm.Dt/1e-3, sm.Method, lim/1e-3, sc.Name, tau/1e-3, which, lim/1e-3, alt)
	}
}

// builtCells is every cell of s as the simulator builds it, by name (nil
// for one that does not build: Setup says why), for the parse-time checks
// of cells to share.
func builtCells(s *Spec) map[string]*sim.Cell {
	built := map[string]*sim.Cell{}
	for _, sc := range s.Cells {
		if c, err := sc.Build(); err == nil {
			built[sc.Name] = c
		}
	}
	return built
}

// Bounds no neuron compartment comes near: a capacitance above maxC (a
// whole large neuron is under 1 nF) or a membrane time constant outside
// [minTauM, maxTauM] is a unit slip (cm_abs in uF for pF, a length in mm
// for um, gl_abs in mS for nS, gl in mS/cm2 for uS/cm2: a trial's 0.02 ms
// passed the bound of 0.01 ms), which no other check catches: the cell
// just gives no PSP, or needs a dt of nanoseconds.
const (
	maxC    = 10e-9
	minTauM = 1e-4
	maxTauM = 10.0
)

// Above maxDt no PSP is resolved (Dendrify's examples run at 0.025 to
// 0.1 ms), and above maxDuration a run is no PSP's window: both are most
// likely in s for ms.
const (
	maxDt       = 1e-3
	maxDuration = 10.0
)

// oddCompartments warns, once a compartment, of a capacitance or membrane
// time constant out of any neuron's range.
func (p *parser) oddCompartments(s *Spec, cn map[string]*cellNodes, built map[string]*sim.Cell) {
	if p.recorded {
		return
	}
	for _, sc := range s.Cells {
		c := built[sc.Name]
		if c == nil || cn[sc.Name] == nil || len(cn[sc.Name].comps) != len(c.Compartments) {
			continue
		}
		for i, cp := range c.Compartments {
			tau := cp.C / cp.GL
			var odd []string
			if cp.C > maxC {
				odd = append(odd, fmt.Sprintf("a capacitance of %.4g pF (above %g nF)", cp.C/1e-12, maxC/1e-9))
			}
			if tau < minTauM || tau > maxTauM {
				odd = append(odd, fmt.Sprintf("a membrane time constant of %.4g ms (outside %g ms to %g s)", tau/1e-3, minTauM/1e-3, maxTauM))
			}
			if len(odd) == 0 {
				continue
			}
			m := cn[sc.Name].comps[i]
			p.warnf(m.node, m.path, "%s has %s, which no neuron compartment has: check the units of its size and membrane fields (length and diameter in um, cm_abs in pF, gl_abs in nS?)", cp.Name, strings.Join(odd, " and "))
		}
	}
}

// steps is the whole steps of dt in t as the simulator counts them
// (sim.Timestep), the time they come to, and whether that is t (to a
// millionth of a step).
func steps(t, dt float64) (n int, on float64, whole bool) {
	n = sim.Timestep(t, dt)
	on = float64(float64(n) * dt) // no fused multiply-add: the same on every architecture
	return n, on, math.Abs(t-on) <= 1e-6*dt
}

// dspikeSteps warns of a dSpike time that is not a whole number of steps
// of dt: the mechanism counts whole steps, as Dendrify does, so one under
// dt lasts none (a rise of 0 steps passes no current, though the dSpike
// is counted as fired) and another is cut to the step below. A trial's
// dSpikes fired 77 times with no effect on any PSP, without a word.
func (p *parser) dspikeSteps(s *Spec, cn map[string]*cellNodes) {
	dt := s.Simulation.Dt
	for _, sc := range s.Cells {
		nodes := cn[sc.Name]
		if nodes == nil || len(nodes.comps) != len(sc.Compartments) {
			continue
		}
		for i, cp := range sc.Compartments {
			list := nodes.comps[i].get("dspikes")
			for j, d := range cp.DSpikes {
				if list == nil || j >= len(list.Content) {
					continue
				}
				at := list.Content[j]
				path := index(nodes.comps[i].sub("dspikes"), j)
				for _, f := range []struct {
					name string
					v    float64
				}{{"duration_rise", d.DurationRise}, {"duration_fall", d.DurationFall}, {"offset_fall", d.OffsetFall}, {"refractory", d.Refractory}} {
					n, on, whole := steps(f.v, dt)
					switch {
					case n == 0:
						p.warnf(at, join(path, f.name), "%g ms is under dt (%g ms): dSpike %s counts whole steps, as Dendrify does, so it lasts none", f.v/1e-3, dt/1e-3, d.Name)
					case !whole:
						p.warnf(at, join(path, f.name), "%g ms is not a whole number of steps of dt (%g ms): dSpike %s counts whole steps, as Dendrify does, so it lasts %d, %.6g ms", f.v/1e-3, dt/1e-3, d.Name, n, on/1e-3)
					}
				}
			}
		}
	}
}

// shortTimeConstants warns of a receptor time constant, or a swept one,
// shorter than dt under an explicit method: its gating variable's step
// overshoots zero and oscillates (Euler; RK4 loses accuracy), so the PSP
// is the integrator's more than the model's. Under exponential_euler the
// gating stays stable, but its time course falls within one step, so the
// PSP depends on dt (a trial's t_rise of 0.1 ms at dt 0.5 ms: 75% off its
// value at dt/10). Dendrify runs it all the same, hence a warning.
func (p *parser) shortTimeConstants(s *Spec, pn []*pathwayNodes, sweep *yaml.Node) {
	sm := s.Simulation
	// note says which commands take a first receptor's time constant from
	// the spec when a sweep axis or a kinetics fit replaces it for the
	// others ("" when every command takes it).
	warn := func(n *yaml.Node, path string, tau float64, note string) {
		if sm.Method == sim.ExponentialEuler {
			p.warnf(n, path, "%g ms is shorter than dt (%g ms): exponential_euler keeps the synaptic gating stable, but its time course falls within a step, so the PSP depends on dt (fit's dt/10 check measures by how much)%s; use a smaller dt",
				tau/1e-3, sm.Dt/1e-3, note)
			return
		}
		// At or below the method's stability limit it is worse: the
		// gating does not decay, and the simulator refuses it
		// (sim.CheckGating).
		if sim.CheckGating(sim.Protocol{Method: sm.Method, Dt: sm.Dt}, []sim.Receptor{{TauDecay: tau}}) != nil {
			p.warnf(n, path, "%g ms is not above %s's stability limit at dt %g ms: the synaptic gating oscillates without decaying whatever g, and a run with it fails%s; use a smaller dt or method exponential_euler",
				tau/1e-3, sm.Method, sm.Dt/1e-3, note)
			return
		}
		p.warnf(n, path, "%g ms is shorter than dt (%g ms) under %s: the step of the synaptic gating overshoots and the PSP is the integrator's%s; use a smaller dt or method exponential_euler",
			tau/1e-3, sm.Dt/1e-3, sm.Method, note)
	}
	for i, pw := range s.Pathways {
		kinetics := pw.TargetRise > 0 || pw.TargetHalfWidth > 0 || pw.TargetTimeToPeak > 0
		for j, r := range pw.Receptors {
			m := pn[i].receptors[j]
			if r.TauDecay < sm.Dt {
				warn(m.get("t_decay"), m.sub("t_decay"), r.TauDecay, takenBy(j == 0 && s.Sweep.TDecay.Given(), j == 0 && kinetics, "t_decay"))
			}
			if r.TauRise > 0 && r.TauRise < sm.Dt {
				warn(m.get("t_rise"), m.sub("t_rise"), r.TauRise, takenBy(j == 0 && s.Sweep.TRise.Given(), j == 0 && kinetics, "t_rise"))
			}
		}
	}
	if sweep == nil {
		return
	}
	for _, a := range []struct {
		key  string
		axis Axis
	}{{"t_decay", s.Sweep.TDecay}, {"t_rise", s.Sweep.TRise}} {
		if !a.axis.Given() {
			continue
		}
		m := p.mapping(sweep, "sweep", []string{"g", "t_decay", "t_rise"})
		if a.axis.List != nil {
			// Each value of a list under dt (a trial's second one went
			// unsaid, and its points failed too).
			n := m.get(a.key)
			for i, v := range a.axis.List {
				if v < sm.Dt {
					at := n
					if n != nil && n.Kind == yaml.SequenceNode && i < len(n.Content) {
						at = n.Content[i]
					}
					warn(at, index(m.sub(a.key), i), v, "")
				}
			}
			continue
		}
		if lo := min(a.axis.From, a.axis.To); lo < sm.Dt { // a range's least value
			warn(m.get(a.key), m.sub(a.key), lo, "")
		}
	}
}

// takenBy is the note of a warning about a first receptor's time constant
// param (t_decay or t_rise) that a sweep axis (swept) or a kinetics fit
// (fitted) replaces: which commands still run with the spec's value.
func takenBy(swept, fitted bool, param string) string {
	switch {
	case swept && fitted:
		return fmt.Sprintf(" (only simulate and plot trace run with it: sweep takes sweep.%s, and fit searches %s from dt up)", param, param)
	case swept:
		return fmt.Sprintf(" (simulate, fit and plot trace run with it; sweep takes sweep.%s)", param)
	case fitted:
		return fmt.Sprintf(" (simulate, sweep and plot trace run with it; fit searches %s from dt up)", param)
	}
	return ""
}

func (p *parser) simulation(s *Spec, top *mapping) {
	n := top.get("simulation")
	if n == nil {
		return
	}
	m := p.mapping(n, "simulation", []string{"dt", "method", "duration", "spike_at"})
	sm := &s.Simulation
	if v := m.get("dt"); v != nil {
		before := len(p.errs)
		sm.Dt = p.positive(v, "simulation.dt", Time)
		if len(p.errs) == before && sm.Dt < minDt {
			hint := ""
			if meant := sm.Dt / 1e-6; unitOf(v.Value) == "us" && meant >= 0.001 && meant <= 1 {
				hint = fmt.Sprintf("; did you mean %.6g ms?", meant)
			}
			p.warnf(v, "simulation.dt", "dt %q is %.6g ms, far below the 0.01 to 0.1 ms Dendrify's models run at: every run takes that much longer%s", v.Value, sm.Dt/1e-3, hint)
		}
		if len(p.errs) == before && sm.Dt > maxDt {
			hint := ""
			if unitOf(v.Value) == "s" && sm.Dt <= 1 {
				hint = fmt.Sprintf("; did you mean %.6g ms?", sm.Dt)
			}
			p.warnf(v, "simulation.dt", "dt %q is %.6g ms, far above the 0.01 to 0.1 ms Dendrify's models run at: no PSP is resolved, and most cells are unstable%s", v.Value, sm.Dt/1e-3, hint)
		}
	}
	if v := m.get("duration"); v != nil {
		before := len(p.errs)
		sm.Duration = p.positive(v, "simulation.duration", Time)
		if len(p.errs) == before && sm.Duration > maxDuration {
			hint := ""
			if unitOf(v.Value) == "s" && sm.Duration <= 10000 {
				hint = fmt.Sprintf("; did you mean %.6g ms?", sm.Duration)
			}
			p.warnf(v, "simulation.duration", "duration %q is %.6g s, far beyond a PSP's window (tens to hundreds of ms): every run takes that much longer%s", v.Value, sm.Duration, hint)
		}
	}
	if v := m.get("spike_at"); v != nil {
		before := len(p.errs)
		sm.SpikeAt = p.quantity(v, "simulation.spike_at", Time)
		if len(p.errs) == before && sm.SpikeAt < 0 {
			p.failf(v, "simulation.spike_at", "must not be negative, got %q", v.Value)
		}
	}
	if v := m.get("method"); v != nil {
		if w, ok := p.scalar(v, "simulation.method", "euler, rk4 or exponential_euler"); ok {
			meth, err := sim.ParseMethod(w)
			if err != nil {
				p.failf(v, "simulation.method", "%v", err)
			}
			sm.Method = meth
		}
	}
	if p.failed() {
		return
	}
	if sm.Dt > sm.Duration {
		if at := m.get("dt"); at != nil {
			p.failf(at, "simulation.dt", "dt (%g ms) is larger than duration (%g ms)", sm.Dt/1e-3, sm.Duration/1e-3)
		} else {
			p.failf(m.get("duration"), "simulation.duration", "duration (%g ms) is shorter than dt (%g ms, the default)", sm.Duration/1e-3, sm.Dt/1e-3)
		}
		return
	}
	if sm.Duration/sm.Dt > maxSteps {
		// Named at dt when dt is below what any model runs at (the
		// slip is there), at duration otherwise.
		what, at := "duration", m.get("duration")
		if sm.Dt < minDt || at == nil {
			what, at = "dt", m.get("dt")
		}
		if at == nil {
			at = m.node
		}
		p.failf(at, "simulation."+what, "duration/dt (%g ms / %g ms) is more than %g steps: give a larger dt or a shorter duration", sm.Duration/1e-3, sm.Dt/1e-3, float64(maxSteps))
		return
	}
	if sm.SpikeAt >= sm.Duration {
		at := m.get("spike_at")
		if at == nil {
			at = m.node
		}
		p.failf(at, "simulation.spike_at", "spike_at (%g ms) is not before the end of the run (duration %g ms): the spike would never arrive; give a duration longer than spike_at by the PSP's time course", sm.SpikeAt/1e-3, sm.Duration/1e-3)
		return
	}
	if k, n := sm.SpikeStep(), sm.Steps(); k >= n-1 {
		at := m.get("spike_at")
		if at == nil {
			at = m.node
		}
		p.failf(at, "simulation.spike_at", "spike_at (%g ms) falls on the last sample of the run (step %d of 0..%d): no sample follows it to measure a PSP; give a duration longer than spike_at by the PSP's time course", sm.SpikeAt/1e-3, k, n-1)
		return
	}
	// The spike reaches V a step after it arrives (the sample after it is
	// still the steady state): one sample after it measures no PSP.
	if k, n := sm.SpikeStep(), sm.Steps(); k == n-2 {
		at := m.get("duration")
		if at == nil {
			at = m.node
		}
		p.warnf(at, "simulation.duration", "the run ends one sample after spike_at (step %d of 0..%d), and a spike moves V from the step after that one: every PSP is 0; give a duration longer than spike_at by the PSP's time course", k, n-1)
	}
	// Brian 2 delivers the spike on the step its time falls in; one off
	// the grid moves, silently, to the step before.
	if at := m.get("spike_at"); at != nil {
		if k, on, whole := steps(sm.SpikeAt, sm.Dt); !whole {
			p.warnf(at, "simulation.spike_at", "%g ms is not a whole number of steps of dt (%g ms): Brian 2 delivers the spike at step %d, %.6g ms", sm.SpikeAt/1e-3, sm.Dt/1e-3, k, on/1e-3)
		}
	}
}

func (p *parser) constants(s *Spec, n *yaml.Node) {
	if n == nil {
		return
	}
	m := p.mapping(n, "constants", nil)
	c := &s.Constants
	for _, k := range m.order {
		v, path := m.vals[k], m.sub(k)
		switch k {
		case "E_AMPA":
			c.EAMPA = p.potential(v, path)
		case "E_NMDA":
			c.ENMDA = p.potential(v, path)
		case "E_GABA":
			c.EGABA = p.potential(v, path)
			// A sign slip: the fit then blamed the holding potential.
			if !p.failed() && c.EGABA > 0 {
				p.warnf(v, path, "%q is above 0 mV: GABA_A currents reverse near -70 mV (chloride), so this inhibition would excite; did you mean %.6g mV?", v.Value, -c.EGABA/1e-3)
			}
		case "E_Na":
			s.Ions.ENa = p.potential(v, path)
		case "E_K":
			s.Ions.EK = p.potential(v, path)
		case "E_Ca":
			s.Ions.ECa = p.potential(v, path)
		case "Mg_con":
			before := len(p.errs)
			c.MgCon = p.number(v, path)
			if len(p.errs) == before && c.MgCon < 0 {
				p.failf(v, path, "must not be negative")
			}
		case "Alpha_NMDA":
			c.AlphaNMDA = p.number(v, path)
		case "Beta_NMDA":
			before := len(p.errs)
			c.BetaNMDA = p.number(v, path)
			if len(p.errs) == before && !(c.BetaNMDA > 0) {
				p.failf(v, path, "must be positive")
			}
		case "Gamma_NMDA":
			c.GammaNMDA = p.number(v, path)
		default:
			p.failf(m.keys[k], path, "unknown constant (want one of %s)", strings.Join(constantNames, ", "))
		}
	}
}

// reversal returns the value of a named reversal constant.
func (s *Spec) reversal(name string) (float64, bool) {
	switch name {
	case "E_AMPA":
		return s.Constants.EAMPA, true
	case "E_NMDA":
		return s.Constants.ENMDA, true
	case "E_GABA":
		return s.Constants.EGABA, true
	case "E_Na":
		return s.Ions.ENa, true
	case "E_K":
		return s.Ions.EK, true
	case "E_Ca":
		return s.Ions.ECa, true
	}
	return 0, false
}

func (p *parser) populations(s *Spec, top *mapping) {
	n := p.require(top, "populations")
	if n == nil {
		return
	}
	m := p.mapping(n, "populations", nil)
	if !p.failed() && len(m.order) == 0 {
		p.failf(n, "populations", "want at least one population")
	}
	// Each population on its own: a mistake in one does not hide another's.
	for _, k := range m.order {
		p.section(func() {
			path := m.sub(k)
			name := p.identKey(m.keys[k], path, "population name")
			v := m.vals[k]
			c, ok := p.scalar(v, path, "a cell name")
			if p.failed() {
				return
			}
			if !ok || s.CellByName(c) == nil {
				p.failf(v, path, "unknown cell %q (cells: %s)", c, strings.Join(cellNames(s), ", "))
				return
			}
			s.Populations = append(s.Populations, Population{Name: name, Cell: c})
		})
	}
}

func cellNames(s *Spec) []string {
	var n []string
	for _, c := range s.Cells {
		n = append(n, c.Name)
	}
	return n
}

func popNames(s *Spec) []string {
	var n []string
	for _, c := range s.Populations {
		n = append(n, c.Name)
	}
	return n
}

func (p *parser) fit(s *Spec, n *yaml.Node) {
	if n == nil {
		return
	}
	m := p.mapping(n, "fit", []string{"g_min", "g_max", "rtol"})
	f := &s.Fit
	if v := m.get("g_min"); v != nil {
		f.GMin = p.positive(v, "fit.g_min", Conductance)
	}
	if v := m.get("g_max"); v != nil {
		f.GMax = p.positive(v, "fit.g_max", Conductance)
	}
	if v := m.get("rtol"); v != nil {
		before := len(p.errs)
		f.RTol = p.number(v, "fit.rtol")
		if len(p.errs) == before && !(f.RTol > 0 && f.RTol <= 0.1) {
			p.failf(v, "fit.rtol", "want a number in (0, 0.1], got %s", describe(v))
		}
	}
	if !p.failed() && f.GMin >= f.GMax {
		at := m.get("g_min")
		if at == nil {
			at = m.get("g_max")
		}
		p.failf(at, "fit.g_min", "g_min (%.6g nS) must be less than g_max (%.6g nS)", f.GMin/1e-9, f.GMax/1e-9)
	}
}
