// Command dendfit calibrates synaptic conductances of Dendrify-style
// reduced compartmental neurons: it simulates the PSP protocol exactly as
// Dendrify on Brian 2 does, sweeps and fits conductances and kinetics to
// target PSPs, and records every run in SQLite.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/pipeline"
	"github.com/dendfit/dendfit/sim/spec"
)

// Exit codes, decided in one place.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitNotConverge = 3
	exitWarned      = 4   // fit --strict: every pathway converged, some with warnings
	exitBeingSwept  = 5   // sweep --resume: another process sweeps the run now
	exitInterrupted = 130 // 128 + SIGINT; 128 + SIGTERM (143) when that stopped it
)

// stopSignal is the cancellation cause of the command's context: the
// signal that stopped it, whose number sets the exit status as the shell's
// convention has it.
type stopSignal struct{ sig os.Signal }

func (s stopSignal) Error() string {
	switch s.sig {
	case os.Interrupt:
		return "stopped by SIGINT (Ctrl-C)"
	case syscall.SIGTERM:
		return "stopped by SIGTERM"
	}
	return "stopped by " + s.sig.String()
}

// stoppedErr is a context error with what stopped the command, which is
// what a run records as its error (runs.error read "context canceled").
type stoppedErr struct{ err, cause error }

func (e stoppedErr) Error() string { return e.cause.Error() }
func (e stoppedErr) Unwrap() error { return e.err }

// withStopCause gives a cancellation err the cause ctx was cancelled with
// (a signal), and returns any other err as it is.
func withStopCause(ctx context.Context, err error) error {
	if c := context.Cause(ctx); errors.Is(err, context.Canceled) && c != nil && !errors.Is(c, context.Canceled) {
		return stoppedErr{err, c}
	}
	return err
}

// interruptedCode is the exit status of a command stopped through ctx:
// 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM).
func interruptedCode(ctx context.Context) int {
	var s stopSignal
	if errors.As(context.Cause(ctx), &s) {
		if n, ok := s.sig.(syscall.Signal); ok {
			return 128 + int(n)
		}
	}
	return exitInterrupted
}

// errNotConverged marks a fit that ran to the end with some pathway
// unconverged: everything was printed and recorded, the status says so.
var errNotConverged = errors.New("some pathways did not converge")

// errWarned marks a fit --strict whose pathways all converged, some with
// warnings (a PSP cut off by the window, dt sensitivity, ...): a script
// that checks the status would take such a g as sound.
var errWarned = errors.New("every pathway converged, some with warnings (above); --strict makes that an exit status of 4")

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	// Caught from the start: a signal before the goroutine runs would
	// otherwise end the process as if uncaught.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go stopOnSignal(sigs, cancel)
	root := newRootCmd()
	c, err := root.ExecuteContextC(ctx)
	os.Exit(exitCode(ctx, damagedHint(c, err), os.Stderr))
}

// repeatWindow is how soon after the first a signal counts as the same
// request: `timeout -s INT` sends its signal twice at once (to the command,
// then to its process group), and so may a batch system.
const repeatWindow = 500 * time.Millisecond

// stopOnSignal cancels the command's context at the first SIGINT or
// SIGTERM on sigs, so that it stops cleanly and keeps what is done. A later one,
// should that hang (a pipe nobody reads), ends the process at once by
// that signal, as if it were not caught.
func stopOnSignal(sigs <-chan os.Signal, cancel context.CancelCauseFunc) {
	cancel(stopSignal{<-sigs})
	first := time.Now()
	for sig := range sigs {
		if time.Since(first) < repeatWindow {
			continue
		}
		signal.Reset()
		if p, err := os.FindProcess(os.Getpid()); err == nil && p.Signal(sig) == nil {
			time.Sleep(time.Second) // the signal ends the process
		}
		if n, ok := sig.(syscall.Signal); ok {
			os.Exit(128 + int(n))
		}
		os.Exit(exitInterrupted)
	}
}

// exitCode tells the user on stderr how err ended the command and returns
// the process's exit status.
func exitCode(ctx context.Context, err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errNotConverged):
		fmt.Fprintln(stderr, "dendfit:", err)
		return exitNotConverge
	case errors.Is(err, errWarned):
		fmt.Fprintln(stderr, "dendfit:", err)
		return exitWarned
	case errors.Is(err, pipeline.ErrBeingSwept):
		// A status of its own: a SLURM task finds its shard swept by
		// another copy of itself (a rerun beside a queued task), which
		// finishes it, and must not fail its array for that.
		for _, line := range messageLines(err) {
			fmt.Fprintln(stderr, "dendfit:", line)
		}
		return exitBeingSwept
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "dendfit: interrupted; finished work is kept")
		return interruptedCode(ctx)
	case ctx.Err() != nil:
		// Another error after the signal (a write that failed as the
		// command stopped) is not hidden behind the interruption.
		fmt.Fprintln(stderr, "dendfit: interrupted:", errorMessage(err))
		return interruptedCode(ctx)
	}
	for _, line := range messageLines(err) {
		fmt.Fprintln(stderr, "dendfit:", line)
	}
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitError
}

// messageLines is err as the user reads it, one line a message: a spec's
// several errors each get theirs, and each the context that wraps the
// first ("reproduce: stored spec: ").
func messageLines(err error) []string {
	lines := strings.Split(errorMessage(err), "\n")
	var es spec.Errors
	if len(lines) > 1 && errors.As(err, &es) && len(es) > 0 {
		if i := strings.Index(lines[0], es[0].Error()); i > 0 {
			for j := range lines[1:] {
				lines[j+1] = lines[0][:i] + lines[j+1]
			}
		}
	}
	return lines
}

// errorMessage is err as the user reads it.
func errorMessage(err error) string {
	msg := err.Error()
	if db.IsBusy(err) {
		// SQLite says only "database is locked".
		msg += " (another process held the database's write lock for 10 s: a command still writing to it, or one stopped mid-write; try again when it is done)"
	}
	return msg
}

// usageError is a bad flag or argument.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

// damagedHint adds to err, when SQLite found command c's database damaged
// or could not write it, which file that is (SQLite does not say) and what
// to do. merge names the file it read in its own errors.
func damagedHint(c *cobra.Command, err error) error {
	// merge and slurm use no --db: the files their errors name are theirs.
	if c == nil || c.Name() == "merge" || c.Name() == "slurm" {
		return err
	}
	path := db.DefaultPath()
	fromEnv := os.Getenv(db.EnvPath) != ""
	if f := c.Flag("db"); f != nil {
		path = f.Value.String()
		fromEnv = fromEnv && !f.Changed
	}
	// A path the user did not type on this command line is named as
	// where it came from, where the error names it.
	if fromEnv && err != nil && strings.Contains(err.Error(), path) && !strings.Contains(err.Error(), db.EnvPath) {
		err = fmt.Errorf("%w (the database is %s=%s)", err, db.EnvPath, path)
	}
	switch {
	case db.IsDamaged(err) && notSQLite(path) && fromEnv:
		return fmt.Errorf("%s is not a SQLite database (%s=%s): set %s to a dendfit database (or a new file's name), or give --db", path, db.EnvPath, path, db.EnvPath)
	case db.IsDamaged(err) && notSQLite(path):
		// A spec or CSV given as --db: nothing to recover.
		return fmt.Errorf("%s is not a SQLite database: give --db a dendfit database (or a new file's name)", path)
	case db.IsDamaged(err):
		return fmt.Errorf("%w (the database %s is damaged: keep a copy; 'sqlite3 %s .recover' may save what it holds)", err, path, path)
	case db.IsReadOnly(err):
		return fmt.Errorf("%w (%s, or its directory, is not writable for you: record into a copy with --db, or ask its owner)", err, path)
	}
	return err
}

// notSQLite reports whether path is a file with content that does not
// start as every SQLite database does (an empty file is a new database).
func notSQLite(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Size() > 0 && !isSQLite(path)
}
