package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/pipeline"
)

// mergeTestCLI runs dendfit in-process with args and returns its stdout.
func mergeTestCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return runCLI(t, args...)
}

// mergeTestSpec writes the reference case ampa-instant-2comp-dimensionless-gsweep
// with its g axis widened to steps points (so that it spans several chunks).
func mergeTestSpec(t *testing.T, steps string) string {
	t.Helper()
	b := referenceCase(t, "ampa-instant-2comp-dimensionless-gsweep")
	s := strings.Replace(b, "steps: 12", "steps: "+steps, 1)
	if s == b {
		t.Fatal("reference case changed: no 'steps: 12' to widen")
	}
	return writeSpec(t, t.TempDir(), "gsweep.yaml", s)
}

const mergeTestExperiment = "ampa-instant-2comp-dimensionless-gsweep"

// TestMergedShardsQueryLikeSingleRun is the contract of merge: after
// sweeping in N shards and merging, `query points --experiment NAME --json`
// prints byte for byte what it prints after one single-process sweep.
func TestMergedShardsQueryLikeSingleRun(t *testing.T) {
	spec := mergeTestSpec(t, "150") // 150 points: 5 chunks of 32
	dir := t.TempDir()
	single := filepath.Join(dir, "single.db")
	if _, err := mergeTestCLI(t, "sweep", spec, "--db", single, "-q"); err != nil {
		t.Fatal(err)
	}
	want, err := mergeTestCLI(t, "query", "points", "--experiment", mergeTestExperiment, "--json", "--db", single)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(want, `"point_key"`); n != 150 {
		t.Fatalf("single run has %d points, want 150", n)
	}
	for _, n := range []int{2, 3, 4, 7} { // 7 > chunks: some shards are empty
		t.Run(fmt.Sprintf("shards=%d", n), func(t *testing.T) {
			dir := t.TempDir()
			var shards []string
			for k := 0; k < n; k++ {
				p := filepath.Join(dir, fmt.Sprintf("shard-%d.db", k))
				shards = append(shards, p)
				if _, err := mergeTestCLI(t, "sweep", spec, "--shard", fmt.Sprintf("%d/%d", k, n), "--db", p, "-q"); err != nil {
					t.Fatal(err)
				}
			}
			merged := filepath.Join(dir, "merged.db")
			// Merge in reverse order, then everything again: idempotent.
			rev := append([]string(nil), shards...)
			for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
				rev[i], rev[j] = rev[j], rev[i]
			}
			if _, err := mergeTestCLI(t, append([]string{"merge", merged}, rev...)...); err != nil {
				t.Fatal(err)
			}
			out, err := mergeTestCLI(t, append([]string{"merge", merged}, shards...)...)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, "150 of 150 points (0 added), done") {
				t.Errorf("second merge output:\n%s", out)
			}
			got, err := mergeTestCLI(t, "query", "points", "--experiment", mergeTestExperiment, "--json", "--db", merged)
			if err != nil {
				t.Fatal(err)
			}
			// The same points; the run they are of differs, a union of
			// the n shards.
			if pointsOf(t, got) != pointsOf(t, want) {
				t.Errorf("query points on the merged db differs from the single-process run:\n got %.400s\nwant %.400s", got, want)
			}
			if u := fmt.Sprintf(`"union_of_shards": %d`, n); strings.Contains(got, u) != (n > 1) || strings.Contains(want, "union_of_shards") {
				t.Errorf("query points' run: union_of_shards of %d shards %v; single run %v", n, strings.Contains(got, u), strings.Contains(want, "union_of_shards"))
			}
			// The union run's shard reads as the whole grid, not 0/1.
			runsOut, err := mergeTestCLI(t, "query", "runs", "--db", merged, "--format", "csv")
			if err != nil {
				t.Fatal(err)
			}
			if n > 1 && strings.Count(runsOut, fmt.Sprintf(",all/%d,", n)) != 1 || strings.Contains(runsOut, ",0/1,") {
				t.Errorf("query runs after merging %d shards:\n%s", n, runsOut)
			}
			runsJSON, err := mergeTestCLI(t, "query", "runs", "--db", merged, "--json")
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf(`"union_of_shards": %d,`, n); n > 1 && strings.Count(runsJSON, want) != 1 {
				t.Errorf("query runs --json after merging %d shards: want one %s\n%s", n, want, runsJSON)
			}
			d, err := db.Open(context.Background(), merged)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			runs, err := d.Runs(context.Background(), db.RunFilter{Experiment: mergeTestExperiment})
			if err != nil {
				t.Fatal(err)
			}
			if len(runs) != n+1 {
				t.Errorf("%d runs, want %d shard runs and one union run", len(runs), n)
			}
		})
	}
}

func TestMergeIncompleteFails(t *testing.T) {
	spec := mergeTestSpec(t, "150")
	dir := t.TempDir()
	shard := filepath.Join(dir, "shard-0.db")
	if _, err := mergeTestCLI(t, "sweep", spec, "--shard", "0/2", "--db", shard, "-q"); err != nil {
		t.Fatal(err)
	}
	merged := filepath.Join(dir, "merged.db")
	out, err := mergeTestCLI(t, "--json", "merge", merged, shard)
	if err == nil || !strings.Contains(err.Error(), "do not cover their grid") {
		t.Fatalf("err = %v, want 'do not cover their grid'", err)
	}
	for _, s := range []string{`"status": "failed"`, `"missing_shards": [`, `"grid_points": 150`} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %s:\n%s", s, out)
		}
	}
}

func TestMergeUsage(t *testing.T) {
	for _, args := range [][]string{{"merge"}, {"merge", "out.db"}} {
		_, err := mergeTestCLI(t, args...)
		var ue usageError
		if err == nil || !errors.As(err, &ue) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
}

// TestMergeRefusesInputsFirst: an input merge cannot use is refused, in one
// line naming it, before OUT.db is created; a good input listed first is
// not merged either.
func TestMergeRefusesInputsFirst(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	if _, err := mergeTestCLI(t, "sweep", mergeTestSpec(t, "20"), "--db", good, "-q"); err != nil {
		t.Fatal(err)
	}
	notDB := filepath.Join(dir, "notes.txt")
	empty := filepath.Join(dir, "empty.db")
	for path, body := range map[string]string{notDB: "not sqlite", empty: ""} {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A shard of another text of the spec (an edit), after a good one.
	edited := filepath.Join(dir, "edited.db")
	b, err := os.ReadFile(mergeTestSpec(t, "20"))
	if err != nil {
		t.Fatal(err)
	}
	espec := filepath.Join(t.TempDir(), "edited.yaml")
	if err := os.WriteFile(espec, append(b, "# edited\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := mergeTestCLI(t, "sweep", espec, "--db", edited, "-q"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want string }{
		{filepath.Join(dir, "missing.db"), "missing.db read-only: no such database"},
		{notDB, "notes.txt read-only: file is not a database"},
		{edited, "the databases hold different specs under one experiment name (nothing was merged)"},
	} {
		out := filepath.Join(dir, "out.db")
		_, err := mergeTestCLI(t, "merge", out, good, tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("merge %s: err = %v, want one line containing %q", tc.in, err, tc.want)
		}
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("merge %s: OUT.db exists after the refusal (%v)", tc.in, err)
		}
	}
	// An empty file given as OUT.db and input both is refused before
	// anything writes it (Open would have made its schema).
	if _, err := mergeTestCLI(t, "merge", empty, empty); err == nil || !strings.Contains(err.Error(), "is both OUT.db and an input") {
		t.Errorf("merge EMPTY EMPTY: %v", err)
	}
	if fi, err := os.Stat(empty); err != nil || fi.Size() != 0 {
		t.Errorf("merge EMPTY EMPTY wrote it: %v, %v", fi, err)
	}
	// An empty file is a database with nothing in it yet (a shard whose
	// task was killed before its first commit): it adds nothing, and the
	// good input is merged.
	got, err := mergeTestCLI(t, "merge", "--json", filepath.Join(dir, "out.db"), good, empty)
	if err != nil || !strings.Contains(got, `"input": "`+empty+`",
      "experiments": 0,
      "runs": 0`) || !strings.Contains(got, `"runs": 1`) {
		t.Errorf("merge of a good input and an empty one: %v\n%s", err, got)
	}
}

// TestMergeDBFlag: with --db, OUT.db is --db and every argument an input,
// which merge leaves as it was.
func TestMergeDBFlag(t *testing.T) {
	spec := mergeTestSpec(t, "150")
	dir := t.TempDir()
	var shards []string
	for k := range 2 {
		shards = append(shards, filepath.Join(dir, fmt.Sprintf("shard-%d.db", k)))
		if _, err := mergeTestCLI(t, "sweep", spec, "--shard", fmt.Sprintf("%d/2", k), "--db", shards[k], "-q"); err != nil {
			t.Fatal(err)
		}
	}
	merged := filepath.Join(dir, "merged.db")
	if _, err := mergeTestCLI(t, "merge", "--db", merged, shards[0], shards[1]); err != nil {
		t.Fatal(err)
	}
	out, err := mergeTestCLI(t, "query", "points", "--experiment", mergeTestExperiment, "--json", "--db", merged)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out, `"point_key"`); n != 150 {
		t.Errorf("merged.db has %d points, want 150", n)
	}
	for _, s := range shards {
		if runs := recordedRuns(t, s); len(runs) != 1 {
			t.Errorf("%s: %d runs after the merge, want its own 1", filepath.Base(s), len(runs))
		}
	}
	_, err = mergeTestCLI(t, "merge", "--db", merged)
	var ue usageError
	if !errors.As(err, &ue) {
		t.Errorf("merge --db OUT without inputs: err = %v, want a usage error", err)
	}
	// OUT.db forgotten ('merge shard-*.db', or DENDFIT_DB set and not
	// read): the first shard is refused as the output, and left alone.
	before, _ := os.ReadFile(shards[0])
	t.Setenv("DENDFIT_DB", merged)
	_, err = mergeTestCLI(t, "merge", shards[0], shards[1])
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "holds one shard of a sweep: an input, not OUT.db") {
		t.Errorf("merge SHARD SHARD: err = %v, want a usage error naming the shard", err)
	}
	if after, _ := os.ReadFile(shards[0]); string(after) != string(before) {
		t.Error("merge SHARD SHARD changed the first shard")
	}
	// An empty file (touch merged.db) is a database to create, not refused.
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := mergeTestCLI(t, "merge", empty, shards[0], shards[1]); err != nil {
		t.Errorf("merge into an empty file: %v", err)
	}
}

// TestMergeStoppedThenRerun: a merge stopped after copying its first
// shard (Ctrl-C, a time limit, a requeued merge task) is run again as it
// was and finishes: OUT.db then holds runs of one shard only, but they are
// its inputs', not a shard given as OUT.db. It was refused as "one shard".
func TestMergeStoppedThenRerun(t *testing.T) {
	ctx := context.Background()
	spec := mergeTestSpec(t, "150")
	dir := t.TempDir()
	var shards []string
	for k := range 3 {
		shards = append(shards, filepath.Join(dir, fmt.Sprintf("shard-%d.db", k)))
		if _, err := mergeTestCLI(t, "sweep", spec, "--shard", fmt.Sprintf("%d/3", k), "--db", shards[k], "-q"); err != nil {
			t.Fatal(err)
		}
	}
	merged := filepath.Join(dir, "merged.db")
	// What the stopped merge left: the first input copied, no union run.
	d, err := db.Open(ctx, merged)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Merge(ctx, d, shards[0], db.MergeOptions{}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if _, err := mergeTestCLI(t, "-q", "merge", merged, shards[0], shards[1], shards[2]); err != nil {
		t.Fatalf("the same merge again: %v", err)
	}
	out, err := mergeTestCLI(t, "query", "points", "--experiment", mergeTestExperiment, "--json", "--db", merged)
	if err != nil || strings.Count(out, `"point_key"`) != 150 {
		t.Errorf("merged.db: %v, %d points, want 150", err, strings.Count(out, `"point_key"`))
	}
	// A shard that is no input is still refused as OUT.db.
	_, err = mergeTestCLI(t, "merge", shards[2], shards[0], shards[1])
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "holds one shard of a sweep") {
		t.Errorf("merge SHARD2 SHARD0 SHARD1: %v, want refused", err)
	}
}

// TestSlurmRefusesDB: slurm puts its databases in --dir, so an explicit
// --db is an error rather than ignored.
func TestSlurmRefusesDB(t *testing.T) {
	spec := mergeTestSpec(t, "150")
	_, err := mergeTestCLI(t, "slurm", spec, "--tasks", "2", "--dir", t.TempDir(), "--db", filepath.Join(t.TempDir(), "x.db"))
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--dir") {
		t.Errorf("err = %v, want a usage error pointing to --dir", err)
	}
}

// TestIncompleteMergeNamesTheShards: a merge short of shards says which
// are still being swept, to wait for, and names the others to rerun, with
// the --rerun that does it (it said "the other 2", which read as the live
// ones, a user trial found).
func TestIncompleteMergeNamesTheShards(t *testing.T) {
	set := db.ShardSet{Experiment: "e", SpecSHA256: "abc", ShardN: 4, Runs: []db.Run{
		{ShardK: 1, Status: db.StatusDone}, {ShardK: 2, Status: db.StatusRunning}, {ShardK: 0, Status: db.StatusCancelled}}}
	live := pipeline.LiveRun{Input: "shard-2.db", RunID: 1, Command: db.CommandSweep, Experiment: "e", SpecSHA256: "abc", ShardK: 2, ShardN: 4}
	rep := &pipeline.MergeReport{Unions: []pipeline.ShardUnion{{Set: set}}, Recording: []pipeline.LiveRun{live}, Live: []pipeline.LiveRun{live}}
	err := incompleteError(rep, "out.db")
	want := "1 sharded sweep(s) in out.db do not cover their grid yet: shard 2 of 4 (run 1 in shard-2.db) still being swept; wait for it to end, and rerun shard(s) 0,3 ('dendfit slurm SPEC --dir DIR --rerun 0,3 --submit', or 'dendfit sweep SPEC --shard K/N --resume --db SHARD.db' each), then merge again (merging again adds only what is new)"
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	// All missing shards live: wait only.
	set.Runs = append(set.Runs, db.Run{ShardK: 0, Status: db.StatusDone}, db.Run{ShardK: 3, Status: db.StatusDone})
	rep.Unions[0].Set = set
	if err := incompleteError(rep, "out.db"); err == nil || !strings.HasSuffix(err.Error(), "still being swept; wait for it to end and merge again (merging again adds only what is new)") {
		t.Errorf("only the live shard missing: %v", err)
	}
}

// TestMergeOutputOfAPart: the summary of a merge short of shards reads in
// words ("2 shards in 1 run", "shard 1"; it said "1 runs" and "[1]").
func TestMergeOutputOfAPart(t *testing.T) {
	dir := t.TempDir()
	s0 := filepath.Join(dir, "s0.db")
	if _, err := runCLI(t, "-q", "--db", s0, "sweep", qSweep, "--shard", "0/2"); err != nil {
		t.Fatal(err)
	}
	// (Shard 1 of this 12-point grid is empty: the union is complete.)
	out, _, err := runCLIStderr(t, "merge", filepath.Join(dir, "out.db"), s0)
	if !strings.Contains(out, ": 2 shards in 1 run -> union run ") || !strings.Contains(out, "; no finished run for shard 1\n") {
		t.Errorf("merge of shard 0 of 2: %v\n%s", err, out)
	}
}

// TestMergeOfASlurmDirNamesTheRerun: the merge of a 'dendfit slurm'
// directory that lacks a shard gives the rerun command itself (its merge
// job's log read "'dendfit slurm SPEC --dir DIR --rerun K --submit'").
func TestMergeOfASlurmDirNamesTheRerun(t *testing.T) {
	dir := t.TempDir()
	spec := writeSpec(t, dir, "s.yaml", referenceCase(t, "sweep-tdecay-trise-ampa-3comp"))
	job := filepath.Join(dir, "job")
	if _, err := runCLI(t, "-q", "slurm", spec, "--tasks", "3", "--dir", job); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "-q", "--db", filepath.Join(job, "shard-1.db"), "sweep", filepath.Join(job, "spec.yaml"), "--shard", "1/3", "--resume"); err != nil {
		t.Fatal(err)
	}
	_, err := runCLI(t, "-q", "merge", filepath.Join(job, "merged.db"), filepath.Join(job, "shard-1.db"))
	want := "rerun the missing shards: dendfit slurm " + filepath.Join(job, "spec.yaml") + " --dir " + job + " --rerun 0,2 --submit and merge again"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("merge of shard 1 of 3: %v\nwant %q", err, want)
	}
	// A figure of the union run says what it is, not that it "stopped".
	merged := filepath.Join(job, "merged.db")
	runs := recordedRuns(t, merged)
	i := slices.IndexFunc(runs, func(r db.Run) bool { return db.IsUnionRun(&r) })
	if i < 0 {
		t.Fatalf("no union run in %v", runs)
	}
	// (Its pathway 0 may have no point in shard 1: the note comes first.)
	_, stderr, _ := runCLIStderr(t, "--db", merged, "plot", "heatmap", "--run", strconv.FormatInt(runs[i].ID, 10), "-o", filepath.Join(dir, "c.png"))
	if want := fmt.Sprintf("run %d is the union 'dendfit merge' made of the shards of a sweep in 3, and lacks some", runs[i].ID); !strings.Contains(stderr, want) {
		t.Errorf("plot of the union: %q; want %q", stderr, want)
	}
}

// TestMergeWarnsOfMixedBuilds: a shard with finished runs of two dendfit
// builds (swept again after an upgrade) gets a warning naming them, as
// the union holds the first copy of each point merged, and two builds may
// compute one differently.
func TestMergeWarnsOfMixedBuilds(t *testing.T) {
	dir := t.TempDir()
	spec := writeSpec(t, dir, "s.yaml", referenceCase(t, "sweep-tdecay-trise-ampa-3comp"))
	a, b := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
	for _, args := range [][]string{{"--db", a, "sweep", spec, "--shard", "0/2"}, {"--db", b, "sweep", spec, "--shard", "1/2"}} {
		if _, err := runCLI(t, append([]string{"-q"}, args...)...); err != nil {
			t.Fatal(err)
		}
	}
	// Shard 0 as an older build swept it, then swept again by this one.
	raw, err := sql.Open("sqlite3", a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE runs SET version = 'v0.9.0', vcs_revision = 'old' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if _, err := runCLI(t, "-q", "--db", a, "sweep", spec, "--shard", "0/2"); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := runCLIStderr(t, "merge", filepath.Join(dir, "out.db"), a, b)
	if want := "shard 0/2 has finished runs of different builds (run 1 by dendfit v0.9.0 (revision old), run 2 by dendfit "; err != nil || !strings.Contains(stderr, want) {
		t.Errorf("merge: %v, stderr %q; want %q", err, stderr, want)
	}
}

// pointsOf is the points of query points --json output, as written.
func pointsOf(t *testing.T, out string) string {
	t.Helper()
	var doc struct {
		Points json.RawMessage `json:"points"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Points == nil {
		t.Fatalf("query points --json: %v\n%.400s", err, out)
	}
	return string(doc.Points)
}
