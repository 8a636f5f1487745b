package export_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/pipeline"
	"github.com/dendfit/dendfit/pipeline/export"
	"github.com/dendfit/dendfit/sim/spec"
)

const exampleSpec = `dendfit: 1
experiment: example
cells:
  pv:
    compartments:
      - {name: soma, type: soma, cm_abs: 80 pF, gl_abs: 8 nS, v_rest: -65 mV}
populations: {PV: pv}
pathways:
  - {pre: PV, post: PV, compartment: soma, receptors: [{channel: AMPA, g: 1 nS, t_decay: 1.5 ms}], target_psp: 1 mV}
`

// Export the newest finished fit of an experiment as CSV.
func Example() {
	dir, err := os.MkdirTemp("", "dendfit-export")
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

	// A recorded fit run, as `dendfit fit` leaves it.
	s, err := spec.Parse("example.yaml", []byte(exampleSpec))
	if err != nil {
		log.Fatal(err)
	}
	run, err := pipeline.StartRun(ctx, d, s, pipeline.RunInfo{Command: db.CommandFit})
	if err != nil {
		log.Fatal(err)
	}
	fit := db.Fit{Pathway: 0, Receptors: []string{"AMPA"}, TargetPSPMV: 1, GFitNS: []float64{1.1559462890625},
		PSPAtFitMV: 1, Converged: true, Outcome: "converged"}
	if _, err := d.InsertFit(ctx, run.ID, fit); err != nil {
		log.Fatal(err)
	}
	if err := run.Finish(nil); err != nil {
		log.Fatal(err)
	}

	c, err := export.Load(ctx, d, "example", 0)
	if err != nil {
		log.Fatal(err)
	}
	if err := export.Write(os.Stdout, c, export.CSV); err != nil {
		log.Fatal(err)
	}
	// Output:
	// pathway,pre,post,compartment,tag,channel,g_nS,scale_g,t_rise_ms,t_decay_ms,target_psp_mV,psp_at_fit_mV,converged,record,holding_mV,i_hold_pA,fit_run_id,g_eff_nS,warnings
	// 0,PV,PV,soma,PV,AMPA,1.1559462890625,false,,1.5,1,1,true,soma,,,1,1.1559462890625,
}

func ExampleParseFormat() {
	f, err := export.ParseFormat("dendrify")
	fmt.Println(f, err)
	_, err = export.ParseFormat("xlsx")
	fmt.Println(err)
	// Output:
	// dendrify <nil>
	// export: unknown format "xlsx" (want dendrify, json, csv, yaml)
}
