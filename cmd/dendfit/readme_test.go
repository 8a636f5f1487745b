package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEExampleSpec: the spec shown in the README is one dendfit
// accepts and can fit, targets met, so a reader can start from it.
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
	var out, errOut bytes.Buffer
	root := newRootCmdIO(&out, &errOut)
	root.SetArgs([]string{"--db", filepath.Join(t.TempDir(), "r.db"), "fit", p})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("the README's example spec: %v", err)
	}
	// Its kinetics targets are ones its cell can meet: no warning.
	if strings.Contains(errOut.String(), "warning") {
		t.Errorf("fitting the README's example spec warns: %s", errOut.String())
	}
}
