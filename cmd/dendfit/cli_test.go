package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// runCLI runs dendfit in-process with args and returns what it printed on
// stdout.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmdIO(&out, &errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// TestSweepResumeNotes: --resume says when there is nothing to resume and
// starts a new run, then says which run it resumes.
func TestSweepResumeNotes(t *testing.T) {
	path := t.TempDir() + "/d.db"
	sweep := func() string {
		var out, errOut bytes.Buffer
		root := newRootCmdIO(&out, &errOut)
		root.SetArgs([]string{"--db", path, "sweep", "--resume", "../../pipeline/testdata/reference/cases/ampa-instant-2comp-dimensionless-gsweep.yaml"})
		if err := root.ExecuteContext(context.Background()); err != nil {
			t.Fatal(err)
		}
		return errOut.String()
	}
	if got := sweep(); !strings.Contains(got, "no unfinished sweep of this spec to resume: starting a new run") ||
		!strings.Contains(got, "points over 1 pathway, run 1") {
		t.Errorf("first sweep said %q", got)
	}
	// A finished run is not resumed either.
	if got := sweep(); !strings.Contains(got, "starting a new run") || !strings.Contains(got, "run 2") {
		t.Errorf("second sweep said %q", got)
	}
}
