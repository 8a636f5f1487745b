//go:build unix

package db

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestNotARegularFileRefused: a named pipe, a directory or a device given
// as a database is refused at once by Open, OpenReadOnly and Merge,
// whatever path led there (DENDFIT_DB, a merge input): SQLite blocked for
// ever opening a pipe, deaf to Ctrl-C, and made /dev/null-journal.
func TestNotARegularFileRefused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.db")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	dst := openTemp(t, "dst.db")
	for _, tc := range []struct{ path, want string }{
		{fifo, "is not a regular file (a device, pipe or socket)"},
		{"/dev/null", "is not a regular file"},
		{dir, "is a directory: give a database file, such as " + filepath.Join(dir, "dendfit.db")},
	} {
		done := make(chan []error, 1)
		go func() {
			var errs []error
			_, err := Open(ctx, tc.path)
			errs = append(errs, err)
			_, err = OpenReadOnly(ctx, tc.path)
			errs = append(errs, err)
			_, err = Merge(ctx, dst, tc.path, MergeOptions{})
			done <- append(errs, err)
		}()
		select {
		case errs := <-done:
			for i, err := range errs {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s, call %d: %v, want %q", tc.path, i, err, tc.want)
				}
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: still opening after 20 s", tc.path)
		}
	}
}
