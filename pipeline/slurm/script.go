package slurm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/template"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/internal/fsx"
	"github.com/dendfit/dendfit/pipeline"
)

// File names written into Options.Dir.
const (
	SweepScript = "sweep.sbatch"
	MergeScript = "merge.sbatch"
	MergedDB    = "merged.db"
	LogDir      = "logs"
	// SpecCopy is the copy of the spec the tasks sweep: editing the
	// original while tasks wait in the queue changes nothing, and a rerun
	// task sweeps what its shard's run started with.
	SpecCopy = "spec.yaml"
	// Written holds the SHA-256 of each script as Write wrote it: a
	// script that differs has been edited, and is not written over.
	Written = ".dendfit-written"
)

// Options describe the job array. Binary, Spec and Dir must be absolute
// (Abs makes them so).
type Options struct {
	Binary     string // the dendfit executable
	Spec       string // the experiment spec
	Experiment string // experiment name, for job names; optional
	Dir        string // shard databases, merged database, scripts and logs
	Tasks      int    // array tasks = shards, >= 1
	Partition  string // --partition, if set
	Time       string // --time limit per task, if set (e.g. "02:00:00")
	CPUs       int    // --cpus-per-task and sweep --workers; 0 means 1
	Mem        string // --mem per task, if set (e.g. "2G")
	// Sbatch holds more #SBATCH options for both scripts, one option
	// each, as the site needs them ("--account=lab", "--qos=long").
	Sbatch []string
	// Setup holds shell lines both scripts run before dendfit, as the
	// site needs them ("module load gcc").
	Setup []string
}

// ownOptions are the sbatch options the scripts set themselves, or take
// from Options' own fields: given in Sbatch they would contradict them.
var ownOptions = []string{"array", "output", "error", "open-mode", "chdir", "ntasks", "cpus-per-task", "requeue",
	"no-requeue", "dependency", "kill-on-invalid-dep", "job-name", "partition", "time", "mem", "wrap"}

// sbatchOption is one sbatch option as an #SBATCH line takes it: a long
// option with its value after = and no blanks (SLURM splits the line at
// them). Short options are refused: -a or -c would set what the scripts
// set without being recognised as such.
var sbatchOption = regexp.MustCompile(`^--[a-z][a-z0-9-]*(=[^\s'"\\$` + "`" + `]+)?$`)

// flagOptions are the sbatch options that take no value: only these may
// stand without =value (sbatch would take the next #SBATCH line as the
// value of one that needs it).
var flagOptions = []string{"exclusive", "overcommit", "contiguous", "hold", "spread-job", "use-min-nodes", "oversubscribe"}

// ShardDB is the database of shard k in dir.
func ShardDB(dir string, k int) string { return filepath.Join(dir, fmt.Sprintf("shard-%d.db", k)) }

// Abs returns o with Binary, Spec and Dir made absolute and cleaned.
func (o Options) Abs() (Options, error) {
	for _, p := range []*string{&o.Binary, &o.Spec, &o.Dir} {
		if *p == "" {
			continue
		}
		a, err := filepath.Abs(*p)
		if err != nil {
			return o, fmt.Errorf("slurm: %w", err)
		}
		*p = a
	}
	return o, nil
}

// unsafePath matches what cannot stand unquoted in an #SBATCH line (SLURM
// splits them at blanks) or in an output file name (% starts a pattern).
var unsafePath = regexp.MustCompile(`[\s"'\\%$` + "`" + `]`)

// safeValue is what an #SBATCH option value may contain.
var safeValue = regexp.MustCompile(`^[A-Za-z0-9._:,+=@/-]*$`)

// Validate checks o before scripts are written from it.
func (o *Options) Validate() error {
	switch {
	case o.Tasks < 1:
		return fmt.Errorf("slurm: tasks must be at least 1, got %d", o.Tasks)
	case o.CPUs < 0:
		return fmt.Errorf("slurm: cpus must not be negative (0 means 1), got %d", o.CPUs)
	case o.Binary == "" || o.Spec == "" || o.Dir == "":
		return errors.New("slurm: binary, spec and dir are required")
	}
	for _, p := range []struct{ what, v string }{{"binary", o.Binary}, {"spec", o.Spec}, {"dir", o.Dir}} {
		if !filepath.IsAbs(p.v) {
			return fmt.Errorf("slurm: %s path %q is not absolute", p.what, p.v)
		}
	}
	if strings.ContainsAny(o.Binary+o.Spec, "\n\r") {
		return errors.New("slurm: binary and spec paths cannot contain line breaks")
	}
	if unsafePath.MatchString(o.Dir) {
		return fmt.Errorf("slurm: dir %q: blanks, quotes, backslashes, %% and $ cannot appear in #SBATCH paths; choose another directory", o.Dir)
	}
	if err := checkResources(o.Partition, o.Time, o.Mem); err != nil {
		return err
	}
	for _, opt := range o.Sbatch {
		if !sbatchOption.MatchString(opt) {
			return fmt.Errorf("slurm: --sbatch %q: want one long sbatch option, such as --account=lab or --qos=long (no short form, no blanks or quotes in the value)", opt)
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(opt, "--"), "=")
		// sbatch takes any unambiguous abbreviation: --arr is --array.
		for _, own := range ownOptions {
			switch {
			case strings.HasPrefix(own, name) && own == "error":
				// No --error line: SLURM writes stderr to the --output
				// file, which is what the scripts want.
				return fmt.Errorf("slurm: --sbatch %q: the scripts keep each job's stderr with its stdout, in its --output log under %s (one log a task, where dendfit's messages go); edit the script to split them", opt, filepath.Join(o.Dir, LogDir))
			case strings.HasPrefix(own, name):
				return fmt.Errorf("slurm: --sbatch %q: the scripts set --%s themselves; use dendfit slurm's own flag if it has one (--partition, --time, --mem, --cpus), or edit the script", opt, own)
			}
		}
		if !hasValue && !slices.Contains(flagOptions, name) {
			return fmt.Errorf("slurm: --sbatch %q: give its value after = (--%s=VALUE)", opt, name)
		}
	}
	for _, line := range o.Setup {
		if strings.TrimSpace(line) == "" || strings.ContainsAny(line, "\n\r") {
			return fmt.Errorf("slurm: --setup %q: want one non-empty shell line", line)
		}
	}
	return nil
}

// checkResources checks a partition, time limit and memory as sbatch
// takes them ("" for one not given). sbatch would refuse a bad one only
// at submission, after the scripts were written, or a hand submission
// later.
func checkResources(partition, time, mem string) error {
	for _, v := range []struct{ flag, v string }{{"partition", partition}, {"time", time}, {"mem", mem}} {
		if !safeValue.MatchString(v.v) {
			return fmt.Errorf("slurm: --%s %q: want letters, digits and . _ : , + = @ / - only", v.flag, v.v)
		}
	}
	if time != "" && !slurmTime.MatchString(time) {
		return fmt.Errorf("slurm: --time %q: want a SLURM time limit: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS (such as 90, 02:00:00 or 1-12:00:00)", time)
	}
	if mem != "" && !slurmMem.MatchString(mem) {
		return fmt.Errorf("slurm: --mem %q: want a size in MB, or with a K, M, G or T suffix (such as 500M or 2G)", mem)
	}
	return nil
}

// Overrides are resources for a rerun's tasks that differ from those its
// script was written with: sbatch options on the command line take
// precedence over the script's #SBATCH lines, so the script (and any
// edits made to it) is submitted as it is.
type Overrides struct {
	Partition, Time, Mem string // "" keeps the script's
	CPUs                 int    // 0 keeps the script's; the task's workers follow it
}

// Options checks the overrides and returns them as sbatch options.
func (v Overrides) Options() ([]string, error) {
	if v.CPUs < 0 {
		return nil, fmt.Errorf("slurm: cpus must not be negative, got %d", v.CPUs)
	}
	if err := checkResources(v.Partition, v.Time, v.Mem); err != nil {
		return nil, err
	}
	var opts []string
	for _, o := range []struct{ name, v string }{{"partition", v.Partition}, {"time", v.Time}, {"mem", v.Mem}} {
		if o.v != "" {
			opts = append(opts, "--"+o.name+"="+o.v)
		}
	}
	if v.CPUs > 0 {
		opts = append(opts, fmt.Sprintf("--cpus-per-task=%d", v.CPUs))
	}
	return opts, nil
}

// slurmTime and slurmMem are the forms sbatch takes for --time and --mem.
var (
	slurmTime = regexp.MustCompile(`^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d{1,2}(:\d{1,2}(:\d{1,2})?)?|(?i:unlimited|infinite))$`)
	slurmMem  = regexp.MustCompile(`^\d+(?i:[KMGT]B?)?$`)
)

// shellQuote quotes s for bash, leaving plain words as they are.
func shellQuote(s string) string {
	if s != "" && safeValue.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

var funcs = template.FuncMap{"q": shellQuote}

// resources are the optional #SBATCH lines both scripts share.
const resources = `{{define "resources"}}
{{- if .Partition}}
#SBATCH --partition={{.Partition}}
{{- end}}
{{- if .Time}}
#SBATCH --time={{.Time}}
{{- end}}
{{- if .Mem}}
#SBATCH --mem={{.Mem}}
{{- end}}
{{- range .Sbatch}}
#SBATCH {{.}}
{{- end}}
{{- end}}{{define "setup"}}
{{- if .Setup}}

# Site setup (dendfit slurm --setup), without set -u: module and conda
# scripts read unset variables.
set +u
{{- range .Setup}}
{{.}}
{{- end}}
set -u
{{- end}}
{{- end}}`

// The scripts' templates are parsed on first use, not at every dendfit
// command's start.
var sweepTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.Must(template.New(SweepScript).Funcs(funcs).Parse(resources)).Parse(`#!/bin/bash
# dendfit sweep of {{.Spec}} (copied to {{.Dir}}/spec.yaml)
# as a SLURM job array of {{.Tasks}} tasks: task K sweeps shard K/{{.Tasks}} of the
# grid into {{.Dir}}/shard-K.db. Written by 'dendfit slurm'; edit freely.
#
# Submit it, then the merge once every task has succeeded:
#   jid=$(sbatch --parsable {{q (print .Dir "/sweep.sbatch")}})
#   sbatch --dependency=afterok:${jid%%;*} {{q (print .Dir "/merge.sbatch")}}
# Rerun task K alone (it resumes its shard; finished points are kept):
#   sbatch --array=K {{q (print .Dir "/sweep.sbatch")}}
# A requeued task appends to its log (--open-mode=append), so that what
# ended the first attempt stays in it.
#
#SBATCH --job-name={{.JobName}}-sweep
#SBATCH --array=0-{{.Last}}
#SBATCH --output={{.Dir}}/logs/sweep-%A_%a.out
#SBATCH --open-mode=append
#SBATCH --chdir={{.Dir}}
#SBATCH --ntasks=1
#SBATCH --cpus-per-task={{.Workers}}
#SBATCH --requeue{{template "resources" .}}
set -euo pipefail{{template "setup" .}}

DENDFIT={{q .Binary}}
DIR={{q .Dir}}
SPEC="$DIR/spec.yaml"
N={{.Tasks}}    # shards; fixed here, so a task rerun alone still sweeps K/{{.Tasks}}
K=${SLURM_ARRAY_TASK_ID:?run this script with sbatch as an array task}

# --resume continues this shard's unfinished run if the task was requeued or
# is rerun; points already recorded are skipped, never recorded twice, and a
# shard swept to the end is left as it is. Exit status 5: another copy of
# this task (a rerun beside a queued one) is sweeping the shard now; this
# one waits for it and ends as the shard does, so that a merge after this
# array does not start before the shard is complete.
WAIT=${DENDFIT_BUSY_WAIT:-30}    # seconds between looks at the other copy
said=
while :; do
	status=0
	"$DENDFIT" sweep "$SPEC" --shard "$K/$N" --db "$DIR/shard-$K.db" --resume -q \
		--workers "${SLURM_CPUS_PER_TASK:-{{.Workers}}}" || status=$?
	((status == 5)) || exit "$status"
	if [[ -z $said ]]; then
		echo "task $K: another task is sweeping shard $K now; waiting for it to finish (a look every $WAIT s)" >&2
		said=1
	fi
	sleep "$WAIT"
done
`))
})

var mergeTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.Must(template.New(MergeScript).Funcs(funcs).Parse(resources)).Parse(`#!/bin/bash
# Merges the {{.Tasks}} shard databases of {{.Dir}}/sweep.sbatch into
# {{.Dir}}/merged.db. Written by 'dendfit slurm'; edit freely.
#
# Submit it after the array has succeeded ('dendfit slurm --submit' does):
#   sbatch --dependency=afterok:ARRAY_JOB_ID {{q (print .Dir "/merge.sbatch")}}
# or run it by hand: bash {{q (print .Dir "/merge.sbatch")}}
# Merging is idempotent: running it again adds nothing.
#
#SBATCH --job-name={{.JobName}}-merge
#SBATCH --output={{.Dir}}/logs/merge-%j.out
#SBATCH --chdir={{.Dir}}
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --kill-on-invalid-dep=yes{{template "resources" .}}
set -euo pipefail{{template "setup" .}}

DENDFIT={{q .Binary}}
DIR={{q .Dir}}
N={{.Tasks}}

# Every shard must be there: a missing one is an error, not a smaller result.
shards=() missing=()
for ((k = 0; k < N; k++)); do
	if [[ -e "$DIR/shard-$k.db" ]]; then
		shards+=("$DIR/shard-$k.db")
	else
		missing+=("$k")
	fi
done
if ((${#missing[@]})); then
	list=$(IFS=,; echo "${missing[*]}")
	printf -v rerun '%q slurm %q --dir %q --rerun %s --submit' "$DENDFIT" "$DIR/spec.yaml" "$DIR" "$list"
	echo "merge: shard(s) $list of $N have not run yet (no $DIR/shard-K.db); rerun them, with a merge after them, with: $rerun" >&2
	exit 1
fi
exec "$DENDFIT" merge "$DIR/merged.db" "${shards[@]}"
`))
})

type tmplData struct {
	Options
	JobName string
	Last    int
	Workers int
}

func (o *Options) data() tmplData {
	name := "dendfit"
	if o.Experiment != "" && safeValue.MatchString(o.Experiment) {
		name += "-" + o.Experiment
	}
	return tmplData{Options: *o, JobName: name, Last: o.Tasks - 1, Workers: max(o.CPUs, 1)}
}

// Render returns the text of the array script (sweep.sbatch) and of the
// merge script (merge.sbatch) for o.
func Render(o Options) (sweep, merge []byte, err error) {
	if err := o.Validate(); err != nil {
		return nil, nil, err
	}
	var a, b bytes.Buffer
	if err := sweepTmpl().Execute(&a, o.data()); err != nil {
		return nil, nil, fmt.Errorf("slurm: %w", err)
	}
	if err := mergeTmpl().Execute(&b, o.data()); err != nil {
		return nil, nil, fmt.Errorf("slurm: %w", err)
	}
	return a.Bytes(), b.Bytes(), nil
}

// Scripts are the paths of written scripts.
type Scripts struct {
	Dir, Sweep, Merge string
	Tasks             int
	// CopyRestored says that Write wrote the spec copy back over an edit
	// of it (to the text the shards swept).
	CopyRestored bool
}

// SubmitCommand is the shell command that submits the array, then the
// merge once every task has succeeded, its paths quoted for bash.
// (--parsable prints "jobid;cluster" on a multi-cluster site.)
func (s *Scripts) SubmitCommand() string {
	return fmt.Sprintf("jid=$(sbatch --parsable %s) && sbatch --dependency=afterok:${jid%%%%;*} %s", shellQuote(s.Sweep), shellQuote(s.Merge))
}

// Write renders the scripts into o.Dir (created, with o.Dir/logs, if
// needed), copies the spec there (SpecCopy), replacing each file
// atomically, and returns their paths. It refuses a directory whose shard
// databases belong to another array, of another spec or task count:
// their shards would not merge with the new ones.
func Write(o Options) (*Scripts, error) {
	sweep, merge, err := Render(o)
	if err != nil {
		return nil, err
	}
	spec, err := os.ReadFile(o.Spec)
	if err != nil {
		return nil, fmt.Errorf("slurm: %w", err)
	}
	restored := false
	if shards, _ := filepath.Glob(filepath.Join(o.Dir, "shard-*.db")); len(shards) > 0 {
		if old, err := Existing(o.Dir); err == nil && old.Tasks != o.Tasks {
			return nil, fmt.Errorf("slurm: %s holds the shards of a %d-task array; give --tasks %d, or another --dir", o.Dir, old.Tasks, old.Tasks)
		}
		same, err := CheckShards(context.Background(), o.Dir, o.Experiment, spec)
		if err != nil {
			return nil, err
		}
		// Shards that swept this very text make a differing copy an edit
		// of it, which writing the copy again undoes.
		if old, err := os.ReadFile(filepath.Join(o.Dir, SpecCopy)); err == nil && !bytes.Equal(old, spec) {
			if same == 0 {
				return nil, fmt.Errorf("slurm: %s holds the shards of another spec (%s); give another --dir", o.Dir, filepath.Join(o.Dir, SpecCopy))
			}
			restored = true
		}
	}
	if err := checkMerged(o.Dir, o.Experiment, spec); err != nil {
		return nil, err
	}
	s := &Scripts{Dir: o.Dir, Sweep: filepath.Join(o.Dir, SweepScript), Merge: filepath.Join(o.Dir, MergeScript), Tasks: o.Tasks}
	if err := checkUnedited(o.Dir, s.Sweep, s.Merge); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(o.Dir, LogDir), 0o755); err != nil {
		// A file where the directory, or one above it, should be.
		if f := fsx.FileInPath(o.Dir); f != "" {
			return nil, fmt.Errorf("slurm: --dir %s: %s is a file, not a directory: give a directory for the array's scripts and shard databases", o.Dir, f)
		}
		return nil, fmt.Errorf("slurm: %w", err)
	}
	s.CopyRestored = restored
	if err := WriteSpecCopy(o.Dir, spec); err != nil {
		return nil, err
	}
	if err := writeAtomic(s.Sweep, sweep, 0o755); err != nil {
		return nil, err
	}
	if err := writeAtomic(s.Merge, merge, 0o755); err != nil {
		return nil, err
	}
	sum := func(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(b)) }
	record := fmt.Sprintf("%s  %s\n%s  %s\n", sum(sweep), SweepScript, sum(merge), MergeScript)
	if err := writeAtomic(filepath.Join(o.Dir, Written), []byte(record), 0o644); err != nil {
		return nil, err
	}
	return s, nil
}

// CheckShards refuses an array of spec whose shard databases in dir
// hold sweeps of another text of experiment: the spec copy in dir was
// edited since they ran (so comparing with it passes), and each task would
// sweep its whole shard again beside the old one, which the merge then
// mixes under one name (a trial did so by submitting dir's edited copy).
// It returns how many sweeps of spec's own text the shards hold.
func CheckShards(ctx context.Context, dir, experiment string, spec []byte) (int, error) {
	shards, _ := filepath.Glob(filepath.Join(dir, "shard-*.db"))
	if experiment == "" {
		return 0, nil
	}
	sum := fmt.Sprintf("%x", sha256.Sum256(spec))
	same := 0
	for _, path := range shards {
		d, err := db.OpenReadOnly(ctx, path)
		if err != nil {
			continue // the task or the merge says what is wrong with it
		}
		runs, texts, err := sweepsIn(ctx, d, experiment)
		d.Close()
		if err != nil {
			continue
		}
		for _, r := range runs {
			if texts[r.ExperimentID] != sum {
				return 0, fmt.Errorf("slurm: %s holds sweep run %d of another text of experiment %s's spec, and this array's shards would not merge with it: restore that text (dendfit query spec %d --db %s -o FILE writes it), or give another --dir",
					path, r.ID, experiment, r.ID, shellQuote(path))
			}
			same++
		}
	}
	return same, nil
}

// WriteSpecCopy writes text as the spec copy of the array in dir
// (SpecCopy), atomically.
func WriteSpecCopy(dir string, text []byte) error {
	return writeAtomic(filepath.Join(dir, SpecCopy), text, 0o644)
}

// sweepsIn returns the sweep runs of experiment in d, newest first, and
// the SHA-256 of each experiment's spec text by id.
func sweepsIn(ctx context.Context, d *db.DB, experiment string) ([]db.Run, map[int64]string, error) {
	exps, err := d.Experiments(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", d.Path(), err)
	}
	texts := map[int64]string{}
	for _, e := range exps {
		texts[e.ID] = e.SpecSHA256
	}
	runs, err := d.Runs(ctx, db.RunFilter{Experiment: experiment, Command: db.CommandSweep})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", d.Path(), err)
	}
	return runs, texts, nil
}

// CheckResumable returns why the shard database at path cannot be
// resumed (not a database, damaged), or nil, also when it does not exist:
// a rerun of its task would fail on it, after its wait in the queue.
func CheckResumable(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	d, err := db.OpenReadOnly(ctx, path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer d.Close()
	if err := d.QuickCheck(ctx); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// checkMerged refuses an array whose merge would be refused: dir's merged
// database holds another text of the experiment's spec (the shard files
// of that array may be gone, so their check above passes), and merge
// refuses specs that differ under one name. The whole array would run
// first (a trial saw it twice).
func checkMerged(dir, experiment string, spec []byte) error {
	path := filepath.Join(dir, MergedDB)
	if _, err := os.Stat(path); err != nil || experiment == "" {
		return nil
	}
	d, err := db.OpenReadOnly(context.Background(), path)
	if err != nil {
		return nil // merge says what is wrong with it
	}
	defer d.Close()
	exps, err := d.Experiments(context.Background())
	if err != nil {
		return nil
	}
	sum := fmt.Sprintf("%x", sha256.Sum256(spec))
	for _, e := range exps {
		if e.Name == experiment && e.SpecSHA256 != sum {
			return fmt.Errorf("slurm: %s holds experiment %s merged from another text of its spec, and the merge job would refuse this array's shards (%v): move %s away, or give another --dir",
				path, experiment, db.ErrMixedSpecs, path)
		}
	}
	return nil
}

// checkUnedited refuses to write over a script of dir that differs from
// what Write last wrote there (Written): the user's edits (an account, a
// partition) would be lost without a word. A directory written before
// Written existed has nothing to compare with.
func checkUnedited(dir string, scripts ...string) error {
	rec, err := os.ReadFile(filepath.Join(dir, Written))
	if err != nil {
		return nil
	}
	want := map[string]string{}
	for _, line := range strings.Split(string(rec), "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			want[f[1]] = f[0]
		}
	}
	for _, path := range scripts {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // gone: written anew
		}
		if h, ok := want[filepath.Base(path)]; ok && h != fmt.Sprintf("%x", sha256.Sum256(b)) {
			return fmt.Errorf("slurm: %s was edited since dendfit wrote it, and writing the scripts again would lose the edits: submit them as they are with --rerun (or sbatch), or move %s away to have it written anew", path, path)
		}
	}
	return nil
}

// Existing returns the scripts Write left in dir, as they are now (their
// resources and any edits kept), with the task count of the array script.
func Existing(dir string) (*Scripts, error) {
	s := &Scripts{Dir: dir, Sweep: filepath.Join(dir, SweepScript), Merge: filepath.Join(dir, MergeScript)}
	text, err := os.ReadFile(s.Sweep)
	if err != nil {
		return nil, fmt.Errorf("slurm: %s has no array script: %w", dir, err)
	}
	if _, err := os.Stat(s.Merge); err != nil {
		return nil, fmt.Errorf("slurm: %s has no merge script: %w", dir, err)
	}
	m := tasksLine.FindSubmatch(text)
	if m == nil {
		return nil, fmt.Errorf("slurm: %s: no N=<tasks> line", s.Sweep)
	}
	if s.Tasks, err = strconv.Atoi(string(m[1])); err != nil || s.Tasks < 1 {
		return nil, fmt.Errorf("slurm: %s: bad task count %q", s.Sweep, m[1])
	}
	return s, nil
}

// FinishedShard returns the id of a finished sweep run of shard k of n in
// dir's shard database, if it has one and no unfinished run of that shard:
// rerunning task k would then sweep the shard again, into a new run.
func FinishedShard(ctx context.Context, dir string, k, n int) (int64, bool) {
	path := ShardDB(dir, k)
	if _, err := os.Stat(path); err != nil {
		return 0, false
	}
	d, err := db.OpenReadOnly(ctx, path)
	if err != nil {
		return 0, false
	}
	defer d.Close()
	runs, err := d.Runs(ctx, db.RunFilter{Command: db.CommandSweep})
	if err != nil {
		return 0, false
	}
	var done int64
	for _, r := range runs {
		if r.ShardK != k || r.ShardN != n {
			continue
		}
		if r.Status != db.StatusDone {
			return 0, false // --resume continues that one
		}
		if done == 0 {
			done = r.ID
		}
	}
	return done, done != 0
}

// tasksLine is the line of the array script that fixes its shard count.
var tasksLine = regexp.MustCompile(`(?m)^N=(\d+)`)

func writeAtomic(path string, data []byte, perm os.FileMode) error {
	err := pipeline.WriteFileAtomic(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil {
		return fmt.Errorf("slurm: %w", err)
	}
	return nil
}

// FormatTasks formats task indices for sbatch --array, e.g. "2,5".
func FormatTasks(ks []int) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = strconv.Itoa(k)
	}
	return strings.Join(s, ",")
}
