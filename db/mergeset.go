package db

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A sharded sweep (`dendfit sweep --shard K/N`) records one run per shard,
// each holding part of the grid. Once the shard databases are merged into
// one, the runs of one shard set are unioned into a single union run: a
// sweep run (shard 0 of 1) of the same spec that holds every point of the
// set once, so that the newest finished sweep of the experiment is a run
// with exactly the points a single-process sweep records. The shard runs
// stay, with their provenance; the union run's settings name them.

// ShardSet is the sweep runs of one spec (experiment name and spec
// sha256) that were cut into the same number of shards.
type ShardSet struct {
	ExperimentID int64
	Experiment   string
	SpecSHA256   string
	SpecText     []byte
	ShardN       int
	// Runs are the shard runs, by shard index then start time. A shard
	// may have several (a task that was rerun without --resume).
	Runs []Run
}

// maxListedShards is how many missing shards Missing lists at most.
const maxListedShards = 1000

// Missing returns the shard indices in 0..ShardN-1 with no done run, the
// first 1000 of them at most (ShardN comes from a file, perhaps merged in
// from elsewhere, and may be huge); MissingCount counts them all.
func (s *ShardSet) Missing() []int {
	done := s.doneShards()
	var out []int
	for k := 0; k < s.ShardN && len(out) < maxListedShards; k++ {
		if !done[k] {
			out = append(out, k)
		}
	}
	return out
}

// MissingCount is the number of shards with no done run.
func (s *ShardSet) MissingCount() int { return s.ShardN - len(s.doneShards()) }

// IsMissing says whether shard k of the set has no done run (Missing
// lists the first 1000 such shards only).
func (s *ShardSet) IsMissing(k int) bool { return k >= 0 && k < s.ShardN && !s.doneShards()[k] }

// MixedBuilds says, for each shard with done runs from different dendfit
// builds (version, VCS revision or modified tree), which runs and builds
// those are; nil when there are none. A union keeps one copy of each
// point, the first it took: copies from one build are identical, but two
// builds may compute a point differently, and which copy the union holds
// would then depend on the order of the merges.
func (s *ShardSet) MixedBuilds() []string {
	build := func(r Run) string {
		b := r.Version + " (revision " + r.VCSRevision
		if r.VCSModified {
			b += ", modified"
		}
		return b + ")"
	}
	var out []string
	for k := 0; k < s.ShardN; k++ {
		var runs []string
		builds := map[string]bool{}
		for _, r := range s.Runs {
			if r.ShardK == k && r.Status == StatusDone {
				runs = append(runs, fmt.Sprintf("run %d by dendfit %s", r.ID, build(r)))
				builds[build(r)] = true
			}
		}
		if len(builds) > 1 {
			out = append(out, fmt.Sprintf("shard %d/%d has finished runs of different builds (%s)", k, s.ShardN, strings.Join(runs, ", ")))
		}
	}
	return out
}

// doneShards is the set of shard indices with a done run.
func (s *ShardSet) doneShards() map[int]bool {
	done := map[int]bool{}
	for _, r := range s.Runs {
		if r.Status == StatusDone && r.ShardK >= 0 && r.ShardK < s.ShardN {
			done[r.ShardK] = true
		}
	}
	return done
}

// UnionSettings is the settings JSON of a union run.
type UnionSettings struct {
	UnionOf struct {
		ShardN  int      `json:"shard_n"`
		RunUIDs []string `json:"run_uids"` // the shard runs, by shard then start
	} `json:"union_of"`
}

// UnionStats says what UnionShardSet did.
type UnionStats struct {
	RunID   int64  // the union run
	Created bool   // the union run was new
	Added   int64  // points added to it
	Points  int64  // points it holds
	Status  string // StatusDone when it holds the whole grid, else StatusFailed
}

// UnionRunUID is the run_uid of the union run of the shard set of spec
// specSHA256 cut into n shards. It is derived, not random, so every
// database that unions the same set names its union run the same and
// Merge dedupes union runs like any other run.
func UnionRunUID(specSHA256 string, n int) string {
	sum := sha256.Sum256([]byte("dendfit union run\x00" + specSHA256 + "\x00" + strconv.Itoa(n)))
	return hex.EncodeToString(sum[:16])
}

// ShardSets returns the shard sets of the database: sweep runs with
// shard_n > 1 grouped by experiment spec and shard count, ordered by
// experiment name, spec and shard count.
func (d *DB) ShardSets(ctx context.Context) ([]ShardSet, error) {
	runs, err := d.queryRuns(ctx, []string{"r.command = ?", "r.shard_n > 1"}, []any{CommandSweep}, 0, false)
	if err != nil {
		return nil, fmt.Errorf("db: list shard sets: %w", err)
	}
	exps, err := d.Experiments(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[int64]*Experiment{}
	for i := range exps {
		byID[exps[i].ID] = &exps[i]
	}
	type key struct {
		exp int64
		n   int
	}
	sets := map[key]*ShardSet{}
	for _, r := range runs {
		k := key{r.ExperimentID, r.ShardN}
		s := sets[k]
		if s == nil {
			e := byID[r.ExperimentID]
			if e == nil {
				return nil, fmt.Errorf("db: list shard sets: run %d: no experiment %d", r.ID, r.ExperimentID)
			}
			s = &ShardSet{ExperimentID: e.ID, Experiment: e.Name, SpecSHA256: e.SpecSHA256, SpecText: e.SpecText, ShardN: r.ShardN}
			sets[k] = s
		}
		s.Runs = append(s.Runs, r)
	}
	out := make([]ShardSet, 0, len(sets))
	for _, s := range sets {
		slices.SortFunc(s.Runs, func(a, b Run) int {
			if a.ShardK != b.ShardK {
				return a.ShardK - b.ShardK
			}
			if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
				return c
			}
			return int(a.ID - b.ID)
		})
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b ShardSet) int {
		if c := strings.Compare(a.Experiment, b.Experiment); c != 0 {
			return c
		}
		if c := strings.Compare(a.SpecSHA256, b.SpecSHA256); c != 0 {
			return c
		}
		return a.ShardN - b.ShardN
	})
	return out, nil
}

// UnionShardSet records, in one transaction, the union run of set: it
// creates the run (recording argv and this process's provenance) or finds
// it by UnionRunUID, adds every point of the set's runs it does not hold
// yet (deduplicated on point_key; points are deterministic, so copies of
// one key from different runs are identical), and sets its status: done
// when it holds want points (the size of the spec's grid), failed with an
// error naming the missing shards otherwise. Its started_at is just after
// the newest shard run's start and its ended_at the latest shard end, so
// the result depends only on the shard runs: unioning again, or in
// another order, changes nothing.
func (d *DB) UnionShardSet(ctx context.Context, set ShardSet, want int64, argv []string) (UnionStats, error) {
	var st UnionStats
	fail := func(err error) (UnionStats, error) {
		return UnionStats{}, fmt.Errorf("db: union %d shards of %q: %w", set.ShardN, set.Experiment, err)
	}
	if len(set.Runs) == 0 || set.ShardN < 2 {
		return fail(errors.New("no shard runs"))
	}
	uid := UnionRunUID(set.SpecSHA256, set.ShardN)
	var settings UnionSettings
	settings.UnionOf.ShardN = set.ShardN
	var started time.Time
	var ended *time.Time
	memberIDs := make([]string, len(set.Runs))
	for i, r := range set.Runs {
		settings.UnionOf.RunUIDs = append(settings.UnionOf.RunUIDs, r.RunUID)
		memberIDs[i] = strconv.FormatInt(r.ID, 10)
		if r.StartedAt.After(started) {
			started = r.StartedAt
		}
		if r.EndedAt != nil && (ended == nil || r.EndedAt.After(*ended)) {
			ended = r.EndedAt
		}
	}
	started = started.Add(time.Nanosecond)
	if ended == nil || ended.Before(started) {
		ended = &started
	}
	setJSON, err := json.Marshal(settings)
	if err != nil {
		return fail(err)
	}
	first := set.Runs[0]
	err = d.withTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT id FROM runs WHERE run_uid = ?`, uid).Scan(&st.RunID)
		if errors.Is(err, sql.ErrNoRows) {
			r := NewRun(set.ExperimentID, CommandSweep, argv)
			r.RunUID, r.DtMS, r.Method = uid, first.DtMS, first.Method
			argvJSON, err := json.Marshal(r.Argv)
			if err != nil {
				return err
			}
			err = tx.QueryRowContext(ctx, `INSERT INTO runs (experiment_id, command, argv, status, started_at,
				version, vcs_revision, vcs_modified, go_version, os, arch, host, workers, shard_k, shard_n,
				dt_ms, method, run_uid)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 1, ?, ?, ?) RETURNING id`,
				r.ExperimentID, r.Command, string(argvJSON), StatusRunning, formatTime(started),
				r.Version, r.VCSRevision, r.VCSModified, r.GoVersion, r.OS, r.Arch, r.Host,
				r.DtMS, r.Method, r.RunUID).Scan(&st.RunID)
			if err != nil {
				return fmt.Errorf("create union run: %w", err)
			}
			st.Created = true
		} else if err != nil {
			return err
		}
		st.Added, err = execCount(ctx, tx, `INSERT OR IGNORE INTO point_rows (run_id, pathway, pre, post, compartment,
			record, tag, point_key, g_nS, t_decay_ms, t_rise_ms, receptors, psp_mV, baseline_mV, time_to_peak_ms,
			rise_10_90_ms, half_width_ms, peaks_mV, i_hold_pA, dspike_fired, status, error)
			SELECT `+strconv.FormatInt(st.RunID, 10)+`, p.pathway, p.pre, p.post, p.compartment,
			p.record, p.tag, p.point_key, p.g_nS, p.t_decay_ms, p.t_rise_ms, p.receptors, p.psp_mV, p.baseline_mV, p.time_to_peak_ms,
			p.rise_10_90_ms, p.half_width_ms, p.peaks_mV, p.i_hold_pA, p.dspike_fired, p.status, p.error
			FROM point_rows p JOIN runs r ON r.id = p.run_id
			WHERE p.run_id IN (`+strings.Join(memberIDs, ", ")+`)
			ORDER BY r.status = 'done' DESC, p.id`)
		if err != nil {
			return fmt.Errorf("copy points: %w", err)
		}
		added, err := unionBlocks(ctx, tx, st.RunID, memberIDs)
		if err != nil {
			return fmt.Errorf("copy point blocks: %w", err)
		}
		st.Added += added
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM point_rows WHERE run_id = ?)
			+ (SELECT coalesce(sum(n_points), 0) FROM point_blocks WHERE run_id = ?)`,
			st.RunID, st.RunID).Scan(&st.Points); err != nil {
			return err
		}
		st.Status = StatusDone
		var errText any
		if st.Points != want {
			st.Status = StatusFailed
			msg := fmt.Sprintf("union of %d shards holds %d of %d points", set.ShardN, st.Points, want)
			if m, n := set.Missing(), set.MissingCount(); n > 10 {
				msg += fmt.Sprintf("; %d shards with no finished run: %s, ...", n, joinInts(m[:10]))
			} else if n > 0 {
				msg += fmt.Sprintf("; shards with no finished run: %s", joinInts(m))
			}
			errText = msg
		}
		_, err = tx.ExecContext(ctx, `UPDATE runs SET status = ?, started_at = ?, ended_at = ?, error = ?, settings = ?
			WHERE id = ?`, st.Status, formatTime(started), formatTime(*ended), errText, string(setJSON), st.RunID)
		return err
	})
	if err != nil {
		return fail(err)
	}
	return st, nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}

// IsUnionRun reports whether r is the union run of a shard set.
func IsUnionRun(r *Run) bool {
	_, ok := UnionOf(r)
	return ok
}

// UnionOf returns what union run r is the union of, and whether it is one.
func UnionOf(r *Run) (UnionSettings, bool) {
	var s UnionSettings
	if r.Command != CommandSweep || len(r.Settings) == 0 {
		return s, false
	}
	ok := json.Unmarshal(r.Settings, &s) == nil && s.UnionOf.ShardN > 1
	return s, ok
}

// unionBlockPoints bounds the points of one union block (besides the
// page its row fills, Fits). Tests make it small.
var unionBlockPoints = 1 << 16

// unionBlocks adds to union run id the block points of the member runs it
// holds no point of the same key yet, as new blocks, and returns how many.
// It merges the members' blocks in point order (pointMerge), so that each
// union block holds a run of consecutive indexes: a later reader takes one
// union block at a time, where blocks filled shard after shard each
// spanned the whole grid and were all read at once. Of copies of one key
// it keeps a finished run's, then the oldest run's. Its memory is about a
// member block a shard and one union block.
func unionBlocks(ctx context.Context, tx *sql.Tx, id int64, memberIDs []string) (int64, error) {
	have, err := recordedPoints(ctx, tx, id)
	if err != nil {
		return 0, err
	}
	in := `(` + strings.Join(memberIDs, ", ") + `)`
	done := map[int64]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT id, status = 'done' FROM runs WHERE id IN `+in)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var rid int64
		var ok bool
		if err := rows.Scan(&rid, &ok); err != nil {
			rows.Close()
			return 0, err
		}
		done[rid] = ok
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	metas, err := blockMetas(ctx, tx, `SELECT b.id, b.run_id, b.pathway, b.n_g, b.n_t_decay, b.n_t_rise, b.first_index
		FROM point_blocks b WHERE b.run_id IN `+in, nil)
	if err != nil {
		return 0, err
	}
	m := pointMerge{ctx: ctx, q: tx, f: &PointFilter{}, metas: metas}
	var added int64
	var u *PointBlock  // the union block being filled
	var one PointBlock // the point being added
	flush := func() error {
		if u == nil || u.Len() == 0 {
			return nil
		}
		_, err := insertPointBlocks(ctx, tx, id, []*PointBlock{u})
		u = nil
		return err
	}
	keep := func(r pointRef) error {
		b, i := r.b, r.i
		if have.Has(b.Pathway, b.Axes, r.idx) {
			return nil
		}
		have.add(b, i)
		if u != nil && !sameHeader(u, b) {
			if err := flush(); err != nil {
				return err
			}
		}
		// The point as a block of its own, so that a union block is
		// reckoned (Fits) and filled (AddBlock) as a sweep's writer does
		// it: a row of a page.
		one.SetHeader(b)
		one.vals = append(one.vals, b.rec(i)...)
		one.track(one.vals)
		if e, ok := b.errors[i]; ok {
			one.errors = map[int]string{0: e}
			at := 0 // its position in u
			if u != nil {
				at = u.Len()
			}
			one.errBytes = errorBytes(at, e)
		}
		if u != nil && !u.Fits(&one) {
			if err := flush(); err != nil {
				return err
			}
		}
		if u == nil {
			u = new(PointBlock)
			u.SetHeader(b)
		}
		u.AddBlock(&one)
		added++
		if u.Len() >= unionBlockPoints {
			return flush()
		}
		return nil
	}
	// Copies of one key come out together; the best of them is kept.
	var best pointRef
	pending := false
	for {
		next, ok, err := m.next(nil)
		if err != nil {
			return 0, err
		}
		if !ok {
			break
		}
		m.pop()
		switch {
		case pending && sameKey(&best, &next):
			if done[next.run] && !done[best.run] {
				best = next
			}
		default:
			if pending {
				if err := keep(best); err != nil {
					return 0, err
				}
			}
			best, pending = next, true
		}
	}
	if pending {
		if err := keep(best); err != nil {
			return 0, err
		}
	}
	if err := flush(); err != nil {
		return 0, err
	}
	return added, nil
}

// sameKey says whether two block points have one point key.
func sameKey(a, b *pointRef) bool {
	if a.pathway != b.pathway {
		return false
	}
	if a.b.Axes == b.b.Axes {
		return a.idx == b.idx
	}
	return a.key() == b.key()
}

// sameHeader says whether blocks a and b describe one pathway alike.
func sameHeader(a, b *PointBlock) bool {
	return a.Pathway == b.Pathway && a.Pre == b.Pre && a.Post == b.Post && a.Compartment == b.Compartment &&
		a.Record == b.Record && a.Tag == b.Tag && a.Axes == b.Axes &&
		slices.Equal(a.Channels, b.Channels) && slices.Equal(a.Compartments, b.Compartments)
}
