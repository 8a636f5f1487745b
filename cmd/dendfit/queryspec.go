package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/dendfit/dendfit/db"
)

func newQuerySpecCmd(g *globals) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "spec RUN_ID [-o FILE]",
		Short: "Write the spec a run ran, byte for byte as it was read",
		Long: `spec writes the spec text run RUN_ID recorded, byte for byte as the command
read it (comments and layout included), after checking it against the
SHA-256 recorded with it: the file to resume, rerun or edit that run's
spec from when the original is gone or has changed since. To stdout, or
with -o to a file written atomically.`,
		Example: `  dendfit query spec 1
  dendfit query spec 1 -o run1.yaml`,
		Annotations: map[string]string{textOnly: "writes the spec's text byte for byte as it was read, not JSON ('dendfit query experiments --json' lists the specs)"},
		Args:        exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return usageError{fmt.Errorf("RUN_ID %q: want a run id (dendfit query runs lists them)", args[0])}
			}
			ctx := cmd.Context()
			d, err := g.openRead(ctx)
			if err != nil {
				return err
			}
			defer d.Close()
			run, err := d.Run(ctx, id)
			if errors.Is(err, db.ErrNotFound) {
				return fmt.Errorf("run %d: no such run in %s (dendfit query runs lists them)", id, g.db)
			}
			if err != nil {
				return err
			}
			exp, err := d.Experiment(ctx, run.ExperimentID)
			if err != nil {
				return err
			}
			if err := exp.CheckText(); err != nil {
				return fmt.Errorf("run %d: %w", id, err)
			}
			write := func(w io.Writer) error { _, err := w.Write(exp.SpecText); return err }
			if out == "" || out == "-" {
				return write(g.stdout)
			}
			if err := writeFileAtomic(out, write); err != nil {
				return err
			}
			g.notef("wrote %s: the spec of run %d (experiment %s, SHA-256 %.12s)", out, id, exp.Name, exp.SpecSHA256)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of stdout")
	return cmd
}
