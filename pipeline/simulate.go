package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/sim"
	"github.com/dendfit/dendfit/sim/spec"
)

// DSpikeEvent is one dendritic spike, as in the reference files.
type DSpikeEvent struct {
	Compartment string  `json:"compartment"`
	Name        string  `json:"name"`
	TMS         float64 `json:"t_ms"`
}

// Trace is the voltage of every compartment at every sample.
type Trace struct {
	DtMS float64              `json:"dt_ms"`
	VMV  map[string][]float64 `json:"v_mV"`
	// Compartments keeps the cell's compartment order for CSV columns.
	Compartments []string `json:"-"`
}

// PathwayResult is one pathway's PSP with the keys, names and units of the
// reference files (and of `dendfit simulate --json`).
type PathwayResult struct {
	PathwayID
	GNS    []float64 `json:"g_nS"`
	GEffNS []float64 `json:"g_eff_nS"`
	// GPeakNS is each receptor's peak conductance after the spike
	// (sim.Receptor.PeakG): another than g for a rise-decay receptor
	// without scale_g.
	GPeakNS      []float64          `json:"g_peak_nS"`
	TDecayMS     []float64          `json:"t_decay_ms"`
	TRiseMS      []*float64         `json:"t_rise_ms"`
	HoldingMV    *float64           `json:"holding_mV"`
	IHoldPA      *float64           `json:"i_hold_pA"`
	SteadyState  map[string]float64 `json:"steady_state"`
	BaselineMV   float64            `json:"baseline_mV"`
	PSPMV        float64            `json:"psp_mV"`
	TimeToPeakMS float64            `json:"time_to_peak_ms"`
	Rise1090MS   *float64           `json:"rise_10_90_ms"`
	HalfWidthMS  *float64           `json:"half_width_ms"`
	PeaksMV      map[string]float64 `json:"peaks_mV"`
	BaselinesMV  map[string]float64 `json:"baselines_mV"`
	DSpikeFired  bool               `json:"dspike_fired"`
	DSpikeEvents []DSpikeEvent      `json:"dspike_events"`
	NSamples     int                `json:"n_samples"`
	// PeakAtEnd: the PSP peaks at the window's last sample (see
	// WindowWarning).
	PeakAtEnd   bool     `json:"peak_at_window_end"`
	SpikeSample int      `json:"spike_sample"`
	TargetPSPMV *float64 `json:"target_psp_mV"`
	Trace       *Trace   `json:"trace,omitempty"`
	// Error says why the pathway's simulation failed (SimulateOptions
	// KeepGoing); its metrics are then zero, and null in JSON.
	Error string `json:"error,omitempty"`
}

// MarshalJSON writes a failed pathway's (Error set) baseline, PSP and time
// to peak as null, as the database records them: zeros read as a measured
// 0 mV. (Those keys then come last.)
func (pr PathwayResult) MarshalJSON() ([]byte, error) {
	type plain PathwayResult // without this method
	if pr.Error == "" {
		return json.Marshal(plain(pr))
	}
	return json.Marshal(struct {
		plain
		BaselineMV   *float64 `json:"baseline_mV"`
		PSPMV        *float64 `json:"psp_mV"`
		TimeToPeakMS *float64 `json:"time_to_peak_ms"`
	}{plain: plain(pr)})
}

// WindowWarning is the warning for a pathway of s whose PSP peaks at the
// last sample of the window (what names the pathway, and at what g): the
// window ended before the response did, and the PSP, and any fit to it,
// is where the window cut the response.
func WindowWarning(s *spec.Spec, what string) string {
	return fmt.Sprintf("%s: the PSP peaks at the last sample, as the window ends %.4g ms after the spike: it is where the window cut a response still growing, not its peak; lengthen simulation.duration",
		what, (s.Simulation.Duration-s.Simulation.SpikeAt)/1e-3)
}

// EarlyDSpike returns a warning when a dSpike of pr fired before the
// presynaptic spike at spikeAtMS (ms), or "" when none did: the cell was
// not at rest under the protocol (typically held above a dSpike
// threshold), and its PSP, and a fit to it, measure that response too.
func (pr *PathwayResult) EarlyDSpike(spikeAtMS float64) string {
	for _, e := range pr.DSpikeEvents {
		if e.TMS < spikeAtMS {
			why := "the cell is not at rest under the protocol"
			if pr.HoldingMV != nil {
				why = fmt.Sprintf("holding %s at %g mV may be above its dSpike threshold", pr.Record, *pr.HoldingMV)
			}
			return fmt.Sprintf("pathway %d (%s->%s): dSpike %s of %s fires at %g ms, before the presynaptic spike at %g ms: %s, and the PSP measures that response too",
				pr.Pathway, pr.Pre, pr.Post, e.Name, e.Compartment, e.TMS, spikeAtMS, why)
		}
	}
	return ""
}

// EarlyDSpikes runs the PSP protocol of the given pathways of s at their
// spec conductances and returns EarlyDSpike's warning for each that has
// one. Before the presynaptic spike no synapse acts, so what it finds
// holds at every g a fit or sweep tries.
func EarlyDSpikes(ctx context.Context, s *spec.Spec, pathways []int) ([]string, error) {
	res, err := Simulate(ctx, s, &SimulateOptions{Pathways: pathways, KeepGoing: true})
	if err != nil {
		return nil, err
	}
	var out []string
	for i := range res { // a failed pathway has no events
		if w := res[i].EarlyDSpike(s.Simulation.SpikeAt / 1e-3); w != "" {
			out = append(out, w)
		}
	}
	return out, nil
}

// SimulateOptions selects pathways and extras for Simulate.
type SimulateOptions struct {
	// Pathways to run, by index; nil means all.
	Pathways []int
	// Trace keeps the voltage of every compartment.
	Trace bool
	// Dt, when positive, replaces the spec's dt (for dt-sensitivity checks).
	Dt float64
	// KeepGoing turns a pathway whose simulation fails (non-finite, run
	// away) into a result with Error set, and simulates the others; by
	// default the first failure ends Simulate.
	KeepGoing bool
}

// Simulate runs the PSP protocol for the chosen pathways of s, each alone in
// a fresh cell at its steady state.
func Simulate(ctx context.Context, s *spec.Spec, opt *SimulateOptions) ([]PathwayResult, error) {
	if opt == nil {
		opt = &SimulateOptions{}
	}
	idx := opt.Pathways
	if idx == nil {
		for i := range s.Pathways {
			idx = append(idx, i)
		}
	}
	out := make([]PathwayResult, 0, len(idx))
	for _, i := range idx {
		if i < 0 || i >= len(s.Pathways) {
			return nil, fmt.Errorf("pathway %d: out of range (the spec has %d)", i, len(s.Pathways))
		}
		setup, rs, err := s.Setup(i)
		if err != nil {
			return nil, fmt.Errorf("pathway %d (%s): %w", i, s.Pathways[i].Label(), err)
		}
		if opt.Dt > 0 {
			setup.Protocol.Dt = opt.Dt
		}
		pr, err := SimulateOne(ctx, s, i, setup, rs, opt.Trace)
		if err != nil && opt.KeepGoing && ctx.Err() == nil {
			out = append(out, *failedPathwayResult(s, i, setup, rs, err))
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("pathway %d (%s): %w", i, s.Pathways[i].Label(), err)
		}
		out = append(out, *pr)
	}
	return out, nil
}

// SimulateOne runs pathway i of s with the given setup and receptors (which
// may differ from the spec's, as in a sweep or a fit).
func SimulateOne(ctx context.Context, s *spec.Spec, i int, setup *sim.Setup, rs []sim.Receptor, trace bool) (*PathwayResult, error) {
	sm, err := sim.New(setup, 1)
	if err != nil {
		return nil, err
	}
	res := make([]sim.Result, 1)
	if err := sm.Run(ctx, [][]sim.Receptor{rs}, &sim.Options{Trace: trace}, res); err != nil {
		return nil, err
	}
	return newPathwayResult(s, i, setup, rs, sm.Steady(), &res[0]), nil
}

// failedPathwayResult is pathway i's result when its simulation failed
// with err: its identity, receptors and protocol, no metrics.
func failedPathwayResult(s *spec.Spec, i int, setup *sim.Setup, rs []sim.Receptor, err error) *PathwayResult {
	pr := pathwayHeader(s, i, setup, rs)
	pr.Error = err.Error()
	return pr
}

// pathwayHeader is what pathway i's result says whatever its simulation
// gave: its identity, its receptors (in the units a sweep records, so that
// both give the same bits), holding and target.
func pathwayHeader(s *spec.Spec, i int, setup *sim.Setup, rs []sim.Receptor) *PathwayResult {
	p := s.Pathways[i]
	pr := &PathwayResult{
		PathwayID:   NewPathwayID(s, i),
		SteadyState: map[string]float64{}, PeaksMV: map[string]float64{}, BaselinesMV: map[string]float64{},
		DSpikeEvents: []DSpikeEvent{},
	}
	for _, rc := range rs {
		pr.GNS = append(pr.GNS, rc.G/1e-9)
		pr.GEffNS = append(pr.GEffNS, rc.EffectiveG()/1e-9)
		pr.GPeakNS = append(pr.GPeakNS, rc.PeakG()/1e-9)
		pr.TDecayMS = append(pr.TDecayMS, rc.TauDecay/1e-3)
		var tr *float64
		if rc.TauRise > 0 {
			tr = ptr(rc.TauRise / 1e-3)
		}
		pr.TRiseMS = append(pr.TRiseMS, tr)
	}
	if setup.Protocol.Hold {
		pr.HoldingMV = ptr(setup.Protocol.Holding / 1e-3)
	}
	if p.TargetPSP > 0 {
		pr.TargetPSPMV = ptr(p.TargetPSP / 1e-3)
	}
	return pr
}

// SteadyStateMap returns ss by Dendrify's variable names, as simulate
// --json gives it: V_<compartment> in mV and, for an adaptive compartment,
// w_<compartment> in pA (V and w on a one-compartment cell).
func SteadyStateMap(cell *sim.Cell, ss sim.SteadyState) map[string]float64 {
	point := len(cell.Compartments) == 1
	m := make(map[string]float64, len(cell.Compartments))
	for c, cp := range cell.Compartments {
		vk, wk := "V_"+cp.Name, "w_"+cp.Name
		if point {
			vk, wk = "V", "w"
		}
		m[vk] = ss.V[c] / 1e-3
		if cp.Kind.Adaptive() {
			m[wk] = ss.W[c] / 1e-12
		}
	}
	return m
}

func newPathwayResult(s *spec.Spec, i int, setup *sim.Setup, rs []sim.Receptor, ss sim.SteadyState, r *sim.Result) *PathwayResult {
	cell := setup.Cell
	// The numbers a sweep records, converted once for both, so that a
	// swept point and its lone simulation are the same bits.
	var bp db.BlockPoint
	blockPointOf(&bp, setup, rs, ss, r)
	pr := pathwayHeader(s, i, setup, rs)
	pr.BaselineMV, pr.PSPMV, pr.TimeToPeakMS = bp.BaselineMV, bp.PSPMV, bp.TimeToPeakMS
	pr.Rise1090MS, pr.HalfWidthMS = present(bp.Rise1090MS), present(bp.HalfWidthMS)
	pr.DSpikeFired, pr.NSamples, pr.SpikeSample = r.DSpikeFired, r.Samples, r.SpikeStep
	pr.PeakAtEnd = r.PeakAtEnd()
	if setup.Protocol.Hold {
		pr.IHoldPA = present(bp.IHoldPA)
	}
	pr.SteadyState = SteadyStateMap(cell, ss)
	for c, cp := range cell.Compartments {
		if r.Peaks != nil {
			pr.PeaksMV[cp.Name] = bp.PeaksMV[c]
			pr.BaselinesMV[cp.Name] = r.Baselines[c] / 1e-3
		}
	}
	for _, ev := range r.DSpikeEvents {
		pr.DSpikeEvents = append(pr.DSpikeEvents, DSpikeEvent{
			Compartment: cell.Compartments[ev.Compartment].Name, Name: ev.Mechanism,
			TMS: float64(ev.Step) * setup.Protocol.Dt / 1e-3,
		})
	}
	if r.Trace != nil {
		t := &Trace{DtMS: setup.Protocol.Dt / 1e-3, VMV: map[string][]float64{}}
		for c, cp := range cell.Compartments {
			v := make([]float64, len(r.Trace[c]))
			for k, x := range r.Trace[c] {
				v[k] = x / 1e-3
			}
			t.VMV[cp.Name] = v
			t.Compartments = append(t.Compartments, cp.Name)
		}
		pr.Trace = t
	}
	return pr
}

func ptr(f float64) *float64 { return &f }

// present is v, or nil for NaN (an absent value in a block point).
func present(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	return &v
}
