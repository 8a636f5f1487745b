package export

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
)

// csvHeader is the header `--format csv` writes: one row per pathway and
// receptor. g_nS is the spec's g (before scale_g), g_eff_nS the
// conductance in the equations; warnings are the fit's, and why the
// pathway has no steady state (then no i_hold_pA) when it has none, " | "
// between them.
var csvHeader = []string{"pathway", "pre", "post", "compartment", "tag", "channel", "g_nS", "scale_g", "t_rise_ms", "t_decay_ms",
	"target_psp_mV", "psp_at_fit_mV", "converged", "record", "holding_mV", "i_hold_pA", "fit_run_id", "g_eff_nS", "warnings"}

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
		target, psp, conv, run, warn := "", "", "", "", ""
		if f := c.fitOf(sy.pathway); f != nil {
			warn = strings.Join(f.Warnings, " | ")
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
		if v, i, held, known, err := c.holding(sy.pathway); err != nil {
			return err
		} else if held {
			hold = num(v)
			if known {
				cur = num(i)
			}
		}
		if st, err := c.state(sy.pathway); err != nil {
			return err
		} else if st.err != nil {
			if warn != "" {
				warn += " | "
			}
			warn += st.err.Error()
		}
		row := []string{strconv.Itoa(sy.pathway), sy.p.Pre, sy.p.Post, sy.p.Compartment, sy.p.Tag, sy.r.Channel.String(),
			num(sy.gNS), strconv.FormatBool(sy.r.ScaleG && sy.r.TauRise > 0), tr, num(sy.r.TauDecay / 1e-3), target, psp, conv,
			sy.p.Record, hold, cur, run, num(sy.gEffNS()), warn}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
