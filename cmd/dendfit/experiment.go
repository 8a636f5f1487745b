package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/dendfit/dendfit/db"
)

// defaultExperiment fills a left-out --experiment (*name) with the
// database's one experiment, unless a run id was given instead, and
// refuses a name the database does not hold. With none, or several, it
// says so, naming them; runFlag says whether the command has --run to
// offer instead.
func defaultExperiment(ctx context.Context, d *db.DB, path string, name *string, runID int64, runFlag bool) error {
	if runID != 0 {
		return nil
	}
	exps, err := d.Experiments(ctx)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range exps {
		if !slices.Contains(names, e.Name) {
			names = append(names, e.Name)
		}
	}
	if *name != "" {
		// A mistyped name would otherwise read as "no finished run".
		if !slices.Contains(names, *name) {
			return usageError{fmt.Errorf("experiment %q is not in %s (it holds %s)", *name, path, holds(names))}
		}
		return nil
	}
	switch len(names) {
	case 1:
		*name = names[0]
		return nil
	case 0:
		return fmt.Errorf("%s holds no experiment yet (run 'dendfit fit' or 'dendfit sweep' first)", path)
	}
	give := "--experiment NAME"
	if runFlag {
		give += " or --run ID"
	}
	return usageError{fmt.Errorf("give %s: %s holds %d experiments (%s)", give, path, len(names), strings.Join(names, ", "))}
}

// holds lists experiment names for a message.
func holds(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// openRead opens the database read-only for a command that reads results,
// saying what to do when there is none yet.
func (g *globals) openRead(ctx context.Context) (*db.DB, error) {
	if err := g.checkDB(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(g.db); errors.Is(err, os.ErrNotExist) {
		if !g.dbFlag && os.Getenv(db.EnvPath) != "" {
			return nil, fmt.Errorf("no database %s (%s): set %s to a dendfit database, or give --db FILE, or record results there first with 'dendfit fit' or 'dendfit sweep'", g.db, db.EnvPath, db.EnvPath)
		}
		return nil, fmt.Errorf("no database %s: give --db FILE (or set DENDFIT_DB), or record results there first with 'dendfit fit' or 'dendfit sweep'", g.db)
	}
	return db.OpenReadOnly(ctx, g.db)
}
