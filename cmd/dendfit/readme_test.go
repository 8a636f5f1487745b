package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestREADMEExampleSpec: the spec shown in the README is one dendfit
// accepts and can fit, so a reader can start from it.
func TestREADMEExampleSpec(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatal("no yaml block in the README")
	}
	p := filepath.Join(t.TempDir(), "readme.yaml")
	if err := os.WriteFile(p, m[1], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "-q", "--db", filepath.Join(t.TempDir(), "r.db"), "fit", p); err != nil {
		t.Fatalf("the README's example spec: %v", err)
	}
}
