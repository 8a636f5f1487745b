//go:build !linux

package db

// prefault does nothing where MADV_POPULATE_WRITE is not known.
func prefault([]float64) {}
