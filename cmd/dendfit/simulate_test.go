package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dendfit/dendfit/pipeline"
	"github.com/dendfit/dendfit/sim/spec"
)

const refCases = "../../pipeline/testdata/reference/cases/"

// TestSimulateJSONAndTrace: `simulate --json` carries the reference keys
// with the values the pipeline computes, and `--trace` writes time_ms and
// V_<comp>_mV columns (prefixed p<i>_ with several pathways) that hold
// every sample.
func TestSimulateJSONAndTrace(t *testing.T) {
	for _, tc := range []struct {
		name   string
		file   string
		prefix bool
	}{
		{"one pathway", "seed-ampa-2comp-dimensional.yaml", false},
		{"three pathways", "two-populations-three-pathways.yaml", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := filepath.Join(t.TempDir(), "trace.csv")
			out, err := runCLI(t, "-q", "--db", filepath.Join(t.TempDir(), "s.db"), "simulate", refCases+tc.file, "--json", "--trace", tr)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Experiment string           `json:"experiment"`
				Pathways   []map[string]any `json:"pathways"`
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			s, err := spec.Load(refCases + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			want, err := pipeline.Simulate(context.Background(), s, &pipeline.SimulateOptions{Trace: true})
			if err != nil {
				t.Fatal(err)
			}
			if got.Experiment != s.Name || len(got.Pathways) != len(want) {
				t.Fatalf("experiment %q with %d pathways", got.Experiment, len(got.Pathways))
			}
			for i, p := range got.Pathways {
				for _, k := range []string{"pre", "post", "compartment", "record", "tag", "receptors", "g_nS", "i_hold_pA", "baseline_mV",
					"psp_mV", "time_to_peak_ms", "rise_10_90_ms", "half_width_ms", "peaks_mV", "steady_state", "dspike_fired"} {
					if _, ok := p[k]; !ok {
						t.Errorf("pathway %d: no key %q", i, k)
					}
				}
				if p["psp_mV"].(float64) != want[i].PSPMV {
					t.Errorf("pathway %d: psp %v, want %v", i, p["psp_mV"], want[i].PSPMV)
				}
			}
			f, err := os.Open(tr)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rows, err := csv.NewReader(f).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if rows[0][0] != "time_ms" || len(rows)-1 != want[0].NSamples {
				t.Fatalf("header %v, %d rows; want time_ms first and %d samples", rows[0], len(rows)-1, want[0].NSamples)
			}
			col := 1
			for _, w := range want {
				for _, c := range w.Trace.Compartments {
					name := "V_" + c + "_mV"
					if tc.prefix {
						name = "p" + strconv.Itoa(w.Pathway) + "_" + name
					}
					if rows[0][col] != name {
						t.Fatalf("column %d is %q, want %q", col, rows[0][col], name)
					}
					for _, k := range []int{0, w.SpikeSample + 5, w.NSamples - 1} {
						v, _ := strconv.ParseFloat(rows[k+1][col], 64)
						if v != w.Trace.VMV[c][k] {
							t.Errorf("%s sample %d: %v, want %v", name, k, v, w.Trace.VMV[c][k])
						}
					}
					col++
				}
			}
		})
	}
}

// TestSelectPathways: --pathway takes indexes and pre->post names (with
// blanks around the arrow, as people write them), each pathway once in
// the order first named; unknown ones are usage errors that list the
// spec's pathways.
func TestSelectPathways(t *testing.T) {
	s, err := spec.Load("../../experiments/cortex-paired-recordings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sel  []string
		want []int
		err  string
	}{
		{nil, nil, ""},
		{[]string{"3", "0"}, []int{3, 0}, ""},
		{[]string{"0", "0", "L5TTPC->L5TTPC"}, []int{0}, ""},
		{[]string{"L4SS -> L23PC", " 5 "}, []int{2, 5}, ""},
		{[]string{"7"}, nil, "--pathway 7: the spec has pathways 0..6"},
		{[]string{"L4SS->L4SS"}, nil, `--pathway "L4SS->L4SS": no such pathway (want an index, pre->post or pre->post@compartment: 0 L5TTPC->L5TTPC@basal`},
		// @compartment picks among pathways of one pre and post.
		{[]string{"L4SS->L23PC@basal", "L5TTPC->L5TTPC (AMPA+NMDA)@basal"}, []int{2, 0}, ""},
		{[]string{"L4SS -> L5APC @ apical"}, []int{3}, ""},
		{[]string{"L4SS->L23PC@apical"}, nil, `--pathway "L4SS->L23PC@apical": no such pathway`},
	} {
		got, err := selectPathways(s, tc.sel)
		if tc.err != "" {
			var u usageError
			if !errors.As(err, &u) || !strings.HasPrefix(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want a usage error %q", tc.sel, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%q: %v, %v; want %v", tc.sel, got, err, tc.want)
		}
	}
}

// TestSimulateShowsTheOthersWhenOneFails: a pathway that runs away is
// shown and recorded as failed, with its error; the others are simulated,
// shown and recorded; the command fails; and reproduce reruns the run to
// the same points, the failed one included. One failure used to stop
// simulate with that pathway's error alone.
func TestSimulateShowsTheOthersWhenOneFails(t *testing.T) {
	dir := t.TempDir()
	spec := writeSpec(t, dir, "bad.yaml", strings.Replace(referenceCase(t, "two-populations-three-pathways"), "g: 3 nS", "g: 1e9 nS", 1))
	path := filepath.Join(dir, "d.db")
	// With -q, which shows no reason on the way, the error gives it.
	out, err := runCLI(t, "--db", path, "-q", "simulate", spec)
	if err == nil || !strings.HasPrefix(err.Error(), "pathway 1 failed (the first: sim: ") || !strings.HasSuffix(err.Error(), "); the others are shown") {
		t.Fatalf("simulate: %v, want pathway 1 named failed, with its reason", err)
	}
	// Alone, it has no others to show.
	if _, err := runCLI(t, "--no-db", "-q", "simulate", spec, "-p", "1"); err == nil || !strings.HasPrefix(err.Error(), "pathway 1 failed (the first: sim: ") {
		t.Errorf("simulate -p 1: %v, want pathway 1 named failed, alone", err)
	}
	// Without -q the reason is on stderr above.
	if _, err := runCLI(t, "simulate", "--no-db", spec, "-p", "1"); err == nil || err.Error() != "pathway 1 failed (see above)" {
		t.Errorf("simulate -p 1 without -q: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.Contains(lines[2], "failed") || strings.Contains(lines[1]+lines[3], "failed") {
		t.Errorf("table:\n%s", out)
	}
	csvOut, err := runCLI(t, "--db", path, "query", "points", "--run", "1", "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(csvOut, ",ok,"); n != 2 || !strings.Contains(csvOut, ",failed,") || !strings.Contains(csvOut, "numerically unstable") {
		t.Errorf("recorded points:\n%s", csvOut)
	}
	// The table gives the failed point's error too, and ends no line in
	// blanks (an ok point's error is empty).
	tableOut, err := runCLI(t, "--db", path, "query", "points", "--run", "1")
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(strings.TrimSuffix(tableOut, "\n"), "\n") {
		if strings.HasSuffix(l, " ") || i == 0 && !strings.HasSuffix(l, "  error") || strings.Contains(l, " failed ") != strings.Contains(l, "numerically unstable") {
			t.Errorf("table line %d: %q", i, l)
		}
	}
	if out, err := runCLI(t, "--db", path, "reproduce", "1"); err != nil || !strings.Contains(out, "all 3 points identical") {
		t.Errorf("reproduce: %v\n%s", err, out)
	}
}

// FuzzSelectPathways: --pathway values never panic; a selection is of
// indexes within the spec, each once, and a refusal is a one-line usage
// error.
func FuzzSelectPathways(f *testing.F) {
	s, err := spec.Load("../../experiments/cortex-paired-recordings.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{"0", "6", "7", "-1", "L4SS -> L23PC", "L5TTPC->L5TTPC", "->", " 3 ", "", "L4SS->"} {
		f.Add(seed, "1")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		got, err := selectPathways(s, []string{a, b})
		if err != nil {
			var u usageError
			if !errors.As(err, &u) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("%q, %q: error %q is not a one-line usage error", a, b, err)
			}
			return
		}
		seen := map[int]bool{}
		for _, i := range got {
			if i < 0 || i >= len(s.Pathways) || seen[i] {
				t.Fatalf("%q, %q: selection %v", a, b, got)
			}
			seen[i] = true
		}
	})
}

// TestPeakConductanceShown: where a rise-decay receptor without scale_g
// peaks at another value than its g, simulate's table has a g_peak_nS
// column and fit prints each pathway's peak conductance; JSON always has
// g_peak_nS. The values are checked in sim (TestPeakG); here, that they
// reach the user.
func TestPeakConductanceShown(t *testing.T) {
	out, err := runCLI(t, "-q", "simulate", "--no-db", "../../experiments/l23-demo.yaml")
	if err != nil || !strings.Contains(out, "g_peak_nS") || !strings.Contains(out, "1;1.994") {
		t.Errorf("simulate l23-demo (AMPA instant, NMDA 5/60 ms): %v\n%s", err, out)
	}
	js, err := runCLI(t, "-q", "--json", "simulate", "--no-db", "../../experiments/l23-demo.yaml")
	var doc struct {
		Pathways []struct {
			GNS     []float64 `json:"g_nS"`
			GPeakNS []float64 `json:"g_peak_nS"`
		} `json:"pathways"`
	}
	if err == nil {
		err = json.Unmarshal([]byte(js), &doc)
	}
	if err != nil || len(doc.Pathways) != 1 || len(doc.Pathways[0].GPeakNS) != 2 || doc.Pathways[0].GPeakNS[0] != doc.Pathways[0].GNS[0] || !(doc.Pathways[0].GPeakNS[1] > 3.9*doc.Pathways[0].GNS[1]) {
		t.Errorf("simulate --json: %v, %+v", err, doc.Pathways)
	}
	// An instant rise alone: g is the peak, no column.
	if out, err := runCLI(t, "-q", "simulate", "--no-db", qSweep); err != nil || strings.Contains(out, "g_peak_nS") {
		t.Errorf("simulate of an instant rise: %v\n%s", err, out)
	}
	out, err = runCLI(t, "-q", "fit", "--no-db", "../../experiments/l23-demo.yaml")
	if err != nil || !regexp.MustCompile(`pathway 0 \(L23E->L23E \(AMPA\+NMDA\)\): peak conductance [0-9.]+;[0-9.]+ nS after the spike`).MatchString(out) {
		t.Errorf("fit l23-demo: %v\n%s", err, out)
	}
}
