package slurm_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/dendfit/dendfit/pipeline/slurm"
)

func ExampleRender() {
	sweep, _, err := slurm.Render(slurm.Options{
		Binary: "/opt/dendfit/bin/dendfit", Spec: "/data/l23.yaml", Dir: "/scratch/l23", Tasks: 16, CPUs: 4,
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, line := range strings.Split(string(sweep), "\n") {
		if strings.HasPrefix(line, "#SBATCH --array") || strings.HasPrefix(strings.TrimSpace(line), `"$DENDFIT" sweep`) {
			fmt.Println(strings.TrimSpace(line))
		}
	}
	// Output:
	// #SBATCH --array=0-15
	// "$DENDFIT" sweep "$SPEC" --shard "$K/$N" --db "$DIR/shard-$K.db" --resume -q \
}

func ExampleClient_Submit() {
	// A Runner that stands in for squeue (an empty queue: no array of the
	// directory is queued or running) and sbatch; the zero Client runs the
	// real ones.
	fake := func(_ context.Context, name string, args ...string) ([]byte, error) {
		fmt.Println(name, strings.Join(args, " "))
		if name == "squeue" {
			return nil, nil
		}
		return []byte("4242\n"), nil
	}
	scripts := &slurm.Scripts{Sweep: "/scratch/l23/sweep.sbatch", Merge: "/scratch/l23/merge.sbatch", Tasks: 16}
	jobs, err := (&slurm.Client{Run: fake}).Submit(context.Background(), scripts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(jobs.Array, jobs.Merge)
	// Output:
	// squeue --noheader --format=%F|%j|%Z
	// sbatch --parsable /scratch/l23/sweep.sbatch
	// sbatch --parsable --dependency=afterok:4242 /scratch/l23/merge.sbatch
	// 4242 4242
}
