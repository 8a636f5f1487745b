package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestKineticsFitCarriedThrough: what a kinetics fit finds (g and the first
// receptor's t_decay) reaches everything made from the fit, not only g:
// query fits, the four exports, plot trace --fitted and the report. The
// spec's targets are what its cell gives with t_decay 4 ms, against the 2
// ms it declares, so keeping the spec's t_decay anywhere shows.
func TestKineticsFitCarriedThrough(t *testing.T) {
	const spec = "../../pipeline/export/testdata/kinetics-fit.yaml"
	dir := t.TempDir()
	path := filepath.Join(dir, "k.db")
	if _, err := qcli(t, path, "fit", spec); err != nil {
		t.Fatal(err)
	}
	out, err := qcli(t, path, "query", "fits", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var fits struct {
		Fits []struct {
			TDecayMS  *float64 `json:"t_decay_ms"`
			TRiseMS   *float64 `json:"t_rise_ms"`
			Converged bool     `json:"converged"`
		} `json:"fits"`
	}
	if err := json.Unmarshal([]byte(out), &fits); err != nil {
		t.Fatal(err)
	}
	if len(fits.Fits) != 1 || !fits.Fits[0].Converged || fits.Fits[0].TDecayMS == nil || fits.Fits[0].TRiseMS != nil {
		t.Fatalf("query fits: %s", out)
	}
	tau := *fits.Fits[0].TDecayMS
	if abs(tau-4) > 1e-6 {
		t.Fatalf("fitted t_decay %v ms, want 4 ms", tau)
	}
	tauText := strconv.FormatFloat(tau, 'g', -1, 64)

	// The yaml export simulates to the targets: amplitude and half-width.
	yml := filepath.Join(dir, "exported.yaml")
	if _, err := qcli(t, path, "export", "--format", "yaml", "-o", yml); err != nil {
		t.Fatal(err)
	}
	out, err = qcli(t, path, "simulate", yml, "--json", "--no-db")
	if err != nil {
		t.Fatal(err)
	}
	var sim struct {
		Pathways []struct {
			PSPMV       float64 `json:"psp_mV"`
			HalfWidthMS float64 `json:"half_width_ms"`
			TargetMV    float64 `json:"target_psp_mV"`
		} `json:"pathways"`
	}
	if err := json.Unmarshal([]byte(out), &sim); err != nil {
		t.Fatal(err)
	}
	const wantHW = 29.681770915496024 // the spec's target_half_width
	if p := sim.Pathways[0]; abs(p.PSPMV/p.TargetMV-1) > 1e-6 || abs(p.HalfWidthMS/wantHW-1) > 1e-6 {
		t.Errorf("exported spec gives PSP %v mV (target %v), half-width %v ms (target %v)", p.PSPMV, p.TargetMV, p.HalfWidthMS, wantHW)
	}

	for _, tc := range []struct {
		format string
		want   *regexp.Regexp
	}{
		{"dendrify", regexp.MustCompile(`'t_AMPA_decay_L23E_dend': ` + regexp.QuoteMeta(tauText) + `\*ms,  # fitted by run 1`)},
		{"dendrify", regexp.MustCompile(`synapse\('AMPA', tag='L23E', g=[0-9.e-]+\*nS, t_decay=` + regexp.QuoteMeta(tauText) + `\*ms\)`)},
		{"json", regexp.MustCompile(`"t_AMPA_decay_L23E_dend": \{\s*"value": ` + regexp.QuoteMeta(tauText) + `,\s*"unit": "ms",\s*"fitted": true`)},
		{"json", regexp.MustCompile(`"t_decay_ms": ` + regexp.QuoteMeta(tauText))},
		{"csv", regexp.MustCompile(`,AMPA,[0-9.e-]+,false,,` + regexp.QuoteMeta(tauText) + `,`)},
	} {
		out, err := qcli(t, path, "export", "--format", tc.format)
		if err != nil {
			t.Fatal(err)
		}
		if !tc.want.MatchString(out) {
			t.Errorf("%s export lacks the fitted t_decay (%s):\n%s", tc.format, tc.want, out)
		}
	}

	svg := filepath.Join(dir, "trace.svg")
	if _, err := qcli(t, path, "plot", "trace", spec, "--fitted", "-o", svg); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(dir, "report.html")
	if _, err := qcli(t, path, "report", "-o", report); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{svg, report} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// The trace is simulated at the fitted kinetics: it peaks at the
		// target amplitude, which the spec's 2 ms would miss by half.
		if !strings.Contains(string(b), "t_decay 4 ms") || !strings.Contains(string(b), "PSP +1.35 mV") {
			t.Errorf("%s: no trace at the fitted t_decay (want \"t_decay 4 ms\" and \"PSP +1.35 mV\")", filepath.Base(f))
		}
	}
}

// TestKineticsWarning: a kinetics fit whose best compromise ends far from
// a target is no calibration: outcome kinetics_missed, exit status 3, and
// a message naming the target; one that meets its targets converges.
func TestKineticsWarning(t *testing.T) {
	b, err := os.ReadFile("../../pipeline/export/testdata/kinetics-fit.yaml")
	if err != nil {
		t.Fatal(err)
	}
	met := string(b)
	// A half-width of 5 ms is below what this cell's membrane allows.
	missed := strings.Replace(met, "target_half_width: 29.681770915496024 ms", "target_half_width: 5 ms", 1)
	if missed == met {
		t.Fatal("kinetics-fit.yaml changed: no target_half_width to replace")
	}
	for _, tc := range []struct {
		name, spec string
		warn       bool
	}{{"met", met, false}, {"missed", missed, true}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "k.yaml")
			if err := os.WriteFile(path, []byte(tc.spec), 0o644); err != nil {
				t.Fatal(err)
			}
			var out, errOut bytes.Buffer
			root := newRootCmdIO(&out, &errOut)
			root.SetArgs([]string{"--db", filepath.Join(dir, "k.db"), "fit", path})
			err := root.ExecuteContext(context.Background())
			if tc.warn != errors.Is(err, errNotConverged) || err != nil && !tc.warn {
				t.Fatalf("fit: %v (target missed: %v)", err, tc.warn)
			}
			warned := regexp.MustCompile(`pathway 0 \(L23E->L23E \(AMPA\)\): kinetics targets missed by up to \+[0-9]+% \(half_width\)`).MatchString(out.String())
			outcome := regexp.MustCompile(`\s(converged|kinetics_missed)\n`).FindStringSubmatch(out.String())
			if warned != tc.warn || outcome == nil || (outcome[1] == "kinetics_missed") != tc.warn {
				t.Errorf("stdout %q: miss said %v, outcome %q; want %v", out.String(), warned, outcome, tc.warn)
			}
			// A miss's table gives the compromise it stopped at and its
			// residuals too (they were in --json only).
			best := regexp.MustCompile(`pathway 0 \(L23E->L23E \(AMPA\)\): best found: t_decay [0-9.]+ ms; half_width [0-9.]+ ms \(target 5, \+[0-9.]+%\)`).MatchString(out.String())
			if best != tc.warn {
				t.Errorf("stdout %q: the best found said %v, want %v", out.String(), best, tc.warn)
			}
			// The report's calibration table gives the fitted t_decay and
			// the residual, and marks a miss as fit's warning does.
			html := filepath.Join(dir, "r.html")
			if _, err := runCLI(t, "-q", "--db", filepath.Join(dir, "k.db"), "report", "-o", html); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(html)
			if err != nil {
				t.Fatal(err)
			}
			if !regexp.MustCompile(`<span class="kin">t_decay [0-9.]+ ms; half_width [0-9.]+ ms \(target [0-9.]+ ms, (-|&#43;)[0-9.e-]+%\)</span>`).Match(b) ||
				strings.Contains(string(b), "kinetics targets missed by up to") != tc.warn {
				t.Errorf("report: kinetics cell or miss mark wrong (miss %v)", tc.warn)
			}
			// A miss's trace is at the best g and time constants tried,
			// and says which.
			if tc.warn && !regexp.MustCompile(`at the best g and kinetics \(t_decay [0-9.]+ ms\) tried by run 1, which did NOT converge \(kinetics_missed\)`).Match(b) {
				t.Error("report: the missed fit's trace does not say its g and kinetics")
			}
		})
	}
}
