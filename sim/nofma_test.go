package sim

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// fmaInstr matches the fused multiply-add instructions of amd64 (VFMADD231SD
// and kin), arm64 (FMADDD, FMSUBD, FNMADDD, ...), ppc64, s390x and riscv64.
var fmaInstr = regexp.MustCompile(`\s(V?FN?M(ADD|SUB)[0-9A-Z]*)\s`)

// TestNoFusedMultiplyAdd compiles the packages that compute recorded
// numbers for targets whose compilers fuse multiply-adds, and fails on any
// fused instruction: one would make results differ from Brian 2's and
// between machines (see the package doc). Its line names the expression
// to write as float64(x*y).
func TestNoFusedMultiplyAdd(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles for other targets")
	}
	// pipeline needs cgo (through db), which a cross build has not; its
	// arithmetic is the grid's values, which spec computes.
	pkgs := []string{"github.com/dendfit/dendfit/sim", "github.com/dendfit/dendfit/sim/spec",
		"github.com/dendfit/dendfit/fit"}
	for _, target := range [][]string{{"GOARCH=amd64", "GOAMD64=v3"}, {"GOARCH=arm64"}} {
		// -gcflags without a pattern applies to the packages named.
		args := append([]string{"build", "-gcflags=-S"}, pkgs...)
		cmd := exec.Command("go", args...)
		cmd.Env = append(os.Environ(), append([]string{"CGO_ENABLED=0", "GOOS=linux"}, target...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v go build: %v\n%.2000s", target, err, out)
		}
		n := 0
		for _, line := range strings.Split(string(out), "\n") {
			if fmaInstr.MatchString(line) {
				if n++; n <= 10 {
					t.Errorf("%v: fused multiply-add: %s", target, strings.TrimSpace(line))
				}
			}
		}
		if n > 10 {
			t.Errorf("%v: %d fused multiply-adds in all", target, n)
		}
	}
}
