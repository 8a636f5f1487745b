package main

import (
	"context"
	"os"
	"time"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/pipeline"
	"github.com/dendfit/dendfit/sim/spec"
)

// recorder is an open database with a run in progress.
type recorder struct {
	ctx   context.Context // the command's: its cause says what stopped it
	db    *db.DB
	run   *pipeline.Run
	runID int64
	g     *globals
	start time.Time
}

func cmdArgv() []string { return append([]string(nil), os.Args...) }

func startRun(ctx context.Context, g *globals, s *spec.Spec, command string, settings any) (*recorder, error) {
	return startRunInfo(ctx, g, s, pipeline.RunInfo{Command: command, Settings: settings})
}

func startRunInfo(ctx context.Context, g *globals, s *spec.Spec, info pipeline.RunInfo) (*recorder, error) {
	if err := g.checkDB(); err != nil {
		return nil, err
	}
	d, err := db.Open(ctx, g.db)
	if err != nil {
		return nil, err
	}
	if info.Argv == nil {
		info.Argv = cmdArgv()
	}
	run, err := pipeline.StartRun(ctx, d, s, info)
	if err != nil {
		d.Close()
		return nil, err
	}
	if err := run.Unclaimed(); err != nil {
		g.warnf("run %d is not locked as running (%v): other processes read it as interrupted until it ends", run.ID, err)
	}
	g.verbosef("%s %s: run %d in %s (spec sha256 %.12s, dendfit %s)", info.Command, s.Name, run.ID, g.db, s.SHA256, version())
	return &recorder{ctx: ctx, db: d, run: run, runID: run.ID, g: g, start: time.Now()}, nil
}

// finish marks the run and closes the database.
func (r *recorder) finish(err error) error {
	ferr := r.run.Finish(withStopCause(r.ctx, err))
	r.g.verbosef("run %d finished in %v", r.runID, time.Since(r.start).Round(time.Millisecond))
	if cerr := r.db.Close(); ferr == nil {
		ferr = cerr
	}
	return ferr
}
