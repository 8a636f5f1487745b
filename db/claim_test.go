package db

import (
	"errors"
	"runtime"
	"testing"
)

func TestClaimRun(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("runs are claimed on Linux only")
	}
	d, run := sweepRunDB(t, "")
	if held, err := d.RunClaimed(run); err != nil || held {
		t.Errorf("before any claim: claimed %v, %v", held, err)
	}
	release, err := d.ClaimRun(run)
	if err != nil {
		t.Fatal(err)
	}
	if held, err := d.RunClaimed(run); err != nil || !held {
		t.Errorf("while claimed: claimed %v, %v", held, err)
	}
	if _, err := d.ClaimRun(run); !errors.Is(err, ErrRunBusy) {
		t.Errorf("second claim of run %d: err = %v, want ErrRunBusy", run, err)
	}
	other, err := d.ClaimRun(run + 1)
	if err != nil {
		t.Errorf("claim of another run: %v", err)
	} else {
		other()
	}
	release()
	if held, err := d.RunClaimed(run); err != nil || held {
		t.Errorf("after release: claimed %v, %v", held, err)
	}
	again, err := d.ClaimRun(run)
	if err != nil {
		t.Fatalf("claim after release: %v", err)
	}
	again()
}
