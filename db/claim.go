package db

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ErrRunBusy is returned by ClaimRun when another process is working on
// the run.
var ErrRunBusy = errors.New("another process is working on this run")

// ClaimRun marks run id as being worked on by this caller until release is
// called or the process ends, however it ends (the kernel drops the lock
// even after kill -9). Every command claims its run: reads then tell a
// run whose process has died (StatusInterrupted) from a live one, and
// `dendfit sweep --resume` in another process takes over the first, not
// the second. It returns ErrRunBusy when the run is claimed elsewhere.
//
// The claim is a lock on byte id of PATH-lock, a file beside the database
// that holds no data: SQLite's own locks are on the database file, and a
// second descriptor of that file, once closed, would drop them. On Linux
// the lock is an open file description lock, so claims conflict between
// goroutines of one process too; elsewhere ClaimRun claims nothing.
func (d *DB) ClaimRun(id int64) (release func(), err error) {
	if d.readOnly {
		return nil, fmt.Errorf("db: claim run %d: database is open read-only", id)
	}
	release, err = claim(d.lockPath(), id)
	if err != nil {
		return nil, fmt.Errorf("db: claim run %d: %w", id, err)
	}
	return release, nil
}

// RunClaimed reports whether a process holds run id's claim (ClaimRun):
// a run recorded as running that no process claims was stopped without
// finishing (kill -9, a crash, a lost node) and can be resumed. Outside
// Linux it reports true: claims are not made there.
func (d *DB) RunClaimed(id int64) (bool, error) {
	held, err := claimed(d.lockPath(), id)
	if err != nil {
		return false, fmt.Errorf("db: run %d: %w", id, err)
	}
	return held, nil
}

// ClaimsKnown reports whether this system tells a run a process is
// working on from one whose process died (ClaimRun): on Linux it does;
// elsewhere a run recorded as running reads as running, whatever became
// of its process.
func ClaimsKnown() bool { return claimsKnown }

// mergeByte is the byte of the claims' lock file that a merge into the
// database holds (run ids, the other bytes, start at 1).
const mergeByte = 0

// LockMerges takes, for the caller, the right to merge into the database
// at path, waiting while another process (or goroutine) holds it, and
// returns its release. A merge reads the whole database after copying its
// inputs, to make the union runs: one beside it would find the other's
// shards half copied and call a union incomplete (a trial's two merges
// into one file failed so). waiting, if set, is called once when the
// lock is busy. Outside Linux it locks nothing, as ClaimRun.
func LockMerges(ctx context.Context, path string, waiting func()) (release func(), err error) {
	lock := linkTarget(path) + "-lock"
	told := false
	for {
		release, err := claim(lock, mergeByte)
		if !errors.Is(err, ErrRunBusy) {
			if err != nil {
				return nil, fmt.Errorf("db: lock %s for merging: %w", path, err)
			}
			return release, nil
		}
		if !told && waiting != nil {
			waiting()
			told = true
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("db: waiting to merge into %s: %w", path, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// linkTarget is the file path names through symbolic links, also one
// that does not exist yet (a dangling link, which SQLite creates the file
// of): the lock of a merge into it, named after the link, would not be
// the lock of a merge into the file (a trial's two merges took two).
func linkTarget(path string) string {
	for range 40 { // as the kernel's limit on links followed
		if real, err := filepath.EvalSymlinks(path); err == nil {
			return real
		}
		fi, err := os.Lstat(path)
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			return path
		}
		to, err := os.Readlink(path)
		if err != nil {
			return path
		}
		if !filepath.IsAbs(to) {
			to = filepath.Join(filepath.Dir(path), to)
		}
		path = to
	}
	return path
}

// lockPath is the claims' lock file: beside the database file itself, not
// beside a symbolic link to it, so that every path to the database shares
// one (SQLite too names its WAL after the file a link points to).
func (d *DB) lockPath() string { return linkTarget(d.path) + "-lock" }

// checkLinks refuses a database file with several hard links: SQLite names
// its WAL and shared memory after the path opened, so writers through two
// names each keep a WAL of their own, and corrupt the file.
func checkLinks(path string) error {
	if n := linkCount(path); n > 1 {
		return fmt.Errorf("db: %s has %d hard links: SQLite names its write-ahead log after the path, so writing through two of them corrupts the file; use one name (a symbolic link is safe), or copy the file", path, n)
	}
	return nil
}
