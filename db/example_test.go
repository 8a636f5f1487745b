package db_test

import (
	"context"
	"fmt"
	"log"
	"math"
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

// exampleSweep records, in a new database in a temporary directory, a
// sweep run of a 5-point g axis as one block, the way dendfit sweep does.
// It returns the database, the run's id and what removes them.
func exampleSweep() (*db.DB, int64, func()) {
	dir, err := os.MkdirTemp("", "dendfit-example")
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	d, err := db.Open(ctx, filepath.Join(dir, "dendfit.db"))
	if err != nil {
		log.Fatal(err)
	}
	expID, err := d.PutExperiment(ctx, "ca1", []byte("name: ca1\n"))
	if err != nil {
		log.Fatal(err)
	}
	run := db.NewRun(expID, db.CommandSweep, nil)
	if _, err := d.CreateRun(ctx, run); err != nil {
		log.Fatal(err)
	}
	b := &db.PointBlock{Pathway: 0, Pre: "CA3", Post: "CA1", Channels: []string{"AMPA"}, Compartments: []string{"soma"}, Axes: [3]int{5, 0, 0}}
	for i := 4; i >= 0; i-- { // in any order
		g := float64(i + 1)
		b.Add(&db.BlockPoint{Index: i, GNS: []float64{g}, TDecayMS: []float64{2}, TRiseMS: []float64{math.NaN()},
			PSPMV: 0.25 * g, BaselineMV: -70, TimeToPeakMS: 3, Rise1090MS: 1, HalfWidthMS: 8, IHoldPA: math.NaN(),
			PeaksMV: []float64{0.25 * g}})
	}
	if err := d.InsertPointBlocks(ctx, run.ID, []*db.PointBlock{b}); err != nil {
		log.Fatal(err)
	}
	return d, run.ID, func() { d.Close(); os.RemoveAll(dir) }
}

// EachPoint reads a run of any size point by point, in key order.
func ExampleDB_EachPoint() {
	d, run, remove := exampleSweep()
	defer remove()

	err := d.EachPoint(context.Background(), db.PointFilter{RunID: run, Limit: 3}, func(p *db.Point) error {
		fmt.Println(p.PointKey, p.GNS, p.PSPMV)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// p0000/g000000/d-/r- 1 0.25
	// p0000/g000001/d-/r- 2 0.5
	// p0000/g000002/d-/r- 3 0.75
}

// RecordedPoints is what a resumed sweep skips: a set of grid points.
func ExampleDB_RecordedPoints() {
	d, run, remove := exampleSweep()
	defer remove()

	done, err := d.RecordedPoints(context.Background(), run)
	if err != nil {
		log.Fatal(err)
	}
	axes := [3]int{5, 0, 0}
	fmt.Println(done.Len(), done.Has(0, axes, 4), done.Has(0, axes, 5), done.Has(1, axes, 0))
	// Output: 5 true false false
}

// QueryReadOnly is query sql: any SQLite tool's view of the points,
// decoded from the sweep's blocks in SQL; a statement that would write is
// refused before it runs.
func ExampleDB_QueryReadOnly() {
	d, run, remove := exampleSweep()
	defer remove()
	ctx := context.Background()

	cols, rows, err := d.QueryReadOnly(ctx, fmt.Sprintf(
		"SELECT count(*) AS n, max(abs(psp_mV)) AS max_psp_mV, sum(g_nS) AS sum_g_nS FROM points WHERE run_id = %d", run))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cols, rows)

	_, _, err = d.QueryReadOnly(ctx, "DELETE FROM point_blocks")
	fmt.Println(err)
	// Output:
	// [n max_psp_mV sum_g_nS] [[5 1.25 15]]
	// query: statement would write; only read-only SQL is allowed
}
