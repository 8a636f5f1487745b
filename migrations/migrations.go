// Package migrations holds dendfit's SQLite schema as forward-only SQL
// files, embedded into the binary. Files are named NNNN_description.sql;
// the number is the schema version and files apply in that order. A
// migration is never edited once released: schema changes add a new file.
// A new database is made from the newest snapshot in baseline/ (generated
// from the migrations and pinned to them by a test in db), then the
// migrations after it.
package migrations

import (
	"embed"
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
		b, err := FS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("migrations: read %s: %w", name, err)
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Latest returns the highest schema version among the embedded migrations,
// or 0 if there are none.
func Latest() (int, error) {
	all, err := All()
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
	entries, err := fs.ReadDir(Baselines, "baseline")
	if err != nil {
		return 0, "", false, fmt.Errorf("migrations: read baselines: %w", err)
	}
	for _, e := range entries {
		num, isSQL := strings.CutSuffix(e.Name(), ".sql")
		v, err := strconv.Atoi(num)
		if !isSQL || err != nil || v <= 0 {
			return 0, "", false, fmt.Errorf("migrations: baseline/%s: name must be NNNN.sql", e.Name())
		}
		if v > version {
			b, err := Baselines.ReadFile("baseline/" + e.Name())
			if err != nil {
				return 0, "", false, fmt.Errorf("migrations: read baseline/%s: %w", e.Name(), err)
			}
			version, sql, ok = v, string(b), true
		}
	}
	return version, sql, ok, nil
}
