package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/pipeline"
	"github.com/dendfit/dendfit/sim/spec"
)

// runCLI runs dendfit in-process with args and returns what it printed on
// stdout.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, _, err := runCLIStderr(t, args...)
	return out, err
}

// runCLIStderr is runCLI that also returns what the command wrote on
// stderr (notes and warnings).
func runCLIStderr(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmdIO(&out, &errOut)
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// recordedRuns returns every run of the database at path, read-only.
func recordedRuns(t *testing.T, path string) []db.Run {
	t.Helper()
	d, err := db.OpenReadOnly(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	runs, err := d.Runs(context.Background(), db.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// referenceCase returns the text of the shared reference case name.
func referenceCase(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("../../pipeline/testdata/reference/cases/" + name + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// writeSpec writes text as the file name in dir and returns its path.
func writeSpec(t testing.TB, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSweepResumeNotes: --resume with no sweep of the spec starts one; with
// a finished one it records nothing and shows that run's summary (a
// requeued array task that had finished must not sweep its shard again);
// it refuses when an unfinished run read another text of the spec (a new
// run would sweep the whole grid again).
func TestSweepResumeNotes(t *testing.T) {
	path := t.TempDir() + "/d.db"
	const specPath = "../../pipeline/testdata/reference/cases/ampa-instant-2comp-dimensionless-gsweep.yaml"
	var stdout string
	sweep := func() string {
		var out, errOut bytes.Buffer
		root := newRootCmdIO(&out, &errOut)
		root.SetArgs([]string{"--db", path, "sweep", "--resume", specPath})
		if err := root.ExecuteContext(context.Background()); err != nil {
			t.Fatal(err)
		}
		stdout = out.String()
		return errOut.String()
	}
	if got := sweep(); !strings.Contains(got, "no unfinished sweep of this spec to resume: starting a new run") ||
		!strings.Contains(got, "points over 1 pathway, run 1") {
		t.Errorf("first sweep said %q", got)
	}
	first := stdout
	// A finished run is left as it is: the note says so, the summary is
	// run 1's, and no run 2 is recorded.
	if got := sweep(); !strings.Contains(got, "run 1 swept this spec to the end: nothing to resume") || strings.Contains(got, "run 2") {
		t.Errorf("second sweep said %q", got)
	}
	wantSummary := regexp.MustCompile(`\((\d+) points recorded this time, 0 resumed\)`).ReplaceAllString(first, "(0 points recorded this time, $1 resumed)")
	if wantSummary == first || stdout != wantSummary {
		t.Errorf("second sweep printed\n%s\nwant run 1's summary\n%s", stdout, wantSummary)
	}
	if runs := recordedRuns(t, path); len(runs) != 1 {
		t.Errorf("runs after resuming a finished sweep: %d, want 1", len(runs))
	}
	// An unfinished run of another text of the spec (an edit, here a
	// comment) is not resumed, and named, when this text has no sweep.
	path = t.TempDir() + "/d.db"
	text, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	eid, err := d.PutExperiment(context.Background(), "ampa-instant-2comp-dimensionless-gsweep", append(text, "# edited\n"...))
	if err == nil {
		r := db.NewRun(eid, db.CommandSweep, nil)
		r.Status = db.StatusCancelled
		_, err = d.CreateRun(context.Background(), r)
	}
	if err := errors.Join(err, d.Close()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLIStderr(t, "--db", path, "sweep", "--resume", specPath); err == nil ||
		!strings.Contains(err.Error(), "run 1 of ampa-instant-2comp-dimensionless-gsweep is unfinished, but read another text of the spec") {
		t.Errorf("sweep --resume with another text's run unfinished: %v, want refused", err)
	}
}

// gsweepCase is the reference case the resume tests sweep.
const gsweepCase = "../../pipeline/testdata/reference/cases/ampa-instant-2comp-dimensionless-gsweep.yaml"

// gsweepExperimentDB opens a new database at path with gsweepCase's spec
// recorded as its experiment eid, for runs to be made in it by hand.
func gsweepExperimentDB(t *testing.T) (path string, d *db.DB, eid int64) {
	t.Helper()
	text, err := os.ReadFile(gsweepCase)
	if err != nil {
		t.Fatal(err)
	}
	path = t.TempDir() + "/d.db"
	d, err = db.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if eid, err = d.PutExperiment(context.Background(), "ampa-instant-2comp-dimensionless-gsweep", text); err != nil {
		t.Fatal(err)
	}
	return path, d, eid
}

// TestSweepResumeWhichRun: --resume continues the newest unfinished run
// and names the others, which --resume=ID continues; once the newest
// finished it continues none, naming the older unfinished ones; a run that
// is done is said to be, and one that is no sweep of the spec is refused.
func TestSweepResumeWhichRun(t *testing.T) {
	ctx := context.Background()
	const specPath = gsweepCase
	path, d, eid := gsweepExperimentDB(t)
	for range 2 { // runs 1 and 2, stored as running and claimed by no one: interrupted
		r := db.NewRun(eid, db.CommandSweep, []string{"dendfit", "sweep"})
		r.ShardN = 1
		if _, err := d.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	d.Close()
	sweep := func(resume string) (string, error) {
		var out, errOut bytes.Buffer
		root := newRootCmdIO(&out, &errOut)
		root.SetArgs([]string{"--db", path, "sweep", resume, specPath})
		err := root.ExecuteContext(ctx)
		return errOut.String(), err
	}
	if got, err := sweep("--resume"); err != nil || !strings.Contains(got, "resuming run 2") ||
		!strings.Contains(got, "note: run 1 of this spec is unfinished too (interrupted); --resume=1 continues it instead") {
		t.Errorf("--resume: %v, said %q", err, got)
	}
	// The newest sweep, run 2, finished: --resume leaves the older run 1
	// as it is (what a requeued task that finished does), naming it.
	if got, err := sweep("--resume"); err != nil || !strings.Contains(got, "run 2 swept this spec to the end: nothing to resume") ||
		!strings.Contains(got, "note: run 1 of this spec is unfinished; --resume=1 continues it") || strings.Contains(got, "resuming") {
		t.Errorf("--resume after run 2 finished: %v, said %q", err, got)
	}
	// Named, the finished run 2 says so, and names run 1 too.
	if got, err := sweep("--resume=2"); err != nil || !strings.Contains(got, "run 2 swept this spec to the end: nothing to resume") ||
		!strings.Contains(got, "note: run 1 of this spec is unfinished; --resume=1 continues it") {
		t.Errorf("--resume=2 once done: %v, said %q", err, got)
	}
	if got, err := sweep("--resume=1"); err != nil || !strings.Contains(got, "resuming run 1") || strings.Contains(got, "unfinished too") {
		t.Errorf("--resume=1: %v, said %q", err, got)
	}
	// A run that finished is said to be done, not to be of another spec.
	if got, err := sweep("--resume=1"); err != nil || !strings.Contains(got, "run 1 swept this spec to the end: nothing to resume") || strings.Contains(got, "note:") {
		t.Errorf("--resume=1 once done: %v, said %q", err, got)
	}
	if _, err := sweep("--resume=99"); err == nil || !strings.Contains(err.Error(), "there is no run 99 in ") {
		t.Errorf("--resume=99, no such run: %v", err)
	}
	// A run of another command is said to be one.
	if _, err := runCLI(t, "--db", path, "-q", "simulate", specPath); err != nil {
		t.Fatal(err)
	}
	if _, err := sweep("--resume=3"); err == nil || !strings.Contains(err.Error(), "run 3 is a simulate run, not a sweep; the unfinished sweeps of this spec and shard: there is none") {
		t.Errorf("--resume=3, a simulate run: %v", err)
	}
	if _, err := sweep("--resume=abc"); err == nil || !strings.Contains(err.Error(), `--resume "abc": want a run id`) {
		t.Errorf("--resume=abc: %v", err)
	}
	// "--resume 2": the 2 is no argument of sweep but meant as the run.
	var out, errOut bytes.Buffer
	root := newRootCmdIO(&out, &errOut)
	root.SetArgs([]string{"--db", path, "sweep", "--resume", "2", specPath})
	if err := root.ExecuteContext(ctx); err == nil || !strings.Contains(err.Error(), "--resume 2: write --resume=2 SPEC to continue run 2") {
		t.Errorf("--resume 2: %v", err)
	}
	for _, args := range [][]string{{"sweep", "--resume", "2"}, {"sweep", "--resume=", specPath}} {
		root := newRootCmdIO(&out, &errOut)
		root.SetArgs(append([]string{"--db", path}, args...))
		if err := root.ExecuteContext(ctx); !errors.As(err, new(usageError)) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	// --resume=true, as the flag was a boolean, is --resume: with both
	// runs done, there is nothing to resume.
	if got, err := sweep("--resume=true"); err != nil || !strings.Contains(got, "run 2 swept this spec to the end: nothing to resume") {
		t.Errorf("--resume=true: %v, said %q", err, got)
	}
}

// TestSweepWithoutASweepBlock: a spec without a sweep block sweeps one
// point a pathway, and says so (it did so silently; a user took it for a
// sweep of nothing), in the singular.
func TestSweepWithoutASweepBlock(t *testing.T) {
	const specPath = "../../pipeline/testdata/reference/cases/adaptiveif-soma-ampa-dend.yaml"
	got, err := runCLIStderrOnly(t, "--db", t.TempDir()+"/d.db", "sweep", specPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"note: " + specPath + " has no sweep block: one point a pathway, at its spec g and kinetics", "sweep adaptiveif-soma-ampa-dend: 1 point over 1 pathway, run 1"} {
		if !strings.Contains(got, want) {
			t.Errorf("stderr %q, want %q", got, want)
		}
	}
}

// TestSweepResumeOtherShard: a run of another shard of the spec is named
// with the --shard that resumes it, by --resume=ID and by a --resume that
// finds nothing of its own shard (it said the run was no unfinished sweep
// of the spec, or nothing).
func TestSweepResumeOtherShard(t *testing.T) {
	ctx := context.Background()
	const specPath = gsweepCase
	path, d, eid := gsweepExperimentDB(t)
	r := db.NewRun(eid, db.CommandSweep, []string{"dendfit", "sweep", "--shard", "1/3"})
	r.ShardK, r.ShardN = 1, 3 // stored as running, claimed by no one: interrupted
	if _, err := d.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	d.Close()
	sweep := func(args ...string) (string, error) {
		return runCLIStderrOnly(t, append(append([]string{"--db", path, "sweep"}, args...), specPath)...)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--resume=1"}, "run 1 sweeps shard 1/3 of this spec, and this command the whole grid: resume it with --shard 1/3"},
		{[]string{"--resume=1", "--shard", "2/3"}, "run 1 sweeps shard 1/3 of this spec, and this command shard 2/3: resume it with --shard 1/3"},
	} {
		if _, err := sweep(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
	// A run of shard 0/3 another command is sweeping now (this test holds
	// its claim): not one to resume, and not listed as one.
	sp, err := spec.Load(specPath)
	if err != nil {
		t.Fatal(err)
	}
	d, err = db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	live, err := pipeline.StartRun(ctx, d, sp, pipeline.RunInfo{Command: db.CommandSweep, ShardK: 0, ShardN: 3, Settings: pipeline.NewSweepSettings(0, 3)})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Finish(nil)
	if runtime.GOOS == "linux" {
		if _, err := sweep(fmt.Sprintf("--resume=%d", live.ID)); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("run %d sweeps shard 0/3 of this spec, and this command the whole grid; another process is sweeping it now", live.ID)) {
			t.Errorf("--resume=%d of a live run: %v", live.ID, err)
		}
	}
	if got, err := sweep("--resume", "--shard", "2/3"); err != nil || !strings.Contains(got, "no unfinished sweep of this spec to resume, shard 2/3 (run 1 sweeps shard 1/3, resumed with --shard 1/3): starting a new run") {
		t.Errorf("--resume --shard 2/3: %v, said %q", err, got)
	}
	if got, err := sweep("--resume", "--shard", "1/3"); err != nil || !strings.Contains(got, "resuming run 1") {
		t.Errorf("--resume --shard 1/3: %v, said %q", err, got)
	}
}

// runCLIStderrOnly runs the CLI with args and returns what it wrote on
// stderr.
func runCLIStderrOnly(t *testing.T, args ...string) (string, error) {
	t.Helper()
	_, errOut, err := runCLIStderr(t, args...)
	return errOut, err
}

// TestSweepJSON: sweep --json prints its summary as JSON (it printed the
// table); a pathway with no point in its shard has no PSP range.
func TestSweepJSON(t *testing.T) {
	path := t.TempDir() + "/d.db"
	const spec = "../../pipeline/plot/testdata/same-label.yaml"
	type summary struct {
		RunID    int64 `json:"run_id"`
		Recorded int   `json:"points_recorded"`
		Pathways []struct {
			Label    string   `json:"label"`
			Points   int      `json:"points"`
			MinPSPMV *float64 `json:"psp_min_mV"`
			MaxPSPMV *float64 `json:"psp_max_mV"`
		} `json:"pathways"`
	}
	for _, tc := range []struct {
		args     []string
		recorded int
		ranged   []bool
	}{
		{nil, 20, []bool{true, true}},
		{[]string{"--shard", "1/3"}, 10, []bool{false, true}}, // shard 1 holds pathway 1 only
	} {
		out, err := runCLI(t, append([]string{"--db", path, "-q", "--json", "sweep", spec}, tc.args...)...)
		if err != nil {
			t.Fatal(err)
		}
		var s summary
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatalf("sweep --json %v: %v\n%s", tc.args, err, out)
		}
		if s.Recorded != tc.recorded || len(s.Pathways) != 2 || s.Pathways[0].Label != "E->E (AMPA)" {
			t.Errorf("sweep --json %v: %s", tc.args, out)
		}
		for i, p := range s.Pathways {
			if has := p.MinPSPMV != nil && p.MaxPSPMV != nil; has != tc.ranged[i] || has && !(*p.MinPSPMV > 0 && *p.MinPSPMV < *p.MaxPSPMV) {
				t.Errorf("sweep --json %v: pathway %d range %v..%v, want a range %v", tc.args, i, p.MinPSPMV, p.MaxPSPMV, tc.ranged[i])
			}
		}
	}
}

// TestQueryPointsCSVHasTagAndPeaks: the CSV of points gives each point's
// tag and the peak of every compartment, as JSON does (they were only in
// JSON), the peaks as a JSON object whose numbers are JSON's.
func TestQueryPointsCSVHasTagAndPeaks(t *testing.T) {
	path := t.TempDir() + "/d.db"
	if _, err := runCLI(t, "--db", path, "-q", "sweep", "../../experiments/cortex-paired-recordings.yaml"); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "--db", path, "query", "points", "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	js, err := runCLI(t, "--db", path, "query", "points", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var all struct {
		Points []struct {
			Tag   string             `json:"tag"`
			Peaks map[string]float64 `json:"peaks_mV"`
		}
	}
	if err := json.Unmarshal([]byte(js), &all); err != nil {
		t.Fatal(err)
	}
	if len(all.Points) != len(rows)-1 || len(all.Points) == 0 {
		t.Fatalf("%d JSON points, %d CSV rows", len(all.Points), len(rows)-1)
	}
	for i, p := range all.Points {
		r := rows[i+1]
		var peaks map[string]float64
		if err := json.Unmarshal([]byte(r[col["peaks_mV"]]), &peaks); err != nil || len(peaks) == 0 {
			t.Fatalf("row %d: peaks_mV %q (%v), want every compartment's", i, r[col["peaks_mV"]], err)
		}
		if r[col["tag"]] != p.Tag || p.Tag == "" || !maps.Equal(peaks, p.Peaks) {
			t.Fatalf("row %d: tag %q, peaks %v; JSON has %q, %v", i, r[col["tag"]], peaks, p.Tag, p.Peaks)
		}
	}
}

// TestQueryPointsGOfEveryReceptor: every format of query points gives the
// g of every receptor of a point (the table gave the first alone), with
// the receptors' channels in the same order (the g alone did not say
// which receptor each was).
func TestQueryPointsGOfEveryReceptor(t *testing.T) {
	path := t.TempDir() + "/d.db"
	if _, err := runCLI(t, "--db", path, "-q", "sweep", "../../experiments/cortex-paired-recordings.yaml"); err != nil {
		t.Fatal(err)
	}
	cells, channels := map[string][]string{}, map[string][]string{}
	for _, format := range []string{"table", "csv"} {
		out, err := runCLI(t, "--db", path, "query", "points", "--pathway", "0", "--limit", "2", "--format", format)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		// CSV's columns are named as in JSON and the points view.
		if format == "csv" && lines[0] != "pathway,pre,post,point_key,receptors,g_nS,t_decay_ms,t_rise_ms,psp_mV,time_to_peak_ms,rise_10_90_ms,half_width_ms,dspike_fired,status,baseline_mV,i_hold_pA,compartment,record,tag,peaks_mV,error,run_id" {
			t.Errorf("CSV header %q", lines[0])
		}
		for _, l := range lines[1:] {
			f := strings.FieldsFunc(l, func(r rune) bool { return r == ',' || r == ' ' })
			channels[format] = append(channels[format], f[4])
			cells[format] = append(cells[format], f[5])
		}
	}
	// --pathway by name and --g-min with a unit select as an index and a
	// bare nS do.
	byIndex, err1 := runCLI(t, "--db", path, "query", "points", "--pathway", "5", "--g-min", "0.5", "--format", "csv")
	byName, err2 := runCLI(t, "--db", path, "query", "points", "--pathway", "L5MC->L5TTPC", "--g-min", "500 pS", "--format", "csv")
	if err1 != nil || err2 != nil || byIndex != byName || strings.Count(byIndex, "\n") < 5 || !strings.Contains(byIndex, "\n5,L5MC,L5TTPC,") {
		t.Errorf("--pathway 5 --g-min 0.5 (%v) and --pathway L5MC->L5TTPC --g-min '500 pS' (%v) differ:\n%s\n%s", err1, err2, byIndex, byName)
	}
	// AMPA + NMDA at half its g: 0.1 nS and 0.05 nS first.
	if len(cells["table"]) != 2 || cells["table"][0] != "0.1;0.05" || cells["csv"][0] != "0.1;0.05" || !strings.Contains(cells["table"][1], ";") {
		t.Errorf("g_nS cells: table %q, csv %q", cells["table"], cells["csv"])
	}
	if want := []string{"AMPA;NMDA", "AMPA;NMDA"}; !slices.Equal(channels["table"], want) || !slices.Equal(channels["csv"], want) {
		t.Errorf("receptors cells: table %q, csv %q, want %q", channels["table"], channels["csv"], want)
	}
	out, err := runCLI(t, "--db", path, "query", "points", "--pathway", "0", "--limit", "1", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Points []struct {
			Tag       string    `json:"tag"`
			Receptors []string  `json:"receptors"`
			GNS       []float64 `json:"g_nS"`
		} `json:"points"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Points) != 1 ||
		!slices.Equal(doc.Points[0].Receptors, []string{"AMPA", "NMDA"}) || len(doc.Points[0].GNS) != 2 || doc.Points[0].Tag == "" {
		t.Errorf("query points --json: %v\n%s", err, out)
	}
}

// TestQuerySQLValuesAlike: a BLOB and a non-finite REAL read the same in
// every format of query sql (JSON failed on +Inf, and gave BLOBs in base64
// where the table and CSV give x'..').
func TestQuerySQLValuesAlike(t *testing.T) {
	path := t.TempDir() + "/d.db"
	if _, err := runCLI(t, "--db", path, "-q", "sweep", "../../pipeline/plot/testdata/same-label.yaml"); err != nil {
		t.Fatal(err)
	}
	const q = "SELECT 1e308*10 AS a, x'00ff' AS b, -1e308*10 AS c"
	want := []string{"+Inf", "x'00ff'", "-Inf"}
	for _, format := range []string{"table", "csv", "json"} {
		out, err := runCLI(t, "--db", path, "query", "sql", q, "--format", format)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		var got []string
		switch format {
		case "json":
			var r struct{ Rows [][]any }
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatal(err)
			}
			for _, v := range r.Rows[0] {
				got = append(got, fmt.Sprint(v))
			}
		default:
			got = strings.FieldsFunc(strings.Split(strings.TrimSpace(out), "\n")[1], func(r rune) bool { return r == ',' || r == ' ' })
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: row %q, want %q", format, got, want)
		}
	}
}

// TestExportWarnsOfUnconverged: exporting a fit run where a pathway did not
// converge says so (it wrote the spec g silently), and a pathway name that
// matches nothing lists the spec's pathways.
func TestExportWarnsOfUnconverged(t *testing.T) {
	dir := t.TempDir()
	spec := writeSpec(t, dir, "far.yaml", strings.Replace(referenceCase(t, "seed-ampa-2comp-dimensional"), "target_psp: 0.5 mV", "target_psp: 80 mV", 1))
	path := filepath.Join(dir, "d.db")
	if _, err := runCLI(t, "--db", path, "-q", "fit", spec); !errors.Is(err, errNotConverged) {
		t.Fatalf("fit of an 80 mV target: %v", err)
	}
	var out, errOut bytes.Buffer
	root := newRootCmdIO(&out, &errOut)
	root.SetArgs([]string{"--db", path, "export", "--format", "yaml"})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "warning: 1 of 1 fitted pathways did not converge (0 L23E->L23E): the export keeps their spec g") {
		t.Errorf("export of an unconverged fit said %q", errOut.String())
	}
	// --strict: the same file, and exit status 3.
	plain := out.String()
	js := filepath.Join(dir, "strict.yaml")
	_, err := runCLI(t, "--db", path, "-q", "export", "--format", "yaml", "--strict", "-o", js)
	got, rerr := os.ReadFile(js)
	if !errors.Is(err, errNotConverged) || exitCode(context.Background(), err, io.Discard) != exitNotConverge ||
		err.Error() != "export --strict: 1 pathway with a target_psp is written at the spec g (above)" || rerr != nil || !sameExport(string(got), plain) {
		t.Errorf("export --strict of an unconverged fit: %v; file read %v, same as without --strict: %v", err, rerr, sameExport(string(got), plain))
	}
	if _, err := runCLI(t, "--db", path, "-q", "export", "--format", "yaml", "--strict", "--run", "99"); err == nil || errors.Is(err, errNotConverged) {
		t.Errorf("export --strict of no such run: %v", err)
	}
	_, err = runCLI(t, "--db", path, "simulate", spec, "-p", "L23E->PV", "--no-db")
	if err == nil || !strings.Contains(err.Error(), `no such pathway (want an index, pre->post or pre->post@compartment: 0 L23E->L23E@dend)`) {
		t.Errorf("unknown pathway: %v", err)
	}
}

// TestQueryPointsCSVOfAFailedPoint: in CSV a failed point's absent numbers
// are empty cells, like every other absent value (they were "-", which
// no CSV reader takes for missing), and its error is there.
func TestQueryPointsCSVOfAFailedPoint(t *testing.T) {
	dir := t.TempDir()
	src := referenceCase(t, "ampa-instant-2comp-dimensionless-gsweep")
	grid := regexp.MustCompile(`(?m)^  g:\n(    .*\n)+`)
	if !grid.MatchString(src) {
		t.Fatal("reference case changed: no g axis block")
	}
	// 1e9 nS runs away after the spike.
	spec := writeSpec(t, dir, "s.yaml", grid.ReplaceAllString(src, "  g: [1 nS, 1e9 nS]\n"))
	path := filepath.Join(dir, "d.db")
	if _, err := runCLI(t, "--db", path, "-q", "sweep", spec); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "--db", path, "query", "points", "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("CSV %v: %q", err, out)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	ok, failed := rows[1], rows[2]
	if ok[col["status"]] != "ok" || failed[col["status"]] != "failed" {
		t.Fatalf("statuses %q, %q", ok[col["status"]], failed[col["status"]])
	}
	for _, c := range []string{"psp_mV", "time_to_peak_ms", "baseline_mV"} {
		if _, err := strconv.ParseFloat(ok[col[c]], 64); err != nil {
			t.Errorf("ok point's %s %q", c, ok[col[c]])
		}
		if failed[col[c]] != "" {
			t.Errorf("failed point's %s %q, want an empty cell", c, failed[col[c]])
		}
	}
	if e := failed[col["error"]]; !strings.Contains(e, "ran away after the spike") {
		t.Errorf("failed point's error %q", e)
	}
}

// TestProgressRateAfterResume: points recorded before a resume pass at
// once and are not this session's rate: 500 new points in 1 s is
// 500 points/s with 1500 left, 3 s, however many were resumed (the bar
// said 229205 points/s, ETA 0s).
func TestProgressRateAfterResume(t *testing.T) {
	var buf bytes.Buffer
	p := &progressBar{g: &globals{stderr: &buf}, unit: "points", on: true, start: time.Now().Add(-time.Second), base: 1000}
	p.update(1500, 3000)
	m := regexp.MustCompile(`1500/3000  (\d+) points/s  ETA (\S+)`).FindStringSubmatch(buf.String())
	if m == nil {
		t.Fatalf("bar %q", buf.String())
	}
	if rate, _ := strconv.Atoi(m[1]); rate < 450 || rate > 500 || m[2] != "3s" {
		t.Errorf("bar %q: want about 500 points/s, ETA 3s", buf.String())
	}
}

// TestDescribeGridSize: describe tells the sweep's size before it runs,
// the number of points the sweep then records.
func TestDescribeGridSize(t *testing.T) {
	const spec = "../../experiments/cortex-paired-recordings.yaml"
	out, err := runCLI(t, "describe", spec)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`sweep grid: (\d+) points \((\d+) a pathway\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("describe:\n%s", out)
	}
	js, err := runCLI(t, "--db", filepath.Join(t.TempDir(), "d.db"), "-q", "--json", "sweep", spec)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Recorded int `json:"points_recorded"`
	}
	if err := json.Unmarshal([]byte(js), &got); err != nil {
		t.Fatal(err)
	}
	if n, _ := strconv.Atoi(m[1]); n != got.Recorded || n == 0 {
		t.Errorf("describe says %s points, the sweep recorded %d", m[1], got.Recorded)
	}
}

// TestVersionSaysNoCommit: a binary without a stamped commit (a test
// binary is never stamped) says so in --version, and how to stamp one.
func TestVersionSaysNoCommit(t *testing.T) {
	if _, rev, _ := buildInfo(); rev != "" {
		t.Skip("this binary carries a commit")
	}
	out, err := runCLI(t, "--version")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "no commit stamped") || !strings.Contains(out, "-buildvcs=true") {
		t.Errorf("--version: %q, want the missing commit named", out)
	}
}

// TestUnsimulableSpecRecordsNoRun: sweep and slurm refuse a spec a
// pathway of which cannot be simulated before recording or writing
// anything: sweep used to leave a failed run behind, and slurm wrote an
// array whose every task would fail.
func TestUnsimulableSpecRecordsNoRun(t *testing.T) {
	b, err := os.ReadFile("../../experiments/cortex-paired-recordings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	spec := writeSpec(t, dir, "dt1.yaml", strings.Replace(string(b), "  dt: 0.025 ms\n", "  dt: 1 ms\n", 1))
	path := filepath.Join(dir, "r.db")
	if _, err := runCLI(t, "--db", path, "sweep", spec); err == nil || !strings.Contains(err.Error(), "stability limit") || !strings.HasPrefix(err.Error(), spec+": pathway ") {
		t.Fatalf("sweep: %v, want the spec file and the unstable pathway named", err)
	}
	if _, err := os.Stat(path); err == nil {
		if out, _ := qcli(t, path, "query", "runs", "--json"); strings.Contains(out, `"id"`) {
			t.Errorf("sweep recorded a run: %s", out)
		}
	}
	arr := filepath.Join(dir, "array")
	if _, err := runCLI(t, "slurm", spec, "--tasks", "2", "--dir", arr); err == nil || !strings.Contains(err.Error(), "stability limit") || !strings.HasPrefix(err.Error(), spec+": pathway ") {
		t.Errorf("slurm: %v, want the spec file and the unstable pathway named", err)
	}
	if _, err := os.Stat(filepath.Join(arr, "sweep.sbatch")); err == nil {
		t.Error("slurm wrote its scripts")
	}
}

// TestDescribeJSON: describe --json gives the pathways (with target and
// holding, null when absent) and the spec's warnings beside the cells, as
// the text does; it gave the cells alone.
func TestDescribeJSON(t *testing.T) {
	spec := "../../pipeline/export/testdata/no-steady-state.yaml"
	out, err := runCLI(t, "describe", "--json", spec)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Cells []struct {
			NoRest string `json:"no_rest"`
		} `json:"cells"`
		Pathways []struct {
			Label     string   `json:"label"`
			Receptors []string `json:"receptors"`
			Target    *float64 `json:"target_psp_mV"`
			HoldingMV *float64 `json:"holding_mV"`
		} `json:"pathways"`
		Warnings []string `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Pathways) != 2 || got.Pathways[0].Label != "E->E (AMPA+NMDA)" || len(got.Pathways[0].Receptors) != 2 ||
		got.Pathways[0].HoldingMV != nil || got.Pathways[1].HoldingMV == nil || *got.Pathways[1].HoldingMV != -45 ||
		got.Pathways[1].Target == nil || *got.Pathways[1].Target != 0.5 {
		t.Errorf("pathways: %+v", got.Pathways)
	}
	if len(got.Warnings) != 2 || !strings.Contains(got.Warnings[0], "pathway 0 cannot be simulated") || len(got.Cells) != 1 || got.Cells[0].NoRest == "" {
		t.Errorf("warnings %q, cells %+v", got.Warnings, got.Cells)
	}
}

// TestSweepEmptyShardWarns: a shard that holds no point of the grid (more
// shards than points) records an empty run, and says so; it passed for a
// finished part of the sweep.
func TestSweepEmptyShardWarns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "e.db")
	_, stderr, err := runCLIStderr(t, "--db", path, "sweep", qSweep, "--shard", "50/100")
	if err != nil || !strings.Contains(stderr, "warning: shard 50/100 of this grid of 12 points holds none: the run records nothing") {
		t.Errorf("empty shard: %v\n%s", err, stderr)
	}
	_, stderr, err = runCLIStderr(t, "--db", path, "sweep", qSweep, "--shard", "0/4")
	if err != nil || strings.Contains(stderr, "holds none") {
		t.Errorf("shard 0/4 of 12 points (one chunk, in shard 0): %v\n%s", err, stderr)
	}
}

// TestQuietKeepsWarnings: -q drops progress and notes, not warnings. An
// array task's script passes -q, and its log is the only place a
// warning about what it recorded could be read.
func TestQuietKeepsWarnings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "e.db")
	_, stderr, err := runCLIStderr(t, "--db", path, "-q", "sweep", qSweep, "--shard", "50/100")
	if want := "warning: shard 50/100 of this grid of 12 points holds none: the run records nothing\n"; err != nil || stderr != want {
		t.Errorf("-q sweep of an empty shard: %v, stderr %q, want only %q", err, stderr, want)
	}
	// A spec's own warnings too, and nothing else.
	_, stderr, err = runCLIStderr(t, "--db", path, "-q", "simulate", "--no-db", "testdata/window-warning.yaml")
	if err != nil || !strings.HasPrefix(stderr, "warning: ") || strings.Contains(stderr, "\nnote") {
		t.Errorf("-q simulate of a spec with a warning: %v, stderr %q", err, stderr)
	}
	_, stderr, err = runCLIStderr(t, "--db", path, "-q", "simulate", "--no-db", qSweep)
	if err != nil || stderr != "" {
		t.Errorf("-q simulate of a spec without warnings: %v, stderr %q", err, stderr)
	}
	// A recorded simulation names its run, as fit does (a note: not
	// under -q).
	_, stderr, err = runCLIStderr(t, "--db", path, "simulate", qSweep)
	if err != nil || stderr != "run 2 recorded in "+path+"\n" {
		t.Errorf("simulate: %v, stderr %q", err, stderr)
	}
}

// TestJSONLabelsUnescaped: every --json output writes a pathway label as
// pre->post; describe wrote pre-\u003epost (encoding/json's HTML escape)
// where sweep wrote it plainly.
func TestJSONLabelsUnescaped(t *testing.T) {
	const spec = "../../experiments/l23-demo.yaml"
	path := t.TempDir() + "/d.db"
	for _, args := range [][]string{
		{"describe", spec, "--json"},
		{"sweep", spec, "--json", "--db", path},
	} {
		out, err := runCLI(t, append([]string{"-q"}, args...)...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if strings.Contains(out, `\u003e`) || !strings.Contains(out, "L23E->L23E") {
			t.Errorf("%v: a label escaped, or none: %.300s", args, out)
		}
	}
}

// TestSweepShardSaysItsShare: a sweep of one shard says how many of the
// grid's points it sweeps, as many as it records (it gave the grid's).
func TestSweepShardSaysItsShare(t *testing.T) {
	path := t.TempDir() + "/d.db"
	const spec = "../../experiments/cortex-paired-recordings.yaml"
	errOut, err := runCLIStderrOnly(t, "--db", path, "sweep", spec, "--shard", "1/4")
	if err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "--db", path, "query", "points", "--json")
	var pts struct{ Points []json.RawMessage }
	if err != nil || json.Unmarshal([]byte(out), &pts) != nil || len(pts.Points) == 0 {
		t.Fatalf("%v: %.200s", err, out)
	}
	if want := fmt.Sprintf("sweep cortex-paired-recordings: %d of the grid's 175 points (shard 1/4) over 7 pathways, run 1", len(pts.Points)); !strings.Contains(errOut, want) {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
}

// TestFitOnlyTargetRules: a kinetics target longer than the window after
// the spike stops a fit before any run is recorded, but not a sweep, which
// uses no target and warns (a sweep of a shortened window was refused).
func TestFitOnlyTargetRules(t *testing.T) {
	b, err := os.ReadFile("../../experiments/l23-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(b), "duration: 100 ms", "duration: 20 ms", 1)
	if text == string(b) {
		t.Fatal("l23-demo changed: no duration to shorten")
	}
	dir := t.TempDir()
	specPath, path := filepath.Join(dir, "short.yaml"), filepath.Join(dir, "s.db")
	if err := os.WriteFile(specPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	const problem = "pathways[0].target_time_to_peak: 20 ms does not fit in the 10 ms the simulation runs after the spike: lengthen simulation.duration"
	errOut, err := runCLIStderrOnly(t, "--db", path, "sweep", specPath)
	if err != nil || !strings.Contains(errOut, "warning: "+specPath+":26: "+problem+" (fit refuses it)") {
		t.Errorf("sweep: %v, stderr %q", err, errOut)
	}
	errOut, err = runCLIStderrOnly(t, "--db", path, "fit", specPath)
	if err == nil || err.Error() != specPath+":26: "+problem || strings.Contains(errOut, "warning") {
		t.Errorf("fit: %v, stderr %q", err, errOut)
	}
	d, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if runs, err := d.Runs(context.Background(), db.RunFilter{}); err != nil || len(runs) != 1 || runs[0].Command != db.CommandSweep {
		t.Errorf("runs: %v, %v; want the sweep's alone", runs, err)
	}
}

// TestFitWithoutTargetsRecordsNothing: fit on a spec with no target_psp
// says so and records no run (an empty fit run became the newest, and
// export then refused it as recording no fits).
func TestFitWithoutTargetsRecordsNothing(t *testing.T) {
	const specPath = "../../pipeline/testdata/reference/cases/dspike-na-2comp-triggered.yaml"
	path := filepath.Join(t.TempDir(), "n.db")
	errOut, err := runCLIStderrOnly(t, "--db", path, "fit", specPath)
	if err != nil || !strings.Contains(errOut, "note: no pathway of "+specPath+" has a target_psp: nothing to fit, nothing recorded") {
		t.Errorf("fit: %v, stderr %q", err, errOut)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the database: %v, want none made", err)
	}
	// With --json, still a document: no run, no pathway.
	out, err := runCLI(t, "--db", path, "--json", "fit", specPath)
	var doc struct {
		Experiment string            `json:"experiment"`
		RunID      *int64            `json:"run_id"`
		Pathways   []json.RawMessage `json:"pathways"`
	}
	if err != nil || json.Unmarshal([]byte(out), &doc) != nil || doc.Experiment == "" || doc.RunID != nil || doc.Pathways == nil || len(doc.Pathways) != 0 {
		t.Errorf("fit --json: %v, %q", err, out)
	}
}

// TestGEffInTables: with scale_g the spec's g is the conductance's peak,
// and Dendrify's equations (add_params) take g_eff, several times larger:
// simulate's table gives a g_eff_nS column (only then) and fit's a line
// per such pathway, with the numbers export writes. A trial's modeller
// would have copied the table's g, off by 4-7x.
func TestGEffInTables(t *testing.T) {
	dir := t.TempDir()
	dbp := filepath.Join(dir, "d.db")
	spec := "../../pipeline/testdata/reference/cases/ampa-rise-decay-scaleg-2comp.yaml"
	out, err := runCLI(t, "--db", dbp, "-q", "simulate", spec, "--no-db")
	if err != nil {
		t.Fatal(err)
	}
	js, err := runCLI(t, "--db", dbp, "-q", "--json", "simulate", spec, "--no-db")
	if err != nil {
		t.Fatal(err)
	}
	var sim struct {
		Pathways []struct {
			GNS    []float64 `json:"g_nS"`
			GEffNS []float64 `json:"g_eff_nS"`
		} `json:"pathways"`
	}
	if err := json.Unmarshal([]byte(js), &sim); err != nil || len(sim.Pathways) != 1 {
		t.Fatalf("simulate --json: %v\n%s", err, js)
	}
	p := sim.Pathways[0]
	if p.GEffNS[0] < 1.5*p.GNS[0] {
		t.Fatalf("the premise: scale_g makes g_eff %v nS, not much more than g %v nS", p.GEffNS, p.GNS)
	}
	lines := strings.Split(out, "\n")
	if !strings.Contains(lines[0], "g_eff_nS") || !strings.Contains(lines[1], strconv.FormatFloat(p.GEffNS[0], 'g', 6, 64)) {
		t.Errorf("simulate's table has no g_eff_nS of %v:\n%s", p.GEffNS, out)
	}
	if out, err := runCLI(t, "--db", dbp, "-q", "simulate", qFitCase, "--no-db"); err != nil || strings.Contains(out, "g_eff_nS") {
		t.Errorf("a spec without scale_g has a g_eff_nS column (%v):\n%s", err, out)
	}
	out, err = runCLI(t, "--db", dbp, "-q", "fit", spec)
	if err != nil {
		t.Fatal(err)
	}
	csvOut, err := runCLI(t, "--db", dbp, "-q", "export", "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(csvOut)).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("export csv: %v\n%s", err, csvOut)
	}
	geff := rows[1][slices.Index(rows[0], "g_eff_nS")]
	v, _ := strconv.ParseFloat(geff, 64)
	if want := fmt.Sprintf("pathway 0 (%s): g_eff %s nS in Dendrify's equations (scale_g), as export writes it", "E->E (AMPA)", strconv.FormatFloat(v, 'g', 8, 64)); !strings.Contains(out, want) {
		t.Errorf("fit's output does not say %q:\n%s", want, out)
	}
}

// TestDescribeUnusedCell: a cell no population uses says so; its header
// read "populations )".
func TestDescribeUnusedCell(t *testing.T) {
	text := strings.Replace(referenceCase(t, "seed-ampa-2comp-dimensional"), "populations:\n",
		"  spare:\n    compartments:\n    - {name: soma, type: soma, cm_abs: 100 pF, gl_abs: 10 nS, v_rest: -70 mV}\npopulations:\n", 1)
	out, err := runCLI(t, "describe", writeSpec(t, t.TempDir(), "spare.yaml", text))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "cell spare (PointNeuronModel; no population uses it)") || strings.Contains(out, "populations )") {
		t.Errorf("describe of a cell no population uses:\n%s", out)
	}
}

// TestResumeOfAFinishedRunOfAnotherShard: --resume=ID of a finished run of
// another shard of the spec says so (it said the run was "not an
// unfinished sweep of this spec", which it is, of another shard).
func TestResumeOfAFinishedRunOfAnotherShard(t *testing.T) {
	dbp := filepath.Join(t.TempDir(), "d.db")
	spec := "../../pipeline/testdata/reference/cases/sweep-tdecay-trise-ampa-3comp.yaml"
	if _, err := runCLI(t, "-q", "--db", dbp, "sweep", spec, "--shard", "0/2"); err != nil {
		t.Fatal(err)
	}
	_, err := runCLI(t, "-q", "--db", dbp, "sweep", spec, "--shard", "1/2", "--resume=1")
	if want := "run 1 swept shard 0/2 of this spec to the end (this command shard 1/2): nothing to resume there"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("--resume=1 --shard 1/2: %v, want %q", err, want)
	}
}

// TestFitNoDB: fit --no-db fits as fit does, the same g to the bit, and
// creates no database (a trial looked for it, as simulate has one).
func TestFitNoDB(t *testing.T) {
	dir := t.TempDir()
	dbp := filepath.Join(dir, "d.db")
	fitJSON := func(args ...string) (g [][]float64, runID *int64) {
		t.Helper()
		out, err := runCLI(t, append([]string{"-q", "--json", "--db", dbp, "fit", qFitCase, "--no-fine-dt"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			RunID    *int64 `json:"run_id"`
			Pathways []struct {
				G []float64 `json:"g_fit_nS"`
			} `json:"pathways"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		for _, p := range doc.Pathways {
			g = append(g, p.G)
		}
		return g, doc.RunID
	}
	noDB, id := fitJSON("--no-db")
	if id != nil {
		t.Errorf("--no-db: run_id %d, want null", *id)
	}
	if _, err := os.Stat(dbp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("--no-db made %s (%v)", dbp, err)
	}
	recorded, id := fitJSON()
	if id == nil || !reflect.DeepEqual(noDB, recorded) || len(noDB) == 0 {
		t.Errorf("--no-db fitted %v, a recorded fit (run %v) %v", noDB, id, recorded)
	}
}

// exportDate is the time an export's header says it was written.
var exportDate = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)

// sameExport says whether two exports are the same but for the time they
// were written.
func sameExport(a, b string) bool {
	return a != "" && exportDate.ReplaceAllString(a, "") == exportDate.ReplaceAllString(b, "")
}

// TestWarningsBeforeSpecErrors: a spec refused for its errors still tells
// its warnings, first: a dt of 0.1 s made only an error about spike_at,
// where the warning says the dt was meant in ms.
func TestWarningsBeforeSpecErrors(t *testing.T) {
	text, err := os.ReadFile("../../experiments/l23-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := writeSpec(t, t.TempDir(), "dt.yaml", strings.Replace(string(text), "dt: 0.1 ms", "dt: 0.1 s", 1))
	_, stderr, err := runCLIStderr(t, "describe", path)
	if err == nil || !strings.Contains(err.Error(), "simulation.spike_at") || !strings.Contains(stderr, `simulation.dt: dt "0.1 s" is 100 ms`) || !strings.Contains(stderr, "did you mean 0.1 ms?") {
		t.Errorf("dt 0.1 s: error %v, stderr %q", err, stderr)
	}
}
