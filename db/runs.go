package db

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

// PutExperiment records an experiment spec, exactly as read, and returns
// its id. It is idempotent: the same name and spec text return the
// existing row.
func (d *DB) PutExperiment(ctx context.Context, name string, specText []byte) (int64, error) {
	if name == "" {
		return 0, errors.New("db: put experiment: empty name")
	}
	sum := sha256.Sum256(specText)
	sha := hex.EncodeToString(sum[:])
	var id int64
	err := d.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = putExperiment(ctx, tx, name, string(specText), sha, formatTime(time.Now()))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("db: put experiment %q: %w", name, err)
	}
	return id, nil
}

func putExperiment(ctx context.Context, tx *sql.Tx, name, text, sha, created string) (int64, error) {
	if _, err := tx.ExecContext(ctx, `INSERT INTO experiments (name, spec_text, spec_sha256, created_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (name, spec_sha256) DO NOTHING`, name, text, sha, created); err != nil {
		return 0, err
	}
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM experiments WHERE name = ? AND spec_sha256 = ?`, name, sha).Scan(&id)
	return id, err
}

// Experiments returns all recorded experiment specs, by name then age.
func (d *DB) Experiments(ctx context.Context) ([]Experiment, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT id, name, spec_text, spec_sha256, created_at
		FROM experiments ORDER BY name, created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("db: list experiments: %w", err)
	}
	defer rows.Close()
	var out []Experiment
	for rows.Next() {
		var e Experiment
		var text, created string
		if err := rows.Scan(&e.ID, &e.Name, &text, &e.SpecSHA256, &created); err != nil {
			return nil, fmt.Errorf("db: list experiments: %w", err)
		}
		e.SpecText = []byte(text)
		if e.CreatedAt, err = parseTime(created); err != nil {
			return nil, fmt.Errorf("db: list experiments: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("db: list experiments: %w", err)
	}
	return out, nil
}

// NewRun returns a running Run of command with argv and this process's
// provenance filled in: dendfit version and VCS state from the build
// info, Go version, OS, architecture and host name. The caller sets the
// remaining fields before CreateRun.
func NewRun(experimentID int64, command string, argv []string) *Run {
	r := &Run{
		ExperimentID: experimentID,
		Command:      command,
		Argv:         append([]string(nil), argv...),
		Status:       StatusRunning,
		GoVersion:    runtime.Version(),
		OS:           runtime.GOOS,
		Arch:         runtime.GOARCH,
		ShardN:       1,
	}
	r.Host, _ = os.Hostname()
	if bi, ok := debug.ReadBuildInfo(); ok {
		r.Version = bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				r.VCSRevision = s.Value
			case "vcs.modified":
				r.VCSModified = s.Value == "true"
			}
		}
	}
	return r
}

// NewRunUID returns a random 128-bit id in hex.
func NewRunUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

func validStatus(s string) bool {
	switch s {
	case StatusRunning, StatusDone, StatusFailed, StatusCancelled:
		return true
	}
	return false
}

// CreateRun records r and returns its id, also stored in r.ID. It fills
// r.RunUID if empty, r.StartedAt if zero and r.Status (StatusRunning) if
// empty. r.Settings must be valid JSON if set.
func (d *DB) CreateRun(ctx context.Context, r *Run) (int64, error) {
	return d.createRun(ctx, r, nil)
}

// CreateClaimedRun is CreateRun for a run this process works on: it claims
// the run (ClaimRun) before its row is committed, so that no reader ever
// sees it running unclaimed (interrupted), and no `sweep --resume` of
// another process takes it over in between. When the claim cannot be
// made, the run is recorded unclaimed, with the claim's error in claimErr
// and a nil release; or, if mustClaim, recorded as failed with the
// claim's error as its error text, and that error returned.
func (d *DB) CreateClaimedRun(ctx context.Context, r *Run, mustClaim bool) (id int64, release func(), claimErr, err error) {
	id, err = d.createRun(ctx, r, func(tx *sql.Tx, id int64) error {
		release, claimErr = d.ClaimRun(id)
		if claimErr != nil && mustClaim {
			return setRunStatus(ctx, tx, id, StatusFailed, formatTime(time.Now()), claimErr.Error())
		}
		return nil
	})
	switch {
	case err != nil:
		if release != nil {
			release()
		}
		return 0, nil, nil, err
	case claimErr != nil && mustClaim:
		return id, nil, nil, claimErr
	}
	return id, release, claimErr, nil
}

// createRun records r, calling claim (if not nil) with its id in the
// transaction that records it; claim's error rolls the run back.
func (d *DB) createRun(ctx context.Context, r *Run, claim func(tx *sql.Tx, id int64) error) (int64, error) {
	if r.RunUID == "" {
		uid, err := NewRunUID()
		if err != nil {
			return 0, fmt.Errorf("db: create run: %w", err)
		}
		r.RunUID = uid
	}
	if r.StartedAt.IsZero() {
		r.StartedAt = time.Now()
	}
	r.StartedAt = r.StartedAt.UTC()
	if r.Status == "" {
		r.Status = StatusRunning
	}
	if !validStatus(r.Status) {
		return 0, fmt.Errorf("db: create run: invalid status %q", r.Status)
	}
	if r.Command == "" {
		return 0, errors.New("db: create run: empty command")
	}
	settings := "{}"
	if len(r.Settings) > 0 {
		if !json.Valid(r.Settings) {
			return 0, fmt.Errorf("db: create run: settings are not valid JSON")
		}
		settings = string(r.Settings)
	}
	argv := r.Argv
	if argv == nil {
		argv = []string{}
	}
	argvJSON, err := json.Marshal(argv)
	if err != nil {
		return 0, fmt.Errorf("db: create run: %w", err)
	}
	var ended any
	if r.EndedAt != nil {
		ended = formatTime(*r.EndedAt)
	}
	var id int64
	err = d.withTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO runs (experiment_id, command, argv, status, started_at, ended_at,
			version, vcs_revision, vcs_modified, go_version, os, arch, host, workers, shard_k, shard_n,
			dt_ms, method, settings, error, reproduces_run_id, run_uid)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			r.ExperimentID, r.Command, string(argvJSON), r.Status, formatTime(r.StartedAt), ended,
			r.Version, r.VCSRevision, r.VCSModified, r.GoVersion, r.OS, r.Arch, r.Host, r.Workers, r.ShardK, r.ShardN,
			r.DtMS, r.Method, settings, nullString(r.Error), r.ReproducesRunID, r.RunUID).Scan(&id)
		if err != nil || claim == nil {
			return err
		}
		return claim(tx, id)
	})
	if err != nil {
		return 0, fmt.Errorf("db: create %s run: %w", r.Command, err)
	}
	r.ID = id
	return id, nil
}

// FinishRun ends run id with status (StatusDone, StatusFailed or
// StatusCancelled) and error text, setting ended_at to now.
func (d *DB) FinishRun(ctx context.Context, id int64, status, errText string) error {
	if !validStatus(status) || status == StatusRunning {
		return fmt.Errorf("db: finish run %d: invalid final status %q", id, status)
	}
	err := d.withTx(ctx, func(tx *sql.Tx) error {
		return setRunStatus(ctx, tx, id, status, formatTime(time.Now()), nullString(errText))
	})
	if err != nil {
		return fmt.Errorf("db: finish run %d: %w", id, err)
	}
	return nil
}

// SweptElsewhere is where a merge found a run still being swept: the file
// and the run's id there, and when (TimeFormat). A merge records it in the
// copy's settings under "swept_elsewhere"; a later merge of the finished
// run replaces the settings, and it with them.
type SweptElsewhere struct {
	File  string `json:"file"`
	RunID int64  `json:"run_id"`
	At    string `json:"at"`
}

// MarkSweptElsewhere records in the settings of the run with run_uid uid,
// while it is stored running, that it was being swept in file (run id
// there) when merged into d: no process claims it in d, where it reads as
// interrupted, and --resume here would sweep its points a second time.
func (d *DB) MarkSweptElsewhere(ctx context.Context, uid, file string, id int64) error {
	mark, err := json.Marshal(SweptElsewhere{File: file, RunID: id, At: formatTime(time.Now())})
	if err != nil {
		return err
	}
	err = d.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE runs SET settings = json_set(CASE WHEN json_valid(settings) AND json_type(settings) = 'object' THEN settings ELSE '{}' END, '$.swept_elsewhere', json(?))
			WHERE run_uid = ? AND status = 'running'`, string(mark), uid)
		return err
	})
	if err != nil {
		return fmt.Errorf("db: mark run %s swept in %s: %w", uid, file, err)
	}
	return nil
}

// SweptElsewhere returns where a merge found r being swept, if it did
// (MarkSweptElsewhere) and r is still stored running.
func (r *Run) SweptElsewhere() (SweptElsewhere, bool) {
	var s struct {
		M *SweptElsewhere `json:"swept_elsewhere"`
	}
	if r.Status != StatusRunning && r.Status != StatusInterrupted || json.Unmarshal(r.Settings, &s) != nil || s.M == nil {
		return SweptElsewhere{}, false
	}
	return *s.M, true
}

// ReopenRun marks a finished or interrupted run as running again,
// clearing ended_at and error, for the caller holding its claim
// (ClaimRun) to resume it; points it already has are kept. The run's
// columns keep the provenance of the session that started it; that of the
// resuming session (session's argv, workers, version, revision, Go, OS,
// host; see NewRun) is appended to the run's settings under "resumed", so
// that points recorded by another binary or host can be told apart. A nil
// session records none.
func (d *DB) ReopenRun(ctx context.Context, id int64, session *Run) error {
	err := d.withTx(ctx, func(tx *sql.Tx) error {
		// How the run was left, which reopening overwrites: the session
		// entry keeps it.
		var prevStatus string
		var prevEnded, prevErr sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT status, ended_at, error FROM runs WHERE id = ?`, id).Scan(&prevStatus, &prevEnded, &prevErr); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("run %d: %w", id, ErrNotFound)
			}
			return err
		}
		if prevStatus == StatusRunning {
			// Its resumer holds its claim (ClaimRun), which no one else
			// did: the run's process had ended without finishing it.
			prevStatus = StatusInterrupted
		}
		if err := setRunStatus(ctx, tx, id, StatusRunning, nil, nil); err != nil {
			return err
		}
		if session == nil {
			return nil
		}
		rs := resumedSession{
			StartedAt: formatTime(time.Now()), Argv: session.Argv, Workers: session.Workers,
			Version: session.Version, VCSRevision: session.VCSRevision, VCSModified: session.VCSModified,
			GoVersion: session.GoVersion, OS: session.OS, Arch: session.Arch, Host: session.Host,
			PreviousStatus: prevStatus, PreviousError: prevErr.String,
		}
		if prevEnded.Valid {
			rs.PreviousEndedAt = &prevEnded.String
		}
		b, err := json.Marshal(rs)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE runs SET settings = json_set(
				CASE WHEN json_type(settings) = 'object' THEN settings ELSE '{}' END, '$.resumed',
				json_insert(CASE WHEN json_type(settings, '$.resumed') = 'array' THEN json_extract(settings, '$.resumed') ELSE '[]' END,
					'$[#]', json(?)))
			WHERE id = ? AND (settings IS NULL OR json_valid(settings))`, string(b), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("db: reopen run %d: %w", id, err)
	}
	return nil
}

// resumedSession is the provenance of a session that resumed a run.
type resumedSession struct {
	StartedAt   string   `json:"started_at"`
	Argv        []string `json:"argv"`
	Workers     int      `json:"workers"`
	Version     string   `json:"version"`
	VCSRevision string   `json:"vcs_revision"`
	VCSModified bool     `json:"vcs_modified"`
	GoVersion   string   `json:"go_version"`
	OS          string   `json:"os"`
	Arch        string   `json:"arch"`
	Host        string   `json:"host"`
	// How the run was left before this session: its status (interrupted
	// when its process died), end time and error.
	PreviousStatus  string  `json:"previous_status"`
	PreviousEndedAt *string `json:"previous_ended_at"`
	PreviousError   string  `json:"previous_error,omitempty"`
}

func setRunStatus(ctx context.Context, tx *sql.Tx, id int64, status string, ended, errText any) error {
	res, err := tx.ExecContext(ctx, `UPDATE runs SET status = ?, ended_at = ?, error = ? WHERE id = ?`,
		status, ended, errText, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrNotFound
	}
	return nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

const runColumns = `r.id, r.experiment_id, e.name, r.command, r.argv, r.status, r.started_at, r.ended_at,
	r.version, r.vcs_revision, r.vcs_modified, r.go_version, r.os, r.arch, r.host, r.workers, r.shard_k, r.shard_n,
	r.dt_ms, r.method, r.settings, r.error, r.reproduces_run_id, r.run_uid
	FROM runs r JOIN experiments e ON e.id = r.experiment_id`

type scanner interface{ Scan(dest ...any) error }

func scanRun(s scanner) (*Run, error) {
	var r Run
	var argv, started, settings string
	var ended, errText sql.NullString
	var repro sql.NullInt64
	if err := s.Scan(&r.ID, &r.ExperimentID, &r.Experiment, &r.Command, &argv, &r.Status, &started, &ended,
		&r.Version, &r.VCSRevision, &r.VCSModified, &r.GoVersion, &r.OS, &r.Arch, &r.Host, &r.Workers, &r.ShardK, &r.ShardN,
		&r.DtMS, &r.Method, &settings, &errText, &repro, &r.RunUID); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(argv), &r.Argv); err != nil {
		return nil, fmt.Errorf("run %d: bad argv JSON: %w", r.ID, err)
	}
	var err error
	if r.StartedAt, err = parseTime(started); err != nil {
		return nil, fmt.Errorf("run %d: %w", r.ID, err)
	}
	if ended.Valid {
		t, err := parseTime(ended.String)
		if err != nil {
			return nil, fmt.Errorf("run %d: %w", r.ID, err)
		}
		r.EndedAt = &t
	}
	r.Settings = json.RawMessage(settings)
	r.Error = errText.String
	if repro.Valid {
		r.ReproducesRunID = &repro.Int64
	}
	return &r, nil
}

// Run returns run id; the error wraps ErrNotFound if there is none.
func (d *DB) Run(ctx context.Context, id int64) (*Run, error) {
	r, err := scanRun(d.sql.QueryRowContext(ctx, `SELECT `+runColumns+` WHERE r.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("db: run %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("db: run %d: %w", id, err)
	}
	if err := d.markInterrupted(r); err != nil {
		return nil, err
	}
	return r, nil
}

// markInterrupted reports run r as StatusInterrupted when it is stored as
// running and no process claims it.
func (d *DB) markInterrupted(r *Run) error {
	if r.Status != StatusRunning {
		return nil
	}
	// A claim that cannot be tested (the lock file unreadable) leaves the
	// run as stored: reads do not fail for want of a lock.
	if held, err := d.RunClaimed(r.ID); err == nil && !held {
		r.Status = StatusInterrupted
	}
	return nil
}

// Runs returns the runs matching f, newest first.
func (d *DB) Runs(ctx context.Context, f RunFilter) ([]Run, error) {
	var where []string
	var args []any
	if f.Experiment != "" {
		where, args = append(where, "e.name = ?"), append(args, f.Experiment)
	}
	if f.Command != "" {
		where, args = append(where, "r.command = ?"), append(args, f.Command)
	}
	limit, status := f.Limit, f.Status
	if status == StatusInterrupted || status == StatusRunning {
		// Told apart by their claims, after the query: the limit counts
		// the runs kept.
		status, limit = StatusRunning, 0
	}
	if status != "" {
		where, args = append(where, "r.status = ?"), append(args, status)
	}
	runs, err := d.queryRuns(ctx, where, args, limit, f.WholeGridFirst)
	if err != nil {
		return nil, fmt.Errorf("db: list runs: %w", err)
	}
	if status == StatusRunning {
		runs = slices.DeleteFunc(runs, func(r Run) bool { return r.Status != f.Status })
		if f.Limit > 0 && len(runs) > f.Limit {
			runs = runs[:f.Limit]
		}
	}
	return runs, nil
}

func (d *DB) queryRuns(ctx context.Context, where []string, args []any, limit int, wholeGridFirst bool) ([]Run, error) {
	q := `SELECT ` + runColumns
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY `
	if wholeGridFirst {
		q += `r.shard_n > 1, `
	}
	q += `r.started_at DESC, r.id DESC`
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := d.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		if err := d.markInterrupted(r); err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

// NewestRun returns the most recently started run of the named experiment
// and command whose status is one of statuses (any status if none given),
// one of the whole grid if there is one (see RunFilter.WholeGridFirst).
// An empty experiment or command matches any. The error wraps ErrNotFound
// if there is no such run.
func (d *DB) NewestRun(ctx context.Context, experiment, command string, statuses ...string) (*Run, error) {
	var where []string
	var args []any
	if experiment != "" {
		where, args = append(where, "e.name = ?"), append(args, experiment)
	}
	if command != "" {
		where, args = append(where, "r.command = ?"), append(args, command)
	}
	if len(statuses) > 0 {
		where = append(where, "r.status IN (?"+strings.Repeat(", ?", len(statuses)-1)+")")
		for _, s := range statuses {
			args = append(args, s)
		}
	}
	runs, err := d.queryRuns(ctx, where, args, 1, true)
	if err != nil {
		return nil, fmt.Errorf("db: newest run: %w", err)
	}
	if len(runs) == 0 {
		desc := "run"
		if command != "" {
			desc = command + " run"
		}
		if experiment != "" {
			desc += fmt.Sprintf(" of experiment %q", experiment)
		}
		if len(statuses) > 0 {
			desc += " with status " + strings.Join(statuses, " or ")
		}
		return nil, fmt.Errorf("db: no %s: %w", desc, ErrNotFound)
	}
	return &runs[0], nil
}
