package pipeline

import (
	"github.com/dendfit/dendfit/db"
	"github.com/dendfit/dendfit/sim"
	"github.com/dendfit/dendfit/sim/spec"
)

// BatchSize is the number of grid points a worker advances together. It is
// part of no result: every lane is bit-identical to a run of its point
// alone, so results do not depend on how points are batched.
const BatchSize = 32

// Grid is the spec's sweep expanded over every pathway, in the reference
// order: pathway, then g (outermost), t_decay, t_rise. Points are computed
// from their index on demand, so a grid of millions costs no memory.
type Grid struct {
	s *spec.Spec
	// The g, t_decay and t_rise axes, their values computed where a
	// point is made (a 10-million-point axis would be 80 MB); an absent
	// one has length 0.
	g, tDecay, tRs spec.Axis
	per            int // points per pathway
}

// NewGrid expands s's sweep block. Without a sweep block every pathway has
// one point, its spec parameters. It copies no axis values, so it also
// serves to count a grid of millions.
func NewGrid(s *spec.Spec) *Grid {
	gr := &Grid{s: s, per: 1, g: s.Sweep.G, tDecay: s.Sweep.TDecay, tRs: s.Sweep.TRise}
	for _, a := range []*spec.Axis{&gr.g, &gr.tDecay, &gr.tRs} {
		if a.Given() {
			a.Prepare()
			gr.per *= a.Len()
		}
	}
	return gr
}

// Len is the number of points over all pathways.
func (gr *Grid) Len() int { return gr.per * len(gr.s.Pathways) }

// GridPoint is one point of the grid: a pathway and its receptors with the
// swept values applied.
type GridPoint struct {
	Index     int // position in the grid
	Pathway   int
	Key       string // deterministic: pathway and axis indices
	Receptors []sim.Receptor
}

// Point returns point i of the grid.
func (gr *Grid) Point(i int) GridPoint {
	p, idx := gr.locate(i)
	return GridPoint{Index: i, Pathway: p, Key: db.GridKey(p, gr.Axes(), idx), Receptors: gr.receptors(i, nil)}
}

// Axes returns the lengths of the g, t_decay and t_rise axes, 0 for an
// absent one.
func (gr *Grid) Axes() [3]int { return [3]int{gr.g.Len(), gr.tDecay.Len(), gr.tRs.Len()} }

// locate returns the pathway of point i and its index in that pathway's
// grid.
func (gr *Grid) locate(i int) (pathway, index int) { return i / gr.per, i % gr.per }

// receptors writes the receptors of point i into dst (reusing its memory)
// and returns them.
func (gr *Grid) receptors(i int, dst []sim.Receptor) []sim.Receptor {
	p, r := gr.locate(i)
	ig, id, ir := -1, -1, -1
	if n := gr.tRs.Len(); n > 0 {
		ir = r % n
		r /= n
	}
	if n := gr.tDecay.Len(); n > 0 {
		id = r % n
		r /= n
	}
	if gr.g.Len() > 0 {
		ig = r
	}
	base := gr.s.Pathways[p].Receptors
	var rs []sim.Receptor
	if ig >= 0 {
		rs = ScaleG(dst, base, gr.g.Value(ig))
	} else {
		rs = append(dst[:0], base...)
	}
	if id >= 0 {
		rs[0].TauDecay = gr.tDecay.Value(id)
	}
	if ir >= 0 {
		rs[0].TauRise = gr.tRs.Value(ir)
	}
	return rs
}

// ShardLen is the number of grid points shard k of n holds (all of them
// for n <= 1).
func (gr *Grid) ShardLen(k, n int) int {
	sh := gr.shard(k, n)
	total := sh.len() * BatchSize
	// Less what each pathway's last, short chunk lacks, where the shard
	// has it.
	per := gr.chunksPer()
	if short := per*BatchSize - gr.per; short > 0 {
		for p := range gr.s.Pathways {
			if sh.has(p*per + per - 1) {
				total -= short
			}
		}
	}
	return total
}

// chunk is a run of consecutive grid points of one pathway, the unit of
// work and of sharding.
type chunk struct{ lo, hi int }

// chunksPer is the number of chunks of a pathway: its points cut into
// runs of BatchSize.
func (gr *Grid) chunksPer() int { return (gr.per + BatchSize - 1) / BatchSize }

// chunkAt returns chunk j of the grid, pathway after pathway.
func (gr *Grid) chunkAt(j int) chunk {
	per := gr.chunksPer()
	p, c := j/per, j%per
	lo := p*gr.per + c*BatchSize
	return chunk{lo, min(lo+BatchSize, (p+1)*gr.per)}
}

// shardChunks is shard k of n of a grid's chunks: every n-th chunk from
// chunk k, so shards are disjoint, cover the grid, and balance when
// pathways differ in cost. It is reckoned, not listed, so that a grid of
// any size costs no memory.
type shardChunks struct{ k, n, total int }

func (gr *Grid) shard(k, n int) shardChunks {
	total := gr.chunksPer() * len(gr.s.Pathways)
	if n <= 1 {
		return shardChunks{0, 1, total}
	}
	return shardChunks{k, n, total}
}

// len is the number of the shard's chunks.
func (sh shardChunks) len() int {
	if sh.k >= sh.total {
		return 0
	}
	return (sh.total-sh.k-1)/sh.n + 1
}

// at returns the grid index of the shard's i-th chunk.
func (sh shardChunks) at(i int) int { return sh.k + i*sh.n }

// has says whether grid chunk j is the shard's.
func (sh shardChunks) has(j int) bool { return j%sh.n == sh.k }
