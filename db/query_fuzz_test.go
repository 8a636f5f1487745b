package db

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzQueryReadOnly: whatever text query sql is given, QueryReadOnly
// neither panics nor changes the database: its runs, points, schema,
// user_version and the bytes of its file are as before, and no file
// appears beside it (ATTACH, VACUUM INTO). A refusal is a "query: "
// error, as the CLI prints it.
func FuzzQueryReadOnly(f *testing.F) {
	for _, s := range []string{
		"SELECT 1",
		"select count(*) from points where run_id = 1",
		"WITH x AS (SELECT 1) SELECT * FROM x",
		"VALUES (1), (2)",
		"EXPLAIN SELECT * FROM runs",
		"PRAGMA table_info(points)",
		"PRAGMA user_version = 42",
		"PRAGMA query_only(0)",
		"pragma main.user_version=5",
		"PRAGMA writable_schema = 1",
		"DELETE FROM points",
		"/* x */ DELETE FROM point_rows -- y",
		"SELECT 1; DELETE FROM points",
		"SELECT ';'; DELETE FROM runs",
		"SELECT \"a;b\", [c;d], `e;f` FROM runs; DROP TABLE runs",
		"WITH x AS (SELECT 1) DELETE FROM points",
		"WITH x AS (SELECT 1) INSERT INTO runs SELECT * FROM runs",
		"REPLACE INTO experiments (id) VALUES (1)",
		"CREATE TEMP TABLE t (x)",
		"CREATE TABLE evil AS SELECT 1",
		"ATTACH DATABASE 'other.db' AS o",
		"VACUUM INTO 'copy.db'",
		"BEGIN; DELETE FROM points; COMMIT",
		"SAVEPOINT a",
		"ANALYZE",
		"REINDEX",
		"SELECT load_extension('x')",
		"SELECT * FROM runs WHERE 1 = '1",
		"SELECT /* unterminated",
		"-- only a comment",
		";;;",
		"",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	path := filepath.Join(dir, "dendfit.db")
	ctx := context.Background()
	d, err := Open(ctx, path)
	if err != nil {
		f.Fatal(err)
	}
	eid, err := d.PutExperiment(ctx, "ca1", []byte("spec"))
	if err != nil {
		f.Fatal(err)
	}
	r := NewRun(eid, CommandSweep, []string{"dendfit", "sweep", "ca1.yaml"})
	if _, err := d.CreateRun(ctx, r); err != nil {
		f.Fatal(err)
	}
	if err := d.InsertPoints(ctx, r.ID, []Point{testPoint(0, "a"), testPoint(1, "b")}); err != nil {
		f.Fatal(err)
	}
	// Reopened, with the writes of the setup all in the file: the
	// background checkpointer has nothing left to change.
	if err := d.Close(); err != nil {
		f.Fatal(err)
	}
	if d, err = Open(ctx, path); err != nil {
		f.Fatal(err)
	}
	// state is what no query may change: the rows, the schema, the
	// bytes of the file and of its WAL (commits sit there until a
	// checkpoint), and the directory's files.
	state := func() (string, error) {
		var s strings.Builder
		for _, q := range []string{
			"SELECT count(*), group_concat(status) FROM runs", "SELECT count(*), total(g_nS) FROM points",
			"SELECT count(*), group_concat(sql, ';') FROM sqlite_master", "SELECT count(*), group_concat(name) FROM experiments",
			"SELECT count(*), 0 FROM fits",
		} {
			var a, b any
			if err := d.sql.QueryRow(q).Scan(&a, &b); err != nil {
				return "", err
			}
			fmt.Fprintf(&s, "%v %v|", a, b)
		}
		var uv any
		if err := d.sql.QueryRow("PRAGMA user_version").Scan(&uv); err != nil {
			return "", err
		}
		fmt.Fprintf(&s, "%v|", uv)
		for _, p := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(p)
			if err != nil && !os.IsNotExist(err) {
				return "", err
			}
			fmt.Fprintf(&s, "%x|", b)
		}
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			s.WriteString(e.Name() + " ")
		}
		return s.String(), nil
	}
	defer d.Close()
	before, err := state()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, query string) {
		// A fuzzed recursive query may not end: it is cut off.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		wd, _ := os.Getwd()
		// Relative names (ATTACH 'x.db') land beside the database.
		if err := os.Chdir(dir); err != nil {
			t.Fatal(err)
		}
		defer os.Chdir(wd)
		_, _, err := d.QueryReadOnly(ctx, query)
		if err != nil && !strings.HasPrefix(err.Error(), "query: ") {
			t.Errorf("QueryReadOnly(%q): error %q without the query: prefix", query, err)
		}
		after, serr := state()
		if serr != nil {
			t.Fatal(serr)
		}
		if after != before {
			i := 0
			for i < len(after) && i < len(before) && after[i] == before[i] {
				i++
			}
			t.Fatalf("QueryReadOnly(%q) (err %v) changed the database or its directory at %d: %.200s vs %.200s", query, err, i, before[max(i-100, 0):], after[max(i-100, 0):])
		}
	})
}
