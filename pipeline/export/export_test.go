package export

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/pipeline"
	"github.com/dendfit/dendfit/pipeline/plot/plottest"
	"github.com/dendfit/dendfit/sim/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// demoCalibration is testdata/demo.yaml with fixed fits: pathway 0 and 1
// converged, 2 did not, 3 has no target.
func demoCalibration(t testing.TB) *Calibration {
	t.Helper()
	s, err := spec.Load("testdata/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	started := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	return &Calibration{
		Spec: s,
		Run: &db.Run{ID: 7, Experiment: s.Name, Command: db.CommandFit, Argv: []string{"dendfit", "fit", "demo.yaml"},
			Status: db.StatusDone, StartedAt: started, Version: "v0.3.0", VCSRevision: "0123abcd", GoVersion: "go1.26.8",
			RunUID: "00112233445566778899aabbccddeeff"},
		Fits: []db.Fit{
			{Pathway: 0, Receptors: []string{"AMPA", "NMDA"}, TargetPSPMV: 0.4, GFitNS: []float64{0.20823012345678901, 0.10411506172839451},
				PSPAtFitMV: 0.40000000001, Converged: true, Outcome: "converged"},
			{Pathway: 1, Receptors: []string{"GABA"}, TargetPSPMV: 1, GFitNS: []float64{1.3590712345678912}, PSPAtFitMV: 0.99999999999,
				Converged: true, Outcome: "converged", Warnings: []string{"pathway 1 (PV->E (GABA)): at the g found the PSP is 1 mV with dt and 1.02 mV with dt/10 (+2.0%): the calibration depends on dt; it holds for models run at this dt and method"}},
			{Pathway: 2, Receptors: []string{"AMPA"}, TargetPSPMV: 1, GFitNS: []float64{0}, Converged: false, Outcome: "out_of_reach"},
		},
		SpecSHA256: s.SHA256,
		Version:    "v0.4.0",
		Date:       time.Date(2025, 3, 2, 9, 30, 0, 0, time.UTC),
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", name, got)
	}
}

func TestGolden(t *testing.T) {
	tests := []struct {
		format Format
		file   string
	}{
		{Dendrify, "demo.py.golden"},
		{JSON, "demo.json.golden"},
		{CSV, "demo.csv.golden"},
		{YAML, "demo.yaml.golden"},
	}
	for _, tc := range tests {
		t.Run(string(tc.format), func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, demoCalibration(t), tc.format); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.file, b.Bytes())
		})
	}
}

func TestParseFormat(t *testing.T) {
	tests := []struct {
		in      string
		want    Format
		wantErr string
	}{
		{"dendrify", Dendrify, ""},
		{"yaml", YAML, ""},
		{"xml", "", `export: unknown format "xml" (want dendrify, json, csv, yaml)`},
	}
	for _, tc := range tests {
		got, err := ParseFormat(tc.in)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("ParseFormat(%q) error = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseFormat(%q) = %q, %v", tc.in, got, err)
		}
	}
}

// TestYAMLKeepsEverythingElse checks that the yaml export differs from the
// stored spec only in the header and the fitted g scalars.
func TestYAMLKeepsEverythingElse(t *testing.T) {
	c := demoCalibration(t)
	var b bytes.Buffer
	if err := Write(&b, c, YAML); err != nil {
		t.Fatal(err)
	}
	// The header: provenance, the unconverged pathway 2, pathway 1's
	// warning.
	lines := strings.Split(b.String(), "\n")
	for k, w := range []string{"# dendfit export: ", "# written in by ", "# NOT CONVERGED, so at their spec g: pathway(s) 2.", "# WARNING of the fit: pathway 1 (PV->E (GABA)): at the g found"} {
		if !strings.HasPrefix(lines[k], w) {
			t.Errorf("header line %d: %q, want %q", k+1, lines[k], w)
		}
	}
	got := lines[4:]
	want := strings.Split(string(c.Spec.Text), "\n")
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d", len(got), len(want))
	}
	changed := 0
	for i := range want {
		if got[i] != want[i] {
			changed++
			if !strings.Contains(got[i], " nS") {
				t.Errorf("line %d changed unexpectedly:\n%s\n%s", i+1, want[i], got[i])
			}
		}
	}
	if changed != 3 { // AMPA and NMDA of pathway 0, GABA of pathway 1
		t.Errorf("%d lines changed, want 3", changed)
	}
	if !strings.Contains(b.String(), `g: "0.1041150617283945 nS"`) || !strings.Contains(b.String(), "# fitted below") {
		t.Errorf("quote style or comment lost:\n%s", b.String())
	}
}

// TestDendrifyDSpikeConfigs: a mechanism configured alike on its
// dendrites is set once with config_dspikes; one configured differently
// goes whole into each dendrite's dspikes call; a reversal given by name
// goes by name (the one way to pass E_AMPA's 0 V to Dendrify).
func TestDendrifyDSpikeConfigs(t *testing.T) {
	c := demoCalibration(t)
	var b bytes.Buffer
	if err := Write(&b, c, Dendrify); err != nil {
		t.Fatal(err)
	}
	if want := "model.config_dspikes('Na', threshold=-35*mV, duration_rise=1.2*ms, duration_fall=2.4*ms,\n        reversal_rise='E_Na', reversal_fall='E_K',"; !strings.Contains(b.String(), want) {
		t.Errorf("export lacks\n%s\nin:\n%s", want, b.String())
	}

	cell := c.Spec.CellByName("pyr")
	d := cell.Compartments[1].DSpikes[0]
	d.Threshold = -30e-3
	d.ERise, d.RiseConst = 0, "E_AMPA"
	d.EFall, d.FallConst = -0.09, ""
	cell.Compartments[0].DSpikes = append(cell.Compartments[0].DSpikes, d) // not valid on a soma, but exercises the writer
	b.Reset()
	if err := Write(&b, c, Dendrify); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"c_soma.dspikes('Na', g_rise=30*nS, g_fall=14*nS, threshold=-30*mV, duration_rise=1.2*ms, duration_fall=2.4*ms,\n        reversal_rise='E_AMPA', reversal_fall=-90*mV,",
		"c_dend.dspikes('Na', g_rise=30*nS, g_fall=14*nS, threshold=-35*mV, duration_rise=1.2*ms, duration_fall=2.4*ms,\n        reversal_rise='E_Na', reversal_fall='E_K',",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("export lacks\n%s\nin:\n%s", want, out)
		}
	}
	if strings.Contains(out, "config_dspikes") {
		t.Errorf("a mechanism configured differently per dendrite still goes through config_dspikes:\n%s", out)
	}
}

func TestPythonModuleCompiles(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	path := filepath.Join(t.TempDir(), "demo_params.py")
	var b bytes.Buffer
	if err := Write(&b, demoCalibration(t), Dendrify); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(py, "-m", "py_compile", path).CombinedOutput(); err != nil {
		t.Fatalf("py_compile: %v\n%s", err, out)
	}
}

func TestQuantityRoundTrips(t *testing.T) {
	tests := []struct {
		v    float64
		d    spec.Dimension
		want string
	}{
		{-70e-3, spec.Voltage, "-70 mV"},                             // 0.001 * -70 is the double -0.07
		{20e-6, spec.Length, "20 um"},                                // display unit
		{0.009999999999999998, spec.SpecificCapacitance, "1 uF/cm2"}, // the spec loader's 1 uF/cm2, Brian's is 0.01
		{1.5e-9 + 1e-24, spec.Conductance, "1.500000000000001 nS"},   // 16 digits needed
		{0, spec.Time, "0 ms"},
	}
	for _, tc := range tests {
		n, u := quantity(tc.v, tc.d)
		if got := n + " " + u; got != tc.want {
			t.Errorf("quantity(%g, %v) = %q, want %q", tc.v, tc.d, got, tc.want)
		}
		if got := parsed(n) * brianScaleOrOne(u); math.Abs(got-tc.v) > 2*math.Abs(math.Nextafter(tc.v, 1)-tc.v) {
			t.Errorf("quantity(%g, %v) = %s %s does not round-trip", tc.v, tc.d, n, u)
		}
	}
}

func brianScaleOrOne(u string) float64 {
	if s, ok := brianScale[u]; ok {
		return s
	}
	return 1
}

// fitDemo fits testdata/demo.yaml and records it in a new database.
func fitDemo(t *testing.T, path string) (*db.DB, int64, []pipeline.FitResult) {
	t.Helper()
	ctx := context.Background()
	s, err := spec.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(ctx, filepath.Join(t.TempDir(), "dendfit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	run, err := pipeline.StartRun(ctx, d, s, pipeline.RunInfo{Command: db.CommandFit, Argv: []string{"dendfit", "fit", path}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := pipeline.Fit(ctx, s, &pipeline.FitOptions{NoFine: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range res {
		if _, err := d.InsertFit(ctx, run.ID, res[i].DBFit()); err != nil {
			t.Fatal(err)
		}
	}
	if err := run.Finish(nil); err != nil {
		t.Fatal(err)
	}
	return d, run.ID, res
}

// TestYAMLSimulatesToTargets fits a reference case, exports the spec with
// the fitted g and simulates it: every PSP equals its target within the
// fit's rtol.
func TestYAMLSimulatesToTargets(t *testing.T) {
	cases := []string{
		"../testdata/reference/cases/two-populations-three-pathways.yaml",
		"../testdata/reference/cases/ampa-nmda-2comp-dimensionless.yaml",
		"testdata/demo.yaml",
	}
	for _, path := range cases {
		t.Run(filepath.Base(path), func(t *testing.T) {
			ctx := context.Background()
			d, runID, res := fitDemo(t, path)
			c, err := Load(ctx, d, "", runID)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := Write(&b, c, YAML); err != nil {
				t.Fatal(err)
			}
			s, err := spec.Parse("exported.yaml", b.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			sims, err := pipeline.Simulate(ctx, s, nil)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, r := range res {
				if !r.Converged {
					continue
				}
				n++
				got := math.Abs(sims[r.Pathway].PSPMV)
				if rel := math.Abs(got/r.TargetPSPMV - 1); !(rel <= s.Fit.RTol*1.0001) {
					t.Errorf("pathway %d: |PSP| %.15g mV, target %.15g mV: relative error %.3g > rtol %g", r.Pathway, got, r.TargetPSPMV, rel, s.Fit.RTol)
				}
			}
			if n == 0 {
				t.Fatal("no pathway converged")
			}
		})
	}
}

func TestLoad(t *testing.T) {
	ctx := context.Background()
	d, runID, _ := fitDemo(t, "testdata/demo.yaml")
	// A simulate run of the same experiment is not a fit run.
	s, _ := spec.Load("testdata/demo.yaml")
	sim, err := pipeline.StartRun(ctx, d, s, pipeline.RunInfo{Command: db.CommandSimulate})
	if err != nil {
		t.Fatal(err)
	}
	sim.Finish(nil)
	tests := []struct {
		name       string
		experiment string
		run        int64
		wantRun    int64
		wantErr    string
	}{
		{"newest fit", "export-demo", 0, runID, ""},
		{"by id", "", runID, runID, ""},
		{"by id and name", "export-demo", runID, runID, ""},
		{"wrong experiment", "other", runID, 0, `export: run 1 is of experiment "export-demo", not "other"`},
		{"no fit run", "other", 0, 0, `export: experiment "other": no recorded fit in`},
		{"not a fit run", "", sim.ID, 0, "export: run 2 (simulate) recorded no fits: want a fit run"},
		{"no such run", "", 99, 0, "export: db: run 99: not found"},
		{"nothing given", "", 0, 0, "export: want an experiment name or a run id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(ctx, d, tc.experiment, tc.run)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if tc.name == "no fit run" && !errors.Is(err, ErrNoFit) {
					t.Errorf("err does not wrap ErrNoFit")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Run.ID != tc.wantRun || c.SpecSHA256 != s.SHA256 || len(c.Fits) != 3 {
				t.Errorf("got run %d sha %s fits %d", c.Run.ID, c.SpecSHA256, len(c.Fits))
			}
		})
	}
}

// TestDendrifyInBrian runs the PSP protocol on build_models() of an export
// in Brian 2 with a real Dendrify and compares each PSP with its target.
// It needs /usr/bin/python3 with brian2 and DENDFIT_DENDRIFY_SRC pointing
// at a Dendrify source tree (the directory holding the dendrify package).
func TestDendrifyInBrian(t *testing.T) {
	src := os.Getenv("DENDFIT_DENDRIFY_SRC")
	if src == "" {
		t.Skip("DENDFIT_DENDRIFY_SRC is not set")
	}
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import brian2").Run(); err != nil {
		t.Skip("/usr/bin/python3 has no brian2")
	}
	if testing.Short() {
		t.Skip("Brian 2 runs are long")
	}
	ctx := context.Background()
	for _, path := range []string{"../testdata/reference/cases/two-populations-three-pathways.yaml", "testdata/demo.yaml", "testdata/mixed-dspikes.yaml", "testdata/kinetics-fit.yaml"} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			d, runID, res := fitDemo(t, path)
			c, err := Load(ctx, d, "", runID)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			var b bytes.Buffer
			if err := Write(&b, c, Dendrify); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "calibrated.py"), b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			// Each pathway starts from the export's own steady_state and
			// holding current; dendfit's simulation of the exported values
			// (through the YAML export) is what Brian must give.
			var yb bytes.Buffer
			if err := Write(&yb, c, YAML); err != nil {
				t.Fatal(err)
			}
			s, err := spec.Parse("exported.yaml", yb.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			sims, err := pipeline.Simulate(ctx, s, nil)
			if err != nil {
				t.Fatal(err)
			}
			harness, err := filepath.Abs("testdata/psp_protocol.py")
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(py, harness, dir)
			cmd.Env = append(os.Environ(), "PYTHONPATH="+src+string(os.PathListSeparator)+dir)
			out, err := cmd.Output()
			if err != nil {
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					t.Fatalf("%v\n%s", err, ee.Stderr)
				}
				t.Fatal(err)
			}
			var psps []*float64
			if err := json.Unmarshal(out, &psps); err != nil {
				t.Fatalf("harness output %q: %v", out, err)
			}
			// Every pathway, fitted or not (a dSpike that fires makes a
			// target unreachable), gives in Brian the PSP dendfit simulates
			// for the exported values.
			for i, r := range sims {
				if got := *psps[i]; !(math.Abs(got/r.PSPMV-1) <= 1e-9) {
					t.Errorf("pathway %d in Brian 2: PSP %.15g mV, dendfit %.15g mV", i, got, r.PSPMV)
				}
			}
			for _, r := range res {
				if !r.Converged {
					continue
				}
				got := math.Abs(*psps[r.Pathway])
				// Brian's numpy target differs from dendfit by ~1e-12
				// relative; the fit is good to rtol.
				rel := math.Abs(got/r.TargetPSPMV - 1)
				t.Logf("pathway %d: Brian 2 |PSP| %.15g mV, target %.15g mV, relative %.3g", r.Pathway, got, r.TargetPSPMV, rel)
				if !(rel <= s.Fit.RTol+1e-9) {
					t.Errorf("pathway %d in Brian 2: |PSP| %.15g mV, target %.15g mV (relative %.3g)", r.Pathway, got, r.TargetPSPMV, rel)
				}
			}
		})
	}
}

func TestVersionNames(t *testing.T) {
	for in, want := range map[string]string{"": "(unknown version)", "(devel)": "devel", "v1.2.0": "v1.2.0"} {
		if got := orUnknown(in); got != want {
			t.Errorf("orUnknown(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestHoldingInEveryFormat (and the JSON's steady states): a pathway measured at a holding potential
// carries, in the JSON and CSV exports, that potential and the current
// that holds it, as the PSP protocol recorded it in the run's points
// (simulate's i_hold_pA); a pathway at rest carries neither. Without them
// a fitted g did not reproduce its PSP from the export alone.
func TestHoldingInEveryFormat(t *testing.T) {
	testHoldingInEveryFormat(t, "testdata/demo.yaml")
	// Its steady states need 16 and 17 digits.
	testHoldingInEveryFormat(t, "../../experiments/cortex-paired-recordings.yaml")
}

func testHoldingInEveryFormat(t *testing.T, path string) {
	ctx := context.Background()
	d, runID, _ := fitDemo(t, path)
	c, err := Load(ctx, d, "", runID)
	if err != nil {
		t.Fatal(err)
	}
	sims, err := pipeline.Simulate(ctx, c.Spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	var jb, cb, pb bytes.Buffer
	if err := Write(&jb, c, JSON); err != nil {
		t.Fatal(err)
	}
	if err := Write(&cb, c, CSV); err != nil {
		t.Fatal(err)
	}
	if err := Write(&pb, c, Dendrify); err != nil {
		t.Fatal(err)
	}
	// The module's steady states, pathway by pathway: the same numbers as
	// the JSON's (15 digits of them were 1 ulp off).
	var pyStates []map[string]float64
	for _, m := range regexp.MustCompile(`'steady_state': \{([^}]*)\}`).FindAllStringSubmatch(pb.String(), -1) {
		st := map[string]float64{}
		for _, kv := range regexp.MustCompile(`'(\w+)': ([-+0-9.e]+)\*(mV|pA)`).FindAllStringSubmatch(m[1], -1) {
			v, err := strconv.ParseFloat(kv[2], 64)
			if err != nil {
				t.Fatal(err)
			}
			st[kv[1]] = v
		}
		pyStates = append(pyStates, st)
	}
	if len(pyStates) != len(c.Spec.Pathways) {
		t.Fatalf("module: %d steady states for %d pathways", len(pyStates), len(c.Spec.Pathways))
	}
	var doc struct {
		Pathways []struct {
			HoldingMV   *float64           `json:"holding_mV"`
			IHoldPA     *float64           `json:"i_hold_pA"`
			SteadyState map[string]float64 `json:"steady_state"`
		} `json:"pathways"`
	}
	if err := json.Unmarshal(jb.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&cb).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	held := 0
	for i, pw := range c.Spec.Pathways {
		got := doc.Pathways[i]
		// The state the PSP is measured from, as simulate gives it.
		if !maps.Equal(got.SteadyState, sims[i].SteadyState) || len(got.SteadyState) == 0 {
			t.Errorf("pathway %d: JSON steady_state %v, simulate's %v", i, got.SteadyState, sims[i].SteadyState)
		}
		if !maps.Equal(pyStates[i], got.SteadyState) {
			t.Errorf("pathway %d: module's steady_state %v, JSON's %v", i, pyStates[i], got.SteadyState)
		}
		want := sims[i].IHoldPA
		if !pw.Hold {
			if got.HoldingMV != nil || got.IHoldPA != nil || want != nil {
				t.Errorf("pathway %d at rest: JSON holding %v, i_hold %v", i, got.HoldingMV, got.IHoldPA)
			}
			continue
		}
		held++
		if got.HoldingMV == nil || *got.HoldingMV != pw.Holding/1e-3 || got.IHoldPA == nil || want == nil || *got.IHoldPA != *want {
			t.Errorf("pathway %d: JSON holding %v mV, i_hold %v pA; simulate holds at %v mV with %v pA", i, got.HoldingMV, got.IHoldPA, pw.Holding/1e-3, want)
		}
		for _, r := range rows[1:] {
			if r[0] == strconv.Itoa(i) && (r[14] != num(pw.Holding/1e-3) || r[15] != num(*want)) {
				t.Errorf("pathway %d: CSV holding %s mV, i_hold %s pA", i, r[14], r[15])
			}
		}
	}
	if held == 0 {
		t.Fatal("the demo has no held pathway")
	}
}

// TestExportAfterARefitOfOnePathway: after a fit of every pathway and a
// refit of one (fit --pathway, its target edited), the default export
// holds the refit pathway from the newer run and every other from the
// first, saying so; it wrote the others' spec g, as if never fitted. A
// pathway whose target was edited too but not refit keeps its spec g: its
// old fit was to another target.
func TestExportAfterARefitOfOnePathway(t *testing.T) {
	ctx := context.Background()
	text, err := os.ReadFile("../../experiments/cortex-paired-recordings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dendfit.db")
	fit := func(y string, pathways []int) (int64, []pipeline.FitResult) {
		t.Helper()
		s, err := spec.Parse("cortex.yaml", []byte(y))
		if err != nil {
			t.Fatal(err)
		}
		return plottest.AddFit(t, path, s, &pipeline.FitOptions{NoFine: true, Pathways: pathways})
	}
	first, all := fit(string(text), nil)
	edited := strings.Replace(string(text), "target_psp: 1.3 mV", "target_psp: 1.5 mV", 1) // pathway 0
	edited = strings.Replace(edited, "target_psp: 1.1 mV", "target_psp: 0.9 mV", 1)        // pathway 6
	if strings.Count(edited, "target_psp: 1.5 mV")+strings.Count(edited, "target_psp: 0.9 mV") != 2 {
		t.Fatal("the example changed: no 'target_psp: 1.3 mV' or '1.1 mV'")
	}
	second, refit := fit(edited, []int{0})
	d, err := db.OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c, err := Load(ctx, d, "cortex-paired-recordings", 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.Run.ID != second || len(c.Fits) != 6 || c.fitOf(6) != nil {
		t.Fatalf("run %d with %d fits (pathway 6's: %v), want run %d with 6, none of pathway 6", c.Run.ID, len(c.Fits), c.fitOf(6), second)
	}
	for _, f := range c.Fits {
		want, wantRun := all[f.Pathway].DBFit(), first
		if f.Pathway == 0 {
			want, wantRun = refit[0].DBFit(), second
		}
		if !reflect.DeepEqual(f.GFitNS, want.GFitNS) || c.runOf(f.Pathway).ID != wantRun {
			t.Errorf("pathway %d: g %v of run %d, want %v of run %d", f.Pathway, f.GFitNS, c.runOf(f.Pathway).ID, want.GFitNS, wantRun)
		}
	}
	var js bytes.Buffer
	if err := Write(&js, c, JSON); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(js.String(), fmt.Sprintf(`"fit_run_id": %d`, first)); n != 5 {
		t.Errorf("JSON names run %d for %d pathways, want 5", first, n)
	}
	var cs bytes.Buffer
	if err := Write(&cs, c, CSV); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&cs).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := slices.Index(rows[0], "fit_run_id")
	for _, row := range rows[1:] {
		want := strconv.FormatInt(first, 10)
		switch row[0] {
		case "0":
			want = strconv.FormatInt(second, 10)
		case "6":
			want = ""
		}
		if got := row[col]; got != want {
			t.Errorf("CSV row of pathway %s: fit_run_id %q, want %q", row[0], got, want)
		}
	}
	var py bytes.Buffer
	if err := Write(&py, c, Dendrify); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("# Not fitted by run %d, so from earlier fits of the same pathways and targets: pathways 1, 2, 3, 4, 5 by run %d.", second, first); !strings.Contains(py.String(), want) {
		t.Errorf("the module does not say where the other fits come from (want %q)", want)
	}
	// A run given by id is that run alone.
	if c, err := Load(ctx, d, "", second); err != nil || len(c.Fits) != 1 {
		t.Errorf("--run %d: %v, %d fits; want its 1", second, err, len(c.Fits))
	}
}

// TestRecordedSpecOfAnOlderRule: a run recorded with a spec that today's
// parser refuses as new input (a conductance above 1 S, refused since)
// still exports in every format: its recorded text is read as recorded.
func TestRecordedSpecOfAnOlderRule(t *testing.T) {
	ctx := context.Background()
	b, err := os.ReadFile("testdata/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(b), "{channel: AMPA, g: 1 nS, t_decay: 1.5 ms}", "{channel: AMPA, g: 2 S, t_decay: 1.5 ms}", 1)
	if text == string(b) {
		t.Fatal("demo.yaml changed: no AMPA g of 1 nS to raise")
	}
	if _, err := spec.Parse("old.yaml", []byte(text)); err == nil || !strings.Contains(err.Error(), "above 1 S") {
		t.Fatalf("Parse: %v, want the cap", err)
	}
	s, err := spec.ParseRecorded("old.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(ctx, filepath.Join(t.TempDir(), "old.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	run, err := pipeline.StartRun(ctx, d, s, pipeline.RunInfo{Command: db.CommandFit})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.Fit(ctx, s, &pipeline.FitOptions{NoFine: true, Pathways: []int{0}, Finished: pipeline.RecordEach(ctx, d, run.ID)}); err != nil {
		t.Fatal(err)
	}
	if err := run.Finish(nil); err != nil {
		t.Fatal(err)
	}
	c, err := Load(ctx, d, "", run.ID)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for _, f := range []Format{Dendrify, JSON, CSV, YAML} {
		var out bytes.Buffer
		if err := Write(&out, c, f); err != nil {
			t.Errorf("%v: %v", f, err)
		}
		// The spec export says it will not load as new input.
		if f == YAML && !strings.Contains(out.String(), "# NOTE: this spec breaks a rule dendfit applies to new specs") {
			t.Errorf("YAML export:\n%.800s", out.String())
		}
	}
}

// TestExportOfAPathwayWithNoSteadyState: a fit run with pathways that have
// no state to measure a PSP from (a cell with no fixed point; a holding
// above an AdEx VT, a state the cell leaves), both sim_failed, exports in
// every format, those pathways without a steady state or holding current,
// saying why; the Dendrify module failed whole before, and gave the
// unstable state as the one the PSP was measured from.
func TestExportOfAPathwayWithNoSteadyState(t *testing.T) {
	ctx := context.Background()
	d, runID, res := fitDemo(t, "testdata/no-steady-state.yaml")
	for _, r := range res {
		if r.Outcome != "sim_failed" {
			t.Fatalf("pathway %d: outcome %s, want sim_failed (the spec no longer makes the case)", r.Pathway, r.Outcome)
		}
	}
	c, err := Load(ctx, d, "", runID)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := c.Stateless()
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 2 || ns[0].Pathway != 0 || ns[1].Pathway != 1 ||
		!strings.Contains(ns[0].Error(), "has no state to measure a PSP from: steady state did not converge") ||
		!strings.Contains(ns[1].Error(), "has no state to measure a PSP from: the state held at -45 mV in soma is unstable") {
		t.Fatalf("Stateless: %v, want pathways 0 and 1", ns)
	}
	out := map[Format]string{}
	for _, f := range Formats() {
		var b bytes.Buffer
		if err := Write(&b, c, f); err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		out[f] = b.String()
	}
	var doc struct {
		Pathways []struct {
			HoldingMV   *float64           `json:"holding_mV"`
			IHoldPA     *float64           `json:"i_hold_pA"`
			NoState     string             `json:"no_steady_state"`
			SteadyState map[string]float64 `json:"steady_state"`
		} `json:"pathways"`
	}
	if err := json.Unmarshal([]byte(out[JSON]), &doc); err != nil {
		t.Fatal(err)
	}
	for i, p := range doc.Pathways {
		if p.SteadyState != nil {
			t.Errorf("JSON pathway %d: steady_state %v with no state to measure from", i, p.SteadyState)
		}
	}
	if p := doc.Pathways[0]; p.HoldingMV != nil || p.IHoldPA != nil || !strings.Contains(p.NoState, "did not converge") {
		t.Errorf("JSON pathway 0: holding %v, i_hold %v, no_steady_state %q", p.HoldingMV, p.IHoldPA, p.NoState)
	}
	// Held: its holding is the spec's, its current none.
	if p := doc.Pathways[1]; p.HoldingMV == nil || *p.HoldingMV != -45 || p.IHoldPA != nil || !strings.Contains(p.NoState, "unstable") {
		t.Errorf("JSON pathway 1: holding %v, i_hold %v, no_steady_state %q", p.HoldingMV, p.IHoldPA, p.NoState)
	}
	rows, err := csv.NewReader(strings.NewReader(out[CSV])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows[1:] {
		if !strings.Contains(r[18], "has no state to measure a PSP from") || r[15] != "" {
			t.Errorf("CSV row %v: i_hold_pA %q, warnings %q", r[:6], r[15], r[18])
		}
	}
	if strings.Count(out[Dendrify], "'steady_state': None,") != 2 || strings.Contains(out[Dendrify], "'steady_state': {") || strings.Contains(out[Dendrify], "'i_hold': -") {
		t.Errorf("Dendrify module:\n%s", out[Dendrify])
	}
	if py, err := exec.LookPath("python3"); err == nil {
		path := filepath.Join(t.TempDir(), "m.py")
		if err := os.WriteFile(path, []byte(out[Dendrify]), 0o644); err != nil {
			t.Fatal(err)
		}
		if b, err := exec.Command(py, "-m", "py_compile", path).CombinedOutput(); err != nil {
			t.Fatalf("py_compile: %v\n%s", err, b)
		}
	}
}

// TestGEffAgreesAcrossFormats: the CSV's g_eff_nS of every synapse is the
// JSON's (and the Dendrify module's) g parameter to the bit. The CSV
// computed it from the SI g and differed in the last bit for about a third
// of the values; 0.100731 nS of NMDA (t_rise 5 ms, t_decay 60 ms, scale_g)
// is one.
func TestGEffAgreesAcrossFormats(t *testing.T) {
	c := demoCalibration(t)
	c.Fits[0].GFitNS = []float64{0.201462, 0.100731}
	var cb, jb bytes.Buffer
	if err := Write(&cb, c, CSV); err != nil {
		t.Fatal(err)
	}
	if err := Write(&jb, c, JSON); err != nil {
		t.Fatal(err)
	}
	var js struct {
		Populations map[string]struct {
			Params map[string]struct{ Value float64 } `json:"params"`
		} `json:"populations"`
	}
	if err := json.Unmarshal(jb.Bytes(), &js); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&cb).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	n := 0
	for _, r := range rows[1:] {
		name := "g_" + r[col["channel"]] + "_" + r[col["tag"]] + "_" + r[col["compartment"]]
		p, ok := js.Populations[r[col["post"]]].Params[name]
		if !ok {
			name = "g_" + r[col["channel"]] + "_" + r[col["tag"]] // a point cell's
			p, ok = js.Populations[r[col["post"]]].Params[name]
		}
		if !ok {
			t.Fatalf("row %v: no JSON parameter %s", r, name)
		}
		if got := r[col["g_eff_nS"]]; got != strconv.FormatFloat(p.Value, 'g', -1, 64) {
			t.Errorf("%s: CSV g_eff_nS %s, JSON %v", name, got, p.Value)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no synapse compared")
	}
}

// TestExportAfterAStoppedFit: a fit stopped after some pathways (Ctrl-C,
// a kill) keeps their fits whole, and the export uses them as a finished
// run's: alone, and after 'fit -p' of the others, which completes the
// calibration. The export says which run did not finish. A stopped run's
// fits were passed over, so a calibration finished with -p exported the
// stopped run's pathways at their spec g.
func TestExportAfterAStoppedFit(t *testing.T) {
	ctx := context.Background()
	s, err := spec.Load("../../experiments/cortex-paired-recordings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dendfit.db")
	d, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// fit records a fit run of pathways, finished with err.
	fit := func(pathways []int, finish error) (int64, []pipeline.FitResult) {
		t.Helper()
		run, err := pipeline.StartRun(ctx, d, s, pipeline.RunInfo{Command: db.CommandFit})
		if err != nil {
			t.Fatal(err)
		}
		res, err := pipeline.Fit(ctx, s, &pipeline.FitOptions{NoFine: true, Pathways: pathways})
		if err != nil {
			t.Fatal(err)
		}
		if err := pipeline.RecordFit(ctx, d, run.ID, res); err != nil {
			t.Fatal(err)
		}
		if err := run.Finish(finish); err != nil {
			t.Fatal(err)
		}
		return run.ID, res
	}
	stopped, first := fit([]int{0, 1, 2, 3}, context.Canceled)
	if r, err := d.Run(ctx, stopped); err != nil || r.Status != db.StatusCancelled {
		t.Fatalf("run %d: %v, status %q; want cancelled", stopped, err, r.Status)
	}
	g := func(c *Calibration, p int) []float64 {
		if f := c.fitOf(p); f != nil {
			return f.GFitNS
		}
		return nil
	}
	c, err := Load(ctx, d, s.Name, 0)
	if err != nil {
		t.Fatalf("export after a stopped fit: %v", err)
	}
	if c.Run.ID != stopped || len(c.Fits) != 4 || !reflect.DeepEqual(c.Unfitted(), []int{4, 5, 6}) {
		t.Fatalf("run %d with %d fits, unfitted %v; want run %d with 4, unfitted 4, 5, 6", c.Run.ID, len(c.Fits), c.Unfitted(), stopped)
	}
	note := fmt.Sprintf("FROM A FIT RUN THAT DID NOT FINISH (each pathway's fit is recorded whole): fit run %d (cancelled) for pathway(s) 0, 1, 2, 3.", stopped)
	if !slices.Contains(c.notes(), note) {
		t.Errorf("notes %q\nwant %q", c.notes(), note)
	}
	second, rest := fit([]int{4, 5, 6}, nil)
	if c, err = Load(ctx, d, s.Name, 0); err != nil {
		t.Fatal(err)
	}
	if c.Run.ID != second || len(c.Fits) != 7 || len(c.Unfitted()) != 0 {
		t.Fatalf("run %d with %d fits, unfitted %v; want run %d with 7, none unfitted", c.Run.ID, len(c.Fits), c.Unfitted(), second)
	}
	for p := range 7 {
		want, wantRun := rest, second
		if p < 4 {
			want, wantRun = first, stopped
		}
		i := slices.IndexFunc(want, func(r pipeline.FitResult) bool { return r.Pathway == p })
		if got := g(c, p); i < 0 || !reflect.DeepEqual(got, want[i].DBFit().GFitNS) || c.runOf(p).ID != wantRun {
			t.Errorf("pathway %d: g %v of run %d, want run %d's", p, got, c.runOf(p).ID, wantRun)
		}
	}
	var py bytes.Buffer
	if err := Write(&py, c, Dendrify); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(py.String(), "# "+note+"\n") || !strings.Contains(py.String(), "# Fits: 7 of 7 pathways converged.") {
		t.Errorf("the module does not say that run %d was stopped, or not that all 7 converged:\n%s", stopped, py.String()[:min(py.Len(), 1500)])
	}
	var js bytes.Buffer
	if err := Write(&js, c, JSON); err != nil {
		t.Fatal(err)
	}
	var doc struct{ Notes []string }
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil || !slices.Equal(doc.Notes, []string{note}) {
		t.Errorf("JSON notes %q (%v), want %q", doc.Notes, err, note)
	}
}

// TestExportAfterPathwaysMoved: a spec edited by inserting a pathway at
// the top and swapping two keeps the earlier fit of every pathway it did
// not change, now at its new index, and a fit of the new one completes
// the calibration. Fits were matched by index: every pathway after the
// inserted one lost its fit, and the export blamed "an edited target".
func TestExportAfterPathwaysMoved(t *testing.T) {
	ctx := context.Background()
	orig, edited, was := plottest.MovedCortex(t)
	path := filepath.Join(t.TempDir(), "dendfit.db")
	parse := func(name, y string) *spec.Spec {
		s, err := spec.Parse(name, []byte(y))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	first, all := plottest.AddFit(t, path, parse("cortex.yaml", orig), &pipeline.FitOptions{NoFine: true})
	s := parse("moved.yaml", edited)
	second, fresh := plottest.AddFit(t, path, s, &pipeline.FitOptions{NoFine: true, Pathways: []int{0}})
	d, err := db.OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c, err := Load(ctx, d, s.Name, 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.Run.ID != second || len(c.Fits) != 8 || len(c.Unfitted()) != 0 {
		t.Fatalf("run %d with %d fits, unfitted %v; want run %d with 8, none unfitted", c.Run.ID, len(c.Fits), c.Unfitted(), second)
	}
	for i, j := range was {
		want, wantRun := fresh[0].DBFit(), second
		if j >= 0 {
			want, wantRun = all[j].DBFit(), first
		}
		f := c.fitOf(i)
		if f == nil || !reflect.DeepEqual(f.GFitNS, want.GFitNS) || c.runOf(i).ID != wantRun {
			t.Errorf("pathway %d (was %d): fit %+v of run %d, want g %v of run %d", i, j, f, c.runOf(i).ID, want.GFitNS, wantRun)
		}
	}
	// The exported spec simulates to every target.
	var b bytes.Buffer
	if err := Write(&b, c, YAML); err != nil {
		t.Fatal(err)
	}
	sims, err := pipeline.Simulate(ctx, parse("exported.yaml", b.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range sims {
		if rel := math.Abs(math.Abs(r.PSPMV)/(s.Pathways[i].TargetPSP/1e-3) - 1); !(rel <= 1e-6) {
			t.Errorf("pathway %d: |PSP| %.9g mV, target %g mV", i, r.PSPMV, s.Pathways[i].TargetPSP/1e-3)
		}
	}
}
