// Package db is dendfit's results database: every simulate, sweep, fit and
// reproduce run is recorded in SQLite together with the experiment spec it
// ran (verbatim, with its sha256) and enough provenance to rerun it.
//
// Open applies the embedded forward-only migrations of package migrations
// and refuses a database written by a newer dendfit. Every writing method
// runs in its own BEGIN IMMEDIATE transaction and the connection waits up
// to ten seconds on a busy database, so several goroutines, handles or
// processes may write to one file concurrently. Shard databases written on
// different machines are combined with Merge, which dedupes runs on their
// random run_uid and points on (run, point_key), so merging is idempotent.
//
// Sweeps record their points in blocks (PointBlock), many points a row.
// Readers see them as Points. EachPoint lists a run of any size while
// holding only the blocks it is reading, and RecordedPoints gives the
// compact set of grid points a resumed sweep skips.
//
// Go field names mirror the columns, with the column's unit as a suffix in
// Go initialism style: psp_mV is PSPMV, t_decay_ms is TDecayMS, g_nS is
// GNS, i_hold_pA is IHoldPA. Nullable columns are pointers. Times are
// stored as UTC RFC 3339 text with a fixed nine-digit fraction, so that
// they sort lexically.
package db
