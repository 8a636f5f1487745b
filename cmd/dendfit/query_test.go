package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dendfit/dendfit/db"
)

// qcli runs dendfit in-process with args against database dbPath and
// returns its stdout.
func qcli(t *testing.T, dbPath string, args ...string) (string, error) {
	t.Helper()
	return runCLI(t, append([]string{"--db", dbPath, "-q"}, args...)...)
}

const (
	qCases   = "../../pipeline/testdata/reference/cases/"
	qFitCase = qCases + "two-populations-three-pathways.yaml"
	qSweep   = qCases + "ampa-instant-2comp-dimensionless-gsweep.yaml"
)

// qDB records a fit (run 1), a simulate of pathway 1 (run 2) and a sweep
// (run 3) with the real commands.
func qDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dendfit.db")
	for _, args := range [][]string{{"fit", qFitCase}, {"simulate", qFitCase, "--pathway", "1"}, {"sweep", qSweep, "-j", "2"}} {
		if _, err := qcli(t, path, args...); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	return path
}

func TestQueryForms(t *testing.T) {
	path := qDB(t)
	tests := []struct {
		name string
		args []string
		rows int    // data rows (table and CSV) or JSON list entries
		key  string // the JSON list
		has  string // text in the table output
	}{
		{"experiments", []string{"query", "experiments"}, 2, "experiments", "two-populations-three-pathways"},
		{"experiments by name", []string{"query", "experiments", "-e", "two-populations-three-pathways"}, 1, "experiments", "e19176021f"},
		{"runs", []string{"query", "runs"}, 3, "runs", "simulate"},
		{"runs of a command", []string{"query", "runs", "--command", "fit", "--status", "done"}, 1, "runs", "fit"},
		{"fits newest", []string{"query", "fits", "-e", "two-populations-three-pathways"}, 3, "fits", "converged"},
		{"fits of a pathway", []string{"query", "fits", "--run", "1", "--pathway", "2"}, 1, "fits", "PV"},
		{"fits by g", []string{"query", "fits", "--g-min", "1.2", "--g-max", "3"}, 2, "fits", "GABA"},
		{"points of a run", []string{"query", "points", "--run", "3"}, 12, "points", "p0000/g000011/d-/r-"},
		{"points by g", []string{"query", "points", "--run", "3", "--g-min", "1", "--g-max", "3"}, 3, "points", "g000007"},
		{"points newest", []string{"query", "points", "-e", "two-populations-three-pathways"}, 1, "points", "-1.21062"},
		{"points limited", []string{"query", "points", "--run", "1", "--pathway", "0", "--limit", "2"}, 2, "points", "fit/p0000/e001"},
		{"sql", []string{"query", "sql", "SELECT run_id, count(*) FROM points GROUP BY run_id"}, 3, "rows", "run_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			table, err := qcli(t, path, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(strings.Split(strings.TrimSpace(table), "\n")) - 1; n != tc.rows || !strings.Contains(table, tc.has) {
				t.Errorf("table has %d rows, want %d, containing %q:\n%s", n, tc.rows, tc.has, table)
			}
			out, err := qcli(t, path, append(tc.args, "--format", "csv")...)
			if err != nil {
				t.Fatal(err)
			}
			recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil || len(recs)-1 != tc.rows {
				t.Errorf("csv: %d records, %v:\n%s", len(recs), err, out)
			}
			for _, jargs := range [][]string{append(tc.args, "--format", "json"), append([]string{"--json"}, tc.args...)} {
				out, err = qcli(t, path, jargs...)
				if err != nil {
					t.Fatal(err)
				}
				var doc map[string]json.RawMessage
				var list []json.RawMessage
				if err := json.Unmarshal([]byte(out), &doc); err != nil {
					t.Fatalf("json: %v\n%s", err, out)
				}
				if err := json.Unmarshal(doc[tc.key], &list); err != nil {
					t.Fatalf("json %s: %v\n%s", tc.key, err, out)
				}
				if len(list) != tc.rows {
					t.Errorf("json %s has %d entries, want %d", tc.key, len(list), tc.rows)
				}
			}
		})
	}
}

func TestQueryPointsJSONShape(t *testing.T) {
	path := qDB(t)
	out, err := qcli(t, path, "query", "points", "--run", "2", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Points []map[string]json.RawMessage `json:"points"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Points) != 1 {
		t.Fatalf("%v: %s", err, out)
	}
	for _, k := range []string{"pathway", "pre", "post", "point_key", "g_nS", "t_decay_ms", "t_rise_ms", "psp_mV", "baseline_mV", "i_hold_pA", "status"} {
		if _, ok := doc.Points[0][k]; !ok {
			t.Errorf("point has no %q: %s", k, out)
		}
	}
	var g []float64
	if json.Unmarshal(doc.Points[0]["g_nS"], &g) != nil || len(g) != 1 || g[0] != 3 || string(doc.Points[0]["point_key"]) != `"p1"` {
		t.Errorf("g_nS %s, point_key %s", doc.Points[0]["g_nS"], doc.Points[0]["point_key"])
	}
}

// TestQueryPointsJSONStreamed: query points writes its JSON a point at a
// time, byte for byte as json.Encoder writes the whole document, for many
// points, one, and none.
func TestQueryPointsJSONStreamed(t *testing.T) {
	path := qDB(t)
	for _, args := range [][]string{
		{"--run", "3"},
		{"--run", "2"},
		{"--run", "3", "--g-min", "1000"},
	} {
		out, err := qcli(t, path, append([]string{"query", "points", "--json"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Points []pointJSON   `json:"points"`
			Run    pointsRunJSON `json:"run"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		// The run goes with its points, for a saved file's provenance.
		if id, _ := strconv.ParseInt(args[1], 10, 64); doc.Run.ID != id || len(doc.Run.SpecSHA256) != 64 || doc.Run.Experiment == "" || doc.Run.Command == "" {
			t.Errorf("%v: run %+v", args, doc.Run)
		}
		var want bytes.Buffer
		if err := printJSON(&want, doc); err != nil {
			t.Fatal(err)
		}
		if out != want.String() {
			t.Errorf("%v: streamed JSON differs from printJSON's:\n%s\nwant\n%s", args, out, want.String())
		}
	}
}

// TestQueryPointsTableStreamed: the aligned table, written in two passes
// over the points, is byte for byte what text/tabwriter makes of the
// collected rows.
func TestQueryPointsTableStreamed(t *testing.T) {
	path := qDB(t)
	d, err := db.OpenReadOnly(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	gMin := 1000.0
	for _, tc := range []struct {
		args []string
		f    db.PointFilter
	}{
		{[]string{"--run", "1"}, db.PointFilter{RunID: 1}},
		{[]string{"--run", "3"}, db.PointFilter{RunID: 3}},
		{[]string{"--run", "3", "--limit", "4"}, db.PointFilter{RunID: 3, Limit: 4}},
		{[]string{"--run", "3", "--g-min", "1000"}, db.PointFilter{RunID: 3, GMinNS: &gMin}},
	} {
		out, err := qcli(t, path, append([]string{"query", "points"}, tc.args...)...)
		if err != nil {
			t.Fatal(err)
		}
		pts, err := d.Points(context.Background(), tc.f)
		if err != nil {
			t.Fatal(err)
		}
		tb := &table{cols: pointTableCols}
		for i := range pts {
			tb.add(pointCells(&pts[i], "table")...)
		}
		var want bytes.Buffer
		if err := tb.write(&want, "table", nil); err != nil {
			t.Fatal(err)
		}
		if out != want.String() {
			t.Errorf("%v: table differs from tabwriter's:\n%s\nwant\n%s", tc.args, out, want.String())
		}
	}
}

// TestAlignedWiderThanMeasured: a row that changed between the passes
// (a sweep writing into the run) is written, shifted, without a panic.
func TestAlignedWiderThanMeasured(t *testing.T) {
	a := newAligned([]string{"g_nS", "psp_mV", "status"})
	a.measure([]string{"1", "0.5", "ok"})
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	a.write(w, []string{"1", "-0.00123457", "ok"})
	w.Flush()
	if want := "1     -0.00123457  ok\n"; b.String() != want {
		t.Errorf("wider cell: %q, want %q", b.String(), want)
	}
}

func TestQueryErrors(t *testing.T) {
	path := qDB(t)
	tests := []struct {
		args  []string
		want  string
		usage bool
	}{
		{[]string{"query", "sql", "DELETE FROM point_rows"}, "query: statement would write; only read-only SQL is allowed; nothing was changed", false},
		{[]string{"query", "sql", "SELECT 1; DROP TABLE runs"}, "query: statement would write", false},
		{[]string{"query", "sql", "CREATE TABLE x (a)"}, "query: statement would write", false},
		{[]string{"query", "runs", "--format", "xml"}, `--format "xml": want table, csv or json`, true},
		{[]string{"--json", "query", "runs", "--format", "csv"}, "--json and --format csv disagree: give one", true},
		{[]string{"query", "points"}, "give --experiment NAME or --run ID: ", true},
		{[]string{"query", "fits", "-e", "nope"}, `experiment "nope" is not in`, true},
		{[]string{"query", "points", "--run", "99"}, "--run 99: no such run in", false},
		{[]string{"query", "fits", "--run", "99"}, "--run 99: no such run in", false},
		{[]string{"query", "fits", "--status", "maybe"}, `--status "maybe": want converged or failed`, true},
		// Selections that could only match nothing used to print an
		// empty listing and succeed.
		{[]string{"query", "points", "--run", "1", "--pathway", "99"}, "--pathway 99: the spec of run 1 has pathways 0..", true},
		{[]string{"query", "points", "--run", "0"}, "--run 0: want a run id, 1 or more", true},
		{[]string{"query", "points", "--run", "1", "--pathway", ""}, "--pathway is empty", true},
		{[]string{"query", "points", "--run", "1", "--g-min", "5", "--g-max", "1 nS"}, "--g-min 5 is above --g-max 1 nS: nothing can match", true},
		{[]string{"query", "runs", "-e", "nope"}, `experiment "nope" is not in`, true},
		{[]string{"query", "experiments", "-e", "nope"}, `experiment "nope" is not in`, true},
		// Run 3 is the sweep of the other experiment; it used to be
		// listed as if it were this one's.
		{[]string{"query", "points", "--run", "3", "-e", "two-populations-three-pathways"}, `--run 3 is of experiment "`, true},
		{[]string{"query", "fits", "--run", "1", "-e", "ampa-instant-2comp-dimensionless-gsweep"}, `--run 1 is of experiment "two-populations-three-pathways", not "ampa-instant-2comp-dimensionless-gsweep"`, true},
	}
	for _, tc := range tests {
		_, err := qcli(t, path, tc.args...)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
			continue
		}
		if _, isUsage := err.(usageError); isUsage != tc.usage {
			t.Errorf("%v: usage error %v, want %v", tc.args, isUsage, tc.usage)
		}
	}
	out, err := qcli(t, path, "query", "sql", "SELECT count(*) FROM points", "--format", "csv")
	if err != nil || !strings.HasSuffix(out, "\n25\n") {
		t.Errorf("points after refused writes: %q, %v", out, err)
	}
	// A missing database says what to do, for every reading command.
	none := filepath.Join(t.TempDir(), "none.db")
	for _, args := range [][]string{{"query", "runs"}, {"export"}, {"report", "-o", filepath.Join(t.TempDir(), "r.html")}, {"plot", "curve", "-o", filepath.Join(t.TempDir(), "c.png")}} {
		if _, err := qcli(t, none, args...); err == nil || !strings.Contains(err.Error(), "no database "+none+": give --db FILE") {
			t.Errorf("%v in a missing database: %v", args, err)
		}
	}
}

func TestExportCommand(t *testing.T) {
	path := qDB(t)
	dir := t.TempDir()
	tests := []struct {
		format string
		check  string
	}{
		{"dendrify", "def build_models(dt=None):"},
		{"json", `"format": "dendfit-export"`},
		{"csv", "pathway,pre,post,compartment,tag,channel,g_nS"},
		{"yaml", "# dendfit export: the g (and kinetics) of every converged pathway fitted by run 1"},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			stdout, err := qcli(t, path, "export", "-e", "two-populations-three-pathways", "--format", tc.format)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, "out."+tc.format)
			if _, err := qcli(t, path, "export", "--run", "1", "--format", tc.format, "-o", file); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(stdout, tc.check) || !bytes.Contains(b, []byte(tc.check)) {
				t.Errorf("export lacks %q:\n%s", tc.check, stdout)
			}
		})
	}
	// The yaml export simulates to the targets.
	yml := filepath.Join(dir, "out.yaml")
	out, err := qcli(t, filepath.Join(dir, "check.db"), "simulate", yml, "--json", "--no-db")
	if err != nil {
		t.Fatal(err)
	}
	var sim struct {
		Pathways []struct {
			PSPMV    float64 `json:"psp_mV"`
			TargetMV float64 `json:"target_psp_mV"`
		} `json:"pathways"`
	}
	if err := json.Unmarshal([]byte(out), &sim); err != nil {
		t.Fatal(err)
	}
	for i, p := range sim.Pathways {
		if d := abs(abs(p.PSPMV)/p.TargetMV - 1); !(d <= 1e-7) {
			t.Errorf("pathway %d: PSP %g mV, target %g mV", i, p.PSPMV, p.TargetMV)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".dendfit-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
	if out, err := qcli(t, path, "export", "-e", "two-populations-three-pathways", "--json"); err != nil || !strings.Contains(out, `"format": "dendfit-export"`) {
		t.Errorf("export --json: err %v, output not the json export:\n%.200s", err, out)
	}
	for _, args := range [][]string{
		{"export", "--json", "--format", "csv", "-e", "two-populations-three-pathways"},
		{"export", "--format", "xml", "-e", "x"},
		{"export"},
		{"export", "--run", "2"},
		{"export", "-e", "nope"},
	} {
		if _, err := qcli(t, path, args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestReproduceCommand(t *testing.T) {
	path := qDB(t)
	tests := []struct {
		run  string
		want string
	}{
		{"1", "all 12 points and 3 fits identical"},
		{"2", "the one point identical"},
		{"3", "all 12 points identical"},
	}
	for _, tc := range tests {
		out, err := qcli(t, path, "reproduce", tc.run)
		if err != nil {
			t.Fatalf("reproduce %s: %v", tc.run, err)
		}
		// A test binary carries no VCS revision, and so cannot say the
		// code is the same.
		if !strings.Contains(out, tc.want) || !strings.Contains(out, "which does not identify the source; the code may differ") {
			t.Errorf("reproduce %s:\n%s", tc.run, out)
		}
	}
	out, err := qcli(t, path, "--json", "query", "runs", "--command", "reproduce")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Runs []struct {
			Reproduces *int64 `json:"reproduces_run_id"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Runs) != 3 || doc.Runs[0].Reproduces == nil || *doc.Runs[0].Reproduces != 3 {
		t.Errorf("reproduce runs: %s", out)
	}
	if _, err := qcli(t, path, "reproduce", "x"); err == nil {
		t.Error("reproduce x: no error")
	}
	// A mistyped --db is an error, not a new empty database.
	missing := filepath.Join(t.TempDir(), "typo.db")
	if _, err := qcli(t, missing, "reproduce", "1"); err == nil || !strings.Contains(err.Error(), "typo.db: no such database") {
		t.Errorf("reproduce in a missing database: %v", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("reproduce created %s", missing)
	}
}

// TestSweepIntoNewerDatabase: a sweep whose database a newer dendfit
// wrote fails with the database's own message and records nothing.
func TestSweepIntoNewerDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dendfit.db")
	if _, err := qcli(t, path, "sweep", qSweep); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`INSERT INTO schema_migrations VALUES (99, '0099_future.sql', '2030-01-01T00:00:00Z')`); err != nil {
		t.Fatal(err)
	}
	_, err = qcli(t, path, "sweep", qSweep)
	if err == nil || !strings.Contains(err.Error(), "has schema version 99") || !strings.HasSuffix(err.Error(), "upgrade dendfit") {
		t.Fatalf("sweep into a newer database: %v", err)
	}
	var runs, points int
	if err := raw.QueryRow(`SELECT (SELECT count(*) FROM runs), (SELECT sum(n_points) FROM point_blocks)`).Scan(&runs, &points); err != nil {
		t.Fatal(err)
	}
	if runs != 1 || points != 12 {
		t.Errorf("%d runs and %d points after the refused sweep, want 1 and 12", runs, points)
	}
}

// TestSoleExperimentDefault: in a database of one experiment, query points,
// export, plot and report need no --experiment, and give what they give
// with it; in an empty one they say there is nothing yet.
func TestSoleExperimentDefault(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "one.db")
	spec := "../../pipeline/testdata/reference/cases/two-populations-three-pathways.yaml"
	const name = "two-populations-three-pathways"
	for range 2 { // two runs: the default is the newest, not both
		if _, err := qcli(t, path, "fit", spec, "-q"); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"query", "points", "--format", "csv"},
		{"export", "--format", "csv"},
	} {
		without, err := qcli(t, path, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		with, err := qcli(t, path, append(args, "--experiment", name)...)
		if err != nil {
			t.Fatal(err)
		}
		if without != with || strings.Count(without, "\n") < 2 {
			t.Errorf("%v without --experiment:\n%s\nwith it:\n%s", args, without, with)
		}
	}
	for _, args := range [][]string{
		{"plot", "curve", "-o", filepath.Join(dir, "c.svg")},
		{"report", "-o", filepath.Join(dir, "r.html")},
	} {
		if _, err := qcli(t, path, args...); err != nil {
			t.Errorf("%v: %v", args, err)
		}
		if _, err := os.Stat(args[len(args)-1]); err != nil {
			t.Errorf("%v wrote nothing: %v", args, err)
		}
	}
	empty := filepath.Join(dir, "empty.db")
	d, err := db.Open(context.Background(), empty)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if _, err := qcli(t, empty, "query", "points"); err == nil || !strings.Contains(err.Error(), "holds no experiment yet") {
		t.Errorf("empty database: err = %v", err)
	}
}

// TestExperimentSelection: a mistyped --experiment is named as such (it
// read as "no finished run"); with several experiments, report, which has
// no --run, does not offer it; query fits takes a one-experiment
// database's newest fit run, as query points does, and refuses a --run
// that is not a fit.
func TestExperimentSelection(t *testing.T) {
	path := qDB(t) // two experiments: a fit case, and a sweep
	for _, args := range [][]string{
		{"query", "points", "-e", "nosuch"},
		{"export", "-e", "nosuch"},
		{"plot", "curve", "-e", "nosuch", "-o", filepath.Join(t.TempDir(), "c.png")},
		{"report", "-e", "nosuch", "-o", filepath.Join(t.TempDir(), "r.html")},
	} {
		_, err := qcli(t, path, args...)
		var u usageError
		if !errors.As(err, &u) || !strings.Contains(err.Error(), `experiment "nosuch" is not in`) || !strings.Contains(err.Error(), "two-populations-three-pathways") {
			t.Errorf("%v: %v", args, err)
		}
	}
	_, err := qcli(t, path, "report", "-o", filepath.Join(t.TempDir(), "r.html"))
	if err == nil || !strings.Contains(err.Error(), "give --experiment NAME: ") {
		t.Errorf("report in a database of two experiments: %v", err)
	}
	if _, err := qcli(t, path, "query", "fits", "--run", "3"); err == nil || !strings.Contains(err.Error(), "--run 3 is a sweep run, not a fit run") {
		t.Errorf("query fits --run of a sweep: %v", err)
	}
	// With several experiments and neither flag: every fit, as before.
	if out, err := qcli(t, path, "query", "fits", "--format", "csv"); err != nil || strings.Count(out, "\n") != 4 {
		t.Errorf("query fits of every experiment: %v\n%s", err, out)
	}
	// One experiment: its newest fit run only, though it has two.
	one := filepath.Join(t.TempDir(), "one.db")
	for range 2 {
		if _, err := qcli(t, one, "fit", qFitCase); err != nil {
			t.Fatal(err)
		}
	}
	out, err := qcli(t, one, "query", "fits", "--format", "csv")
	if err != nil || strings.Count(out, "\n") != 4 || strings.Contains(out, "\n1,") {
		t.Errorf("query fits of one experiment fitted twice: %v\n%s", err, out)
	}
}

// TestQueryFitsUnconverged: a fit that cannot reach its target (g_max
// far below the g it needs) has no fitted g in query fits, as in fit
// --json: g_fit_nS is null and g_best_nS holds the best g tried, where
// the table too shows it; a g filter selects fitted g only.
func TestQueryFitsUnconverged(t *testing.T) {
	dir := t.TempDir()
	spec := writeSpec(t, dir, "s.yaml", referenceCase(t, "seed-ampa-2comp-dimensional")+"fit:\n  g_max: 0.01 nS\n")
	path := filepath.Join(dir, "d.db")
	out, err := qcli(t, path, "fit", spec)
	if err == nil {
		t.Fatal("fit with g_max 0.01 nS: want an error (not converged)")
	}
	// fit's table gives the best g tried beside its PSP, marked as no fit.
	if !regexp.MustCompile(`\(0\.01\)\s+0\.00755\d+\s+-\s+1\s+unreachable`).MatchString(out) || !strings.Contains(out, "(g): not a fit: the best g tried, whose |psp| is given") {
		t.Errorf("fit table of an unreachable target:\n%s", out)
	}
	out, err = qcli(t, path, "query", "fits", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Fits []struct {
			GFitNS    []float64 `json:"g_fit_nS"`
			GBestNS   []float64 `json:"g_best_nS"`
			Converged bool      `json:"converged"`
			Outcome   string    `json:"outcome"`
		} `json:"fits"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Fits) != 1 || got.Fits[0].Converged || got.Fits[0].GFitNS != nil ||
		len(got.Fits[0].GBestNS) != 1 || got.Fits[0].GBestNS[0] != 0.01 || !strings.Contains(out, `"g_fit_nS": null`) {
		t.Fatalf("query fits --json of an unreachable target: %s; want g_fit_nS null and g_best_nS [0.01]", out)
	}
	out, err = qcli(t, path, "query", "fits", "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("query fits --format csv: %q, %v", out, err)
	}
	cell := func(col string) string { return rows[1][slices.Index(rows[0], col)] }
	// A missing number is empty in CSV, as every other; the PSP at the
	// best g tried is given.
	if cell("g_fit_nS") != "" || cell("g_best_nS") != "0.01" || cell("psp_at_fit_mV") == "" || cell("message") == "" {
		t.Errorf("csv: g_fit_nS %q, g_best_nS %q, psp_at_fit_mV %q, message %q; want empty, 0.01, a PSP and why", cell("g_fit_nS"), cell("g_best_nS"), cell("psp_at_fit_mV"), cell("message"))
	}
	if out, err := qcli(t, path, "query", "fits", "--g-max", "1", "--json"); err != nil || !strings.Contains(out, `"fits": []`) {
		t.Errorf("query fits --g-max 1: %s, %v; want no fits (the failed fit has no g)", out, err)
	}
}

// TestQueryPointsOfAShard: when the newest finished run is one shard's,
// query points says that it holds part of the grid, and how to get all;
// with -q too (a script got half the points and no word).
func TestQueryPointsOfAShard(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	if _, err := qcli(t, path, "sweep", qSweep, "--shard", "0/2"); err != nil {
		t.Fatal(err)
	}
	_, errOut, err := runCLIStderr(t, "--db", path, "query", "points")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut, "(a sweep run; shard 0 of 2, a part of the grid: 'dendfit merge' of the shards makes a run of it all;") {
		t.Errorf("stderr %q: want the shard named", errOut)
	}
	_, errOut, err = runCLIStderr(t, "--db", path, "-q", "query", "points", "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	if errOut != "warning: points of run 1 only, shard 0 of 2, a part of the grid: 'dendfit merge' of the shards makes a run of it all\n" {
		t.Errorf("-q: stderr %q: want the shard named", errOut)
	}
}

// TestQueryGBoundsHoldComputedValues: a linear range from 0.1 to 0.7 nS
// computes 0.39999999999999997 and 0.7000000000000001 nS for its 0.4 and
// 0.7; --g-min 0.4 --g-max 0.7 keeps them (it dropped both).
func TestQueryGBoundsHoldComputedValues(t *testing.T) {
	b, err := os.ReadFile(qSweep)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(b), "    from: 0.1 nS\n    to: 10 nS\n    steps: 12\n    scale: log\n", "    from: 0.1 nS\n    to: 0.7 nS\n    steps: 7\n    scale: linear\n", 1)
	if text == string(b) {
		t.Fatal("the case's sweep changed: no log g range to replace")
	}
	dir := t.TempDir()
	spec, path := filepath.Join(dir, "lin.yaml"), filepath.Join(dir, "l.db")
	if err := os.WriteFile(spec, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := qcli(t, path, "sweep", spec); err != nil {
		t.Fatal(err)
	}
	var all struct {
		Points []struct {
			GNS []float64 `json:"g_nS"`
		}
	}
	out, err := qcli(t, path, "query", "points", "--json")
	if err != nil || json.Unmarshal([]byte(out), &all) != nil || len(all.Points) != 7 {
		t.Fatalf("%v: %s", err, out)
	}
	// The grid's own values, as the reference computes them.
	if g := all.Points[6].GNS[0]; g == 0.7 || math.Abs(g/0.7-1) > 1e-15 {
		t.Fatalf("the grid's last g is %v: not the rounded value this test is about", g)
	}
	out, err = qcli(t, path, "query", "points", "--json", "--g-min", "0.4", "--g-max", "700 pS")
	var sel struct {
		Points []struct {
			GNS []float64 `json:"g_nS"`
		}
	}
	if err != nil || json.Unmarshal([]byte(out), &sel) != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var got []float64
	for _, p := range sel.Points {
		got = append(got, p.GNS[0])
	}
	if want := []float64{all.Points[3].GNS[0], all.Points[4].GNS[0], all.Points[5].GNS[0], all.Points[6].GNS[0]}; !slices.Equal(got, want) {
		t.Errorf("--g-min 0.4 --g-max 700 pS: g %v, want %v", got, want)
	}
}

// TestQueryFitsOfASelection: after fit --pathway, query fits lists that
// run and says it fitted only those, and where the others are: from an
// earlier fit, or, with none, at their spec g (it spoke of earlier fits
// on a new database).
func TestQueryFitsOfASelection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.db")
	if _, err := qcli(t, path, "fit", qFitCase, "-p", "2"); err != nil {
		t.Fatal(err)
	}
	_, errOut, err := runCLIStderr(t, "--db", path, "query", "fits")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut, "note: fit run 1 fitted only pathway(s) 2, and no other run fitted the others: export and report give them their spec g") {
		t.Errorf("stderr %q: want the selection named, and no earlier fit", errOut)
	}
	// Fitted again, still the others have no fit.
	if _, err := qcli(t, path, "fit", qFitCase, "-p", "2"); err != nil {
		t.Fatal(err)
	}
	if _, errOut, _ = runCLIStderr(t, "--db", path, "query", "fits"); !strings.Contains(errOut, "note: fit run 2 fitted only pathway(s) 2, and no other run fitted the others") {
		t.Errorf("stderr %q: want no earlier fit of the others", errOut)
	}
	if _, err := qcli(t, path, "fit", qFitCase); err != nil {
		t.Fatal(err)
	}
	if _, err := qcli(t, path, "fit", qFitCase, "-p", "2"); err != nil {
		t.Fatal(err)
	}
	_, errOut, err = runCLIStderr(t, "--db", path, "query", "fits")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut, "note: fit run 4, the newest, fitted only pathway(s) 2; export and report take the others from earlier fits ('dendfit query fits --calibration' lists them all)") {
		t.Errorf("stderr %q: want the selection named, and the earlier fits", errOut)
	}
	// --calibration lists what export hands on: pathway 2 from run 4, the
	// others from run 3 (run 4 fitted them not), as the export says.
	out, err := qcli(t, path, "query", "fits", "--calibration", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Fits []struct {
			RunID   int64 `json:"run_id"`
			Pathway int   `json:"pathway"`
		} `json:"fits"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	var runs []string
	for _, f := range got.Fits {
		runs = append(runs, fmt.Sprintf("%d:%d", f.Pathway, f.RunID))
	}
	if strings.Join(runs, " ") != "0:3 1:3 2:4" {
		t.Errorf("query fits --calibration: pathway:run %v, want 0:3 1:3 2:4", runs)
	}
	// With --run, that run's fits alone, as export --run.
	if out, err := qcli(t, path, "query", "fits", "--calibration", "--run", "4", "--format", "csv"); err != nil || strings.Count(out, "\n") != 2 {
		t.Errorf("query fits --calibration --run 4: %v\n%s", err, out)
	}
	// Every pathway with a target named is the whole fit: no note.
	if _, err := qcli(t, path, "fit", qFitCase, "-p", "0", "-p", "1", "-p", "2"); err != nil {
		t.Fatal(err)
	}
	if _, errOut, _ = runCLIStderr(t, "--db", path, "query", "fits"); strings.Contains(errOut, "fitted only") {
		t.Errorf("stderr %q after a fit of every pathway by name: want no note", errOut)
	}
}

// TestExportUnfittedTarget: after a pathway's target is edited and another
// pathway is fitted, the edited one has no fit to its target: export warns
// and its header says so (it read "3 of 3 pathways converged"), and the
// report marks the row instead of calling it "no target_psp".
func TestExportUnfittedTarget(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "e.db")
	if _, err := qcli(t, path, "fit", qFitCase); err != nil {
		t.Fatal(err)
	}
	text := referenceCase(t, "two-populations-three-pathways")
	edited := writeSpec(t, dir, "edited.yaml", strings.Replace(text, "target_psp: 0.5 mV", "target_psp: 0.6 mV", 1))
	if _, err := qcli(t, path, "fit", edited, "-p", "2"); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := runCLIStderr(t, "--db", path, "export")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut, "warning: pathway 0 (E->E (AMPA)) has a target_psp but no fit that holds for it (fit run 1 fitted it before its targets changed)") {
		t.Errorf("export stderr %q: want pathway 0 named unfitted, and why", errOut)
	}
	if !strings.Contains(out, "# NOT FITTED as they are now (target, model or fit settings changed since their fit, or never fitted), so at their spec g: pathway(s) 0.") {
		t.Errorf("export header:\n%.1200s", out)
	}
	html := filepath.Join(dir, "r.html")
	if _, err := qcli(t, path, "report", "-o", html); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "not fitted to its target</span>") || !strings.Contains(string(b), "1 pathway(s) with a target have no fit to it.") {
		t.Errorf("report: the unfitted pathway is not marked")
	}
}

// TestReproduceOfAnEmptyRun: a fit run stopped before it recorded
// anything has nothing to compare, and reproduce says so instead of "all 0
// points and 0 fits identical".
func TestReproduceOfAnEmptyRun(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "e.db")
	text, err := os.ReadFile(qFitCase)
	if err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	eid, err := d.PutExperiment(ctx, "two-populations-three-pathways", text)
	if err == nil {
		r := db.NewRun(eid, db.CommandFit, nil)
		r.Status = db.StatusCancelled
		_, err = d.CreateRun(ctx, r)
	}
	if err := errors.Join(err, d.Close()); err != nil {
		t.Fatal(err)
	}
	out, err := qcli(t, path, "reproduce", "1")
	if err != nil || !strings.Contains(out, "nothing to compare: run 1 recorded no points") || strings.Contains(out, "all 0 points") {
		t.Errorf("reproduce of an empty run: %v\n%s", err, out)
	}
}

// TestFitWarningsRecorded: a fit's warnings (here a GABA pathway held
// below E_GABA, whose IPSP depolarises) are kept with it: query fits gives
// them in JSON and CSV, and under the table, and the export's header names
// them; they used to be printed once by fit and lost.
func TestFitWarningsRecorded(t *testing.T) {
	b, err := os.ReadFile(qCases + "gaba-point-cell-held.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(b), "holding: -50 mV", "holding: -90 mV", 1)
	dir := t.TempDir()
	specPath, path := filepath.Join(dir, "held.yaml"), filepath.Join(dir, "w.db")
	if err := os.WriteFile(specPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := qcli(t, path, "fit", specPath); err != nil {
		t.Fatal(err)
	}
	out, err := qcli(t, path, "query", "fits", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var fits struct {
		Fits []struct {
			Warnings []string `json:"warnings"`
		} `json:"fits"`
	}
	if err := json.Unmarshal([]byte(out), &fits); err != nil || len(fits.Fits) != 1 || len(fits.Fits[0].Warnings) != 1 ||
		!strings.Contains(fits.Fits[0].Warnings[0], "depolarises") {
		t.Fatalf("query fits --json: %s (%v)", out, err)
	}
	out, err = qcli(t, path, "query", "fits", "--format", "csv")
	if err != nil || !strings.Contains(out, "depolarises") {
		t.Errorf("query fits --format csv: %s (%v)", out, err)
	}
	_, stderr, err := runCLIStderr(t, "--db", path, "query", "fits")
	if err != nil || !strings.Contains(stderr, "run 1: warning: pathway 0") || !strings.Contains(stderr, "depolarises") {
		t.Errorf("query fits: stderr %q (%v), want the warning under the table", stderr, err)
	}
	out, err = qcli(t, path, "export", "--format", "dendrify")
	if err != nil || !strings.Contains(out, "# WARNING of the fit: pathway 0") {
		t.Errorf("export: %.600s (%v), want the warning in its header", out, err)
	}
	// --strict makes a warned fit an exit status of 4 (a script reads
	// 0 as a sound g); without warnings it changes nothing.
	var o, e strings.Builder
	root := newRootCmdIO(&o, &e)
	root.SetArgs([]string{"--db", path, "-q", "fit", specPath, "--strict"})
	err = root.ExecuteContext(context.Background())
	if !errors.Is(err, errWarned) || exitCode(context.Background(), err, io.Discard) != exitWarned {
		t.Errorf("fit --strict of a warned fit: %v, want exit status %d", err, exitWarned)
	}
	if _, err := qcli(t, path, "fit", qCases+"gaba-point-cell-held.yaml", "--strict"); err != nil {
		t.Errorf("fit --strict of a fit with no warning: %v", err)
	}
}

// TestQueryFitsSimFailed: a fit that could simulate nothing (sim_failed)
// has no PSP in query fits (null in JSON, empty in CSV; the database
// keeps 0, which read as a measured 0 mV) and gives why; the exports
// leave out the state it has none of, and warn.
func TestQueryFitsSimFailed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.db")
	if _, err := qcli(t, path, "fit", "../../pipeline/export/testdata/no-steady-state.yaml"); err == nil {
		t.Fatal("fit of two unsimulable pathways: want an error")
	}
	out, err := qcli(t, path, "query", "fits", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(out, `"psp_at_fit_mV": null`) != 2 || strings.Count(out, `"outcome": "sim_failed"`) != 2 {
		t.Errorf("query fits --json: %s", out)
	}
	out, err = qcli(t, path, "query", "fits", "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("query fits --format csv: %q, %v", out, err)
	}
	for _, r := range rows[1:] {
		cell := func(col string) string { return r[slices.Index(rows[0], col)] }
		if cell("psp_at_fit_mV") != "" || !strings.Contains(cell("message"), "sim: ") {
			t.Errorf("csv row %v: psp_at_fit_mV %q, message %q", r[:2], cell("psp_at_fit_mV"), cell("message"))
		}
	}
	for _, f := range []string{"dendrify", "json", "csv"} {
		_, stderr, err := runCLIStderr(t, "--db", path, "export", "--format", f)
		if err != nil || strings.Count(stderr, "has no state to measure a PSP from") != 2 {
			t.Errorf("export --format %s: %v\n%s", f, err, stderr)
		}
	}
}

// TestFitRootBelowJumpReproduces: fit --root-below-jump records the option
// with the run, so that reproduce fits as it did (without it, the pathway
// would end dspike_jump and differ).
func TestFitRootBelowJumpReproduces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	const spec = "../../pipeline/testdata/dspike-root-below-jump.yaml"
	if out, err := qcli(t, path, "fit", spec, "--root-below-jump", "--no-fine-dt"); err != nil || !strings.Contains(out, "converged") {
		t.Fatalf("fit --root-below-jump: %v\n%s", err, out)
	}
	out, err := qcli(t, path, "reproduce", "1")
	if err != nil || !strings.Contains(out, "1 fit identical") {
		t.Errorf("reproduce 1: %v\n%s", err, out)
	}
}

// TestFitJSONMatchesQueryFits: fit --json and query fits --json give each
// fit the same keys with the same values, for a fit of g, a kinetics fit
// and a pathway that cannot be simulated (fit --json left out null
// kinetics and empty warnings, and query fits the residuals).
func TestFitJSONMatchesQueryFits(t *testing.T) {
	dir := t.TempDir()
	spec := writeSpec(t, dir, "k.yaml", `dendfit: 1
experiment: k
simulation: {dt: 0.1 ms, method: exponential_euler, duration: 100 ms, spike_at: 5 ms}
cells:
  pv:
    compartments:
      - {name: soma, type: soma, cm_abs: 30 pF, gl_abs: 10 nS, v_rest: -68 mV}
populations: {E: pv, PV: pv}
pathways:
  - {pre: E, post: PV, compartment: soma, receptors: [{channel: AMPA, g: 1 nS, t_decay: 2 ms}], target_psp: 1 mV}
  - pre: E
    post: PV
    compartment: soma
    tag: kin
    receptors: [{channel: AMPA, g: 1 nS, t_rise: 0.5 ms, t_decay: 2 ms}]
    target_psp: 1 mV
    target_time_to_peak: 1.5 ms
    target_half_width: 3.5 ms
  - {pre: PV, post: PV, compartment: soma, receptors: [{channel: GABA, g: 1 nS, t_decay: 8 ms}], target_psp: 0.5 mV, holding: -80 mV}
`)
	path := filepath.Join(dir, "k.db")
	out, err := qcli(t, path, "fit", spec, "--json")
	if err != nil && !errors.Is(err, errNotConverged) {
		t.Fatal(err)
	}
	var fitOut struct {
		Pathways []map[string]any `json:"pathways"`
	}
	if err := json.Unmarshal([]byte(out), &fitOut); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err = qcli(t, path, "query", "fits", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var q struct {
		Fits []map[string]any `json:"fits"`
	}
	if err := json.Unmarshal([]byte(out), &q); err != nil {
		t.Fatal(err)
	}
	if len(q.Fits) != 3 || len(fitOut.Pathways) != 3 {
		t.Fatalf("%d fits queried, %d fitted", len(q.Fits), len(fitOut.Pathways))
	}
	for i, qf := range q.Fits {
		ff := fitOut.Pathways[i]
		for k, v := range qf {
			if k == "run_id" || k == "experiment" { // fit --json gives them once, at the top
				continue
			}
			fv, ok := ff[k]
			if !ok {
				t.Errorf("pathway %d (%v): fit --json lacks %s (query fits: %v)", i, qf["outcome"], k, v)
				continue
			}
			if !reflect.DeepEqual(fv, v) {
				t.Errorf("pathway %d (%v): %s is %v in fit --json, %v in query fits", i, qf["outcome"], k, fv, v)
			}
		}
	}
	// The evaluations measured the record compartment alone: their
	// peaks_mV is null, not {}.
	out, err = qcli(t, path, "query", "points", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var pts struct {
		Points []map[string]any `json:"points"`
	}
	if err := json.Unmarshal([]byte(out), &pts); err != nil {
		t.Fatal(err)
	}
	for _, p := range pts.Points {
		if v, ok := p["peaks_mV"]; !ok || v != nil {
			t.Fatalf("evaluation %v: peaks_mV %v (present %v), want null", p["point_key"], v, ok)
		}
	}
	if len(pts.Points) == 0 {
		t.Error("no evaluation points")
	}
}

// TestQueryOfAnUnfinishedRun: the points of a run given by --run that did
// not finish come with a warning, under -q too (a script took such a run's
// part of the grid for all of it); a finished run's come without.
func TestQueryOfAnUnfinishedRun(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "u.db")
	if _, err := qcli(t, path, "sweep", qSweep); err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	// Run 2, stored as running and claimed by no process: interrupted.
	r := db.NewRun(1, db.CommandSweep, []string{"dendfit", "sweep"})
	r.ShardK, r.ShardN = 1, 2
	if _, err := d.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	d.Close()
	for _, tc := range []struct {
		run, want string
	}{
		{"1", ""},
		{"2", "warning: run 2 is interrupted: this is what it recorded before it stopped ('dendfit --db " + path + " sweep SPEC --shard 1/2 --resume=2' completes it)\n"},
	} {
		_, errOut, err := runCLIStderr(t, "--db", path, "-q", "query", "points", "--run", tc.run, "--format", "csv")
		if err != nil || errOut != tc.want {
			t.Errorf("query points --run %s: %v, stderr %q, want %q", tc.run, err, errOut, tc.want)
		}
	}
}

// TestQueryRunsShardOfSweepsOnly: the runs table gives a shard to sweeps
// alone; a simulate or fit run, which splits no grid, reads "-" (it read
// 0/1).
func TestQueryRunsShardOfSweepsOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.db")
	if _, err := qcli(t, path, "simulate", qSweep); err != nil {
		t.Fatal(err)
	}
	if _, err := qcli(t, path, "sweep", qSweep, "--shard", "1/2"); err != nil {
		t.Fatal(err)
	}
	out, err := qcli(t, path, "query", "runs", "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("%v: %q", err, out)
	}
	col := slices.Index(rows[0], "shard")
	for _, r := range rows[1:] {
		want := map[string]string{"simulate": "-", "sweep": "1/2"}[r[2]]
		if col < 0 || r[col] != want {
			t.Errorf("%s run: shard %q, want %q", r[2], r[col], want)
		}
	}
}

// TestQueryFitsOfSeveralExperiments: every fit of a database of several
// experiments says whose it is (it listed them with no experiment
// column); one experiment's listing keeps its columns; JSON always names
// it.
func TestQueryFitsOfSeveralExperiments(t *testing.T) {
	dbp := filepath.Join(t.TempDir(), "t.db")
	for _, spec := range []string{"../../pipeline/testdata/reference/cases/ampa-instant-2comp-dimensionless-gsweep.yaml", "../../experiments/l23-demo.yaml"} {
		if _, err := runCLI(t, "--db", dbp, "-q", "fit", spec); err != nil {
			t.Fatal(err)
		}
	}
	all, err := runCLI(t, "--db", dbp, "query", "fits", "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(all)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		seen[r[1]] = true
	}
	if rows[0][1] != "experiment" || !seen["l23-demo"] || len(seen) != 2 {
		t.Errorf("every fit: columns %v, experiments %v; want an experiment column naming both", rows[0], seen)
	}
	one, err := runCLI(t, "--db", dbp, "query", "fits", "-e", "l23-demo", "--format", "csv")
	if err != nil || strings.Contains(strings.SplitN(one, "\n", 2)[0], "experiment") {
		t.Errorf("one experiment's fits: %v, header %q", err, strings.SplitN(one, "\n", 2)[0])
	}
	js, err := runCLI(t, "--db", dbp, "query", "fits", "-e", "l23-demo", "--json")
	var doc struct {
		Fits []struct {
			Experiment string `json:"experiment"`
		} `json:"fits"`
	}
	if err != nil || json.Unmarshal([]byte(js), &doc) != nil || len(doc.Fits) == 0 || doc.Fits[0].Experiment != "l23-demo" {
		t.Errorf("JSON: %v, %+v", err, doc)
	}
}

// TestQuerySpec: query spec writes a run's spec text byte for byte as
// read, to stdout or a file, and refuses a text edited since it was
// recorded and a run that is not there.
func TestQuerySpec(t *testing.T) {
	dir := t.TempDir()
	dbp := filepath.Join(dir, "s.db")
	text := referenceCase(t, "seed-ampa-2comp-dimensional") + "# a comment, kept\n"
	spec := writeSpec(t, dir, "seed.yaml", text)
	if _, err := runCLI(t, "--db", dbp, "-q", "simulate", spec); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "--db", dbp, "query", "spec", "1")
	if err != nil || out != text {
		t.Errorf("query spec 1: %v, %d bytes; want the spec's %d", err, len(out), len(text))
	}
	file := filepath.Join(dir, "back.yaml")
	if _, err := runCLI(t, "--db", dbp, "-q", "query", "spec", "1", "-o", file); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != text {
		t.Errorf("query spec -o: %v, %q", err, b)
	}
	if _, err := runCLI(t, "--db", dbp, "query", "spec", "2"); err == nil || !strings.Contains(err.Error(), "run 2: no such run") {
		t.Errorf("query spec of no such run: %v", err)
	}
	raw, err := sql.Open("sqlite3", dbp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE experiments SET spec_text = spec_text || 'x'`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if _, err := runCLI(t, "--db", dbp, "query", "spec", "1"); err == nil || !strings.Contains(err.Error(), "does not match the SHA-256 recorded with it") {
		t.Errorf("query spec of an edited text: %v", err)
	}
}

// TestExportSaysWhyUnfitted: export's warning of a pathway no fit holds
// for says what changed since its last fit, or that it never was (a
// trial's edited cell was blamed on "an edited target"); with --run, that
// the run did not fit it.
func TestExportSaysWhyUnfitted(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "e.db")
	if _, err := qcli(t, path, "fit", qFitCase); err != nil {
		t.Fatal(err)
	}
	text := referenceCase(t, "two-populations-three-pathways")
	// PV's leak edited, and a pathway added: fit run 2 fits pathway 0.
	edited := strings.Replace(text, "gl_abs: 8 nS", "gl_abs: 9 nS", 1) +
		"- pre: PV\n  post: PV\n  compartment: soma\n  receptors:\n  - channel: GABA\n    g: 1 nS\n    t_decay: 5 ms\n  target_psp: 0.5 mV\n  holding: -50 mV\n"
	if _, err := qcli(t, path, "fit", writeSpec(t, dir, "edited.yaml", edited), "-p", "0"); err != nil {
		t.Fatal(err)
	}
	_, errOut, err := runCLIStderr(t, "--db", path, "export")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"warning: pathway 2 (E->PV (AMPA)) has a target_psp but no fit that holds for it (fit run 1 fitted it before its post cell changed)",
		"warning: pathway 3 (PV->PV (GABA)) has a target_psp but no fit that holds for it (it was never fitted)",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("export stderr %q: want %q", errOut, want)
		}
	}
	if strings.Contains(errOut, "pathway 1 ") {
		t.Errorf("export stderr %q: pathway 1 (its fit of run 1 holds) named", errOut)
	}
	// The report gives the same reasons, and with --run that the run did
	// not fit them.
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"no fit that holds for it (fit run 1 fitted it before its post cell changed)", "no fit that holds for it (it was never fitted)"}},
		{[]string{"--run", "2"}, []string{"no fit that holds for it (fit run 2 did not fit it)"}},
	} {
		html := filepath.Join(dir, "r.html")
		if _, err := qcli(t, path, append([]string{"report", "-o", html}, tc.args...)...); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(html)
		for _, w := range tc.want {
			if !strings.Contains(string(b), w) {
				t.Errorf("report %v: no %q", tc.args, w)
			}
		}
	}
	// A pathway moved to another compartment: that is what changed.
	path2 := filepath.Join(dir, "e2.db")
	if _, err := qcli(t, path2, "fit", qFitCase); err != nil {
		t.Fatal(err)
	}
	moved := strings.Replace(text, "compartment: dend", "compartment: soma", 1)
	if _, err := qcli(t, path2, "fit", writeSpec(t, dir, "moved.yaml", moved), "-p", "1"); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := runCLIStderr(t, "--db", path2, "export"); err != nil ||
		!strings.Contains(errOut, "warning: pathway 0 (E->E (AMPA)) has a target_psp but no fit that holds for it (fit run 1 fitted it before its compartment changed)") {
		t.Errorf("export after moving pathway 0: %v, stderr %q", err, errOut)
	}
	_, errOut, err = runCLIStderr(t, "--db", path, "export", "--run", "2")
	if err != nil || !strings.Contains(errOut, "warning: pathway 1 (PV->E (GABA)) has a target_psp but no fit that holds for it (run 2 did not fit it)") {
		t.Errorf("export --run 2: %v, stderr %q", err, errOut)
	}
}

// TestQueryPointsCommand: after a sweep and a fit, query points takes the
// newest run, the fit's evaluations; --command sweep takes the sweep (a
// trial's tutorial expected it).
func TestQueryPointsCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	spec := "../../experiments/l23-demo.yaml"
	for _, c := range []string{"sweep", "fit"} {
		if _, err := qcli(t, path, c, spec); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		args []string
		key  string // the first point's key, "" for an error
	}{
		{nil, "fit/p0000/e0000"},
		{[]string{"--command", "sweep"}, "p0000/g000000/d000000/r-"},
		{[]string{"--command", "fit"}, "fit/p0000/e0000"},
		{[]string{"--command", "swep"}, ""},
		{[]string{"--command", "sweep", "--run", "2"}, ""},
	} {
		out, err := qcli(t, path, append([]string{"query", "points", "--format", "csv", "--limit", "1"}, tc.args...)...)
		if tc.key == "" {
			var u usageError
			if !errors.As(err, &u) {
				t.Errorf("%v: %v, want a usage error", tc.args, err)
			}
			continue
		}
		if err != nil || !strings.Contains(out, "\n0,L23E,L23E,"+tc.key+",") {
			t.Errorf("%v: %v\n%s", tc.args, err, out)
		}
	}
}

// TestFitJSONKeysAlwaysThere: fit --json and query fits --json give
// g_fit_nS and g_best_nS for every fit, null where there is none (a
// converged fit's g_best_nS; a trial's script met no key at all).
func TestFitJSONKeysAlwaysThere(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	out, err := qcli(t, path, "--json", "fit", "../../experiments/l23-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	q, err := qcli(t, path, "query", "fits", "--json")
	if err != nil {
		t.Fatal(err)
	}
	for name, js := range map[string]string{"fit --json": out, "query fits --json": q} {
		var doc struct {
			Fits     []map[string]json.RawMessage `json:"fits"`
			Pathways []map[string]json.RawMessage `json:"pathways"`
		}
		if err := json.Unmarshal([]byte(js), &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		list := doc.Fits
		if list == nil {
			list = doc.Pathways
		}
		if len(list) != 1 {
			t.Fatalf("%s: %d fits in %s", name, len(list), js)
		}
		f := list[0]
		if b, ok := f["g_best_nS"]; !ok || string(b) != "null" {
			t.Errorf("%s: g_best_nS %q (present %v), want null", name, b, ok)
		}
		if b, ok := f["g_fit_nS"]; !ok || string(b) == "null" {
			t.Errorf("%s: g_fit_nS %q (present %v), want the fitted g", name, b, ok)
		}
	}
}
