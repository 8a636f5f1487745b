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
