// Package fsx holds a file-system check shared by the packages that make
// files where the user says: the database (db) and the SLURM scripts
// (pipeline/slurm).
package fsx

import (
	"os"
	"path/filepath"
)

// FileInPath returns the nearest part of path that exists (path itself,
// or the directory above it, and so on) when that part is a file: a file
// stands where a directory of path should be, and open or mkdir say only
// "not a directory". It returns "" when the nearest part that exists is a
// directory, or when no part does.
func FileInPath(path string) string {
	for d := path; ; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil {
			if fi.IsDir() {
				return ""
			}
			return d
		}
		if d == filepath.Dir(d) {
			return ""
		}
	}
}
