package spec

import (
	"path/filepath"
	"testing"
)

func caseFiles(t testing.TB) []string {
	files, err := filepath.Glob(filepath.Join("testdata", "cases", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no reference cases: %v", err)
	}
	return files
}

// Every conformance case of the reference must load, build and set up.
func TestReferenceCasesLoad(t *testing.T) {
	files := caseFiles(t)
	if len(files) != 26 {
		t.Errorf("got %d reference cases, want 26", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			s, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Warnings) > 0 {
				t.Errorf("warnings: %v", s.Warnings)
			}
			for i := range s.Pathways {
				su, rs, err := s.Setup(i)
				if err != nil {
					t.Fatalf("Setup(%d): %v", i, err)
				}
				if su.Cell == nil || len(rs) == 0 {
					t.Fatalf("Setup(%d): empty result", i)
				}
			}
		})
	}
}
