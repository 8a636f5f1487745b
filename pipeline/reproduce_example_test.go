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

// Rerun a recorded simulate run and compare its points bit for bit.
func ExampleReproduce() {
	dir, err := os.MkdirTemp("", "dendfit-reproduce")
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
	s, err := spec.Load("testdata/reference/cases/two-populations-three-pathways.yaml")
	if err != nil {
		log.Fatal(err)
	}

	// What `dendfit simulate` records.
	run, err := pipeline.StartRun(ctx, d, s, pipeline.RunInfo{Command: db.CommandSimulate, Settings: pipeline.SimulateSettings{}})
	if err != nil {
		log.Fatal(err)
	}
	res, err := pipeline.Simulate(ctx, s, nil)
	if err != nil {
		log.Fatal(err)
	}
	var pts []db.Point
	for i := range res {
		pts = append(pts, pipeline.PointOf(pipeline.SimulateKey(res[i].Pathway), &res[i]))
	}
	if err := d.InsertPoints(ctx, run.ID, pts); err != nil {
		log.Fatal(err)
	}
	if err := run.Finish(nil); err != nil {
		log.Fatal(err)
	}

	r, err := pipeline.Reproduce(ctx, d, run.ID, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Command, r.Points, r.Identical(), *r.New.ReproducesRunID == run.ID)
	// Output: simulate 3 true true
}

func ExampleComparePoints() {
	old := []db.Point{{PointKey: "p0", PSPMV: 0.5}, {PointKey: "p1", PSPMV: 1}}
	rerun := []db.Point{{PointKey: "p0", PSPMV: 0.5000000000000001}}
	for _, d := range pipeline.ComparePoints(old, rerun) {
		fmt.Println(d.Key, d.Field, d.Old, d.New)
	}
	// Output:
	// p0 psp_mV 0.5 0.5000000000000001
	// p1 point recorded missing
}
