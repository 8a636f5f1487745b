package migrations

import (
	"strings"
	"testing"
)

func TestAll(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Fatal("no migrations embedded")
	}
	for i, m := range all {
		if m.Version != i+1 {
			t.Errorf("%s: version %d, want %d (versions must be contiguous from 1)", m.Name, m.Version, i+1)
		}
		if strings.TrimSpace(m.SQL) == "" {
			t.Errorf("%s: empty", m.Name)
		}
	}
	latest, err := Latest()
	if err != nil {
		t.Fatal(err)
	}
	if latest != all[len(all)-1].Version {
		t.Errorf("Latest() = %d, want %d", latest, all[len(all)-1].Version)
	}
	if !strings.Contains(all[0].SQL, "CREATE TABLE runs") {
		t.Errorf("0001 does not create runs")
	}
}

// TestBaseline: the newest snapshot is found, for a known version, and
// creates the runs table (db checks it against the migrations).
func TestBaseline(t *testing.T) {
	v, text, ok, err := Baseline()
	if err != nil || !ok {
		t.Fatalf("Baseline: ok %v, %v", ok, err)
	}
	latest, _ := Latest()
	if v < 1 || v > latest || !strings.Contains(text, "CREATE TABLE runs") {
		t.Errorf("baseline %d (latest migration %d), creates runs: %v", v, latest, strings.Contains(text, "CREATE TABLE runs"))
	}
}
