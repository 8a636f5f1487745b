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
	s              *spec.Spec
	g, tDecay, tRs []float64 // nil for an absent axis
	per            int       // points per pathway
}

// NewGrid expands s's sweep block. Without a sweep block every pathway has
// one point, its spec parameters.
func NewGrid(s *spec.Spec) *Grid {
	gr := &Grid{s: s, per: 1}
	if s.Sweep.G.Given() {
		gr.g = s.Sweep.G.Values()
		gr.per *= len(gr.g)
	}
	if s.Sweep.TDecay.Given() {
		gr.tDecay = s.Sweep.TDecay.Values()
		gr.per *= len(gr.tDecay)
	}
	if s.Sweep.TRise.Given() {
		gr.tRs = s.Sweep.TRise.Values()
		gr.per *= len(gr.tRs)
	}
	return gr
}

// Len is the number of points over all pathways.
func (gr *Grid) Len() int { return gr.per * len(gr.s.Pathways) }

// GridLen is NewGrid(s).Len() without the axes' values: for counting a
// grid of millions, where NewGrid would copy them.
func GridLen(s *spec.Spec) int {
	per := 1
	for _, a := range []spec.Axis{s.Sweep.G, s.Sweep.TDecay, s.Sweep.TRise} {
		if a.Given() {
			per *= a.Len()
		}
	}
	return per * len(s.Pathways)
}

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
func (gr *Grid) Axes() [3]int { return [3]int{len(gr.g), len(gr.tDecay), len(gr.tRs)} }

// locate returns the pathway of point i and its index in that pathway's
// grid.
func (gr *Grid) locate(i int) (pathway, index int) { return i / gr.per, i % gr.per }

// receptors writes the receptors of point i into dst (reusing its memory)
// and returns them.
func (gr *Grid) receptors(i int, dst []sim.Receptor) []sim.Receptor {
	p, r := gr.locate(i)
	ig, id, ir := -1, -1, -1
	if gr.tRs != nil {
		ir = r % len(gr.tRs)
		r /= len(gr.tRs)
	}
	if gr.tDecay != nil {
		id = r % len(gr.tDecay)
		r /= len(gr.tDecay)
	}
	if gr.g != nil {
		ig = r
	}
	base := gr.s.Pathways[p].Receptors
	rs := append(dst[:0], base...)
	if ig >= 0 {
		ratio := gr.g[ig] / base[0].G
		rs[0].G = gr.g[ig]
		for j := 1; j < len(rs); j++ {
			rs[j].G = base[j].G * ratio
		}
	}
	if id >= 0 {
		rs[0].TauDecay = gr.tDecay[id]
	}
	if ir >= 0 {
		rs[0].TauRise = gr.tRs[ir]
	}
	return rs
}

// chunk is a run of consecutive grid points of one pathway, the unit of
// work and of sharding.
type chunk struct{ lo, hi int }

// chunks lists the grid's chunks: each pathway's points cut into runs of
// BatchSize. Shard k of n (0-based) takes every n-th chunk, so shards are
// disjoint, cover the grid, and balance when pathways differ in cost.
func (gr *Grid) chunks(k, n int) []chunk {
	var out []chunk
	idx := 0
	for p := range gr.s.Pathways {
		for lo := p * gr.per; lo < (p+1)*gr.per; lo += BatchSize {
			if n <= 1 || idx%n == k {
				out = append(out, chunk{lo, min(lo+BatchSize, (p+1)*gr.per)})
			}
			idx++
		}
	}
	return out
}
