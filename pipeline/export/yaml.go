package export

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/sim/spec"
)

// edit replaces the raw text of one scalar in the spec text.
type edit struct {
	start, end int // byte offsets of the raw scalar
	text       string
	node       *yaml.Node
}

// writeYAML writes the stored spec text with the g of every receptor of
// every converged pathway replaced by its fitted value. The scalars are
// found in the YAML node tree and replaced in place, so every comment,
// every other byte and the layout survive; a header comment names the run.
func writeYAML(w io.Writer, c *Calibration) error {
	text := c.Spec.Text
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return fmt.Errorf("export: stored spec: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return fmt.Errorf("export: stored spec: want a YAML document")
	}
	pws := mapValue(doc.Content[0], "pathways")
	if pws == nil || pws.Kind != yaml.SequenceNode || len(pws.Content) != len(c.Spec.Pathways) {
		return fmt.Errorf("export: stored spec: want a pathways list of %d", len(c.Spec.Pathways))
	}
	lines := lineStarts(text)
	var edits []edit
	for _, f := range c.Fits {
		if !f.Converged {
			continue
		}
		rs := mapValue(pws.Content[f.Pathway], "receptors")
		if rs == nil || rs.Kind != yaml.SequenceNode || len(rs.Content) != len(f.GFitNS) {
			return fmt.Errorf("export: stored spec: pathways[%d].receptors: want %d receptors", f.Pathway, len(f.GFitNS))
		}
		for _, v := range fittedValues(&f) {
			n := mapValue(rs.Content[v.receptor], v.key)
			if n == nil || n.Kind != yaml.ScalarNode {
				return fmt.Errorf("export: stored spec: pathways[%d].receptors[%d].%s: want a quantity", f.Pathway, v.receptor, v.key)
			}
			e := edit{text: v.text, node: n}
			e.start, e.end = scalarExtent(text, lines, n)
			edits = append(edits, e)
		}
	}
	var out []byte
	if spliceable(edits) {
		sort.Slice(edits, func(a, b int) bool { return edits[a].start > edits[b].start })
		out = append([]byte(nil), text...)
		for _, e := range edits {
			raw := e.text
			switch e.node.Style {
			case yaml.DoubleQuotedStyle:
				raw = `"` + raw + `"`
			case yaml.SingleQuotedStyle:
				raw = `'` + raw + `'`
			}
			out = append(out[:e.start], append([]byte(raw), out[e.end:]...)...)
		}
	} else {
		// A scalar we cannot find byte for byte (a multi-line one): edit
		// the node tree and encode it again; comments survive, the layout
		// may not.
		for _, e := range edits {
			e.node.Value, e.node.Style = e.text, 0
		}
		var b bytes.Buffer
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(&doc); err != nil {
			return fmt.Errorf("export: encode spec: %w", err)
		}
		out = b.Bytes()
	}
	head := fmt.Sprintf("# dendfit export: the g (and kinetics) of every converged pathway fitted by run %d (uid %s),\n"+
		"# written in by dendfit %s on %s. Original spec SHA-256: %s\n",
		c.Run.ID, c.Run.RunUID, orUnknown(c.Version), c.Date.UTC().Format("2006-01-02T15:04:05Z"), c.SpecSHA256)
	if o := c.OtherRuns(); o != "" {
		head += fmt.Sprintf("# Not fitted by run %d, so from earlier fits of the same pathways and targets: %s.\n", c.Run.ID, o)
	}
	if bad := c.unconverged(); len(bad) > 0 {
		head += fmt.Sprintf("# NOT CONVERGED, so at their spec g: pathway(s) %s.\n", joinInts(bad))
	}
	for _, n := range c.notes() {
		head += "# " + n + "\n"
	}
	// A run recorded before a rule dendfit now applies to new specs gives
	// a spec that loads as recorded but not as input: said at the top,
	// where whoever uses it will look.
	if _, err := spec.Parse("exported spec", append([]byte(head), out...)); err != nil {
		head += fmt.Sprintf("# NOTE: this spec breaks a rule dendfit applies to new specs since run %d was recorded,\n"+
			"# so dendfit refuses it as input until it is fixed: %s\n", c.Run.ID, strings.ReplaceAll(err.Error(), "\n", " "))
	}
	out = append([]byte(head), out...)
	// The result must be a valid spec with the fitted values in it.
	s, err := spec.ParseRecorded("exported spec", out)
	if err != nil {
		return fmt.Errorf("export: the edited spec does not load: %w", err)
	}
	for _, f := range c.Fits {
		if !f.Converged {
			continue
		}
		for _, v := range fittedValues(&f) {
			r := s.Pathways[f.Pathway].Receptors[v.receptor]
			got, dim := r.G, spec.Conductance
			switch v.key {
			case "t_decay":
				got, dim = r.TauDecay, spec.Time
			case "t_rise":
				got, dim = r.TauRise, spec.Time
			}
			if want, _ := spec.ParseQuantity(v.text, dim); got != want {
				return fmt.Errorf("export: edited spec has %s = %g at pathways[%d].receptors[%d], want %g (SI)", v.key, got, f.Pathway, v.receptor, want)
			}
		}
	}
	_, err = w.Write(out)
	return err
}

// fittedValue is one receptor scalar a fit found, as the spec writes it.
type fittedValue struct {
	receptor int
	key      string // g, t_decay or t_rise
	text     string
}

// fittedValues lists what converged fit f found: every receptor's g and,
// after a kinetics fit, the first receptor's time constants.
func fittedValues(f *db.Fit) []fittedValue {
	var out []fittedValue
	for j, g := range f.GFitNS {
		out = append(out, fittedValue{j, "g", num(g) + " nS"})
	}
	if f.TDecayMS != nil {
		out = append(out, fittedValue{0, "t_decay", num(*f.TDecayMS) + " ms"})
	}
	if f.TRiseMS != nil {
		out = append(out, fittedValue{0, "t_rise", num(*f.TRiseMS) + " ms"})
	}
	return out
}

// mapValue returns the value of key in mapping node m, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func lineStarts(text []byte) []int {
	starts := []int{0}
	for i, b := range text {
		if b == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// scalarExtent returns the byte range of n's raw text in text, or -1, -1
// when it cannot be found exactly on one line.
func scalarExtent(text []byte, lines []int, n *yaml.Node) (int, int) {
	if n.Line < 1 || n.Line > len(lines) || n.Column < 1 {
		return -1, -1
	}
	lineEnd := len(text)
	if n.Line < len(lines) {
		lineEnd = lines[n.Line] - 1
	}
	line := text[lines[n.Line-1]:lineEnd]
	// Column counts characters.
	off := 0
	for col := 1; col < n.Column; col++ {
		if off >= len(line) {
			return -1, -1
		}
		_, size := utf8.DecodeRune(line[off:])
		off += size
	}
	rest := string(line[off:])
	start := lines[n.Line-1] + off
	switch n.Style {
	case 0:
		if strings.HasPrefix(rest, n.Value) {
			return start, start + len(n.Value)
		}
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		q := `"`
		if n.Style == yaml.SingleQuotedStyle {
			q = `'`
		}
		if strings.HasPrefix(rest, q+n.Value+q) {
			return start, start + len(n.Value) + 2
		}
	}
	return -1, -1
}

// spliceable reports whether every edit was found and none overlap.
func spliceable(edits []edit) bool {
	for i, e := range edits {
		if e.start < 0 {
			return false
		}
		for _, o := range edits[:i] {
			if e.start < o.end && o.start < e.end {
				return false
			}
		}
	}
	return true
}
