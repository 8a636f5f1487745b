package db

import (
	"context"
	"errors"
	"testing"
)

func TestExperimentByID(t *testing.T) {
	ctx := context.Background()
	d := openTemp(t, "dendfit.db")
	id, err := d.PutExperiment(ctx, "ca1", []byte("spec text\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		id       int64
		want     string
		notFound bool
	}{
		{"recorded", id, "spec text\n", false},
		{"missing", id + 100, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := d.Experiment(ctx, tc.id)
			if tc.notFound {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("err = %v, want ErrNotFound", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(e.SpecText) != tc.want || e.Name != "ca1" || len(e.SpecSHA256) != 64 {
				t.Errorf("got %+v", e)
			}
		})
	}
}
