package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Experiment returns experiment id with its spec text; the error wraps
// ErrNotFound if there is none.
func (d *DB) Experiment(ctx context.Context, id int64) (*Experiment, error) {
	var e Experiment
	var text, created string
	err := d.sql.QueryRowContext(ctx, `SELECT id, name, spec_text, spec_sha256, created_at
		FROM experiments WHERE id = ?`, id).Scan(&e.ID, &e.Name, &text, &e.SpecSHA256, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("db: experiment %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("db: experiment %d: %w", id, err)
	}
	e.SpecText = []byte(text)
	if e.CreatedAt, err = parseTime(created); err != nil {
		return nil, fmt.Errorf("db: experiment %d: %w", id, err)
	}
	return &e, nil
}
