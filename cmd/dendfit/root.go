package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/pipeline"
	"github.com/dendfit/dendfit/sim/spec"
)

// globals are the flags every subcommand shares.
type globals struct {
	db      string
	dbFlag  bool // db was given by --db, not DENDFIT_DB
	json    bool
	quiet   bool
	verbose bool
	stdout  io.Writer
	stderr  io.Writer
}

func newRootCmd() *cobra.Command { return newRootCmdIO(os.Stdout, os.Stderr) }

// newRootCmdIO is newRootCmd writing data to stdout and notes to stderr
// (tests pass buffers).
func newRootCmdIO(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "dendfit",
		Short: "Calibrate synaptic conductances of Dendrify neuron models to target PSPs",
		Long: `dendfit finds the synaptic conductance g that makes one presynaptic spike
produce a target PSP at the soma of a Dendrify-style reduced compartmental
neuron, for every pathway of an experiment spec (YAML). It simulates exactly
what Dendrify 2.2 on Brian 2.5 computes (euler, rk4, exponential_euler),
sweeps and fits conductances and kinetics, and records every run, with
provenance, in a SQLite database.`,
		Version:       versionLine(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%s (see '%s --help')", flagMessage(err), c.CommandPath())}
	})
	root.PersistentPreRunE = func(c *cobra.Command, args []string) error { return checkFlags(g, c, args) }
	pf := root.PersistentFlags()
	pf.StringVar(&g.db, "db", db.DefaultPath(), "SQLite database for results (env "+db.EnvPath+")")
	pf.BoolVar(&g.json, "json", false, "print JSON instead of a table")
	pf.BoolVarP(&g.quiet, "quiet", "q", false, "no progress or notes on stderr (warnings and errors still print)")
	pf.BoolVarP(&g.verbose, "verbose", "v", false, "more detail on stderr")
	root.AddCommand(newSimulateCmd(g))
	for _, f := range extraCommands {
		root.AddCommand(f(g))
	}
	groupCmd(root)
	root.SetHelpCommand(helpCmd())
	return root
}

// helpCmd is 'dendfit help [command]'. Cobra's prints the whole help and
// succeeds for a topic it does not know; this one refuses it like an
// unknown command.
func helpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil || cmd == nil || len(rest) > 0 {
				return usageError{fmt.Errorf("no help topic %q (see 'dendfit --help')", strings.Join(args, " "))}
			}
			return cmd.Help()
		},
	}
}

// groupCmd makes a command that only holds subcommands (dendfit, dendfit
// query, dendfit plot) refuse an unknown subcommand with a one-line usage
// error instead of printing its help and succeeding. Without arguments,
// dendfit prints its help and the groups name their subcommands.
func groupCmd(c *cobra.Command) {
	names := func() string {
		var ns []string
		for _, sc := range c.Commands() {
			if sc.IsAvailableCommand() {
				ns = append(ns, sc.Name())
			}
		}
		return strings.Join(ns, ", ")
	}
	c.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		hint := ""
		if sug := cmd.SuggestionsFor(args[0]); len(sug) > 0 {
			hint = fmt.Sprintf("; did you mean %s?", strings.Join(sug, " or "))
		}
		return usageError{fmt.Errorf("unknown command %q for %q%s (want %s; see '%s --help')", args[0], cmd.CommandPath(), hint, names(), cmd.CommandPath())}
	}
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if !cmd.HasParent() {
			return cmd.Help()
		}
		return usageError{fmt.Errorf("%s needs a command: %s (see '%s --help')", cmd.CommandPath(), names(), cmd.CommandPath())}
	}
	for _, sc := range c.Commands() {
		if sc.HasSubCommands() {
			groupCmd(sc)
		}
	}
}

// maxWorkers is the most --workers a command takes.
func maxWorkers() int { return 16 * runtime.NumCPU() }

// writesFileOnly annotates a command (and its subcommands) that writes a
// file and prints no JSON (plot, report): --json there would print
// nothing.
var writesFileOnly = map[string]string{"dendfit/writes-file-only": "true"}

// textOnly annotates a command that prints a text as it is, with why
// --json does not apply to it.
const textOnly = "dendfit/text-only"

// opensNoDB annotates a command that never opens the database
// (describe): a --db it cannot use is not checked.
var opensNoDB = map[string]string{"dendfit/opens-no-db": "true"}

// noJSON says whether c, or a command above it, is annotated
// writesFileOnly.
func noJSON(c *cobra.Command) bool {
	for ; c != nil; c = c.Parent() {
		if _, ok := c.Annotations["dendfit/writes-file-only"]; ok {
			return true
		}
	}
	return false
}

// checkFlags refuses, before any work, flags no command can use: a
// missing required flag; a file to write (--output, --trace) in a
// directory that does not exist, which would otherwise fail only after
// the work was done and recorded; and what pflag parses but no dendfit
// flag means: its integer flags are all counts, indices or ids, and its
// float flags sizes or bounds, so a negative integer or a NaN or infinite
// float is a typo that would otherwise fall back to a default or match
// nothing, silently.
func checkFlags(g *globals, c *cobra.Command, args []string) error {
	var err error
	// Required flags are checked here, before cobra would, so that a
	// missing one is a usage error (status 2) with the hint to --help.
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if req := f.Annotations[cobra.BashCompOneRequiredFlag]; err == nil && len(req) > 0 && req[0] == "true" && !f.Changed {
			err = usageError{fmt.Errorf("--%s is required (see '%s --help')", f.Name, c.CommandPath())}
		}
	})
	if err != nil {
		return err
	}
	if f := c.Flag("json"); f != nil && f.Changed && f.Value.String() == "true" {
		switch {
		case c.Annotations[textOnly] != "":
			return usageError{fmt.Errorf("--json: '%s' %s", c.CommandPath(), c.Annotations[textOnly])}
		case noJSON(c):
			return usageError{fmt.Errorf("--json: '%s' writes a file (-o) and prints no JSON; 'dendfit query' gives the data as JSON", c.CommandPath())}
		}
	}
	// Workers past a few a core only cost memory (each holds its own
	// simulators); -j 1000000000 took 23 GB.
	if f := c.Flags().Lookup("workers"); f != nil && f.Changed {
		if v, err := strconv.Atoi(f.Value.String()); err == nil && v > maxWorkers() {
			return usageError{fmt.Errorf("--workers %d: at most %d (16 a core on this machine's %d); more only cost memory", v, maxWorkers(), runtime.NumCPU())}
		}
	}
	// A run id is 1 or more: --run 0 would read as "not given" here and
	// match nothing there.
	if f := c.Flags().Lookup("run"); f != nil && f.Changed && f.Value.String() == "0" {
		return usageError{fmt.Errorf("--run 0: want a run id, 1 or more ('dendfit query runs' lists them)")}
	}
	if q, v := c.Flag("quiet"), c.Flag("verbose"); q != nil && v != nil && q.Changed && v.Changed && q.Value.String() == "true" && v.Value.String() == "true" {
		return usageError{fmt.Errorf("--quiet and --verbose disagree: give one")}
	}
	if f := c.Flag("db"); f != nil && f.Changed && strings.TrimSpace(f.Value.String()) == "" {
		return usageError{fmt.Errorf("--db is empty: give a database file")}
	}
	// As given; DENDFIT_DB (--db's default) is checked by the commands
	// that open the database (checkDB), as not every command does.
	_, unused := c.Annotations["dendfit/opens-no-db"]
	if f, noDB := c.Flag("db"), c.Flag("no-db"); f != nil && !unused && (noDB == nil || noDB.Value.String() != "true") && f.Changed {
		g.dbFlag = true
		if err := g.checkDB(); err != nil {
			return err
		}
	}
	for _, name := range []string{"output", "trace"} {
		f := c.Flags().Lookup(name)
		if f == nil || !f.Changed || f.Value.String() == "-" {
			continue
		}
		if err := checkOutput(c, args, "--"+name, f.Value.String()); err != nil {
			return err
		}
	}
	c.Flags().Visit(func(f *pflag.Flag) {
		if err != nil {
			return
		}
		switch f.Value.Type() {
		case "int", "int64":
			least := int64(0)
			if m, ok := f.Annotations[minAnnotation]; ok && len(m) == 1 {
				least, _ = strconv.ParseInt(m[0], 10, 64)
			}
			if v, e := strconv.ParseInt(f.Value.String(), 10, 64); e == nil && v < least {
				err = usageError{fmt.Errorf("--%s %d: want %d or more (see '%s --help')", f.Name, v, least, c.CommandPath())}
				if f.Name == "run" { // 0 is refused too, as no id
					err = usageError{fmt.Errorf("--run %d: want a run id, 1 or more ('dendfit query runs' lists them)", v)}
				}
			}
		case "stringSlice":
			// -p '' parses as no value, which meant every pathway; an
			// empty one beside others (-p 0 -p '', -p ,) is a slip too.
			var vals []string
			empty := false
			if lf, ok := f.Value.(*listFlag); ok {
				vals, empty = *lf.vals, lf.empty
			} else {
				vals, _ = c.Flags().GetStringSlice(f.Name)
			}
			if len(vals) == 0 || empty || slices.ContainsFunc(vals, func(v string) bool { return strings.TrimSpace(v) == "" }) {
				err = usageError{fmt.Errorf("--%s is empty: give a value (see '%s --help')", f.Name, c.CommandPath())}
			}
		case "float64":
			if v, e := strconv.ParseFloat(f.Value.String(), 64); e == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
				err = usageError{fmt.Errorf("--%s %s: want a finite number (see '%s --help')", f.Name, f.Value, c.CommandPath())}
			}
		}
	})
	return err
}

// parseFailure is the tail pflag gives a value strconv could not parse.
var parseFailure = regexp.MustCompile(`: strconv\.Parse(Int|Uint|Float|Bool): parsing "[^"]*": (invalid syntax|value out of range)$`)

// flagMessage words a flag parsing error for users: "want an integer"
// rather than Go's strconv internals.
func flagMessage(err error) string {
	msg := err.Error()
	m := parseFailure.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	want := map[string]string{"Int": "an integer", "Uint": "a whole number of 0 or more", "Float": "a number", "Bool": "true or false"}[m[1]]
	if m[2] == "value out of range" {
		want += " in range"
	}
	return strings.TrimSuffix(msg, m[0]) + ": want " + want
}

// checkDB refuses a database path that is a directory, a device, a pipe
// or a socket, naming where it came from (--db or DENDFIT_DB).
func (g *globals) checkDB() error {
	name := "--db"
	if !g.dbFlag {
		name = db.EnvPath
	}
	if fi, err := os.Stat(g.db); err == nil && fi.IsDir() {
		return usageError{fmt.Errorf("%s %s is a directory: give a database file, such as %s", name, g.db, filepath.Join(g.db, "dendfit.db"))}
	} else if err == nil && !fi.Mode().IsRegular() {
		// SQLite would make its journal beside it: /dev/null-journal.
		return usageError{fmt.Errorf("%s %s is not a regular file (a device, pipe or socket): give a database file, such as dendfit.db", name, g.db)}
	}
	return nil
}

// checkOutput refuses an output file that would replace something the
// user keeps: a directory, the database the command records to, one of
// its input files, or any SQLite database (a results file given by
// mistake is lost on replacing). The directory must exist.
func checkOutput(c *cobra.Command, args []string, flag, path string) error {
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return usageError{fmt.Errorf("%s %s: directory %s does not exist", flag, path, dir)}
	}
	noDB := c.Flag("no-db")
	if f := c.Flag("db"); f != nil && (noDB == nil || noDB.Value.String() != "true") {
		if pipeline.SameFile(path, f.Value.String()) {
			// The database may not exist yet: the command would create
			// it and then write over it.
			return usageError{fmt.Errorf("%s %s: that is the results database (--db); give another file", flag, path)}
		}
		// Its write-ahead log and shared memory are part of it.
		for _, side := range []string{"-wal", "-shm", "-journal", "-lock"} {
			if pipeline.SameFile(path, f.Value.String()+side) {
				return usageError{fmt.Errorf("%s %s: that is a file of the results database (--db %s); give another file", flag, path, f.Value.String())}
			}
		}
	}
	for _, a := range args {
		if pipeline.SameFile(path, a) {
			return usageError{fmt.Errorf("%s %s: that is the input %s; give another file", flag, path, a)}
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil // a new file
	}
	if fi.IsDir() {
		return usageError{fmt.Errorf("%s %s: is a directory; give a file name", flag, path)}
	}
	if !fi.Mode().IsRegular() {
		// A device or pipe would be replaced by a file (or, opened,
		// block).
		hint := ""
		if o := c.Flag("output"); o != nil && strings.Contains(o.Usage, "instead of stdout") {
			// A trial gave -o /dev/null to discard what export wrote.
			hint = "; without it the output goes to standard output, to redirect"
		}
		return usageError{fmt.Errorf("%s %s: is not a regular file (a device, pipe or socket); give a file name%s", flag, path, hint)}
	}
	if isSQLite(path) {
		return usageError{fmt.Errorf("%s %s: is an SQLite database; refusing to replace it", flag, path)}
	}
	return nil
}

// isSQLite says whether the file at path starts with SQLite's header.
func isSQLite(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var h [16]byte
	_, err = io.ReadFull(f, h[:])
	return err == nil && string(h[:]) == "SQLite format 3\x00"
}

// extraCommands lets each subcommand file register itself.
var extraCommands []func(*globals) *cobra.Command

// version is the module version and VCS revision the binary was built from.
func version() string {
	v, rev, mod := buildInfo()
	s := v
	if rev != "" {
		s += " (" + rev
		if mod {
			s += ", modified"
		}
		s += ")"
	}
	return s
}

// versionLine is version() for --version, saying when the binary carries
// no commit: its runs then record none either.
func versionLine() string {
	if _, rev, _ := buildInfo(); rev == "" {
		return version() + " (no commit stamped: go run and -buildvcs=false leave it out; build with -buildvcs=true)"
	}
	return version()
}

func buildInfo() (ver, rev string, modified bool) {
	ver = "devel"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		ver = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	return
}

// notef writes a note on stderr (not with -q).
func (g *globals) notef(format string, a ...any) {
	if !g.quiet {
		fmt.Fprintf(g.stderr, format+"\n", a...)
	}
}

// warnf writes a warning on stderr, with -q too: -q is for scripts and
// array jobs, whose logs are where a warning about their results (a
// window too short for the PSP, a fit that did not converge) must be.
func (g *globals) warnf(format string, a ...any) {
	fmt.Fprintf(g.stderr, "warning: "+format+"\n", a...)
}

// minAnnotation on an integer flag gives its least value, when not 0.
const minAnnotation = "dendfit_min"

// loadSpec loads the spec at path and tells its warnings on stderr.
func (g *globals) loadSpec(path string) (*spec.Spec, error) {
	s, err := readSpec(path)
	var we *spec.WarnedError
	if errors.As(err, &we) {
		// Before the errors: a warning may say what caused them.
		for _, w := range we.Warnings {
			g.warnf("%s", w)
		}
	}
	if err != nil {
		return nil, err
	}
	g.tellWarnings(s)
	return s, nil
}

// tellWarnings writes the warnings of s on stderr.
func (g *globals) tellWarnings(s *spec.Spec) {
	for _, w := range s.Warnings {
		g.warnf("%s", w)
	}
}

// readSpec loads the spec at path.
func readSpec(path string) (*spec.Spec, error) {
	if path == "-" {
		// Runs record the spec's text, but their hints (resume,
		// reproduce) name its file.
		return nil, usageError{fmt.Errorf("spec -: a spec is read from its file, not standard input; save it to a file and give that")}
	}
	return spec.Load(path)
}

// verbosef writes a detail on stderr with -v (and not -q).
func (g *globals) verbosef(format string, a ...any) {
	if g.verbose && !g.quiet {
		fmt.Fprintf(g.stderr, format+"\n", a...)
	}
}

// listFlag is a repeatable string flag read as pflag's StringSlice reads
// it (each value split at commas, as CSV), which also remembers a value
// that held an empty item: StringSlice drops one, so "-p 0 -p ”" (a
// variable unset in a script) read as "-p 0".
type listFlag struct {
	vals  *[]string
	empty bool
}

// newListFlag is a listFlag that appends to *vals.
func newListFlag(vals *[]string) *listFlag { return &listFlag{vals: vals} }

func (l *listFlag) Set(v string) error {
	// Every line's items: pflag read the first line alone.
	recs, err := csv.NewReader(strings.NewReader(v)).ReadAll()
	if err != nil {
		return err
	}
	if len(recs) == 0 { // "" holds no record
		recs = [][]string{{""}}
	}
	for _, it := range slices.Concat(recs...) {
		if strings.TrimSpace(it) == "" {
			l.empty = true
			continue
		}
		*l.vals = append(*l.vals, it)
	}
	return nil
}

// Type is StringSlice's: the help names its values "strings", and
// checkFlags checks it as one.
func (l *listFlag) Type() string { return "stringSlice" }

// String is StringSlice's form, but "" for none: pflag's help then shows
// no default (pflag's GetStringSlice cannot read it then; nothing does).
func (l *listFlag) String() string {
	if len(*l.vals) == 0 {
		return ""
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write(*l.vals)
	w.Flush()
	return "[" + strings.TrimSuffix(b.String(), "\n") + "]"
}
