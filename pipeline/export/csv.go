package export

import (
	"encoding/csv"
	"io"
	"strconv"
)

// csvHeader is the header `--format csv` writes: one row per pathway and
// receptor.
var csvHeader = []string{"pathway", "pre", "post", "compartment", "tag", "channel", "g_nS", "scale_g", "t_rise_ms", "t_decay_ms",
	"target_psp_mV", "psp_at_fit_mV", "converged", "record", "holding_mV", "i_hold_pA", "fit_run_id"}

func writeCSV(w io.Writer, c *Calibration) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, sy := range c.synapses() {
		tr := ""
		if sy.r.TauRise > 0 {
			tr = num(sy.r.TauRise / 1e-3)
		}
		target, psp, conv, run := "", "", "", ""
		if f := c.fitOf(sy.pathway); f != nil {
			// (A combined export's fits come from several runs.)
			run = strconv.FormatInt(c.runOf(sy.pathway).ID, 10)
			target, conv = num(f.TargetPSPMV), strconv.FormatBool(f.Converged)
			if f.Converged {
				psp = num(f.PSPAtFitMV)
			}
		} else if sy.p.TargetPSP > 0 {
			target = num(sy.p.TargetPSP / 1e-3)
		}
		hold, cur := "", ""
		if v, i, held, err := c.holding(sy.pathway); err != nil {
			return err
		} else if held {
			hold, cur = num(v), num(i)
		}
		row := []string{strconv.Itoa(sy.pathway), sy.p.Pre, sy.p.Post, sy.p.Compartment, sy.p.Tag, sy.r.Channel.String(),
			num(sy.gNS), strconv.FormatBool(sy.r.ScaleG && sy.r.TauRise > 0), tr, num(sy.r.TauDecay / 1e-3), target, psp, conv,
			sy.p.Record, hold, cur, run}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
