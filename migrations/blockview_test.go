package migrations

import (
	"strings"
	"testing"

	"github.com/dendfit/dendfit/migrations/internal/blockview"
)

// TestPointsViewIsGenerated: 0003's points view is exactly what
// internal/blockview generates (its decoding is tested in db).
func TestPointsViewIsGenerated(t *testing.T) {
	b, err := FS.ReadFile("0003_point_blocks.sql")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(b), blockview.SQL()) {
		t.Fatal("0003_point_blocks.sql does not end with blockview.SQL(); regenerate the view")
	}
}
