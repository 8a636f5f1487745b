package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/fit"
	"github.com/dendfit/dendfit/sim"
	"github.com/dendfit/dendfit/sim/spec"
)

// FitResult is one pathway's calibration, with the keys of `dendfit fit
// --json`.
type FitResult struct {
	PathwayID
	TargetPSPMV float64 `json:"target_psp_mV"`
	// GFitNS is the fitted g of every receptor; null when the fit did not
	// converge, with the best g tried in GBestNS.
	GFitNS  []float64 `json:"g_fit_nS"`
	GBestNS []float64 `json:"g_best_nS"`
	// GEffNS is the fitted conductance in Dendrify's equations, what
	// add_params takes (export writes it): GFitNS after scale_g, so the
	// same unless a receptor has scale_g. Null when not converged.
	GEffNS []float64 `json:"g_eff_nS"`
	// GPeakNS is each receptor's peak conductance at the fitted g and
	// kinetics (sim.Receptor.PeakG): another than GFitNS for a rise-decay
	// receptor without scale_g. Null when not converged.
	GPeakNS []float64 `json:"g_peak_nS"`
	// PSPAtFitMV is the PSP at the fitted g (at the best g tried when
	// the fit did not converge), signed as every PSP is: negative for a
	// hyperpolarising one, whose target is its magnitude. It is the
	// shared reference's psp_at_fit_mV.
	PSPAtFitMV float64 `json:"psp_at_fit_mV"`
	// PSPFineDtMV is the PSP at the fitted g with dt/10 and the same
	// method, signed: how much the calibration depends on the clock.
	PSPFineDtMV *float64    `json:"psp_fine_dt_mV"`
	Evaluations int         `json:"evaluations"`
	Converged   bool        `json:"converged"`
	Outcome     fit.Outcome `json:"outcome"`
	Message     string      `json:"message,omitempty"`
	ReachableMV *float64    `json:"reachable_psp_mV,omitempty"`
	// PeakAtEnd: at the g found, the PSP peaks at the window's last
	// sample (WindowWarning).
	PeakAtEnd bool `json:"peak_at_window_end,omitempty"`
	// With kinetics targets: the first receptor's fitted time constants
	// and the residual of every targeted measure (times in ms).
	TDecayMS  *float64       `json:"t_decay_ms"`
	TRiseMS   *float64       `json:"t_rise_ms"`
	Residuals []fit.Residual `json:"residuals"`
	// Warnings say what makes the g doubtful, one line each: the PSP
	// peaks at the window's end, it moves by more than FineDtTolerance at
	// dt/10, an IPSP depolarises. Recorded with the fit.
	Warnings []string `json:"warnings"`

	points []db.Point
	// belowJump is fit.Result.BelowJump, given as a warning (doubts).
	belowJump string
}

// FineDtTolerance is how far, relatively, the PSP at dt/10 may be from
// the PSP at dt before a fitted g is reported as depending on dt: a dt
// that moves the PSP by more than 1% is coarse for the model.
const FineDtTolerance = 0.01

// doubts returns what makes r's g doubtful, one message a problem, for s,
// the spec it was fitted to: a PSP that peaks at the window's end (the
// window cut the response), and for a converged fit, an IPSP that
// depolarises or an EPSP that hyperpolarises, and a PSP that moves by more than FineDtTolerance at dt/10
// (the g holds only at this dt and method).
func (r *FitResult) doubts(s *spec.Spec) []string {
	what := fmt.Sprintf("pathway %d (%s)", r.Pathway, s.Pathways[r.Pathway].Label())
	var ws []string
	if r.PeakAtEnd {
		ws = append(ws, WindowWarning(s, what+" at the g found"))
	}
	// A kinetics fit clamps its time constants at dt (tauMin): one found
	// there is what the targets ask for only as far as the step allows.
	// Where the targets lie past the floor, or where the measures jump at
	// it (a half width in whole steps), is not told apart: the warning
	// says what is known.
	lim := tauMin(sim.Protocol{Method: s.Simulation.Method, Dt: s.Simulation.Dt}) / 1e-3
	for _, t := range []struct {
		name string
		ms   *float64
	}{{"t_decay", r.TDecayMS}, {"t_rise", r.TRiseMS}} {
		if t.ms != nil && *t.ms <= lim*(1+1e-9) {
			ws = append(ws, fmt.Sprintf("%s: its fitted %s (%.4g ms) is the least the search allows, dt: the kinetics there are what this dt can step, not necessarily what the targets ask for; fit with a smaller dt to see whether it moves",
				what, t.name, *t.ms))
		}
	}
	if !r.Converged {
		return ws
	}
	if r.belowJump != "" {
		ws = append(ws, what+": "+r.belowJump)
	}
	// An inhibitory pathway whose PSP depolarises sits below E_GABA at
	// its synapse (a holding below it): physics, but rarely the
	// recording meant, and the g that makes it is large.
	// Its mirror: an excitatory pathway whose PSP hyperpolarises, held
	// above the glutamate reversal (a lost minus sign on a holding).
	gaba := func(c string) bool { return c == sim.GABA.String() }
	if psp := r.PSPAtFitMV; len(r.GFitNS) > 0 {
		switch {
		case psp > 0 && !slices.ContainsFunc(r.Receptors, func(c string) bool { return !gaba(c) }):
			ws = append(ws, fmt.Sprintf("%s: its GABA PSP at the g found depolarises (%+.4g mV): the membrane at the synapse sits below E_GABA (%.4g mV), as a holding potential below it makes it", what, psp, s.Constants.EGABA/1e-3))
		case psp < 0 && !slices.ContainsFunc(r.Receptors, gaba):
			ws = append(ws, fmt.Sprintf("%s: its excitatory PSP at the g found hyperpolarises (%+.4g mV): the membrane at the synapse sits above the glutamate reversal (E_AMPA %.4g mV, E_NMDA %.4g mV), as a holding potential above it makes it",
				what, psp, s.Constants.EAMPA/1e-3, s.Constants.ENMDA/1e-3))
		}
	}
	if w := r.pastReversal(s); w != "" {
		ws = append(ws, what+": "+w)
	}
	if r.PSPFineDtMV == nil {
		return ws
	}
	at, fine := math.Abs(r.PSPAtFitMV), math.Abs(*r.PSPFineDtMV)
	if math.Abs(fine-at) > FineDtTolerance*at {
		ws = append(ws, fmt.Sprintf("%s: at the g found the PSP is %.4g mV with dt and %.4g mV with dt/10 (%+.1f%%): the calibration depends on dt; it holds for models run at this dt and method",
			what, at, fine, 100*(fine/at-1)))
	}
	return ws
}

// pastReversal says, when r's PSP carries V past every reversal of its
// receptors in its direction, in a cell without active currents, that
// the PSP is the integrator's: V in a passive cell stays between its
// resting level and the reversals of its conductances, and only a coarse
// step (Euler oscillating) overshoots them; the g found gives the target
// only through that artefact. "" otherwise.
func (r *FitResult) pastReversal(s *spec.Spec) string {
	if len(r.GFitNS) == 0 || len(r.points) == 0 || r.PSPAtFitMV == 0 {
		return ""
	}
	setup, _, err := s.Setup(r.Pathway)
	if err != nil || hasDSpikes(setup.Cell) {
		return ""
	}
	for _, cp := range setup.Cell.Compartments {
		if cp.Kind != sim.Passive && cp.Kind != sim.LeakyIF {
			return ""
		}
	}
	base := r.points[0].BaselineMV // every evaluation's: the state before the spike
	peak := base + r.PSPAtFitMV
	bound := math.Inf(-1) // the farthest reversal in the PSP's direction
	if r.PSPAtFitMV < 0 {
		bound = math.Inf(1)
	}
	for _, name := range r.Receptors {
		ch, err := sim.ParseChannel(name)
		if err != nil {
			return ""
		}
		e := s.Constants.Reversal(ch) / 1e-3
		if r.PSPAtFitMV > 0 {
			bound = max(bound, e)
		} else {
			bound = min(bound, e)
		}
	}
	// Only a PSP towards its reversals: one away from them (a GABA PSP
	// below E_GABA) is warned of above.
	if r.PSPAtFitMV > 0 && !(base < bound && peak > bound) || r.PSPAtFitMV < 0 && !(base > bound && peak < bound) {
		return ""
	}
	return fmt.Sprintf("its PSP at the g found carries V from %.4g mV to %.4g mV, past the reversal of its receptors (%.4g mV), which no cell without active currents can reach: it is the integration's, at dt %g ms with %s (a step that overshoots and oscillates), and the g holds only through it; use a smaller dt",
		base, peak, bound, s.Simulation.Dt/1e-3, s.Simulation.Method)
}

// FitSelection checks pathways selected for a fit (indexes into
// s.Pathways, in range) and returns them as FitOptions.Pathways takes
// them: nil when they are every pathway with a target_psp, which is the
// whole fit, so that it is recorded as one (query and export would
// otherwise say it left the others out). A selected pathway without a
// target_psp is an error.
func FitSelection(s *spec.Spec, selected []int) ([]int, error) {
	if selected == nil {
		return nil, nil
	}
	if err := checkFitPathways(s, selected); err != nil {
		return nil, err
	}
	targets := 0
	for _, p := range s.Pathways {
		if p.TargetPSP > 0 {
			targets++
		}
	}
	seen := map[int]bool{}
	for _, i := range selected {
		seen[i] = true
	}
	if len(seen) == targets {
		return nil, nil
	}
	return selected, nil
}

// FitPathways returns, in order, the pathways a fit of selected (nil:
// every pathway) fits: those of them with a target_psp.
func FitPathways(s *spec.Spec, selected []int) []int {
	var idx []int
	for i, p := range s.Pathways {
		if p.TargetPSP > 0 && (selected == nil || slices.Contains(selected, i)) {
			idx = append(idx, i)
		}
	}
	return idx
}

// CheckFitTargets returns the FitErrors of the pathways a fit of selected
// (nil: every pathway with a target_psp) would fit: kinetics targets no
// PSP of the window can meet, which the spec only warns of, as a sweep
// or a simulation does not use them. It is nil when there are none, a
// *spec.Error for one, else spec.Errors.
func CheckFitTargets(s *spec.Spec, selected []int) error {
	var errs spec.Errors
	for _, i := range FitPathways(s, selected) {
		errs = append(errs, s.Pathways[i].FitErrors...)
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errs
}

// checkFitPathways says why a pathway of selected cannot be fitted: out of
// range, or without a target_psp.
func checkFitPathways(s *spec.Spec, selected []int) error {
	for _, i := range selected {
		if i < 0 || i >= len(s.Pathways) {
			return fmt.Errorf("pathway %d: the spec has %s", i, s.PathwayIndexes())
		}
		if !(s.Pathways[i].TargetPSP > 0) {
			return fmt.Errorf("pathway %d (%s) has no target_psp: nothing to fit", i, s.Pathways[i].Label())
		}
	}
	return nil
}

// FitOptions configures Fit. A nil *FitOptions means the defaults.
type FitOptions struct {
	Workers int  // pathways fitted at once; default all cores
	NoFine  bool // skip the dt/10 check
	// Pathways, if not nil, are the pathways to fit (each with a
	// target_psp), in spec order whatever their order here.
	Pathways []int
	// RootBelowJump accepts the root of a pathway with dSpikes that fires
	// none, though a run of the bracket around it does (fit.Problem):
	// the fit then carries a warning that says so. Off, as the
	// reference, such a root is no fit.
	RootBelowJump bool
	// Progress, if set, is told how many pathways are fitted out of
	// those with a target, once at the start and after each; calls do not
	// overlap.
	Progress Progress
	// Finished, if set, is given each pathway's result as soon as it is
	// fitted, before Progress counts it, one call at a time: a caller
	// records it then (RecordFit), so that what is done survives even a
	// kill -9 of a long fit. Its error stops the fit.
	Finished func(*FitResult) error
}

// Fit calibrates every pathway of s that has a target_psp, concurrently,
// and returns them in spec order. Every evaluation is kept as a point for
// the database (FitResult.Points). When a pathway fails or ctx is
// cancelled, it returns the error with the pathways finished by then, so
// that they can be kept (RecordFit), unless FitOptions.Finished kept each.
func Fit(ctx context.Context, s *spec.Spec, opt *FitOptions) ([]FitResult, error) {
	if opt == nil {
		opt = &FitOptions{}
	}
	idx := FitPathways(s, opt.Pathways)
	if err := checkFitPathways(s, opt.Pathways); err != nil {
		return nil, err
	}
	if err := CheckFitTargets(s, opt.Pathways); err != nil {
		return nil, err
	}
	out := make([]FitResult, len(idx))
	done := make([]bool, len(idx))
	g, gctx := errgroup.WithContext(ctx)
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	g.SetLimit(workers)
	var mu sync.Mutex // serialises Finished and Progress
	n := 0
	// Finished's first error: the group reports only its own first, which
	// may be Ctrl-C's, and a pathway not kept must not go unsaid.
	var finishedErr error
	if opt.Progress != nil {
		opt.Progress(0, len(idx))
	}
	for j, i := range idx {
		g.Go(func() error {
			r, err := fitPathway(gctx, s, i, opt)
			if err != nil {
				return fmt.Errorf("pathway %d (%s): %w", i, s.Pathways[i].Label(), err)
			}
			if r.Converged && r.PeakAtEnd && r.Message == "" {
				// Kept with the fit row, beyond the warning of the
				// terminal that ran it: the reference's rule measures
				// the PSP in the window, so the outcome stays converged.
				r.Message = fmt.Sprintf("the PSP peaks at the window's last sample, %.4g ms after the spike: the window cut a growing response, and g may be too large; lengthen simulation.duration",
					(s.Simulation.Duration-s.Simulation.SpikeAt)/1e-3)
			}
			r.Warnings = r.doubts(s)
			mu.Lock()
			defer mu.Unlock()
			if opt.Finished != nil {
				if err := opt.Finished(r); err != nil {
					err = fmt.Errorf("pathway %d (%s): %w", i, s.Pathways[i].Label(), err)
					if finishedErr == nil {
						finishedErr = err
					}
					return err
				}
			}
			out[j], done[j] = *r, true
			n++
			if opt.Progress != nil {
				opt.Progress(n, len(idx))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		switch {
		case finishedErr == nil || errors.Is(err, finishedErr):
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			// "Interrupted, finished work is kept" would not be true.
			err = finishedErr
		default:
			err = fmt.Errorf("%w; %w", err, finishedErr)
		}
		var finished []FitResult
		for j := range out {
			if done[j] {
				finished = append(finished, out[j])
			}
		}
		return finished, err
	}
	return out, nil
}

// RecordEach returns a FitOptions.Finished that records each pathway
// under run runID as it is fitted (RecordFit), Ctrl-C or not.
func RecordEach(ctx context.Context, d *db.DB, runID int64) func(*FitResult) error {
	ctx = context.WithoutCancel(ctx)
	return func(r *FitResult) error {
		if err := RecordFit(ctx, d, runID, []FitResult{*r}); err != nil {
			return fmt.Errorf("record: %w", err)
		}
		return nil
	}
}

// RecordFit records the evaluations and fit rows of fitted pathways under
// run runID, in one transaction: a pathway's calibration is kept whole or
// not at all.
func RecordFit(ctx context.Context, d *db.DB, runID int64, res []FitResult) error {
	var pts []db.Point
	var fits []db.Fit
	for i := range res {
		pts = append(pts, res[i].points...)
		fits = append(fits, res[i].DBFit())
	}
	return d.InsertFitResults(ctx, runID, pts, fits)
}

// MarshalJSON writes the keys query fits --json gives: warnings as [] when
// there are none, and psp_at_fit_mV as null when the fit has no g to give
// (nothing was simulated: sim_failed); 0 read as a measured PSP. (That key
// then comes last.)
func (r FitResult) MarshalJSON() ([]byte, error) {
	type plain FitResult // without this method
	if r.Warnings == nil {
		r.Warnings = []string{}
	}
	if len(r.GFitNS) > 0 || len(r.GBestNS) > 0 {
		return json.Marshal(plain(r))
	}
	return json.Marshal(struct {
		plain
		PSPAtFitMV *float64 `json:"psp_at_fit_mV"`
	}{plain: plain(r)})
}

// Points returns the evaluations of the fit as database points.
func (r *FitResult) Points() []db.Point { return r.points }

// DBFit returns the fit row for the database.
func (r *FitResult) DBFit() db.Fit {
	return db.Fit{
		Pathway: r.Pathway, Pre: r.Pre, Post: r.Post, Compartment: r.Compartment, Record: r.Record, Tag: r.Tag,
		Receptors: r.Receptors, TargetPSPMV: r.TargetPSPMV, GFitNS: r.gNS(), PSPAtFitMV: r.PSPAtFitMV,
		PSPFineDtMV: r.PSPFineDtMV, Evaluations: r.Evaluations, Converged: r.Converged,
		Outcome: string(r.Outcome), Message: r.Message, TDecayMS: r.TDecayMS, TRiseMS: r.TRiseMS,
		Residuals: r.residualsJSON(), Warnings: r.Warnings,
	}
}

// gNS is the g recorded for the fit: the fitted one, or the best tried.
func (r *FitResult) gNS() []float64 {
	if r.Converged {
		return r.GFitNS
	}
	return r.GBestNS
}

func (r *FitResult) residualsJSON() json.RawMessage {
	if len(r.Residuals) == 0 {
		return nil
	}
	b, err := json.Marshal(r.Residuals)
	if err != nil {
		return nil
	}
	return b
}

// ScaleG writes into dst (reusing its memory) and returns the receptors
// base with the first one's g set to g1 (S) and the others keeping their
// ratio to it: how a sweep's g axis, a fit and a figure at a given g all
// set a pathway's conductances, so that they agree to the bit.
func ScaleG(dst, base []sim.Receptor, g1 float64) []sim.Receptor {
	rs := append(dst[:0], base...)
	ratio := g1 / base[0].G
	rs[0].G = g1
	for j := 1; j < len(rs); j++ {
		rs[j].G = base[j].G * ratio
	}
	return rs
}

// scaled is ScaleG into new memory.
func scaled(base []sim.Receptor, g1 float64) []sim.Receptor { return ScaleG(nil, base, g1) }

func fitPathway(ctx context.Context, s *spec.Spec, i int, opt *FitOptions) (*FitResult, error) {
	p := s.Pathways[i]
	res := &FitResult{PathwayID: NewPathwayID(s, i), TargetPSPMV: p.TargetPSP / 1e-3}
	setup, base, err := s.Setup(i)
	kinetics := p.TargetRise > 0 || p.TargetHalfWidth > 0 || p.TargetTimeToPeak > 0
	var sm *sim.Simulator
	if err == nil {
		sm, err = sim.New(setup, 1)
	}
	if err == nil {
		// A kinetics search keeps its own time constants at tauMin or
		// above, stable; the other receptors keep the spec's.
		rs := base
		if kinetics {
			rs = slices.Clone(base)
			tm := tauMin(setup.Protocol)
			rs[0].TauDecay = max(rs[0].TauDecay, tm)
			if rs[0].TauRise > 0 {
				rs[0].TauRise = max(rs[0].TauRise, tm)
			}
		}
		err = sim.CheckGating(setup.Protocol, rs)
	}
	if err != nil {
		// A pathway that cannot be simulated at all (dt beyond its
		// cell's stability limit, or its receptors') fails alone, as one
		// whose simulation fails on the way does: the others are fitted.
		// As an error it cancelled them, and which got recorded depended
		// on timing.
		res.Outcome, res.Message = fit.SimFailed, err.Error()
		return res, nil
	}
	out := make([]sim.Result, 1)
	ropt := &sim.Options{RecordOnly: true}
	if kinetics {
		return fitKinetics(ctx, s, i, setup, base, sm, res, opt)
	}
	ran := map[float64]evaluated{} // by g
	early := false                 // a dSpike fired before the presynaptic spike
	eval := func(ctx context.Context, g float64) (float64, bool, error) {
		rs := scaled(base, g)
		err := sm.Run(ctx, [][]sim.Receptor{rs}, ropt, out)
		if err != nil {
			return 0, false, err
		}
		ran[g] = evaluated{psp: out[0].PSP, atEnd: out[0].PeakAtEnd()}
		early = early || firesEarly(&out[0])
		pr := newPathwayResult(s, i, setup, rs, sm.Steady(), &out[0])
		// fit.Amplitude evaluates one g at a time.
		res.points = append(res.points, PointOf(fmt.Sprintf("fit/p%04d/e%03d", i, len(res.points)), pr))
		return out[0].PSP, out[0].DSpikeFired, nil
	}
	fr, err := fit.Amplitude(ctx, fit.Problem{Eval: eval, Target: p.TargetPSP, G0: base[0].G,
		GMin: s.Fit.GMin, GMax: s.Fit.GMax, RTol: s.Fit.RTol, Jumps: hasDSpikes(setup.Cell), RootBelowJump: opt.RootBelowJump})
	if err != nil {
		return nil, err
	}
	res.Evaluations = fr.Evaluations
	res.PeakAtEnd = ran[fr.G].atEnd
	res.Outcome = fr.Outcome
	res.Converged = fr.Outcome == fit.Converged
	res.Message, res.belowJump = fr.Message, fr.BelowJump
	if fr.Outcome == fit.DSpikeJump && early {
		res.Message += earlyDSpikeNote(setup)
	}
	if v := sm.Steady().V[setup.Protocol.Synapse]; fr.Outcome == fit.Unreachable && atReversal(v, setup.Constants, base) {
		res.Message += fmt.Sprintf("; the synapse sits at %.4g mV, its receptors' reversal potential: with no driving force no g makes a PSP (hold it elsewhere)", v/1e-3)
	}
	res.PSPAtFitMV = math.Copysign(fr.PSP, ran[fr.G].psp) / 1e-3
	var g []float64
	for _, r := range scaled(base, fr.G) {
		g = append(g, r.G/1e-9)
	}
	switch {
	case res.Converged:
		res.GFitNS, res.GEffNS, res.GPeakNS = g, effectiveNS(scaled(base, fr.G)), peakNS(scaled(base, fr.G))
	case fr.Evaluations > 0 && fr.G > 0:
		res.GBestNS = g
	default:
		// Nothing was simulated (the first run failed): no g was tried,
		// and no PSP is known.
		res.PSPAtFitMV = 0
	}
	// The most a calibration can reach means something only when the
	// target is above it.
	if (fr.Outcome == fit.Unreachable || fr.Outcome == fit.DSpikeJump) && fr.Reachable > 0 {
		res.ReachableMV = ptr(fr.Reachable / 1e-3)
	}
	if res.Converged && !opt.NoFine {
		if res.PSPFineDtMV, err = fineDtPSP(ctx, setup, scaled(base, fr.G)); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// evaluated is what a fit's run at a g (and time constants) left: its PSP
// with the sign the fit, which sees |PSP|, drops, and whether it peaks at
// the window's last sample.
// earlyDSpikeNote tells, after a dSpike jump, that a dSpike fired before
// the presynaptic spike: no synapse acts then, so the jump is the start
// state's, the same at every g (a trial's IPSPs, held above the
// threshold, ended "dspike_jump" as if inhibition fired it).
func earlyDSpikeNote(setup *sim.Setup) string {
	if p := setup.Protocol; p.Hold {
		return fmt.Sprintf("; a dSpike fires before the presynaptic spike, with no synaptic input: holding %s at %.4g mV puts a dendrite above its dSpike threshold, so every g's PSP measures that dSpike, not the synapse (hold lower)",
			setup.Cell.Compartments[p.Record].Name, p.Holding/1e-3)
	}
	return "; a dSpike fires before the presynaptic spike, with no synaptic input: at rest a dendrite is above its dSpike threshold, so every g's PSP measures that dSpike, not the synapse (check the dSpike thresholds and the rest potentials)"
}

// firesEarly says whether a dSpike of r fired before the presynaptic
// spike, where no synapse acts.
func firesEarly(r *sim.Result) bool {
	return slices.ContainsFunc(r.DSpikeEvents, func(e sim.DSpikeEvent) bool { return e.Step < r.SpikeStep })
}

type evaluated struct {
	psp   float64
	atEnd bool
}

// fineDtPSP is the PSP (signed) in mV with dt/10 and the same method, or
// nil when that run fails. Its run is ten times the fit's, so it stops,
// with ctx's error, on cancellation.
func fineDtPSP(ctx context.Context, setup *sim.Setup, rs []sim.Receptor) (*float64, error) {
	fine := *setup
	fine.Protocol.Dt = setup.Protocol.Dt / 10
	sm, err := sim.New(&fine, 1)
	if err != nil {
		return nil, nil
	}
	out := make([]sim.Result, 1)
	if err := sm.Run(ctx, [][]sim.Receptor{rs}, &sim.Options{RecordOnly: true}, out); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, nil
	}
	return ptr(out[0].PSP / 1e-3), nil
}

// withKinetics returns the receptors at conductance g with the first
// receptor's time constants set to tau (t_decay[, t_rise]).
func withKinetics(base []sim.Receptor, g float64, tau []float64) []sim.Receptor {
	rs := scaled(base, g)
	rs[0].TauDecay = tau[0]
	if len(tau) > 1 {
		rs[0].TauRise = tau[1]
	}
	return rs
}

// fitKinetics fits g together with the first receptor's t_decay (and
// t_rise when it has one) to the pathway's kinetics targets.
func fitKinetics(ctx context.Context, s *spec.Spec, i int, setup *sim.Setup, base []sim.Receptor, sm *sim.Simulator, res *FitResult, opt *FitOptions) (*FitResult, error) {
	p := s.Pathways[i]
	tau0 := []float64{base[0].TauDecay}
	if base[0].TauRise > 0 {
		tau0 = append(tau0, base[0].TauRise)
	}
	out := make([]sim.Result, 1)
	ropt := &sim.Options{RecordOnly: true}
	// What each run left, by g and time constants.
	type params struct{ g, tDecay, tRise float64 }
	key := func(g float64, tau []float64) params {
		k := params{g: g, tDecay: tau[0]}
		if len(tau) > 1 {
			k.tRise = tau[1]
		}
		return k
	}
	ran := map[params]evaluated{}
	early := false // a dSpike fired before the presynaptic spike
	eval := func(ctx context.Context, g float64, tau []float64) (fit.Metrics, error) {
		rs := withKinetics(base, g, tau)
		if err := sm.Run(ctx, [][]sim.Receptor{rs}, ropt, out); err != nil {
			return fit.Metrics{}, err
		}
		r := &out[0]
		ran[key(g, tau)] = evaluated{psp: r.PSP, atEnd: r.PeakAtEnd()}
		early = early || firesEarly(r)
		pr := newPathwayResult(s, i, setup, rs, sm.Steady(), r)
		res.points = append(res.points, PointOf(fmt.Sprintf("fit/p%04d/e%04d", i, len(res.points)), pr))
		return fit.Metrics{PSP: math.Abs(r.PSP), Rise1090: r.Rise1090, HasRise: r.HasRise, HalfWidth: r.HalfWidth,
			HasHalfWidth: r.HasHalfWidth, TimeToPeak: r.TimeToPeak, DSpike: r.DSpikeFired}, nil
	}
	kr, err := fit.Kinetics(ctx, fit.KineticsProblem{Eval: eval, Target: p.TargetPSP, G0: base[0].G,
		GMin: s.Fit.GMin, GMax: s.Fit.GMax, RTol: s.Fit.RTol, Tau0: tau0, TauMin: tauMin(setup.Protocol), TauMax: tauMax(setup.Protocol, tau0),
		TargetRise: p.TargetRise, TargetHalfWidth: p.TargetHalfWidth, TargetTimeToPeak: p.TargetTimeToPeak,
		Jumps: hasDSpikes(setup.Cell)})
	if err != nil {
		return nil, err
	}
	res.Evaluations = kr.Evaluations
	if kr.G > 0 {
		res.PeakAtEnd = ran[key(kr.G, kr.Tau)].atEnd
	}
	res.Outcome = kr.Outcome
	res.Converged = kr.Outcome == fit.Converged
	res.Message = kr.Message
	if kr.Outcome == fit.DSpikeJump && early {
		res.Message += earlyDSpikeNote(setup)
	}
	for _, r := range kr.Residuals {
		r.Target /= 1e-3
		r.Achieved /= 1e-3
		res.Residuals = append(res.Residuals, r)
	}
	if (kr.Outcome == fit.Unreachable || kr.Outcome == fit.DSpikeJump) && kr.Reachable > 0 {
		res.ReachableMV = ptr(kr.Reachable / 1e-3)
	}
	if !res.Converged {
		// A search stopped at its limit, or whose best misses a target,
		// still has a best candidate.
		if kr.G > 0 {
			for _, r := range withKinetics(base, kr.G, kr.Tau) {
				res.GBestNS = append(res.GBestNS, r.G/1e-9)
			}
			res.PSPAtFitMV = math.Copysign(kr.Metrics.PSP, ran[key(kr.G, kr.Tau)].psp) / 1e-3
			// Its time constants go with its g, for whatever draws it.
			res.TDecayMS = ptr(kr.Tau[0] / 1e-3)
			if len(kr.Tau) > 1 {
				res.TRiseMS = ptr(kr.Tau[1] / 1e-3)
			}
		}
		return res, nil
	}
	rs := withKinetics(base, kr.G, kr.Tau)
	res.PSPAtFitMV = math.Copysign(kr.Metrics.PSP, ran[key(kr.G, kr.Tau)].psp) / 1e-3
	for _, r := range rs {
		res.GFitNS = append(res.GFitNS, r.G/1e-9)
	}
	res.GEffNS, res.GPeakNS = effectiveNS(rs), peakNS(rs)
	res.TDecayMS = ptr(kr.Tau[0] / 1e-3)
	if len(kr.Tau) > 1 {
		res.TRiseMS = ptr(kr.Tau[1] / 1e-3)
	}
	if !opt.NoFine {
		var err error
		if res.PSPFineDtMV, err = fineDtPSP(ctx, setup, rs); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// atReversal reports whether v is the reversal potential of every receptor
// of rs, to 1 uV: a synapse held there drives no current.
func atReversal(v float64, c sim.Constants, rs []sim.Receptor) bool {
	for _, r := range rs {
		if math.Abs(v-c.Reversal(r.Channel)) > 1e-6 {
			return false
		}
	}
	return len(rs) > 0
}

// tauMin is the least time constant a kinetics fit tries under protocol
// p: dt. Under euler and rk4 the step of a gating variable with a shorter
// one overshoots zero and oscillates; under exponential_euler, which
// integrates each decay exactly, the membrane's step holds the gating of
// the step's start, so a conductance shorter than a step delivers the
// same charge whatever its time constant: a fit there lands anywhere on
// a flat stretch (a user's trial: a t_decay of dt/37, called converged).
// A receptor's rise is the same.
func tauMin(p sim.Protocol) float64 { return p.Dt }

// tauMax is the longest time constant a kinetics fit tries: a hundred
// times the window (a conductance that slow is a step within it, and its
// PSP tells no longer ones apart), or 30 times the spec's, if more.
func tauMax(p sim.Protocol, tau0 []float64) float64 {
	return max(100*p.Duration, 30*slices.Max(tau0))
}

// hasDSpikes reports whether the cell can jump.
func hasDSpikes(c *sim.Cell) bool {
	for _, cp := range c.Compartments {
		if len(cp.DSpikes) > 0 {
			return true
		}
	}
	return false
}

// effectiveNS is the conductance in the equations of each of rs, nS.
func effectiveNS(rs []sim.Receptor) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = r.EffectiveG() / 1e-9
	}
	return out
}

// peakNS is each receptor's peak conductance (sim.Receptor.PeakG) in nS.
func peakNS(rs []sim.Receptor) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = r.PeakG() / 1e-9
	}
	return out
}
