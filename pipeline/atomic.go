package pipeline

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFileAtomic writes a file through write into a temporary file beside
// path, sets its permissions and renames it over path, so that a reader
// never sees half a file and a failed write leaves any old file alone. The
// data is synced before the rename: after a crash, path holds the old
// file or the whole new one, never an empty one. A symbolic link's target
// is written; a device, pipe or socket is refused.
func WriteFileAtomic(path string, perm os.FileMode, write func(io.Writer) error) error {
	// A symbolic link is followed: its target is what the user means,
	// and renaming over the link would leave the target as it was.
	real, err := followLinks(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	path = real
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		// Renaming over a device or a pipe would replace it with a file.
		return fmt.Errorf("write %s: not a regular file", path)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		// The temporary file's random name means nothing to the user.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = fmt.Errorf("directory %s: %w", dir, pe.Err)
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// CreateTemp makes the file 0600; results are for colleagues to read.
	if err := os.Chmod(tmp, perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// followLinks returns where path leads through symbolic links, even to a
// file not there yet (a dangling link names the file to create); path
// itself when it is no link. A link's relative target is taken from the
// link's real directory, as the kernel does ("../x" from a directory
// reached through a link is not "../x" of its name).
func followLinks(path string) (string, error) {
	if p, err := filepath.EvalSymlinks(path); err == nil {
		return p, nil
	}
	for range 40 {
		fi, err := os.Lstat(path)
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			return path, nil
		}
		target, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(target) {
			dir, err := filepath.EvalSymlinks(filepath.Dir(path))
			if err != nil {
				return "", err
			}
			target = filepath.Join(dir, target)
		}
		path = target
	}
	return "", fmt.Errorf("%s: too many levels of symbolic links", path)
}
