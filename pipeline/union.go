package pipeline

import (
	"context"
	"fmt"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/sim/spec"
)

// ShardUnion is what UnionShards did for one shard set.
type ShardUnion struct {
	Set   db.ShardSet
	Grid  int // points of the spec's full grid
	Stats db.UnionStats
}

// Complete reports whether the union run holds the whole grid.
func (u *ShardUnion) Complete() bool { return u.Stats.Status == db.StatusDone }

// UnionShards unions every shard set of d (the sweep runs of one spec cut
// into N shards, typically merged from N shard databases) into its union
// run: one sweep run holding each grid point once, done when it holds the
// spec's whole grid. Afterwards the newest finished sweep of the
// experiment has exactly the points a single-process sweep of the spec
// records, so `dendfit query points --experiment NAME` answers the same.
// argv is recorded on union runs it creates. It is idempotent.
func UnionShards(ctx context.Context, d *db.DB, argv []string) ([]ShardUnion, error) {
	sets, err := d.ShardSets(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ShardUnion, 0, len(sets))
	for _, set := range sets {
		// %.12s: a hash damaged in a merged-in file may be short.
		s, err := spec.ParseRecorded(fmt.Sprintf("%s.yaml (recorded spec %.12s)", set.Experiment, set.SpecSHA256), set.SpecText)
		if err != nil {
			return out, fmt.Errorf("union shards of %q: %w", set.Experiment, err)
		}
		n := NewGrid(s).Len()
		st, err := d.UnionShardSet(ctx, set, int64(n), argv)
		if err != nil {
			return out, err
		}
		out = append(out, ShardUnion{Set: set, Grid: n, Stats: st})
	}
	return out, nil
}

// LiveRun is a run that a process is still recording in a file a merge
// reads: merged now, it holds what it had recorded and reads as
// interrupted (a shard of it as missing) until merged again once it ends.
type LiveRun struct {
	Input      string `json:"input"`  // the file
	RunID      int64  `json:"run_id"` // the run in it
	Command    string `json:"command"`
	Experiment string `json:"experiment"`
	SpecSHA256 string `json:"spec_sha256"`
	ShardK     int    `json:"shard_k"`
	ShardN     int    `json:"shard_n"`
	RunUID     string `json:"-"` // the run's run_uid, the same in every copy
}

// LiveRuns returns the runs of the files ins that a process still records
// (claimed, as ClaimRun: a running command, not one killed); none where
// claims are not known (db.ClaimsKnown). A file that cannot be read is
// skipped: merging it says why.
func LiveRuns(ctx context.Context, ins []string) []LiveRun {
	if !db.ClaimsKnown() {
		return nil // a killed run would be listed with the live ones
	}
	var out []LiveRun
	for _, in := range ins {
		d, err := db.OpenReadOnly(ctx, in)
		if err != nil {
			continue
		}
		runs, _ := d.Runs(ctx, db.RunFilter{Status: db.StatusRunning}) // none on an error
		for _, r := range runs {
			e, eerr := d.Experiment(ctx, r.ExperimentID)
			if eerr != nil {
				continue
			}
			out = append(out, LiveRun{Input: in, RunID: r.ID, Command: r.Command, Experiment: e.Name,
				SpecSHA256: e.SpecSHA256, ShardK: r.ShardK, ShardN: r.ShardN, RunUID: r.RunUID})
		}
		d.Close()
	}
	return out
}
