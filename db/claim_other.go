//go:build !linux

package db

import (
	"errors"
	"os"
)

// claim claims nothing outside Linux (see ClaimRun).
func claim(path string, off int64) (release func(), err error) {
	return func() {}, nil
}

// claimed reports every run as claimed outside Linux (see RunClaimed).
func claimed(path string, off int64) (bool, error) { return true, nil }

// linkCount is not checked outside Linux.
func linkCount(path string) uint64 { return 0 }

// renameNoReplace is not available outside Linux: a new database is made
// by its SQL (see createFromImage).
func renameNoReplace(from, to string) error { return errors.ErrUnsupported }

// newUnnamed is not available outside Linux: a new database is made by its
// SQL (see createFromImage).
func newUnnamed(dir string) (f *os.File, publish func(path string) error, err error) {
	return nil, nil, errors.ErrUnsupported
}

const claimsKnown = false
