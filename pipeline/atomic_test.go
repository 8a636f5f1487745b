package pipeline

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fig.svg")
	write := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	if err := WriteFileAtomic(path, 0o644, write("first")); err != nil {
		t.Fatal(err)
	}
	// A write that fails halfway leaves the old file whole and no
	// temporary file behind.
	boom := errors.New("boom")
	err := WriteFileAtomic(path, 0o644, func(w io.Writer) error {
		io.WriteString(w, "half")
		return boom
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), path) {
		t.Errorf("failed write: err = %v, want boom naming %s", err, path)
	}
	if b, _ := os.ReadFile(path); string(b) != "first" {
		t.Errorf("after a failed write the file holds %q, want the old %q", b, "first")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d entries after a failed write, want only the file", len(ents))
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v: want 0644 (CreateTemp's 0600 replaced)", fi.Mode(), err)
	}
	// A missing directory is named, not the temporary file's random name.
	missing := filepath.Join(dir, "nope", "r.html")
	err = WriteFileAtomic(missing, 0o644, write("x"))
	want := "write " + missing + ": directory " + filepath.Dir(missing) + ": no such file or directory"
	if err == nil || err.Error() != want {
		t.Errorf("missing directory: err = %v, want %q", err, want)
	}
}
