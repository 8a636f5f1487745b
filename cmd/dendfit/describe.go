package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dendfit/dendfit/pipeline"
	"github.com/dendfit/dendfit/sim/spec"
)

func init() { extraCommands = append(extraCommands, newDescribeCmd) }

func newDescribeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "describe SPEC",
		Short: "Check a spec and show its cells as the simulator builds them",
		Long: `describe validates a spec and prints every cell with what Dendrify's rules make
of it: each compartment's capacitance, leak, leak reversal, membrane time
constant, resting potential and input resistance at rest (R_in: the
steady-state change of its V per current injected into it, adaptation
included), the axial coupling conductances, and the
cell's fastest passive time constant (explicit methods need dt well below
it). Nothing is simulated or recorded.`,
		Example:     `  dendfit describe experiments/cortex-paired-recordings.yaml`,
		Annotations: opensNoDB,
		Args:        exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.loadSpec(args[0])
			if err != nil {
				return err
			}
			cells, err := pipeline.Describe(s)
			if err != nil {
				return err
			}
			if g.json {
				warnings := s.Warnings
				if warnings == nil {
					warnings = []string{}
				}
				// The warnings are on stderr too, as for every command.
				return printJSON(g.stdout, struct {
					Experiment string                        `json:"experiment"`
					Cells      []pipeline.CellDescription    `json:"cells"`
					Pathways   []pipeline.PathwayDescription `json:"pathways"`
					GridPoints int                           `json:"sweep_grid_points"` // 0 without a sweep block
					Warnings   []string                      `json:"warnings"`
				}{s.Name, cells, pipeline.DescribePathways(s), gridPoints(s), warnings})
			}
			for i, c := range cells {
				if i > 0 {
					fmt.Fprintln(g.stdout)
				}
				kind := "NeuronModel"
				if c.Point {
					kind = "PointNeuronModel"
				}
				pops := "populations " + strings.Join(c.Populations, ", ")
				if len(c.Populations) == 0 {
					pops = "no population uses it"
				}
				fmt.Fprintf(g.stdout, "cell %s (%s; %s); fastest passive time constant %.4g ms\n",
					c.Cell, kind, pops, c.FastestTauMS)
				tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
				fmt.Fprintf(tw, "compartment\tmodel\tC_pF\tgL_nS\tEL_mV\ttau_m_ms\trest_mV\tR_in_MOhm\tdSpikes\t\n")
				for _, cp := range c.Compartments {
					ds := strings.Join(cp.DSpikes, ",")
					if ds == "" {
						ds = "-"
					}
					rest, rIn := "-", "-"
					if cp.RestMV != nil {
						rest = fmt.Sprintf("%.6g", *cp.RestMV)
					}
					if cp.RInMOhm != nil {
						rIn = fmt.Sprintf("%.4g", *cp.RInMOhm)
					}
					fmt.Fprintf(tw, "%s\t%s\t%.6g\t%.6g\t%.6g\t%.4g\t%s\t%s\t%s\t\n", cp.Name, cp.Model, cp.CPF, cp.GLNS, cp.ELMV, cp.TauMS, rest, rIn, ds)
				}
				tw.Flush()
				if c.NoRest != "" {
					fmt.Fprintf(g.stdout, "  no resting state: %s\n", c.NoRest)
				}
				for _, cu := range c.Couplings {
					fmt.Fprintf(g.stdout, "  %s <-> %s: %.6g nS\n", cu.A, cu.B, cu.GNS)
				}
			}
			fmt.Fprintf(g.stdout, "\n%d pathway%s: ", len(s.Pathways), plural(len(s.Pathways)))
			labels := make([]string, len(s.Pathways))
			for i, p := range s.Pathways {
				labels[i] = p.Label()
			}
			fmt.Fprintln(g.stdout, strings.Join(labels, "; "))
			// What a sweep, or a cluster array, is in for.
			if n := gridPoints(s); n > 0 {
				fmt.Fprintf(g.stdout, "sweep grid: %d points (%d a pathway)\n", n, n/max(len(s.Pathways), 1))
			}
			return nil
		},
	}
}

// gridPoints is the number of points of s's sweep grid over every
// pathway, 0 without a sweep block.
func gridPoints(s *spec.Spec) int {
	if !s.Sweep.Given() {
		return 0
	}
	return pipeline.NewGrid(s).Len()
}
