package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestREADMESpecIsShipped: the spec the README shows is the one shipped
// as experiments/l23-demo.yaml, which the help examples use.
func TestREADMESpecIsShipped(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := os.ReadFile("../../experiments/l23-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(readme, append(append([]byte("```yaml\n"), shipped...), "```"...)) {
		t.Error("the README's yaml block differs from experiments/l23-demo.yaml")
	}
}

// TestHelpExamplesRun runs every example of every command's --help, as
// written, from a directory holding the shipped experiments, after the
// runs they refer to by id: 1 fit and 4 sweep of the cortex example, 2
// sweep and 3 fit of l23-demo, and four shard databases of l23-demo. The
// examples used to name files, experiments and runs that did not exist.
// SLURM examples run without --submit, into a temporary --dir; a rerun
// needs SLURM and is left to the SLURM tests.
func TestHelpExamplesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every example")
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "experiments"), 0o755); err != nil {
		t.Fatal(err)
	}
	specs, _ := filepath.Glob("../../experiments/*.yaml")
	for _, p := range specs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "experiments", filepath.Base(p)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	t.Setenv("DENDFIT_DB", "")
	const cortex, demo = "experiments/cortex-paired-recordings.yaml", "experiments/l23-demo.yaml"
	for _, args := range [][]string{
		{"fit", cortex}, {"sweep", demo}, {"fit", demo}, {"sweep", cortex},
		{"sweep", demo, "--shard", "0/4", "--db", "shard-0.db"}, {"sweep", demo, "--shard", "1/4", "--db", "shard-1.db"},
		{"sweep", demo, "--shard", "2/4", "--db", "shard-2.db"}, {"sweep", demo, "--shard", "3/4", "--db", "shard-3.db"},
	} {
		if _, err := runCLI(t, append([]string{"-q"}, args...)...); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	scratch := filepath.Join(dir, "scratch")
	n := 0
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, line := range strings.Split(c.Example, "\n") {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "dendfit ") {
				continue
			}
			args, err := shellWords(strings.TrimPrefix(line, "dendfit "))
			if err != nil {
				t.Errorf("%s: example %q: %v", c.CommandPath(), line, err)
				continue
			}
			var run []string
			skip := false
			for _, a := range args {
				switch {
				case a == "--submit":
					continue
				case a == "--rerun":
					skip = true
				case strings.Contains(a, "*"):
					m, _ := filepath.Glob(a)
					if len(m) == 0 {
						t.Errorf("%s: example %q: %s matches nothing", c.CommandPath(), line, a)
					}
					run = append(run, m...)
					continue
				}
				run = append(run, strings.Replace(a, "/scratch/l23", scratch, 1))
			}
			if skip {
				continue
			}
			n++
			if _, err := runCLI(t, append([]string{"-q"}, run...)...); err != nil {
				t.Errorf("%s: example %q: %v", c.CommandPath(), line, err)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd())
	if n < 25 {
		t.Errorf("ran %d examples; the commands' help has more", n)
	}
}

// shellWords splits s as a shell splits a simple command line: at blanks,
// with '...' and "..." quoting.
func shellWords(s string) ([]string, error) {
	var out []string
	var w strings.Builder
	in, quote := false, rune(0)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			w.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				out, in = append(out, w.String()), false
				w.Reset()
			}
		default:
			w.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, errUnclosedQuote
	}
	if in {
		out = append(out, w.String())
	}
	return out, nil
}

var errUnclosedQuote = errorString("unclosed quote")

type errorString string

func (e errorString) Error() string { return string(e) }
