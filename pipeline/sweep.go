package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/sim"
	"github.com/dendfit/dendfit/sim/spec"
)

// Store receives finished points, a block of one pathway at a time.
// *db.DB implements it. The blocks are the caller's again once the call
// returns: a store copies what it keeps.
type Store interface {
	// InsertPointBlocks records blocks as points of run runID, all or
	// none.
	InsertPointBlocks(ctx context.Context, runID int64, blocks []*db.PointBlock) error
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
	// Skip holds the points already recorded (for --resume).
	Skip *db.Recorded
	// Only, when not nil, holds the only points to sweep: a reproduction
	// of a sweep that did not finish reruns what it recorded.
	Only *db.Recorded
	// FlushEvery is the number of points per write transaction (default
	// 16384, about 14 rows of the seed model: a commit also writes the
	// b-tree pages above its rows, 64 KiB each, which at 4096 points a
	// commit made a 1,000,000-point sweep 13% slower; more holds more in
	// memory for no gain). A killed sweep loses at most that many and the
	// block being filled, or two seconds' worth.
	FlushEvery int
	Progress   Progress
}

// MaxShards bounds the N of a sweep's --shard K/N and of a SLURM array's
// tasks: a thousand times SLURM's default MaxArraySize (1001; a site may
// raise it to 4,000,001), and few enough that listing the shards a merge
// misses stays cheap.
const MaxShards = 1000000

// SweepStats summarises a sweep per pathway.
type SweepStats struct {
	Pathways []PathwayStats
	Skipped  int // points not swept: recorded before this run (Skip), or not in Only
}

// PathwayStats is one pathway's share of a sweep.
type PathwayStats struct {
	Points, Failed int
	MinPSPMV       float64
	MaxPSPMV       float64
	// PeakAtEnd counts the good points whose PSP peaks at the window's
	// last sample (WindowWarning).
	PeakAtEnd int
}

// add counts ok good points, whose PSPs span lo..hi mV, failed failed
// ones, and atEnd good ones that peak at the window's end.
func (ps *PathwayStats) add(ok, failed int, lo, hi float64, atEnd int) {
	if ok > 0 {
		if ps.Points == ps.Failed { // the first good points
			ps.MinPSPMV, ps.MaxPSPMV = lo, hi
		}
		ps.MinPSPMV, ps.MaxPSPMV = min(lo, ps.MinPSPMV), max(hi, ps.MaxPSPMV)
	}
	ps.Points += ok + failed
	ps.Failed += failed
	ps.PeakAtEnd += atEnd
}

// Sweep simulates every point of s's grid (or of one shard of it) with a
// pool of workers and writes them to store under runID from one writer, in
// batched transactions. Results are bit-identical whatever the worker
// count, the batching or the sharding. On cancellation it stops promptly,
// writes every finished point and returns the context's error.
func Sweep(ctx context.Context, s *spec.Spec, store Store, runID int64, opt *SweepOptions) (*SweepStats, error) {
	k := &sink{ready: make(chan struct{}), store: store, runID: runID}
	close(k.ready)
	return sweep(ctx, s, k, nil, opt)
}

// SweepNew records a new run of s in the database at path, as StartRun
// does with info, and sweeps s into it, as Sweep does. The workers start
// at once: creating a database file and recording a run take as long as
// simulating thousands of points (a new file is synced four times before
// it holds a run), and are done meanwhile, the finished points held in
// memory (up to four write transactions' worth) until the run is
// recorded. started, when not nil, is called with the run once it is
// recorded and before any point is written, from the goroutine that calls
// opt.Progress. On success the caller finishes the run (Run.Finish) and
// closes run.DB. When the database cannot be opened or the run cannot be
// recorded (Ctrl-C meanwhile among the reasons), the run is nil, nothing
// is recorded, and err says why. opt.Skip and opt.Only must be nil: a new
// run has nothing to skip.
func SweepNew(ctx context.Context, s *spec.Spec, path string, info RunInfo, opt *SweepOptions, started func(*Run)) (*Run, *SweepStats, error) {
	if opt != nil && (opt.Skip != nil || opt.Only != nil) {
		return nil, nil, errors.New("sweep a new run: Skip and Only must be nil")
	}
	var run *Run
	k := &sink{ready: make(chan struct{})}
	if started != nil {
		k.started = func() { started(run) }
	}
	opener := func(ctx context.Context) (Store, int64, error) {
		d, err := db.Open(ctx, path)
		if err != nil {
			return nil, 0, err
		}
		if run, err = StartRun(ctx, d, s, info); err != nil {
			d.Close()
			return nil, 0, err
		}
		return d, run.ID, nil
	}
	stats, err := sweep(ctx, s, k, opener, opt)
	if k.err != nil {
		return nil, stats, k.err
	}
	return run, stats, err
}

// sink is where a sweep's writer sends its blocks: a store and a run
// known from the start (Sweep), or being opened while the workers
// simulate (SweepNew).
type sink struct {
	ready   chan struct{} // closed once store and runID, or err, are set
	store   Store
	runID   int64
	err     error
	started func() // called once, by the writer, when ready without err
}

// isReady says whether the writer can write without waiting.
func (k *sink) isReady() bool {
	select {
	case <-k.ready:
		return true
	default:
		return false
	}
}

// wait waits until the sink is ready and says whether it can be written
// to, telling started the first time it can.
func (k *sink) wait() bool {
	<-k.ready
	if k.err == nil && k.started != nil {
		k.started()
		k.started = nil
	}
	return k.err == nil
}

// sweep is Sweep into k; when opener is not nil, it is called,
// concurrently with the workers, to set k's store and run.
func sweep(ctx context.Context, s *spec.Spec, k *sink, opener func(context.Context) (Store, int64, error), opt *SweepOptions) (*SweepStats, error) {
	if opt == nil {
		opt = &SweepOptions{}
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	flush := opt.FlushEvery
	if flush <= 0 {
		flush = 16384
	}
	if opt.ShardN > 1 && (opt.ShardK < 0 || opt.ShardK >= opt.ShardN || opt.ShardN > MaxShards) {
		return nil, fmt.Errorf("shard %d/%d: want 0 <= K < N <= %d", opt.ShardK, opt.ShardN, MaxShards)
	}
	gr := NewGrid(s)
	chunks := gr.shard(opt.ShardK, opt.ShardN)
	nChunks := chunks.len()
	// A worker without a chunk would only hold memory.
	workers = max(min(workers, nChunks), 1)
	total := gr.ShardLen(opt.ShardK, opt.ShardN)
	stats := &SweepStats{Pathways: make([]PathwayStats, len(s.Pathways))}

	// A pathway that cannot be simulated at all (dt beyond its cell's
	// stability limit) stops the sweep before anything is written: met by
	// a worker midway, it cancelled the others, and which points got
	// recorded depended on timing. The simulators built here go to the
	// first worker.
	first := &sweepWorker{s: s, gr: gr, sims: map[int]*pathwaySim{}}
	for p := range s.Pathways {
		if _, err := first.pathway(p); err != nil {
			return stats, err
		}
	}
	// The writer must outlive the workers' context so that finished points
	// are written even after Ctrl-C.
	wctx := context.WithoutCancel(ctx)
	// Room for a quarter of a write transaction of chunks (about 3 KB
	// each), so that workers keep simulating while the writer commits
	// (checkpoints, with their fsyncs, run in the background). More only
	// holds memory: the writer keeps up, and every page of memory touched
	// for the first time costs a page fault, which on virtual machines
	// can cost more than simulating a point.
	results := make(chan *chunkResult, flush/BatchSize/4+2*workers)
	// Workers take chunks in order from a shared counter: no feeder
	// goroutine to wake for every chunk.
	var next atomic.Int64
	var mu sync.Mutex // guards stats.Skipped
	// A failed write stops the workers: nothing they do can be kept.
	wkctx, stopWorkers := context.WithCancel(ctx)
	defer stopWorkers()
	if opener != nil {
		// Waited for by the writer, which the sweep waits for.
		go func() {
			defer close(k.ready)
			if k.store, k.runID, k.err = opener(ctx); k.err != nil {
				stopWorkers() // nothing they do can be kept
			}
		}()
	}
	g, gctx := errgroup.WithContext(wkctx)
	for w := 0; w < workers; w++ {
		wk := first
		if w > 0 {
			wk = &sweepWorker{s: s, gr: gr, sims: map[int]*pathwaySim{}}
		}
		g.Go(func() error {
			defer func() {
				mu.Lock()
				stats.Skipped += wk.skipped
				mu.Unlock()
			}()
			for {
				i := int(next.Add(1) - 1)
				if i >= nChunks {
					return nil
				}
				if err := gctx.Err(); err != nil {
					return err
				}
				skipped := wk.skipped
				res, err := wk.run(gctx, gr.chunkAt(chunks.at(i)), opt.Skip, opt.Only)
				if err != nil {
					return err
				}
				if res == nil { // every point skipped: the writer still counts them
					res = &chunkResult{}
				}
				res.seq, res.skipped = i, wk.skipped-skipped
				select {
				case results <- res:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
		})
	}
	var werr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Chunks are gathered into an open block, closed when the next
		// chunk would take its row past a database page (db.MaxRowBytes)
		// or is another pathway's (chunks come pathway after pathway, so
		// that one is finished). A write transaction takes the closed
		// blocks once they hold flush points; the open one too when that
		// is all there is, two seconds after it was last written, and at
		// the end.
		var open *db.PointBlock           // nil when every block is closed
		var ready, spare []*db.PointBlock // spare: written blocks, for reuse
		buffered, n := 0, 0               // buffered: points not yet written
		last := time.Now()                // of the last write of the open block
		// While the run is being recorded (SweepNew), points are held,
		// up to hold of them.
		hold := 4 * flush
		write := func(all bool) {
			if buffered == 0 || werr != nil || !all && buffered < hold && !k.isReady() {
				return
			}
			if !k.wait() {
				werr = k.err
				return // the opener stopped the workers
			}
			if (all || len(ready) == 0) && open != nil {
				ready, open = append(ready, open), nil
				last = time.Now()
			}
			if err := k.store.InsertPointBlocks(wctx, k.runID, ready); err != nil {
				werr = err
				stopWorkers()
			}
			spare = append(spare, ready...)
			clear(ready)
			ready, buffered = ready[:0], 0
			if open != nil {
				buffered = open.Len()
			}
		}
		// Chunks are taken in the order of the grid, whatever order the
		// workers finish them in: a block then holds consecutive indexes
		// (stored without them, and read one block at a time), and the
		// blocks do not depend on the worker count.
		pending := map[int]*chunkResult{}
		want := 0
		var add func(*chunkResult)
		take := func(res *chunkResult) {
			// Points recorded before a resume count towards the total.
			n += res.skipped
			if res.block != nil {
				add(res)
			}
			if opt.Progress != nil {
				opt.Progress(n, total)
			}
		}
		add = func(res *chunkResult) {
			stats.Pathways[res.block.Pathway].add(res.ok, res.failed, res.minPSP, res.maxPSP, res.peakAtEnd)
			if open != nil && (open.Pathway != res.block.Pathway || !open.Fits(res.block)) {
				ready, open = append(ready, open), nil
			}
			if open == nil {
				if k := len(spare); k > 0 {
					open, spare[k-1], spare = spare[k-1], nil, spare[:k-1]
				} else {
					open = new(db.PointBlock)
				}
				open.SetHeader(res.block)
				open.AddBlock(res.block)
				// Room for a whole row at once: grown by appends, a block
				// leaves garbage twice its size, all of it fresh memory.
				if r := open.Room(); r > 0 {
					open.Grow(min(r, flush))
				}
			} else {
				open.AddBlock(res.block)
			}
			chunkBlocks.Put(res.block) // a worker may take it from here on
			res.block = nil
			buffered += res.ok + res.failed
			n += res.ok + res.failed
			switch {
			case buffered >= flush:
				write(false)
			case time.Since(last) > 2*time.Second:
				write(true)
			}
		}
		for res := range results {
			pending[res.seq] = res
			for r := pending[want]; r != nil; r = pending[want] {
				delete(pending, want)
				want++
				take(r)
			}
		}
		// After a stop, the chunks finished past a gap.
		for _, seq := range slices.Sorted(maps.Keys(pending)) {
			take(pending[seq])
		}
		// A run is recorded (SweepNew) even without a point to write.
		if k.wait() {
			write(true)
		}
	}()
	err := g.Wait()
	close(results)
	<-done
	if k.err != nil {
		return stats, k.err
	}
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

// CheckSimulable returns the error of the first pathway of s that cannot
// be simulated at all (dt beyond its cell's stability limit or that of
// its receptors' gating at the longest swept time constants, a held state
// the cell leaves on its own), which Sweep would stop at or fail at every
// point of: a command calls
// it before recording a run, so that none is left failed, and slurm
// before writing an array whose every task would fail.
func CheckSimulable(s *spec.Spec) error {
	// The swept kinetics at their longest, the most stable: when even
	// those grow step by step, every point would.
	tDecay, tRise := axisMax(s.Sweep.TDecay), axisMax(s.Sweep.TRise)
	for p := range s.Pathways {
		setup, rs, err := s.Setup(p)
		if err == nil {
			_, err = sim.New(setup, 1)
		}
		if err == nil {
			rs = slices.Clone(rs)
			if tDecay > 0 {
				rs[0].TauDecay = tDecay
			}
			if tRise > 0 && rs[0].TauRise > 0 {
				rs[0].TauRise = tRise
			}
			err = sim.CheckGating(setup.Protocol, rs)
			// Said of the swept time constant when it is the one.
			var ge *sim.GatingError
			if errors.As(err, &ge) && ge.Receptor == 0 && (ge.Param == "t_decay" && tDecay > 0 || ge.Param == "t_rise" && tRise > 0) {
				err = fmt.Errorf("with the swept time constants at their longest: %w", err)
			}
		}
		if err != nil {
			return fmt.Errorf("pathway %d (%s): %w", p, s.Pathways[p].Label(), err)
		}
	}
	return nil
}

// axisMax is the largest value of a sweep axis, 0 when none is given: a
// range's is at one of its ends (ranges are monotonic), with the bits the
// grid uses, and its values are not all computed.
func axisMax(a spec.Axis) float64 {
	switch {
	case !a.Given():
		return 0
	case a.List != nil:
		return slices.Max(a.List)
	}
	return max(a.Value(0), a.Value(a.Len()-1))
}

// chunkBlocks recycles the blocks of chunks once the writer has copied
// them.
var chunkBlocks = sync.Pool{New: func() any { return new(db.PointBlock) }}

// chunkResult is a worker's block of one chunk and its summary.
type chunkResult struct {
	seq            int            // the chunk's position in the sweep's list
	block          *db.PointBlock // nil when every point was skipped
	ok, failed     int
	peakAtEnd      int     // ok points whose PSP peaks at the window's end
	skipped        int     // points recorded before a resume, left out
	minPSP, maxPSP float64 // over the ok points
}

// sweepWorker owns one simulator per pathway, reused across chunks, and
// the buffers of a chunk.
type sweepWorker struct {
	s       *spec.Spec
	gr      *Grid
	sims    map[int]*pathwaySim
	lanes   [][]sim.Receptor
	out     []sim.Result
	errs    []error
	bp      db.BlockPoint
	skipped int
}

// pathwaySim is a pathway's setup, the simulator compiled from it and the
// header of its point blocks.
type pathwaySim struct {
	setup  *sim.Setup
	sm     *sim.Simulator
	header db.PointBlock
}

func (w *sweepWorker) pathway(p int) (*pathwaySim, error) {
	if ps := w.sims[p]; ps != nil {
		return ps, nil
	}
	setup, _, err := w.s.Setup(p)
	if err != nil {
		return nil, fmt.Errorf("pathway %d (%s): %w", p, w.s.Pathways[p].Label(), err)
	}
	sm, err := sim.New(setup, BatchSize)
	if err != nil {
		return nil, fmt.Errorf("pathway %d (%s): %w", p, w.s.Pathways[p].Label(), err)
	}
	sp := w.s.Pathways[p]
	ps := &pathwaySim{setup: setup, sm: sm, header: db.PointBlock{
		Pathway: p, Pre: sp.Pre, Post: sp.Post, Compartment: sp.Compartment, Record: sp.Record, Tag: sp.Tag,
		Axes: w.gr.Axes(),
	}}
	for _, rc := range sp.Receptors {
		ps.header.Channels = append(ps.header.Channels, rc.Channel.String())
	}
	for _, c := range setup.Cell.Compartments {
		ps.header.Compartments = append(ps.header.Compartments, c.Name)
	}
	w.sims[p] = ps
	return ps, nil
}

func (w *sweepWorker) run(ctx context.Context, c chunk, skip, only *db.Recorded) (*chunkResult, error) {
	p, _ := w.gr.locate(c.lo)
	ps, err := w.pathway(p)
	if err != nil {
		return nil, err
	}
	if len(w.lanes) < BatchSize {
		w.lanes = make([][]sim.Receptor, BatchSize)
		w.out = make([]sim.Result, BatchSize)
		w.errs = make([]error, BatchSize)
	}
	var idx [BatchSize]int
	n := 0
	for i := c.lo; i < c.hi; i++ {
		_, k := w.gr.locate(i)
		if skip.Has(p, ps.header.Axes, k) || only != nil && !only.Has(p, ps.header.Axes, k) {
			w.skipped++
			continue
		}
		w.lanes[n] = w.gr.receptors(i, w.lanes[n])
		idx[n] = k
		n++
	}
	if n == 0 {
		return nil, nil
	}
	if err := ps.sm.RunEach(ctx, w.lanes[:n], nil, w.out, w.errs); err != nil {
		return nil, err
	}
	res := &chunkResult{block: chunkBlocks.Get().(*db.PointBlock), minPSP: math.Inf(1), maxPSP: math.Inf(-1)}
	res.block.SetHeader(&ps.header)
	res.block.Grow(n)
	steady := ps.sm.Steady()
	for l := 0; l < n; l++ {
		r := &w.out[l]
		if w.errs[l] != nil {
			r = &sim.Result{}
		}
		blockPointOf(&w.bp, ps.setup, w.lanes[l], steady, r)
		w.bp.Index = idx[l]
		if e := w.errs[l]; e != nil {
			w.bp.Error = e.Error()
			res.failed++
		} else {
			res.ok++
			res.minPSP, res.maxPSP = min(res.minPSP, w.bp.PSPMV), max(res.maxPSP, w.bp.PSPMV)
			if r.PeakAtEnd() {
				res.peakAtEnd++
			}
		}
		res.block.Add(&w.bp)
	}
	return res, nil
}

// blockPointOf fills bp with the point of receptors rs and result r in
// the recorded units (NaN for an absent value): the one conversion of a
// result's numbers, which newPathwayResult takes too.
func blockPointOf(bp *db.BlockPoint, setup *sim.Setup, rs []sim.Receptor, ss sim.SteadyState, r *sim.Result) {
	nan := math.NaN()
	bp.GNS, bp.TDecayMS, bp.TRiseMS = bp.GNS[:0], bp.TDecayMS[:0], bp.TRiseMS[:0]
	for _, rc := range rs {
		bp.GNS = append(bp.GNS, rc.G/1e-9)
		bp.TDecayMS = append(bp.TDecayMS, rc.TauDecay/1e-3)
		tr := nan
		if rc.TauRise > 0 {
			tr = rc.TauRise / 1e-3
		}
		bp.TRiseMS = append(bp.TRiseMS, tr)
	}
	bp.PSPMV = r.PSP / 1e-3
	bp.BaselineMV = r.Baseline / 1e-3
	bp.TimeToPeakMS = float64(r.PeakStep-r.SpikeStep) * setup.Protocol.Dt / 1e-3
	bp.Rise1090MS, bp.HalfWidthMS, bp.IHoldPA = nan, nan, nan
	if r.HasRise {
		bp.Rise1090MS = r.Rise1090 / 1e-3
	}
	if r.HasHalfWidth {
		bp.HalfWidthMS = r.HalfWidth / 1e-3
	}
	if setup.Protocol.Hold {
		bp.IHoldPA = ss.IHold / 1e-12
	}
	bp.PeaksMV = bp.PeaksMV[:0]
	for c := range setup.Cell.Compartments {
		v := nan
		if r.Peaks != nil {
			v = r.Peaks[c] / 1e-3
		}
		bp.PeaksMV = append(bp.PeaksMV, v)
	}
	bp.DSpikeFired = r.DSpikeFired
	bp.Error = ""
}

// RunStats summarises every point run runID of s holds, as Sweep
// summarises the points it sweeps (Skipped is 0): what a resumed sweep
// reports for the whole run, not only its own session.
func RunStats(ctx context.Context, d *db.DB, s *spec.Spec, runID int64) (*SweepStats, error) {
	st := &SweepStats{Pathways: make([]PathwayStats, len(s.Pathways))}
	// The time to peak of the window's last sample, as Sweep writes it.
	p := sim.Protocol{Dt: s.Simulation.Dt, Duration: s.Simulation.Duration, SpikeAt: s.Simulation.SpikeAt}
	lastMS := float64(p.Steps()-1-p.SpikeStep()) * p.Dt / 1e-3
	err := d.EachPoint(ctx, db.PointFilter{RunID: runID}, func(pt *db.Point) error {
		if pt.Pathway < 0 || pt.Pathway >= len(st.Pathways) {
			return fmt.Errorf("run %d: point %s of pathway %d, which the spec has not", runID, pt.PointKey, pt.Pathway)
		}
		ps := &st.Pathways[pt.Pathway]
		if pt.Status == db.PointFailed {
			ps.add(0, 1, 0, 0, 0)
			return nil
		}
		atEnd := 0
		if pt.PSPMV != 0 && pt.TimeToPeakMS == lastMS {
			atEnd = 1
		}
		ps.add(1, 0, pt.PSPMV, pt.PSPMV, atEnd)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}
