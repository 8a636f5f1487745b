package db

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mattn/go-sqlite3" // also registers the "sqlite3" driver

	"github.com/dendfit/dendfit/internal/fsx"
	"github.com/dendfit/dendfit/migrations"
)

// rwDriver is go-sqlite3 with settings its DSN cannot carry, applied to
// every read-write connection. A new database gets 64 KiB pages before it
// turns to WAL (the page size of a WAL database is fixed): sweeps write
// their points as BLOBs of about 100 KB, and with SQLite's default 4 KiB
// pages most of what recording cost was one write call a page, twice
// (WAL and checkpoint); with 64 KiB pages recording costs a third. An
// existing database keeps its page size. Commits do not checkpoint the
// WAL (wal_autocheckpoint = 0): a checkpoint syncs the file twice, and
// in the committing goroutine it stalled a sweep's writer for tens of ms
// each time. The DB's own checkpointer goroutine does it instead, in the
// background once commits add up to checkpointAfter (and every second),
// and closing does the last one. The page cache is 512 KiB (8 pages), not
// SQLite's 2 MB: a sweep's writer only appends, each row a new page, and
// a page of cache it had not used before is fresh memory, whose page
// faults cost more than its reads save (on virtual machines a fault can
// cost as much as simulating a few points).
const rwDriver = "sqlite3_dendfit"

func init() {
	sql.Register(rwDriver, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		_, err := c.Exec("PRAGMA page_size = 65536; PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = -512", nil)
		return err
	}})
}

// ErrNotFound is wrapped by lookups that find no matching row.
var ErrNotFound = errors.New("not found")

// EnvPath names the environment variable that overrides DefaultPath.
const EnvPath = "DENDFIT_DB"

// TimeFormat is the layout of every time stored in the database: UTC
// RFC 3339 with a fixed nine-digit fraction, so that text order is time
// order. Values parse with time.RFC3339Nano.
const TimeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// DB is an open dendfit results database. It is safe for concurrent use.
type DB struct {
	path     string
	sql      *sql.DB // read-write pool; the read-only pool for OpenReadOnly
	readOnly bool

	mu sync.Mutex
	ro *sql.DB // read-only pool for QueryReadOnly, opened on first use

	// The background checkpointer of a read-write DB: kicked after
	// checkpointAfter bytes of commits, closed to stop, and closing
	// ckptDone when it has.
	kick, stopCkpt, ckptDone chan struct{}
	// unckpt counts the bytes committed since the last kick (roughly: a
	// page a small commit), so that small commits do not each pay a
	// checkpoint's two syncs.
	unckpt atomic.Int64
}

// checkpointEvery is how often the checkpointer copies the WAL into the
// database file when no commit of this DB asked (another process may
// have written).
const checkpointEvery = time.Second

// checkpointer checkpoints the WAL (PASSIVE: it never waits for, nor
// blocks, a writer) when kicked and every second, one at a time, until
// Close: the WAL stays short, no commit pays for a checkpoint's syncs, and
// the checkpoint Close must do covers only what the last commits wrote.
func (d *DB) checkpointer() {
	defer close(d.ckptDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-d.stopCkpt:
			return
		case <-d.kick:
		case <-t.C:
		}
		// An error (busy, or a closed pool racing Close) only delays the
		// copy to the next round or to Close.
		d.sql.Exec("PRAGMA wal_checkpoint(PASSIVE)")
	}
}

// DefaultPath returns $DENDFIT_DB if set and non-empty, else "dendfit.db".
func DefaultPath() string {
	if p := os.Getenv(EnvPath); p != "" {
		return p
	}
	return "dendfit.db"
}

// fileURI turns a file path into an SQLite URI filename (without query).
func fileURI(path string) (string, error) {
	// Not filepath.Abs: it cleans "link/../x" as text, to another file
	// than the kernel opens (and than the claims' lock, which follows
	// links); SQLite resolves the path as the kernel does.
	abs := path
	if !filepath.IsAbs(path) {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		abs = wd + string(filepath.Separator) + path
	}
	abs = filepath.ToSlash(abs)
	if !strings.HasPrefix(abs, "/") {
		abs = "/" + abs // Windows drive letters
	}
	r := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	return "file:" + r.Replace(abs), nil
}

func rwDSN(path string) (string, error) {
	u, err := fileURI(path)
	if err != nil {
		return "", err
	}
	// synchronous=NORMAL is the WAL setting SQLite recommends: a commit
	// survives the process being killed and the file stays consistent; only
	// the last commits before a power loss may be lost. FULL adds an fsync
	// to every commit, which was most of what recording a sweep cost.
	// The journal mode is set by rwDriver's hook, after the page size.
	return u + "?_synchronous=NORMAL&_foreign_keys=on&_busy_timeout=10000&_txlock=immediate", nil
}

func roDSN(path string) (string, error) {
	u, err := fileURI(path)
	if err != nil {
		return "", err
	}
	return u + "?mode=ro&_query_only=true&_foreign_keys=on&_busy_timeout=10000", nil
}

// Open opens (creating if needed) the database at path for reading and
// writing, and brings its schema up to date by applying, in version order
// and one transaction each, every embedded migration not yet recorded in
// schema_migrations. It refuses a database whose schema is newer than this
// binary knows.
func Open(ctx context.Context, path string) (*DB, error) {
	// Two processes creating one database at once can meet SQLITE_BUSY
	// where SQLite does not wait (switching a new file to WAL, upgrading a
	// read lock): such an open is retried, for as long as the busy timeout.
	deadline := time.Now().Add(busyTimeout)
	wait := 5 * time.Millisecond
	for {
		d, err := open(ctx, path)
		if err == nil || !IsBusy(err) || time.Now().After(deadline) {
			return d, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// busyTimeout is how long a writer waits for another (the DSN's
// _busy_timeout).
const busyTimeout = 10 * time.Second

// IsDamaged says whether err is SQLite finding the database file corrupt
// or not a database.
func IsDamaged(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrCorrupt || se.Code == sqlite3.ErrNotADB)
}

// QuickCheck runs SQLite's quick_check over the database: the structure
// of every page, without the slower index comparisons of integrity_check
// (well under a second for a million points). It returns an error that
// IsDamaged recognises when SQLite finds damage, as a file cut short.
func (d *DB) QuickCheck(ctx context.Context) error {
	// quick_check reads a page cut short as zeros and may pass it, so
	// first the file's length against the size its header records.
	if err := checkLength(d.path); err != nil {
		return fmt.Errorf("db: check %s: %w", d.path, err)
	}
	var res string
	err := d.sql.QueryRowContext(ctx, "PRAGMA quick_check(1)").Scan(&res)
	switch {
	case err != nil:
		return fmt.Errorf("db: check %s: %w", d.path, err)
	case res != "ok":
		res = strings.Join(strings.Fields(strings.ReplaceAll(res, "\n", "; ")), " ")
		return fmt.Errorf("db: check %s: %s: %w", d.path, res, sqlite3.Error{Code: sqlite3.ErrCorrupt})
	}
	return nil
}

// CheckLength is QuickCheck's first, cheap part (no page is read): a file
// shorter than its header says, as a full disk or a cut copy leaves, is
// reported as damaged. Every command that records calls it.
func (d *DB) CheckLength() error {
	if err := checkLength(d.path); err != nil {
		return fmt.Errorf("db: check %s: %w", d.path, err)
	}
	return nil
}

// checkLength compares the length of the database file at path with the
// page count its header records (when the header's count is valid, as
// SQLite writes it, and no WAL holds frames), and reports a file shorter
// than that as damaged.
func checkLength(path string) error {
	// While a WAL holds frames, a checkpoint may be under way, writing
	// page 1 (and its new page count) before the pages that lengthen the
	// file: the count is only sure with no WAL to copy, before and after.
	walEmpty := func() bool {
		fi, err := os.Stat(path + "-wal")
		return err != nil || fi.Size() == 0
	}
	if !walEmpty() {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var h [100]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return nil // a new or empty file; SQLite judges the rest
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	pageSize := int64(binary.BigEndian.Uint16(h[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	pages := int64(binary.BigEndian.Uint32(h[28:32]))
	valid := binary.BigEndian.Uint32(h[24:28]) == binary.BigEndian.Uint32(h[92:96])
	if valid && pages > 0 && fi.Size() < pages*pageSize && walEmpty() {
		return fmt.Errorf("the file is %d bytes, its header counts %d pages of %d: it was cut short: %w",
			fi.Size(), pages, pageSize, sqlite3.Error{Code: sqlite3.ErrCorrupt})
	}
	return nil
}

// IsReadOnly says whether err is SQLite refusing to write a database it
// opened read-write: the file, or the directory its journal goes in, is
// not writable for this process.
func IsReadOnly(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrReadonly
}

// IsBusy says whether err is SQLite giving up on a lock another
// connection held past the busy timeout.
func IsBusy(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked)
}

// checkFile refuses an existing path that is not a regular file: SQLite
// blocks for ever opening a named pipe, and beside a device it makes its
// journal (/dev/null-journal).
func checkFile(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return nil // a new database, or one SQLite says it cannot open
	case fi.IsDir():
		return fmt.Errorf("db: %s is a directory: give a database file, such as %s", path, filepath.Join(path, "dendfit.db"))
	case !fi.Mode().IsRegular():
		return fmt.Errorf("db: %s is not a regular file (a device, pipe or socket): give a database file", path)
	}
	return nil
}

func open(ctx context.Context, path string) (*DB, error) {
	if err := checkFile(path); err != nil {
		return nil, err
	}
	dsn, err := rwDSN(path)
	if err != nil {
		return nil, fmt.Errorf("db: open %s: %w", path, err)
	}
	if err := checkOurs(ctx, path); err != nil {
		return nil, err
	}
	if err := checkLinks(path); err != nil {
		return nil, err
	}
	createFromImage(path)
	sdb, err := sql.Open(rwDriver, dsn)
	if err != nil {
		return nil, fmt.Errorf("db: open %s: %w", path, err)
	}
	d := &DB{path: path, sql: sdb}
	if err := sdb.PingContext(ctx); err != nil {
		sdb.Close()
		if why := cannotCreate(path); why != "" {
			return nil, fmt.Errorf("db: cannot create %s: %s", path, why)
		}
		// SQLite writes its WAL beside the file a link points to.
		real, rerr := filepath.EvalSymlinks(path)
		if rerr != nil {
			real = path
		}
		if dir := filepath.Dir(real); probeDir(dir) != nil {
			return nil, fmt.Errorf("db: open %s to write: its directory %s is not writable, and SQLite keeps the write-ahead log beside the file (%w); commands that only read it, such as query, still work", path, dir, err)
		}
		return nil, fmt.Errorf("db: open %s: %w", path, err)
	}
	if err := d.migrate(ctx); err != nil {
		sdb.Close()
		return nil, err
	}

	d.kick, d.stopCkpt, d.ckptDone = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	go d.checkpointer()
	return d, nil
}

// OpenReadOnly opens an existing database read-only (SQLite mode=ro with
// query_only set), for inspection such as `dendfit query sql`. It does not
// migrate, and fails if the file does not exist, holds no dendfit schema
// yet (ErrEmpty: an empty file, or one whose first command was killed
// before its schema was committed) or was written by a newer dendfit.
// Writing methods fail.
func OpenReadOnly(ctx context.Context, path string) (*DB, error) {
	d, have, err := openReadOnly(ctx, path)
	if err != nil {
		return nil, err
	}
	if have == 0 {
		d.Close()
		return nil, fmt.Errorf("db: %s: %w", path, ErrEmpty)
	}
	return d, nil
}

// ErrEmpty is wrapped by OpenReadOnly for a database that holds no dendfit
// schema yet: nothing was ever recorded in it.
var ErrEmpty = errors.New("no dendfit results in it yet (a command that records, such as sweep, sets it up)")

// openReadOnly is OpenReadOnly that also opens a database with no dendfit
// schema yet, for merge, which takes it as an empty source or output. It
// returns the schema version it read.
func openReadOnly(ctx context.Context, path string) (*DB, int, error) {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, 0, fmt.Errorf("db: open %s read-only: no such database", path)
		}
		return nil, 0, fmt.Errorf("db: open %s read-only: %w", path, err)
	}
	if err := checkFile(path); err != nil {
		return nil, 0, err
	}
	dsn, err := roDSN(path)
	if err != nil {
		return nil, 0, fmt.Errorf("db: open %s read-only: %w", path, err)
	}
	sdb, have, err := openRO(ctx, dsn, path)
	if err != nil && readOnlyDirFallback(err, path) {
		sdb, have, err = openRO(ctx, dsn+"&immutable=1", path)
	}
	if err != nil {
		if isReadOnlyFS(err) && hasWAL(path) && readable(path) {
			return nil, 0, fmt.Errorf("db: open %s read-only: %w (its directory is not writable, and its -wal file holds changes to read: ask its owner to open it once with dendfit)", path, err)
		}
		if errors.As(err, new(errNotOurs)) {
			return nil, 0, err
		}
		return nil, 0, fmt.Errorf("db: open %s read-only: %w", path, err)
	}
	if known, err := migrations.Latest(); err != nil || have > known {
		sdb.Close()
		if err != nil {
			return nil, 0, fmt.Errorf("db: %w", err)
		}
		return nil, 0, fmt.Errorf("db: %s has schema version %d, this dendfit knows up to %d: upgrade dendfit", path, have, known)
	}
	return &DB{path: path, sql: sdb, readOnly: true, ro: sdb}, have, nil
}

// cannotCreate says why a database that does not exist cannot be made
// at path, or "" if that is not the trouble: SQLite reports a directory
// it may not write as "no such file or directory".
func cannotCreate(path string) string {
	// ENOTDIR: a file stands where a directory of the path should be.
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		return ""
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case err != nil:
		// The nearest part of the path that exists says why: a file
		// where a directory should be, or the directory to make.
		if f := fsx.FileInPath(dir); f != "" {
			return fmt.Sprintf("%s is not a directory", f)
		}
		return fmt.Sprintf("directory %s does not exist", dir)
	case !fi.IsDir():
		return fmt.Sprintf("%s is not a directory", dir)
	}
	if err := probeDir(dir); err != nil {
		return fmt.Sprintf("directory %s is not writable (%v)", dir, errors.Unwrap(err))
	}
	return ""
}

// probeDir makes and removes a file in dir, and returns why it could not
// (its mode, a read-only mount, an immutable flag): a database there can
// be read but not written.
func probeDir(dir string) error {
	f, err := os.CreateTemp(dir, ".dendfit-probe-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// openRO opens the read-only pool of dsn, refuses another program's
// database (at path) and reads the schema version (a newer dendfit's
// schema may mean other things by the same columns, so the caller refuses
// it).
func openRO(ctx context.Context, dsn, path string) (*sql.DB, int, error) {
	sdb, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, 0, err
	}
	if foreign, err := foreignTables(ctx, sdb, "main"); err != nil || len(foreign) > 0 {
		sdb.Close()
		if err == nil {
			err = notOurs(path, foreign)
		}
		return nil, 0, err
	}
	have, err := schemaVersion(ctx, sdb, "main")
	if err != nil {
		sdb.Close()
		return nil, 0, err
	}
	return sdb, have, nil
}

// isReadOnlyFS says whether err is SQLite failing to make or write the
// files a WAL reader needs beside the database.
func isReadOnlyFS(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrReadonly || se.Code == sqlite3.ErrCantOpen)
}

// readOnlyDirFallback says whether a read-only open of the database at
// path that failed with err may be retried as immutable. A WAL database's
// reader makes the -shm file beside it; where the directory cannot take
// one (a colleague's results, a read-only share) and there is no WAL to
// read, no process is writing it (a writer would have made both), and
// SQLite may read the file as immutable. A file the reader may not read
// is no case for it.
func readOnlyDirFallback(err error, path string) bool {
	return isReadOnlyFS(err) && !hasWAL(path) && readable(path)
}

// readable says whether the file at path opens for reading.
func readable(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// hasWAL says whether a non-empty -wal file is beside the database.
func hasWAL(path string) bool {
	fi, err := os.Stat(path + "-wal")
	return err == nil && fi.Size() > 0
}

// Path returns the path the database was opened with.
func (d *DB) Path() string { return d.path }

// Close closes the database.
func (d *DB) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopCkpt != nil {
		close(d.stopCkpt)
		<-d.ckptDone
		d.stopCkpt = nil
	}
	var errs []error
	if d.ro != nil && d.ro != d.sql {
		errs = append(errs, d.ro.Close())
	}
	d.ro = nil
	// SQLite's own checkpoint on closing reports no error: on a full disk
	// it left the file cut short and the data in the WAL alone, and the
	// command ended as if all were well. This one, which never waits for
	// another process, reports it.
	var ckptErr error
	if !d.readOnly {
		var busy, logN, done int
		if err := d.sql.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logN, &done); err != nil {
			ckptErr = fmt.Errorf("the last copy of its write-ahead log into it failed (%w): what was recorded is in %s-wal, which must stay beside it (a copy of the .db alone is damaged); make room and open it again (any dendfit command) to finish the copy", err, d.path)
		}
	}
	errs = append(errs, d.sql.Close())
	if d.readOnly {
		tidyWAL(d.path)
	}
	if err := errors.Join(append(errs, ckptErr)...); err != nil {
		return fmt.Errorf("db: close %s: %w", d.path, err)
	}
	return nil
}

// tidyWAL removes the empty -wal and the -shm that reading a WAL database
// leaves beside it: a read-only connection may not, so every query left
// two files where the command that wrote the database had left none. It
// opens a read-write connection, reads the schema and closes it: SQLite
// deletes them when that is the last connection to the database, which
// it knows from its locks (another process's connection keeps them, as
// it needs them). Only an empty WAL is tidied, so that a query never
// copies into the file what a writer left in the WAL. Errors (a file or
// directory that is not writable) leave the files, as before.
func tidyWAL(path string) {
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() != 0 {
		return
	}
	u, err := fileURI(path)
	if err != nil {
		return
	}
	c, err := sql.Open("sqlite3", u+"?mode=rw&_busy_timeout=0")
	if err != nil {
		return
	}
	defer c.Close()
	var n int
	_ = c.QueryRow("SELECT count(*) FROM sqlite_schema").Scan(&n)
}

// readOnlyPool returns the read-only connection pool, opening it on first
// use for a database opened with Open.
func (d *DB) readOnlyPool(ctx context.Context) (*sql.DB, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ro != nil {
		return d.ro, nil
	}
	dsn, err := roDSN(d.path)
	if err != nil {
		return nil, err
	}
	ro, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, err
	}
	if err := ro.PingContext(ctx); err != nil {
		ro.Close()
		return nil, err
	}
	d.ro = ro
	return ro, nil
}

// SchemaVersion returns the highest migration version recorded in the
// database, or 0 for a database without schema_migrations.
func (d *DB) SchemaVersion(ctx context.Context) (int, error) {
	v, err := schemaVersion(ctx, d.sql, "main")
	if err != nil {
		return 0, fmt.Errorf("db: %s: schema version: %w", d.path, err)
	}
	return v, nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// columnOr is "alias.col" when table has column col, else fallback (an
// SQL literal): a database opened read-only is not migrated, and a column
// a later migration added is not there to read.
func columnOr(ctx context.Context, q queryer, table, alias, col, fallback string) (string, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info(?) WHERE name = ?`, table, col).Scan(&n); err != nil {
		return "", err
	}
	if n == 0 {
		return fallback, nil
	}
	return alias + "." + col, nil
}

// schemaVersion reads the highest applied version in schema (main or an
// attached database); a missing schema_migrations table means version 0.
func schemaVersion(ctx context.Context, q queryer, schema string) (int, error) {
	var n int
	err := q.QueryRowContext(ctx,
		`SELECT count(*) FROM `+schema+`.sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n)
	if err != nil || n == 0 {
		return 0, err
	}
	var v int
	err = q.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM `+schema+`.schema_migrations`).Scan(&v)
	return v, err
}

// foreignTables returns the tables of a database without dendfit's
// schema_migrations table (version, name, applied_at): a file that is not
// a dendfit database (nil when it has no tables, or is dendfit's). A
// database being created by another process has schema_migrations from
// its first statement on. Other tools keep a schema_migrations table too,
// of other columns.
func foreignTables(ctx context.Context, q queryer, schema string) ([]string, error) {
	var ours int
	var names string
	err := q.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM pragma_table_info('schema_migrations', '`+schema+`')
			WHERE name IN ('version', 'name', 'applied_at')),
		coalesce((SELECT group_concat(name, char(10)) FROM (SELECT name FROM `+schema+`.sqlite_master
			WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name)), '')`).Scan(&ours, &names)
	if err != nil || ours == 3 || names == "" {
		return nil, err
	}
	return strings.Split(names, "\n"), nil
}

// checkOurs refuses an existing database file that another program made,
// before a read-write connection turns it to WAL (which rewrites its
// header) and the migrations add dendfit's tables to it. A file in WAL
// mode already (every dendfit database) with an empty WAL is left to
// migrate, which asks the read-write connection: turning it to WAL, and
// closing it, change nothing, and a connection of its own here cost a
// parse of the whole schema (a few ms on every command).
func checkOurs(ctx context.Context, path string) error {
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		return nil // a new database
	}
	// With frames in its WAL, closing a read-write connection would
	// checkpoint them into the file: another program's database must be
	// refused before that, by the read-only connection.
	if isWAL(path) && !hasWAL(path) {
		return nil
	}
	dsn, err := roDSN(path)
	if err != nil {
		return fmt.Errorf("db: open %s: %w", path, err)
	}
	sdb, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return fmt.Errorf("db: open %s: %w", path, err)
	}
	defer sdb.Close()
	foreign, err := foreignTables(ctx, sdb, "main")
	if err != nil {
		// Not SQLite, or unreadable: the read-write open says so.
		return nil
	}
	if len(foreign) > 0 {
		return notOurs(path, foreign)
	}
	return nil
}

// isWAL says whether the file at path is an SQLite database in WAL mode:
// its header's magic, and read and write versions 2.
func isWAL(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var h [20]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return false
	}
	return string(h[:16]) == "SQLite format 3\x00" && h[18] == 2 && h[19] == 2
}

// errNotOurs is a database whose tables are not dendfit's; its message
// is whole.
type errNotOurs struct{ msg string }

func (e errNotOurs) Error() string { return e.msg }

// notOurs is the error for a database whose tables are not dendfit's.
func notOurs(path string, tables []string) error {
	list := strings.Join(tables, ", ")
	if len(tables) > 3 {
		list = strings.Join(tables[:3], ", ") + ", ..."
	}
	return errNotOurs{fmt.Sprintf("db: %s is not a dendfit database (it holds tables %s)", path, list)}
}

func (d *DB) migrate(ctx context.Context) error {
	known, err := migrations.Latest()
	if err != nil {
		return fmt.Errorf("db: %w", err)
	}
	// checkOurs left a WAL-mode file to this connection.
	foreign, err := foreignTables(ctx, d.sql, "main")
	if err != nil {
		return fmt.Errorf("db: %s: read its tables: %w", d.path, err)
	}
	if len(foreign) > 0 {
		return notOurs(d.path, foreign)
	}
	have, err := schemaVersion(ctx, d.sql, "main")
	if err != nil {
		return fmt.Errorf("db: %s: read schema version: %w", d.path, err)
	}
	if have > known {
		return fmt.Errorf("db: %s has schema version %d, this dendfit knows up to %d: upgrade dendfit", d.path, have, known)
	}
	if have == known {
		return nil
	}
	all, err := migrations.All()
	if err != nil {
		return fmt.Errorf("db: %w", err)
	}
	if _, err := d.sql.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL
	)`); err != nil {
		return fmt.Errorf("db: %s: create schema_migrations: %w", d.path, err)
	}
	if have == 0 && useBaseline {
		if have, err = d.applyBaseline(ctx, all); err != nil {
			return err
		}
	}
	for _, m := range all {
		if m.Version <= have {
			continue
		}
		if err := d.applyMigration(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// createFromImage writes a new database at path from the embedded image
// of an empty one at the newest schema (migrations.Image) and reports
// whether it did. It does nothing when path exists (or is a link), when
// there is no image, or when it cannot: the image is written to a file
// without a name in path's directory (a hidden file where the file system
// cannot make those) and linked (renamed) as path only if path still does
// not exist, so a command making the same database at the same moment
// opens the other's; where neither is available (outside Linux, some
// network file systems) or anything fails, the database is made by its
// SQL as before.
func createFromImage(path string) bool {
	if !useBaseline || !useImage {
		return false
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	_, size, chunks, ok, err := migrations.Image()
	if err != nil || !ok {
		return false
	}
	// schema_migrations.applied_at holds imageAppliedAt in the image (a
	// text of the length of every stored time, which SQLite keeps
	// byte for byte): it becomes the time this file is made. An image
	// without it is not used.
	now, found := []byte(formatTime(time.Now())), 0
	for i, c := range chunks {
		if n := bytes.Count(c.Data, []byte(imageAppliedAt)); n > 0 {
			chunks[i].Data = bytes.ReplaceAll(c.Data, []byte(imageAppliedAt), now)
			found += n
		}
	}
	if found == 0 {
		return false
	}
	dir := filepath.Dir(path)
	// Written without a name and linked as path once complete; where the
	// file system cannot, as a hidden file renamed to path (which a
	// process killed in between leaves behind).
	f, publish, err := newUnnamed(dir)
	if err != nil {
		var rnd [8]byte
		if _, err := rand.Read(rnd[:]); err != nil {
			return false
		}
		tmp := filepath.Join(dir, "."+filepath.Base(path)+".new-"+hex.EncodeToString(rnd[:]))
		// 0644 less the umask, as SQLite creates its files.
		f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return false
		}
		defer os.Remove(tmp) // gone already once renamed
		publish = func(path string) error { return renameNoReplace(tmp, path) }
	}
	// Its zeros are a hole: only the chunks are written, with the time
	// the migrations are recorded as applied at: now.
	werr := f.Truncate(size)
	for _, c := range chunks {
		if werr == nil {
			_, werr = f.WriteAt(c.Data, c.Off)
		}
	}
	serr := f.Sync()
	if werr != nil || serr != nil {
		f.Close()
		return false
	}
	perr := publish(path)
	if errors.Join(perr, f.Close()) != nil {
		return false
	}
	// The new name is durable too.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return true
}

// imageAppliedAt is the applied_at of every migration in a database image
// (migrations.Image), replaced by the time a database is made from it: a
// time in TimeFormat's length that no clock gives.
const imageAppliedAt = "0000-00-00T00:00:00.000000000Z"

// useBaseline lets a new database be made from the newest schema
// snapshot; tests turn it off to replay the migrations one by one.
var useBaseline = true

// useImage lets a new database be the snapshot's image copied; tests turn
// it off to make one from the snapshot's SQL.
var useImage = true

// applyBaseline makes an empty database's schema in one transaction from
// the newest snapshot (migrations.Baseline), recording every migration
// the snapshot stands for, and returns the schema version it reached. A
// database that is not empty (another process made the schema first, or
// it holds tables of its own) is left to the migrations.
func (d *DB) applyBaseline(ctx context.Context, all []migrations.Migration) (int, error) {
	v, text, ok, err := migrations.Baseline()
	if err != nil {
		return 0, fmt.Errorf("db: %w", err)
	}
	if !ok {
		return 0, nil
	}
	fail := func(err error) (int, error) {
		return 0, fmt.Errorf("db: %s: schema baseline %04d: %w", d.path, v, err)
	}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM schema_migrations)
		+ (SELECT count(*) FROM sqlite_master WHERE name <> 'schema_migrations' AND name NOT LIKE 'sqlite%')`).Scan(&n); err != nil {
		return fail(err)
	}
	if n > 0 {
		return schemaVersion(ctx, tx, "main")
	}
	if _, err := tx.ExecContext(ctx, text); err != nil {
		return fail(err)
	}
	now := formatTime(time.Now())
	for _, m := range all {
		if m.Version > v {
			break
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, now); err != nil {
			return fail(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return v, nil
}

// applyMigration applies m in one immediate transaction unless another
// process recorded it first.
func (d *DB) applyMigration(ctx context.Context, m migrations.Migration) error {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("db: %s: migration %s: %w", d.path, m.Name, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
		return fmt.Errorf("db: %s: migration %s: %w", d.path, m.Name, err)
	}
	if n > 0 {
		return nil // applied concurrently by another handle
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("db: %s: migration %s: %w", d.path, m.Name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.Version, m.Name, formatTime(time.Now())); err != nil {
		return fmt.Errorf("db: %s: record migration %s: %w", d.path, m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("db: %s: commit migration %s: %w", d.path, m.Name, err)
	}
	return nil
}

func formatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// withTx runs fn in one immediate transaction and commits it.
func (d *DB) withTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	d.committed(64 << 10)
	return nil
}

// checkpointAfter is how many bytes of commits the checkpointer is kicked
// after (besides its timer): a command of a few small commits (a run row,
// a simulate's points) does not wait at Close for the syncs of a
// checkpoint a commit (11 ms of a 59 ms sweep of two points on a new
// database), nor does a short sweep pay for checkpoints while it runs. A
// checkpoint during a sweep takes a second connection, which parses the
// schema (its points view is 25 KB of SQL), and syncs two files, while
// the workers want both cores: kicked every 2 MiB, the checkpoints of a
// 100,000-point sweep (5.6 MB) cost it more than Close's copying all of
// it at once (whole command, 15 alternating runs: 170 -> 155 ms). 16 MiB
// bounds what Close is left to copy from a sweep shorter than the timer's
// second (about 80 ms on the machine measured).
const checkpointAfter = 16 << 20

// committed notes n more bytes in the WAL, and kicks the checkpointer
// when they add up to checkpointAfter.
func (d *DB) committed(n int64) {
	if d.unckpt.Add(n) >= checkpointAfter {
		d.unckpt.Store(0)
		d.kickCheckpoint()
	}
}

// kickCheckpoint tells the checkpointer that the WAL has grown, without
// waiting for it.
func (d *DB) kickCheckpoint() {
	if d.kick != nil {
		select {
		case d.kick <- struct{}{}:
		default: // a checkpoint is pending already
		}
	}
}
