//go:build !amd64

package sim

// fused2Prepare has no vector loop on this architecture.
func fused2Prepare(va, vb, s, gr, itd, hi, lo []float64, track int, recB bool, c *[12]float64) (int, fused2Steps) {
	return 0, nil
}

// scanRowsVec has no vector loop on this architecture.
func scanRowsVec(rec []float64, L, from, to int, st *scanState) int { return 0 }

// riseRowsVec has no vector loop on this architecture.
func riseRowsVec(rec []float64, L int, st *scanState) int { return 0 }
