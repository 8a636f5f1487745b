package slurm

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/pipeline"
	"github.com/dendfit/dendfit/sim/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var goldenOpts = Options{
	Binary: "/opt/dendfit/bin/dendfit", Spec: "/data/specs/l23 demo.yaml", Experiment: "l23-demo",
	Dir: "/scratch/l23", Tasks: 64, Partition: "compute", Time: "02:00:00", CPUs: 4, Mem: "2G",
	Sbatch: []string{"--account=lab42", "--qos=long", "--exclusive", "--constraint=avx2&ib"},
	Setup:  []string{"module load gcc/12", `export OMP_NUM_THREADS=1`},
}

func TestRenderGolden(t *testing.T) {
	tests := []struct {
		name string
		o    Options
	}{
		{"full", goldenOpts},
		{"minimal", Options{Binary: "/usr/bin/dendfit", Spec: "/s.yaml", Dir: "/d", Tasks: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sweep, merge, err := Render(tc.o)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []struct {
				file string
				got  []byte
			}{{tc.name + ".sweep.sbatch", sweep}, {tc.name + ".merge.sbatch", merge}} {
				path := filepath.Join("testdata", f.file)
				if *update {
					if err := os.WriteFile(path, f.got, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if !bytes.Equal(f.got, want) {
					t.Errorf("%s differs from the golden file (go test -update to accept):\n%s", f.file, f.got)
				}
			}
			// The scripts are valid bash.
			if sh, err := exec.LookPath("bash"); err == nil {
				for _, s := range [][]byte{sweep, merge} {
					cmd := exec.Command(sh, "-n")
					cmd.Stdin = bytes.NewReader(s)
					if out, err := cmd.CombinedOutput(); err != nil {
						t.Errorf("bash -n: %v: %s", err, out)
					}
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ok := Options{Binary: "/b", Spec: "/s.yaml", Dir: "/d", Tasks: 2}
	tests := []struct {
		name string
		mod  func(*Options)
		want string // substring of the error; "" for none
	}{
		{"ok", func(*Options) {}, ""},
		{"zero tasks", func(o *Options) { o.Tasks = 0 }, "tasks must be at least 1"},
		{"relative spec", func(o *Options) { o.Spec = "s.yaml" }, "not absolute"},
		{"blank in dir", func(o *Options) { o.Dir = "/my data" }, "cannot appear in #SBATCH paths"},
		{"percent in dir", func(o *Options) { o.Dir = "/d%j" }, "cannot appear"},
		{"blank in spec is fine", func(o *Options) { o.Spec = "/my specs/s.yaml" }, ""},
		{"bad time", func(o *Options) { o.Time = "1 h" }, "--time"},
		{"time in hours", func(o *Options) { o.Time = "1h" }, `--time "1h": want a SLURM time limit`},
		{"time of four fields", func(o *Options) { o.Time = "1:2:3:4" }, "--time"},
		{"memory in words", func(o *Options) { o.Mem = "lots" }, `--mem "lots": want a size`},
		{"memory in GB", func(o *Options) { o.Mem = "2GB" }, ""},
		{"memory in MB, bare", func(o *Options) { o.Mem = "1500" }, ""},
		{"minutes", func(o *Options) { o.Time = "90" }, ""},
		{"days and hours", func(o *Options) { o.Time = "1-12" }, ""},
		{"days to seconds", func(o *Options) { o.Time = "2-00:30:00" }, ""},
		{"unlimited", func(o *Options) { o.Time = "UNLIMITED" }, ""},
		{"injected partition", func(o *Options) { o.Partition = "a\n#SBATCH --x" }, "--partition"},
		{"missing binary", func(o *Options) { o.Binary = "" }, "required"},
		{"sbatch account", func(o *Options) { o.Sbatch = []string{"--account=lab", "--exclusive"} }, ""},
		{"sbatch short", func(o *Options) { o.Sbatch = []string{"-a 0-1"} }, "want one long sbatch option"},
		{"sbatch short joined", func(o *Options) { o.Sbatch = []string{"-c8"} }, "want one long sbatch option"},
		{"sbatch abbreviated array", func(o *Options) { o.Sbatch = []string{"--arr=0-1"} }, "the scripts set --array themselves"},
		{"sbatch abbreviated partition", func(o *Options) { o.Sbatch = []string{"--part=debug"} }, "the scripts set --partition themselves"},
		{"sbatch value missing", func(o *Options) { o.Sbatch = []string{"--constraint"} }, "give its value after ="},
		{"sbatch with a blank", func(o *Options) { o.Sbatch = []string{"--comment=two words"} }, `--sbatch "--comment=two words": want one long sbatch option`},
		{"sbatch not an option", func(o *Options) { o.Sbatch = []string{"account=lab"} }, "want one long sbatch option"},
		{"sbatch of the scripts' own", func(o *Options) { o.Sbatch = []string{"--array=0-3"} }, "the scripts set --array themselves"},
		// The scripts have no --error line: stderr goes to --output's log.
		{"sbatch error", func(o *Options) { o.Sbatch = []string{"--error=x.err"} }, "the scripts keep each job's stderr with its stdout, in its --output log under"},
		{"sbatch time", func(o *Options) { o.Sbatch = []string{"--time=1:00:00"} }, "dendfit slurm's own flag"},
		{"injected sbatch", func(o *Options) { o.Sbatch = []string{"--x=a\nrm -rf /"} }, "want one long sbatch option"},
		{"setup line", func(o *Options) { o.Setup = []string{"module load go"} }, ""},
		{"setup two lines", func(o *Options) { o.Setup = []string{"a\nb"} }, "want one non-empty shell line"},
		{"setup empty", func(o *Options) { o.Setup = []string{" "} }, "want one non-empty shell line"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.mod(&o)
			err := o.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("err = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want %q", err, tc.want)
			case err != nil && strings.Contains(err.Error(), "\n"):
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

// TestWriteIntoAFile: a --dir that is a file, or under one, is said to be
// one (it was mkdir's bare "not a directory", a user trial found).
func TestWriteIntoAFile(t *testing.T) {
	o := goldenOpts
	file := filepath.Join(t.TempDir(), "ctx.yaml")
	o.Spec = file
	if err := os.WriteFile(file, []byte("dendfit: 1\nexperiment: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{file, filepath.Join(file, "run")} {
		o.Dir = dir
		_, err := Write(o)
		if want := "slurm: --dir " + dir + ": " + file + " is a file, not a directory: give a directory"; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("--dir %s: %v, want %q", dir, err, want)
		}
	}
}

func TestWrite(t *testing.T) {
	o := goldenOpts
	o.Dir = filepath.Join(t.TempDir(), "run")
	o.Spec = filepath.Join(t.TempDir(), "l23.yaml")
	spec := []byte("dendfit: 1\nexperiment: l23-demo\n")
	if err := os.WriteFile(o.Spec, spec, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Write(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{s.Sweep, s.Merge} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o100 == 0 {
			t.Errorf("%s is not executable: %v", p, fi.Mode())
		}
	}
	if fi, err := os.Stat(filepath.Join(o.Dir, LogDir)); err != nil || !fi.IsDir() {
		t.Errorf("no log directory: %v", err)
	}
	// The tasks sweep a copy: the original may change while they wait.
	if got, err := os.ReadFile(filepath.Join(o.Dir, SpecCopy)); err != nil || !bytes.Equal(got, spec) {
		t.Errorf("spec copy %q (%v), want %q", got, err, spec)
	}
	// Existing reads the array's task count back, whatever was edited.
	edited, _ := os.ReadFile(s.Sweep)
	edited = bytes.Replace(edited, []byte("set -euo pipefail"), []byte("#SBATCH --account=lab\nset -euo pipefail"), 1)
	if err := os.WriteFile(s.Sweep, edited, 0o755); err != nil {
		t.Fatal(err)
	}
	if e, err := Existing(o.Dir); err != nil || e.Tasks != o.Tasks || e.Sweep != s.Sweep || e.Merge != s.Merge {
		t.Errorf("Existing: %+v, %v; want %+v", e, err, s)
	}
	// An edited script is not written over: the edit was lost without a
	// word. Unedited, the scripts are written again (new options).
	if _, err := Write(o); err == nil || !strings.Contains(err.Error(), "sweep.sbatch was edited since dendfit wrote it") {
		t.Errorf("Write over an edited script: %v", err)
	}
	if got, _ := os.ReadFile(s.Sweep); !bytes.Equal(got, edited) {
		t.Error("a refused Write changed the edited script")
	}
	{
		o2 := o
		o2.Dir = filepath.Join(t.TempDir(), "run2")
		if _, err := Write(o2); err != nil {
			t.Fatal(err)
		}
		o2.Time = "2:00:00"
		if _, err := Write(o2); err != nil {
			t.Errorf("Write again over unedited scripts: %v", err)
		}
	}
	if err := os.Remove(s.Sweep); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(o); err != nil {
		t.Fatalf("Write with the edited script moved away: %v", err)
	}
	if err := os.WriteFile(s.Sweep, edited, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(o.Dir, Written)); err != nil {
		t.Fatal(err)
	}
	// Once shards exist, the directory takes no other array.
	if err := os.WriteFile(ShardDB(o.Dir, 0), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	other := o
	other.Tasks = 5
	if _, err := Write(other); err == nil || !strings.Contains(err.Error(), "holds the shards of a 64-task array; give --tasks 64") {
		t.Errorf("another task count over existing shards: %v", err)
	}
	if err := os.WriteFile(o.Spec, append(spec, "# edited\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(o); err == nil || !strings.Contains(err.Error(), "holds the shards of another spec") {
		t.Errorf("another spec over existing shards: %v", err)
	}
	if got, _ := os.ReadFile(s.Sweep); !bytes.Equal(got, edited) {
		t.Error("a refused Write changed the array script")
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/a/b.yaml":   "/a/b.yaml",
		"/my specs/x": "'/my specs/x'",
		"it's":        `'it'\''s'`,
		"":            "''",
		"$HOME":       "'$HOME'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestCommandsToPasteAreQuoted: a directory with characters the shell
// reads (> ; | & and the like, which #SBATCH lines take) is quoted in the
// submit command and in the scripts' comments that show commands, which
// pasted would have redirected output or run something else.
func TestCommandsToPasteAreQuoted(t *testing.T) {
	dir := "/scratch/l23>x;y&(z)"
	sc := &Scripts{Dir: dir, Sweep: dir + "/sweep.sbatch", Merge: dir + "/merge.sbatch"}
	want := `jid=$(sbatch --parsable '/scratch/l23>x;y&(z)/sweep.sbatch') && sbatch --dependency=afterok:${jid%%;*} '/scratch/l23>x;y&(z)/merge.sbatch'`
	if got := sc.SubmitCommand(); got != want {
		t.Errorf("SubmitCommand() = %s\nwant %s", got, want)
	}
	sweep, merge, err := Render(Options{Binary: "/b", Spec: "/s.yaml", Dir: dir, Tasks: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(sweep)+string(merge), "\n") {
		if strings.HasPrefix(line, "#   ") || strings.HasPrefix(line, "# or run it") {
			if strings.Contains(line, dir) && !strings.Contains(line, "'"+dir+"/") {
				t.Errorf("unquoted path in %q", line)
			}
		}
	}
}

// TestMergeScriptNamesEveryMissingShard: merge.sbatch run with shards 1
// and 3 of 4 missing names both and the dendfit slurm command that reruns
// them with a merge after them, quoted to paste (it named the first gap
// alone, with an sbatch of the array task that started no merge), and
// runs no merge.
func TestMergeScriptNamesEveryMissingShard(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	// A binary whose path the shell would split: the command must be
	// quoted; and which records whether the merge ran.
	bin := filepath.Join(dir, "bin dir", "dendfit's")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	ran := filepath.Join(dir, "ran")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\ntouch "+ran+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, merge, err := Render(Options{Binary: bin, Spec: "/s.yaml", Dir: dir, Tasks: 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{0, 2} {
		if err := os.WriteFile(ShardDB(dir, k), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bash, "-c", string(merge))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatal("merge.sbatch with shards missing exited 0")
	}
	want := "merge: shard(s) 1,3 of 4 have not run yet (no " + dir + "/shard-K.db); rerun them, with a merge after them, with: " +
		printfQ(bin) + " slurm " + printfQ(dir+"/spec.yaml") + " --dir " + printfQ(dir) + " --rerun 1,3 --submit\n"
	if stderr.String() != want {
		t.Errorf("stderr:\n%s\nwant\n%s", stderr.String(), want)
	}
	if _, err := os.Stat(ran); err == nil {
		t.Error("the merge ran with shards missing")
	}
}

// printfQ quotes s as bash's printf %q does for the paths here.
func printfQ(s string) string {
	var b strings.Builder
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+,:=@%", r)) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// TestFinishedShard: a shard database holding a finished run of its shard
// (and none unfinished) is complete, so rerunning its task sweeps it
// again; a missing database, another shard's run or an unfinished run
// (which --resume continues) is not.
func TestFinishedShard(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, ok := FinishedShard(ctx, dir, 1, 2); ok {
		t.Error("no database: complete")
	}
	s, err := spec.Load("../testdata/reference/cases/ampa-instant-2comp-dimensionless-gsweep.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(ctx, ShardDB(dir, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	sweep := func(k int, finish bool) int64 {
		run, err := pipeline.StartRun(ctx, d, s, pipeline.RunInfo{Command: db.CommandSweep, ShardK: k, ShardN: 2})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pipeline.Sweep(ctx, s, d, run.ID, &pipeline.SweepOptions{ShardK: k, ShardN: 2}); err != nil {
			t.Fatal(err)
		}
		if finish {
			if err := run.Finish(nil); err != nil {
				t.Fatal(err)
			}
		}
		return run.ID
	}
	sweep(0, true) // another shard's run, in this file
	if _, ok := FinishedShard(ctx, dir, 1, 2); ok {
		t.Error("only shard 0's run: shard 1 complete")
	}
	done := sweep(1, true)
	if id, ok := FinishedShard(ctx, dir, 1, 2); !ok || id != done {
		t.Errorf("finished run %d: FinishedShard = %d, %v", done, id, ok)
	}
	sweep(1, false)
	if _, ok := FinishedShard(ctx, dir, 1, 2); ok {
		t.Error("an unfinished run of the shard too: complete")
	}
}

// FuzzValidate: any --time, --mem and --partition are refused in one line
// or make scripts that bash parses, with each value on its #SBATCH line
// as given.
func FuzzValidate(f *testing.F) {
	for _, s := range [][3]string{{"02:00:00", "2G", "compute"}, {"1h", "lots", ""}, {"1-12", "500M", "a\n#SBATCH --x"}, {"UNLIMITED", "1500", "gpu,cpu"}} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, tm, mem, part string) {
		o := Options{Binary: "/b", Spec: "/s.yaml", Dir: "/d", Tasks: 2, Time: tm, Mem: mem, Partition: part}
		sweep, _, err := Render(o)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
			return
		}
		for _, v := range []struct{ flag, val string }{{"time", tm}, {"mem", mem}, {"partition", part}} {
			if v.val != "" && !bytes.Contains(sweep, []byte("#SBATCH --"+v.flag+"="+v.val+"\n")) {
				t.Fatalf("--%s %q is not on its own #SBATCH line", v.flag, v.val)
			}
		}
	})
}

// TestWriteOverAMergeOfAnotherSpec: a directory whose merged.db holds
// another text of the experiment's spec (its shard files deleted) takes no
// array of the new text: its merge job would refuse the shards after the
// whole array ran (a trial saw it twice). The same text is taken.
func TestWriteOverAMergeOfAnotherSpec(t *testing.T) {
	ctx := context.Background()
	text, err := os.ReadFile("../testdata/reference/cases/ampa-instant-2comp-dimensionless-gsweep.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "run")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := spec.Parse("s.yaml", text)
	if err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(ctx, filepath.Join(dir, MergedDB))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.StartRun(ctx, d, s, pipeline.RunInfo{Command: db.CommandSweep}); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	o := goldenOpts
	o.Dir, o.Experiment, o.Spec = dir, s.Name, filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(o.Spec, text, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(o); err != nil {
		t.Fatalf("the merged text itself: %v", err)
	}
	if err := os.WriteFile(o.Spec, append(text, "# edited\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(o); err == nil || !strings.Contains(err.Error(), "merged.db holds experiment "+s.Name+" merged from another text of its spec") {
		t.Errorf("another text over its merge: %v", err)
	}
}

// TestWriteOverShardsOfAnotherText: shard databases that swept one text
// of the spec take no array of another, even when the directory's spec
// copy was edited to it (a trial submitted the edited copy, and every
// task swept its shard again beside the old run, mixed by the merge). The
// text the shards swept is taken, and restores an edited copy.
func TestWriteOverShardsOfAnotherText(t *testing.T) {
	ctx := context.Background()
	text, err := os.ReadFile("../testdata/reference/cases/ampa-instant-2comp-dimensionless-gsweep.yaml")
	if err != nil {
		t.Fatal(err)
	}
	o, s := writeArray(t, text, 2)
	runID := recordShard(t, ShardDB(o.Dir, 1), s, 1, 2, false)
	edited := append(slices.Clone(text), "# edited\n"...)
	copyPath := filepath.Join(o.Dir, SpecCopy)
	if err := os.WriteFile(copyPath, edited, 0o644); err != nil {
		t.Fatal(err)
	}
	// The edited copy, given as the spec: refused, naming the run.
	o2 := o
	o2.Spec = copyPath
	want := fmt.Sprintf("shard-1.db holds sweep run %d of another text of experiment %s's spec", runID, s.Name)
	if _, err := Write(o2); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("the edited copy over shards of the text: %v, want %q", err, want)
	}
	if n, err := CheckShards(ctx, o.Dir, s.Name, edited); err == nil || n != 0 {
		t.Errorf("CheckShards of the edited text: %d, %v", n, err)
	}
	// The text the shards swept: taken, and the copy is that text again.
	if sc, err := Write(o); err != nil || !sc.CopyRestored {
		t.Fatalf("the shards' own text: %v (copy restored: %v)", err, err == nil && sc.CopyRestored)
	}
	if got, _ := os.ReadFile(copyPath); !bytes.Equal(got, text) {
		t.Error("the edited copy was not written back to the shards' text")
	}
	if n, err := CheckShards(ctx, o.Dir, s.Name, text); err != nil || n != 1 {
		t.Errorf("CheckShards of the shards' text: %d, %v; want 1 sweep", n, err)
	}
}

// TestSweepScriptWaitsWhileAnotherTaskSweeps: a task whose sweep finds
// its shard swept by another copy of the task now (dendfit's exit status
// 5, a rerun beside a queued task) waits, saying so once, and looks
// again until the shard is done, then ends as that sweep does. Ending at
// once let the merge after its array start before the shard was complete
// (a trial's failed), and failing had cancelled it. The sweep gets its
// shard's arguments.
func TestSweepScriptWaitsWhileAnotherTaskSweeps(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "dendfit")
	args, calls := filepath.Join(dir, "args"), filepath.Join(dir, "calls")
	// Exit statuses in turn from $STATUSES, one a call.
	script := "#!/bin/bash\necho \"$@\" > " + args + "\necho x >> " + calls + "\nn=$(wc -l < " + calls + ")\nset -- $STATUSES\nexit ${!n}\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	sweep, _, err := Render(Options{Binary: bin, Spec: "/s.yaml", Dir: dir, Tasks: 4})
	if err != nil {
		t.Fatal(err)
	}
	const waiting = "task 2: another task is sweeping shard 2 now; waiting for it to finish (a look every 0 s)\n"
	for _, tc := range []struct {
		statuses    string
		calls, want int
		stderr      string
	}{
		{"0", 1, 0, ""},
		{"5 5 5 0", 4, 0, waiting},
		{"5 1", 2, 1, waiting},
		{"1", 1, 1, ""},
		{"143", 1, 143, ""},
	} {
		os.Remove(calls)
		cmd := exec.Command(bash, "-c", string(sweep))
		cmd.Env = append(os.Environ(), "SLURM_ARRAY_TASK_ID=2", "SLURM_CPUS_PER_TASK=3", "DENDFIT_BUSY_WAIT=0", "STATUSES="+tc.statuses)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		got := 0
		if ee, ok := err.(*exec.ExitError); ok {
			got = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(calls)
		if n := strings.Count(string(b), "x"); got != tc.want || n != tc.calls || stderr.String() != tc.stderr {
			t.Errorf("sweeps exiting %s: the task exits %d after %d sweeps, stderr %q; want %d after %d, %q", tc.statuses, got, n, stderr.String(), tc.want, tc.calls, tc.stderr)
		}
		want := fmt.Sprintf("sweep %s/spec.yaml --shard 2/4 --db %s/shard-2.db --resume -q --workers 3\n", dir, dir)
		if b, _ := os.ReadFile(args); string(b) != want {
			t.Errorf("the sweep ran with %q, want %q", b, want)
		}
	}
}
