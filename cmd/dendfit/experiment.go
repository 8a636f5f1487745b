package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/dendfit/dendfit/db"
)

// defaultExperiment fills a left-out --experiment (*name) with the
// database's one experiment, unless a run id was given instead.
func defaultExperiment(ctx context.Context, d *db.DB, path string, name *string, runID int64) error {
	if *name != "" || runID != 0 {
		return nil
	}
	var err error
	*name, err = soleExperiment(ctx, d, path)
	return err
}

// soleExperiment is what a left-out --experiment means: the one experiment
// recorded in d (at path), so that a database of one experiment needs no
// name. With none, or several, it says so, naming them.
func soleExperiment(ctx context.Context, d *db.DB, path string) (string, error) {
	exps, err := d.Experiments(ctx)
	if err != nil {
		return "", err
	}
	var names []string
	for _, e := range exps {
		if !slices.Contains(names, e.Name) {
			names = append(names, e.Name)
		}
	}
	switch len(names) {
	case 1:
		return names[0], nil
	case 0:
		return "", fmt.Errorf("%s holds no experiment yet (run 'dendfit fit' or 'dendfit sweep' first)", path)
	}
	return "", usageError{fmt.Errorf("give --experiment NAME or --run ID: %s holds %d experiments (%s)", path, len(names), strings.Join(names, ", "))}
}
