package spec

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// parser walks the YAML node tree. After an error the walk goes on, with
// zero values, through the parts that do not build on what failed, and
// Parse returns every error it recorded (failf, section).
type parser struct {
	file string
	err  *Error   // the first error; later steps that build on what failed are skipped
	errs []*Error // every error, one a line and field, for one report
	warn []string
	// constantsFailed: the constants block failed, so the values cells
	// read for its names may not be what the spec means.
	constantsFailed bool
	// recorded: the text of a recorded run (ParseRecorded), which keeps
	// being read as it was recorded; refusals added for new input since
	// (the conductance cap, the size limit) do not apply to it.
	recorded bool
}

// failf records an error at n's line. Parsing goes on after one, as far
// as what follows does not build on what failed (checks that do are
// guarded by failed), so that a spec's independent mistakes are reported
// together; a second error on the same line and field is dropped.
func (p *parser) failf(n *yaml.Node, path, format string, a ...any) {
	line, col := 0, 0
	if n != nil {
		line, col = n.Line, n.Column
	}
	e := &Error{File: oneLine(p.file), Line: line, Path: oneLine(path), Msg: oneLine(fmt.Sprintf(format, a...)), col: col}
	for _, o := range p.errs {
		if o.Line == e.Line && o.Path == e.Path {
			return
		}
	}
	if p.err == nil {
		p.err = e
	}
	p.errs = append(p.errs, e)
}

// reportf records an error that does not fail the part being parsed:
// what follows it is read and checked as if the node were not there.
func (p *parser) reportf(n *yaml.Node, path, format string, a ...any) {
	before := p.err
	p.failf(n, path, format, a...)
	p.err = before
}

// failKnown fails the part being parsed with the error already reported
// at node n and path, and says whether there is one.
func (p *parser) failKnown(n *yaml.Node, path string) bool {
	for _, e := range p.errs {
		if e.Line == n.Line && e.Path == oneLine(path) {
			if p.err == nil {
				p.err = e
			}
			return true
		}
	}
	return false
}

// section runs f, a part of the spec that does not build on the parts
// parsed before it: an error before does not stop it (within f, failed
// reports f's own), so that its errors are reported with theirs. It
// reports whether f failed.
func (p *parser) section(f func()) (failed bool) {
	before := p.err
	p.err = nil
	f()
	failed = p.err != nil
	if before != nil {
		p.err = before
	}
	return failed
}

// error returns what parsing found: nil, the one *Error, or Errors in
// line order.
func (p *parser) error() error {
	switch len(p.errs) {
	case 0:
		return nil
	case 1:
		return p.errs[0]
	}
	es := Errors(slices.Clone(p.errs))
	slices.SortStableFunc(es, func(a, b *Error) int { return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.col, b.col)) })
	return es
}

// oneLine escapes control characters, as Go quotes them, so that a message
// naming a quoted YAML key or value that holds a newline stays one line.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// fitRule records what only a fit cannot take (a kinetics target that no
// PSP of the window can meet) as a warning for every command, and returns
// it as the error a fit gives before any run (Pathway.FitErrors): a sweep
// or a simulation of the spec does not use its targets. A recorded run's
// text, taken when it ran, only warns (nil): its fit stays reproducible.
func (p *parser) fitRule(n *yaml.Node, path, format string, a ...any) *Error {
	if p.recorded {
		p.warnf(n, path, format, a...)
		return nil
	}
	p.warnf(n, path, format+" (fit refuses it)", a...)
	line := 0
	if n != nil {
		line = n.Line
	}
	return &Error{File: oneLine(p.file), Line: line, Path: oneLine(path), Msg: oneLine(fmt.Sprintf(format, a...))}
}

func (p *parser) warnf(n *yaml.Node, path, format string, a ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	e := &Error{File: oneLine(p.file), Line: line, Path: oneLine(path), Msg: oneLine(fmt.Sprintf(format, a...))}
	p.warn = append(p.warn, e.Error())
}

func (p *parser) failed() bool { return p.err != nil }

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// mapping is a checked YAML mapping: keys are unique scalars from the
// allowed set.
type mapping struct {
	node  *yaml.Node
	path  string
	vals  map[string]*yaml.Node
	keys  map[string]*yaml.Node
	order []string
	// misspelt holds the unknown keys, by the allowed key each most likely
	// misspells ("did you mean"): require then fails without saying the
	// field is missing, which would repeat the unknown field's error.
	misspelt map[string]*yaml.Node
}

func (m *mapping) get(key string) *yaml.Node { return m.vals[key] }

// has reports whether key is present.
func (m *mapping) has(key string) bool { return m.vals[key] != nil }

func (m *mapping) sub(key string) string { return join(m.path, key) }

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "a YAML document"
}

// checkNode rejects anchors and aliases, which the spec does not use.
func (p *parser) checkNode(n *yaml.Node, path string) bool {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		p.failf(n, path, "anchors and aliases are not supported")
		return false
	}
	return true
}

// mapping checks that n is a mapping with keys from allowed (any keys when
// allowed is nil) and returns it; a null node is an empty mapping. It never
// returns nil.
func (p *parser) mapping(n *yaml.Node, path string, allowed []string) *mapping {
	m := &mapping{node: n, path: path, vals: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	if n == nil || !p.checkNode(n, path) {
		return m
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return m
	}
	if n.Kind != yaml.MappingNode {
		p.failf(n, path, "want a mapping, got %s", describe(n))
		return m
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || !p.checkNode(k, path) {
			p.failf(k, path, "want a plain key, got %s", describe(k))
			return m
		}
		kp := join(path, k.Value)
		if k.ShortTag() == "!!merge" {
			p.failf(k, kp, "merge keys are not supported")
			return m
		}
		if m.vals[k.Value] != nil {
			p.failf(k, kp, "duplicate key (first on line %d)", m.keys[k.Value].Line)
			return m
		}
		if allowed != nil && !contains(allowed, k.Value) {
			hint := ""
			near := nearest(k.Value, allowed)
			if strings.Contains(strings.ToLower(k.Value), "mg") && contains(allowed, "channel") {
				// A receptor's Mg block is not a switch: it is the
				// NMDA channel's own (a trial wrote mg_block: true).
				hint = "; NMDA always carries Dendrify's Mg block, set by constants Mg_con, Alpha_NMDA, Beta_NMDA and Gamma_NMDA (Mg_con: 0 lifts it); AMPA and GABA have none"
				near = ""
			}
			if near != "" {
				hint = fmt.Sprintf("; did you mean %s?", near)
				if m.misspelt == nil {
					m.misspelt = map[string]*yaml.Node{}
				}
				m.misspelt[near] = k
			}
			// Reported, but the mapping's other fields are read and
			// checked: a misspelt key hid every other mistake of its
			// pathway (a receptor's unit) until it was mended.
			p.reportf(k, kp, "unknown field%s (want one of %s)", hint, strings.Join(allowed, ", "))
			continue
		}
		if !p.checkNode(v, kp) {
			return m
		}
		m.vals[k.Value] = v
		m.keys[k.Value] = k
		m.order = append(m.order, k.Value)
	}
	return m
}

// seq checks that n is a list and returns its items.
func (p *parser) seq(n *yaml.Node, path string) []*yaml.Node {
	if n == nil || !p.checkNode(n, path) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.failf(n, path, "want a list, got %s", describe(n))
		return nil
	}
	for i, c := range n.Content {
		if !p.checkNode(c, index(path, i)) {
			return nil
		}
	}
	return n.Content
}

// require returns m's value for key, failing when it is absent.
func (p *parser) require(m *mapping, key string) *yaml.Node {
	n := m.get(key)
	switch {
	case n == nil && m.misspelt[key] != nil && p.failKnown(m.misspelt[key], join(m.path, m.misspelt[key].Value)):
		// Said already, as an unknown field that may be it; what needs
		// the field is not checked.
	case n == nil:
		p.failf(m.node, m.sub(key), "missing required field")
	}
	return n
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// scalar returns a plain scalar's text; null, booleans and collections fail.
func (p *parser) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n == nil {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		p.failf(n, path, "want %s, got %s", want, describe(n))
		return "", false
	}
	switch n.ShortTag() {
	case "!!null", "!!bool":
		p.failf(n, path, "want %s, got %s", want, describe(n))
		return "", false
	}
	return n.Value, true
}

var identRE = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// ident returns a name of ASCII letters and digits only.
func (p *parser) ident(n *yaml.Node, path, what string) string {
	s, ok := p.scalar(n, path, what)
	if !ok {
		return ""
	}
	if !identRE.MatchString(s) {
		p.failf(n, path, "%s %q: want ASCII letters and digits only (Dendrify splits names on _)", what, s)
		return ""
	}
	return s
}

// identKey checks a mapping key used as a name.
func (p *parser) identKey(k *yaml.Node, path, what string) string {
	if !identRE.MatchString(k.Value) {
		p.failf(k, path, "%s %q: want ASCII letters and digits only (Dendrify splits names on _)", what, k.Value)
		return ""
	}
	return k.Value
}

// quantity parses a quantity of dimension d.
func (p *parser) quantity(n *yaml.Node, path string, d Dimension) float64 {
	if n == nil {
		return 0
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" || n.ShortTag() == "!!bool" {
		p.failf(n, path, "want %v, got %s", d, describe(n))
		return 0
	}
	v, err := ParseQuantity(n.Value, d)
	if err != nil {
		p.failf(n, path, "%v", err)
		return 0
	}
	return v
}

// MaxConductance bounds a conductance (S) wherever one is given:
// synapses and couplings are nS to uS. 1e300 S parsed, and became +Inf in
// nS in the output and the database.
const MaxConductance = 1.0

// positive parses a quantity that must be > 0 (and a conductance at most
// MaxConductance, as capped says).
func (p *parser) positive(n *yaml.Node, path string, d Dimension) float64 {
	before := len(p.errs)
	v := p.quantity(n, path, d)
	if n != nil && len(p.errs) == before && !(v > 0) {
		if v == 0 && dendrifyParam(path) {
			p.failf(n, path, "must be positive, got %q (Dendrify treats an exact zero as not given)", n.Value)
		} else {
			p.failf(n, path, "must be positive, got %q", n.Value)
		}
		return 0
	}
	return p.capped(n, path, d, v)
}

// dendrifyParam says whether the field at path is given to Dendrify (a
// compartment's, a receptor's, a dSpike's), not one of dendfit's own (the
// protocol, targets, the sweep and fit blocks): why a zero is refused
// differs.
func dendrifyParam(path string) bool {
	if strings.HasPrefix(path, "simulation.") || strings.HasPrefix(path, "sweep.") || strings.HasPrefix(path, "fit.") {
		return false
	}
	return !strings.HasPrefix(path[strings.LastIndexByte(path, '.')+1:], "target_")
}

// inputRule fails the parse for a rule that new input must follow, and
// only warns for a recorded run's text (ParseRecorded), which may have
// been recorded before the rule and must stay readable as it was. It
// reports whether it failed.
func (p *parser) inputRule(n *yaml.Node, path, format string, a ...any) bool {
	if p.recorded {
		p.warnf(n, path, format, a...)
		return false
	}
	p.failf(n, path, format, a...)
	return true
}

// capped refuses a conductance above MaxConductance in magnitude (an
// inputRule), and returns v.
func (p *parser) capped(n *yaml.Node, path string, d Dimension, v float64) float64 {
	// A value that failed to parse is 0, below the cap.
	if n == nil || d != Conductance || !(math.Abs(v) > MaxConductance) {
		return v
	}
	what := "above 1 S"
	if v < 0 {
		what = "beyond 1 S in magnitude"
	}
	if p.inputRule(n, path, "%q is %s, far beyond any conductance of these models (nS to uS); check the unit", n.Value, what) {
		return 0
	}
	return v
}

// nonNegative parses a quantity that may be zero but not negative.
func (p *parser) nonNegative(n *yaml.Node, path string, d Dimension) float64 {
	before := len(p.errs)
	v := p.quantity(n, path, d)
	if n != nil && len(p.errs) == before && !(v >= 0) {
		p.failf(n, path, "must not be negative, got %q", n.Value)
		return 0
	}
	return p.capped(n, path, d, v)
}

// Membrane potentials, reversal potentials and thresholds lie between
// these magnitudes (V); a value outside is most often a unit slip (uV or V
// written for mV), which the dimension check cannot see. The least is
// below any potential given in V by mistake for mV (none reaches 0.2 V),
// and above the reversals near 0 mV that models use (Dendrify's papers
// take E_NMDA = 0.35 mV, which a bound of 1 mV called a slip).
const (
	minPotential = 0.2e-3
	maxPotential = 0.2
)

// plausiblePotential warns of a non-zero potential v whose magnitude is
// outside [minPotential, maxPotential], with the value the unit it most
// likely meant gives. It reports whether v was plausible.
func (p *parser) plausiblePotential(n *yaml.Node, path string, v float64) bool {
	a := math.Abs(v)
	switch {
	case n == nil || p.failed() || v == 0 || (a >= minPotential && a <= maxPotential):
		return true
	case a < minPotential:
		p.warnf(n, path, "%q is %.6g mV, closer to 0 mV than any membrane or reversal potential%s", n.Value, v/1e-3, meantMV(v*1e3))
	default:
		p.warnf(n, path, "%q is %.6g mV, beyond any membrane or reversal potential%s", n.Value, v/1e-3, meantMV(v*1e-3))
	}
	return false
}

// meantMV suggests v (V), the value a unit slip by a factor of 1000 gives,
// when it is a plausible potential: "; did you mean -65 mV?".
func meantMV(v float64) string {
	if a := math.Abs(v); a < minPotential || a > maxPotential {
		return ""
	}
	return fmt.Sprintf("; did you mean %.6g mV?", v/1e-3)
}

// An AdEx slope factor DeltaT is a fraction of a mV to a few mV (2 mV in
// Brette and Gerstner 2005); one outside [minSlope, maxSlope] is most
// likely a unit slip, and makes the spike's upstroke a step (uV) or the
// exponential current the whole membrane current (V).
const (
	minSlope = 0.01e-3
	maxSlope = 50e-3
)

// plausibleSlope warns of a DeltaT outside [minSlope, maxSlope], with the
// value the unit most likely meant.
func (p *parser) plausibleSlope(n *yaml.Node, path string, v float64) {
	if n == nil || p.failed() || v >= minSlope && v <= maxSlope {
		return
	}
	// The value meant, when it is uV or V written for mV and that makes
	// it a usual slope factor.
	where, meant, slip := "below", v/1e-6, "uV"
	if v > maxSlope {
		where, meant, slip = "above", v, "V"
	}
	hint := ""
	if unitOf(n.Value) == slip && meant >= 0.1 && meant <= 10 {
		hint = fmt.Sprintf("; did you mean %.6g mV?", meant)
	}
	p.warnf(n, path, "%q is %.6g mV, far %s any AdEx slope factor (0.5 to 5 mV)%s", n.Value, v/1e-3, where, hint)
}

// potential parses a voltage that is a membrane or reversal potential or
// a threshold, warning of an implausible magnitude.
func (p *parser) potential(n *yaml.Node, path string) float64 {
	v := p.quantity(n, path, Voltage)
	p.plausiblePotential(n, path, v)
	return v
}

// nonzero parses a quantity for which an exact zero means "not given" in
// Dendrify.
func (p *parser) nonzero(n *yaml.Node, path string, d Dimension) float64 {
	before := len(p.errs)
	v := p.quantity(n, path, d)
	if n != nil && len(p.errs) == before && v == 0 {
		p.failf(n, path, "must not be zero: Dendrify treats an exact zero as not given, got %q", n.Value)
	}
	return v
}

// number parses a plain YAML number.
func (p *parser) number(n *yaml.Node, path string) float64 {
	if n == nil {
		return 0
	}
	t := n.ShortTag()
	if n.Kind == yaml.ScalarNode && t == "!!str" {
		// YAML leaves a number beyond double range as text.
		if _, err := strconv.ParseFloat(n.Value, 64); errors.Is(err, strconv.ErrRange) {
			p.failf(n, path, "%q is beyond double precision: want a plain number of at most about 1e308", n.Value)
			return 0
		}
	}
	if n.Kind != yaml.ScalarNode || (t != "!!int" && t != "!!float") {
		p.failf(n, path, "want a plain number, got %s", describe(n))
		return 0
	}
	var v float64
	if err := n.Decode(&v); err != nil {
		p.failf(n, path, "want a plain number, got %s", describe(n))
		return 0
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		p.failf(n, path, "want a finite number, got %s", describe(n))
		return 0
	}
	return v
}

// integer parses a plain YAML integer.
func (p *parser) integer(n *yaml.Node, path string) int {
	if n == nil {
		return 0
	}
	var v int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		p.failf(n, path, "want an integer, got %s", describe(n))
		return 0
	}
	return v
}

// boolean parses a YAML boolean.
func (p *parser) boolean(n *yaml.Node, path string) bool {
	if n == nil {
		return false
	}
	var v bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&v) != nil {
		p.failf(n, path, "want true or false, got %s", describe(n))
		return false
	}
	return v
}

// oneOf parses a scalar that must be one of the given words.
func (p *parser) oneOf(n *yaml.Node, path string, words ...string) string {
	want := strings.Join(words, " | ")
	s, ok := p.scalar(n, path, want)
	if !ok {
		return ""
	}
	if !contains(words, s) {
		p.failf(n, path, "want %s, got %q", want, s)
		return ""
	}
	return s
}

// unitOf is the unit a quantity is written with, as ParseQuantity reads
// it ("2 uV" and "2µV": "uV").
func unitOf(q string) string {
	_, rest := splitNumber(strings.TrimSpace(q))
	return normUnit(strings.TrimSpace(rest))
}

// nearest returns the name of names that key most likely misspells (at
// most two edits away, one for a key of up to 4 bytes, case aside), or
// "".
func nearest(key string, names []string) string {
	best, bestD := "", 3
	if len(key) <= 4 {
		bestD = 2
	}
	for _, n := range names {
		if d := editDistance(strings.ToLower(key), strings.ToLower(n)); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1]
			if a[i-1] != b[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
