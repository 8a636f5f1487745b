package db_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/dendfit/dendfit/db"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "dendfit-example")
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

	expID, err := d.PutExperiment(ctx, "ca1", []byte("name: ca1\n"))
	if err != nil {
		log.Fatal(err)
	}
	run := db.NewRun(expID, db.CommandSweep, []string{"dendfit", "sweep", "ca1.yaml"})
	if _, err := d.CreateRun(ctx, run); err != nil {
		log.Fatal(err)
	}
	err = d.InsertPoints(ctx, run.ID, []db.Point{
		{Pathway: 0, PointKey: "p0/g=1", GNS: 1, TDecayMS: 5, PSPMV: 0.42},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := d.FinishRun(ctx, run.ID, db.StatusDone, ""); err != nil {
		log.Fatal(err)
	}

	newest, err := d.NewestRun(ctx, "ca1", db.CommandSweep, db.StatusDone)
	if err != nil {
		log.Fatal(err)
	}
	points, err := d.Points(ctx, db.PointFilter{RunID: newest.ID})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(newest.Experiment, newest.Command, newest.Status, len(points), points[0].PSPMV)
	// Output: ca1 sweep done 1 0.42
}
