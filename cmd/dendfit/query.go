package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/pipeline"
	"github.com/dendfit/dendfit/pipeline/export"
	"github.com/dendfit/dendfit/pipeline/plot"
)

func init() { extraCommands = append(extraCommands, newQueryCmd) }

// queryOptions are the filters and the output format of the query
// subcommands; each subcommand registers the ones it takes.
type queryOptions struct {
	format         string
	experiment     string
	runID          int64
	pathway        int    // resolved --pathway
	pathwaySel     string // --pathway as given
	gMinS          string // --g-min, --g-max as given
	gMaxS          string
	hasGMin        bool
	hasGMax        bool
	status         string
	command        string
	gMinNS, gMaxNS float64
	limit          int
	// calibration: query fits lists the fits export hands on
	// (export.Load), not one run's.
	calibration bool
}

func newQueryCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "query",
		Short: "Read results back from the database",
		Long: `query lists experiments, runs, fits and points with filters, as a table,
CSV or JSON (--format; --json is short for --format json), writes the
spec a run ran with 'query spec', and runs any read-only SQL with 'query
sql'.`,
	}
	cmd.AddCommand(newQueryExperimentsCmd(g), newQueryRunsCmd(g), newQueryFitsCmd(g), newQueryPointsCmd(g), newQuerySpecCmd(g), newQuerySQLCmd(g))
	return cmd
}

// addSelection adds the flags that pick the rows of a fits or points
// listing.
func (o *queryOptions) addSelection(cmd *cobra.Command, what, runHelp, statuses string) {
	f := cmd.Flags()
	f.StringVarP(&o.experiment, "experiment", "e", "", "experiment name")
	f.Int64Var(&o.runID, "run", 0, runHelp)
	f.StringVarP(&o.pathwaySel, "pathway", "p", "", "only this pathway: index in the spec, pre->post or pre->post@compartment")
	f.StringVar(&o.status, "status", "", "only "+statuses+" "+what)
	f.StringVar(&o.gMinS, "g-min", "", "only "+what+" whose first receptor's g is at least this (\"0.5 nS\"; a bare number is nS; to one part in 10^12, so a value a grid computed is kept whatever its last bits)")
	f.StringVar(&o.gMaxS, "g-max", "", "only "+what+" whose first receptor's g is at most this (\"2 nS\", as --g-min)")
}

// parseBounds reads --g-min and --g-max as parseG reads --g (conductanceNS), but allows 0,
// and refuses, before the database is opened, selections that could
// only match nothing: a negative or empty --pathway, --g-min
// above --g-max.
func (o *queryOptions) parseBounds(cmd *cobra.Command) error {
	if i, err := strconv.Atoi(o.pathwaySel); err == nil && i < 0 {
		return usageError{fmt.Errorf("--pathway %d: want an index of 0 or more", i)}
	}
	if f := cmd.Flags().Lookup("pathway"); f != nil && f.Changed && strings.TrimSpace(o.pathwaySel) == "" {
		return usageError{fmt.Errorf("--pathway is empty: want an index or pre->post")}
	}
	for _, b := range []struct {
		flag, s string
		v       *float64
		set     *bool
	}{{"--g-min", o.gMinS, &o.gMinNS, &o.hasGMin}, {"--g-max", o.gMaxS, &o.gMaxNS, &o.hasGMax}} {
		if b.s == "" {
			continue
		}
		v, ok := conductanceNS(b.s)
		if !ok {
			return usageError{fmt.Errorf("%s %q: want a conductance of 0 or more, such as \"0.5 nS\"", b.flag, b.s)}
		}
		*b.v, *b.set = v, true
	}
	if o.hasGMin && o.hasGMax && o.gMinNS > o.gMaxNS {
		return usageError{fmt.Errorf("--g-min %s is above --g-max %s: nothing can match", o.gMinS, o.gMaxS)}
	}
	// A bound holds the values within one part in 10^12 of it: a range's
	// values are computed, and 0.1 nS + 6*(0.7 nS - 0.1 nS)/6 is
	// 0.7000000000000001 nS, which "--g-max 0.7" dropped.
	o.gMinNS *= 1 - boundSlack
	o.gMaxNS *= 1 + boundSlack
	return nil
}

// boundSlack is how far, relatively, --g-min and --g-max reach past the
// value given: far more than the rounding of a computed grid value, far
// less than any two values a grid tells apart.
const boundSlack = 1e-12

// pathwayIndex resolves --pathway against the spec of run r (nil when no
// run is chosen): an index (parseBounds refused a negative one), or
// pre->post naming one pathway. ok is false when --pathway is not given.
func (o *queryOptions) pathwayIndex(ctx context.Context, d *db.DB, r *db.Run) (i int, ok bool, err error) {
	if o.pathwaySel == "" {
		return 0, false, nil
	}
	if i, err := strconv.Atoi(o.pathwaySel); err == nil {
		if r == nil {
			return i, true, nil
		}
		// An index past the spec's pathways would list nothing, silently.
		s, err := plot.SpecOf(ctx, d, r)
		if err != nil {
			return 0, false, err
		}
		if i >= len(s.Pathways) {
			return 0, false, usageError{fmt.Errorf("--pathway %d: the spec of run %d has %s", i, r.ID, s.PathwayIndexes())}
		}
		return i, true, nil
	}
	if r == nil {
		return 0, false, usageError{fmt.Errorf("--pathway %q: a name needs --experiment or --run (an index does not)", o.pathwaySel)}
	}
	s, err := plot.SpecOf(ctx, d, r)
	if err != nil {
		return 0, false, err
	}
	idx, err := onePathway(s, []string{o.pathwaySel}, "query selects one pathway")
	return idx, true, err
}

func (o *queryOptions) addFormat(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.format, "format", "table", "output format: table, csv or json")
}

// outputFormat resolves --format and the global --json.
func (o *queryOptions) outputFormat(cmd *cobra.Command, g *globals) (string, error) {
	f := o.format
	switch f {
	case "table", "csv", "json":
	default:
		return "", usageError{fmt.Errorf("--format %q: want table, csv or json", f)}
	}
	if g.json {
		if cmd.Flags().Changed("format") && f != "json" {
			return "", usageError{fmt.Errorf("--json and --format %s disagree: give one", f)}
		}
		f = "json"
	}
	return f, nil
}

// table is rows of text for the table and CSV formats.
type table struct {
	cols []string
	rows [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

// write prints t as an aligned table or CSV, or v as indented JSON.
func (t *table) write(w io.Writer, format string, v any) error {
	switch format {
	case "json":
		return printJSON(w, v)
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write(t.cols)
		for _, r := range t.rows {
			cw.Write(r)
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(t.cols, "\t"))
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.Join(trimEmpty(r), "\t"))
	}
	return tw.Flush()
}

// trimEmpty drops the empty cells that end a row (but the first): padded
// to, they would end its line in blanks.
func trimEmpty(cells []string) []string {
	for len(cells) > 1 && cells[len(cells)-1] == "" {
		cells = cells[:len(cells)-1]
	}
	return cells
}

// aligned writes rows as table.write's aligned table does (text/tabwriter
// with two spaces between columns), without holding them: the widths are
// measured first, from the same rows.
type aligned struct{ widths []int }

func newAligned(header []string) *aligned {
	a := &aligned{widths: make([]int, len(header))}
	a.measure(header)
	return a
}

// measure widens the columns to hold cells; the last cell, which
// tabwriter does not align, is left out.
func (a *aligned) measure(cells []string) {
	for i, c := range cells[:len(cells)-1] {
		a.widths[i] = max(a.widths[i], utf8.RuneCountInString(c))
	}
}

func (a *aligned) write(w *bufio.Writer, cells []string) {
	// As table.write: an ok point's empty error ends no line in blanks.
	cells = trimEmpty(cells)
	for i, c := range cells {
		w.WriteString(c)
		if i < len(cells)-1 {
			// A cell wider than measured (a sweep recording into the run
			// between the passes) shifts its row; it must not panic.
			w.WriteString(strings.Repeat(" ", max(a.widths[i]-utf8.RuneCountInString(c), 0)+2))
		}
	}
	w.WriteByte('\n')
}

// peaksOrNil is a point's peaks, nil (JSON null) when none were recorded:
// a fit's evaluations measure the record compartment only, and {} read as
// a cell without compartments.
func peaksOrNil(p map[string]float64) map[string]float64 {
	if len(p) == 0 {
		return nil
	}
	return p
}

// residualsOrNull is a fit row's residuals JSON, null when it has none.
func residualsOrNull(r json.RawMessage) json.RawMessage {
	if len(r) == 0 {
		return json.RawMessage("null")
	}
	return r
}

func fnum(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func fptr(v *float64) string {
	if v == nil {
		return ""
	}
	return fnum(*v)
}

func tstr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// openQueryDB opens the database for reading; it must exist.
func openQueryDB(cmd *cobra.Command, g *globals) (*db.DB, error) {
	return g.openRead(cmd.Context())
}

// run makes a query subcommand's RunE: it checks the output format and,
// with check, the subcommand's flags (both before touching the database),
// then opens the database read-only for fn.
func (o *queryOptions) run(g *globals, check func() error, fn func(cmd *cobra.Command, args []string, d *db.DB, format string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		format, err := o.outputFormat(cmd, g)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(); err != nil {
				return err
			}
		}
		if err := o.parseBounds(cmd); err != nil {
			return err
		}
		d, err := openQueryDB(cmd, g)
		if err != nil {
			return err
		}
		defer d.Close()
		return fn(cmd, args, d, format)
	}
}

func newQueryExperimentsCmd(g *globals) *cobra.Command {
	o := &queryOptions{}
	cmd := &cobra.Command{
		Use:     "experiments",
		Short:   "List the recorded experiment specs",
		Example: "  dendfit query experiments\n  dendfit query experiments --experiment l23-demo --json",
		Args:    exactArgs(0),
		RunE: o.run(g, nil, func(cmd *cobra.Command, args []string, d *db.DB, format string) error {
			if o.experiment != "" { // a mistyped name would list nothing
				if err := defaultExperiment(cmd.Context(), d, g.db, &o.experiment, 0, false); err != nil {
					return err
				}
			}
			exps, err := d.Experiments(cmd.Context())
			if err != nil {
				return err
			}
			type expJSON struct {
				ID         int64  `json:"id"`
				Name       string `json:"name"`
				SpecSHA256 string `json:"spec_sha256"`
				CreatedAt  string `json:"created_at"`
			}
			out := struct {
				Experiments []expJSON `json:"experiments"`
			}{[]expJSON{}}
			t := &table{cols: []string{"id", "name", "spec_sha256", "created_at"}}
			for _, e := range exps {
				if o.experiment != "" && e.Name != o.experiment {
					continue
				}
				c := e.CreatedAt.UTC().Format(time.RFC3339)
				out.Experiments = append(out.Experiments, expJSON{e.ID, e.Name, e.SpecSHA256, c})
				t.add(strconv.FormatInt(e.ID, 10), e.Name, e.SpecSHA256, c)
			}
			return t.write(g.stdout, format, out)
		}),
	}
	cmd.Flags().StringVarP(&o.experiment, "experiment", "e", "", "only this experiment name")
	o.addFormat(cmd)
	return cmd
}

func newQueryRunsCmd(g *globals) *cobra.Command {
	o := &queryOptions{}
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List runs, newest first",
		Long: `runs lists the recorded runs, newest first, with their provenance.

A run whose process ended without finishing it (kill -9, a crash, a node
lost) shows as interrupted: the database keeps status 'running' for it,
as no process was left to change it, but a run holds a lock on the file
DB-lock while it runs, which the kernel drops however the process ends.
--status running selects the runs going on now, --status interrupted the
others, and 'dendfit sweep SPEC --resume' continues an interrupted sweep.`,
		Example: `  dendfit query runs --experiment l23-demo
  dendfit query runs --command fit --status done --format csv`,
		Args: exactArgs(0),
		RunE: o.run(g, func() error {
			if err := checkCommand(o.command); err != nil {
				return err
			}
			if o.status != "" && !slices.Contains([]string{db.StatusRunning, db.StatusInterrupted, db.StatusDone, db.StatusFailed, db.StatusCancelled}, o.status) {
				return usageError{fmt.Errorf("--status %q: want running, interrupted, done, failed or cancelled", o.status)}
			}
			return nil
		}, func(cmd *cobra.Command, args []string, d *db.DB, format string) error {
			if o.experiment != "" { // a mistyped name would list nothing
				if err := defaultExperiment(cmd.Context(), d, g.db, &o.experiment, 0, false); err != nil {
					return err
				}
			}
			runs, err := d.Runs(cmd.Context(), db.RunFilter{Experiment: o.experiment, Command: o.command, Status: o.status, Limit: o.limit})
			if err != nil {
				return err
			}
			type runJSON struct {
				ID          int64    `json:"id"`
				Experiment  string   `json:"experiment"`
				Command     string   `json:"command"`
				Argv        []string `json:"argv"`
				Status      string   `json:"status"`
				StartedAt   string   `json:"started_at"`
				EndedAt     *string  `json:"ended_at"`
				Version     string   `json:"version"`
				VCSRevision string   `json:"vcs_revision"`
				VCSModified bool     `json:"vcs_modified"`
				Host        string   `json:"host"`
				Workers     int      `json:"workers"`
				ShardK      int      `json:"shard_k"`
				ShardN      int      `json:"shard_n"`
				// UnionOf is the shard count of a merge's union run,
				// which holds the whole grid (shard 0 of 1); absent
				// for other runs.
				UnionOf    int             `json:"union_of_shards,omitempty"`
				DtMS       float64         `json:"dt_ms"`
				Method     string          `json:"method"`
				Settings   json.RawMessage `json:"settings"`
				Reproduces *int64          `json:"reproduces_run_id"`
				Error      string          `json:"error,omitempty"`
				GoVersion  string          `json:"go_version"`
				OS         string          `json:"os"`
				Arch       string          `json:"arch"`
				RunUID     string          `json:"run_uid"`
			}
			out := struct {
				Runs []runJSON `json:"runs"`
			}{[]runJSON{}}
			t := &table{cols: []string{"id", "experiment", "command", "status", "started_at", "ended_at", "version", "revision", "shard", "dt_ms", "method", "reproduces"}}
			for _, r := range runs {
				j := runJSON{ID: r.ID, Experiment: r.Experiment, Command: r.Command, Argv: r.Argv, Status: r.Status,
					StartedAt: r.StartedAt.UTC().Format(time.RFC3339Nano), Version: r.Version, VCSRevision: r.VCSRevision,
					VCSModified: r.VCSModified, Host: r.Host, Workers: r.Workers, ShardK: r.ShardK, ShardN: r.ShardN,
					DtMS: r.DtMS, Method: r.Method, Settings: r.Settings, Reproduces: r.ReproducesRunID, Error: r.Error,
					GoVersion: r.GoVersion, OS: r.OS, Arch: r.Arch, RunUID: r.RunUID}
				if r.EndedAt != nil {
					e := r.EndedAt.UTC().Format(time.RFC3339Nano)
					j.EndedAt = &e
				}
				if len(j.Settings) == 0 {
					j.Settings = json.RawMessage("{}")
				}
				out.Runs = append(out.Runs, j)
				rep := ""
				if r.ReproducesRunID != nil {
					rep = strconv.FormatInt(*r.ReproducesRunID, 10)
				}
				rev := r.VCSRevision
				if len(rev) > 12 {
					rev = rev[:12]
				}
				if r.VCSModified {
					rev += "+"
				}
				shard := fmt.Sprintf("%d/%d", r.ShardK, max(r.ShardN, 1))
				if r.Command != db.CommandSweep {
					// Only sweeps split a grid (JSON keeps 0 and 1).
					shard = "-"
				}
				if s, ok := db.UnionOf(&r); ok {
					// A merge's union run holds the whole grid, as a
					// single sweep's (0/1) does, from its shards' runs.
					shard = fmt.Sprintf("all/%d", s.UnionOf.ShardN)
					out.Runs[len(out.Runs)-1].UnionOf = s.UnionOf.ShardN
				}
				t.add(strconv.FormatInt(r.ID, 10), r.Experiment, r.Command, r.Status, r.StartedAt.UTC().Format(time.RFC3339),
					tstr(r.EndedAt), r.Version, rev, shard, fnum(r.DtMS), r.Method, rep)
			}
			return t.write(g.stdout, format, out)
		}),
	}
	f := cmd.Flags()
	f.StringVarP(&o.experiment, "experiment", "e", "", "only runs of this experiment")
	f.StringVar(&o.command, "command", "", "only this command: simulate, sweep, fit or reproduce")
	f.StringVar(&o.status, "status", "", "only this status: running, interrupted, done, failed or cancelled")
	f.IntVar(&o.limit, "limit", 0, "at most this many runs (0: all)")
	o.addFormat(cmd)
	return cmd
}

// newestRun resolves --run, or the newest finished run of --experiment with
// the given command ("" for any), for fits the newest fit run with fits
// (pipeline.NewestFitRun); nil when neither is given.
func newestRun(cmd *cobra.Command, g *globals, d *db.DB, o *queryOptions, command string) (*db.Run, error) {
	if o.runID != 0 {
		// An empty listing would not tell a mistyped id from an empty run.
		r, err := d.Run(cmd.Context(), o.runID)
		if err != nil {
			if errors.Is(err, db.ErrNotFound) {
				return nil, fmt.Errorf("--run %d: no such run in %s (dendfit query runs lists them)", o.runID, g.db)
			}
			return nil, err
		}
		if command != "" && r.Command != command && r.Command != db.CommandReproduce {
			return nil, usageError{fmt.Errorf("--run %d is a %s run, not a %s run (dendfit query runs --command %s lists those)", o.runID, r.Command, command, command)}
		}
		// Both given and at odds: the run's points would pass for the
		// experiment's.
		if o.experiment != "" && r.Experiment != o.experiment {
			return nil, usageError{fmt.Errorf("--run %d is of experiment %q, not %q: give one of --run and --experiment", o.runID, r.Experiment, o.experiment)}
		}
		// A run that did not finish holds part of what it set out to do;
		// a script (-q) would take it for the whole: said all the same.
		if w := unfinishedWarning(r, g.db); w != "" {
			fmt.Fprintln(g.stderr, w)
		}
		return r, nil
	}
	if o.experiment == "" {
		return nil, nil
	}
	var r *db.Run
	var err error
	if command == db.CommandFit {
		// As export and report take it: a fit stopped after some
		// pathways holds them whole (the warning below says it stopped).
		if r, _, err = pipeline.NewestFitRun(cmd.Context(), d, o.experiment); errors.Is(err, pipeline.ErrNoFit) {
			return nil, fmt.Errorf("experiment %q: no recorded fit in %s", o.experiment, g.db)
		}
	} else {
		r, err = newestWhole(cmd.Context(), d, o.experiment, command)
	}
	if err != nil {
		if errors.Is(err, db.ErrNotFound) {
			what := "finished run"
			if command != "" {
				what = "finished " + command + " run"
			}
			return nil, fmt.Errorf("experiment %q: no %s in %s", o.experiment, what, g.db)
		}
		return nil, err
	}
	// The newest finished run may be a reproduction of part of a grid.
	if w := unfinishedWarning(r, g.db); w != "" {
		fmt.Fprintln(g.stderr, w)
	}
	return r, nil
}

// checkCommand refuses a --command no run has: it would match nothing,
// silently.
func checkCommand(command string) error {
	if command != "" && !slices.Contains([]string{db.CommandSimulate, db.CommandSweep, db.CommandFit, db.CommandReproduce}, command) {
		return usageError{fmt.Errorf("--command %q: want simulate, sweep, fit or reproduce", command)}
	}
	return nil
}

// newestWhole is the newest finished run of experiment and command (""
// for any) that holds what it set out to, when there is one: not a run
// of one shard, nor a reproduction of a sweep that had stopped (which
// holds the part of the grid that one recorded; a trial's default points
// were such a run, newer than the sweep it reran, resumed since to the
// end). Otherwise the newest of those.
func newestWhole(ctx context.Context, d *db.DB, experiment, command string) (*db.Run, error) {
	runs, err := d.Runs(ctx, db.RunFilter{Experiment: experiment, Command: command, Status: db.StatusDone, WholeGridFirst: true})
	if err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("db: newest run: %w", db.ErrNotFound)
	}
	for i := range runs {
		if runs[i].ShardN <= 1 && !pipeline.ReranPartial(&runs[i]) {
			return &runs[i], nil
		}
	}
	return &runs[0], nil
}

// unfinishedWarning says what the rows of run r of database path are
// when it did not finish, or reproduces one that did not, "" otherwise.
func unfinishedWarning(r *db.Run, path string) string {
	if r.Status == db.StatusDone {
		if pipeline.ReranPartial(r) {
			// Finished, but of part of a grid: the sweep it reproduces
			// stopped before the end.
			return fmt.Sprintf("warning: run %d reproduces a sweep that did not finish: it holds the points that one recorded, a part of the grid", r.ID)
		}
		return ""
	}
	if e, ok := r.SweptElsewhere(); ok {
		return fmt.Sprintf("warning: run %d was still being swept in %s (its run %d) when merged here: this is what it held then; merge again once it ends", r.ID, e.File, e.RunID)
	}
	if u, ok := db.UnionOf(r); ok {
		return fmt.Sprintf("warning: run %d is the union of the %d shards merged here, and lacks some: this is what they held; merge the missing shards to complete it", r.ID, u.UnionOf.ShardN)
	}
	if r.Status == db.StatusRunning {
		return fmt.Sprintf("warning: run %d is still running: this is what it has recorded so far", r.ID)
	}
	hint := ""
	if r.Command == db.CommandSweep {
		hint = fmt.Sprintf(" ('dendfit --db %s sweep SPEC%s --resume=%d' completes it)", path, pipeline.ShardArg(r.ShardK, r.ShardN), r.ID)
	}
	return fmt.Sprintf("warning: run %d is %s: this is what it recorded before it stopped%s", r.ID, r.Status, hint)
}

// id is r's id, or 0 (every run) for nil.
func id(r *db.Run) int64 {
	if r == nil {
		return 0
	}
	return r.ID
}

func newQueryFitsCmd(g *globals) *cobra.Command {
	o := &queryOptions{}
	cmd := &cobra.Command{
		Use:   "fits",
		Short: "List fitted conductances (default: the newest fit run of --experiment that recorded fits, or of the database's one experiment)",
		Long: `fits lists each pathway's fit: the g of every receptor, the kinetics a
kinetics fit found, the PSP at the fit and at dt/10, evaluations and outcome.

target_psp_mV is an amplitude, |PSP|; psp_at_fit_mV and psp_fine_dt_mV
are signed, as the psp_mV of points is: negative for an IPSP (fits
recorded before dendfit signed them take the sign of their evaluation
nearest their g). A fit that did not
converge has no g_fit_nS: g_best_nS is the best g it tried (the spec's g
when it tried no better), psp_at_fit_mV the PSP there (none when it has
no g: sim_failed), psp_fine_dt_mV the PSP at the same g with dt/10 (none
where the fit ran no such check: sim_failed, unreachable), with its
outcome and the reason (the message column of CSV, below the table); in
JSON g_fit_nS and g_best_nS are null where there is none. The table counts each
fit's warnings and gives them below it; CSV and JSON give their text.
--g-min and --g-max select fitted g. Without --experiment
or --run it takes the database's one experiment; in a database of several,
every fit of every run, with an experiment column.

--calibration lists instead the calibration that export hands on: the
newest fit run's fits and, for each pathway it did not fit (after 'fit
--pathway'), the newest fit of the same model, target and fit settings
from an earlier run; the run column says which. With --run, that run's
fits alone, as 'export --run' takes them.`,
		Example: `  dendfit query fits --experiment l23-demo
  dendfit query fits --run 1 --status converged --format csv
  dendfit query fits --experiment l23-demo --calibration`,
		Args: exactArgs(0),
		RunE: o.run(g, func() error {
			if o.status != "" && o.status != "converged" && o.status != "failed" {
				return usageError{fmt.Errorf("--status %q: want converged or failed", o.status)}
			}
			return nil
		}, func(cmd *cobra.Command, args []string, d *db.DB, format string) error {
			// In a database of one experiment, as for points: its newest
			// fit run; with several, every fit.
			if o.runID == 0 {
				given := o.experiment != ""
				if err := defaultExperiment(cmd.Context(), d, g.db, &o.experiment, 0, true); err != nil {
					var u usageError
					if given || !errors.As(err, &u) {
						return err
					}
				}
			}
			run, err := newestRun(cmd, g, d, o, db.CommandFit)
			if err != nil {
				return err
			}
			// A fit --pathway run holds only those: export and report
			// combine the others from earlier runs, a listing does not.
			var sel pipeline.FitSettings
			if run != nil && o.runID == 0 && !o.calibration && pipeline.DecodeSettings(run, &sel) == nil && sel.Pathways != nil {
				all, err := d.Fits(cmd.Context(), db.FitFilter{Experiment: run.Experiment})
				if err != nil {
					return err
				}
				// Earlier fits of the pathways this run left out, not of
				// those it fitted again.
				if slices.ContainsFunc(all, func(f db.Fit) bool { return f.RunID != run.ID && !slices.Contains(sel.Pathways, f.Pathway) }) {
					g.notef("note: fit run %d, the newest, fitted only pathway(s) %s; export and report take the others from earlier fits ('dendfit query fits --calibration' lists them all)", run.ID, joinIndexes(sel.Pathways))
				} else {
					g.notef("note: fit run %d fitted only pathway(s) %s, and no other run fitted the others: export and report give them their spec g", run.ID, joinIndexes(sel.Pathways))
				}
			}
			var hasPathway bool
			if o.pathway, hasPathway, err = o.pathwayIndex(cmd.Context(), d, run); err != nil {
				return err
			}
			var fits []db.Fit
			switch {
			case o.calibration:
				if run == nil {
					return usageError{errors.New("--calibration needs one experiment: give --experiment NAME or --run ID")}
				}
				cal, err := export.Load(cmd.Context(), d, run.Experiment, o.runID)
				if err != nil {
					return err
				}
				fits = cal.Fits
			default:
				f := db.FitFilter{RunID: id(run)}
				if run == nil {
					f.Experiment = o.experiment
				}
				if fits, err = d.Fits(cmd.Context(), f); err != nil {
					return err
				}
			}
			type fitJSON struct {
				RunID      int64  `json:"run_id"`
				Experiment string `json:"experiment"`
				pipeline.PathwayID
				TargetPSPMV float64   `json:"target_psp_mV"`
				GFitNS      []float64 `json:"g_fit_nS"` // null unless converged, as fit --json
				GBestNS     []float64 `json:"g_best_nS"`
				TDecayMS    *float64  `json:"t_decay_ms"` // fitted kinetics of the first receptor
				TRiseMS     *float64  `json:"t_rise_ms"`
				PSPAtFitMV  *float64  `json:"psp_at_fit_mV"` // null when nothing was simulated (sim_failed)
				PSPFineDtMV *float64  `json:"psp_fine_dt_mV"`
				Evaluations int       `json:"evaluations"`
				Converged   bool      `json:"converged"`
				Outcome     string    `json:"outcome"`
				Message     string    `json:"message,omitempty"`
				// What makes the g doubtful ([] for none).
				Warnings []string `json:"warnings"`
				// A kinetics fit's residual of each target, as fit --json
				// gives them (null for none).
				Residuals json.RawMessage `json:"residuals"`
			}
			out := struct {
				Fits []fitJSON `json:"fits"`
			}{[]fitJSON{}}
			var notes []string // the table's warnings, on stderr
			// psp_at_fit_mV is the PSP at g_fit_nS, or at g_best_nS for a
			// fit that did not converge.
			// CSV has a column for why a fit failed; the table gives it
			// below, as its warnings.
			t := &table{cols: []string{"run", "pathway", "pre", "post", "compartment", "receptors", "target_psp_mV", "g_fit_nS", "g_best_nS", "t_decay_ms", "t_rise_ms", "psp_at_fit_mV", "psp_fine_dt_mV", "evaluations", "outcome", "warnings"}}
			if format == "csv" {
				t.cols = append(t.cols, "message")
			}
			// Fits of several experiments (every fit of a database of
			// several) say whose they are; JSON always does.
			exps := map[string]bool{}
			for _, x := range fits {
				exps[x.Experiment] = true
			}
			several := len(exps) > 1
			if several {
				t.cols = slices.Insert(t.cols, 1, "experiment")
			}
			for _, x := range fits {
				if hasPathway && x.Pathway != o.pathway ||
					o.status == "converged" && !x.Converged || o.status == "failed" && x.Converged {
					continue
				}
				// The database keeps a failed fit's best g where a
				// converged one's g goes; only a fitted g is one.
				var gFit, gBest []float64
				if x.Converged {
					gFit = x.GFitNS
				} else {
					gBest = x.GFitNS
				}
				if (o.hasGMin || o.hasGMax) && (len(gFit) == 0 ||
					o.hasGMin && !(gFit[0] >= o.gMinNS) || o.hasGMax && !(gFit[0] <= o.gMaxNS)) {
					continue
				}
				rec := x.Receptors
				if rec == nil {
					rec = []string{}
				}
				warnings := x.Warnings
				if warnings == nil {
					warnings = []string{}
				}
				// A fit with no g to give (sim_failed, a kinetics fit with
				// no candidate) has no PSP; the database keeps 0 there.
				var psp *float64
				if len(x.GFitNS) > 0 {
					psp = &x.PSPAtFitMV
				}
				out.Fits = append(out.Fits, fitJSON{x.RunID, x.Experiment, pipeline.PathwayID{Pathway: x.Pathway, Pre: x.Pre, Post: x.Post, Compartment: x.Compartment, Record: x.Record, Tag: x.Tag, Receptors: rec},
					x.TargetPSPMV, gFit, gBest, x.TDecayMS, x.TRiseMS, psp, x.PSPFineDtMV, x.Evaluations, x.Converged, x.Outcome, x.Message, warnings, residualsOrNull(x.Residuals)})
				// CSV has room for the text; the table counts them and
				// gives them below it.
				wcell := strings.Join(warnings, " | ")
				if format == "table" {
					wcell = strconv.Itoa(len(warnings))
					for _, w := range warnings {
						notes = append(notes, fmt.Sprintf("run %d: warning: %s", x.RunID, w))
					}
					if !x.Converged && x.Message != "" {
						notes = append(notes, fmt.Sprintf("run %d: pathway %d %s: %s", x.RunID, x.Pathway, x.Outcome, x.Message))
					}
				}
				gf, gb := gList(gFit), gList(gBest)
				row := []string{strconv.FormatInt(x.RunID, 10), strconv.Itoa(x.Pathway), x.Pre, x.Post, x.Compartment, strings.Join(rec, "+"),
					fnum(x.TargetPSPMV), gf, gb, fptr(x.TDecayMS), fptr(x.TRiseMS), fptr(psp), fptr(x.PSPFineDtMV), strconv.Itoa(x.Evaluations), x.Outcome, wcell}
				if format == "csv" {
					row = append(row, x.Message)
				}
				if several {
					row = slices.Insert(row, 1, x.Experiment)
				}
				t.add(row...)
			}
			if err := t.write(g.stdout, format, out); err != nil {
				return err
			}
			for _, n := range notes {
				g.notef("%s", n)
			}
			return nil
		}),
	}
	o.addSelection(cmd, "fits", "fit run id (default: the newest fit run of the experiment that recorded fits; neither: every fit)", "converged or failed")
	cmd.Flags().BoolVar(&o.calibration, "calibration", false, "the fits export hands on: the newest fit run's, and earlier runs' for the pathways it did not fit")
	o.addFormat(cmd)
	return cmd
}

// gList is a cell of conductances, ";" between receptors, or empty, as
// every missing number.
func gList(gs []float64) string {
	t := make([]string, len(gs))
	for i, v := range gs {
		t[i] = fnum(v)
	}
	return strings.Join(t, ";")
}

func newQueryPointsCmd(g *globals) *cobra.Command {
	o := &queryOptions{}
	cmd := &cobra.Command{
		Use:   "points",
		Short: "List the points of a run (default: the newest finished run of --experiment, or of the database's one experiment)",
		Long: `points lists the points of a run, by pathway and grid order. By default it
reads the newest finished run of --experiment (or of the database's one
experiment), and names it on stderr; a run of the whole grid (a sweep, or
the union run of a merge) is taken before any newer run of one shard or
reproduction of a sweep that had stopped (both hold a part of it). A
run given by --run that did not finish (running, interrupted, cancelled,
failed) gives what it recorded, with a warning on stderr, even under -q.

Each point gives its receptors' channels and the g of each, in the same
order (a list in JSON, ';'-separated in the table and CSV: AMPA;NMDA and
0.1;0.05); t_decay_ms and t_rise_ms are the first receptor's. The table
is for reading: it shortens time_to_peak_ms, rise_10_90_ms, half_width_ms
and dspike_fired to peak_ms, rise_ms, half_ms and dSpike, and leaves out
baseline_mV, i_hold_pA, compartment, record, tag and peaks_mV; CSV and
JSON give every field under its full name, and the run the points are of
(a saved file keeps it): CSV as a run_id column, JSON as {"points": [...],
"run": {id, experiment, command, status, spec_sha256, version,
vcs_revision, vcs_modified, shard_k, shard_n, union_of_shards}}.`,
		Example: `  dendfit query points --experiment l23-demo --json
  dendfit query points --run 2 --pathway 0 --g-min 0.5 --g-max 2 --format csv
  dendfit query points --run 4 --pathway 'L5MC->L5TTPC' --g-min "500 pS"`,
		Args: exactArgs(0),
		RunE: o.run(g, func() error {
			if o.status != "" && o.status != db.PointOK && o.status != db.PointFailed {
				return usageError{fmt.Errorf("--status %q: want ok or failed", o.status)}
			}
			return nil
		}, func(cmd *cobra.Command, args []string, d *db.DB, format string) error {
			if err := defaultExperiment(cmd.Context(), d, g.db, &o.experiment, o.runID, true); err != nil {
				return err
			}
			if err := checkCommand(o.command); err != nil {
				return err
			}
			if o.command != "" && o.runID != 0 {
				return usageError{fmt.Errorf("--command picks the newest run of a command; --run names one: give one")}
			}
			run, err := newestRun(cmd, g, d, o, o.command)
			if err != nil {
				return err
			}
			if o.runID == 0 {
				// Which run "the newest" is: after a fit it is the fit's
				// evaluations, not the sweep before it.
				shard := ""
				if n := plot.ShardNote(run); n != "" {
					shard = "; " + n
				}
				g.notef("points of run %d, the newest finished run of %s (a %s run%s; --command sweep or --run ID for another, 'dendfit query runs' lists them)", run.ID, o.experiment, run.Command, shard)
				if shard != "" && g.quiet {
					// A script (-q) would take part of the grid for
					// all of it: this one says so all the same.
					fmt.Fprintf(g.stderr, "warning: points of run %d only, %s\n", run.ID, plot.ShardNote(run))
				}
			}
			f := db.PointFilter{RunID: run.ID, Status: o.status, Limit: o.limit}
			var hasPathway bool
			if o.pathway, hasPathway, err = o.pathwayIndex(cmd.Context(), d, run); err != nil {
				return err
			}
			if hasPathway {
				f.Pathway = &o.pathway
			}
			if o.hasGMin {
				f.GMinNS = &o.gMinNS
			}
			if o.hasGMax {
				f.GMaxNS = &o.gMaxNS
			}
			cols := pointTableCols
			// Points go out one at a time (a million points took gigabytes
			// when collected first); an aligned table reads them twice, for
			// its widths and then its rows.
			var add func(p *db.Point) error
			var end func() error
			switch format {
			case "json":
				// The run the points are of goes with them: a saved file
				// keeps its provenance (stderr named it only).
				exp, err := d.Experiment(cmd.Context(), run.ExperimentID)
				if err != nil {
					return err
				}
				add, end = jsonPointsWriter(g.stdout, newPointsRunJSON(run, exp))
			case "csv":
				// For programs: the names JSON and the points view use
				// (the table keeps its short ones, to stay narrow).
				cw := csv.NewWriter(g.stdout)
				cw.Write([]string{"pathway", "pre", "post", "point_key", "receptors", "g_nS", "t_decay_ms", "t_rise_ms", "psp_mV",
					"time_to_peak_ms", "rise_10_90_ms", "half_width_ms", "dspike_fired", "status",
					"baseline_mV", "i_hold_pA", "compartment", "record", "tag", "peaks_mV", "error", "run_id"})
				runID := strconv.FormatInt(run.ID, 10)
				add = func(p *db.Point) error {
					base, peaks := "", ""
					if p.Status != db.PointFailed {
						base = fnum(p.BaselineMV)
					}
					// The peak of every compartment kept, as a JSON object
					// (the cells' compartments differ between pathways).
					if pk := peaksOrNil(p.PeaksMV); pk != nil {
						b, err := json.Marshal(pk)
						if err != nil {
							return err
						}
						peaks = string(b)
					}
					return cw.Write(append(pointCells(p, format), base, fptr(p.IHoldPA), p.Compartment, p.Record, p.Tag, peaks, p.Error, runID))
				}
				end = func() error { cw.Flush(); return cw.Error() }
			default:
				a := newAligned(cols)
				n := 0
				if err := d.EachPoint(cmd.Context(), f, func(p *db.Point) error {
					a.measure(pointCells(p, format))
					n++
					return nil
				}); err != nil {
					return err
				}
				bw := bufio.NewWriter(g.stdout)
				a.write(bw, cols)
				if n > 0 {
					f.Limit = n // the rows measured, should the run grow meanwhile
					add = func(p *db.Point) error { a.write(bw, pointCells(p, format)); return nil }
				}
				end = bw.Flush
			}
			if add != nil {
				if err := d.EachPoint(cmd.Context(), f, add); err != nil {
					return err
				}
			}
			return end()
		}),
	}
	o.addSelection(cmd, "points", "run id (default: newest finished run of the experiment)", "ok or failed")
	cmd.Flags().IntVar(&o.limit, "limit", 0, "at most this many points (0: all)")
	cmd.Flags().StringVar(&o.command, "command", "", "the newest finished run of this command: sweep, fit, simulate or reproduce (default any; after a fit, the newest is its evaluations)")
	o.addFormat(cmd)
	return cmd
}

func newQuerySQLCmd(g *globals) *cobra.Command {
	o := &queryOptions{}
	cmd := &cobra.Command{
		Use:   "sql STATEMENT",
		Short: "Run one read-only SQL statement on the database",
		Long: `sql runs one SELECT, WITH, VALUES, EXPLAIN or reading PRAGMA on a read-only
connection. A statement that would write is refused before it runs and
changes nothing, and so is its EXPLAIN (SQLite reads EXPLAIN DELETE as a
write). Tables: experiments, runs, fits, and points, a view of every
point (units are in the column names). Sweeps store points in blocks
(point_blocks, a row of up to a 64 KiB page each; an older dendfit's
merge wrote union runs in blocks of up to 65536 points), which the points
view decodes in SQL, exactly but slowly (every column: about 0.15 ms a
point, count(*) included; a filter on run_id skips other runs' blocks):
for large sweeps use 'dendfit query points' or 'dendfit export' instead.
The view's JSON columns (receptors, peaks_mV) are exact here; an older
SQLite (3.40) writes their numbers with 15 digits.

A block's record has these slots: 0 grid index, 1 flags (1 dSpike
fired, 2 failed: slots 2-4 then hold no measure), 2 psp_mV, 3 baseline_mV,
4 time_to_peak_ms, 5 rise_10_90_ms, 6 half_width_ms, 7 i_hold_pA, then
g_nS, t_decay_ms and t_rise_ms of each receptor (all g first), then the
peak (mV) of each compartment (compartments column); NaN is NULL. Its
layout has a character a slot: '.' the same value in every point (the
8 bytes at 8*slot of shared), '+' first_index plus the point's position,
a letter the point's (letter - 'A')-th value in data, stride values a
point (a letter may repeat: the PSP is also the record compartment's
peak); an empty layout stores every slot. With numpy:
v = frombuffer(data, '<f8').reshape(-1, stride).

In raw SQL: points.id is NULL for a sweep's (block) points; runs.status
stays 'running' for a run whose process died (dendfit shows it as
interrupted); after merge a sweep's points are in its shards' runs and
in the union run too, so select one run_id before counting.`,
		Example: `  dendfit query sql "SELECT pathway, max(abs(psp_mV)) FROM points WHERE run_id = 2 GROUP BY pathway"
  dendfit query sql "PRAGMA table_info(points)" --format csv`,
		Args: exactArgs(1),
		RunE: o.run(g, nil, func(cmd *cobra.Command, args []string, d *db.DB, format string) error {
			cols, rows, err := d.QueryReadOnly(cmd.Context(), args[0])
			if err != nil {
				if errors.Is(err, db.ErrWrite) {
					return fmt.Errorf("%w; nothing was changed", err)
				}
				return err
			}
			out := struct {
				Columns []string `json:"columns"`
				Rows    [][]any  `json:"rows"`
			}{cols, [][]any{}}
			t := &table{cols: cols}
			for _, r := range rows {
				cells := make([]string, len(r))
				for i, v := range r {
					switch x := v.(type) {
					case nil:
						cells[i] = "NULL"
					case []byte:
						if utf8.Valid(x) {
							r[i] = string(x)
							cells[i] = string(x)
						} else {
							// A BLOB reads the same in every format, as
							// SQL's literal for it.
							cells[i] = fmt.Sprintf("x'%x'", x)
							r[i] = cells[i]
						}
					case float64:
						cells[i] = fnum(x)
						if math.IsInf(x, 0) || math.IsNaN(x) {
							r[i] = cells[i] // JSON has no number for it
						}
					default:
						cells[i] = fmt.Sprint(x)
					}
				}
				out.Rows = append(out.Rows, r)
				t.add(cells...)
			}
			return t.write(g.stdout, format, out)
		}),
	}
	o.addFormat(cmd)
	return cmd
}

// pointJSON is a point as `query points --json` prints it.
type pointJSON struct {
	Pathway      int                `json:"pathway"`
	Pre          string             `json:"pre"`
	Post         string             `json:"post"`
	Compartment  string             `json:"compartment"`
	Record       string             `json:"record"`
	Tag          string             `json:"tag"`
	Key          string             `json:"point_key"`
	Receptors    []string           `json:"receptors"` // channels, the order of g_nS
	GNS          []float64          `json:"g_nS"`
	TDecayMS     *float64           `json:"t_decay_ms"`
	TRiseMS      *float64           `json:"t_rise_ms"`
	PSPMV        *float64           `json:"psp_mV"`
	BaselineMV   *float64           `json:"baseline_mV"`
	TimeToPeakMS *float64           `json:"time_to_peak_ms"`
	Rise1090MS   *float64           `json:"rise_10_90_ms"`
	HalfWidthMS  *float64           `json:"half_width_ms"`
	PeaksMV      map[string]float64 `json:"peaks_mV"`
	IHoldPA      *float64           `json:"i_hold_pA"`
	DSpikeFired  bool               `json:"dspike_fired"`
	Status       string             `json:"status"`
	Error        string             `json:"error,omitempty"`
}

// pointTableCols heads the columns of pointCells in the aligned table.
var pointTableCols = []string{"pathway", "pre", "post", "point_key", "receptors", "g_nS", "t_decay_ms", "t_rise_ms",
	"psp_mV", "peak_ms", "rise_ms", "half_ms", "dSpike", "status", "error"}

// pointCells is p's row of the points table: numbers in full for CSV,
// rounded for the aligned table, which ends with the error (CSV gives it
// after its own further columns).
func pointCells(p *db.Point, format string) []string {
	// g of every receptor, ';'-separated, in every format: the table
	// showed the first receptor's alone, as if it were the whole synapse.
	gs, chs := make([]string, len(p.Receptors)), make([]string, len(p.Receptors))
	for i, r := range p.Receptors {
		chs[i] = r.Channel
		gs[i] = fnum(r.GNS)
		if format == "table" {
			gs[i] = fmt.Sprintf("%.6g", r.GNS)
		}
	}
	if len(p.Receptors) == 0 {
		gs = []string{fmt.Sprintf("%.6g", p.GNS)}
	}
	if format == "table" {
		psp, peak := "-", "-"
		if p.Status != db.PointFailed {
			psp, peak = fmt.Sprintf("%.6g", p.PSPMV), fmt.Sprintf("%.3f", p.TimeToPeakMS)
		}
		tr := "-"
		if p.TRiseMS != nil {
			tr = fmt.Sprintf("%.4g", *p.TRiseMS)
		}
		return []string{strconv.Itoa(p.Pathway), p.Pre, p.Post, p.PointKey, strings.Join(chs, ";"), strings.Join(gs, ";"), fmt.Sprintf("%.4g", p.TDecayMS), tr,
			psp, peak, optMS(p.Rise1090MS), optMS(p.HalfWidthMS), strconv.FormatBool(p.DSpikeFired), p.Status, p.Error}
	}
	psp, peak := "", "" // CSV's NULL, as for the other absent values
	if p.Status != db.PointFailed {
		psp, peak = fnum(p.PSPMV), fnum(p.TimeToPeakMS)
	}
	return []string{strconv.Itoa(p.Pathway), p.Pre, p.Post, p.PointKey, strings.Join(chs, ";"), strings.Join(gs, ";"), fnum(p.TDecayMS), fptr(p.TRiseMS),
		psp, peak, fptr(p.Rise1090MS), fptr(p.HalfWidthMS), strconv.FormatBool(p.DSpikeFired), p.Status}
}

// pointsRunJSON is the run `query points --json` gives with its points.
type pointsRunJSON struct {
	ID          int64  `json:"id"`
	Experiment  string `json:"experiment"`
	Command     string `json:"command"`
	Status      string `json:"status"`
	SpecSHA256  string `json:"spec_sha256"`
	Version     string `json:"version"`
	VCSRevision string `json:"vcs_revision"`
	VCSModified bool   `json:"vcs_modified"`
	ShardK      int    `json:"shard_k"`
	ShardN      int    `json:"shard_n"`
	// UnionOf is the shard count of a merge's union run, as query runs
	// gives it; absent for other runs.
	UnionOf int `json:"union_of_shards,omitempty"`
}

func newPointsRunJSON(r *db.Run, e *db.Experiment) pointsRunJSON {
	j := pointsRunJSON{ID: r.ID, Experiment: r.Experiment, Command: r.Command, Status: r.Status, SpecSHA256: e.SpecSHA256,
		Version: r.Version, VCSRevision: r.VCSRevision, VCSModified: r.VCSModified, ShardK: r.ShardK, ShardN: max(r.ShardN, 1)}
	if u, ok := db.UnionOf(r); ok {
		j.UnionOf = u.UnionOf.ShardN
	}
	return j
}

// jsonPointsWriter writes {"points": [...], "run": run} to w a point at a
// time, byte for byte as a json.Encoder indenting by two spaces writes it
// whole.
func jsonPointsWriter(w io.Writer, run pointsRunJSON) (add func(*db.Point) error, end func() error) {
	bw := bufio.NewWriter(w)
	n := 0
	var b []byte
	add = func(p *db.Point) error {
		pj := newPointJSON(*p)
		var err error
		if b, err = appendPointJSON(b[:0], &pj); err != nil {
			return err
		}
		if n == 0 {
			bw.WriteString("{\n  \"points\": [\n    ")
		} else {
			bw.WriteString(",\n    ")
		}
		n++
		_, err = bw.Write(b)
		return err
	}
	end = func() error {
		if n == 0 {
			bw.WriteString("{\n  \"points\": [],\n  \"run\": ")
		} else {
			bw.WriteString("\n  ],\n  \"run\": ")
		}
		rb, err := json.MarshalIndent(run, "  ", "  ")
		if err != nil {
			return err
		}
		bw.Write(rb)
		bw.WriteString("\n}\n")
		return bw.Flush()
	}
	return add, end
}

func newPointJSON(p db.Point) pointJSON {
	o := pointJSON{Pathway: p.Pathway, Pre: p.Pre, Post: p.Post, Compartment: p.Compartment, Record: p.Record, Tag: p.Tag, Key: p.PointKey,
		Receptors: make([]string, len(p.Receptors)),
		TRiseMS:   p.TRiseMS, Rise1090MS: p.Rise1090MS, HalfWidthMS: p.HalfWidthMS, PeaksMV: peaksOrNil(p.PeaksMV), IHoldPA: p.IHoldPA,
		DSpikeFired: p.DSpikeFired, Status: p.Status, Error: p.Error}
	for i, r := range p.Receptors {
		o.Receptors[i] = r.Channel
		o.GNS = append(o.GNS, r.GNS)
	}
	if len(p.Receptors) > 0 {
		o.TDecayMS = &p.Receptors[0].TDecayMS
	}
	if p.Status != db.PointFailed {
		o.PSPMV, o.BaselineMV, o.TimeToPeakMS = &p.PSPMV, &p.BaselineMV, &p.TimeToPeakMS
	}
	return o
}
