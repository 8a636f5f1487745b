package pipeline

import (
	"fmt"
	"slices"
	"testing"

	"github.com/dendfit/dendfit/sim/spec"
)

// TestShardChunks: the chunks a shard reckons (never listed, so that a
// grid of any size costs no memory) are those of the definition: each
// pathway's points cut into runs of BatchSize, pathway after pathway, and
// shard k of n taking every n-th from the k-th; ShardLen counts their
// points, and the shards cover the grid once.
func TestShardChunks(t *testing.T) {
	for _, pathways := range []int{1, 3} {
		for _, per := range []int{1, 31, 32, 33, 64, 100, 1000} {
			s := &spec.Spec{Pathways: make([]spec.Pathway, pathways)}
			gr := &Grid{s: s, per: per}
			// The definition, listed.
			var all []chunk
			for p := range pathways {
				for lo := p * per; lo < (p+1)*per; lo += BatchSize {
					all = append(all, chunk{lo, min(lo+BatchSize, (p+1)*per)})
				}
			}
			for _, n := range []int{1, 2, 3, 7, 50} {
				covered := make([]int, pathways*per)
				for k := range max(n, 1) {
					name := fmt.Sprintf("%d pathways of %d points, shard %d/%d", pathways, per, k, n)
					var want []chunk
					for j, c := range all {
						if n <= 1 || j%n == k {
							want = append(want, c)
						}
					}
					sh := gr.shard(k, n)
					var got []chunk
					for i := range sh.len() {
						got = append(got, gr.chunkAt(sh.at(i)))
					}
					if !slices.Equal(got, want) {
						t.Errorf("%s: chunks %v, want %v", name, got, want)
					}
					points := 0
					for _, c := range want {
						points += c.hi - c.lo
						for i := c.lo; i < c.hi; i++ {
							covered[i]++
						}
					}
					if l := gr.ShardLen(k, n); l != points {
						t.Errorf("%s: ShardLen %d, want %d", name, l, points)
					}
				}
				for i, c := range covered {
					if c != 1 {
						t.Fatalf("%d pathways of %d points, %d shards: point %d in %d shards", pathways, per, n, i, c)
					}
				}
			}
		}
	}
}
