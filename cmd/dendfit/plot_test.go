package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// plotTestCLI runs dendfit in-process with args, quietly.
func plotTestCLI(t *testing.T, args ...string) error {
	t.Helper()
	_, err := runCLI(t, append([]string{"-q"}, args...)...)
	return err
}

// TestPlotAndReportCommands sweeps and fits a reference case with a log g
// sweep and draws every figure and the report from the database.
func TestPlotAndReportCommands(t *testing.T) {
	dir := t.TempDir()
	dbp := filepath.Join(dir, "t.db")
	spec := "../../pipeline/testdata/reference/cases/ampa-instant-2comp-dimensionless-gsweep.yaml"
	const exp = "ampa-instant-2comp-dimensionless-gsweep"
	for _, c := range [][]string{{"sweep", spec}, {"fit", spec}} {
		if err := plotTestCLI(t, append([]string{"--db", dbp}, c...)...); err != nil && !errors.Is(err, errNotConverged) {
			t.Fatalf("%v: %v", c, err)
		}
	}
	out := func(name string) string { return filepath.Join(dir, name) }
	for _, c := range [][]string{
		{"plot", "trace", spec, "-o", out("trace.png")},
		{"plot", "trace", spec, "--fitted", "--compartment", "soma", "-o", out("fitted.svg")},
		{"plot", "trace", spec, "--g", "2.5 nS", "-p", "0", "-o", out("g.svg"), "--width", "12", "--height", "8"},
		{"plot", "curve", "--experiment", exp, "-o", out("curve.svg")},
		{"plot", "curve", "--run", "2", "-o", out("curve-fit.png")},
		{"report", "--experiment", exp, "-o", out("report.html")},
	} {
		if err := plotTestCLI(t, append([]string{"--db", dbp}, c...)...); err != nil {
			t.Errorf("%v: %v", c, err)
		}
	}
	if b, err := os.ReadFile(out("g.svg")); err != nil || !strings.Contains(string(b), `width="340.16pt" height="226.77pt"`) {
		t.Errorf("--width 12 --height 8: %v %.200s", err, b)
	}
	// --title replaces a figure's title; --t-min and --t-max bound a
	// trace's time axis.
	for _, c := range [][]string{
		{"plot", "trace", spec, "--t-min", "8", "--t-max", "30 ms", "--title", "Fig. 2A", "-o", out("t.svg")},
		{"plot", "curve", "--run", "1", "--title", "Fig. 2A", "-o", out("t.svg")},
	} {
		if err := plotTestCLI(t, append([]string{"--db", dbp}, c...)...); err != nil {
			t.Errorf("%v: %v", c, err)
		} else if b, _ := os.ReadFile(out("t.svg")); !strings.Contains(string(b), ">Fig. 2A<") || strings.Contains(string(b), "run 1<") {
			t.Errorf("%v: the title is not Fig. 2A alone", c)
		}
	}
	for _, tc := range []struct{ args []string }{
		{[]string{"--t-min", "30", "--t-max", "20"}},
		{[]string{"--t-max", "5 mV"}},
		{[]string{"--t-min", "-1"}},
		{[]string{"--t-min", "5 s"}},
	} {
		if err := plotTestCLI(t, append([]string{"--db", dbp, "plot", "trace", spec, "-o", out("t.svg")}, tc.args...)...); err == nil {
			t.Errorf("plot trace %v: no error", tc.args)
		}
	}
	if pf, err := os.Open(out("trace.png")); err != nil {
		t.Error(err)
	} else {
		if _, err := png.DecodeConfig(pf); err != nil {
			t.Errorf("trace.png: %v", err)
		}
		pf.Close()
	}
	if b, err := os.ReadFile(out("report.html")); err != nil || strings.Count(string(b), "<svg") != 2 {
		t.Errorf("report: %v", err)
	}
	// A t_decay x t_rise sweep: the heat map's axes default to those two.
	kin := "../../pipeline/testdata/reference/cases/sweep-tdecay-trise-ampa-3comp.yaml"
	if err := plotTestCLI(t, "--db", dbp, "sweep", kin); err != nil {
		t.Fatal(err)
	}
	// A reproduction of a sweep holds its grid too.
	if err := plotTestCLI(t, "--db", dbp, "reproduce", "3"); err != nil {
		t.Fatal(err)
	}
	if err := plotTestCLI(t, "--db", dbp, "plot", "heatmap", "--run", "4", "-o", out("heat-repro.png")); err != nil {
		t.Errorf("heat map of a reproduced sweep: %v", err)
	}
	// And a reproduction of that reproduction (run 5); a reproduction of
	// the fit (run 6) draws the fit's curve.
	if err := plotTestCLI(t, "--db", dbp, "reproduce", "4"); err != nil {
		t.Fatal(err)
	}
	if err := plotTestCLI(t, "--db", dbp, "plot", "heatmap", "--run", "5", "-o", out("heat-repro2.png")); err != nil {
		t.Errorf("heat map of a reproduction of a reproduced sweep: %v", err)
	}
	if err := plotTestCLI(t, "--db", dbp, "reproduce", "2"); err != nil {
		t.Fatal(err)
	}
	// Its figure is the fit's (log g axis, the fit's own g marked) but
	// for the title.
	for _, run := range []string{"2", "6"} {
		if err := plotTestCLI(t, "--db", dbp, "plot", "curve", "--run", run, "-o", out("curve-run"+run+".svg")); err != nil {
			t.Errorf("curve of run %s: %v", run, err)
		}
	}
	fitSVG, _ := os.ReadFile(out("curve-run2.svg"))
	reproSVG, _ := os.ReadFile(out("curve-run6.svg"))
	untitled := func(b []byte) string {
		var keep []string
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, " run 2") || strings.Contains(l, " run 6") {
				// The title, and the <text> placing it (centred: its x
				// follows the title's width).
				keep = keep[:max(len(keep)-1, 0)]
				continue
			}
			keep = append(keep, l)
		}
		return strings.Join(keep, "\n")
	}
	if len(fitSVG) == 0 || untitled(fitSVG) != untitled(reproSVG) {
		t.Errorf("curve of a reproduced fit differs from the fit's beyond the title")
	}
	if err := plotTestCLI(t, "--db", dbp, "plot", "heatmap", "-e", "sweep-tdecay-trise-ampa-3comp", "-o", out("heat.svg")); err != nil {
		t.Error(err)
	} else if b, _ := os.ReadFile(out("heat.svg")); !strings.Contains(string(b), "τ decay, first receptor (ms)") ||
		!strings.Contains(string(b), "τ rise, first receptor (ms)") {
		t.Errorf("heat map axes: %.300s", b)
	}
	// Usage errors exit 2.
	for _, c := range [][]string{
		{"plot", "trace", spec, "-o", out("x.pdf")},
		{"plot", "trace", spec, "--g", "5 mV", "-o", out("x.png")},
		{"plot", "trace", spec, "--g", "1", "--fitted", "-o", out("x.png")},
		{"plot", "curve", "-o", out("x.png")},
		{"plot", "heatmap", "--experiment", exp, "-o", out("x.png")}, // a g-only sweep
		{"plot", "heatmap", "--run", "2", "-o", out("x.png")},        // a fit run
		{"plot", "curve", "--run", "3", "-o", out("x.png")},          // a sweep without a g axis
		{"report", "-o", out("r.html")},
		{"report", "--experiment", exp, "-o", out("r.txt")},
	} {
		err := plotTestCLI(t, append([]string{"--db", dbp}, c...)...)
		if code := exitCode(context.Background(), err, io.Discard); code != exitUsage {
			t.Errorf("%v: exit %d (%v), want %d", c, code, err, exitUsage)
		}
	}
	if err := plotTestCLI(t, "--db", dbp, "report", "--experiment", "nope", "-o", out("r.html")); err == nil {
		t.Error("report of an unknown experiment: no error")
	}
	// Another tool deletes the originals (the fit, run 2, and the sweep,
	// run 3): their reproductions still draw as before.
	raw, err := sql.Open("sqlite3", dbp+"?_foreign_keys=on")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`DELETE FROM runs WHERE id IN (2, 3)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if err := plotTestCLI(t, "--db", dbp, "plot", "heatmap", "--run", "5", "-o", out("heat-orphan.png")); err != nil {
		t.Errorf("heat map of a reproduction of a deleted sweep: %v", err)
	}
	if err := plotTestCLI(t, "--db", dbp, "plot", "curve", "--run", "6", "-o", out("curve-orphan.svg")); err != nil {
		t.Errorf("curve of a reproduction of a deleted fit: %v", err)
	}
	if b, _ := os.ReadFile(out("curve-orphan.svg")); untitled(b) != untitled(reproSVG) {
		t.Errorf("curve of a reproduction of a deleted fit differs from the fit's beyond the title")
	}
}

// TestReportNote: report's note says whether the figures come from a fit
// or, with none recorded yet, from the spec's g.
func TestReportNote(t *testing.T) {
	dir := t.TempDir()
	dbp := filepath.Join(dir, "t.db")
	spec := "../../pipeline/testdata/reference/cases/ampa-instant-2comp-dimensionless-gsweep.yaml"
	note := func(args ...string) string {
		var out, errOut bytes.Buffer
		root := newRootCmdIO(&out, &errOut)
		root.SetArgs(append([]string{"--db", dbp}, args...))
		if err := root.ExecuteContext(context.Background()); err != nil && !errors.Is(err, errNotConverged) {
			t.Fatalf("%v: %v", args, err)
		}
		return errOut.String()
	}
	note("-q", "sweep", spec)
	r := filepath.Join(dir, "r.html")
	if got := note("report", "-o", r); !strings.Contains(got, "1 pathway, no fit recorded (the figures use the spec's g)") {
		t.Errorf("report after a sweep said %q", got)
	}
	note("-q", "fit", spec)
	if got := note("report", "-o", r); !strings.Contains(got, "1 pathway, 1 fitted by fit run 2, 0 not converged\n") {
		t.Errorf("report after a fit said %q", got)
	}
	// Its pathway is measured at rest, and its row says so.
	if b, _ := os.ReadFile(r); !strings.Contains(string(b), "<td>soma, at rest</td>") {
		t.Error("the calibration table does not say the PSP was measured at rest")
	}
	// A fit of one pathway of three, each with a target: the note says
	// the other two were not fitted, not only that none failed.
	note("-q", "fit", "../../pipeline/testdata/reference/cases/two-populations-three-pathways.yaml", "-p", "2")
	if got := note("report", "-e", "two-populations-three-pathways", "-o", r); !strings.Contains(got, "3 pathways, 1 fitted by fit run 3, 0 not converged, 2 with a target and no fit") {
		t.Errorf("report after a fit of one pathway of three said %q", got)
	}
	// A fit of the other two: the calibration takes pathway 2's from run 3.
	note("-q", "fit", "../../pipeline/testdata/reference/cases/two-populations-three-pathways.yaml", "-p", "0", "-p", "1")
	if got := note("report", "-e", "two-populations-three-pathways", "-o", r); !strings.Contains(got, "3 pathways, 2 fitted by fit run 4 and 1 by earlier fit runs, 0 not converged\n") {
		t.Errorf("report after a fit of the other two said %q", got)
	}
}

// TestPlotCurveSelectsByIndex: --pathway selects a pathway by its index,
// not by its label, which two pathways may share (they then carry their
// compartment in the legend, as --pathway pre->post@compartment names
// them).
func TestPlotCurveSelectsByIndex(t *testing.T) {
	dir := t.TempDir()
	dbp := filepath.Join(dir, "t.db")
	if err := plotTestCLI(t, "--db", dbp, "sweep", "../../pipeline/plot/testdata/same-label.yaml"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"-p", "1"}, []string{"E-&gt;E (AMPA) @dend"}},
		{nil, []string{"E-&gt;E (AMPA) @soma", "E-&gt;E (AMPA) @dend"}},
	} {
		out := filepath.Join(dir, "c.svg")
		if err := plotTestCLI(t, append([]string{"--db", dbp, "plot", "curve", "-o", out}, tc.args...)...); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		got := regexp.MustCompile(`E-&gt;E \(AMPA\)[^<]*`).FindAllString(string(b), -1)
		if !slices.Equal(got, tc.want) {
			t.Errorf("plot curve %v: legend %q, want %q", tc.args, got, tc.want)
		}
	}
}

// TestPlotFittedOfAnEditedSpec: --fitted draws a fit only of the pathway
// the spec defines: after the cell is edited, the old fit is refused
// (it was drawn, labelled fitted, at a PSP off the target); after only
// the target is edited, it is drawn with a warning.
func TestPlotFittedOfAnEditedSpec(t *testing.T) {
	dir := t.TempDir()
	dbp := filepath.Join(dir, "t.db")
	text, err := os.ReadFile("../../experiments/l23-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, old, new string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Replace(string(text), old, new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	orig := write("orig.yaml", "", "")
	if err := plotTestCLI(t, "--db", dbp, "fit", orig); err != nil {
		t.Fatal(err)
	}
	run := func(spec string) (string, error) {
		var out, errOut bytes.Buffer
		root := newRootCmdIO(&out, &errOut)
		root.SetArgs([]string{"--db", dbp, "plot", "trace", spec, "--fitted", "-o", filepath.Join(dir, "t.png")})
		err := root.ExecuteContext(context.Background())
		return errOut.String(), err
	}
	if _, err := run(write("leaky.yaml", "gl: 40 uS/cm2", "gl: 80 uS/cm2")); err == nil ||
		!strings.Contains(err.Error(), "no fit in "+dbp+" is of pathway 0 (L23E->L23E (AMPA+NMDA)) as") {
		t.Errorf("edited cell: %v, want the old fit refused", err)
	}
	stderr, err := run(write("retarget.yaml", "target_psp: 0.5 mV", "target_psp: 0.8 mV"))
	if err != nil || !strings.Contains(stderr, "fit run 1 targeted a PSP of 0.5 mV") {
		t.Errorf("edited target: %v, stderr %q; want drawn with a warning", err, stderr)
	}
}

// TestTraceFittedWithoutAFit: --fitted with no recorded fit says so, and
// what to run (a stopped run's fits are applied: TestFitCtrlCJSON).
func TestTraceFittedWithoutAFit(t *testing.T) {
	path := qDB(t) // the sweep experiment has no fit run
	_, err := qcli(t, path, "plot", "trace", qSweep, "--fitted", "-o", filepath.Join(t.TempDir(), "t.png"))
	if err == nil || !strings.Contains(err.Error(), "has no recorded fit in") || !strings.Contains(err.Error(), "run 'dendfit fit "+qSweep+"' first") {
		t.Errorf("plot trace --fitted: %v", err)
	}
}

// TestOnePathwayAmbiguityTellsThemApart: pre->post naming two pathways of
// a one-pathway figure lists them with what differs, tag and holding; the
// list read "E->E (AMPA) at dend" twice.
func TestOnePathwayAmbiguityTellsThemApart(t *testing.T) {
	b, err := os.ReadFile("../../pipeline/testdata/reference/cases/seed-ampa-2comp-dimensional.yaml")
	if err != nil {
		t.Fatal(err)
	}
	second := "- pre: L23E\n  post: L23E\n  compartment: dend\n  tag: held\n  receptors:\n  - channel: AMPA\n    g: 1 nS\n    t_decay: 2 ms\n  holding: -60 mV\n"
	path := filepath.Join(t.TempDir(), "two.yaml")
	if err := os.WriteFile(path, append(b, second...), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = runCLI(t, "--db", filepath.Join(t.TempDir(), "x.db"), "plot", "trace", path, "-p", "L23E->L23E", "-o", filepath.Join(t.TempDir(), "t.png"))
	want := "L23E->L23E name 0 (L23E->L23E (AMPA) at dend, tag L23E), 1 (L23E->L23E (AMPA) at dend, tag held, held at -60 mV): give one index"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("plot trace -p L23E->L23E: %v, want %q", err, want)
	}
}

// TestPlotShardSweepNote: with no run of the whole grid (one shard swept,
// or a merge with shards missing), plot draws the shard's run and says it
// is a part of the grid.
func TestPlotShardSweepNote(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/d.db"
	const specPath = "../../pipeline/testdata/reference/cases/ampa-instant-2comp-dimensionless-gsweep.yaml"
	if _, _, err := runCLIStderr(t, "--db", path, "-q", "sweep", "--shard", "0/2", specPath); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := runCLIStderr(t, "--db", path, "plot", "curve", "-o", dir+"/c.png")
	if err != nil || !strings.Contains(stderr, "note: drawing sweep run 1, shard 0 of 2, a part of the grid: 'dendfit merge' of the shards makes a run of it all") {
		t.Errorf("plot curve of a shard's sweep: %v, said %q", err, stderr)
	}
	if _, err := os.Stat(dir + "/c.png"); err != nil {
		t.Error(err)
	}
}

// TestPlotOfAnUnfinishedSweepSaysSo: a curve or heat map of a sweep that
// did not finish notes that it holds a part of the grid (a killed sweep's
// curve was drawn as if whole); a finished one's has no such note.
func TestPlotOfAnUnfinishedSweepSaysSo(t *testing.T) {
	dir := t.TempDir()
	dbp := filepath.Join(dir, "t.db")
	if err := plotTestCLI(t, "--db", dbp, "sweep", "../../pipeline/testdata/reference/cases/ampa-instant-2comp-dimensionless-gsweep.yaml"); err != nil {
		t.Fatal(err)
	}
	curve := func() string {
		_, errOut, err := runCLIStderr(t, "--db", dbp, "plot", "curve", "--run", "1", "-o", filepath.Join(dir, "c.svg"))
		if err != nil {
			t.Fatal(err)
		}
		return errOut
	}
	if n := curve(); strings.Contains(n, "part of the grid") {
		t.Errorf("finished sweep: %q", n)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "c.svg")); len(b) == 0 || strings.Contains(string(b), "part of the grid") {
		t.Errorf("finished sweep's curve: %d bytes, or marked partial", len(b))
	}
	for status, want := range map[string]string{
		"cancelled": "note: run 1 ended cancelled: it holds the points recorded before it stopped, a part of the grid",
		"running":   "note: run 1 was interrupted (its process ended before it finished)", // no process holds its claim
	} {
		raw, err := sql.Open("sqlite3", dbp)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(`UPDATE runs SET status = ? WHERE id = 1`, status); err != nil {
			t.Fatal(err)
		}
		raw.Close()
		if n := curve(); !strings.Contains(n, want) {
			t.Errorf("%s sweep: stderr %q, want %q", status, n, want)
		}
	}
	// Drawn by experiment, the newest finished sweep is wanted: there is
	// none, and the error says what became of run 1 and how to go on.
	raw, err := sql.Open("sqlite3", dbp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE runs SET status = 'cancelled' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	_, errOut, err := runCLIStderr(t, "--db", dbp, "plot", "curve", "-o", filepath.Join(dir, "c.svg"))
	if want := "no finished sweep nor recorded fit in " + dbp + "; sweep run 1 was cancelled: 'dendfit sweep --resume=1' with its spec finishes it, and 'dendfit plot curve --run 1' draws what it recorded"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("curve of the experiment: %v (stderr %q), want it to say %q", err, errOut, want)
	}
	// A heat map's names its own command (it named plot curve).
	if _, _, err := runCLIStderr(t, "--db", dbp, "plot", "heatmap", "-o", filepath.Join(dir, "h.svg")); err == nil || !strings.Contains(err.Error(), "'dendfit plot heatmap --run 1' draws what it recorded") {
		t.Errorf("heatmap of the experiment: %v", err)
	}
	// Its reproduction (run 2, done) reran the points it recorded, and a
	// reproduction of that (run 3) holds them too: a part of the grid.
	for _, id := range []string{"1", "2"} {
		if err := plotTestCLI(t, "--db", dbp, "reproduce", id); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"2", "3"} {
		// A g-only sweep makes no heat map, but the note comes first.
		_, errOut, _ := runCLIStderr(t, "--db", dbp, "plot", "heatmap", "--run", id, "-o", filepath.Join(dir, "h.svg"))
		_, errOut2, err := runCLIStderr(t, "--db", dbp, "plot", "curve", "--run", id, "-o", filepath.Join(dir, "c.svg"))
		if err != nil {
			t.Fatal(err)
		}
		want := "note: run " + id + " reproduces a sweep that did not finish: it holds the points that one recorded, a part of the grid"
		if !strings.Contains(errOut2, want) || !strings.Contains(errOut, want) {
			t.Errorf("reproduction run %s: stderr %q / %q, want %q", id, errOut, errOut2, want)
		}
		// The figure says so too (-q keeps nothing on stderr).
		if b, _ := os.ReadFile(filepath.Join(dir, "c.svg")); !strings.Contains(string(b), "sweep run "+id+", part of the grid") &&
			!strings.Contains(string(b), "reproduce run "+id+", part of the grid") {
			t.Errorf("reproduction run %s: curve title without the partial grid", id)
		}
	}
	// query points takes the newest finished run, run 3, by default: it
	// says, even under -q, that it is a part of the grid (it said nothing).
	_, errOut, err = runCLIStderr(t, "--db", dbp, "-q", "query", "points", "--format", "csv")
	if want := "warning: run 3 reproduces a sweep that did not finish: it holds the points that one recorded, a part of the grid"; err != nil || !strings.Contains(errOut, want) {
		t.Errorf("query points: %v, stderr %q, want %q", err, errOut, want)
	}
	// Once run 1 is swept to the end, it is taken before its newer
	// partial reproductions (a trial's query points still took run 3).
	if err := plotTestCLI(t, "--db", dbp, "sweep", "--resume=1", "../../pipeline/testdata/reference/cases/ampa-instant-2comp-dimensionless-gsweep.yaml"); err != nil {
		t.Fatal(err)
	}
	_, errOut, err = runCLIStderr(t, "--db", dbp, "query", "points", "--format", "csv")
	if want := "points of run 1, the newest finished run of "; err != nil || !strings.HasPrefix(errOut, want) || strings.Contains(errOut, "warning") {
		t.Errorf("query points after run 1 finished: %v, stderr %q, want %q and no warning", err, errOut, want)
	}
}

// TestPathwayWhoseEveryPointFailed: an AdEx cell the synapse fires at
// every g swept (Dendrify's adex has no reset, so it runs away) has failed
// points only. plot curve keys it in the legend, plot curve of it alone
// says why there is nothing to draw, and the report's curve says so; it
// was "no sweep or fit evaluations recorded for this pathway".
func TestPathwayWhoseEveryPointFailed(t *testing.T) {
	text := strings.Replace(referenceCase(t, "adaptiveif-soma-ampa-dend"), "  target_psp: 2 mV\n",
		"  target_psp: 2 mV\n- pre: E\n  post: E\n  compartment: soma\n  receptors:\n  - {channel: AMPA, g: 5 nS, t_decay: 3 ms}\nsweep:\n  g: [2 uS, 5 uS, 20 uS]\n", 1)
	dir := t.TempDir()
	spec, dbp := writeSpec(t, dir, "adex.yaml", text), filepath.Join(dir, "d.db")
	if _, err := qcli(t, dbp, "sweep", spec); err != nil {
		t.Fatal(err)
	}
	pts, err := qcli(t, dbp, "query", "points", "--json")
	if err != nil {
		t.Fatal(err)
	}
	// The premise: pathway 0 (at the dendrite) fails at every g, pathway
	// 1 (at the soma) does not.
	if n := strings.Count(pts, `"status": "failed"`); n != 4 || !strings.Contains(pts, `"pathway": 1`) {
		t.Fatalf("%d failed points (want 4: pathway 0's three, one of pathway 1's):\n%s", n, pts)
	}
	if _, err := qcli(t, dbp, "plot", "curve", "-o", filepath.Join(dir, "c.svg")); err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "c.svg"))
	if err != nil || !strings.Contains(string(svg), "(all 3 points failed: no curve)") || !strings.Contains(string(svg), "(1 failed point not drawn)") {
		t.Errorf("the legend does not count each pathway's failed points (%v)", err)
	}
	_, err = qcli(t, dbp, "plot", "curve", "-p", "0", "-o", filepath.Join(dir, "c0.svg"))
	if want := "run 1 has no successful point of pathway 0 to draw: its 3 points failed ('dendfit query points --run 1 --status failed' shows why)"; err == nil || err.Error() != want {
		t.Errorf("plot curve -p 0: %v, want %q", err, want)
	}
	if _, err := qcli(t, dbp, "report", "-o", filepath.Join(dir, "r.html")); err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(filepath.Join(dir, "r.html"))
	if want := "|PSP| against g: none, as every point of sweep run 1 failed (3, no PSP)."; err != nil || !strings.Contains(string(html), want) {
		t.Errorf("the report does not say %q (%v)", want, err)
	}
}

// TestEditedSpecTextRefused: a spec text edited in the database (by SQL)
// no longer matches its recorded SHA-256, and the commands that rerun,
// export or draw from it refuse it, saying so; reproduce reran the edited
// text as the run's and reported the differences as if the code had
// changed.
func TestEditedSpecTextRefused(t *testing.T) {
	dir := t.TempDir()
	dbp := filepath.Join(dir, "t.db")
	spec := "../../pipeline/testdata/reference/cases/ampa-instant-2comp-dimensionless-gsweep.yaml"
	if err := plotTestCLI(t, "--db", dbp, "fit", spec); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite3", dbp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE experiments SET spec_text = replace(spec_text, 'duration: 100 ms', 'duration: 90 ms')`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	const want = "its stored spec text does not match the SHA-256 recorded with it"
	for _, args := range [][]string{
		{"reproduce", "1"},
		{"export", "--format", "csv"},
		{"plot", "curve", "-o", filepath.Join(dir, "c.svg")},
		{"report", "-o", filepath.Join(dir, "r.html")},
	} {
		if err := plotTestCLI(t, append([]string{"--db", dbp}, args...)...); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s of an edited spec text: %v, want %q", args[0], err, want)
		}
	}
}
