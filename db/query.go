package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/mattn/go-sqlite3"
)

// ErrWrite is wrapped by QueryReadOnly when a statement would write.
var ErrWrite = errors.New("statement would write; only read-only SQL is allowed")

// readPragmas are the pragmas that may take an argument in parentheses and
// still only read.
var readPragmas = map[string]bool{
	"table_info": true, "table_xinfo": true, "table_list": true, "index_list": true,
	"index_info": true, "index_xinfo": true, "foreign_key_list": true,
	"foreign_key_check": true, "integrity_check": true, "quick_check": true,
}

// QueryReadOnly runs one read-only SQL statement (SELECT, WITH, VALUES,
// EXPLAIN or a reading PRAGMA) on a read-only connection and returns its
// column names and rows. It refuses, without running anything, any
// statement SQLite reports would write, pragma assignments, ATTACH,
// DETACH, VACUUM and multiple statements; the read-only connection
// (mode=ro, query_only) is the backstop. Values are int64, float64,
// string, []byte or nil.
func (d *DB) QueryReadOnly(ctx context.Context, query string) (cols []string, rows [][]any, err error) {
	stmts := splitSQL(query)
	if len(stmts) == 0 {
		return nil, nil, errors.New("query: empty statement")
	}
	pool, err := d.readOnlyPool(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("query: open %s read-only: %w", d.path, err)
	}
	conn, err := pool.Conn(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("query: %w", err)
	}
	defer conn.Close()
	for _, s := range stmts {
		if err := checkReadOnly(conn, s); err != nil {
			return nil, nil, err
		}
	}
	if len(stmts) > 1 {
		return nil, nil, errors.New("query: only one statement is allowed")
	}
	r, err := conn.QueryContext(ctx, stmts[0].text)
	if err != nil {
		return nil, nil, fmt.Errorf("query: %w", err)
	}
	defer r.Close()
	if cols, rows, err = scanAll(r); err != nil {
		return nil, nil, fmt.Errorf("query: %w", err)
	}
	return cols, rows, nil
}

// scanAll reads every row of r, each value as the driver gives it.
func scanAll(r *sql.Rows) (cols []string, rows [][]any, err error) {
	if cols, err = r.Columns(); err != nil {
		return nil, nil, err
	}
	for r.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := r.Scan(ptrs...); err != nil {
			return nil, nil, err
		}
		rows = append(rows, vals)
	}
	return cols, rows, r.Err()
}

// checkReadOnly prepares s on the raw driver connection and refuses it
// unless it is a read-only query.
func checkReadOnly(conn *sql.Conn, s sqlStmt) error {
	var readonly bool
	err := conn.Raw(func(dc any) error {
		c, ok := dc.(*sqlite3.SQLiteConn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		st, err := c.Prepare(s.text)
		if err != nil {
			return err
		}
		defer st.Close()
		ss, ok := st.(*sqlite3.SQLiteStmt)
		if !ok {
			return fmt.Errorf("unexpected driver statement %T", st)
		}
		readonly = ss.Readonly()
		return nil
	})
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	if !readonly {
		return fmt.Errorf("query: %w", ErrWrite)
	}
	switch s.keyword {
	case "SELECT", "WITH", "VALUES", "EXPLAIN":
		return nil
	case "PRAGMA":
		if strings.Contains(s.rest, "=") {
			return fmt.Errorf("query: %w", ErrWrite)
		}
		if i := strings.IndexByte(s.rest, '('); i >= 0 {
			name := strings.TrimSpace(s.rest[:i])
			if j := strings.LastIndexByte(name, '.'); j >= 0 {
				name = name[j+1:]
			}
			if !readPragmas[strings.ToLower(strings.Trim(name, " \t\r\n\"`[]"))] {
				return fmt.Errorf("query: %w", ErrWrite)
			}
		}
		return nil
	case "ATTACH", "DETACH", "VACUUM", "REINDEX", "ANALYZE":
		return fmt.Errorf("query: %w", ErrWrite)
	}
	return fmt.Errorf("query: %s statements are not allowed; use SELECT, WITH, VALUES, EXPLAIN or PRAGMA", s.keyword)
}

type sqlStmt struct {
	text    string // the statement, comments kept, trailing ';' removed
	keyword string // its first keyword, upper case
	rest    string // the text after the keyword
}

// splitSQL splits src into statements at semicolons outside quotes,
// identifiers and comments, dropping statements that are empty or only
// comments.
func splitSQL(src string) []sqlStmt {
	var out []sqlStmt
	start := 0
	keyword := ""
	kwEnd := 0
	code := false // a non-comment token was seen in the current statement
	flush := func(end int) {
		if code {
			out = append(out, sqlStmt{text: strings.TrimSpace(src[start:end]), keyword: keyword, rest: src[kwEnd:end]})
		}
		start, keyword, code = end+1, "", false
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '-' && i+1 < len(src) && src[i+1] == '-':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			i += 2
			for i+1 < len(src) && !(src[i] == '*' && src[i+1] == '/') {
				i++
			}
			i++
		case c == '\'' || c == '"' || c == '`' || c == '[':
			closing := c
			if c == '[' {
				closing = ']'
			}
			code = true
			for i++; i < len(src); i++ {
				if src[i] == closing {
					if closing != ']' && i+1 < len(src) && src[i+1] == closing {
						i++ // doubled quote
						continue
					}
					break
				}
			}
		case c == ';':
			flush(i)
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
		default:
			if !code {
				j := i
				for j < len(src) && (src[j] >= 'a' && src[j] <= 'z' || src[j] >= 'A' && src[j] <= 'Z' || src[j] == '_') {
					j++
				}
				keyword, kwEnd = strings.ToUpper(src[i:j]), j
				code = true
				if j > i {
					i = j - 1
				}
			}
		}
	}
	flush(len(src))
	return out
}
