package export

import (
	"encoding/json"
	"io"
	"time"

	"github.com/dendfit/dendfit/pipeline"
)

// jsonExport is the document `--format json` writes.
type jsonExport struct {
	Format     string         `json:"format"` // "dendfit-export"
	Version    int            `json:"format_version"`
	Experiment string         `json:"experiment"`
	Provenance jsonProvenance `json:"provenance"`
	// Notes say what the other formats' headers do of where the fits
	// come from: pathways left at their spec g, fits from a run that did
	// not finish (each pathway's fit warnings are its own).
	Notes []string `json:"notes,omitempty"`
	// Simulation is the PSP protocol the g were calibrated with, and
	// Constants Dendrify's ionic constants as the experiment sets them:
	// a GABA or NMDA g holds only with its reversal, Mg_con and
	// Gamma_NMDA.
	Simulation  jsonSimulation            `json:"simulation"`
	Constants   map[string]jsonValue      `json:"constants"`
	Populations map[string]jsonPopulation `json:"populations"`
	Pathways    []jsonPathway             `json:"pathways"`
}

type jsonSimulation struct {
	DtMS       float64 `json:"dt_ms"`
	Method     string  `json:"method"`
	DurationMS float64 `json:"duration_ms"`
	SpikeAtMS  float64 `json:"spike_at_ms"`
}

type jsonProvenance struct {
	RunID          int64    `json:"run_id"`
	RunUID         string   `json:"run_uid"`
	RunStartedAt   string   `json:"run_started_at"`
	RunArgv        []string `json:"run_argv"`
	RunVersion     string   `json:"run_dendfit_version"`
	RunRevision    string   `json:"run_vcs_revision"`
	RunModified    bool     `json:"run_vcs_modified"`
	RunGoVersion   string   `json:"run_go_version"`
	SpecSHA256     string   `json:"spec_sha256"`
	ExportedBy     string   `json:"exported_by"`
	ExportedAt     string   `json:"exported_at"`
	DtMS           float64  `json:"dt_ms"`
	Method         string   `json:"method"`
	FitRTol        float64  `json:"fit_rtol"`
	ParamsGivenAre string   `json:"params_note"`
}

type jsonPopulation struct {
	Cell   string               `json:"cell"`
	Params map[string]jsonValue `json:"params"`
}

type jsonValue struct {
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Fitted bool    `json:"fitted,omitempty"`
}

type jsonPathway struct {
	Pathway     int      `json:"pathway"`
	Pre         string   `json:"pre"`
	Post        string   `json:"post"`
	Compartment string   `json:"compartment"`
	Tag         string   `json:"tag"`
	Record      string   `json:"record"`
	HoldingMV   *float64 `json:"holding_mV"` // null: measured at rest
	IHoldPA     *float64 `json:"i_hold_pA"`  // current into record that holds it there; null when it has none
	// NoState says why the pathway has no state to measure a PSP from (no
	// steady state nor, held, holding current; or an unstable one): a fit
	// ends such a pathway sim_failed.
	NoState string `json:"no_steady_state,omitempty"`
	// SteadyState is the state the PSP is measured from, as simulate
	// --json gives it (V_<compartment> in mV, w_<compartment> in pA);
	// null with NoState.
	SteadyState map[string]float64 `json:"steady_state"`
	Receptors   []jsonReceptor     `json:"receptors"`
	TargetPSPMV *float64           `json:"target_psp_mV"`
	PSPAtFitMV  *float64           `json:"psp_at_fit_mV"`
	Converged   *bool              `json:"converged"`
	Outcome     string             `json:"outcome,omitempty"`
	// Warnings say what makes the fitted g doubtful (the fit's).
	Warnings []string `json:"warnings,omitempty"`
	// FitRunID is the run of this pathway's fit when it is not the
	// provenance's (an earlier fit of the pathway; fit --pathway).
	FitRunID *int64 `json:"fit_run_id,omitempty"`
}

type jsonReceptor struct {
	Channel  string   `json:"channel"`
	GNS      float64  `json:"g_nS"`
	ScaleG   bool     `json:"scale_g"`
	TRiseMS  *float64 `json:"t_rise_ms"`
	TDecayMS float64  `json:"t_decay_ms"`
}

func writeJSON(w io.Writer, c *Calibration) error {
	s, run := c.Spec, c.Run
	out := jsonExport{
		Format: "dendfit-export", Version: 1, Experiment: s.Name,
		Provenance: jsonProvenance{
			RunID: run.ID, RunUID: run.RunUID, RunStartedAt: run.StartedAt.UTC().Format(time.RFC3339Nano),
			RunArgv: run.Argv, RunVersion: run.Version, RunRevision: run.VCSRevision, RunModified: run.VCSModified,
			RunGoVersion: run.GoVersion, SpecSHA256: c.SpecSHA256, ExportedBy: "dendfit " + orUnknown(c.Version),
			ExportedAt: c.Date.UTC().Format(time.RFC3339), DtMS: s.Simulation.Dt / 1e-3, Method: s.Simulation.Method.String(),
			FitRTol:        s.Fit.RTol,
			ParamsGivenAre: "params use Dendrify's names; g is the conductance in the equations (after scale_g); receptors[].g_nS is the spec g",
		},
		Notes: c.runNotes(),
		Simulation: jsonSimulation{DtMS: s.Simulation.Dt / 1e-3, Method: s.Simulation.Method.String(),
			DurationMS: s.Simulation.Duration / 1e-3, SpikeAtMS: s.Simulation.SpikeAt / 1e-3},
		Constants:   map[string]jsonValue{},
		Populations: map[string]jsonPopulation{},
		Pathways:    []jsonPathway{},
	}
	// The names and units of the Dendrify module's CONSTANTS.
	k := s.Constants
	for name, v := range map[string]float64{"E_AMPA": k.EAMPA, "E_NMDA": k.ENMDA, "E_GABA": k.EGABA, "E_Na": s.Ions.ENa, "E_K": s.Ions.EK, "E_Ca": s.Ions.ECa} {
		out.Constants[name] = jsonValue{Value: v / 1e-3, Unit: "mV"}
	}
	for name, v := range map[string]float64{"Mg_con": k.MgCon, "Alpha_NMDA": k.AlphaNMDA, "Beta_NMDA": k.BetaNMDA, "Gamma_NMDA": k.GammaNMDA} {
		out.Constants[name] = jsonValue{Value: v, Unit: "1"}
	}
	if out.Provenance.RunArgv == nil {
		out.Provenance.RunArgv = []string{}
	}
	for _, pop := range s.Populations {
		jp := jsonPopulation{Cell: pop.Cell, Params: map[string]jsonValue{}}
		for _, p := range c.params(pop.Name) {
			jp.Params[p.Name] = jsonValue{p.Value, p.Unit, p.Fitted}
		}
		out.Populations[pop.Name] = jp
	}
	syns := c.synapses()
	for i, pw := range s.Pathways {
		jp := jsonPathway{Pathway: i, Pre: pw.Pre, Post: pw.Post, Compartment: pw.Compartment, Tag: pw.Tag, Record: pw.Record}
		v, cur, held, known, err := c.holding(i)
		if err != nil {
			return err
		}
		if held {
			jp.HoldingMV = &v
			if known {
				jp.IHoldPA = &cur
			}
		}
		st, err := c.state(i)
		if err != nil {
			return err
		}
		if st.err != nil {
			jp.NoState = st.err.Error()
		} else {
			jp.SteadyState = pipeline.SteadyStateMap(st.cell, st.ss)
		}
		for _, sy := range syns {
			if sy.pathway != i {
				continue
			}
			r := jsonReceptor{Channel: sy.r.Channel.String(), GNS: sy.gNS, ScaleG: sy.r.ScaleG, TDecayMS: sy.r.TauDecay / 1e-3}
			if sy.r.TauRise > 0 {
				v := sy.r.TauRise / 1e-3
				r.TRiseMS = &v
			}
			jp.Receptors = append(jp.Receptors, r)
		}
		if f := c.fitOf(i); f != nil {
			t, psp, conv := f.TargetPSPMV, f.PSPAtFitMV, f.Converged
			jp.TargetPSPMV, jp.Converged, jp.Outcome, jp.Warnings = &t, &conv, f.Outcome, f.Warnings
			if r := c.FitRun[i]; r != nil {
				jp.FitRunID = &r.ID
			}
			if conv {
				jp.PSPAtFitMV = &psp
			}
		} else if pw.TargetPSP > 0 {
			t := pw.TargetPSP / 1e-3
			jp.TargetPSPMV = &t
		}
		out.Pathways = append(out.Pathways, jp)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // labels are pre->post
	return enc.Encode(out)
}
