//go:build !amd64

package sim

// fused2Vec has no vector version on this architecture.
func fused2Vec(va, vb, s, gr, itd, hi, lo []float64, track int, c *[12]float64) int { return 0 }
