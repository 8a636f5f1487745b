package main

import (
	"bytes"
	"context"
	"testing"
)

// runCLI runs dendfit in-process with args and returns what it printed on
// stdout.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmdIO(&out, &errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}
