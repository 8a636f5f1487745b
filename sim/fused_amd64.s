#include "textflag.h"

// FUSED2ARGS loads a fused2Args (at a+0(FP)) into the registers both
// fused2 kernels use: DI the block, R8 va, R9 vb, R10 s, R11 gr, R12 itd,
// R13 hi, R14 lo, DX n, AX track, BX rec (the row of this step's sample,
// or nil), SI m.
#define FUSED2ARGS \
	MOVQ a+0(FP), DI; \
	MOVQ 0(DI), R8;   \
	MOVQ 8(DI), R9;   \
	MOVQ 16(DI), R10; \
	MOVQ 24(DI), R11; \
	MOVQ 32(DI), R12; \
	MOVQ 40(DI), R13; \
	MOVQ 48(DI), R14; \
	MOVQ 56(DI), DX;  \
	MOVQ 64(DI), AX;  \
	MOVQ 72(DI), BX;  \
	MOVQ 96(DI), SI

// SCANARGS loads the scan kernels' arguments: SI rec, R8 the row stride
// in bytes, R9 n, R10 from, R11 to, R12 best, R13 kbest, R14 kdown, DI
// bad (neg is loaded where AX is free).
#define SCANARGS \
	MOVQ rec+0(FP), SI;    \
	MOVQ L+8(FP), R8;      \
	SHLQ $3, R8;           \
	MOVQ n+16(FP), R9;     \
	MOVQ from+24(FP), R10; \
	MOVQ to+32(FP), R11;   \
	MOVQ best+40(FP), R12; \
	MOVQ kbest+48(FP), R13; \
	MOVQ kdown+64(FP), R14; \
	MOVQ bad+72(FP), DI

// RISEARGS loads the rise kernels' arguments: SI rec, R8 the row stride
// in bytes, R9 n, R11 maxk, R12 best, R13 kbest, R14 neg, AX r10, BX r50,
// DI r90.
#define RISEARGS \
	MOVQ rec+0(FP), SI;    \
	MOVQ L+8(FP), R8;      \
	SHLQ $3, R8;           \
	MOVQ n+16(FP), R9;     \
	MOVQ maxk+24(FP), R11; \
	MOVQ best+32(FP), R12; \
	MOVQ kbest+40(FP), R13; \
	MOVQ neg+48(FP), R14;  \
	MOVQ r10+56(FP), AX;   \
	MOVQ r50+64(FP), BX;   \
	MOVQ r90+72(FP), DI

// func fused2AVX2(a *fused2Args)
//
// m steps; in each, every group of four lanes is loaded, stores the step's
// sample of the record compartment (when rec is set), folds the other
// compartment into hi/lo (when track is set), is updated and stored back.
// The groups of a step are independent, which keeps the multipliers busy
// (one group alone would wait on its own chain of dependent operations).
// Loop invariants that are only multiplied or added are memory operands
// (the pre-broadcast k table).
TEXT ·fused2AVX2(SB), NOSPLIT, $0-8
	FUSED2ARGS
	VBROADCASTSD 104(DI), Y12 // elA
	VBROADCASTSD 112(DI), Y13 // elB
	VBROADCASTSD 120(DI), Y11 // E
	// k table: glA 128, ieA 160, gAB 192, glB 224, ieB 256, gBA 288,
	// dtcA 320, dtcB 352, dt 384

step:
	XORQ CX, CX

group:
	CMPQ CX, DX
	JGE  stepdone
	VMOVUPD (R8)(CX*8), Y0  // va
	VMOVUPD (R9)(CX*8), Y1  // vb
	VMOVUPD (R10)(CX*8), Y2 // sv

	// The sample of the record compartment, before the update.
	TESTQ BX, BX
	JZ    extremes
	CMPQ  88(DI), $0
	JNE   recb
	VMOVUPD Y0, (BX)(CX*8)
	JMP     extremes

recb:
	VMOVUPD Y1, (BX)(CX*8)

extremes:
	CMPQ AX, $1
	JNE  trackb
	VMOVUPD (R13)(CX*8), Y3
	VMAXPD  Y3, Y0, Y3 // hi = va > hi ? va : hi
	VMOVUPD Y3, (R13)(CX*8)
	VMOVUPD (R14)(CX*8), Y3
	VMINPD  Y3, Y0, Y3 // lo = va < lo ? va : lo
	VMOVUPD Y3, (R14)(CX*8)
	JMP     update

trackb:
	CMPQ AX, $2
	JNE  update
	VMOVUPD (R13)(CX*8), Y3
	VMAXPD  Y3, Y1, Y3
	VMOVUPD Y3, (R13)(CX*8)
	VMOVUPD (R14)(CX*8), Y3
	VMINPD  Y3, Y1, Y3
	VMOVUPD Y3, (R14)(CX*8)

update:
	// ta := glA*(elA-va) + ieA
	VSUBPD Y0, Y12, Y3
	VMULPD 128(DI), Y3, Y3
	VADDPD 160(DI), Y3, Y3
	// ta += gAB * (vb - va)
	VSUBPD Y0, Y1, Y4
	VMULPD 192(DI), Y4, Y4
	VADDPD Y4, Y3, Y3
	// ta += gr * (E - va) * sv
	VSUBPD Y0, Y11, Y5
	VMULPD (R11)(CX*8), Y5, Y5
	VMULPD Y2, Y5, Y5
	VADDPD Y5, Y3, Y3
	// tb := glB*(elB-vb) + ieB
	VSUBPD Y1, Y13, Y4
	VMULPD 224(DI), Y4, Y4
	VADDPD 256(DI), Y4, Y4
	// tb += gBA * (va - vb)
	VSUBPD Y1, Y0, Y5
	VMULPD 288(DI), Y5, Y5
	VADDPD Y5, Y4, Y4
	// VA = va + ta*dtcA; VB = vb + tb*dtcB
	VMULPD  320(DI), Y3, Y3
	VADDPD  Y3, Y0, Y0
	VMOVUPD Y0, (R8)(CX*8)
	VMULPD  352(DI), Y4, Y4
	VADDPD  Y4, Y1, Y1
	VMOVUPD Y1, (R9)(CX*8)
	// S = sv - sv*itd*dt
	VMULPD  (R12)(CX*8), Y2, Y5
	VMULPD  384(DI), Y5, Y5
	VSUBPD  Y5, Y2, Y2
	VMOVUPD Y2, (R10)(CX*8)

	ADDQ $4, CX
	JMP  group

stepdone:
	TESTQ BX, BX
	JZ    counted
	ADDQ  80(DI), BX

counted:
	DECQ SI
	JNZ  step

	VZEROUPPER
	RET

// func scanAVX2(rec *float64, L, n, from, to int, best *float64, kbest *int64, neg *uint64, kdown *int64, bad *int64)
TEXT ·scanAVX2(SB), NOSPLIT, $0-80
	SCANARGS

	MOVQ         $0x7fffffffffffffff, AX
	VMOVQ        AX, X15
	VPBROADCASTQ X15, Y15  // |x| mask
	MOVQ         $0x3ff0000000000000, AX
	VMOVQ        AX, X14
	VPBROADCASTQ X14, Y14  // maxVoltage = 1.0
	MOVQ         $0x3fe0000000000000, AX
	VMOVQ        AX, X13
	VPBROADCASTQ X13, Y13  // 0.5
	MOVQ         $1, AX
	VMOVQ        AX, X12
	VPBROADCASTQ X12, Y12  // int64 1
	MOVQ neg+56(FP), AX

	XORQ CX, CX            // lane group

group:
	CMPQ CX, R9
	JGE  gdone
	VMOVUPD (SI)(CX*8), Y0   // baseline: row 0
	VMOVUPD (R12)(CX*8), Y1  // best
	VMOVUPD (R13)(CX*8), Y2  // kbest
	VMOVUPD (R14)(CX*8), Y3  // kdown
	VMOVUPD (DI)(CX*8), Y4   // bad
	VMOVUPD (AX)(CX*8), Y11 // neg
	VMOVQ        R10, X5
	VPBROADCASTQ X5, Y5      // i
	// BX = &rec[from*L + CX]
	MOVQ R10, BX
	IMULQ R8, BX
	LEAQ (SI)(BX*1), BX
	LEAQ (BX)(CX*8), BX
	MOVQ R10, DX

row:
	CMPQ DX, R11
	JGT  rdone
	VMOVUPD (BX), Y6         // v
	VANDPD    Y15, Y6, Y7    // |v|
	VCMPPD    $0x16, Y14, Y7, Y8 // !(|v| <= max), NaN true
	VPXOR     Y10, Y10, Y10  // 0
	VPCMPEQQ  Y10, Y4, Y9    // bad == 0
	VANDPD    Y9, Y8, Y8
	VBLENDVPD Y8, Y5, Y4, Y4 // bad = cond ? i : bad
	VPCMPEQQ  Y10, Y3, Y10   // kdown == 0
	VSUBPD    Y0, Y6, Y7     // u = v - b
	VANDPD    Y15, Y7, Y6    // d = |u|
	VCMPPD    $0x1e, Y1, Y6, Y8  // gt: d > best
	VMULPD    Y13, Y1, Y9    // best/2 (0.5*best), the old best
	VBLENDVPD Y8, Y6, Y1, Y1 // best = gt ? d : best
	VXORPD    Y11, Y7, Y6    // u oriented by the old neg
	VANDNPD   Y7, Y15, Y7    // u's sign bit
	VBLENDVPD Y8, Y7, Y11, Y11 // neg = gt ? sign(u) : neg
	VCMPPD    $0x11, Y9, Y6, Y6  // oriented u < best/2
	VANDPD    Y10, Y6, Y6    // and kdown == 0
	VBLENDVPD Y6, Y5, Y3, Y3 // kdown = that ? i : kdown
	VBLENDVPD Y8, Y5, Y2, Y2 // kbest = gt ? i : kbest
	VANDNPD   Y3, Y8, Y3     // kdown = gt ? 0 : kdown
	VPADDQ    Y12, Y5, Y5
	ADDQ      R8, BX
	INCQ      DX
	JMP       row

rdone:
	VMOVUPD Y1, (R12)(CX*8)
	VMOVUPD Y2, (R13)(CX*8)
	VMOVUPD Y3, (R14)(CX*8)
	VMOVUPD Y4, (DI)(CX*8)
	VMOVUPD Y11, (AX)(CX*8)
	ADDQ    $4, CX
	JMP     group

gdone:
	VZEROUPPER
	RET

// func riseAVX2(rec *float64, L, n, maxk int, best *float64, kbest *int64, neg *uint64, r10, r50, r90 *int64)
TEXT ·riseAVX2(SB), NOSPLIT, $0-80
	RISEARGS
	MOVQ         $1, CX
	VMOVQ        CX, X14
	VPBROADCASTQ X14, Y14  // int64 1

	XORQ CX, CX            // lane group

group:
	CMPQ CX, R9
	JGE  gdone
	VMOVUPD (SI)(CX*8), Y0   // baseline: row 0
	VMOVUPD (R14)(CX*8), Y1  // neg
	VMOVUPD (R13)(CX*8), Y2
	VPADDQ  Y14, Y2, Y2      // kbest + 1
	VMOVUPD (R12)(CX*8), Y10 // best
	MOVQ         $0x3fb999999999999a, DX
	VMOVQ        DX, X15
	VPBROADCASTQ X15, Y15    // 0.1
	VMULPD       Y10, Y15, Y3
	MOVQ         $0x3fe0000000000000, DX
	VMOVQ        DX, X15
	VPBROADCASTQ X15, Y15    // 0.5
	VMULPD       Y10, Y15, Y4
	MOVQ         $0x3feccccccccccccd, DX
	VMOVQ        DX, X15
	VPBROADCASTQ X15, Y15    // 0.9
	VMULPD       Y10, Y15, Y5
	VPXOR        Y6, Y6, Y6  // first rows: none yet
	VPXOR        Y7, Y7, Y7
	VPXOR        Y8, Y8, Y8
	VMOVDQU      Y14, Y9     // j = 1
	// R10 = &rec[1*L + CX]
	LEAQ (SI)(R8*1), R10
	LEAQ (R10)(CX*8), R10
	MOVQ $1, DX

row:
	CMPQ DX, R11
	JGT  rdone
	VMOVUPD   (R10), Y10
	VSUBPD    Y0, Y10, Y10   // v - b
	VXORPD    Y1, Y10, Y10   // oriented like the peak
	VPCMPGTQ  Y9, Y2, Y11    // j <= kbest
	VPXOR     Y13, Y13, Y13
	VCMPPD    $0x1d, Y3, Y10, Y12 // u >= 10 %
	VPCMPEQQ  Y13, Y6, Y15
	VANDPD    Y15, Y12, Y12
	VANDPD    Y11, Y12, Y12
	VBLENDVPD Y12, Y9, Y6, Y6
	VCMPPD    $0x1d, Y4, Y10, Y12 // u >= 50 %
	VPCMPEQQ  Y13, Y7, Y15
	VANDPD    Y15, Y12, Y12
	VANDPD    Y11, Y12, Y12
	VBLENDVPD Y12, Y9, Y7, Y7
	VCMPPD    $0x1d, Y5, Y10, Y12 // u >= 90 %
	VPCMPEQQ  Y13, Y8, Y15
	VANDPD    Y15, Y12, Y12
	VANDPD    Y11, Y12, Y12
	VBLENDVPD Y12, Y9, Y8, Y8
	VPADDQ    Y14, Y9, Y9
	ADDQ      R8, R10
	INCQ      DX
	JMP       row

rdone:
	VMOVUPD Y6, (AX)(CX*8)
	VMOVUPD Y7, (BX)(CX*8)
	VMOVUPD Y8, (DI)(CX*8)
	ADDQ    $4, CX
	JMP     group

gdone:
	VZEROUPPER
	RET

// func fused2AVX512(a *fused2Args)
//
// fused2AVX2 eight lanes an instruction (n a multiple of 8), with the
// loop invariants broadcast into registers once: the same operations in
// the same order on each lane.
TEXT ·fused2AVX512(SB), NOSPLIT, $0-8
	FUSED2ARGS
	VBROADCASTSD 104(DI), Z12 // elA
	VBROADCASTSD 112(DI), Z13 // elB
	VBROADCASTSD 120(DI), Z11 // E
	VBROADCASTSD 128(DI), Z16 // glA
	VBROADCASTSD 160(DI), Z17 // ieA
	VBROADCASTSD 192(DI), Z18 // gAB
	VBROADCASTSD 224(DI), Z19 // glB
	VBROADCASTSD 256(DI), Z20 // ieB
	VBROADCASTSD 288(DI), Z21 // gBA
	VBROADCASTSD 320(DI), Z22 // dtcA
	VBROADCASTSD 352(DI), Z23 // dtcB
	VBROADCASTSD 384(DI), Z24 // dt

step512:
	XORQ CX, CX

group512:
	CMPQ CX, DX
	JGE  stepdone512
	VMOVUPD (R8)(CX*8), Z0  // va
	VMOVUPD (R9)(CX*8), Z1  // vb
	VMOVUPD (R10)(CX*8), Z2 // sv

	TESTQ BX, BX
	JZ    extremes512
	CMPQ  88(DI), $0
	JNE   recb512
	VMOVUPD Z0, (BX)(CX*8)
	JMP     extremes512

recb512:
	VMOVUPD Z1, (BX)(CX*8)

extremes512:
	CMPQ AX, $1
	JNE  trackb512
	VMOVUPD (R13)(CX*8), Z3
	VMAXPD  Z3, Z0, Z3
	VMOVUPD Z3, (R13)(CX*8)
	VMOVUPD (R14)(CX*8), Z3
	VMINPD  Z3, Z0, Z3
	VMOVUPD Z3, (R14)(CX*8)
	JMP     update512

trackb512:
	CMPQ AX, $2
	JNE  update512
	VMOVUPD (R13)(CX*8), Z3
	VMAXPD  Z3, Z1, Z3
	VMOVUPD Z3, (R13)(CX*8)
	VMOVUPD (R14)(CX*8), Z3
	VMINPD  Z3, Z1, Z3
	VMOVUPD Z3, (R14)(CX*8)

update512:
	// ta := glA*(elA-va) + ieA + gAB*(vb-va) + gr*(E-va)*sv
	VSUBPD Z0, Z12, Z3
	VMULPD Z16, Z3, Z3
	VADDPD Z17, Z3, Z3
	VSUBPD Z0, Z1, Z4
	VMULPD Z18, Z4, Z4
	VADDPD Z4, Z3, Z3
	VSUBPD Z0, Z11, Z5
	VMULPD (R11)(CX*8), Z5, Z5
	VMULPD Z2, Z5, Z5
	VADDPD Z5, Z3, Z3
	// tb := glB*(elB-vb) + ieB + gBA*(va-vb)
	VSUBPD Z1, Z13, Z4
	VMULPD Z19, Z4, Z4
	VADDPD Z20, Z4, Z4
	VSUBPD Z1, Z0, Z5
	VMULPD Z21, Z5, Z5
	VADDPD Z5, Z4, Z4
	// VA = va + ta*dtcA; VB = vb + tb*dtcB
	VMULPD  Z22, Z3, Z3
	VADDPD  Z3, Z0, Z0
	VMOVUPD Z0, (R8)(CX*8)
	VMULPD  Z23, Z4, Z4
	VADDPD  Z4, Z1, Z1
	VMOVUPD Z1, (R9)(CX*8)
	// S = sv - sv*itd*dt
	VMULPD  (R12)(CX*8), Z2, Z5
	VMULPD  Z24, Z5, Z5
	VSUBPD  Z5, Z2, Z2
	VMOVUPD Z2, (R10)(CX*8)

	ADDQ $8, CX
	JMP  group512

stepdone512:
	TESTQ BX, BX
	JZ    counted512
	ADDQ  80(DI), BX

counted512:
	DECQ SI
	JNZ  step512

	VZEROUPPER
	RET

// func scanAVX512(rec *float64, L, n, from, to int, best *float64, kbest *int64, neg *uint64, kdown *int64, bad *int64)
//
// scanAVX2 eight lanes an instruction (n a multiple of 8): the same
// comparisons (NLE_UQ, GT_OQ, LT_OQ), the same product and the same
// selections, lane by lane. What carries from a row to the next is kept
// short, as a row waits on it: best by VMAXPD(d, best), which is exactly
// d > best ? d : best; "kdown == 0" and "bad == 0" as masks (K6, K7)
// updated by mask operations (kdown is 0 again after a new best, else
// stays 0 until set; bad stays 0 until set; a row index is never 0).
TEXT ·scanAVX512(SB), NOSPLIT, $0-80
	SCANARGS

	MOVQ         $0x7fffffffffffffff, AX
	VPBROADCASTQ AX, Z15   // |x| mask
	MOVQ         $0x3ff0000000000000, AX
	VPBROADCASTQ AX, Z14   // maxVoltage = 1.0
	MOVQ         $0x3fe0000000000000, AX
	VPBROADCASTQ AX, Z13   // 0.5
	MOVQ         $1, AX
	VPBROADCASTQ AX, Z12   // int64 1
	VPXORQ       Z10, Z10, Z10 // 0
	MOVQ neg+56(FP), AX

	XORQ CX, CX            // lane group

group512:
	CMPQ CX, R9
	JGE  gdone512
	VMOVUPD (SI)(CX*8), Z0   // baseline: row 0
	VMOVUPD (R12)(CX*8), Z1  // best
	VMOVUPD (R13)(CX*8), Z2  // kbest
	VMOVUPD (R14)(CX*8), Z3  // kdown
	VMOVUPD (DI)(CX*8), Z4   // bad
	VMOVUPD (AX)(CX*8), Z11  // neg
	VPCMPEQQ Z10, Z3, K6     // kdown == 0
	VPCMPEQQ Z10, Z4, K7     // bad == 0
	VPBROADCASTQ R10, Z5     // i
	// BX = &rec[from*L + CX]
	MOVQ R10, BX
	IMULQ R8, BX
	LEAQ (SI)(BX*1), BX
	LEAQ (BX)(CX*8), BX
	MOVQ R10, DX

row512:
	CMPQ DX, R11
	JGT  rdone512
	VMOVUPD   (BX), Z6                // v
	VPANDQ    Z15, Z6, Z7             // |v|
	VCMPPD    $0x16, Z14, Z7, K7, K1  // !(|v| <= max), NaN true, and bad == 0
	VMOVDQU64 Z5, K1, Z4              // bad = that ? i : bad
	KANDNW    K7, K1, K7              // bad == 0 still
	VSUBPD    Z0, Z6, Z7              // u = v - b
	VPANDQ    Z15, Z7, Z6             // d = |u|
	VCMPPD    $0x1e, Z1, Z6, K4       // gt: d > best
	VMULPD    Z13, Z1, Z9             // best/2 (0.5*best), the old best
	VMAXPD    Z1, Z6, Z1              // best = d > best ? d : best
	VPXORQ    Z11, Z7, Z8             // u oriented by the old neg
	VPANDNQ   Z7, Z15, Z7             // u's sign bit
	VMOVDQU64 Z7, K4, Z11             // neg = gt ? sign(u) : neg
	VCMPPD    $0x11, Z9, Z8, K2       // oriented u < best/2
	KANDW     K2, K6, K5              // and kdown == 0
	VMOVDQU64 Z5, K5, Z3              // kdown = that ? i : kdown
	VMOVDQU64 Z5, K4, Z2              // kbest = gt ? i : kbest
	VMOVDQU64 Z10, K4, Z3             // kdown = gt ? 0 : kdown
	KANDNW    K6, K2, K6              // kdown == 0 still, unless set
	KORW      K4, K6, K6              // or reset by a new best
	VPADDQ    Z12, Z5, Z5
	ADDQ      R8, BX
	INCQ      DX
	JMP       row512

rdone512:
	VMOVUPD Z1, (R12)(CX*8)
	VMOVUPD Z2, (R13)(CX*8)
	VMOVUPD Z3, (R14)(CX*8)
	VMOVUPD Z4, (DI)(CX*8)
	VMOVUPD Z11, (AX)(CX*8)
	ADDQ    $8, CX
	JMP     group512

gdone512:
	VZEROUPPER
	RET

// func riseAVX512(rec *float64, L, n, maxk int, best *float64, kbest *int64, neg *uint64, r10, r50, r90 *int64)
//
// riseAVX2 eight lanes an instruction (n a multiple of 8), with "no row
// found yet" for each level kept as a mask (K5, K6, K7) that a row found
// clears.
TEXT ·riseAVX512(SB), NOSPLIT, $0-80
	RISEARGS
	MOVQ         $1, CX
	VPBROADCASTQ CX, Z14   // int64 1
	MOVQ         $0x3fb999999999999a, DX
	VPBROADCASTQ DX, Z16   // 0.1
	MOVQ         $0x3fe0000000000000, DX
	VPBROADCASTQ DX, Z17   // 0.5
	MOVQ         $0x3feccccccccccccd, DX
	VPBROADCASTQ DX, Z18   // 0.9

	XORQ CX, CX            // lane group

group512:
	CMPQ CX, R9
	JGE  gdone512
	VMOVUPD (SI)(CX*8), Z0   // baseline: row 0
	VMOVUPD (R14)(CX*8), Z1  // neg
	VMOVUPD (R13)(CX*8), Z2
	VPADDQ  Z14, Z2, Z2      // kbest + 1
	VMOVUPD (R12)(CX*8), Z10 // best
	VMULPD  Z10, Z16, Z3     // 10 %
	VMULPD  Z10, Z17, Z4     // 50 %
	VMULPD  Z10, Z18, Z5     // 90 %
	VPXORQ  Z6, Z6, Z6       // first rows: none yet
	VPXORQ  Z7, Z7, Z7
	VPXORQ  Z8, Z8, Z8
	KXNORW  K5, K5, K5
	KXNORW  K6, K6, K6
	KXNORW  K7, K7, K7
	VMOVDQU64 Z14, Z9        // j = 1
	// R10 = &rec[1*L + CX]
	LEAQ (SI)(R8*1), R10
	LEAQ (R10)(CX*8), R10
	MOVQ $1, DX

row512:
	CMPQ DX, R11
	JGT  rdone512
	VMOVUPD   (R10), Z10
	VSUBPD    Z0, Z10, Z10            // v - b
	VPXORQ    Z1, Z10, Z10            // oriented like the peak
	VPCMPGTQ  Z9, Z2, K1              // j <= kbest
	VCMPPD    $0x1d, Z3, Z10, K1, K2  // and u >= 10 %
	KANDW     K2, K5, K3              // and none yet
	VMOVDQU64 Z9, K3, Z6
	KANDNW    K5, K2, K5
	VCMPPD    $0x1d, Z4, Z10, K1, K2  // u >= 50 %
	KANDW     K2, K6, K3
	VMOVDQU64 Z9, K3, Z7
	KANDNW    K6, K2, K6
	VCMPPD    $0x1d, Z5, Z10, K1, K2  // u >= 90 %
	KANDW     K2, K7, K3
	VMOVDQU64 Z9, K3, Z8
	KANDNW    K7, K2, K7
	VPADDQ    Z14, Z9, Z9
	ADDQ      R8, R10
	INCQ      DX
	JMP       row512

rdone512:
	VMOVUPD Z6, (AX)(CX*8)
	VMOVUPD Z7, (BX)(CX*8)
	VMOVUPD Z8, (DI)(CX*8)
	ADDQ    $8, CX
	JMP     group512

gdone512:
	VZEROUPPER
	RET
