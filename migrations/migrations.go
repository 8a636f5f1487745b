// Package migrations holds dendfit's SQLite schema as forward-only SQL
// files, embedded into the binary. Files are named NNNN_description.sql;
// the number is the schema version and files apply in that order. A
// migration is never edited once released: schema changes add a new file.
// A new database is made from the newest snapshot in baseline/ (generated
// from the migrations and pinned to them by a test in db): its image, a
// database file written out as it is, or its SQL; then the migrations
// after it.
package migrations

import (
	"bytes"
	"embed"
	"encoding/binary"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// FS holds the embedded migration files.
//
//go:embed *.sql
var FS embed.FS

// Migration is one embedded schema migration.
type Migration struct {
	Version int    // schema version reached after applying it (from the file name)
	Name    string // file name, e.g. "0001_init.sql"
	SQL     string // the statements, applied in one transaction
}

// All returns the embedded migrations in version order. It fails if a
// file name does not start with a positive version number followed by an
// underscore, or if two files share a version.
func All() ([]Migration, error) {
	out, err := list()
	if err != nil {
		return nil, err
	}
	for i, m := range out {
		b, err := FS.ReadFile(m.Name)
		if err != nil {
			return nil, fmt.Errorf("migrations: read %s: %w", m.Name, err)
		}
		out[i].SQL = string(b)
	}
	return out, nil
}

// list is All without the statements: reading them copies 90 KB, which
// a database already at the newest version does not need.
func list() ([]Migration, error) {
	entries, err := fs.ReadDir(FS, ".")
	if err != nil {
		return nil, fmt.Errorf("migrations: read embedded files: %w", err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		if !ok {
			return nil, fmt.Errorf("migrations: %s: name must be NNNN_description.sql", name)
		}
		v, err := strconv.Atoi(num)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migrations: %s: name must start with a positive version number", name)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations: %s and %s share version %d", prev, name, v)
		}
		seen[v] = name
		out = append(out, Migration{Version: v, Name: name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Latest returns the highest schema version among the embedded migrations,
// or 0 if there are none.
func Latest() (int, error) {
	all, err := list()
	if err != nil {
		return 0, err
	}
	if len(all) == 0 {
		return 0, nil
	}
	return all[len(all)-1].Version, nil
}

// Baselines holds generated snapshots of the schema: baseline/NNNN.sql is
// the schema that migrations 1..NNNN leave (every table, index and view
// as SQLite records it, and the rows the migrations insert), so that a
// new database is made in one step instead of replaying every migration
// (a new file cost 30 ms, half of it rewriting the points view twice).
// A test pins each snapshot to what the migrations produce.
//
//go:embed baseline/*.sql
var Baselines embed.FS

// Baseline returns the newest schema snapshot: the version it stands for
// and its statements. ok is false when there is none.
func Baseline() (version int, sql string, ok bool, err error) {
	version, err = newestBaseline()
	if err != nil || version == 0 {
		return 0, "", false, err
	}
	name := fmt.Sprintf("baseline/%04d.sql", version)
	b, err := Baselines.ReadFile(name)
	if err != nil {
		return 0, "", false, fmt.Errorf("migrations: read %s: %w", name, err)
	}
	return version, string(b), true, nil
}

// newestBaseline is the version of the newest snapshot, 0 for none.
func newestBaseline() (int, error) {
	entries, err := fs.ReadDir(Baselines, "baseline")
	if err != nil {
		return 0, fmt.Errorf("migrations: read baselines: %w", err)
	}
	version := 0
	for _, e := range entries {
		num, isSQL := strings.CutSuffix(e.Name(), ".sql")
		v, err := strconv.Atoi(num)
		if !isSQL || err != nil || v <= 0 {
			return 0, fmt.Errorf("migrations: baseline/%s: name must be NNNN.sql", e.Name())
		}
		version = max(version, v)
	}
	return version, nil
}

// Images holds, beside each schema snapshot, baseline/NNNN.img: a whole
// empty database file (64 KiB pages, WAL mode) made from that snapshot,
// its zero bytes left out. A new database is this file written out, not
// built by running the snapshot's SQL, which took most of a first
// command's fixed cost (13 ms in-process, more in a fresh one: parsing
// the points view). The same test that pins the snapshot compares a
// database made from the image with one made from the SQL, object for
// object and row for row.
//
// The format: "dendfit-image 1\n", the file's size as a little-endian
// uint64, then chunks of a uint64 offset, a uint32 length and that many
// bytes; every byte outside the chunks is zero.
//
//go:embed baseline/*.img
var Images embed.FS

// imageMagic starts an image file.
const imageMagic = "dendfit-image 1\n"

// Chunk is a run of bytes of an image at offset Off.
type Chunk struct {
	Off  int64
	Data []byte
}

// Image returns the newest database image: the schema version it stands
// for, the database file's size and its non-zero chunks. ok is false when
// there is none of the newest snapshot (a new database then runs the SQL).
func Image() (version int, size int64, chunks []Chunk, ok bool, err error) {
	v, err := newestBaseline()
	if err != nil || v == 0 {
		return 0, 0, nil, false, err
	}
	name := fmt.Sprintf("baseline/%04d.img", v)
	b, err := Images.ReadFile(name)
	if err != nil {
		return 0, 0, nil, false, nil
	}
	bad := func(why string) (int, int64, []Chunk, bool, error) {
		return 0, 0, nil, false, fmt.Errorf("migrations: %s: %s", name, why)
	}
	p, found := bytes.CutPrefix(b, []byte(imageMagic))
	if !found || len(p) < 8 {
		return bad("not an image")
	}
	size = int64(binary.LittleEndian.Uint64(p))
	p = p[8:]
	for len(p) > 0 {
		if len(p) < 12 {
			return bad("cut short")
		}
		off, n := int64(binary.LittleEndian.Uint64(p)), int64(binary.LittleEndian.Uint32(p[8:]))
		p = p[12:]
		if n > int64(len(p)) || off < 0 || off+n > size {
			return bad("a chunk out of bounds")
		}
		chunks = append(chunks, Chunk{Off: off, Data: p[:n]})
		p = p[n:]
	}
	return v, size, chunks, true, nil
}

// EncodeImage is the image of a database file's bytes (the inverse of
// Image), made in blocks of 4 KiB: every block with a non-zero byte is
// kept.
func EncodeImage(file []byte) []byte {
	const block = 4096
	out := []byte(imageMagic)
	out = binary.LittleEndian.AppendUint64(out, uint64(len(file)))
	for i := 0; i < len(file); {
		if allZero(file[i:min(i+block, len(file))]) {
			i += block
			continue
		}
		j := i
		for j < len(file) && !allZero(file[j:min(j+block, len(file))]) {
			j = min(j+block, len(file))
		}
		out = binary.LittleEndian.AppendUint64(out, uint64(i))
		out = binary.LittleEndian.AppendUint32(out, uint32(j-i))
		out = append(out, file[i:j]...)
		i = j
	}
	return out
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
