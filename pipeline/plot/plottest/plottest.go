// Package plottest builds SQLite databases of real sweeps and fits for the
// tests of the figures and the report.
package plottest

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/pipeline"
	"github.com/dendfit/dendfit/sim/spec"
)

// Root returns the module's root directory, found from this file.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// CortexSpec is the shipped cortical example.
func CortexSpec(t testing.TB) *spec.Spec {
	t.Helper()
	s, err := spec.Load(filepath.Join(Root(), "experiments", "cortex-paired-recordings.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// KineticsSpec is the reference case that sweeps t_decay x t_rise on a
// three-compartment chain, with a log g axis of 6 values added and a
// target PSP, so that it has all three sweep axes (72 points).
func KineticsSpec(t testing.TB) *spec.Spec {
	t.Helper()
	path := filepath.Join(Root(), "pipeline", "testdata", "reference", "cases", "sweep-tdecay-trise-ampa-3comp.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(b), "sweep:\n", "sweep:\n  g: {from: 0.5 nS, to: 8 nS, steps: 6, scale: log}\n", 1)
	text = strings.Replace(text, "    t_decay: 3 ms\n", "    t_decay: 3 ms\n  target_psp: 0.5 mV\n", 1)
	s, err := spec.Parse("sweep-tdecay-trise-ampa-3comp+g.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// DB records in a new database file under t.TempDir() a sweep (when sweep)
// and then a fit of s, as `dendfit sweep` and `dendfit fit` do, and returns
// the file's path.
func DB(t testing.TB, s *spec.Spec, sweep, fit bool) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "dendfit.db")
	d, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if sweep {
		run, err := pipeline.StartRun(ctx, d, s, pipeline.RunInfo{Command: db.CommandSweep,
			Argv: []string{"dendfit", "sweep", s.File}, Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		_, err = pipeline.Sweep(ctx, s, d, run.ID, &pipeline.SweepOptions{Workers: 2})
		if ferr := run.Finish(err); err == nil {
			err = ferr
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if fit {
		AddFit(t, path, s, &pipeline.FitOptions{Workers: 2})
	}
	return path
}

// AddFit records a fit of s with options opt in the database at path, as
// `dendfit fit` does, and returns its run id and results.
func AddFit(t testing.TB, path string, s *spec.Spec, opt *pipeline.FitOptions) (int64, []pipeline.FitResult) {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	run, err := pipeline.StartRun(ctx, d, s, pipeline.RunInfo{Command: db.CommandFit,
		Argv: []string{"dendfit", "fit", s.File}, Workers: opt.Workers})
	if err != nil {
		t.Fatal(err)
	}
	res, err := pipeline.Fit(ctx, s, opt)
	if err == nil {
		err = pipeline.RecordFit(ctx, d, run.ID, res)
	}
	if ferr := run.Finish(err); err == nil {
		err = ferr
	}
	if err != nil {
		t.Fatal(err)
	}
	return run.ID, res
}

// MovedCortex returns the text of the shipped cortical example, and the
// text edited as a modeller might: a new pathway (tag extra) inserted at
// the top and the last two pathways swapped. was gives, for each pathway
// of the edited text, its index in the original (-1: the new one).
func MovedCortex(t testing.TB) (orig, edited string, was []int) {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(Root(), "experiments", "cortex-paired-recordings.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	orig = string(text)
	// The pathway blocks, each with the comment lines above it.
	head, rest, _ := strings.Cut(orig, "pathways:\n")
	body, tail, _ := strings.Cut(rest, "sweep:\n")
	var blocks []string
	inComment := false
	for _, line := range strings.SplitAfter(body, "\n") {
		comment := strings.HasPrefix(line, "  # ")
		if comment && !inComment || len(blocks) == 0 {
			blocks = append(blocks, "")
		}
		inComment = comment
		blocks[len(blocks)-1] += line
	}
	if len(blocks) != 7 {
		t.Fatalf("the example has %d pathway blocks, want 7", len(blocks))
	}
	added := "  - pre: L23PC\n    post: L23PC\n    compartment: basal\n    tag: extra\n    receptors:\n      - {channel: AMPA, g: 1 nS, t_decay: 3 ms}\n    target_psp: 0.5 mV\n    holding: -73.4 mV\n"
	moved := []string{added, blocks[0], blocks[1], blocks[2], blocks[3], blocks[4], blocks[6], blocks[5]}
	return orig, head + "pathways:\n" + strings.Join(moved, "") + "sweep:\n" + tail, []int{-1, 0, 1, 2, 3, 4, 6, 5}
}
