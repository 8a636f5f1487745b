package migrations

import (
	"strings"
	"testing"

	"github.com/dendfit/dendfit/migrations/internal/blockview"
)

// TestPointsViewIsGenerated: the points views of 0003, 0004 and 0006 are
// exactly what internal/blockview generates (their decoding is tested in
// db).
func TestPointsViewIsGenerated(t *testing.T) {
	for _, tc := range []struct {
		file, view, fn string
	}{
		{"0003_point_blocks.sql", blockview.SQL(), "SQL"},
		{"0004_compact_blocks.sql", blockview.SQL4(), "SQL4"},
		{"0006_fast_points_view.sql", blockview.SQL6(), "SQL6"},
	} {
		b, err := FS.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(string(b), tc.view) {
			t.Errorf("%s does not end with blockview.%s(); regenerate the view", tc.file, tc.fn)
		}
	}
}
