package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/pipeline"
	"github.com/dendfit/dendfit/pipeline/slurm"
	"github.com/dendfit/dendfit/sim/spec"
)

func init() { extraCommands = append(extraCommands, newSweepCmd) }

type sweepOptions struct {
	workers int
	shard   string
	resume  string // "": a new run; "newest"; or a run id
}

func newSweepCmd(g *globals) *cobra.Command {
	o := &sweepOptions{}
	cmd := &cobra.Command{
		Use:   "sweep SPEC",
		Short: "Simulate every point of the spec's sweep grid and record it",
		Long: `sweep expands the spec's sweep block (g, t_decay, t_rise axes: lists, linear
or log ranges) over every pathway and records each point's PSP metrics in
the database as one run. Results are bit-identical whatever --workers or
--shard. Ctrl-C stops promptly, keeps every finished point and marks the run
cancelled; --resume continues the newest unfinished sweep of the same spec
text (and shard), --resume=ID run ID; when the newest sweep of them
finished (or run ID did), --resume records nothing and shows its summary,
naming older unfinished ones (with no sweep of it at all, it starts one);
while another process sweeps the run, --resume leaves it alone and fails,
saying so, with exit status 5, rather than sweep the grid a second time
beside it.
Any edit of the spec, even of a comment, makes another spec: --resume
then refuses, naming the unfinished runs of the one before. A
spec with a pathway that cannot be simulated at all (dt beyond the
stability limit of its cell or of a receptor's time constant, at the
longest swept, a holding that puts an AdEx compartment above its VT) is
refused before any run is recorded; a point whose simulation fails on the
way is recorded failed, with its error. With --json the summary is JSON
with the run's status: done, or cancelled after Ctrl-C (what was kept).`,
		Example: `  dendfit sweep experiments/l23-demo.yaml --workers 2
  dendfit sweep experiments/l23-demo.yaml --shard 0/4 --db shard-0.db --resume`,
		Args: func(cmd *cobra.Command, args []string) error {
			// "--resume 3" leaves 3 as an argument: the flag's value needs =.
			if f := cmd.Flags().Lookup("resume"); f.Changed && o.resume == resumeNewest {
				for _, a := range args {
					id, err := strconv.ParseInt(a, 10, 64)
					_, serr := os.Stat(a)
					if err == nil && id >= 1 && (len(args) == 2 || serr != nil) {
						return usageError{fmt.Errorf("--resume %s: write --resume=%s SPEC to continue run %s", a, a, a)}
					}
				}
			}
			return exactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runSweep(cmd, g, o, args[0]) },
	}
	f := cmd.Flags()
	f.IntVarP(&o.workers, "workers", "j", 0, "parallel workers (default, or 0: all cores; at most 16 a core)")
	f.StringVar(&o.shard, "shard", "", "run only part K of N of the grid, as K/N with 0 <= K < N (parts are dealt in chunks of 32 points of a pathway, so a grid of few chunks leaves some parts empty)")
	f.StringVar(&o.resume, "resume", "", "continue the newest unfinished sweep of this spec (--resume=ID: run ID), skipping recorded points")
	f.Lookup("resume").NoOptDefVal = resumeNewest
	return cmd
}

// resumeNewest is --resume given without a run id.
const resumeNewest = "newest"

// parseResume reads --resume: whether to resume, and which run (0: the
// newest unfinished one).
func parseResume(v string, explicit bool) (resume bool, id int64, err error) {
	switch v {
	case "":
		if explicit {
			return false, 0, usageError{errors.New("--resume= is empty: give --resume alone for the newest unfinished run, or --resume=ID")}
		}
		return false, 0, nil
	case "false": // (--resume=false, as when it was a boolean flag)
		return false, 0, nil
	case resumeNewest, "true":
		return true, 0, nil
	}
	id, err = strconv.ParseInt(v, 10, 64)
	if err != nil || id < 1 {
		return false, 0, usageError{fmt.Errorf("--resume %q: want a run id, 1 or more (--resume=ID), or --resume alone for the newest unfinished run", v)}
	}
	return true, id, nil
}

func parseShard(s string) (k, n int, err error) {
	if s == "" {
		return 0, 1, nil
	}
	a, b, ok := strings.Cut(s, "/")
	k, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || k < 0 || k >= n || n > pipeline.MaxShards {
		return 0, 0, usageError{fmt.Errorf("--shard %q: want K/N with 0 <= K < N <= %d, e.g. 0/4", s, pipeline.MaxShards)}
	}
	return k, n, nil
}

func runSweep(cmd *cobra.Command, g *globals, o *sweepOptions, path string) (err error) {
	ctx := cmd.Context()
	s, err := g.loadSpec(path)
	if err != nil {
		return err
	}
	k, n, err := parseShard(o.shard)
	if err != nil {
		return err
	}
	resume, resumeID, err := parseResume(o.resume, cmd.Flags().Changed("resume"))
	if err != nil {
		return err
	}
	if err := g.checkDB(); err != nil {
		return err
	}
	// Before a run is recorded: it would be left failed.
	if err := pipeline.CheckSimulable(s); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if !s.Sweep.Given() {
		g.notef("note: %s has no sweep block: one point a pathway, at its spec g and kinetics (a sweep: block with g, t_decay or t_rise gives a grid)", path)
	}
	// An empty shard (more shards than points) records an empty run: a
	// task of an array may meet one (slurm warns of it), so it is said,
	// not refused.
	if gr := pipeline.NewGrid(s); n > 1 && gr.ShardLen(k, n) == 0 {
		g.warnf("shard %d/%d of this grid of %d points holds none: the run records nothing", k, n, gr.Len())
	}
	var d *db.DB
	// A close that could not finish writing the file (a full disk) fails
	// the command: the points are safe only with the WAL beside it.
	defer func() {
		if d == nil {
			return
		}
		if cerr := d.Close(); err == nil {
			err = cerr
		}
	}()
	var run *pipeline.Run
	var skip *db.Recorded
	info := pipeline.RunInfo{
		Command: db.CommandSweep, Argv: cmdArgv(), Workers: o.workers, ShardK: k, ShardN: n,
		Settings: pipeline.NewSweepSettings(k, n),
	}
	if resume {
		if d, err = db.Open(ctx, g.db); err != nil {
			return err
		}
		var swept *pipeline.SweptError
		run, skip, err = pipeline.ResumeRun(ctx, d, s, info, resumeID)
		switch {
		case errors.As(err, &swept):
			// Done already: a requeued array task that had finished
			// leaves its shard as it is.
			shard := ""
			if n > 1 {
				shard = fmt.Sprintf(" (shard %d/%d)", k, n)
			}
			g.notef("run %d swept this spec%s to the end: nothing to resume (sweep without --resume for a new run)", swept.Run, shard)
			for _, id := range swept.Unfinished {
				g.notef("note: run %d of this spec is unfinished; --resume=%d continues it", id, id)
			}
			stats, err := pipeline.RunStats(ctx, d, s, swept.Run)
			if err != nil {
				return err
			}
			return printSweep(g, s, swept.Run, db.StatusDone, stats, 0, sumPoints(stats))
		case errors.Is(err, pipeline.ErrNothingToResume) && resumeID == 0:
			g.notef("%v: starting a new run", err)
		case err != nil:
			return err
		default:
			g.notef("resuming run %d: %d points already recorded", run.ID, skip.Len())
			// Another unfinished run of the spec keeps its points; say
			// how to go on with it instead.
			for _, r := range run.OtherUnfinished() {
				g.notef("note: run %d of this spec is unfinished too (%s); --resume=%d continues it instead", r.ID, r.Status, r.ID)
			}
		}
	}
	grid := pipeline.NewGrid(s)
	bar := newProgressBar(g, "points")
	announce := func(run *pipeline.Run) {
		total := grid.Len()
		if n > 1 {
			// A shard's share, not the grid's (it said 90 points for 26).
			mine := grid.ShardLen(k, n)
			g.notef("sweep %s: %d of the grid's %d point%s (shard %d/%d) over %d pathway%s, run %d", s.Name, mine, total, plural(total), k, n, len(s.Pathways), plural(len(s.Pathways)), run.ID)
		} else {
			g.notef("sweep %s: %d point%s over %d pathway%s, run %d", s.Name, total, plural(total), len(s.Pathways), plural(len(s.Pathways)), run.ID)
		}
		g.verbosef("database %s, dendfit %s, spec sha256 %.12s", g.db, version(), s.SHA256)
		bar.held = false
	}
	opt := &pipeline.SweepOptions{Workers: o.workers, ShardK: k, ShardN: n, Skip: skip, Progress: bar.update}
	var stats *pipeline.SweepStats
	switch {
	case d == nil:
		// A new run: the database opens while the first points are
		// simulated, and the bar waits for the run's note.
		bar.held = true
		run, stats, err = pipeline.SweepNew(ctx, s, g.db, info, opt, announce)
		if run == nil {
			bar.done()
			return err
		}
		d = run.DB
	default:
		if run == nil {
			if run, err = pipeline.StartRun(ctx, d, s, info); err != nil {
				return err
			}
		}
		announce(run)
		if skip != nil {
			// Points recorded before are counted as passed, at once: the
			// rate is this session's.
			bar.base = skip.Len()
		}
		stats, err = pipeline.Sweep(ctx, s, d, run.ID, opt)
	}
	bar.done()
	if stats != nil {
		el := time.Since(bar.start)
		g.verbosef("%d points in %v (%.0f points/s)", sumPoints(stats), el.Round(time.Millisecond), float64(sumPoints(stats))/el.Seconds())
	}
	if ferr := run.Finish(withStopCause(ctx, err)); err == nil {
		err = ferr
	}
	if errors.Is(err, context.Canceled) {
		// Say what is kept and how to go on; ctx has ended, so the count
		// gets a context of its own.
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		done, rerr := d.PointCount(cctx, run.ID)
		cancel()
		kept := fmt.Sprintf("%d of %d points recorded", done, grid.ShardLen(k, n))
		if rerr != nil {
			kept = "its finished points recorded"
		}
		shard := pipeline.ShardArg(k, n)
		// Always said, -q or not: the way on matters more than the count,
		// and a SLURM task's log (its script passes -q) had nothing else.
		hint := fmt.Sprintf("run %d stopped with %s; continue it with: dendfit --db %s sweep %s%s --resume=%d",
			run.ID, kept, g.db, path, shard, run.ID)
		// An array task of 'dendfit slurm' (cancelled, or at its time
		// limit) is rerun from the array's directory.
		if dir := filepath.Dir(g.db); os.Getenv("SLURM_ARRAY_TASK_ID") != "" &&
			filepath.Clean(g.db) == slurm.ShardDB(dir, k) && filepath.Clean(path) == filepath.Join(dir, slurm.SpecCopy) {
			// A task at its time limit would meet it again as it was.
			hint += fmt.Sprintf(", or rerun this task: dendfit slurm %s --dir %s --rerun %d --submit (with a longer --time if it ran out of time)", path, dir, k)
		}
		fmt.Fprintln(g.stderr, hint)
		// A script reading --json gets what was kept, and that the run
		// was cancelled, as well as the exit status.
		if g.json && rerr == nil {
			cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if all, serr := pipeline.RunStats(cctx, d, s, run.ID); serr == nil {
				// What the run held when this session took it over (the
				// session stopped before passing them all).
				resumed := 0
				if skip != nil {
					resumed = skip.Len()
				}
				printSweep(g, s, run.ID, db.StatusCancelled, all, int(done)-resumed, resumed)
			}
		}
	}
	if err != nil {
		return err
	}
	session, resumed := sumPoints(stats), stats.Skipped
	if resumed > 0 {
		// The summary is of the whole run, not of this session alone.
		if stats, err = pipeline.RunStats(ctx, d, s, run.ID); err != nil {
			return err
		}
	}
	return printSweep(g, s, run.ID, db.StatusDone, stats, session, resumed)
}

// printSweep writes the summary of sweep run id of s, which ended with
// status, whose stats are of the whole run: a table per pathway (or JSON),
// with session points recorded by this command and resumed ones before it.
func printSweep(g *globals, s *spec.Spec, id int64, status string, stats *pipeline.SweepStats, session, resumed int) error {
	// A pathway without a good point (all failed, or none in this shard)
	// has no PSP range.
	good := func(ps pipeline.PathwayStats) bool { return ps.Points > ps.Failed }
	for i, ps := range stats.Pathways {
		if ps.PeakAtEnd > 0 {
			g.warnf("%s", pipeline.WindowWarning(s, fmt.Sprintf("pathway %d (%s), %d of its %d points", i, s.Pathways[i].Label(), ps.PeakAtEnd, ps.Points-ps.Failed)))
		}
	}
	if g.json {
		type pathwayJSON struct {
			Pathway  int      `json:"pathway"`
			Label    string   `json:"label"`
			Points   int      `json:"points"`
			Failed   int      `json:"failed"`
			MinPSPMV *float64 `json:"psp_min_mV"`
			MaxPSPMV *float64 `json:"psp_max_mV"`
			// Good points whose PSP peaks at the window's last sample.
			PeakAtEnd int `json:"peak_at_window_end"`
		}
		out := struct {
			RunID      int64         `json:"run_id"`
			Experiment string        `json:"experiment"`
			Status     string        `json:"status"` // done, or cancelled (Ctrl-C)
			Recorded   int           `json:"points_recorded"`
			Resumed    int           `json:"points_resumed"`
			Pathways   []pathwayJSON `json:"pathways"`
		}{id, s.Name, status, session, resumed, []pathwayJSON{}}
		for i, ps := range stats.Pathways {
			pj := pathwayJSON{Pathway: i, Label: s.Pathways[i].Label(), Points: ps.Points, Failed: ps.Failed, PeakAtEnd: ps.PeakAtEnd}
			if good(ps) {
				pj.MinPSPMV, pj.MaxPSPMV = &ps.MinPSPMV, &ps.MaxPSPMV
			}
			out.Pathways = append(out.Pathways, pj)
		}
		return printJSON(g.stdout, out)
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "#\tpathway\tpoints\tfailed\tpsp_min_mV\tpsp_max_mV\t\n")
	for i, ps := range stats.Pathways {
		lo, hi := "-", "-"
		if good(ps) {
			lo, hi = fmt.Sprintf("%.6g", ps.MinPSPMV), fmt.Sprintf("%.6g", ps.MaxPSPMV)
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\t%s\t\n", i, s.Pathways[i].Label(), ps.Points, ps.Failed, lo, hi)
	}
	tw.Flush()
	fmt.Fprintf(g.stdout, "run %d: %s (%d point%s recorded this time, %d resumed)\n", id, status, session, plural(session), resumed)
	return nil
}

func sumPoints(st *pipeline.SweepStats) int {
	n := 0
	for _, p := range st.Pathways {
		n += p.Points
	}
	return n
}

// progressBar draws units done (points, pathways), rate and ETA on
// stderr, only when stderr is a terminal and not --quiet.
type progressBar struct {
	g     *globals
	unit  string
	on    bool
	start time.Time
	last  time.Time
	// held keeps the bar off the line until what is said before it has
	// been (a new sweep's run, recorded while it simulates).
	held bool
	// base is how many of the units counted were done before this
	// session (a resumed sweep's recorded points): not part of the rate.
	base int
}

func newProgressBar(g *globals, unit string) *progressBar {
	on := false
	if f, ok := g.stderr.(interface{ Fd() uintptr }); ok && !g.quiet {
		on = term.IsTerminal(int(f.Fd()))
	}
	return &progressBar{g: g, unit: unit, on: on, start: time.Now()}
}

func (p *progressBar) update(done, total int) {
	if !p.on || p.held || (time.Since(p.last) < 100*time.Millisecond && done < total) {
		return
	}
	p.last = time.Now()
	el := time.Since(p.start).Seconds()
	rate := float64(max(done-p.base, 0)) / max(el, 1e-9)
	eta := "?"
	if rate > 0 {
		eta = (time.Duration(float64(total-done)/rate) * time.Second).Round(time.Second).String()
	}
	const width = 30
	fill := width * done / max(total, 1)
	r := fmt.Sprintf("%.0f", rate)
	if rate < 10 { // a few pathways a second
		r = fmt.Sprintf("%.2g", rate)
	}
	fmt.Fprintf(p.g.stderr, "\r[%s%s] %d/%d  %s %s/s  ETA %s ", strings.Repeat("=", fill), strings.Repeat(" ", width-fill), done, total, r, p.unit, eta)
}

func (p *progressBar) done() {
	if p.on && !p.last.IsZero() { // drawn
		fmt.Fprintln(p.g.stderr)
	}
}

// plural is "s" unless n is 1.
func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
