package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

func nullFloat(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func floatPtr(n sql.NullFloat64) *float64 {
	if !n.Valid {
		return nil
	}
	v := n.Float64
	return &v
}

// InsertPoints records points of run runID in one transaction. A point
// whose PointKey the run already has is skipped (INSERT OR IGNORE), so a
// resumed run never records a point twice.
func (d *DB) InsertPoints(ctx context.Context, runID int64, points []Point) error {
	if len(points) == 0 {
		return nil
	}
	err := d.withTx(ctx, func(tx *sql.Tx) error { return insertPoints(ctx, tx, runID, points) })
	if err != nil {
		return fmt.Errorf("db: insert %d points of run %d: %w", len(points), runID, err)
	}
	return nil
}

func insertPoints(ctx context.Context, tx *sql.Tx, runID int64, points []Point) error {
	stmt, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO point_rows (run_id, pathway, pre, post, compartment,
		record, tag, point_key, g_nS, t_decay_ms, t_rise_ms, receptors, psp_mV, baseline_mV, time_to_peak_ms,
		rise_10_90_ms, half_width_ms, peaks_mV, i_hold_pA, dspike_fired, status, error)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	var buf []byte
	for i := range points {
		p := &points[i]
		if p.PointKey == "" {
			return fmt.Errorf("point %d: empty point key", i)
		}
		status := p.Status
		if status == "" {
			status = PointOK
			if p.Error != "" {
				status = PointFailed
			}
		}
		if status != PointOK && status != PointFailed {
			return fmt.Errorf("point %s: invalid status %q", p.PointKey, status)
		}
		// json.Marshal (reflection, map sorting) costs more than the row.
		buf = appendReceptorsJSON(buf[:0], p.Receptors)
		recJSON := string(buf)
		buf = appendPeaksJSON(buf[:0], p.PeaksMV)
		peaksJSON := string(buf)
		var psp, base, ttp any = p.PSPMV, p.BaselineMV, p.TimeToPeakMS
		if status == PointFailed {
			psp, base, ttp = nil, nil, nil
		}
		if _, err := stmt.ExecContext(ctx, runID, p.Pathway, p.Pre, p.Post, p.Compartment,
			p.Record, p.Tag, p.PointKey, p.GNS, p.TDecayMS, nullFloat(p.TRiseMS), recJSON, psp, base, ttp,
			nullFloat(p.Rise1090MS), nullFloat(p.HalfWidthMS), peaksJSON, nullFloat(p.IHoldPA),
			p.DSpikeFired, status, nullString(p.Error)); err != nil {
			return fmt.Errorf("point %s: %w", p.PointKey, err)
		}
	}
	return nil
}

// eachPointKey calls row with the key of each of run runID's point rows,
// then block with each of its blocks, one at a time: a million points'
// blocks are not held at once.
func eachPointKey(ctx context.Context, q rowsQueryer, runID int64, row func(string), block func(*PointBlock)) error {
	rows, err := q.QueryContext(ctx, `SELECT point_key FROM point_rows WHERE run_id = ?`, runID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return err
		}
		row(k)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	cols, err := blockColumnsOf(ctx, q)
	if err != nil {
		return err
	}
	brows, err := q.QueryContext(ctx, `SELECT `+cols+` FROM point_blocks b WHERE b.run_id = ? ORDER BY b.id`, runID)
	if err != nil {
		return err
	}
	defer brows.Close()
	for brows.Next() {
		b, err := scanBlock(brows)
		if err != nil {
			return fmt.Errorf("point block: %w", err)
		}
		block(b)
	}
	return brows.Err()
}

// Points returns the points matching f, ordered by pathway, point key and
// run. EachPoint lists them without holding them all.
func (d *DB) Points(ctx context.Context, f PointFilter) ([]Point, error) {
	var out []Point
	err := d.EachPoint(ctx, f, func(p *Point) error {
		out = append(out, *p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EachPoint calls fn with each point matching f, in the order of Points,
// and stops at the first error fn returns, which it returns. It reads a
// block only when its first point is due, and keeps only the points read
// and not yet passed to fn: a run of a million points is listed in a few
// tens of MB, where collecting it took 2.3 GB.
func (d *DB) EachPoint(ctx context.Context, f PointFilter, fn func(*Point) error) error {
	if err := eachPoint(ctx, d.sql, f, fn); err != nil {
		return fmt.Errorf("db: list points: %w", err)
	}
	return nil
}

func eachPoint(ctx context.Context, q rowsQueryer, f PointFilter, fn func(*Point) error) error {
	// A database opened read-only is not migrated: before 0003 it has no
	// blocks, and its points table has point_rows' columns.
	v, err := schemaVersion(ctx, q, "main")
	if err != nil {
		return err
	}
	rowTable := "point_rows"
	if v < 3 {
		rowTable = "points"
	}
	rq := `SELECT p.id, p.run_id, p.pathway, p.pre, p.post, p.compartment, p.record, p.tag, p.point_key,
		p.g_nS, p.t_decay_ms, p.t_rise_ms, p.receptors, p.psp_mV, p.baseline_mV, p.time_to_peak_ms,
		p.rise_10_90_ms, p.half_width_ms, p.peaks_mV, p.i_hold_pA, p.dspike_fired, p.status, p.error
		FROM ` + rowTable + ` p`
	bq := `SELECT b.id, b.run_id, b.pathway, b.n_g, b.n_t_decay, b.n_t_rise, b.first_index
		FROM point_blocks b`
	// Each filter as a condition on the rows and on the blocks (block
	// points are then filtered in Go; "" where a filter does not select
	// blocks).
	type cond struct {
		rows, blocks string
		arg          any
	}
	var conds []cond
	if f.Experiment != "" {
		rq += ` JOIN runs r ON r.id = p.run_id JOIN experiments e ON e.id = r.experiment_id`
		bq += ` JOIN runs r ON r.id = b.run_id JOIN experiments e ON e.id = r.experiment_id`
		conds = append(conds, cond{"e.name = ?", "e.name = ?", f.Experiment})
	}
	if f.RunID != 0 {
		conds = append(conds, cond{"p.run_id = ?", "b.run_id = ?", f.RunID})
	}
	if f.Pathway != nil {
		conds = append(conds, cond{"p.pathway = ?", "b.pathway = ?", *f.Pathway})
	}
	if f.Status != "" {
		conds = append(conds, cond{"p.status = ?", "", f.Status})
	}
	if f.GMinNS != nil {
		conds = append(conds, cond{"p.g_nS >= ?", "b.g_max_nS >= ?", *f.GMinNS})
	}
	if f.GMaxNS != nil {
		conds = append(conds, cond{"p.g_nS <= ?", "b.g_min_nS <= ?", *f.GMaxNS})
	}
	var where, bwhere []string
	var args, bargs []any
	for _, c := range conds {
		where, args = append(where, c.rows), append(args, c.arg)
		if c.blocks != "" {
			bwhere, bargs = append(bwhere, c.blocks), append(bargs, c.arg)
		}
	}
	if len(where) > 0 {
		rq += ` WHERE ` + strings.Join(where, " AND ")
	}
	if len(bwhere) > 0 {
		bq += ` WHERE ` + strings.Join(bwhere, " AND ")
	}
	var metas []blockMeta
	if v >= 3 {
		if metas, err = blockMetas(ctx, q, bq, bargs); err != nil {
			return err
		}
	}
	rows, err := q.QueryContext(ctx, rq+` ORDER BY p.pathway, p.point_key, p.run_id`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	m := pointMerge{ctx: ctx, q: q, f: &f, metas: metas}
	var row *Point
	nextRow := func() error {
		row = nil
		if !rows.Next() {
			return rows.Err()
		}
		p, err := scanPointRow(rows)
		if err != nil {
			return err
		}
		row = p
		return nil
	}
	if err := nextRow(); err != nil {
		return err
	}
	for n := 0; f.Limit <= 0 || n < f.Limit; n++ {
		next, ok, err := m.next(row)
		if err != nil || !ok {
			return err
		}
		var p Point
		if next.row != nil {
			p = *row
			if err := nextRow(); err != nil {
				return err
			}
		} else {
			m.pop()
			p = next.b.point(next.run, next.i)
		}
		if err := fn(&p); err != nil {
			return err
		}
	}
	return nil
}

// scanPointRow scans a point_rows row of eachPoint's query.
func scanPointRow(rows *sql.Rows) (*Point, error) {
	var p Point
	var tRise, psp, base, ttp, rise, half, ihold sql.NullFloat64
	var rec, peaks string
	var errText sql.NullString
	if err := rows.Scan(&p.ID, &p.RunID, &p.Pathway, &p.Pre, &p.Post, &p.Compartment, &p.Record, &p.Tag,
		&p.PointKey, &p.GNS, &p.TDecayMS, &tRise, &rec, &psp, &base, &ttp,
		&rise, &half, &peaks, &ihold, &p.DSpikeFired, &p.Status, &errText); err != nil {
		return nil, err
	}
	p.TRiseMS, p.Rise1090MS, p.HalfWidthMS, p.IHoldPA = floatPtr(tRise), floatPtr(rise), floatPtr(half), floatPtr(ihold)
	p.PSPMV, p.BaselineMV, p.TimeToPeakMS = psp.Float64, base.Float64, ttp.Float64
	p.Error = errText.String
	if err := json.Unmarshal([]byte(rec), &p.Receptors); err != nil {
		return nil, fmt.Errorf("point %d: bad receptors JSON: %w", p.ID, err)
	}
	if err := json.Unmarshal([]byte(peaks), &p.PeaksMV); err != nil {
		return nil, fmt.Errorf("point %d: bad peaks_mV JSON: %w", p.ID, err)
	}
	return &p, nil
}

// appendReceptorsJSON writes rs as the JSON array the receptors column holds.
func appendReceptorsJSON(b []byte, rs []Receptor) []byte {
	b = append(b, '[')
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"channel":`...)
		b = appendJSONString(b, r.Channel)
		b = append(b, `,"g_nS":`...)
		b = appendJSONFloat(b, r.GNS)
		b = append(b, `,"t_decay_ms":`...)
		b = appendJSONFloat(b, r.TDecayMS)
		b = append(b, `,"t_rise_ms":`...)
		if r.TRiseMS == nil {
			b = append(b, "null"...)
		} else {
			b = appendJSONFloat(b, *r.TRiseMS)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendPeaksJSON writes the peaks as a JSON object with sorted keys.
func appendPeaksJSON(b []byte, peaks map[string]float64) []byte {
	keys := make([]string, 0, len(peaks))
	for k := range peaks {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONFloat(b, peaks[k])
	}
	return append(b, '}')
}

// appendJSONFloat writes v as a JSON number (shortest round-trip form);
// non-finite values, which JSON cannot carry, become null.
func appendJSONFloat(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// appendJSONString writes s as a JSON string (invalid UTF-8 becomes U+FFFD).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}
