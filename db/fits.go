package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
)

// InsertFit records the fit of one pathway of run runID and returns its
// id. A run holds one fit a pathway: one already recorded for the
// pathway is replaced by f.
func (d *DB) InsertFit(ctx context.Context, runID int64, f Fit) (int64, error) {
	var id int64
	err := d.withTx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = insertFit(ctx, tx, runID, &f)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("db: insert fit of run %d pathway %d: %w", runID, f.Pathway, err)
	}
	return id, nil
}

func insertFit(ctx context.Context, tx *sql.Tx, runID int64, f *Fit) (int64, error) {
	rec := f.Receptors
	if rec == nil {
		rec = []string{}
	}
	recJSON, err := json.Marshal(rec)
	if err != nil {
		return 0, err
	}
	g := f.GFitNS
	if g == nil {
		g = []float64{}
	}
	gJSON, err := json.Marshal(g)
	if err != nil {
		return 0, err
	}
	warnings := f.Warnings
	if warnings == nil {
		warnings = []string{}
	}
	wJSON, err := json.Marshal(warnings)
	if err != nil {
		return 0, err
	}
	residuals := "null"
	if len(f.Residuals) > 0 {
		if !json.Valid(f.Residuals) {
			return 0, fmt.Errorf("residuals are not valid JSON")
		}
		residuals = string(f.Residuals)
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO fits (run_id, pathway, pre, post, compartment, record, tag,
		receptors, target_psp_mV, g_fit_nS, t_decay_ms, t_rise_ms, psp_at_fit_mV, psp_fine_dt_mV,
		evaluations, converged, outcome, message, residuals, warnings)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (run_id, pathway) DO UPDATE SET
			pre = excluded.pre, post = excluded.post, compartment = excluded.compartment,
			record = excluded.record, tag = excluded.tag, receptors = excluded.receptors,
			target_psp_mV = excluded.target_psp_mV, g_fit_nS = excluded.g_fit_nS,
			t_decay_ms = excluded.t_decay_ms, t_rise_ms = excluded.t_rise_ms,
			psp_at_fit_mV = excluded.psp_at_fit_mV, psp_fine_dt_mV = excluded.psp_fine_dt_mV,
			evaluations = excluded.evaluations, converged = excluded.converged,
			outcome = excluded.outcome, message = excluded.message, residuals = excluded.residuals,
			warnings = excluded.warnings
		RETURNING id`,
		runID, f.Pathway, f.Pre, f.Post, f.Compartment, f.Record, f.Tag,
		string(recJSON), f.TargetPSPMV, string(gJSON), nullFloat(f.TDecayMS), nullFloat(f.TRiseMS),
		f.PSPAtFitMV, nullFloat(f.PSPFineDtMV), f.Evaluations, f.Converged, f.Outcome, f.Message, residuals, string(wJSON)).Scan(&id)
	return id, err
}

// fitColumns returns the columns of a fit's PSP, PSP at dt/10 and
// warnings (alias f) for a database of schema version v, which a database
// opened read-only may not be migrated to: before 0007 the PSPs were
// stored as |PSP| and are signed here as that migration signs them (by
// the run's evaluation nearest the fit's g); before 0005 fits had no
// warnings.
func fitColumns(v int) (psp, fine, warnings string) {
	psp, fine, warnings = "f.psp_at_fit_mV", "f.psp_fine_dt_mV", "f.warnings"
	if v < 5 {
		warnings = "'[]'"
	}
	if v >= 7 {
		return psp, fine, warnings
	}
	points := "point_rows"
	if v < 3 { // 0003 renamed the table
		points = "points"
	}
	sign := `(CASE WHEN f.psp_at_fit_mV > 0 AND (SELECT p.psp_mV FROM ` + points + ` p
		WHERE p.run_id = f.run_id AND p.pathway = f.pathway AND p.status = 'ok' AND p.psp_mV IS NOT NULL
		ORDER BY abs(p.g_nS - json_extract(f.g_fit_nS, '$[0]')), p.id DESC LIMIT 1) < 0 THEN -1 ELSE 1 END)`
	return psp + " * " + sign, fine + " * " + sign, warnings
}

// Fits returns the fits matching f, ordered by run then pathway.
func (d *DB) Fits(ctx context.Context, f FitFilter) ([]Fit, error) {
	v, err := schemaVersion(ctx, d.sql, "main")
	if err != nil {
		return nil, fmt.Errorf("db: list fits: %w", err)
	}
	psp, fine, wcol := fitColumns(v)
	q := `SELECT f.id, f.run_id, f.pathway, f.pre, f.post, f.compartment, f.record, f.tag, f.receptors,
		f.target_psp_mV, f.g_fit_nS, f.t_decay_ms, f.t_rise_ms, ` + psp + `, ` + fine + `,
		f.evaluations, f.converged, f.outcome, f.message, f.residuals, ` + wcol + `, coalesce(e.name, '')
		FROM fits f LEFT JOIN runs r ON r.id = f.run_id LEFT JOIN experiments e ON e.id = r.experiment_id`
	var where []string
	var args []any
	if f.Experiment != "" {
		where, args = append(where, "e.name = ?"), append(args, f.Experiment)
	}
	if f.RunID != 0 {
		where, args = append(where, "f.run_id = ?"), append(args, f.RunID)
	}
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY f.run_id, f.pathway`
	rows, err := d.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("db: list fits: %w", err)
	}
	defer rows.Close()
	var out []Fit
	for rows.Next() {
		var x Fit
		var rec, g, residuals, warnings string
		var tDecay, tRise, fine sql.NullFloat64
		if err := rows.Scan(&x.ID, &x.RunID, &x.Pathway, &x.Pre, &x.Post, &x.Compartment, &x.Record, &x.Tag, &rec,
			&x.TargetPSPMV, &g, &tDecay, &tRise, &x.PSPAtFitMV, &fine,
			&x.Evaluations, &x.Converged, &x.Outcome, &x.Message, &residuals, &warnings, &x.Experiment); err != nil {
			return nil, fmt.Errorf("db: list fits: %w", err)
		}
		if err := json.Unmarshal([]byte(rec), &x.Receptors); err != nil {
			return nil, fmt.Errorf("db: list fits: fit %d: bad receptors JSON: %w", x.ID, err)
		}
		if err := json.Unmarshal([]byte(g), &x.GFitNS); err != nil {
			return nil, fmt.Errorf("db: list fits: fit %d: bad g_fit_nS JSON: %w", x.ID, err)
		}
		if err := json.Unmarshal([]byte(warnings), &x.Warnings); err != nil {
			return nil, fmt.Errorf("db: list fits: fit %d: bad warnings JSON: %w", x.ID, err)
		}
		if len(x.Warnings) == 0 {
			x.Warnings = nil
		}
		x.TDecayMS, x.TRiseMS, x.PSPFineDtMV = floatPtr(tDecay), floatPtr(tRise), floatPtr(fine)
		x.Residuals = json.RawMessage(residuals)
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("db: list fits: %w", err)
	}
	return out, nil
}

// InsertFitResults records the evaluations (as points) and the fit rows of
// a fit run in one transaction: a calibration is recorded whole or not at
// all, and one commit costs less than one per pathway.
func (d *DB) InsertFitResults(ctx context.Context, runID int64, points []Point, fits []Fit) error {
	err := d.withTx(ctx, func(tx *sql.Tx) error {
		if err := insertPoints(ctx, tx, runID, points); err != nil {
			return err
		}
		for i := range fits {
			if _, err := insertFit(ctx, tx, runID, &fits[i]); err != nil {
				return fmt.Errorf("fit of pathway %d: %w", fits[i].Pathway, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("db: record fit run %d: %w", runID, err)
	}
	return nil
}
