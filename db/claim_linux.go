package db

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// claim takes an open file description lock on byte off of the file at
// path (created if needed), held until release closes the descriptor.
func claim(path string, off int64) (release func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: off, Len: 1}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk); err != nil {
		f.Close()
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
			return nil, ErrRunBusy
		}
		return nil, err
	}
	return func() { f.Close() }, nil
}

// claimed tests for a lock on byte off of the file at path without taking
// it; a missing file holds none.
func claimed(path string, off int64) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: off, Len: 1}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_GETLK, &lk); err != nil {
		return false, err
	}
	return lk.Type != unix.F_UNLCK, nil
}

// linkCount is the number of hard links of the file at path, or 0 when it
// cannot be read.
func linkCount(path string) uint64 {
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil {
		return 0
	}
	return uint64(st.Nlink)
}

// renameNoReplace renames from to to unless to exists (fs.ErrExist), in
// one step: two commands making the same new database do not overwrite
// each other's.
func renameNoReplace(from, to string) error {
	err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EEXIST) {
		return fs.ErrExist
	}
	return err
}

// newUnnamed opens a new file in dir that has no name until publish links
// it as path, which it does only where no file is yet (fs.ErrExist): a
// process killed before that leaves nothing in dir, as the kernel frees a
// file without a name with its last descriptor. It fails where the file
// system cannot make such files (O_TMPFILE), or /proc is not mounted.
func newUnnamed(dir string) (f *os.File, publish func(path string) error, err error) {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, nil, err
	}
	f = os.NewFile(uintptr(fd), dir)
	self := fmt.Sprintf("/proc/self/fd/%d", fd)
	if _, err := os.Stat(self); err != nil {
		f.Close()
		return nil, nil, err
	}
	publish = func(path string) error {
		// A link never replaces a name, unlike a rename.
		err := unix.Linkat(unix.AT_FDCWD, self, unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW)
		if errors.Is(err, unix.EEXIST) {
			return fs.ErrExist
		}
		return err
	}
	return f, publish, nil
}

const claimsKnown = true
