package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dendfit/dendfit/db"
)

// MergeFilesOptions configures MergeFiles. A nil *MergeFilesOptions means
// the defaults.
type MergeFilesOptions struct {
	db.MergeOptions
	Argv []string // recorded as the union runs' argv
	// Warn, if set, is told of an input that holds no dendfit results
	// yet (a task killed before its first commit): it adds nothing, and a
	// merge of such inputs alone would pass for a merge of shards.
	Warn func(msg string)
	// Waiting, if set, is told once that another merge into the output
	// is under way, which this one waits for.
	Waiting func(msg string)
}

// MergeInput is what MergeFiles took from one input.
type MergeInput struct {
	Path string
	db.MergeStats
}

// MergeReport is what MergeFiles did.
type MergeReport struct {
	Inputs []MergeInput
	Unions []ShardUnion
	// Recording lists the runs of the inputs that a process was still
	// recording when the merge began: what they had recorded is merged.
	Recording []LiveRun
	// Live lists those of Recording that sweep a missing shard of an
	// incomplete union: to wait for, not to rerun.
	Live []LiveRun
}

// Incomplete counts the union runs whose shards do not cover their grid
// yet.
func (r *MergeReport) Incomplete() int {
	n := 0
	for i := range r.Unions {
		if !r.Unions[i].Complete() {
			n++
		}
	}
	return n
}

// MergeArgsError is MergeFiles refusing its arguments before it writes
// anything: an input that is the output, or an output that holds one
// shard of a sweep (an input, the output left out).
type MergeArgsError struct{ Msg string }

// Error says what is wrong with the arguments and what to give.
func (e *MergeArgsError) Error() string { return e.Msg }

// MergeFiles merges the databases ins into out (created if needed), then
// records or updates the union run of every sharded sweep in out
// (UnionShards). Every input is checked first (readable, a dendfit
// schema this binary knows, and, unless opt.AllowMixed, no experiment
// whose spec differs under one name: db.ErrMixedSpecs), so that a bad
// input leaves out as it was; an out this merge created and could merge
// nothing into is removed. An incomplete union is not an error: the
// report says which shards are missing (MergeReport.Incomplete) and which
// of them are still being swept (Live).
func MergeFiles(ctx context.Context, out string, ins []string, opt *MergeFilesOptions) (rep *MergeReport, err error) {
	if opt == nil {
		opt = &MergeFilesOptions{}
	}
	for _, in := range ins {
		if SameFile(in, out) {
			return nil, &MergeArgsError{fmt.Sprintf("%s is both OUT.db and an input", in)}
		}
		empty, err := db.CheckMergeable(ctx, in)
		if err != nil {
			return nil, err
		}
		if empty && opt.Warn != nil {
			opt.Warn(fmt.Sprintf("%s holds no dendfit results yet (a task killed before its first commit?): nothing merged from it", in))
		}
	}
	// Merges into one output go one after the other: each makes the
	// union runs from all the output holds, and would take another's
	// half-copied shards for a union's missing ones.
	release, err := db.LockMerges(ctx, out, func() {
		if opt.Waiting != nil {
			opt.Waiting(fmt.Sprintf("another merge into %s is under way: waiting for it to end", out))
		}
	})
	if err != nil {
		return nil, err
	}
	defer release()
	// 'merge shard-*.db', OUT.db forgotten, would merge into a shard.
	if shard, err := db.ShardOnly(ctx, out, ins...); err != nil {
		return nil, err
	} else if shard {
		return nil, &MergeArgsError{fmt.Sprintf("%s holds one shard of a sweep: an input, not OUT.db; give the merged database first (dendfit merge merged.db %s and the other shards)", out, out)}
	}
	// Merge finds mixed specs only at the first such input, the inputs
	// before it already in out.
	if !opt.AllowMixed {
		if err := db.CheckMergeSpecs(ctx, out, ins); err != nil {
			return nil, err
		}
	}
	_, statErr := os.Stat(out)
	created := errors.Is(statErr, os.ErrNotExist)
	d, err := db.Open(ctx, out)
	if err != nil {
		return nil, err
	}
	// As in sweep: a close that could not finish the file fails the merge.
	defer func() {
		if cerr := d.Close(); err == nil && cerr != nil {
			rep, err = nil, cerr
		}
	}()
	// Before the copy: a run that ends meanwhile was copied unfinished.
	rep = &MergeReport{Recording: LiveRuns(ctx, ins)}
	for i, in := range ins {
		st, err := db.Merge(ctx, d, in, opt.MergeOptions)
		if err != nil {
			if i == 0 && created {
				// Nothing was merged into the database this merge made:
				// it goes, rather than stay behind empty.
				d.Close()
				for _, suffix := range []string{"", "-wal", "-shm", "-lock"} {
					os.Remove(out + suffix)
				}
			}
			return nil, err
		}
		rep.Inputs = append(rep.Inputs, MergeInput{Path: in, MergeStats: st})
	}
	// A copy of a sweep another process still records reads as
	// interrupted here, where no process claims it: it says where it was
	// swept, so that --resume here does not sweep its points twice.
	for _, l := range rep.Recording {
		if l.Command == db.CommandSweep {
			// Named so from anywhere: the hints that name it are read
			// from other directories.
			file := l.Input
			if abs, err := filepath.Abs(file); err == nil {
				file = abs
			}
			if err := d.MarkSweptElsewhere(ctx, l.RunUID, file, l.RunID); err != nil {
				return nil, err
			}
		}
	}
	if rep.Unions, err = UnionShards(ctx, d, opt.Argv); err != nil {
		return nil, err
	}
	if rep.Incomplete() > 0 {
		for _, l := range rep.Recording {
			if l.Command != db.CommandSweep || l.ShardN <= 1 {
				continue
			}
			for _, u := range rep.Unions {
				if u.Set.Experiment == l.Experiment && u.Set.SpecSHA256 == l.SpecSHA256 && u.Set.ShardN == l.ShardN &&
					u.Set.IsMissing(l.ShardK) {
					rep.Live = append(rep.Live, l)
				}
			}
		}
	}
	return rep, nil
}

// SameFile says whether paths a and b name one file: the same file when
// both exist, else the same absolute path.
func SameFile(a, b string) bool {
	ai, errA := os.Stat(a)
	bi, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(ai, bi)
	}
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	return errA == nil && errB == nil && absA == absB
}
