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

// TestWriteFileAtomicSpecialFiles: a symbolic link's target is written,
// or created, and the link kept (the link was replaced by a file, its
// target left stale); a named pipe is refused, not replaced by a file.
func TestWriteFileAtomicSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }
	target, link := filepath.Join(dir, "real.csv"), filepath.Join(dir, "link.csv")
	if err := os.WriteFile(target, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	if err := WriteFileAtomic(link, 0o644, write); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "new" {
		t.Errorf("the link's target holds %q, want %q", b, "new")
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link is no longer a link: %v, %v", fi.Mode(), err)
	}
	// A dangling link names the file to create.
	dangling := filepath.Join(dir, "dangling.csv")
	if err := os.Symlink("later.csv", dangling); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(dangling, 0o644, write); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "later.csv")); string(b) != "new" {
		t.Errorf("the dangling link's target holds %q, want %q", b, "new")
	}
	if fi, err := os.Lstat(dangling); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the dangling link is no longer a link: %v, %v", fi.Mode(), err)
	}
	// A relative link in a directory reached through a link: its ".." is
	// the real directory's parent (the name's parent was written).
	real := filepath.Join(dir, "real", "sub")
	if err := os.MkdirAll(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../target.csv", filepath.Join(real, "out.csv")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(dir, "d")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "target.csv"), []byte("victim"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "d", "out.csv"), 0o644, write); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "real", "target.csv")); string(b) != "new" {
		t.Errorf("real/target.csv holds %q, want %q", b, "new")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "target.csv")); string(b) != "victim" {
		t.Errorf("an unrelated target.csv was written: %q", b)
	}
	// A loop is an error, not a file put in the link's place.
	loop := filepath.Join(dir, "loop.csv")
	if err := os.Symlink("loop.csv", loop); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(loop, 0o644, write); err == nil || !strings.Contains(err.Error(), "too many levels of symbolic links") {
		t.Errorf("a link loop: %v, want refused", err)
	}
	if fi, err := os.Lstat(loop); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the looping link was replaced: %v, %v", fi.Mode(), err)
	}
	fifo := filepath.Join(dir, "fifo.csv")
	if err := mkfifo(fifo); err != nil {
		t.Skip("no named pipes here:", err)
	}
	if err := WriteFileAtomic(fifo, 0o644, write); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a named pipe: %v, want refused", err)
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the pipe was replaced: %v, %v", fi.Mode(), err)
	}
}
