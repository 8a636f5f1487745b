package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/sim"
	"github.com/dendfit/dendfit/sim/spec"
)

// FittedReceptors returns a copy of a pathway's receptors rs (as its spec
// gives them) with what fit f recorded put in: every receptor's g and,
// after a kinetics fit, the first receptor's t_decay and t_rise. Exports,
// plots and reports all simulate or write the fitted pathway through it,
// so that none of them keeps the spec's kinetics beside a fitted g. A nil
// fit, or one that recorded no conductances, leaves rs as it is.
func FittedReceptors(rs []sim.Receptor, f *db.Fit) ([]sim.Receptor, error) {
	out := slices.Clone(rs)
	if f == nil || len(f.GFitNS) == 0 {
		return out, nil
	}
	if len(f.GFitNS) != len(rs) {
		return nil, fmt.Errorf("fit of pathway %d has %d conductances, want one per receptor (%d)", f.Pathway, len(f.GFitNS), len(rs))
	}
	for j := range out {
		out[j].G = f.GFitNS[j] * 1e-9
	}
	if f.TDecayMS != nil {
		out[0].TauDecay = *f.TDecayMS * 1e-3
	}
	if f.TRiseMS != nil {
		if rs[0].TauRise == 0 {
			return nil, fmt.Errorf("fit of pathway %d has a t_rise, but its first receptor rises instantly", f.Pathway)
		}
		out[0].TauRise = *f.TRiseMS * 1e-3
	}
	return out, nil
}

// SameModel says whether pathway i of a and pathway j of b are one model
// up to the scale of their conductances: the same name (pre, post,
// receptors), cell, constants their receptors read and protocol (method, dt, window, synapse
// and recording site, holding), and the same receptors and kinetics with
// conductances in the same ratios. A fit or sweep recorded for one then
// holds for the other, whatever else their specs change (targets, grids,
// fit settings, other pathways, the spec g that a fit replaces); a
// figure that applied a fit of another cell would show numbers no model
// gives.
func SameModel(a *spec.Spec, i int, b *spec.Spec, j int) bool {
	if i < 0 || i >= len(a.Pathways) || j < 0 || j >= len(b.Pathways) || a.Pathways[i].Label() != b.Pathways[j].Label() {
		return false
	}
	sa, ra, err := a.Setup(i)
	if err != nil {
		return false
	}
	sb, rb, err := b.Setup(j)
	if err != nil {
		return false
	}
	// Only the constants its receptors read: an edit of E_GABA holds
	// for an AMPA pathway's fit (a trial's AMPA fits were dropped so).
	ca, cb := *sa, *sb
	ca.Constants, cb.Constants = sa.Constants.Used(ra), sb.Constants.Used(rb)
	return reflect.DeepEqual(ca, cb) && sameReceptors(ra, rb)
}

// sameReceptors says whether two pathways' receptors are the same but for
// the scale of their g: the same kinetics and channels, and the same
// ratios of g, which a fit keeps.
func sameReceptors(ra, rb []sim.Receptor) bool {
	if len(ra) != len(rb) {
		return false
	}
	for k := range ra {
		x, y := ra[k], rb[k]
		// The same ratio, to rounding: an exported spec's g (g x the
		// fit's factor) divides back to its ratio within an ulp or two.
		if gx, gy := x.G*rb[0].G, y.G*ra[0].G; math.Abs(gx-gy) > 1e-12*max(math.Abs(gx), math.Abs(gy)) {
			return false
		}
		x.G, y.G = 0, 0
		if x != y {
			return false
		}
	}
	return true
}

// FitReader is what FitsFor and RunSpec read. *db.DB implements it.
type FitReader interface {
	Experiments(ctx context.Context) ([]db.Experiment, error)
	Runs(ctx context.Context, f db.RunFilter) ([]db.Run, error)
	Fits(ctx context.Context, f db.FitFilter) ([]db.Fit, error)
}

// RunSpec parses the spec text that run r recorded.
func RunSpec(ctx context.Context, rd FitReader, r *db.Run) (*spec.Spec, error) {
	exps, err := rd.Experiments(ctx)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(exps, func(e db.Experiment) bool { return e.ID == r.ExperimentID })
	if i < 0 {
		return nil, fmt.Errorf("run %d: experiment %d not recorded", r.ID, r.ExperimentID)
	}
	return parseRunSpec(&exps[i], r)
}

// parseRunSpec parses experiment e's spec text as run r's.
func parseRunSpec(e *db.Experiment, r *db.Run) (*spec.Spec, error) {
	if err := e.CheckText(); err != nil {
		return nil, fmt.Errorf("spec of run %d: %w", r.ID, err)
	}
	s, err := spec.ParseRecorded(fmt.Sprintf("%s (run %d)", e.Name, r.ID), e.SpecText)
	if err != nil {
		return nil, fmt.Errorf("spec of run %d: %w", r.ID, err)
	}
	return s, nil
}

// AppliedFit is a recorded fit of one pathway that holds for a spec, with
// the run that recorded it and that run's spec.
type AppliedFit struct {
	Run  *db.Run
	Spec *spec.Spec
	// Fit is the fit as recorded, but for its Pathway: the pathway's index
	// in the spec it was found for.
	Fit db.Fit
	// RunPathway is the pathway's index in Spec, the run's own: another
	// than Fit.Pathway when pathways were inserted, removed or reordered
	// since.
	RunPathway int
}

// ErrNoFit is wrapped by NewestFitRun when an experiment has no recorded
// fit.
var ErrNoFit = errors.New("no recorded fit")

// NewestFitRun returns the newest fit run of experiment that recorded
// fits, whatever its status, and its fits in pathway order. A fit run
// records each pathway's fit whole, as soon as it is made, so the fits
// of a run stopped by Ctrl-C, a kill or a failure on another pathway are
// as sound as a finished run's: one stopped after eight of twelve
// pathways is worth what a run of those eight with --pathway is. The
// error wraps ErrNoFit if there is none.
func NewestFitRun(ctx context.Context, rd FitReader, experiment string) (*db.Run, []db.Fit, error) {
	runs, err := rd.Runs(ctx, db.RunFilter{Experiment: experiment, Command: db.CommandFit})
	if err != nil {
		return nil, nil, err
	}
	for i := range runs {
		fits, err := rd.Fits(ctx, db.FitFilter{RunID: runs[i].ID})
		if err != nil {
			return nil, nil, err
		}
		if len(fits) > 0 {
			return &runs[i], fits, nil
		}
	}
	return nil, nil, fmt.Errorf("experiment %q: %w", experiment, ErrNoFit)
}

// FitsFor returns, for each pathway of s that has one, the newest fit
// recorded by a fit run of s's experiment name, finished or not
// (NewestFitRun says why), whose spec defines the pathway as s does
// (SameModel): a spec edited since its fit (another cell, dt, synapse,
// receptor kinetics) gets none from it, and may get an older one. newest
// is the newest fit run with fits, nil if there is none, so that a caller
// can say when it was passed over.
func FitsFor(ctx context.Context, rd FitReader, s *spec.Spec) (fits map[int]AppliedFit, newest *db.Run, err error) {
	return fitsMatching(ctx, rd, s, SameModel)
}

// CalibrationsFor is FitsFor for what an export or a report hands on as
// the calibration of s: a fit counts only if it also solved the same
// problem (SameFit: the same targets and fit settings), so that no
// pathway is given a g fitted to a target its spec no longer has.
func CalibrationsFor(ctx context.Context, rd FitReader, s *spec.Spec) (map[int]AppliedFit, error) {
	fits, _, err := fitsMatching(ctx, rd, s, SameFit)
	return fits, err
}

// SameFit says whether pathway i of a and pathway j of b pose the same
// fit: the same model (SameModel), the same target PSP and kinetics
// targets, and the same fit settings (g range, rtol).
func SameFit(a *spec.Spec, i int, b *spec.Spec, j int) bool {
	if !SameModel(a, i, b, j) || a.Fit != b.Fit {
		return false
	}
	return sameTargets(a.Pathways[i], b.Pathways[j])
}

// sameTargets says whether two pathways have the same target PSP and
// kinetics targets.
func sameTargets(p, q spec.Pathway) bool {
	return p.TargetPSP == q.TargetPSP && p.TargetRise == q.TargetRise && p.TargetHalfWidth == q.TargetHalfWidth &&
		p.TargetTimeToPeak == q.TargetTimeToPeak
}

// fitsMatching is FitsFor with match deciding whether a run's fit of a
// pathway holds for s's.
func fitsMatching(ctx context.Context, rd FitReader, s *spec.Spec, match func(a *spec.Spec, i int, b *spec.Spec, j int) bool) (fits map[int]AppliedFit, newest *db.Run, err error) {
	runs, err := rd.Runs(ctx, db.RunFilter{Experiment: s.Name, Command: db.CommandFit})
	if err != nil {
		return nil, nil, err
	}
	// Runs share experiments (one per spec text): each is read once, and
	// parsed once, s's own not at all.
	var exps map[int64]db.Experiment
	parsed := map[int64]*spec.Spec{}
	specOf := func(r *db.Run) (*spec.Spec, error) {
		if p := parsed[r.ExperimentID]; p != nil {
			return p, nil
		}
		if exps == nil {
			all, err := rd.Experiments(ctx)
			if err != nil {
				return nil, err
			}
			exps = map[int64]db.Experiment{}
			for _, e := range all {
				exps[e.ID] = e
			}
		}
		e, ok := exps[r.ExperimentID]
		if !ok {
			return nil, fmt.Errorf("run %d: experiment %d not recorded", r.ID, r.ExperimentID)
		}
		p := s
		if e.SpecSHA256 != s.SHA256 {
			var err error
			if p, err = parseRunSpec(&e, r); err != nil {
				return nil, err
			}
		}
		parsed[r.ExperimentID] = p
		return p, nil
	}
	fits = map[int]AppliedFit{}
	for i := range runs {
		if len(fits) == len(s.Pathways) {
			break
		}
		rf, err := rd.Fits(ctx, db.FitFilter{RunID: runs[i].ID})
		if err != nil {
			return nil, nil, err
		}
		if len(rf) == 0 {
			continue
		}
		if newest == nil {
			newest = &runs[i]
		}
		fs, err := specOf(&runs[i])
		if err != nil {
			return nil, nil, err
		}
		for _, f := range rf {
			taken := func(k int) bool { _, ok := fits[k]; return ok }
			if k := pathwayIn(fs, f.Pathway, s, match, taken); k >= 0 {
				j := f.Pathway
				f.Pathway = k
				fits[k] = AppliedFit{Run: &runs[i], Spec: fs, Fit: f, RunPathway: j}
			}
		}
	}
	return fits, newest, nil
}

// PathwayIn returns the index in b of pathway i of a: i itself when b's
// pathway there is the same model (SameModel), else the one with the same
// tag that is, or -1. A spec edited by inserting, removing or reordering
// pathways keeps a pathway's sweeps and fits recorded under its old index.
func PathwayIn(a *spec.Spec, i int, b *spec.Spec) int {
	return pathwayIn(a, i, b, SameModel, func(int) bool { return false })
}

// pathwayIn is PathwayIn with match deciding whether pathway k of b is
// pathway i of a, passing over the pathways of b that taken says are
// taken. Matching by index alone, an edit that moved pathways lost the
// fits of every pathway after the one inserted.
func pathwayIn(a *spec.Spec, i int, b *spec.Spec, match func(b *spec.Spec, k int, a *spec.Spec, i int) bool, taken func(k int) bool) int {
	if match(b, i, a, i) {
		if taken(i) {
			return -1
		}
		return i
	}
	if i < 0 || i >= len(a.Pathways) {
		return -1
	}
	for k := range b.Pathways {
		if !taken(k) && b.Pathways[k].Tag == a.Pathways[i].Tag && match(b, k, a, i) {
			return k
		}
	}
	return -1
}

// FitRows returns the fits of fits in pathway order.
func FitRows(fits map[int]AppliedFit) []db.Fit {
	out := make([]db.Fit, 0, len(fits))
	for _, p := range slices.Sorted(maps.Keys(fits)) {
		out = append(out, fits[p].Fit)
	}
	return out
}

// WhyUnfitted says, for each pathway of s in unfitted (those no recorded
// fit holds for, CalibrationsFor), why: what changed since the newest fit
// of a pathway of the same label, or that no such pathway was fitted. A
// trial's export blamed "an edited target" where the post cell had been
// edited.
func WhyUnfitted(ctx context.Context, rd FitReader, s *spec.Spec, unfitted []int) (map[int]string, error) {
	if len(unfitted) == 0 {
		return nil, nil
	}
	sameLabel := func(a *spec.Spec, i int, b *spec.Spec, j int) bool {
		return i >= 0 && i < len(a.Pathways) && j >= 0 && j < len(b.Pathways) && a.Pathways[i].Label() == b.Pathways[j].Label()
	}
	last, _, err := fitsMatching(ctx, rd, s, sameLabel)
	if err != nil {
		return nil, err
	}
	out := map[int]string{}
	for _, i := range unfitted {
		af, ok := last[i]
		if !ok {
			out[i] = "it was never fitted"
			continue
		}
		out[i] = fmt.Sprintf("fit run %d fitted it before %s changed", af.Run.ID, fitChange(s, i, af.Spec, af.RunPathway))
	}
	return out, nil
}

// fitChange names what differs between pathway i of s and pathway j of
// fs that makes a fit of the one not hold for the other (SameFit).
func fitChange(s *spec.Spec, i int, fs *spec.Spec, j int) string {
	a, ra, err1 := s.Setup(i)
	b, rb, err2 := fs.Setup(j)
	var what []string
	switch {
	case err1 != nil || err2 != nil:
		what = append(what, "its model")
	default:
		if !reflect.DeepEqual(a.Cell, b.Cell) {
			what = append(what, "its post cell")
		}
		if a.Constants.Used(ra) != b.Constants.Used(rb) {
			what = append(what, "the constants")
		}
		pa, pb := a.Protocol, b.Protocol
		if pa.Synapse != pb.Synapse {
			what = append(what, "its compartment")
		}
		if pa.Record != pb.Record {
			what = append(what, "its record compartment")
		}
		if pa.Hold != pb.Hold || pa.Holding != pb.Holding {
			what = append(what, "its holding")
		}
		pa.Synapse, pa.Record, pa.Hold, pa.Holding = pb.Synapse, pb.Record, pb.Hold, pb.Holding
		if pa != pb {
			what = append(what, "the protocol (dt, method, duration, spike_at)")
		}
		if !sameReceptors(ra, rb) {
			what = append(what, "its receptors")
		}
	}
	if !sameTargets(s.Pathways[i], fs.Pathways[j]) {
		what = append(what, "its targets")
	}
	if s.Fit != fs.Fit {
		what = append(what, "the fit settings")
	}
	if len(what) == 0 {
		return "its definition" // SameFit holds: not reached from WhyUnfitted
	}
	return andList(what)
}

// andList joins items as "a", "a and b" or "a, b and c".
func andList(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
