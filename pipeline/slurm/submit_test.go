package slurm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeSlurm records commands and answers them from a script.
type fakeSlurm struct {
	calls  []string
	squeue []string // successive squeue outputs
	nextID int
}

func (f *fakeSlurm) run(_ context.Context, name string, args ...string) ([]byte, error) {
	f.calls = append(f.calls, name+" "+strings.Join(args, " "))
	switch name {
	case "sbatch":
		f.nextID++
		return []byte(fmt.Sprintf("%d;cluster\n", 100+f.nextID)), nil
	case "squeue":
		if len(f.squeue) == 0 {
			return nil, errors.New("squeue: exit status 1: slurm_load_jobs error: Invalid job id specified")
		}
		out := f.squeue[0]
		if len(f.squeue) > 1 {
			f.squeue = f.squeue[1:]
		}
		return []byte(out), nil
	case "scancel":
		return nil, nil
	}
	return nil, fmt.Errorf("unexpected command %s", name)
}

func TestSubmit(t *testing.T) {
	s := &Scripts{Dir: "/d", Sweep: "/d/sweep.sbatch", Merge: "/d/merge.sbatch", Tasks: 4}
	// The queue while reruns are submitted: an earlier array of /d still
	// running (one line a task), its merge, and another directory's array.
	queue := "77|dendfit-x-sweep|/d\n77|dendfit-x-sweep|/d\n78|dendfit-x-merge|/d\n90|dendfit-x-sweep|/e\n"
	tests := []struct {
		name   string
		tasks  []int
		squeue []string
		want   []string
	}{
		{"all", nil, []string{"90|dendfit-x-sweep|/e\n"}, []string{
			"squeue --noheader --format=%F|%j|%Z",
			"sbatch --parsable /d/sweep.sbatch",
			"sbatch --parsable --dependency=afterok:101 /d/merge.sbatch"}},
		// Without squeue (it failed), the array goes, as before.
		{"all, no squeue", nil, nil, []string{
			"squeue --noheader --format=%F|%j|%Z",
			"sbatch --parsable /d/sweep.sbatch",
			"sbatch --parsable --dependency=afterok:101 /d/merge.sbatch"}},
		{"rerun 1 and 3", []int{1, 3}, []string{""}, []string{
			"squeue --noheader --format=%F|%j|%Z",
			"sbatch --parsable --array=1,3 /d/sweep.sbatch",
			"sbatch --parsable --dependency=afterok:101 /d/merge.sbatch"}},
		{"rerun while the array runs", []int{1, 2}, []string{queue, "77_0 RUNNING\n77_1 PENDING\n77_2 COMPLETED\n77_3 CANCELLED+\n"}, []string{
			"squeue --noheader --format=%F|%j|%Z",
			"squeue --noheader --array --states=all --format=%i %T --jobs=77",
			"sbatch --parsable --array=1,2 /d/sweep.sbatch",
			"sbatch --parsable --dependency=afterok:101,afterany:77 /d/merge.sbatch"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeSlurm{squeue: tc.squeue}
			j, err := (&Client{Run: f.run}).Submit(context.Background(), s, tc.tasks...)
			if err != nil {
				t.Fatal(err)
			}
			if j.Array != "101" || j.Merge != "102" {
				t.Errorf("jobs = %+v", j)
			}
			if !reflect.DeepEqual(f.calls, tc.want) {
				t.Errorf("calls = %q, want %q", f.calls, tc.want)
			}
		})
	}
	if _, err := (&Client{Run: (&fakeSlurm{}).run}).Submit(context.Background(), s, 4); err == nil {
		t.Error("task 4 of 4 accepted")
	}
	// A rerun's overrides go before the script, for its tasks alone.
	opts, err := Overrides{Time: "04:00:00", CPUs: 8}.Options()
	if err != nil {
		t.Fatal(err)
	}
	fo := &fakeSlurm{squeue: []string{""}}
	if _, err := (&Client{Run: fo.run}).SubmitRerun(context.Background(), s, opts, 1); err != nil {
		t.Fatal(err)
	}
	if want := []string{"squeue --noheader --format=%F|%j|%Z", "sbatch --parsable --time=04:00:00 --cpus-per-task=8 --array=1 /d/sweep.sbatch",
		"sbatch --parsable --dependency=afterok:101 /d/merge.sbatch"}; !reflect.DeepEqual(fo.calls, want) {
		t.Errorf("rerun with overrides: calls %q, want %q", fo.calls, want)
	}
	for _, bad := range []Overrides{{Time: "soon"}, {Mem: "lots"}, {Partition: "a b"}, {CPUs: -1}} {
		if _, err := bad.Options(); err == nil {
			t.Errorf("overrides %+v accepted", bad)
		}
	}
	// A task to rerun that the array is still running is refused, before
	// anything is submitted: both would sweep its shard at once (a user
	// trial found two runs of 168,000 points). One still queued is not:
	// it will resume the shard the rerun swept, and find it complete.
	f0 := &fakeSlurm{squeue: []string{queue, "77_0 RUNNING\n77_1 PENDING\n77_2 COMPLETED\n77_3 CANCELLED+\n"}}
	_, err = (&Client{Run: f0.run}).Submit(context.Background(), s, 0, 1, 3)
	if !errors.Is(err, ErrTasksActive) || !strings.Contains(err.Error(), "task(s) 77_0 still running") || !strings.Contains(err.Error(), "(scancel 77_0)") {
		t.Errorf("rerun of tasks 0, 1 and 3 while 0 runs and 1 waits: %v", err)
	}
	if slices.ContainsFunc(f0.calls, func(c string) bool { return strings.HasPrefix(c, "sbatch") }) {
		t.Errorf("submitted anyway: %q", f0.calls)
	}
	// The whole array again while an array of the directory is queued or
	// running is refused, before anything is submitted: every shard would
	// be swept twice (a trial submitted one twice).
	fa := &fakeSlurm{squeue: []string{queue}}
	_, err = (&Client{Run: fa.run}).Submit(context.Background(), s)
	if !errors.Is(err, ErrArrayActive) || !strings.Contains(err.Error(), "array job(s) 77 of /d still queued or running") || !strings.Contains(err.Error(), "(scancel 77)") {
		t.Errorf("the array again while 77 runs: %v", err)
	}
	if slices.ContainsFunc(fa.calls, func(c string) bool { return strings.HasPrefix(c, "sbatch") }) {
		t.Errorf("submitted anyway: %q", fa.calls)
	}
	// The directory named through a symbolic link is the one squeue names.
	real := filepath.Join(t.TempDir(), "real")
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	f := &fakeSlurm{squeue: []string{"55|dendfit-x-sweep|" + real + "\n"}}
	j, err := (&Client{Run: f.run}).Submit(context.Background(), &Scripts{Dir: link, Sweep: link + "/sweep.sbatch", Merge: link + "/merge.sbatch", Tasks: 2}, 1)
	if err != nil || !slices.Equal(j.Waits, []string{"55"}) {
		t.Errorf("rerun in %s, the array running in %s: merge waits for %v (%v), want 55", link, real, j.Waits, err)
	}
}

func TestWait(t *testing.T) {
	tests := []struct {
		name    string
		squeue  []string
		wantErr error
		want    string
	}{
		{"completes", []string{"7_0 RUNNING\n7_1 PENDING\n", "7_0 COMPLETED\n7_1 RUNNING\n", "7_0 COMPLETED\n7_1 COMPLETED\n"},
			nil, "[{7_0 COMPLETED} {7_1 COMPLETED}]"},
		{"one task cancelled", []string{"7_0 COMPLETED\n7_1 CANCELLED+\n"}, ErrJobsFailed, "[{7_0 COMPLETED} {7_1 CANCELLED}]"},
		{"forgotten", nil, ErrJobsFailed, "[{7 GONE}]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeSlurm{squeue: tc.squeue}
			st, err := (&Client{Run: f.run, Poll: time.Millisecond}).Wait(context.Background(), "7")
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if got := fmt.Sprint(st); got != tc.want {
				t.Errorf("states = %s, want %s", got, tc.want)
			}
		})
	}
	// A bounded wait ends with the context's error.
	f := &fakeSlurm{squeue: []string{"7_0 RUNNING\n"}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := (&Client{Run: f.run, Poll: time.Millisecond}).Wait(ctx, "7"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want deadline exceeded", err)
	}
}
