package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/dendfit/dendfit/migrations"
)

// ErrMixedSpecs is wrapped by Merge when the source has an experiment
// whose spec differs from the one the destination has under that name.
var ErrMixedSpecs = errors.New("experiment specs differ")

// MergeOptions control Merge.
type MergeOptions struct {
	// AllowMixed merges even when an experiment name in the source has a
	// spec (sha256) that the destination does not have for that name.
	AllowMixed bool
}

// MergeStats counts what Merge added to the destination.
type MergeStats struct {
	Experiments int64 `json:"experiments"`  // experiment specs added
	Runs        int64 `json:"runs"`         // runs added (new run_uid)
	RunsUpdated int64 `json:"runs_updated"` // existing runs whose status/ended_at/error were taken from a later-finished source copy
	Points      int64 `json:"points"`       // points added
	Fits        int64 `json:"fits"`         // fits added
}

// Merge copies the database at srcPath (typically one shard of a sharded
// sweep) into dst in one transaction: experiments deduplicated on (name,
// spec sha256), runs on run_uid (with ids remapped), points on (run,
// point_key) and fits on (run, pathway). Merging the same file again adds
// nothing. Both databases must have the same schema version. Unless
// opts.AllowMixed, it refuses a source whose experiment specs differ from
// those the destination already has under the same name.
func Merge(ctx context.Context, dst *DB, srcPath string, opts MergeOptions) (MergeStats, error) {
	var stats MergeStats
	fail := func(err error) (MergeStats, error) {
		return MergeStats{}, fmt.Errorf("db: merge %s into %s: %w", srcPath, dst.path, err)
	}
	if dst.readOnly {
		return fail(errors.New("destination is open read-only"))
	}
	si, err := os.Stat(srcPath)
	if err != nil {
		return fail(err)
	}
	if err := checkFile(srcPath); err != nil {
		return MergeStats{}, err
	}
	if di, err := os.Stat(dst.path); err == nil && os.SameFile(si, di) {
		return fail(errors.New("source and destination are the same file"))
	}
	uri, err := fileURI(srcPath)
	if err != nil {
		return fail(err)
	}
	conn, err := dst.sql.Conn(ctx)
	if err != nil {
		return fail(err)
	}
	defer conn.Close()
	attach := func(query string) (int, error) {
		if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS src`, uri+query); err != nil {
			return 0, fmt.Errorf("attach: %w", err)
		}
		have, err := schemaVersion(ctx, conn, "src")
		if err != nil {
			conn.ExecContext(context.WithoutCancel(ctx), `DETACH DATABASE src`)
			return 0, fmt.Errorf("read schema version: %w", err)
		}
		return have, nil
	}
	have, err := attach("?mode=ro")
	if err != nil && readOnlyDirFallback(err, srcPath) {
		have, err = attach("?mode=ro&immutable=1") // as OpenReadOnly does
	}
	if err != nil {
		return fail(err)
	}
	// Once detached, the source is left as it was found: no -wal or -shm
	// that attaching it made (run last: deferred first).
	defer tidyWAL(srcPath)
	defer conn.ExecContext(context.WithoutCancel(ctx), `DETACH DATABASE src`)

	known, err := migrations.Latest()
	if err != nil {
		return fail(err)
	}
	if have == 0 {
		if foreign, err := foreignTables(ctx, conn, "src"); err != nil || len(foreign) > 0 {
			if err == nil {
				err = notOurs(srcPath, foreign)
			}
			return fail(err)
		}
		// No dendfit schema yet: a shard whose task was killed before
		// its first commit. It holds nothing to merge; the union run
		// counts the shard as missing.
		return stats, nil
	}
	if err := mergeableVersion(srcPath, have, known); err != nil {
		return fail(err)
	}

	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	if !opts.AllowMixed {
		if err := checkMixed(ctx, tx); err != nil {
			return fail(err)
		}
	}
	var blockPoints int64
	steps := []struct {
		what string
		fn   func(context.Context, *sql.Tx) (int64, error)
		n    *int64
	}{
		{"experiments", mergeExperiments, &stats.Experiments},
		{"runs", mergeRuns, &stats.Runs},
		{"run links", mergeRunLinks, new(int64)},
		{"run statuses", mergeRunStatuses, &stats.RunsUpdated},
		{"points", mergePoints, &stats.Points},
		{"point blocks", mergePointBlocks, &blockPoints},
		{"fits", mergeFits, &stats.Fits},
	}
	for _, s := range steps {
		n, err := s.fn(ctx, tx)
		if err != nil {
			return fail(fmt.Errorf("copy %s: %w", s.what, err))
		}
		*s.n = n
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	stats.Points += blockPoints
	return stats, nil
}

// CheckMergeable returns why Merge would refuse the database at path as a
// source (missing, not a dendfit database, another schema version), so
// that a merge can refuse its inputs before it creates its output, and
// whether it holds no dendfit schema yet (empty), which Merge takes as a
// source of nothing.
func CheckMergeable(ctx context.Context, path string) (empty bool, err error) {
	src, have, err := openReadOnly(ctx, path)
	if err != nil {
		return false, err
	}
	src.Close()
	if have == 0 {
		return true, nil
	}
	known, err := migrations.Latest()
	if err != nil {
		return false, err
	}
	if have < known {
		// A shard written by an older dendfit is migrated in place, as
		// any command that writes it would: migrations are forward-only
		// and keep every row. Read-only commands never migrate, so
		// "open it once" had nothing to do it.
		d, err := Open(ctx, path)
		if err != nil {
			return false, fmt.Errorf("db: merge %s: it has schema version %d, older than %d, and migrating it failed: %w (copy it where it can be written, and merge the copy)", path, have, known, err)
		}
		if have, err = d.SchemaVersion(ctx); err != nil {
			d.Close()
			return false, err
		}
		if err := d.Close(); err != nil {
			return false, err
		}
	}
	if err := mergeableVersion(path, have, known); err != nil {
		return false, fmt.Errorf("db: merge %s: %w", path, err)
	}
	return false, nil
}

// ShardOnly reports whether the database at path exists and holds only
// runs of one shard of a sweep, as a SLURM task's shard database does: a
// merge's input, not a place to merge into. Runs that one of inputs holds
// too (by run_uid) do not count: a merge into path stopped part way (Ctrl-C,
// a time limit) left them, and the same merge run again goes on with it.
func ShardOnly(ctx context.Context, path string, inputs ...string) (bool, error) {
	runs, err := runsAt(ctx, path)
	if err != nil || len(runs) == 0 {
		return false, err
	}
	shard := [2]int{runs[0].ShardK, runs[0].ShardN}
	for _, r := range runs {
		if r.Command != CommandSweep || r.ShardN <= 1 || [2]int{r.ShardK, r.ShardN} != shard {
			return false, nil
		}
	}
	merged := map[string]bool{}
	for _, in := range inputs {
		rs, err := runsAt(ctx, in)
		if err != nil {
			return false, err
		}
		for _, r := range rs {
			merged[r.RunUID] = true
		}
	}
	for _, r := range runs {
		if !merged[r.RunUID] {
			return true, nil
		}
	}
	return false, nil
}

// runsAt returns the runs of the database at path, none when it does not
// exist or holds no dendfit tables yet.
func runsAt(ctx context.Context, path string) ([]Run, error) {
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		return nil, nil // to be created
	}
	d, have, err := openReadOnly(ctx, path)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if have == 0 {
		return nil, nil // no dendfit tables yet: Open makes them
	}
	return d.Runs(ctx, RunFilter{})
}

// mergeableVersion says why a source at schema version have cannot be
// merged by a dendfit that knows up to known.
func mergeableVersion(path string, have, known int) error {
	switch {
	case have == 0:
		return errors.New("source is not a dendfit database (no schema_migrations)")
	case have > known:
		return fmt.Errorf("%s has schema version %d, this dendfit knows up to %d: upgrade dendfit", path, have, known)
	case have < known:
		return fmt.Errorf("%s has schema version %d, older than %d: merge it with 'dendfit merge', which migrates it first", path, have, known)
	}
	return nil
}

// checkMixed fails if an experiment name in src has a spec that main does
// not have under that name although main has the name.
func checkMixed(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT se.name, se.spec_sha256,
			(SELECT group_concat(me.spec_sha256, ', ') FROM main.experiments me WHERE me.name = se.name)
		FROM src.experiments se
		WHERE EXISTS (SELECT 1 FROM main.experiments me WHERE me.name = se.name)
		  AND NOT EXISTS (SELECT 1 FROM main.experiments me WHERE me.name = se.name AND me.spec_sha256 = se.spec_sha256)
		ORDER BY se.name`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var msgs []string
	for rows.Next() {
		var name, srcSHA, dstSHAs string
		if err := rows.Scan(&name, &srcSHA, &dstSHAs); err != nil {
			return err
		}
		msgs = append(msgs, fmt.Sprintf("experiment %q has spec sha256 %s in the source but %s in the destination", name, srcSHA, dstSHAs))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(msgs) > 0 {
		return fmt.Errorf("%w: %s; the databases hold different specs under one experiment name", ErrMixedSpecs, strings.Join(msgs, "; "))
	}
	return nil
}

// columns returns main.table's column names except those in skip.
func columns(ctx context.Context, tx *sql.Tx, table string, skip ...string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name FROM pragma_table_info(?, 'main') ORDER BY cid`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []string
next:
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		for _, s := range skip {
			if strings.EqualFold(c, s) {
				continue next
			}
		}
		cols = append(cols, `"`+c+`"`)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("table %s has no columns", table)
	}
	return cols, nil
}

func prefixed(alias string, cols []string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = alias + "." + c
	}
	return strings.Join(out, ", ")
}

func execCount(ctx context.Context, tx *sql.Tx, q string) (int64, error) {
	res, err := tx.ExecContext(ctx, q)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func mergeExperiments(ctx context.Context, tx *sql.Tx) (int64, error) {
	cols, err := columns(ctx, tx, "experiments", "id")
	if err != nil {
		return 0, err
	}
	return execCount(ctx, tx, `INSERT OR IGNORE INTO main.experiments (`+strings.Join(cols, ", ")+`)
		SELECT `+prefixed("s", cols)+` FROM src.experiments s ORDER BY s.id`)
}

func mergeRuns(ctx context.Context, tx *sql.Tx) (int64, error) {
	cols, err := columns(ctx, tx, "runs", "id", "experiment_id", "reproduces_run_id")
	if err != nil {
		return 0, err
	}
	return execCount(ctx, tx, `INSERT INTO main.runs (experiment_id, `+strings.Join(cols, ", ")+`)
		SELECT (SELECT me.id FROM main.experiments me JOIN src.experiments se
				ON se.name = me.name AND se.spec_sha256 = me.spec_sha256 WHERE se.id = s.experiment_id),
			`+prefixed("s", cols)+`
		FROM src.runs s
		WHERE NOT EXISTS (SELECT 1 FROM main.runs m WHERE m.run_uid = s.run_uid)
		ORDER BY s.id`)
}

// mergeRunLinks remaps reproduces_run_id of merged runs through run_uid.
func mergeRunLinks(ctx context.Context, tx *sql.Tx) (int64, error) {
	return execCount(ctx, tx, `UPDATE main.runs AS t SET reproduces_run_id = (
			SELECT m2.id FROM src.runs s JOIN src.runs s2 ON s2.id = s.reproduces_run_id
				JOIN main.runs m2 ON m2.run_uid = s2.run_uid
			WHERE s.run_uid = t.run_uid)
		WHERE t.reproduces_run_id IS NULL
		  AND t.run_uid IN (SELECT run_uid FROM src.runs WHERE reproduces_run_id IS NOT NULL)`)
}

// mergeRunStatuses takes the outcome of a run already in main from src
// when src's copy finished later (e.g. a shard merged while running).
func mergeRunStatuses(ctx context.Context, tx *sql.Tx) (int64, error) {
	// The settings come too: a resumed run's carries its resuming sessions.
	return execCount(ctx, tx, `UPDATE main.runs AS t SET status = s.status, ended_at = s.ended_at, error = s.error, settings = s.settings
		FROM src.runs s
		WHERE s.run_uid = t.run_uid AND s.status <> 'running'
		  AND (t.status = 'running' OR (t.ended_at IS NOT NULL AND s.ended_at > t.ended_at))`)
}

// copyRunRows copies the rows of table that belong to merged runs, onto
// their runs in main, keeping rows main already has (its unique keys), and
// returns how many it added.
func copyRunRows(ctx context.Context, tx *sql.Tx, table string, where ...string) (int64, error) {
	cols, err := columns(ctx, tx, table, "id", "run_id")
	if err != nil {
		return 0, err
	}
	q := `INSERT OR IGNORE INTO main.` + table + ` (run_id, ` + strings.Join(cols, ", ") + `)
		SELECT m.id, ` + prefixed("p", cols) + `
		FROM src.` + table + ` p JOIN src.runs s ON s.id = p.run_id JOIN main.runs m ON m.run_uid = s.run_uid`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	return execCount(ctx, tx, q+` ORDER BY p.id`)
}

func mergePoints(ctx context.Context, tx *sql.Tx) (int64, error) {
	return copyRunRows(ctx, tx, "point_rows")
}

func mergeFits(ctx context.Context, tx *sql.Tx) (int64, error) { return copyRunRows(ctx, tx, "fits") }

// mergePointBlocks copies the point blocks of merged runs (a block is
// identified by its run, pathway and first index) and returns the number
// of points they hold.
func mergePointBlocks(ctx context.Context, tx *sql.Tx) (int64, error) {
	count := func() (int64, error) {
		var n int64
		err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(n_points), 0) FROM main.point_blocks`).Scan(&n)
		return n, err
	}
	before, err := count()
	if err != nil {
		return 0, err
	}
	// A block is the same in every copy of its run, but for a union run's:
	// each database's union step groups the points in its own order, so a
	// second copy of a union run would add blocks of points it holds. Its
	// blocks are copied only into a union run without blocks; the union
	// step then adds the points it lacks, one by one.
	// coalesce: for a run that is not a union the CASE is NULL, and NOT of
	// NULL would have skipped every new block of a run merged before.
	if _, err := copyRunRows(ctx, tx, "point_blocks", `NOT coalesce(s.command = 'sweep'
		AND CASE WHEN json_valid(s.settings) THEN json_extract(s.settings, '$.union_of.shard_n') END > 1
		AND EXISTS (SELECT 1 FROM main.point_blocks x WHERE x.run_id = m.id), 0)`); err != nil {
		return 0, err
	}
	after, err := count()
	return after - before, err
}

// CheckMergeSpecs applies Merge's spec rule to merging srcPaths into
// dstPath in order, before anything is written: a source whose experiment
// has a spec the destination (or a source merged before it) has not under
// that name is refused. Merge itself found it only at that source, with
// the sources before it already merged. Sources with no dendfit schema
// yet, and a destination that does not exist, hold no experiment.
func CheckMergeSpecs(ctx context.Context, dstPath string, srcPaths []string) error {
	seen := map[string]map[string]string{} // name -> sha256 -> file that has it
	add := func(path string, first bool) error {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && first {
			return nil
		}
		d, have, err := openReadOnly(ctx, path)
		if err != nil {
			return err
		}
		defer d.Close()
		if have == 0 {
			return nil
		}
		exps, err := d.Experiments(ctx)
		if err != nil {
			return err
		}
		var msgs []string
		for _, e := range exps {
			shas := seen[e.Name]
			if len(shas) > 0 && shas[e.SpecSHA256] == "" {
				var others []string
				for sha, file := range shas {
					others = append(others, fmt.Sprintf("%.12s in %s", sha, file))
				}
				slices.Sort(others)
				msgs = append(msgs, fmt.Sprintf("experiment %q has spec sha256 %.12s in %s but %s", e.Name, e.SpecSHA256, path, strings.Join(others, ", ")))
			}
		}
		if len(msgs) > 0 {
			return fmt.Errorf("db: merge: %w: %s; the databases hold different specs under one experiment name (nothing was merged)", ErrMixedSpecs, strings.Join(msgs, "; "))
		}
		for _, e := range exps {
			if seen[e.Name] == nil {
				seen[e.Name] = map[string]string{}
			}
			if seen[e.Name][e.SpecSHA256] == "" {
				seen[e.Name][e.SpecSHA256] = path
			}
		}
		return nil
	}
	if err := add(dstPath, true); err != nil {
		return err
	}
	for _, p := range srcPaths {
		if err := add(p, false); err != nil {
			return err
		}
	}
	return nil
}
