package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/mattn/go-sqlite3"
	"golang.org/x/sys/unix"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/pipeline"
	"github.com/dendfit/dendfit/sim/spec"
)

// The flag parsers of the commands: each either refuses its input with a
// usage error that names the flag, or returns a value inside its contract.

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		k, n int
		ok   bool
	}{
		{"", 0, 1, true},
		{"0/4", 0, 4, true},
		{"3/4", 3, 4, true},
		{"4/4", 0, 0, false},
		{"-1/4", 0, 0, false},
		{"0/0", 0, 0, false},
		{"1", 0, 0, false},
		{"a/b", 0, 0, false},
	} {
		k, n, err := parseShard(tc.in)
		if (err == nil) != tc.ok || k != tc.k || n != tc.n {
			t.Errorf("parseShard(%q) = %d, %d, %v; want %d, %d, ok %v", tc.in, k, n, err, tc.k, tc.n, tc.ok)
		}
	}
}

func FuzzParseShard(f *testing.F) {
	for _, s := range []string{"", "0/4", "3/4", "4/4", "-1/2", "1/0", "+1/2", "9999999999999999999/1", "1/2/3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, n, err := parseShard(s)
		if err != nil {
			checkUsage(t, err, "--shard")
			return
		}
		if n < 1 || k < 0 || k >= n {
			t.Fatalf("parseShard(%q) = %d/%d, outside 0 <= K < N", s, k, n)
		}
	})
}

// FuzzParseResume: --resume's value is no resume, the newest run, or a
// run id of 1 or more that prints back as given; anything else is a usage
// error naming --resume.
func FuzzParseResume(f *testing.F) {
	for _, s := range []string{"", "newest", "true", "false", "1", "42", "0", "-3", "+5", "007", "abc", "9999999999999999999"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, explicit bool) {
		resume, id, err := parseResume(s, explicit)
		if err != nil {
			if !errors.As(err, new(usageError)) || !strings.HasPrefix(err.Error(), "--resume") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("parseResume(%q): error %q, want a one-line usage error naming --resume", s, err)
			}
			return
		}
		switch {
		case !resume && (id != 0 || (s != "" && s != "false")):
			t.Fatalf("parseResume(%q) = no resume, id %d", s, id)
		case resume && id == 0 && s != resumeNewest && s != "true":
			t.Fatalf("parseResume(%q) = the newest run", s)
		case id < 0 || id > 0 && strconv.FormatInt(id, 10) != strings.TrimLeft(strings.TrimPrefix(s, "+"), "0"):
			t.Fatalf("parseResume(%q) = run %d", s, id)
		}
	})
}

func TestParseTasks(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		ok   bool
	}{
		{"", nil, true},
		{"3", []int{3}, true},
		{"7, 3", []int{3, 7}, true},
		{"3,3,0", []int{0, 3}, true},
		{"8", nil, false},
		{"-1", nil, false},
		{"3,", nil, false},
		{"x", nil, false},
		// Ranges, as sbatch --array takes them.
		{"1-3", []int{1, 2, 3}, true},
		{"0-1, 5,6-7", []int{0, 1, 5, 6, 7}, true},
		{"2-2", []int{2}, true},
		{"3-1", nil, false},
		{"1-8", nil, false},
		{"1-", nil, false},
		{"-1-2", nil, false},
	} {
		got, err := parseTasks(tc.in, 8)
		if (err == nil) != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("parseTasks(%q, 8) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzParseTasks(f *testing.F) {
	for _, s := range []string{"", "3", "7,3", "3,3,0", "8", "-1", "3,", " 2 , 5 ", "1-3", "0-1,5"} {
		f.Add(s, 8)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		got, err := parseTasks(s, n)
		if err != nil {
			checkUsage(t, err, "--rerun")
			return
		}
		for i, k := range got {
			if k < 0 || k >= n || i > 0 && k <= got[i-1] {
				t.Fatalf("parseTasks(%q, %d) = %v: want ascending, distinct indices below %d", s, n, got, n)
			}
		}
	})
}

func TestParseG(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"2.5", 2.5, true},
		{"2.5 nS", 2.5, true},
		{"0.001 uS", 1, true},
		{"0", 0, false},
		{"-1 nS", 0, false},
		{"NaN", 0, false},
		{"Inf", 0, false},
		{"+Inf", 0, false},
		{"1e400 nS", 0, false},
		{"5 mV", 0, false},
	} {
		got, err := parseG(tc.in)
		if (err == nil) != tc.ok || math.Abs(got-tc.want) > 1e-12*tc.want {
			t.Errorf("parseG(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzParseG(f *testing.F) {
	for _, s := range []string{"2.5", "2.5 nS", "0.001 uS", "0", "-1 nS", "NaN", "Inf", "1e400 nS", "5 mV", "1e-330 nS", "1e12", "2 S"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := parseG(s)
		if err != nil {
			checkUsage(t, err, "--g")
			return
		}
		if !(g > 0) || g > 1e9 {
			t.Fatalf("parseG(%q) = %v: want a positive nS, at most 1 S", s, g)
		}
	})
}

// checkUsage fails unless err is a one-line usage error naming flag.
func checkUsage(t *testing.T, err error, flag string) {
	t.Helper()
	var u usageError
	if !errors.As(err, &u) || !strings.HasPrefix(err.Error(), flag+" ") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %q: want a one-line usage error starting with %s", err, flag)
	}
}

// TestNumberFlagsRefused: numbers pflag parses but no flag of dendfit
// means, and files to write in missing directories, are usage errors
// naming the flag and the full command, before any work (a NaN --width
// used to panic in the image library, a NaN --g-min to match nothing, a
// negative --workers to mean all cores, and simulate --trace into a
// missing directory failed after recording its run as done).
func TestNumberFlagsRefused(t *testing.T) {
	spec := "../../pipeline/testdata/reference/cases/seed-ampa-2comp-dimensional.yaml"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"plot", "trace", spec, "--width", "NaN", "-o", "OUT"}, "--width NaN: want a finite number (see 'dendfit plot trace --help')"},
		{[]string{"plot", "trace", spec, "--height", "-Inf", "-o", "OUT"}, "--height -Inf: want a finite number"},
		{[]string{"plot", "trace", spec, "--width", "0.01", "-o", "OUT"}, "--width 0.01: want 2 to 200 cm (0: the default)"},
		{[]string{"plot", "trace", spec, "--height", "300", "-o", "OUT"}, "--height 300: want 2 to 200 cm"},
		{[]string{"query", "points", "--g-min", "nan"}, `--g-min "nan": want a conductance of 0 or more, such as "0.5 nS"`},
		{[]string{"query", "fits", "--g-max", "+Inf"}, `--g-max "+Inf": want a conductance of 0 or more`},
		{[]string{"query", "points", "--g-min", "5 mV"}, `--g-min "5 mV": want a conductance`},
		{[]string{"query", "fits", "--pathway", "-1"}, "--pathway -1: want an index of 0 or more"},
		{[]string{"query", "runs", "--limit", "-1"}, "--limit -1: want 0 or more (see 'dendfit query runs --help')"},
		// pflag's strconv wording is not for users.
		{[]string{"sweep", spec, "--workers", "abc"}, `invalid argument "abc" for "-j, --workers" flag: want an integer (see 'dendfit sweep --help')`},
		{[]string{"plot", "trace", spec, "--width", "10cm", "-o", "OUT"}, `invalid argument "10cm" for "--width" flag: want a number (see`},
		{[]string{"query", "runs", "--db", ""}, "--db is empty: give a database file"},
		{[]string{"query", "runs", "--db", "."}, "--db . is a directory: give a database file, such as dendfit.db"},
		// -p '' parsed as no pathway, which meant every one.
		{[]string{"simulate", spec, "-p", ""}, "--pathway is empty: give a value (see 'dendfit simulate --help')"},
		{[]string{"fit", spec, "-p", ","}, "--pathway is empty: give a value"},
		// ... and beside another, where pflag's StringSlice dropped it.
		{[]string{"fit", spec, "-p", "0", "-p", ""}, "--pathway is empty: give a value (see 'dendfit fit --help')"},
		{[]string{"simulate", spec, "-p", "0,"}, "--pathway is empty: give a value"},
		{[]string{"plot", "trace", spec, "--compartment", "soma", "--compartment", " ", "-o", "OUT"}, "--compartment is empty: give a value"},
		{[]string{"-q", "-v", "query", "runs"}, "--quiet and --verbose disagree: give one"},
		{[]string{"export", "--run", "-3", "-o", "OUT.json"}, "--run -3: want a run id, 1 or more"},
		{[]string{"describe", "-"}, "spec -: a spec is read from its file, not standard input"},
		{[]string{"export", "--db", "x.db", "-o", "x.db-wal"}, "--output x.db-wal: that is a file of the results database (--db x.db)"},
		{[]string{"sweep", "x.yaml", "--db", "/dev/null"}, "--db /dev/null is not a regular file (a device, pipe or socket): give a database file"},
		{[]string{"plot", "heatmap", "-p", "0", "-p", "1", "-o", "x.png"}, `given twice ("0", then "1"): this figure shows one pathway`},
		{[]string{"sweep", spec, "-j", "-2"}, "--workers -2: want 0 or more (see 'dendfit sweep --help')"},
		{[]string{"fit", spec, "--workers", "-1"}, "--workers -1: want 0 or more"},
		{[]string{"sweep", spec, "-j", "1000000000"}, "--workers 1000000000: at most "},
		{[]string{"slurm", spec, "--tasks", "-4", "--dir", "d"}, "--tasks -4: want 1 or more"},
		{[]string{"slurm", spec, "--tasks", "0", "--dir", "d"}, "--tasks 0: want 1 or more"},
		// Bash expands no ~ after "--dir=": a directory "~" was made here.
		{[]string{"slurm", spec, "--tasks", "2", "--dir=~/scratch/v1"}, "--dir ~/scratch/v1: the shell did not expand ~ (bash does not after --dir=): give --dir and the directory as two words, or its full path ($HOME/...)"},
		{[]string{"slurm", spec, "--tasks", "2", "--dir=~root/x"}, "--dir ~root/x: the shell did not expand ~"},
		{[]string{"slurm", "--status", "--dir=~"}, "--dir ~: the shell did not expand ~"},
		{[]string{"slurm", "--status", "--dir", "d", "--tasks", "3"}, "--tasks has no effect with --status"},
		{[]string{"slurm", "--status", spec, "--dir", "d"}, "slurm needs 0 argument(s), got 1"},
		{[]string{"plot", "trace"}, "trace needs 1 argument(s), got 0 (see 'dendfit plot trace --help')"},
		{[]string{"query", "runs", "--status", "bogus"}, `--status "bogus": want running, interrupted, done, failed or cancelled`},
		{[]string{"query", "runs", "--command", "sweeps"}, `--command "sweeps": want simulate, sweep, fit or reproduce`},
		{[]string{"export", "--run", "0", "-o", "OUT.json"}, "--run 0: want a run id, 1 or more"},
		{[]string{"plot", "curve", "--run", "0", "-o", "OUT.png"}, "--run 0: want a run id, 1 or more"},
		// They printed nothing at all with --json.
		{[]string{"--json", "plot", "curve", "-o", "OUT"}, "--json: 'dendfit plot curve' writes a file (-o) and prints no JSON"},
		{[]string{"report", "--json", "-o", "OUT"}, "--json: 'dendfit report' writes a file (-o) and prints no JSON"},
		{[]string{"query", "spec", "1", "--json"}, "--json: 'dendfit query spec' writes the spec's text byte for byte as it was read, not JSON"},
		{[]string{"fit", spec, "-p", "0", "-p", "nope"}, `--pathway "nope": no such pathway`},
		// A file to write in a missing directory is refused before the
		// run is simulated and recorded.
		{[]string{"simulate", spec, "--trace", "NODIR/t.csv"}, "/nodir/t.csv: directory "},
		{[]string{"plot", "trace", spec, "-o", "NODIR/t.png"}, "/nodir does not exist"},
		{[]string{"report", "-o", "NODIR/r.html"}, "--output "},
	} {
		dir := t.TempDir()
		args := []string{"--db", dir + "/d.db"}
		for _, a := range tc.args {
			a = strings.Replace(a, "NODIR", dir+"/nodir", 1)
			args = append(args, strings.Replace(a, "OUT", dir+"/x.png", 1))
		}
		_, err := runCLI(t, args...)
		var u usageError
		if !errors.As(err, &u) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want a usage error containing %q", tc.args, err, tc.want)
		}
		for _, f := range []string{"d.db", "x.png"} {
			if _, statErr := os.Stat(dir + "/" + f); statErr == nil {
				t.Errorf("%v: wrote %s before refusing its flags", tc.args, f)
			}
		}
	}
}

// TestOutputsThatWouldReplaceWhatIsKept: --trace and --output refuse a
// directory, the results database (existing or about to be created), the
// spec they read and any other SQLite file, and leave each as it was.
// They used to write over them: an export into the database lost every
// run in it.
func TestOutputsThatWouldReplaceWhatIsKept(t *testing.T) {
	dir := t.TempDir()
	src := []byte(referenceCase(t, "seed-ampa-2comp-dimensional"))
	spec := writeSpec(t, dir, "s.yaml", string(src))
	kept := filepath.Join(dir, "kept.db")
	if _, err := runCLI(t, "--db", kept, "-q", "simulate", spec); err != nil {
		t.Fatal(err)
	}
	keptBytes, _ := os.ReadFile(kept)
	fresh := filepath.Join(dir, "fresh.db")
	// A named pipe was opened to read its header, and the command hung.
	fifo := filepath.Join(dir, "fifo.csv")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--db", fresh, "simulate", spec, "--trace", fifo}, "is not a regular file (a device, pipe or socket)"},
		{[]string{"--db", kept, "export", "--run", "1", "-o", fifo}, "is not a regular file (a device, pipe or socket); give a file name; without it the output goes to standard output, to redirect"},
		{[]string{"--db", kept, "simulate", spec, "--trace", kept}, "that is the results database (--db)"},
		{[]string{"--db", fresh, "simulate", spec, "--trace", fresh}, "that is the results database (--db)"},
		{[]string{"--db", fresh, "simulate", spec, "--trace", dir + "/./s.yaml"}, "that is the input " + spec},
		{[]string{"--db", fresh, "simulate", spec, "--trace", dir}, "is a directory; give a file name"},
		{[]string{"--db", fresh, "simulate", spec, "--trace", kept}, "is an SQLite database; refusing to replace it"},
		{[]string{"--db", kept, "export", "--run", "1", "-o", kept}, "that is the results database (--db)"},
		{[]string{"--db", kept, "report", "-o", kept}, "that is the results database (--db)"},
	} {
		_, err := runCLI(t, tc.args...)
		var u usageError
		if !errors.As(err, &u) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want a usage error containing %q", tc.args, err, tc.want)
		}
		if b, _ := os.ReadFile(kept); !bytes.Equal(b, keptBytes) {
			t.Fatalf("%v changed %s", tc.args, kept)
		}
		if b, _ := os.ReadFile(spec); !bytes.Equal(b, src) {
			t.Fatalf("%v changed %s", tc.args, spec)
		}
		if _, err := os.Stat(fresh); err == nil {
			t.Fatalf("%v created %s", tc.args, fresh)
		}
	}
	// With --no-db nothing is recorded, and the name is the user's to use.
	if _, err := runCLI(t, "--db", fresh, "-q", "simulate", spec, "--no-db", "--trace", fresh); err != nil {
		t.Errorf("--no-db --trace to the unused database's name: %v", err)
	}
}

// TestUnknownAndMissingCommands: an unknown command or subcommand, a group
// without its subcommand and a missing required flag are one-line usage
// errors (status 2) that say what is wanted; they used to print help and
// succeed, or fail with status 1.
func TestUnknownAndMissingCommands(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"frob"}, `unknown command "frob" for "dendfit" (want `},
		{[]string{"quer"}, `unknown command "quer" for "dendfit"; did you mean query?`},
		{[]string{"query", "fit"}, `unknown command "fit" for "dendfit query"; did you mean fits? (want experiments, fits, points, runs, spec, sql; see 'dendfit query --help')`},
		{[]string{"query"}, "dendfit query needs a command: experiments, fits, points, runs, spec, sql"},
		{[]string{"plot"}, "dendfit plot needs a command: curve, heatmap, trace"},
		{[]string{"plot", "curve"}, "--output is required (see 'dendfit plot curve --help')"},
		{[]string{"report"}, "--output is required (see 'dendfit report --help')"},
		{[]string{"help", "bogus"}, `no help topic "bogus" (see 'dendfit --help')`},
		{[]string{"help", "query", "point"}, `no help topic "query point"`},
	} {
		_, err := runCLI(t, append([]string{"--db", t.TempDir() + "/d.db"}, tc.args...)...)
		var u usageError
		if !errors.As(err, &u) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v, want a one-line usage error containing %q", tc.args, err, tc.want)
		}
	}
	if out, err := runCLI(t); err != nil || !strings.Contains(out, "Available Commands:") {
		t.Errorf("dendfit alone: %v, want its help:\n%s", err, out)
	}
}

func TestGoRunBinary(t *testing.T) {
	for path, want := range map[string]bool{
		"/tmp/go-build3734260807/b001/exe/dendfit":      true,
		"/var/folders/x/T/go-build123/b001/exe/dendfit": true,
		"/usr/local/bin/dendfit":                        false,
		"/home/me/go/bin/dendfit":                       false,
		"/home/me/go-build/dendfit":                     false,
		// go run's cached binaries, which go clean may delete.
		"/root/.cache/go-build/ec/ec1f2a9b8c7d6e5f-d/dendfit": true,
		"/home/me/go-build/tools/dendfit":                     false,
	} {
		if got := goRunBinary(path); got != want {
			t.Errorf("goRunBinary(%q) = %v, want %v", path, got, want)
		}
	}
}

// TestSlurmRerunTakesTheArrayAsWritten: --rerun submits the scripts
// already in --dir, so it refuses what would not be that array: resource
// flags (they used to rewrite both scripts, dropping the resources and
// edits of the first write), another task count (it used to mix two
// partitions of the grid in one directory), another spec, or a directory
// with no array. A directory with shards takes no other array either.
func TestSlurmRerunTakesTheArrayAsWritten(t *testing.T) {
	t.Run("site options", testSlurmSiteOptions)
	dir := t.TempDir()
	src := referenceCase(t, "sweep-tdecay-trise-ampa-3comp")
	spec := writeSpec(t, dir, "s.yaml", src)
	job := filepath.Join(dir, "job")
	if _, err := runCLI(t, "-q", "slurm", spec, "--tasks", "3", "--dir", job, "--time", "01:00:00"); err != nil {
		t.Fatal(err)
	}
	script, _ := os.ReadFile(filepath.Join(job, "sweep.sbatch"))
	edited := writeSpec(t, dir, "s.yaml.edited", src+"# edited\n")
	if err := os.WriteFile(filepath.Join(job, "shard-0.db"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// A shard that is no database: its task would fail on it after its
	// wait in the queue (a trial's was submitted), and the message named
	// the default database as damaged.
	if err := os.WriteFile(filepath.Join(job, "shard-2.db"), []byte("garbage, not SQLite at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"slurm", spec, "--dir", job, "--rerun", "2", "--submit"}, "--rerun: task 2 would fail on " + filepath.Join(job, "shard-2.db") + ": db: open " + filepath.Join(job, "shard-2.db") + " read-only: file is not a database; move it away to sweep the shard anew"},
		{[]string{"slurm", spec, "--dir", job, "--rerun", "1"}, "--rerun needs --submit"},
		{[]string{"slurm", spec, "--dir", job, "--rerun", "1", "--submit", "--time", "soon"}, `--time "soon": want a SLURM time limit`},
		{[]string{"slurm", spec, "--dir", job, "--rerun", "1", "--submit", "--mem", "lots"}, `--mem "lots": want a size`},
		{[]string{"slurm", spec, "--dir", job, "--rerun", "1", "--submit", "--sbatch=--account=lab"}, "--sbatch has no effect with --rerun"},
		{[]string{"slurm", spec, "--dir", job, "--rerun", "1", "--submit", "--setup", "module load gcc"}, "--setup has no effect with --rerun"},
		{[]string{"slurm", spec, "--dir", job, "--rerun", "1", "--submit", "--tasks", "4"}, "--tasks 4: the array in " + job + " has 3 tasks"},
		{[]string{"slurm", spec, "--dir", job, "--rerun", "3", "--submit"}, `--rerun "3": want task indices 0..2`},
		{[]string{"slurm", edited, "--dir", job, "--rerun", "1", "--submit"}, "is not the spec the array in " + job + " sweeps"},
		{[]string{"slurm", spec, "--dir", dir + "/none", "--rerun", "1", "--submit"}, "has no array script"},
		{[]string{"slurm", spec, "--dir", job, "--tasks", "4"}, "holds the shards of a 3-task array; give --tasks 3"},
		{[]string{"slurm", edited, "--dir", job, "--tasks", "3"}, "holds the shards of another spec"},
		{[]string{"slurm", spec, "--dir", job}, "--tasks is required"},
	} {
		_, err := runCLI(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
		if now, _ := os.ReadFile(filepath.Join(job, "sweep.sbatch")); !bytes.Equal(now, script) {
			t.Fatalf("%v rewrote the array script", tc.args)
		}
	}
}

// TestSlurmRerunOfACompleteShard: rerunning a task whose shard is
// complete says the task will end without sweeping (the script resumes):
// it warned that the shard would be swept again, into a new run, which a
// user trial found untrue. (No sbatch here: the note comes before.)
func TestSlurmRerunOfACompleteShard(t *testing.T) {
	dir := t.TempDir()
	spec := writeSpec(t, dir, "s.yaml", referenceCase(t, "sweep-tdecay-trise-ampa-3comp"))
	job := filepath.Join(dir, "job")
	if _, err := runCLI(t, "-q", "slurm", spec, "--tasks", "2", "--dir", job); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "-q", "--db", filepath.Join(job, "shard-0.db"), "sweep", filepath.Join(job, "spec.yaml"), "--shard", "0/2", "--resume"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir())
	_, errOut, err := runCLIStderr(t, "slurm", spec, "--dir", job, "--rerun", "0", "--submit")
	if want := "note: shard 0 is already complete (run 1 in " + filepath.Join(job, "shard-0.db") + "): task 0 finds it so and ends without sweeping"; err == nil || !strings.Contains(errOut, want) {
		t.Errorf("rerun of a complete shard: %v, stderr %q, want %q", err, errOut, want)
	}
	// The directory's copy edited since: the rerun of the spec its shards
	// swept writes the copy back, saying so (it was refused, the message
	// blaming the spec the shards hold).
	text, _ := os.ReadFile(spec)
	copyPath := filepath.Join(job, "spec.yaml")
	if err := os.WriteFile(copyPath, append(slices.Clone(text), "# edited\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, _ = runCLIStderr(t, "slurm", spec, "--dir", job, "--rerun", "0", "--submit")
	if want := "note: " + copyPath + " was edited since its shards were swept; it is written back to " + spec + ", the text they swept"; !strings.Contains(errOut, want) {
		t.Errorf("rerun over an edited copy: stderr %q, want %q", errOut, want)
	}
	if now, _ := os.ReadFile(copyPath); !bytes.Equal(now, text) {
		t.Error("the edited copy was not written back")
	}
}

// TestBusyDatabaseMessage: SQLite's bare "database is locked", after the
// busy timeout, comes with what it means and what to do.
func TestBusyDatabaseMessage(t *testing.T) {
	busy := fmt.Errorf("db: put experiment %q: %w", "x", sqlite3.Error{Code: sqlite3.ErrBusy})
	if m := errorMessage(busy); !strings.Contains(m, "another process held the database's write lock for 10 s") {
		t.Errorf("busy: %q", m)
	}
	if m := errorMessage(errors.New("spec: x.yaml: bad")); m != "spec: x.yaml: bad" {
		t.Errorf("other errors are as they are: %q", m)
	}
}

// TestDamagedHint: SQLite's "database disk image is malformed" says which
// file is damaged, the command's database, and what may save its data;
// "attempt to write a readonly database" which file it could not write.
func TestDamagedHint(t *testing.T) {
	root := newRootCmd()
	c, _, err := root.Find([]string{"query", "runs"})
	if err != nil {
		t.Fatal(err)
	}
	if err := root.PersistentFlags().Set("db", "/x/d.db"); err != nil {
		t.Fatal(err)
	}
	corrupt := fmt.Errorf("db: list runs: %w", sqlite3.Error{Code: sqlite3.ErrCorrupt})
	if got := damagedHint(c, corrupt).Error(); !strings.Contains(got, "the database /x/d.db is damaged") || !strings.Contains(got, "sqlite3 /x/d.db .recover") {
		t.Errorf("damaged: %q", got)
	}
	// An immutable file, or one another user owns, which SQLite names not.
	readOnly := fmt.Errorf("db: put experiment \"t\": %w", sqlite3.Error{Code: sqlite3.ErrReadonly})
	if got := damagedHint(c, readOnly).Error(); !strings.Contains(got, "(/x/d.db, or its directory, is not writable for you") {
		t.Errorf("read-only: %q", got)
	}
	other := errors.New("spec: x.yaml: bad")
	if got := damagedHint(c, other); got != other {
		t.Errorf("another error changed: %v", got)
	}
	// slurm uses no --db: a damaged shard is not the default database.
	sc, _, err := root.Find([]string{"slurm"})
	if err != nil {
		t.Fatal(err)
	}
	if got := damagedHint(sc, corrupt); got != corrupt {
		t.Errorf("slurm: %v, want the error as it is", got)
	}
	// A spec given as --db: not a database to recover.
	spec := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(spec, []byte("dendfit: 1\nexperiment: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = runCLIStderr(t, "--db", spec, "query", "runs")
	if !db.IsDamaged(err) {
		t.Fatalf("--db a spec: %v, want SQLite's not a database", err)
	}
	if err := root.PersistentFlags().Set("db", spec); err != nil {
		t.Fatal(err)
	}
	if got := damagedHint(c, err).Error(); strings.Contains(got, "recover") || got != spec+" is not a SQLite database: give --db a dendfit database (or a new file's name)" {
		t.Errorf("--db a spec: %q", got)
	}
}

// TestExitCode: each way a command ends has its status and its line on
// stderr; an error other than the cancellation itself, met after Ctrl-C,
// is shown, not replaced by "interrupted".
func TestExitCode(t *testing.T) {
	stopped, stop := context.WithCancel(context.Background())
	stop()
	termed, term := context.WithCancelCause(context.Background())
	term(stopSignal{syscall.SIGTERM})
	for _, c := range []struct {
		name string
		ctx  context.Context
		err  error
		code int
		want string
	}{
		{"ok", context.Background(), nil, exitOK, ""},
		{"error", context.Background(), errors.New("spec: x.yaml: bad"), exitError, "dendfit: spec: x.yaml: bad\n"},
		{"usage", context.Background(), usageError{errors.New("--shard: want K/N")}, exitUsage, "dendfit: --shard: want K/N\n"},
		// A spec's several errors: a line each, each a whole message.
		{"spec errors", context.Background(), spec.Errors{{File: "x.yaml", Line: 3, Path: "simulation.dt", Msg: "bad"}, {File: "x.yaml", Line: 9, Path: "cells.pyr.gl", Msg: "worse"}},
			exitError, "dendfit: x.yaml:3: simulation.dt: bad\ndendfit: x.yaml:9: cells.pyr.gl: worse\n"},
		// Wrapped, each line keeps the context.
		{"wrapped spec errors", context.Background(), fmt.Errorf("reproduce: stored spec: %w", spec.Errors{{File: "run 1", Line: 3, Path: "simulation.dt", Msg: "bad"}, {File: "run 1", Line: 9, Path: "cells.pyr.gl", Msg: "worse"}}),
			exitError, "dendfit: reproduce: stored spec: run 1:3: simulation.dt: bad\ndendfit: reproduce: stored spec: run 1:9: cells.pyr.gl: worse\n"},
		{"not converged", context.Background(), fmt.Errorf("fit: %w", errNotConverged), exitNotConverge, "dendfit: fit: "},
		{"interrupted", stopped, fmt.Errorf("sweep: %w", context.Canceled), exitInterrupted, "dendfit: interrupted; finished work is kept\n"},
		{"error after interrupt", stopped, errors.New("record points: disk I/O error"), exitInterrupted, "dendfit: interrupted: record points: disk I/O error\n"},
		// The shell's convention, 128 + the signal: SIGTERM is 143.
		{"terminated", termed, fmt.Errorf("sweep: %w", context.Canceled), 143, "dendfit: interrupted; finished work is kept\n"},
	} {
		var stderr strings.Builder
		if code := exitCode(c.ctx, c.err, &stderr); code != c.code || !strings.HasPrefix(stderr.String(), c.want) || (c.want == "") != (stderr.Len() == 0) {
			t.Errorf("%s: exit %d, stderr %q; want %d, %q", c.name, code, stderr.String(), c.code, c.want)
		}
	}
}

// TestShardAndTaskBounds: --shard N and slurm --tasks stop at
// pipeline.MaxShards (a merge listed a billion missing shards, and
// slurm counted empty ones for minutes).
func TestShardAndTaskBounds(t *testing.T) {
	if _, _, err := parseShard(fmt.Sprintf("0/%d", pipeline.MaxShards)); err != nil {
		t.Errorf("--shard 0/%d: %v", pipeline.MaxShards, err)
	}
	for _, s := range []string{fmt.Sprintf("0/%d", pipeline.MaxShards+1), "0/9223372036854775807"} {
		if _, _, err := parseShard(s); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("0 <= K < N <= %d", pipeline.MaxShards)) {
			t.Errorf("--shard %s: %v, want refused", s, err)
		}
	}
	spec := "../../pipeline/testdata/reference/cases/ampa-instant-2comp-dimensionless-gsweep.yaml"
	_, err := runCLI(t, "slurm", spec, "--tasks", "9223372036854775807", "--dir", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("want 1 to %d", maxTasks)) {
		t.Errorf("slurm --tasks 2^63-1: %v, want refused", err)
	}
}

// TestEnvDBChecked: DENDFIT_DB gets the checks --db gets, named as such: a
// directory was taken for a file with two hard links, and /dev/null got a
// /dev/null-journal beside it.
func TestEnvDBChecked(t *testing.T) {
	spec := "../../pipeline/testdata/reference/cases/seed-ampa-2comp-dimensional.yaml"
	dir := t.TempDir()
	for _, tc := range []struct{ env, want string }{
		{dir, "DENDFIT_DB " + dir + " is a directory: give a database file, such as " + filepath.Join(dir, "dendfit.db")},
		{"/dev/null", "DENDFIT_DB /dev/null is not a regular file (a device, pipe or socket)"},
	} {
		t.Setenv(db.EnvPath, tc.env)
		for _, args := range [][]string{{"simulate", spec}, {"query", "runs"}, {"sweep", spec}, {"export", "-o", filepath.Join(dir, "x.json")}} {
			_, err := runCLI(t, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("DENDFIT_DB=%s %v: %v, want %q", tc.env, args, err, tc.want)
			}
			var u usageError
			if !errors.As(err, &u) {
				t.Errorf("DENDFIT_DB=%s %v: %T, want a usage error (exit status 2)", tc.env, args, err)
			}
		}
		// A command that does not open the database is not stopped by it.
		for _, args := range [][]string{{"describe", spec}, {"simulate", spec, "--no-db"}, {"--help"}} {
			if _, err := runCLI(t, args...); err != nil {
				t.Errorf("DENDFIT_DB=%s %v: %v", tc.env, args, err)
			}
		}
	}
}

// TestListFlag: a repeatable flag takes every item of every line of each
// value, as CSV, and remembers an empty one (which checkFlags refuses):
// pflag's StringSlice kept the first line alone, and dropped empty items.
func TestListFlag(t *testing.T) {
	for _, tc := range []struct {
		sets  []string
		want  []string
		empty bool
	}{
		{[]string{"0"}, []string{"0"}, false},
		{[]string{"0,1", "L23E->L23E"}, []string{"0", "1", "L23E->L23E"}, false},
		{[]string{"0\n1"}, []string{"0", "1"}, false},
		{[]string{"0", ""}, []string{"0"}, true},
		{[]string{"0,"}, []string{"0"}, true},
		{[]string{" "}, nil, true},
	} {
		var vals []string
		l := newListFlag(&vals)
		for _, v := range tc.sets {
			if err := l.Set(v); err != nil {
				t.Fatalf("%q: %v", tc.sets, err)
			}
		}
		if !slices.Equal(vals, tc.want) || l.empty != tc.empty {
			t.Errorf("%q: %q (empty %v), want %q (empty %v)", tc.sets, vals, l.empty, tc.want, tc.empty)
		}
	}
}

// testSlurmSiteOptions: --sbatch and --setup (repeatable) reach both
// scripts, in order, and an option the scripts set themselves is refused
// naming dendfit's own flag.
func testSlurmSiteOptions(t *testing.T) {
	dir := t.TempDir()
	spec := writeSpec(t, dir, "s.yaml", referenceCase(t, "sweep-tdecay-trise-ampa-3comp"))
	job := filepath.Join(dir, "job")
	if _, err := runCLI(t, "-q", "slurm", spec, "--tasks", "2", "--dir", job, "--sbatch=--account=lab",
		"--sbatch", "--constraint=avx2&ib", "--setup", "module load gcc/12", "--setup", "export OMP_NUM_THREADS=1"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sweep.sbatch", "merge.sbatch"} {
		b, err := os.ReadFile(filepath.Join(job, name))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if !strings.Contains(s, "#SBATCH --account=lab\n#SBATCH --constraint=avx2&ib\nset -euo pipefail\n") ||
			!strings.Contains(s, "\nmodule load gcc/12\nexport OMP_NUM_THREADS=1\n") {
			t.Errorf("%s:\n%s", name, s)
		}
	}
	_, err := runCLI(t, "slurm", spec, "--tasks", "2", "--dir", filepath.Join(dir, "job2"), "--sbatch=--time=5")
	if err == nil || !strings.Contains(err.Error(), "the scripts set --time themselves; use dendfit slurm's own flag") {
		t.Errorf("--sbatch=--time=5: %v", err)
	}
}

// TestDatabaseFromEnvNamed: an error naming a database the path of which
// came from DENDFIT_DB says so (a user saw a path they never typed); one
// given by --db, or an error that does not name the path, is left alone.
func TestDatabaseFromEnvNamed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none", "x.db")
	t.Setenv(db.EnvPath, path)
	cannot := fmt.Errorf("db: cannot create %s: directory %s does not exist", path, filepath.Dir(path))
	root := newRootCmd()
	c, _, err := root.Find([]string{"sweep"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := damagedHint(c, cannot).Error(), cannot.Error()+" (the database is "+db.EnvPath+"="+path+")"; got != want {
		t.Errorf("from %s: %q, want %q", db.EnvPath, got, want)
	}
	other := errors.New("spec: x.yaml: bad")
	if got := damagedHint(c, other); got != other {
		t.Errorf("an error not naming the database changed: %v", got)
	}
	// A reading command finds no database there.
	if _, _, err := runCLIStderr(t, "query", "runs"); err == nil || !strings.HasPrefix(err.Error(), "no database "+path+" ("+db.EnvPath+"): set "+db.EnvPath+" to a dendfit database") {
		t.Errorf("query runs, no database at %s: %v", db.EnvPath, err)
	}
	// A file that is no database, from DENDFIT_DB.
	spec := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(spec, []byte("dendfit: 1\nexperiment: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(db.EnvPath, spec)
	_, _, notDB := runCLIStderr(t, "query", "runs")
	if !db.IsDamaged(notDB) {
		t.Fatalf("%s a spec: %v, want SQLite's not a database", db.EnvPath, notDB)
	}
	root = newRootCmd()
	if c, _, err = root.Find([]string{"query", "runs"}); err != nil {
		t.Fatal(err)
	}
	if got, want := damagedHint(c, notDB).Error(), spec+" is not a SQLite database ("+db.EnvPath+"="+spec+"): set "+db.EnvPath+" to a dendfit database (or a new file's name), or give --db"; got != want {
		t.Errorf("%s a spec: %q, want %q", db.EnvPath, got, want)
	}
	if err := root.PersistentFlags().Set("db", path); err != nil {
		t.Fatal(err)
	}
	if got := damagedHint(c, cannot); got != cannot {
		t.Errorf("with --db: %v", got)
	}
}

// TestDescribeLeavesTheDatabaseAlone: describe never opens the database,
// so a --db it could not use (a device) is not refused; sweep, which
// opens it, still refuses it.
func TestDescribeLeavesTheDatabaseAlone(t *testing.T) {
	spec := "../../experiments/l23-demo.yaml"
	out, err := runCLI(t, "describe", spec, "--db", "/dev/null")
	if err != nil || !strings.Contains(out, "pyr") {
		t.Errorf("describe --db /dev/null: %v\n%s", err, out)
	}
	if _, err := runCLI(t, "sweep", spec, "--db", "/dev/null"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("sweep --db /dev/null: %v, want the refusal", err)
	}
}

// TestSlurmMergeSubmitFails: when sbatch takes the array but refuses its
// merge (a queue limit), the array's job id is printed and the error says
// how to submit the merge (a trial saw only the error, with the array
// running, and submitted it again).
func TestSlurmMergeSubmitFails(t *testing.T) {
	dir := t.TempDir()
	spec := writeSpec(t, dir, "s.yaml", referenceCase(t, "sweep-tdecay-trise-ampa-3comp"))
	bin := t.TempDir()
	count := filepath.Join(bin, "count")
	fake := map[string]string{
		"squeue": "#!/bin/sh\nexit 0\n",
		// The first submission (the array) is taken, the second refused.
		"sbatch": "#!/bin/sh\nif [ -e " + count + " ]; then echo 'sbatch: error: QOSMaxSubmitJobPerUserLimit' >&2; exit 1; fi\ntouch " + count + "\necho 4242\n",
	}
	for name, text := range fake {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	job := filepath.Join(dir, "job")
	// The built binary: the scripts refuse to run a test binary.
	cmd := exec.Command(dendfitBin, "-q", "slurm", spec, "--tasks", "2", "--dir", job, "--submit")
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if stdout.String() != "array job 4242\n" {
		t.Errorf("stdout %q, want the array's job id", stdout.String())
	}
	msg := strings.TrimSpace(stderr.String())
	if want := "array job 4242 was submitted, but its merge was not: "; err == nil || !strings.Contains(msg, want) ||
		!strings.Contains(msg, "QOSMaxSubmitJobPerUserLimit") || !strings.HasSuffix(msg, "sbatch --dependency=afterok:4242 "+filepath.Join(job, "merge.sbatch")) {
		t.Errorf("exit %v, stderr %q; want %q, sbatch's reason and the merge's command", err, msg, want)
	}
}
