package pipeline

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/sim/spec"
)

// SimulateKey is the point key `dendfit simulate` records pathway i under.
func SimulateKey(i int) string { return "p" + strconv.Itoa(i) }

// RecordSimulate records simulated pathways as points of run runID, each
// under SimulateKey.
func RecordSimulate(ctx context.Context, d *db.DB, runID int64, res []PathwayResult) error {
	pts := make([]db.Point, len(res))
	for i := range res {
		pts[i] = PointOf(SimulateKey(res[i].Pathway), &res[i])
	}
	return d.InsertPoints(ctx, runID, pts)
}

// SimulateSettings are the settings `dendfit simulate` records to be rerun.
type SimulateSettings struct {
	Pathways []int `json:"pathways"` // nil: every pathway
}

// SweepSettings are the settings `dendfit sweep` records to be rerun: the
// shard it swept (runs recorded before they were kept here have them in
// the run's shard columns alone, and nil here).
type SweepSettings struct {
	ShardK *int `json:"shard_k"`
	ShardN *int `json:"shard_n"`
}

// NewSweepSettings returns the settings of a sweep of shard k of n.
func NewSweepSettings(k, n int) SweepSettings { return SweepSettings{ShardK: &k, ShardN: &n} }

// FitSettings are the settings `dendfit fit` records to be rerun; the
// fit's own settings (rtol, bounds) are in the spec.
type FitSettings struct {
	NoFineDt      bool  `json:"no_fine_dt"`                // no check of the fitted g at dt/10
	Pathways      []int `json:"pathways,omitempty"`        // nil: every pathway with a target
	RootBelowJump bool  `json:"root_below_jump,omitempty"` // FitOptions.RootBelowJump
}

// DecodeSettings reads the settings recorded with run into st (a
// *SimulateSettings, *SweepSettings or *FitSettings); a run that recorded
// none leaves st as it is.
func DecodeSettings(run *db.Run, st any) error {
	if len(run.Settings) == 0 {
		return nil
	}
	if err := json.Unmarshal(run.Settings, st); err != nil {
		return fmt.Errorf("settings of run %d: %w", run.ID, err)
	}
	return nil
}

// ReproduceOptions configures Reproduce. A nil *ReproduceOptions means the
// defaults.
type ReproduceOptions struct {
	Argv    []string // recorded as the new run's argv
	Workers int      // sweep and fit workers; results do not depend on it
}

// Difference is one field of one point that differs between the runs.
type Difference struct {
	Key   string `json:"point_key"`
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// Reproduction is the outcome of Reproduce.
type Reproduction struct {
	Original *db.Run `json:"-"`
	New      *db.Run `json:"-"`
	Command  string  `json:"command"` // the command rerun: simulate, sweep or fit
	Points   int     `json:"points"`  // points of the original run
	Fits     int     `json:"fits"`    // fit rows of the original run (a fit's)
	// Differences lists every point missing from one run or with a field
	// that is not bit-identical, by pathway, then point key; then those of
	// the fit rows, keyed fit/pNNNN.
	Differences    []Difference `json:"differences"`
	VersionDiffers bool         `json:"version_differs"` // dendfit version, VCS revision or modified flag
	// NotCompared counts the points of a sweep, or the evaluations of a
	// fit, the original never recorded (it was cancelled, failed or
	// interrupted): the rerun makes them, but there is nothing to compare
	// them with.
	NotCompared int `json:"not_compared"`
	// FitsNotCompared counts the fit rows of a fit's pathways the
	// original never finished.
	FitsNotCompared int `json:"fits_not_compared"`
}

// Identical reports whether every point is bit-identical.
func (r *Reproduction) Identical() bool { return len(r.Differences) == 0 }

// RanCommand returns the command whose work run did: its own, or for a
// reproduction that of the run at the start of its chain of reproductions
// (a reproduction of a sweep holds a sweep's grid, and one of a fit its
// fits). Another tool may delete a run, which leaves the link of its
// reproductions NULL: such a chain is read from the reproduction itself,
// the command it names in its settings ("reran") or, for one recorded
// before they named it, what it recorded.
func RanCommand(ctx context.Context, d *db.DB, run *db.Run) (string, error) {
	base := run
	for base.Command == db.CommandReproduce {
		// A run reproduces an older one: the chain ends, whatever the
		// database says.
		if base.ReproducesRunID == nil || *base.ReproducesRunID >= base.ID {
			return reranCommand(ctx, d, base)
		}
		next, err := d.Run(ctx, *base.ReproducesRunID)
		if errors.Is(err, db.ErrNotFound) {
			return reranCommand(ctx, d, base)
		}
		if err != nil {
			return "", err
		}
		base = next
	}
	return base.Command, nil
}

// reranSettings are what Reproduce adds to the settings it copies from the
// run it reruns.
type reranSettings struct {
	Reran   string `json:"reran"`         // the command rerun
	Partial bool   `json:"reran_partial"` // a sweep that did not finish: a part of its grid
}

// ReranPartial reports whether run is a reproduction of a sweep that did
// not finish (or of such a reproduction), which reran the points it
// recorded: a part of the grid.
func ReranPartial(run *db.Run) bool {
	var st reranSettings
	return run.Command == db.CommandReproduce && DecodeSettings(run, &st) == nil && st.Partial
}

// reranCommand is what reproduction run reran, from the run alone.
func reranCommand(ctx context.Context, d *db.DB, run *db.Run) (string, error) {
	var st reranSettings
	if err := DecodeSettings(run, &st); err == nil {
		switch st.Reran {
		case db.CommandSimulate, db.CommandSweep, db.CommandFit:
			return st.Reran, nil
		}
	}
	c, err := d.Contents(ctx, run.ID)
	if err != nil {
		return "", err
	}
	switch {
	case c.Fits > 0:
		return db.CommandFit, nil
	case c.Blocks > 0:
		return db.CommandSweep, nil
	case c.Rows > 0:
		return db.CommandSimulate, nil
	}
	return "", fmt.Errorf("run %d reproduces a deleted run and recorded nothing: what it reran is unknown", run.ID)
}

// Reproduce reruns recorded run runID (a simulate, sweep or fit run, or a
// reproduction of one) from the spec text stored with it and its recorded
// settings, records the new run as a reproduction (command reproduce,
// reproduces_run_id set) and compares every point bit for bit by point key.
func Reproduce(ctx context.Context, d *db.DB, runID int64, opt *ReproduceOptions) (*Reproduction, error) {
	if opt == nil {
		opt = &ReproduceOptions{}
	}
	orig, err := d.Run(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("reproduce: %w", err)
	}
	// Compared with a run still being recorded, the points it records
	// meanwhile would read as differences. (Where claims are not known,
	// a killed run reads as running too: it is not refused.)
	if orig.Status == db.StatusRunning && db.ClaimsKnown() {
		return nil, fmt.Errorf("reproduce: run %d is still being recorded by another command: reproduce it once that has ended", orig.ID)
	}
	// A reproduction reruns what its original ran.
	command, err := RanCommand(ctx, d, orig)
	if err != nil {
		return nil, fmt.Errorf("reproduce: %w", err)
	}
	switch command {
	case db.CommandSimulate, db.CommandSweep, db.CommandFit:
	default:
		return nil, fmt.Errorf("reproduce: run %d: cannot rerun command %q (want simulate, sweep or fit)", orig.ID, command)
	}
	exp, err := d.Experiment(ctx, orig.ExperimentID)
	if err != nil {
		return nil, fmt.Errorf("reproduce: %w", err)
	}
	if err := exp.CheckText(); err != nil {
		return nil, fmt.Errorf("reproduce: run %d: %w", orig.ID, err)
	}
	s, err := spec.ParseRecorded(fmt.Sprintf("%s (spec of run %d)", exp.Name, orig.ID), exp.SpecText)
	if err != nil {
		return nil, fmt.Errorf("reproduce: stored spec: %w", err)
	}
	var settings any
	if len(orig.Settings) > 0 {
		// The settings to rerun with, without the sessions that resumed
		// the original: they are not this run's.
		var m map[string]json.RawMessage
		if json.Unmarshal(orig.Settings, &m) == nil {
			delete(m, "resumed")
			// What it reran, should the original be deleted.
			m["reran"], _ = json.Marshal(command)
			// A sweep that did not finish is rerun where it recorded
			// (rerun): its reproduction holds a part of the grid too.
			if command == db.CommandSweep && orig.Status != db.StatusDone {
				m["reran_partial"] = json.RawMessage("true")
			}
			settings = m
		} else {
			settings = orig.Settings
		}
	}
	run, err := StartRun(ctx, d, s, RunInfo{
		Command: db.CommandReproduce, Argv: opt.Argv, Settings: settings,
		Workers: opt.Workers, ShardK: orig.ShardK, ShardN: orig.ShardN, Reproduces: &orig.ID,
	})
	if err != nil {
		return nil, fmt.Errorf("reproduce: %w", err)
	}
	err = rerun(ctx, d, s, command, orig, run.ID, opt)
	if ferr := run.Finish(err); err == nil {
		err = ferr
	}
	if err != nil {
		return nil, fmt.Errorf("reproduce run %d: %w", orig.ID, err)
	}
	newRun, err := d.Run(ctx, run.ID)
	if err != nil {
		return nil, fmt.Errorf("reproduce: %w", err)
	}
	// An unfinished sweep recorded part of its grid, an unfinished fit the
	// pathways it finished; the rest is not a difference.
	partial := (command == db.CommandSweep || command == db.CommandFit) && orig.Status != db.StatusDone
	n, diffs, extra, err := compareRuns(ctx, d, orig.ID, run.ID, partial)
	if err != nil {
		return nil, fmt.Errorf("reproduce: %w", err)
	}
	nFits, fitsExtra := 0, 0
	if command == db.CommandFit {
		var fd []Difference
		nFits, fd, fitsExtra, err = compareFits(ctx, d, orig.ID, run.ID, partial)
		if err != nil {
			return nil, fmt.Errorf("reproduce: %w", err)
		}
		diffs = append(diffs, fd...)
	}
	return &Reproduction{
		Original: orig, New: newRun, Command: command, Points: n, Fits: nFits, Differences: diffs, NotCompared: extra,
		FitsNotCompared: fitsExtra,
		VersionDiffers:  orig.Version != newRun.Version || orig.VCSRevision != newRun.VCSRevision || orig.VCSModified != newRun.VCSModified,
	}, nil
}

// compareRuns compares the points of runs oldID and newID as
// ComparePoints does, reading both in step (by pathway, then point key)
// rather than holding them: a sweep of a million points and its rerun
// would otherwise take gigabytes. It returns the number of points of the
// old run. With oldPartial, a point of the new run the old one lacks is
// counted (extra), not a difference.
func compareRuns(ctx context.Context, d *db.DB, oldID, newID int64, oldPartial bool) (n int, diffs []Difference, extra int, err error) {
	var errs [2]error
	pull := func(i int, runID int64) (func() (*db.Point, bool), func()) {
		return iter.Pull(func(yield func(*db.Point) bool) {
			errs[i] = d.EachPoint(ctx, db.PointFilter{RunID: runID}, func(p *db.Point) error {
				if !yield(p) {
					return errStopped
				}
				return nil
			})
		})
	}
	nextOld, stopOld := pull(0, oldID)
	defer stopOld()
	nextNew, stopNew := pull(1, newID)
	defer stopNew()
	countOld := func() (*db.Point, bool) {
		p, ok := nextOld()
		if ok {
			n++
		}
		return p, ok
	}
	diffs, extra = compareOrdered(countOld, nextNew, pointOrder, pointItem, oldPartial)
	for _, err := range errs {
		if err != nil && !errors.Is(err, errStopped) {
			return 0, nil, 0, err
		}
	}
	return n, diffs, extra, nil
}

// compareFits compares the fit rows of runs oldID and newID pathway by
// pathway, bit for bit (the fitted g, the PSPs at dt and dt/10, the
// kinetics, evaluations, outcome, message and residuals), and returns the
// number of the old run's rows and the differences, keyed fit/pNNNN.
// With oldPartial (a fit stopped part way), a row only the new run has is
// no difference but counted (extra).
func compareFits(ctx context.Context, d *db.DB, oldID, newID int64, oldPartial bool) (int, []Difference, int, error) {
	read := func(id int64) ([]db.Fit, error) {
		fs, err := d.Fits(ctx, db.FitFilter{RunID: id})
		slices.SortFunc(fs, func(a, b db.Fit) int { return cmp.Compare(a.Pathway, b.Pathway) })
		return fs, err
	}
	old, err := read(oldID)
	if err != nil {
		return 0, nil, 0, err
	}
	nw, err := read(newID)
	if err != nil {
		return 0, nil, 0, err
	}
	out, extra := compareOrdered(pull(old), pull(nw), func(a, b *db.Fit) int { return cmp.Compare(a.Pathway, b.Pathway) },
		fitItem, oldPartial)
	return len(old), out, extra, nil
}

// diffFit compares every recorded field of two fit rows but the ids.
func diffFit(key string, o, n *db.Fit) []Difference {
	d := differ{key: key}
	add := d.add
	add("pre", o.Pre, n.Pre)
	add("post", o.Post, n.Post)
	add("compartment", o.Compartment, n.Compartment)
	add("record", o.Record, n.Record)
	add("tag", o.Tag, n.Tag)
	add("receptors", o.Receptors, n.Receptors)
	add("target_psp_mV", o.TargetPSPMV, n.TargetPSPMV)
	add("g_fit_nS", o.GFitNS, n.GFitNS)
	add("t_decay_ms", o.TDecayMS, n.TDecayMS)
	add("t_rise_ms", o.TRiseMS, n.TRiseMS)
	add("psp_at_fit_mV", o.PSPAtFitMV, n.PSPAtFitMV)
	add("psp_fine_dt_mV", o.PSPFineDtMV, n.PSPFineDtMV)
	add("evaluations", o.Evaluations, n.Evaluations)
	add("converged", o.Converged, n.Converged)
	add("outcome", o.Outcome, n.Outcome)
	add("message", o.Message, n.Message)
	add("residuals", string(o.Residuals), string(n.Residuals))
	return d.out
}

// fitKey is how a reproduction names a fit row: fit/pNNNN.
func fitKey(f *db.Fit) string { return fmt.Sprintf("fit/p%04d", f.Pathway) }

// fitItem is how compareOrdered reports fit rows.
var fitItem = item[*db.Fit]{
	kind: "fit",
	key:  fitKey,
	diff: func(o, n *db.Fit) []Difference { return diffFit(fitKey(o), o, n) },
}

// errStopped ends a point listing its reader left early.
var errStopped = errors.New("stopped")

// rerun runs command on s as recorded in orig and records its points (and
// fits) under runID.
func rerun(ctx context.Context, d *db.DB, s *spec.Spec, command string, orig *db.Run, runID int64, opt *ReproduceOptions) error {
	switch command {
	case db.CommandSimulate:
		var st SimulateSettings
		if err := DecodeSettings(orig, &st); err != nil {
			return err
		}
		// As simulate ran it: a pathway that failed is a failed point.
		res, err := Simulate(ctx, s, &SimulateOptions{Pathways: st.Pathways, KeepGoing: true})
		if err != nil {
			return err
		}
		return RecordSimulate(ctx, d, runID, res)
	case db.CommandSweep:
		var st SweepSettings
		if err := DecodeSettings(orig, &st); err != nil {
			return err
		}
		k, n := orig.ShardK, orig.ShardN
		if st.ShardK != nil && st.ShardN != nil {
			k, n = *st.ShardK, *st.ShardN
		}
		// What a sweep that did not finish recorded is all there is to
		// compare: the rest of its grid is not rerun. A reproduction
		// holds what it reran, so one of such a sweep is read too.
		var only *db.Recorded
		if orig.Status != db.StatusDone || orig.Command == db.CommandReproduce {
			var err error
			if only, err = d.RecordedPoints(ctx, orig.ID); err != nil {
				return err
			}
		}
		_, err := Sweep(ctx, s, d, runID, &SweepOptions{Workers: opt.Workers, ShardK: k, ShardN: n, Only: only})
		return err
	case db.CommandFit:
		var st FitSettings
		if err := DecodeSettings(orig, &st); err != nil {
			return err
		}
		pathways := st.Pathways
		// A fit that did not finish recorded the pathways it fitted (each
		// alone, as a whole fit fits it): those are rerun, not the rest,
		// which it never recorded (a trial's reproduce of a fit of one
		// pathway fitted eleven, 28-44 s). So are a reproduction's.
		if orig.Status != db.StatusDone || orig.Command == db.CommandReproduce {
			fits, err := d.Fits(ctx, db.FitFilter{RunID: orig.ID})
			if err != nil {
				return err
			}
			pathways = nil
			for _, f := range fits {
				if !slices.Contains(pathways, f.Pathway) {
					pathways = append(pathways, f.Pathway)
				}
			}
			if len(pathways) == 0 {
				return nil // nothing recorded: nothing to compare
			}
			slices.Sort(pathways)
		}
		// As fit does: each pathway is recorded as it is fitted.
		_, err := Fit(ctx, s, &FitOptions{Workers: opt.Workers, NoFine: st.NoFineDt, Pathways: pathways, RootBelowJump: st.RootBelowJump,
			Finished: RecordEach(ctx, d, runID)})
		return err
	}
	return fmt.Errorf("reproduce: cannot rerun command %q", command)
}

// ComparePoints compares two runs' points by point key, bit for bit, and
// returns every difference by pathway, then point key, as Reproduce
// does: a point only in one run, or a field that differs (floats compare
// by their bits).
func ComparePoints(old, new []db.Point) []Difference {
	sorted := func(ps []db.Point) func() (*db.Point, bool) {
		ps = slices.Clone(ps)
		slices.SortStableFunc(ps, func(a, b db.Point) int { return pointOrder(&a, &b) })
		return pull(ps)
	}
	diffs, _ := compareOrdered(sorted(old), sorted(new), pointOrder, pointItem, false)
	return diffs
}

// pull returns a function that gives s's elements in order, then false.
func pull[T any](s []T) func() (*T, bool) {
	i := 0
	return func() (*T, bool) {
		if i == len(s) {
			return nil, false
		}
		i++
		return &s[i-1], true
	}
}

// pointOrder is the order reproductions compare points in, and list
// their differences: by pathway, then point key (the database reads
// points so).
func pointOrder(a, b *db.Point) int {
	if a.Pathway != b.Pathway {
		return cmp.Compare(a.Pathway, b.Pathway)
	}
	return strings.Compare(a.PointKey, b.PointKey)
}

// item says how compareOrdered reports one kind of record: its name in a
// Difference ("point", "fit"), its key, and the differences of two
// records order puts level.
type item[T any] struct {
	kind string
	key  func(T) string
	diff func(o, n T) []Difference
}

// pointItem is how compareOrdered reports points.
var pointItem = item[*db.Point]{
	kind: "point",
	key:  func(p *db.Point) string { return p.PointKey },
	diff: func(o, n *db.Point) []Difference {
		if identical(o, n) {
			return nil
		}
		return diffPoint(o.PointKey, o, n)
	},
}

// compareOrdered compares two lists of records that next gives in the
// order of order, matching records that order puts level. With
// oldPartial, a record only the new list has is counted (extra), not a
// difference.
func compareOrdered[T any](nextOld, nextNew func() (T, bool), order func(a, b T) int, it item[T], oldPartial bool) (out []Difference, extra int) {
	o, okO := nextOld()
	n, okN := nextNew()
	for okO || okN {
		c := 0
		switch {
		case !okN:
			c = -1
		case !okO:
			c = 1
		default:
			c = order(o, n)
		}
		switch {
		case c < 0:
			out = append(out, Difference{it.key(o), it.kind, "recorded", "missing"})
			o, okO = nextOld()
		case c > 0 && oldPartial:
			extra++
			n, okN = nextNew()
		case c > 0:
			out = append(out, Difference{it.key(n), it.kind, "missing", "recorded"})
			n, okN = nextNew()
		default:
			out = append(out, it.diff(o, n)...)
			o, okO = nextOld()
			n, okN = nextNew()
		}
	}
	return out, extra
}

// identical says whether diffPoint would find nothing, without its
// reflection: a reproduction's points are nearly all identical, and
// diffPoint was a third of comparing a million of them.
func identical(o, n *db.Point) bool {
	bits := func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }
	opt := func(a, b *float64) bool { return a == nil && b == nil || a != nil && b != nil && bits(*a, *b) }
	if o.Pathway != n.Pathway || o.Pre != n.Pre || o.Post != n.Post || o.Compartment != n.Compartment ||
		o.Record != n.Record || o.Tag != n.Tag || !bits(o.GNS, n.GNS) || !bits(o.TDecayMS, n.TDecayMS) ||
		!opt(o.TRiseMS, n.TRiseMS) || !bits(o.PSPMV, n.PSPMV) || !bits(o.BaselineMV, n.BaselineMV) ||
		!bits(o.TimeToPeakMS, n.TimeToPeakMS) || !opt(o.Rise1090MS, n.Rise1090MS) || !opt(o.HalfWidthMS, n.HalfWidthMS) ||
		!opt(o.IHoldPA, n.IHoldPA) || o.DSpikeFired != n.DSpikeFired || o.Status != n.Status || o.Error != n.Error ||
		len(o.Receptors) != len(n.Receptors) || len(o.PeaksMV) != len(n.PeaksMV) {
		return false
	}
	for i, r := range o.Receptors {
		q := n.Receptors[i]
		if r.Channel != q.Channel || !bits(r.GNS, q.GNS) || !bits(r.TDecayMS, q.TDecayMS) || !opt(r.TRiseMS, q.TRiseMS) {
			return false
		}
	}
	for c, v := range o.PeaksMV {
		w, ok := n.PeaksMV[c]
		if !ok || !bits(v, w) {
			return false
		}
	}
	return true
}

// diffPoint compares every recorded field of two points except the ids.
func diffPoint(key string, o, n *db.Point) []Difference {
	d := differ{key: key}
	add := d.add
	add("pathway", o.Pathway, n.Pathway)
	add("pre", o.Pre, n.Pre)
	add("post", o.Post, n.Post)
	add("compartment", o.Compartment, n.Compartment)
	add("record", o.Record, n.Record)
	add("tag", o.Tag, n.Tag)
	add("g_nS", o.GNS, n.GNS)
	add("t_decay_ms", o.TDecayMS, n.TDecayMS)
	add("t_rise_ms", o.TRiseMS, n.TRiseMS)
	add("receptors", o.Receptors, n.Receptors)
	add("psp_mV", o.PSPMV, n.PSPMV)
	add("baseline_mV", o.BaselineMV, n.BaselineMV)
	add("time_to_peak_ms", o.TimeToPeakMS, n.TimeToPeakMS)
	add("rise_10_90_ms", o.Rise1090MS, n.Rise1090MS)
	add("half_width_ms", o.HalfWidthMS, n.HalfWidthMS)
	add("peaks_mV", o.PeaksMV, n.PeaksMV)
	add("i_hold_pA", o.IHoldPA, n.IHoldPA)
	add("dspike_fired", o.DSpikeFired, n.DSpikeFired)
	add("status", o.Status, n.Status)
	add("error", o.Error, n.Error)
	return d.out
}

// differ gathers the fields of one record that differ between two runs.
type differ struct {
	key string
	out []Difference
}

// add notes field when a and b are not the same (see same).
func (d *differ) add(field string, a, b any) {
	if !same(a, b) {
		d.out = append(d.out, Difference{d.key, field, show(a), show(b)})
	}
}

// same compares values with floats by their bits (so NaN equals NaN and
// 0 differs from -0), through pointers, slices and maps.
func same(a, b any) bool {
	return sameValue(reflect.ValueOf(a), reflect.ValueOf(b))
}

func sameValue(a, b reflect.Value) bool {
	if a.Kind() != b.Kind() {
		return false
	}
	switch a.Kind() {
	case reflect.Float64, reflect.Float32:
		return math.Float64bits(a.Float()) == math.Float64bits(b.Float())
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameValue(a.Elem(), b.Elem())
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		for i := 0; i < a.Len(); i++ {
			if !sameValue(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		for _, k := range a.MapKeys() {
			bv := b.MapIndex(k)
			if !bv.IsValid() || !sameValue(a.MapIndex(k), bv) {
				return false
			}
		}
		return true
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if !sameValue(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	}
	return a.Interface() == b.Interface()
}

// show formats a value for a difference report, floats round-trip exact.
func show(v any) string {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return "null"
		}
		v = rv.Elem().Interface()
	}
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
