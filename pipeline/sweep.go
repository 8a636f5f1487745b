package pipeline

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/sim"
	"github.com/dendfit/dendfit/sim/spec"
)

// Store receives finished points. *db.DB implements it.
type Store interface {
	InsertPoints(ctx context.Context, runID int64, pts []db.Point) error
}

// Progress is told how many points are done out of total. It is called
// from one goroutine.
type Progress func(done, total int)

// SweepOptions configures Sweep. A nil *SweepOptions means the defaults.
type SweepOptions struct {
	Workers int // default runtime.NumCPU()
	// ShardK of ShardN (0-based) selects a deterministic, disjoint part of
	// the grid; ShardN <= 1 means the whole grid.
	ShardK, ShardN int
	// Skip holds the keys of points already recorded (for --resume).
	Skip map[string]struct{}
	// FlushEvery is the number of points per write transaction (default 4096).
	FlushEvery int
	Progress   Progress
}

// SweepStats summarises a sweep per pathway.
type SweepStats struct {
	Pathways []PathwayStats
	Skipped  int // points already recorded before this run
}

// PathwayStats is one pathway's share of a sweep.
type PathwayStats struct {
	Points, Failed int
	MinPSPMV       float64
	MaxPSPMV       float64
}

// Sweep simulates every point of s's grid (or of one shard of it) with a
// pool of workers and writes them to store under runID from one writer, in
// batched transactions. Results are bit-identical whatever the worker
// count, the batching or the sharding. On cancellation it stops promptly,
// writes every finished point and returns the context's error.
func Sweep(ctx context.Context, s *spec.Spec, store Store, runID int64, opt *SweepOptions) (*SweepStats, error) {
	if opt == nil {
		opt = &SweepOptions{}
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	flush := opt.FlushEvery
	if flush <= 0 {
		flush = 4096
	}
	if opt.ShardN > 1 && (opt.ShardK < 0 || opt.ShardK >= opt.ShardN) {
		return nil, fmt.Errorf("shard %d/%d: want 0 <= K < N", opt.ShardK, opt.ShardN)
	}
	gr := NewGrid(s)
	chunks := gr.chunks(opt.ShardK, opt.ShardN)
	total := 0
	for _, c := range chunks {
		total += c.hi - c.lo
	}
	stats := &SweepStats{Pathways: make([]PathwayStats, len(s.Pathways))}

	// The writer must outlive the workers' context so that finished points
	// are written even after Ctrl-C.
	wctx := context.WithoutCancel(ctx)
	// Room for a whole write transaction of chunks, so that workers keep
	// simulating while the writer commits.
	results := make(chan []db.Point, flush/BatchSize+2*workers)
	work := make(chan chunk)
	var mu sync.Mutex // guards stats.Skipped
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(work)
		for _, c := range chunks {
			select {
			case work <- c:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	for w := 0; w < workers; w++ {
		g.Go(func() error {
			wk := &sweepWorker{s: s, gr: gr, sims: map[int]*pathwaySim{}}
			defer func() {
				mu.Lock()
				stats.Skipped += wk.skipped
				mu.Unlock()
			}()
			for c := range work {
				pts, err := wk.run(gctx, c, opt.Skip)
				if err != nil {
					return err
				}
				if len(pts) == 0 {
					continue
				}
				select {
				case results <- pts:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
			return nil
		})
	}
	var werr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		var buf []db.Point
		n := 0
		last := time.Now()
		write := func() {
			if len(buf) == 0 || werr != nil {
				return
			}
			if err := store.InsertPoints(wctx, runID, buf); err != nil {
				werr = err
			}
			buf = buf[:0]
		}
		for pts := range results {
			for _, p := range pts {
				ps := &stats.Pathways[p.Pathway]
				if p.Status == db.PointFailed {
					ps.Failed++
				} else {
					if ps.Points == ps.Failed { // first good point
						ps.MinPSPMV, ps.MaxPSPMV = p.PSPMV, p.PSPMV
					}
					ps.MinPSPMV = min(p.PSPMV, ps.MinPSPMV)
					ps.MaxPSPMV = max(p.PSPMV, ps.MaxPSPMV)
				}
				ps.Points++
			}
			buf = append(buf, pts...)
			n += len(pts)
			if len(buf) >= flush || time.Since(last) > 2*time.Second {
				write()
				last = time.Now()
			}
			if opt.Progress != nil {
				opt.Progress(n, total)
			}
		}
		write()
	}()
	err := g.Wait()
	close(results)
	<-done
	if werr != nil {
		return stats, fmt.Errorf("record points: %w", werr)
	}
	if err != nil {
		if ctx.Err() != nil {
			return stats, ctx.Err()
		}
		return stats, err
	}
	return stats, nil
}

// sweepWorker owns one simulator per pathway, reused across chunks.
type sweepWorker struct {
	s       *spec.Spec
	gr      *Grid
	sims    map[int]*pathwaySim
	out     []sim.Result
	errs    []error
	skipped int
}

// pathwaySim is a pathway's setup and the simulator compiled from it.
type pathwaySim struct {
	setup *sim.Setup
	sm    *sim.Simulator
}

func (w *sweepWorker) run(ctx context.Context, c chunk, skip map[string]struct{}) ([]db.Point, error) {
	var gps []GridPoint
	for i := c.lo; i < c.hi; i++ {
		gp := w.gr.Point(i)
		if _, ok := skip[gp.Key]; ok {
			w.skipped++
			continue
		}
		gps = append(gps, gp)
	}
	if len(gps) == 0 {
		return nil, nil
	}
	p := gps[0].Pathway
	ps := w.sims[p]
	if ps == nil {
		setup, _, err := w.s.Setup(p)
		if err != nil {
			return nil, fmt.Errorf("pathway %d (%s): %w", p, w.s.Pathways[p].Label(), err)
		}
		sm, err := sim.New(setup, BatchSize)
		if err != nil {
			return nil, fmt.Errorf("pathway %d (%s): %w", p, w.s.Pathways[p].Label(), err)
		}
		ps = &pathwaySim{setup, sm}
		w.sims[p] = ps
	}
	setup, sm := ps.setup, ps.sm
	lanes := make([][]sim.Receptor, len(gps))
	for i, gp := range gps {
		lanes[i] = gp.Receptors
	}
	if len(w.out) < len(gps) {
		w.out = make([]sim.Result, BatchSize)
		w.errs = make([]error, BatchSize)
	}
	if err := sm.RunEach(ctx, lanes, nil, w.out, w.errs); err != nil {
		return nil, err
	}
	pts := make([]db.Point, len(gps))
	for i, gp := range gps {
		if e := w.errs[i]; e != nil {
			pr := newPathwayResult(w.s, p, setup, gp.Receptors, sm.Steady(), &sim.Result{})
			pts[i] = PointOf(gp.Key, pr)
			pts[i].Status, pts[i].Error = db.PointFailed, e.Error()
			continue
		}
		pr := newPathwayResult(w.s, p, setup, gp.Receptors, sm.Steady(), &w.out[i])
		pts[i] = PointOf(gp.Key, pr)
	}
	return pts, nil
}
