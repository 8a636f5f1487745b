package fsx

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFileInPath: the file that stands where a directory of the path
// should be is found at any depth below it; a path through directories
// alone, existing or not, has none.
func TestFileInPath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{file, file},
		{filepath.Join(file, "x"), file},
		{filepath.Join(file, "x", "y", "z.db"), file},
		{filepath.Join(dir, "d"), ""},
		{filepath.Join(dir, "d", "new", "z.db"), ""},
		{filepath.Join(dir, "missing", "z.db"), ""},
	} {
		if got := FileInPath(tc.path); got != tc.want {
			t.Errorf("FileInPath(%s) = %q, want %q", tc.path, got, tc.want)
		}
	}
}
