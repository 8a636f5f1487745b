package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/sim/spec"
)

// Run is one recorded invocation of a command in the database.
type Run struct {
	DB *db.DB
	ID int64

	release func() // drops the claim on the run (db.ClaimRun)
	// claimErr says why the run could not be claimed (see Unclaimed).
	claimErr error
	// others are the other unfinished sweeps of the spec and shard a
	// resumed run was chosen among (see OtherUnfinished).
	others []db.Run
}

// OtherUnfinished returns, for a run ResumeRun continued, the other
// unfinished sweeps of its spec and shard that no process is sweeping:
// what --resume=ID could have continued instead.
func (r *Run) OtherUnfinished() []db.Run { return r.others }

// Unclaimed returns why the run holds no claim (db.ClaimRun), nil when it
// does: other processes then read it as interrupted while it runs.
func (r *Run) Unclaimed() error { return r.claimErr }

// RunInfo is what StartRun records besides the spec and the provenance
// that db.NewRun collects.
type RunInfo struct {
	Command        string
	Argv           []string
	Settings       any // JSON-encodable settings needed to rerun
	Workers        int
	ShardK, ShardN int
	Reproduces     *int64
}

// StartRun records the experiment (its spec text verbatim) and a new run in
// state running, claimed (db.CreateClaimedRun) from before any reader can
// see it until Finish: should the process end without finishing it, reads
// report the run as interrupted.
func StartRun(ctx context.Context, d *db.DB, s *spec.Spec, info RunInfo) (*Run, error) {
	// A file cut short (a full disk, a partial copy) is not written to.
	if err := d.CheckLength(); err != nil {
		return nil, err
	}
	eid, err := d.PutExperiment(ctx, s.Name, s.Text)
	if err != nil {
		return nil, err
	}
	r := db.NewRun(eid, info.Command, info.Argv)
	r.Workers = workersOf(info)
	r.ShardK, r.ShardN = info.ShardK, info.ShardN
	if r.ShardN == 0 {
		r.ShardN = 1
	}
	r.DtMS = s.Simulation.Dt * 1e3
	r.Method = s.Simulation.Method.String()
	r.ReproducesRunID = info.Reproduces
	if info.Settings != nil {
		b, err := json.Marshal(info.Settings)
		if err != nil {
			return nil, fmt.Errorf("run settings: %w", err)
		}
		r.Settings = b
	}
	// A sweep's claim also keeps --resume elsewhere off it: without one it
	// does not start (its run is recorded failed, saying why). For the
	// other commands the claim only tells a dead process's run from a live
	// one, and a file system without the lock (some network mounts) should
	// not stop a fit: its run reads as interrupted while it goes on.
	id, release, claimErr, err := d.CreateClaimedRun(ctx, r, info.Command == db.CommandSweep)
	if err != nil {
		return nil, err
	}
	run := &Run{DB: d, ID: id, release: release, claimErr: claimErr}
	return run, nil
}

// workersOf is the worker count a run of info uses: the one given, or for
// the commands that run workers (sweep, fit, reproduce) their default,
// every core.
func workersOf(info RunInfo) int {
	if info.Workers <= 0 && info.Command != db.CommandSimulate {
		return runtime.NumCPU()
	}
	return info.Workers
}

// Finish marks the run done, cancelled (when err is a context error) or
// failed. It uses a fresh context so that a run interrupted by Ctrl-C is
// still marked cancelled.
func (r *Run) Finish(err error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if r.release != nil {
		defer r.release()
	}
	status, msg := db.StatusDone, ""
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		status, msg = db.StatusCancelled, err.Error()
	default:
		status, msg = db.StatusFailed, err.Error()
	}
	return r.DB.FinishRun(ctx, r.ID, status, msg)
}

// PointOf turns a simulated pathway into a database point.
func PointOf(key string, pr *PathwayResult) db.Point {
	p := db.Point{
		Pathway: pr.Pathway, Pre: pr.Pre, Post: pr.Post, Compartment: pr.Compartment,
		Record: pr.Record, Tag: pr.Tag, PointKey: key,
		PSPMV: pr.PSPMV, BaselineMV: pr.BaselineMV, TimeToPeakMS: pr.TimeToPeakMS,
		Rise1090MS: pr.Rise1090MS, HalfWidthMS: pr.HalfWidthMS, PeaksMV: pr.PeaksMV,
		IHoldPA: pr.IHoldPA, DSpikeFired: pr.DSpikeFired, Status: db.PointOK,
	}
	if pr.Error != "" {
		p.Status, p.Error = db.PointFailed, pr.Error
	}
	for i, ch := range pr.Receptors {
		p.Receptors = append(p.Receptors, db.Receptor{Channel: ch, GNS: pr.GNS[i], TDecayMS: pr.TDecayMS[i], TRiseMS: pr.TRiseMS[i]})
	}
	if len(p.Receptors) > 0 {
		p.GNS, p.TDecayMS, p.TRiseMS = p.Receptors[0].GNS, p.Receptors[0].TDecayMS, p.Receptors[0].TRiseMS
	}
	return p
}

// sweeps are the sweeps of a spec's experiment that bear on a resume of
// its text and shard (sweepsOf).
type sweeps struct {
	// unfinished are the sweeps of the text and shard that did not finish
	// (cancelled, failed, interrupted, or running now), newest first:
	// what --resume can continue.
	unfinished []db.Run
	// otherText are the unfinished sweeps of the same experiment and
	// shard that read another text of its spec (an edit, even of a
	// comment, makes a new spec).
	otherText []int64
	// otherShard are the unfinished sweeps of the text and another part
	// of the grid (another --shard, or none).
	otherShard []db.Run
	// finished are the sweeps of the text and shard that finished, newest
	// first; finishedNewest says whether the first is newer than every
	// unfinished one.
	finished       []int64
	finishedNewest bool
}

// sweepsOf returns the sweeps of s's experiment that bear on resuming
// shard k of n of s's text.
func sweepsOf(ctx context.Context, d *db.DB, s *spec.Spec, k, n int) (*sweeps, error) {
	n = max(n, 1)
	runs, err := d.Runs(ctx, db.RunFilter{Experiment: s.Name, Command: db.CommandSweep})
	if err != nil {
		return nil, err
	}
	exps, err := d.Experiments(ctx)
	if err != nil {
		return nil, err
	}
	sameSpec := map[int64]bool{}
	for _, e := range exps {
		if e.SpecSHA256 == s.SHA256 {
			sameSpec[e.ID] = true
		}
	}
	sw := &sweeps{}
	for _, r := range runs { // newest first
		if r.ShardK != k || max(r.ShardN, 1) != n {
			if sameSpec[r.ExperimentID] && r.Status != db.StatusDone {
				sw.otherShard = append(sw.otherShard, r)
			}
			continue
		}
		switch {
		case sameSpec[r.ExperimentID] && r.Status != db.StatusDone:
			sw.unfinished = append(sw.unfinished, r)
		case sameSpec[r.ExperimentID]:
			if len(sw.finished) == 0 && len(sw.unfinished) == 0 {
				sw.finishedNewest = true
			}
			sw.finished = append(sw.finished, r.ID)
		case r.Status != db.StatusDone:
			sw.otherText = append(sw.otherText, r.ID)
		}
	}
	return sw, nil
}

// shardOf says which part of the grid shard k of n is, as --shard takes
// it.
func shardOf(k, n int) string {
	if n <= 1 {
		return "the whole grid"
	}
	return fmt.Sprintf("shard %d/%d", k, n)
}

// shardFlag says which --shard sweeps what r sweeps ("no --shard" for
// the whole grid).
func shardFlag(r db.Run) string {
	if r.ShardN <= 1 {
		return "no --shard"
	}
	return strings.TrimSpace(ShardArg(r.ShardK, r.ShardN))
}

// ShardArg is the argument that sweeps shard k of n, " --shard K/N" with
// its leading space, or "" for the whole grid: what a hint appends to the
// sweep command it writes out.
func ShardArg(k, n int) string {
	if n <= 1 {
		return ""
	}
	return fmt.Sprintf(" --shard %d/%d", k, n)
}

// ErrSpecChanged is wrapped by ResumeRun when the unfinished sweeps of the
// experiment (and shard) read another text of its spec: an edit, even of a
// comment, makes a new spec, and a new run would sweep it all again.
var ErrSpecChanged = errors.New("the spec changed")

// specChanged is ErrSpecChanged for the unfinished runs ids of s's
// experiment in the database at path (named in the command it gives
// unless it is the default: a SLURM task's log read in another directory
// gave a command that found no database).
func specChanged(s *spec.Spec, ids []int64, path string) error {
	dbFlag := ""
	if path != db.DefaultPath() {
		dbFlag = " --db " + path
		if strings.ContainsAny(path, " \t'\"\\$`;&|()<>*?[]{}!#~") {
			dbFlag = " --db '" + strings.ReplaceAll(path, "'", `'\''`) + "'"
		}
	}
	return fmt.Errorf("%w: %s of %s %s unfinished, but read another text of the spec (any edit, even of a comment or the description, makes a new spec): restore that text to resume it ('dendfit query spec %d%s' writes it), or sweep without --resume to start a new run", ErrSpecChanged, runsNamed(ids), s.Name, isAre(len(ids)), ids[0], dbFlag)
}

// ResumeRun continues an unfinished sweep of the same spec text and shard
// (info.ShardK of info.ShardN): run id, or with id 0 the newest that no
// other process is sweeping, unless the newest sweep of them finished. It
// returns a *SweptError when that sweep (or run id) finished; an error
// wrapping ErrBeingSwept when other processes are sweeping every unfinished
// run of it now; with nothing to continue, ErrSpecChanged when unfinished
// sweeps of another text of the spec exist, else ErrNothingToResume. A run a merge copied while it
// was swept elsewhere (db.Run.SweptElsewhere), or a merge's union of
// shards (db.IsUnionRun), is continued only as run id; with id 0 and no
// other, the error says where it is swept, or how its shards complete it
// (and is no ErrNothingToResume: a new run would sweep it all again). It claims
// and reopens the run, recording this session (info's argv and workers,
// and the provenance db.NewRun collects), and returns the points it
// already holds. It refuses a damaged database file (DB.QuickCheck).
func ResumeRun(ctx context.Context, d *db.DB, s *spec.Spec, info RunInfo, id int64) (*Run, *db.Recorded, error) {
	// A run stopped by a crash, a full disk or a cut copy may sit in a
	// damaged file: writing more into it would bury what can be saved.
	if err := d.QuickCheck(ctx); err != nil {
		return nil, nil, err
	}
	sw, err := sweepsOf(ctx, d, s, info.ShardK, info.ShardN)
	if err != nil {
		return nil, nil, err
	}
	all, otherText, otherShard := sw.unfinished, sw.otherText, sw.otherShard
	runs := all
	switch {
	case id != 0 && slices.Contains(sw.finished, id):
		// A run of this text and shard that finished has nothing left.
		return nil, nil, &SweptError{Run: id, Unfinished: runIDs(all)}
	case id == 0 && sw.finishedNewest:
		// The newest sweep of this text and shard finished: what ran
		// before it is not what a requeued task would continue (the
		// README's rule), though it can be named.
		return nil, nil, &SweptError{Run: sw.finished[0], Unfinished: runIDs(all)}
	}
	if id != 0 {
		i := slices.IndexFunc(runs, func(r db.Run) bool { return r.ID == id })
		if i < 0 && slices.Contains(otherText, id) {
			return nil, nil, specChanged(s, []int64{id}, d.Path())
		}
		if i < 0 {
			var ids []int64
			for _, r := range runs {
				ids = append(ids, r.ID)
			}
			others := "there is none"
			if len(ids) > 0 {
				others = "those are " + runsNamed(ids)
			}
			// A run that is not there at all is said so: a mistyped id.
			r, err := d.Run(ctx, id)
			if errors.Is(err, db.ErrNotFound) {
				return nil, nil, fmt.Errorf("there is no run %d in %s ('dendfit query runs' lists them); the unfinished sweeps of this spec and shard: %s", id, d.Path(), strings.TrimPrefix(others, "those are "))
			}
			// Nor a run of another command: it is no sweep at all.
			if err == nil && r.Command != db.CommandSweep {
				return nil, nil, fmt.Errorf("run %d is a %s run, not a sweep; the unfinished sweeps of this spec and shard: %s", id, r.Command, strings.TrimPrefix(others, "those are "))
			}
			// Nor one of this spec's sweeps of another part of the grid.
			if j := slices.IndexFunc(otherShard, func(r db.Run) bool { return r.ID == id }); j >= 0 {
				o := otherShard[j]
				if o.Status == db.StatusRunning {
					return nil, nil, fmt.Errorf("run %d sweeps %s of this spec, and this command %s; another process is sweeping it now", id, shardOf(o.ShardK, o.ShardN), shardOf(info.ShardK, info.ShardN))
				}
				return nil, nil, fmt.Errorf("run %d sweeps %s of this spec, and this command %s: resume it with %s", id, shardOf(o.ShardK, o.ShardN), shardOf(info.ShardK, info.ShardN), shardFlag(o))
			}
			// Nor a finished sweep of this text, of another part of it.
			if err == nil && r.Status == db.StatusDone && (r.ShardK != info.ShardK || r.ShardN != info.ShardN) {
				if e, eerr := d.Experiment(ctx, r.ExperimentID); eerr == nil && e.SpecSHA256 == s.SHA256 {
					return nil, nil, fmt.Errorf("run %d swept %s of this spec to the end (this command %s): nothing to resume there; the unfinished sweeps of this spec and shard: %s",
						id, shardOf(r.ShardK, r.ShardN), shardOf(info.ShardK, info.ShardN), strings.TrimPrefix(others, "those are "))
				}
			}
			return nil, nil, fmt.Errorf("run %d is not an unfinished sweep of this spec (text sha256 %.12s) and shard; %s", id, s.SHA256, others)
		}
		runs = runs[i : i+1]
	}
	var busy []int64
	var elsewhere, unions []db.Run
	for _, r := range runs {
		// A copy merged while its sweep went on elsewhere is taken only
		// when named: its points may be being swept there still. So is a
		// merge's union of shards that lacks some: the shards' own runs,
		// resumed where they are and merged again, complete it.
		if _, ok := r.SweptElsewhere(); ok && id == 0 {
			elsewhere = append(elsewhere, r)
			continue
		}
		if db.IsUnionRun(&r) && id == 0 {
			unions = append(unions, r)
			continue
		}
		release, err := d.ClaimRun(r.ID)
		if errors.Is(err, db.ErrRunBusy) {
			busy = append(busy, r.ID)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		run := &Run{DB: d, ID: r.ID, release: release}
		for _, o := range all {
			if o.ID != r.ID && o.Status != db.StatusRunning {
				run.others = append(run.others, o)
			}
		}
		session := db.NewRun(r.ExperimentID, db.CommandSweep, info.Argv)
		session.Workers = workersOf(info)
		if err := d.ReopenRun(ctx, r.ID, session); err != nil {
			release()
			return nil, nil, err
		}
		done, err := d.RecordedPoints(ctx, r.ID)
		if err != nil {
			// Reopened, the run would stay running with no process on
			// it: it ends as a run stopped now (cancelled after Ctrl-C,
			// failed after another error).
			return nil, nil, errors.Join(err, run.Finish(err))
		}
		return run, done, nil
	}
	if len(busy) > 0 {
		// Not ErrNothingToResume either: a new run beside it would sweep
		// the grid a second time (a SLURM task submitted twice, or one
		// requeued while its rerun sweeps).
		return nil, nil, fmt.Errorf("%s of this spec%s %s %w now: a new run would sweep it all a second time beside it; let it finish (--resume then finds it done), or sweep without --resume for a run of its own",
			runsNamed(busy), shardSuffix(info.ShardK, info.ShardN), isAre(len(busy)), ErrBeingSwept)
	}
	// Not ErrNothingToResume: a new run would sweep it all again.
	if len(elsewhere) > 0 {
		r := elsewhere[0]
		e, _ := r.SweptElsewhere()
		return nil, nil, fmt.Errorf("run %d was still being swept in %s (its run %d) when merged into %s: resume it there if it stopped (dendfit --db %s sweep SPEC%s --resume=%d) and merge again, or take it over here with --resume=%d",
			r.ID, e.File, e.RunID, d.Path(), e.File, ShardArg(r.ShardK, r.ShardN), e.RunID, r.ID)
	}
	if len(unions) > 0 {
		r := unions[0]
		u, _ := db.UnionOf(&r)
		return nil, nil, fmt.Errorf("run %d is the union 'dendfit merge' made of the %d shards of this spec, and lacks some: resume the missing shards where they are swept (dendfit --db SHARD.db sweep SPEC --shard K/%d --resume) and merge again, or sweep what it lacks here with --resume=%d",
			r.ID, u.UnionOf.ShardN, u.UnionOf.ShardN, r.ID)
	}
	// This text swept to the end is done, whatever runs of other texts
	// left unfinished.
	if len(sw.finished) > 0 {
		return nil, nil, &SweptError{Run: sw.finished[0]}
	}
	if len(all) == 0 && len(otherText) > 0 {
		return nil, nil, specChanged(s, otherText, d.Path())
	}
	// Those another process sweeps now are no more to resume than this
	// shard's: shards started together each find the others live.
	var parts []string
	for _, r := range otherShard {
		if r.Status != db.StatusRunning {
			parts = append(parts, fmt.Sprintf("run %d sweeps %s, resumed with %s", r.ID, shardOf(r.ShardK, r.ShardN), shardFlag(r)))
		}
	}
	if len(parts) > 0 {
		return nil, nil, fmt.Errorf("%w, %s (%s)", ErrNothingToResume, shardOf(info.ShardK, info.ShardN), strings.Join(parts, "; "))
	}
	return nil, nil, ErrNothingToResume
}

// SweptError is returned by ResumeRun when the newest sweep of the spec
// and shard finished, or the run it was given did: Run holds every point,
// and sweeping again would only record them twice (a SLURM task requeued
// after it finished would sweep its whole shard again). It wraps
// ErrNothingToResume.
type SweptError struct {
	Run int64
	// Unfinished are the sweeps of the spec and shard that did not
	// finish, newest first: --resume=ID continues one.
	Unfinished []int64
}

// Error names the run that swept the spec.
func (e *SweptError) Error() string {
	return fmt.Sprintf("run %d swept this spec to the end: nothing to resume", e.Run)
}

// Unwrap makes a SweptError an ErrNothingToResume.
func (e *SweptError) Unwrap() error { return ErrNothingToResume }

// runIDs returns the ids of runs, in order.
func runIDs(runs []db.Run) []int64 {
	var ids []int64
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	return ids
}

// runsNamed is "run 3", "runs 3 and 1" or "runs 4, 3 and 1".
func runsNamed(ids []int64) string {
	if len(ids) == 1 {
		return fmt.Sprintf("run %d", ids[0])
	}
	items := make([]string, len(ids))
	for i, id := range ids {
		items[i] = fmt.Sprint(id)
	}
	return "runs " + andList(items)
}

// isAre is the verb for n things.
func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

// ErrBeingSwept is wrapped by ResumeRun when every unfinished sweep of
// the spec and shard is being swept by another process.
var ErrBeingSwept = errors.New("being swept by another process")

// shardSuffix is ", shard K/N" for a shard of several, else "".
func shardSuffix(k, n int) string {
	if n <= 1 {
		return ""
	}
	return fmt.Sprintf(", shard %d/%d,", k, n)
}

// ErrNothingToResume is returned by ResumeRun when no unfinished run of the
// spec exists.
var ErrNothingToResume = errors.New("no unfinished sweep of this spec to resume")
