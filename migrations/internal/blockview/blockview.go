// Package blockview writes the SQL of the points view, which decodes
// the point blocks of migrations 0003 and 0004 with nothing but core
// SQLite functions, so that sqlite3, pandas or R read block-stored sweeps
// as rows. The view's text is generated here (and pinned by a test)
// because each decoded float is a long expression.
package blockview

import (
	"fmt"
	"strings"
)

// f64 is the SQL that decodes the little-endian IEEE 754 double in slot
// s (an SQL integer expression) of the record hex string h. hex() gives two
// digits a byte, low byte first; the value is rebuilt as sign, 52-bit
// integer mantissa and a power of two from f64_scale, every step exact, so
// the view returns the stored double bit for bit (NULL for NaN and Inf).
func f64(s string) string {
	nib := func(p int) string { // digit p (1-based) of the slot, 0..15
		return fmt.Sprintf("instr('123456789ABCDEF',substr(h,16*(%s)+%d,1))", s, p)
	}
	weights := []string{"1", "256", "65536", "16777216", "4294967296", "1099511627776"}
	var m []string
	for k, w := range weights { // bytes 0..5: the mantissa's low 48 bits
		m = append(m, fmt.Sprintf("(16*%s+%s)*%s", nib(2*k+1), nib(2*k+2), w))
	}
	m = append(m, nib(14)+"*281474976710656") // low digit of byte 6: bits 48..51
	e := fmt.Sprintf("(%s+16*%s+256*(%s%%8))", nib(13), nib(16), nib(15))
	return fmt.Sprintf("(CASE WHEN %[1]s=2047 THEN NULL ELSE "+
		"(CASE WHEN %[2]s>=8 THEN -1.0 ELSE 1.0 END)*"+
		"((CASE WHEN %[1]s=0 THEN 0 ELSE 4503599627370496 END+%[3]s)*"+
		"(SELECT v FROM f64_scale WHERE f64_scale.e=%[1]s)) END)",
		e, nib(15), strings.Join(m, "+"))
}

// The innermost query, one row a point with its record as hex, is
// DISTINCT (its rows are distinct anyway) because that keeps SQLite from
// flattening it into the outer ones, which would recompute the hex, and
// reload the block's BLOB, for every digit decoded; unlike LIMIT, it still
// lets a filter such as run_id = 3 reach point_blocks.

// SQL returns migration 0003's CREATE VIEW statement of points: the
// point_rows table's rows and, decoded, every point of every block, with
// the same columns (id is NULL for block points).
func SQL() string { return view(3) }

// SQL4 returns migration 0004's CREATE VIEW statement of points: SQL's
// view, for blocks of either layout. A block with a layout has its
// records rebuilt first: a slot marked '.' from shared, the index ('+')
// as first_index plus the point's position, the others from its stored
// values.
func SQL4() string { return view(4) }

// rowPoints starts every points view: simulate's and fit's points, a row
// each, then (after it) the block points with the same columns.
const rowPoints = `CREATE VIEW points AS
SELECT id, run_id, pathway, pre, post, compartment, record, tag, point_key,
	g_nS, t_decay_ms, t_rise_ms, receptors, psp_mV, baseline_mV, time_to_peak_ms,
	rise_10_90_ms, half_width_ms, peaks_mV, i_hold_pA, dspike_fired, status, error
FROM point_rows
UNION ALL
`

// record is the SQL of one point's record as hex (2 digits a byte): the
// stored bytes, or under migration 0004's layout, the slots put back
// together one by one.
func record(version int) string {
	stored := "hex(substr(b.data, 8*b.stride*seq.i + 1, 8*b.stride))"
	if version < 4 {
		return stored
	}
	return `CASE WHEN b.layout = '' THEN ` + stored + ` ELSE
			(WITH RECURSIVE slot(k, acc, hp, hs) AS (
				SELECT 0, '', ` + stored + `, hex(b.shared)
				UNION ALL
				SELECT k + 1, acc || CASE substr(b.layout, k + 1, 1)
					WHEN '.' THEN substr(hs, 16*k + 1, 16)
					WHEN '+' THEN '0000000000000000'
					ELSE substr(hp, 16*(unicode(substr(b.layout, k + 1, 1)) - 65) + 1, 16) END, hp, hs
				FROM slot WHERE k < length(b.layout))
			SELECT acc FROM slot WHERE k = length(b.layout)) END`
}

func view(version int) string {
	idx := `CAST(` + f64("0") + ` AS INTEGER)`
	layoutCols := ""
	if version >= 4 {
		idx = `CASE WHEN substr(r.layout, 1, 1) = '+' THEN r.first_index + r.i ELSE ` + idx + ` END`
		layoutCols = " b.first_index, b.layout,"
	}
	v := func(s string) string { return "\n\t\t" + f64(s) }
	return rowPoints + `SELECT NULL, run_id, pathway, pre, post, compartment, record, tag,
	printf('p%04d/g%s/d%s/r%s', pathway,
		CASE WHEN n_g = 0 THEN '-' ELSE printf('%06d', idx / (max(n_t_rise, 1) * max(n_t_decay, 1))) END,
		CASE WHEN n_t_decay = 0 THEN '-' ELSE printf('%06d', idx / max(n_t_rise, 1) % n_t_decay) END,
		CASE WHEN n_t_rise = 0 THEN '-' ELSE printf('%06d', idx % n_t_rise) END),
	g_nS, t_decay_ms, t_rise_ms, receptors,
	CASE WHEN failed THEN NULL ELSE psp_mV END,
	CASE WHEN failed THEN NULL ELSE baseline_mV END,
	CASE WHEN failed THEN NULL ELSE time_to_peak_ms END,
	rise_10_90_ms, half_width_ms, peaks_mV, i_hold_pA, flags & 1,
	CASE WHEN failed THEN 'failed' ELSE 'ok' END,
	CASE WHEN failed THEN json_extract(errors, '$."' || i || '"') END
FROM (SELECT r.run_id, r.pathway, r.pre, r.post, r.compartment, r.record, r.tag,
		r.n_g, r.n_t_decay, r.n_t_rise, r.errors, r.i,
		` + idx + ` AS idx,
		CAST(` + f64("1") + ` AS INTEGER) AS flags,
		CAST(` + f64("1") + ` AS INTEGER) & 2 <> 0 AS failed,` +
		v("2") + ` AS psp_mV,` +
		v("3") + ` AS baseline_mV,` +
		v("4") + ` AS time_to_peak_ms,` +
		v("5") + ` AS rise_10_90_ms,` +
		v("6") + ` AS half_width_ms,` +
		v("7") + ` AS i_hold_pA,` +
		v("8") + ` AS g_nS,` +
		v("8+r.n_receptors") + ` AS t_decay_ms,` +
		v("8+2*r.n_receptors") + ` AS t_rise_ms,
		(SELECT json_group_array(json_object('channel', c.value,
			'g_nS',` + v("8+c.key") + `,
			't_decay_ms',` + v("8+r.n_receptors+c.key") + `,
			't_rise_ms',` + v("8+2*r.n_receptors+c.key") + `))
			FROM json_each(r.channels) c) AS receptors,
		(SELECT json_group_object(c.value,` + v("8+3*r.n_receptors+c.key") + `)
			FROM json_each(r.compartments) c
			WHERE ` + f64("8+3*r.n_receptors+c.key") + ` IS NOT NULL) AS peaks_mV
	FROM (WITH RECURSIVE seq(i) AS (
			SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < (SELECT max(n_points) FROM point_blocks))
		SELECT DISTINCT b.id, b.run_id, b.pathway, b.pre, b.post, b.compartment, b.record, b.tag,
			b.channels, b.compartments, b.n_receptors, b.n_g, b.n_t_decay, b.n_t_rise, b.errors,` + layoutCols + ` seq.i AS i,
			` + record(version) + ` AS h
		FROM point_blocks b JOIN seq ON seq.i < b.n_points) r);
`
}

// SQL6 returns migration 0006's CREATE VIEW statement of points: SQL4's
// rows and columns, bit for bit, read faster. Three DISTINCT layers (each
// keeps SQLite from flattening it into the next, which would compute its
// columns again for every use) do once what can be done once: per block,
// the offset of each fixed slot in a point's BLOB; per point, that BLOB
// (its stored bytes, then the block's shared ones; substr gives NULL, not
// an empty BLOB, for a block that stores none); then its flags, which
// five columns test, and its index. Each double is read a byte at a time
// and rebuilt with one f64_scale lookup (dec6), only where its column is
// read.
func SQL6() string {
	fixed := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "8+b.n_receptors", "8+2*b.n_receptors"}
	var perBlock []string
	for k, s := range fixed {
		perBlock = append(perBlock, fmt.Sprintf("%s AS o%d", offset("b.layout", "8*b.stride + 8*("+s+")", s), k))
	}
	// Slot k of point r.
	val := func(r string, k int) string { return dec6(r+".a", fmt.Sprintf("%s.o%d", r, k)) }
	slot := func(s string) string { return "(" + offset("r.layout", "r.sh + 8*("+s+")", s) + ")" }
	return rowPoints + `SELECT NULL, r.run_id, r.pathway, r.pre, r.post, r.compartment, r.record, r.tag,
	printf('p%04d/g%s/d%s/r%s', r.pathway,
		CASE WHEN r.n_g = 0 THEN '-' ELSE printf('%06d', r.idx / (max(r.n_t_rise, 1) * max(r.n_t_decay, 1))) END,
		CASE WHEN r.n_t_decay = 0 THEN '-' ELSE printf('%06d', r.idx / max(r.n_t_rise, 1) % r.n_t_decay) END,
		CASE WHEN r.n_t_rise = 0 THEN '-' ELSE printf('%06d', r.idx % r.n_t_rise) END),
	` + val("r", 8) + `,
	` + val("r", 9) + `,
	` + val("r", 10) + `,
	(SELECT json_group_array(json_object('channel', c.value,
		'g_nS', ` + dec6("r.a", slot("8+c.key")) + `,
		't_decay_ms', ` + dec6("r.a", slot("8+r.n_receptors+c.key")) + `,
		't_rise_ms', ` + dec6("r.a", slot("8+2*r.n_receptors+c.key")) + `))
		FROM json_each(r.channels) c),
	CASE WHEN r.flags & 2 THEN NULL ELSE ` + val("r", 2) + ` END,
	CASE WHEN r.flags & 2 THEN NULL ELSE ` + val("r", 3) + ` END,
	CASE WHEN r.flags & 2 THEN NULL ELSE ` + val("r", 4) + ` END,
	` + val("r", 5) + `,
	` + val("r", 6) + `,
	json_patch('{}', (SELECT json_group_object(c.value, ` + dec6("r.a", slot("8+3*r.n_receptors+c.key")) + `)
		FROM json_each(r.compartments) c)),
	` + val("r", 7) + `,
	r.flags & 1,
	CASE WHEN r.flags & 2 THEN 'failed' ELSE 'ok' END,
	CASE WHEN r.flags & 2 THEN json_extract(r.errors, '$."' || r.i || '"') END
FROM (SELECT DISTINCT q.*,
		CASE WHEN q.o0 = -1 THEN q.first_index + q.i ELSE CAST(` + val("q", 0) + ` AS INTEGER) END AS idx,
		CAST(` + val("q", 1) + ` AS INTEGER) AS flags
	FROM (WITH RECURSIVE seq(i) AS (
			SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < (SELECT max(n_points) FROM point_blocks))
		SELECT DISTINCT k.*, seq.i AS i, CAST(ifnull(substr(d.data, k.sh*seq.i + 1, k.sh), x'') || k.shared AS BLOB) AS a
		FROM (SELECT DISTINCT b.id, b.run_id, b.pathway, b.pre, b.post, b.compartment, b.record, b.tag,
				b.channels, b.compartments, b.n_receptors, b.n_g, b.n_t_decay, b.n_t_rise, b.n_points,
				b.errors, b.first_index, b.layout, b.shared, 8*b.stride AS sh,
				` + strings.Join(perBlock, ",\n\t\t\t\t") + `
			FROM point_blocks b) k
		JOIN point_blocks d ON d.id = k.id
		JOIN seq ON seq.i < k.n_points) q) r;
`
}

// offset is the SQL of slot s's byte offset (0-based) in a point's BLOB,
// its stored bytes then its block's shared ones, under the block's layout
// (see 0004): -1 for an index that counts up ('+'), and shared (SQL) for
// a value stored once for the block ('.'): its offset, or a mark.
func offset(layout, shared, s string) string {
	c := fmt.Sprintf("substr(%s, %s + 1, 1)", layout, s)
	return fmt.Sprintf("CASE %[1]s WHEN '' THEN 8*(%[3]s) WHEN '.' THEN %[2]s WHEN '+' THEN -1 ELSE 8*(unicode(%[1]s) - 65) END", c, shared, s)
}

// dec6 is the SQL that decodes the little-endian IEEE 754 double at byte
// offset o (an SQL integer) of BLOB a: its low 52 bits from bytes (each
// its position in f64_bytes' 0..255), scaled by the f64_scale power of
// two of its exponent e, with the implicit bit unless e = 0, and signed.
// There is no f64_scale row for e = 2047: Inf and NaN read as NULL. Every
// step is exact.
func dec6(a, o string) string {
	b := func(j int) string {
		return fmt.Sprintf("(instr((SELECT b FROM f64_bytes), substr(%s, %s + %d, 1)) - 1)", a, o, j+1)
	}
	var m []string
	for j, w := range []string{"1", "256", "65536", "16777216", "4294967296", "1099511627776"} {
		m = append(m, b(j)+"*"+w)
	}
	m = append(m, fmt.Sprintf("(%s %% 16)*281474976710656", b(6)))
	return fmt.Sprintf("(SELECT (CASE WHEN e = 0 THEN 0 ELSE 4503599627370496 END + %s) * v * (1 - 2*(%s/128)) FROM f64_scale WHERE e = %s%%128*16 + %s/16)",
		strings.Join(m, " + "), b(7), b(7), b(6))
}
