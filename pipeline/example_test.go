package pipeline_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/pipeline"
	"github.com/dendfit/dendfit/sim/spec"
)

// The PSP of every pathway of a spec at its spec conductances, as
// `dendfit simulate` prints it.
func ExampleSimulate() {
	s, err := spec.Load("testdata/reference/cases/seed-ampa-2comp-dimensional.yaml")
	if err != nil {
		log.Fatal(err)
	}
	res, err := pipeline.Simulate(context.Background(), s, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range res {
		fmt.Printf("%s->%s: PSP %.6f mV at %s, peak %.1f ms after the spike\n", r.Pre, r.Post, r.PSPMV, r.Record, r.TimeToPeakMS)
	}
	// Output: L23E->L23E: PSP 0.746830 mV at soma, peak 9.1 ms after the spike
}

// Calibrate g to each pathway's target_psp, as `dendfit fit` does
// (without recording: see RecordFit).
func ExampleFit() {
	s, err := spec.Load("testdata/reference/cases/seed-ampa-2comp-dimensional.yaml")
	if err != nil {
		log.Fatal(err)
	}
	res, err := pipeline.Fit(context.Background(), s, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range res {
		fmt.Printf("pathway %d: %s, g = %.6f nS for %.1f mV (%.4f mV at dt/10)\n", r.Pathway, r.Outcome, r.GFitNS[0], r.TargetPSPMV, *r.PSPFineDtMV)
		for _, w := range r.Warnings {
			fmt.Println("warning:", w)
		}
	}
	// Output: pathway 0: converged, g = 0.666941 nS for 0.5 mV (0.4971 mV at dt/10)
}

// Sweep a spec's grid into a results database, as `dendfit sweep` does,
// and read the points back.
func ExampleSweep() {
	dir, err := os.MkdirTemp("", "dendfit-sweep")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	d, err := db.Open(ctx, filepath.Join(dir, "dendfit.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	s, err := spec.Load("testdata/reference/cases/ampa-instant-2comp-dimensionless-gsweep.yaml")
	if err != nil {
		log.Fatal(err)
	}
	run, err := pipeline.StartRun(ctx, d, s, pipeline.RunInfo{Command: db.CommandSweep})
	if err != nil {
		log.Fatal(err)
	}
	st, err := pipeline.Sweep(ctx, s, d, run.ID, &pipeline.SweepOptions{Workers: 2})
	if err := run.Finish(err); err != nil {
		log.Fatal(err)
	}
	p := st.Pathways[0]
	fmt.Printf("%d points, PSP %.4f to %.4f mV\n", p.Points, p.MinPSPMV, p.MaxPSPMV)
	pts, err := d.Points(ctx, db.PointFilter{RunID: run.ID, Limit: 2})
	if err != nil {
		log.Fatal(err)
	}
	for _, pt := range pts {
		fmt.Printf("%s: g %.4f nS, PSP %.4f mV\n", pt.PointKey, pt.Receptors[0].GNS, pt.PSPMV)
	}
	// Output:
	// 12 points, PSP 0.0302 to 2.6850 mV
	// p0000/g000000/d-/r-: g 0.1000 nS, PSP 0.0302 mV
	// p0000/g000001/d-/r-: g 0.1520 nS, PSP 0.0459 mV
}

// A hint that gives the command to go on with a shard's sweep appends its
// --shard; a sweep of the whole grid has none.
func ExampleShardArg() {
	fmt.Println("dendfit sweep spec.yaml --resume=7" + pipeline.ShardArg(2, 4))
	fmt.Println("dendfit sweep spec.yaml --resume=8" + pipeline.ShardArg(1, 1))
	// Output:
	// dendfit sweep spec.yaml --resume=7 --shard 2/4
	// dendfit sweep spec.yaml --resume=8
}
