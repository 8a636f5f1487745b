//go:build amd64

package sim

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// haveAVX2 says whether fused2AVX2 may run (the CPU and the OS support
// AVX2).
var haveAVX2 = cpu.X86.HasAVX2

// haveAVX512 says whether the kernels of eight lanes an instruction may
// run (the CPU and the OS support AVX-512F). Where a CPU has full-width
// 512-bit units (AMD Zen 5 here) they do twice the work an instruction;
// vec512Off (tests) keeps to the four-lane ones.
var haveAVX512 = cpu.X86.HasAVX512F

// use512 says whether the eight-lane kernel takes L lanes: its multiple
// of eight leaves no group of four that the four-lane one would do.
func use512(L int) bool { return haveAVX512 && !vec512Off && L >= 8 && L%8 < 4 }

// vecKernel returns how many of L lanes a vector kernel does (0 when it
// cannot run) and which of its two widths does them.
func vecKernel[F any](L int, four, eight F) (n int, kernel F) {
	switch {
	case !haveAVX2 || vecOff:
		return 0, kernel
	case use512(L):
		return L &^ 7, eight
	}
	return L &^ 3, four
}

// fused2Args is fused2AVX2's argument block; fused_amd64.s knows its
// layout.
type fused2Args struct {
	va, vb, s, gr, itd, hi, lo unsafe.Pointer // offsets 0 to 48
	n                          int            // 56: lanes, a multiple of 4
	track                      int            // 64: 0 none, 1 compartment A, 2 compartment B
	rec                        unsafe.Pointer // 72: row of the first sample, or nil
	recStride                  int            // 80: bytes from a row to the next
	recB                       int            // 88: 1 when B is the record compartment
	m                          int            // 96: steps, at least 1
	el                         [3]float64     // 104: elA, elB, E
	// 128: glA, ieA, gAB, glB, ieB, gBA, dtcA, dtcB, dt, each broadcast
	// to four lanes (the kernel's memory operands)
	k [9][4]float64
}

// fused2AVX2 is fusedEuler's two-compartment loop without rise for m
// steps, four lanes an instruction, each group of lanes kept in registers
// for all m steps: the same IEEE operations on the same operands in the
// same order (VSUBPD, VMULPD and VADDPD round as SUBSD, MULSD and ADDSD
// do, operands of a product or a sum in either order give the same bits,
// and no multiply-add is fused), so each lane is bit-identical to the Go
// loop. Extremes use VMAXPD(v, hi) and VMINPD(v, lo), which are exactly
// v > hi ? v : hi and v < lo ? v : lo, NaN included.
//
//go:noescape
func fused2AVX2(a *fused2Args)

// fused2AVX512 is fused2AVX2 eight lanes an instruction, for n a multiple
// of eight; the same operations in the same order, so the same bits.
//
//go:noescape
func fused2AVX512(a *fused2Args)

// fused2Prepare readies the vector loop over the largest multiple of four
// of the lanes: it returns how many lanes that is and the function that
// advances them (0 and nil without AVX2, or when vectors are off). The
// slices must stay where they are while it is used.
func fused2Prepare(va, vb, s, gr, itd, hi, lo []float64, track int, recB bool, c *[12]float64) (int, fused2Steps) {
	n, kernel := vecKernel(len(s), fused2AVX2, fused2AVX512)
	if n == 0 {
		return 0, nil
	}
	L := len(s)
	va, vb, gr, itd = va[:n], vb[:n], gr[:n], itd[:n]
	elA, glA, ieA, gAB, E, elB, glB, ieB, gBA, dtcA, dtcB, dt := c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11]
	a := &fused2Args{va: unsafe.Pointer(&va[0]), vb: unsafe.Pointer(&vb[0]), s: unsafe.Pointer(&s[0]),
		gr: unsafe.Pointer(&gr[0]), itd: unsafe.Pointer(&itd[0]), n: n, track: track,
		recStride: 8 * L, el: [3]float64{elA, elB, E}}
	for i, v := range []float64{glA, ieA, gAB, glB, ieB, gBA, dtcA, dtcB, dt} {
		a.k[i] = [4]float64{v, v, v, v}
	}
	if recB {
		a.recB = 1
	}
	if track != 0 {
		hi, lo = hi[:n], lo[:n]
		a.hi, a.lo = unsafe.Pointer(&hi[0]), unsafe.Pointer(&lo[0])
	}
	return n, func(m int, rec []float64) {
		if m <= 0 {
			return
		}
		a.m, a.rec = m, nil
		if rec != nil {
			_ = rec[(m-1)*L+n-1] // every row written is inside rec
			a.rec = unsafe.Pointer(&rec[0])
		}
		kernel(a)
	}
}

// scanRowsVec is scanRowsGo over the largest multiple of four of the
// lanes, four lanes an instruction; it returns how many lanes it did.
func scanRowsVec(rec []float64, L, from, to int, st *scanState) int {
	n, kernel := vecKernel(L, scanAVX2, scanAVX512)
	if n == 0 {
		return 0
	}
	_ = rec[to*L+L-1] // every row read is inside rec
	kernel(&rec[0], L, n, from, to, &st.best[0], &st.kbest[0], &st.neg[0], &st.kdown[0], &st.bad[0])
	return n
}

// scanAVX2 is scanRowsGo for lanes [0, n), n a multiple of 4. Its
// comparisons are the Go ones lane by lane: NLE_UQ for !(|v| <= max),
// GT_OQ for d > best, LT_OQ for the oriented u < best/2, all false on NaN
// as in Go; the orientation is the same sign-bit flip.
//
//go:noescape
func scanAVX2(rec *float64, L, n, from, to int, best *float64, kbest *int64, neg *uint64, kdown *int64, bad *int64)

// scanAVX512 is scanAVX2 eight lanes an instruction, n a multiple of 8,
// the conditions in mask registers.
//
//go:noescape
func scanAVX512(rec *float64, L, n, from, to int, best *float64, kbest *int64, neg *uint64, kdown *int64, bad *int64)

// riseRowsVec is riseRowsGo over the largest multiple of four of the
// lanes, four lanes an instruction, row by row up to the largest kbest;
// it returns how many lanes it did.
func riseRowsVec(rec []float64, L int, st *scanState) int {
	n, kernel := vecKernel(L, riseAVX2, riseAVX512)
	if n == 0 {
		return 0
	}
	maxk := int64(0)
	for _, k := range st.kbest[:n] {
		maxk = max(maxk, k)
	}
	_ = rec[int(maxk)*L+L-1] // every row read is inside rec
	kernel(&rec[0], L, n, int(maxk), &st.best[0], &st.kbest[0], &st.neg[0], &st.rise[0][0], &st.rise[1][0], &st.rise[2][0])
	return n
}

// riseAVX2 is riseRowsGo for lanes [0, n), n a multiple of 4: each level
// is found on its own (the same sample, as the levels do not decrease),
// as the first row j <= kbest with the oriented deviation GE_OQ the level
// (false on NaN, as Go's >=). The levels are the same products.
//
//go:noescape
func riseAVX2(rec *float64, L, n, maxk int, best *float64, kbest *int64, neg *uint64, r10, r50, r90 *int64)

// riseAVX512 is riseAVX2 eight lanes an instruction, n a multiple of 8,
// the conditions in mask registers.
//
//go:noescape
func riseAVX512(rec *float64, L, n, maxk int, best *float64, kbest *int64, neg *uint64, r10, r50, r90 *int64)
