//go:build linux

package db

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestCloseReportsAFailedCheckpoint: a close whose copy of the WAL into
// the file fails (the file may not grow: a full disk) returns an error
// naming the WAL that holds the data; SQLite's own checkpoint on closing
// says nothing, and a sweep ended "done" with its .db damaged on its own.
func TestCloseReportsAFailedCheckpoint(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "full.db")
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	// A reader on an old snapshot keeps the background checkpoint from
	// copying what is written next: it waits in the WAL for Close.
	ro, err := d.readOnlyPool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := ro.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow("SELECT count(*) FROM experiments").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if _, err := d.sql.Exec("INSERT INTO experiments (name, spec_text, spec_sha256, created_at) VALUES ('big', ?, 'x', 'y')", strings.Repeat("a", 4<<20)); err != nil {
		t.Fatal(err)
	}
	tx.Rollback()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// The file may not grow (the runtime ignores SIGXFSZ: a write fails
	// with EFBIG instead).
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	lim := old
	lim.Cur = uint64(fi.Size())
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Skipf("setrlimit: %v", err)
	}
	err = d.Close()
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if err == nil || !strings.Contains(err.Error(), "full.db-wal, which must stay beside it") {
		t.Fatalf("Close onto a full disk: %v", err)
	}
	// With room again, opening finishes the copy: nothing was lost.
	d, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.sql.QueryRow("SELECT length(spec_text) FROM experiments WHERE name = 'big'").Scan(&n); err != nil || n != 4<<20 {
		t.Errorf("after reopening: %d bytes, %v", n, err)
	}
}
