package db

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
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

// TestRunsInterrupted: a run stored as running reads as running while a
// process claims it and as interrupted once none does, whatever its
// command, and the status filters and limits go by what reads report.
func TestRunsInterrupted(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("runs are claimed on Linux only")
	}
	ctx := context.Background()
	d := openTemp(t, "r.db")
	live := newRun(t, d, "e", "a: 1", CommandFit)
	dead1 := newRun(t, d, "e", "a: 1", CommandSimulate)
	dead2 := newRun(t, d, "e", "a: 1", CommandSweep)
	done := newRun(t, d, "e", "a: 1", CommandSweep)
	if err := d.FinishRun(ctx, done.ID, StatusDone, ""); err != nil {
		t.Fatal(err)
	}
	release, err := d.ClaimRun(live.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	for _, c := range []struct {
		f    RunFilter
		want []int64
	}{
		{RunFilter{Status: StatusRunning}, []int64{live.ID}},
		{RunFilter{Status: StatusInterrupted}, []int64{dead2.ID, dead1.ID}},
		{RunFilter{Status: StatusInterrupted, Limit: 1}, []int64{dead2.ID}},
		{RunFilter{Status: StatusInterrupted, Command: CommandSimulate}, []int64{dead1.ID}},
		{RunFilter{Status: StatusDone}, []int64{done.ID}},
		{RunFilter{Limit: 2}, []int64{done.ID, dead2.ID}},
	} {
		runs, err := d.Runs(ctx, c.f)
		if got := runIDs(runs); err != nil || !slices.Equal(got, c.want) {
			t.Errorf("Runs(%+v) = %v, %v; want %v", c.f, got, err, c.want)
		}
	}
	for id, want := range map[int64]string{live.ID: StatusRunning, dead1.ID: StatusInterrupted, done.ID: StatusDone} {
		if r, err := d.Run(ctx, id); err != nil || r.Status != want {
			t.Errorf("Run(%d).Status = %v, %v; want %s", id, r, err, want)
		}
	}
}

// TestCreateClaimedRunIsNeverSeenUnclaimed races a reader that takes over
// every running run it can claim (as `sweep --resume` does) against runs
// being created: a run must be claimed before any reader sees it, or the
// reader takes it from its creator. CreateRun then ClaimRun lost 2 to 9
// runs of the 200 this way.
func TestCreateClaimedRunIsNeverSeenUnclaimed(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("runs are claimed on Linux only")
	}
	ctx := context.Background()
	d, _ := sweepRunDB(t, "")
	reader, err := Open(ctx, d.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	eid, err := d.PutExperiment(ctx, "x", []byte("spec"))
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	taken := make(chan int64, 1000)
	go func() {
		defer close(taken)
		for {
			select {
			case <-stop:
				return
			default:
			}
			runs, err := reader.Runs(ctx, RunFilter{Status: StatusInterrupted})
			if err != nil {
				continue
			}
			for _, r := range runs {
				if release, err := reader.ClaimRun(r.ID); err == nil {
					release()
					taken <- r.ID
				}
			}
		}
	}()
	const n = 200
	var releases []func()
	for range n {
		_, release, claimErr, err := d.CreateClaimedRun(ctx, NewRun(eid, CommandSweep, nil), true)
		if err != nil || claimErr != nil {
			t.Fatal(err, claimErr)
		}
		releases = append(releases, release)
	}
	close(stop)
	for id := range taken {
		if id != 1 { // run 1, sweepRunDB's, is unclaimed
			t.Errorf("the reader claimed run %d while its creator was to hold it", id)
		}
	}
	for _, r := range releases {
		r()
	}
}

// TestClaimThroughALink: a run claimed through one path to the database is
// claimed through a symbolic link to it too (each used a lock file of its
// own, and a resume through the link took over a live sweep); a database
// with a second hard link is refused (each name got a WAL of its own,
// which corrupted the file).
func TestClaimThroughALink(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("runs are claimed on Linux only")
	}
	d, run := sweepRunDB(t, "")
	link := filepath.Join(t.TempDir(), "link.db")
	if err := os.Symlink(d.Path(), link); err != nil {
		t.Fatal(err)
	}
	viaLink, err := Open(context.Background(), link)
	if err != nil {
		t.Fatal(err)
	}
	defer viaLink.Close()
	release, err := d.ClaimRun(run)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if held, err := viaLink.RunClaimed(run); err != nil || !held {
		t.Errorf("through the link: claimed %v, %v; want claimed", held, err)
	}
	if _, err := viaLink.ClaimRun(run); !errors.Is(err, ErrRunBusy) {
		t.Errorf("claim through the link: %v, want ErrRunBusy", err)
	}
	hard := filepath.Join(filepath.Dir(d.Path()), "hard.db")
	if err := os.Link(d.Path(), hard); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{hard, d.Path()} {
		if h, err := Open(context.Background(), p); err == nil || !strings.Contains(err.Error(), "has 2 hard links") {
			t.Errorf("open %s: %v, want refused for its hard links", p, err)
			if err == nil {
				h.Close()
			}
		}
	}
}

// TestDotDotAfterALink: "link/../x.db" is the file the kernel opens (the
// link's target's parent's x.db), for SQLite and the claims alike; it was
// cleaned as text to another file, a new empty database.
func TestDotDotAfterALink(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("runs are claimed on Linux only")
	}
	dir := t.TempDir()
	for _, p := range []string{"p/q", "p/a"} {
		if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "p/q"), filepath.Join(dir, "s")); err != nil {
		t.Fatal(err)
	}
	d, run := sweepRunDB(t, filepath.Join(dir, "p/a/r.db"))
	release, err := d.ClaimRun(run)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	via, err := Open(context.Background(), filepath.Join(dir, "s")+"/../a/r.db")
	if err != nil {
		t.Fatal(err)
	}
	defer via.Close()
	if runs, err := via.Runs(context.Background(), RunFilter{}); err != nil || len(runs) != 1 {
		t.Errorf("through s/../a/r.db: %d runs, %v; want p/a/r.db's one", len(runs), err)
	}
	if held, err := via.RunClaimed(run); err != nil || !held {
		t.Errorf("through s/../a/r.db: claimed %v, %v; want the claim made through p/a/r.db", held, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); err == nil {
		t.Error("a database was made at the textual path a/r.db")
	}
}

// TestLockMergesThroughADanglingLink: a merge into a dangling symbolic
// link (SQLite creates the file it names) takes the lock of a merge into
// that file, so that the two wait for each other.
func TestLockMergesThroughADanglingLink(t *testing.T) {
	if !ClaimsKnown() {
		t.Skip("no locks on this system")
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "sub", "out.db")
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.db")
	if err := os.Symlink(filepath.Join("sub", "out.db"), link); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	release, err := LockMerges(ctx, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	waited := false
	if r, err := LockMerges(short, link, func() { waited = true }); err == nil || !waited {
		if r != nil {
			r()
		}
		t.Errorf("a merge through the dangling link took its own lock: %v (waited %v)", err, waited)
	}
}
