#include "textflag.h"

// func fused2AVX2(a *fused2Args)
TEXT ·fused2AVX2(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), DI
	MOVQ 0(DI), R8    // va
	MOVQ 8(DI), R9    // vb
	MOVQ 16(DI), R10  // s
	MOVQ 24(DI), R11  // gr
	MOVQ 32(DI), R12  // itd
	MOVQ 40(DI), R13  // hi
	MOVQ 48(DI), R14  // lo
	MOVQ 56(DI), DX   // n
	MOVQ 64(DI), BX   // track
	VBROADCASTSD 72(DI), Y15  // elA
	VBROADCASTSD 80(DI), Y14  // glA
	VBROADCASTSD 88(DI), Y13  // ieA
	VBROADCASTSD 96(DI), Y12  // gAB
	VBROADCASTSD 104(DI), Y11 // E
	VBROADCASTSD 112(DI), Y10 // elB
	VBROADCASTSD 120(DI), Y9  // glB
	VBROADCASTSD 128(DI), Y8  // ieB
	// gBA 136, dtcA 144, dtcB 152, dt 160: memory operands
	XORQ CX, CX

loop:
	CMPQ CX, DX
	JGE  done
	VMOVUPD (R8)(CX*8), Y0  // va
	VMOVUPD (R9)(CX*8), Y1  // vb
	VMOVUPD (R10)(CX*8), Y2 // sv

	CMPQ BX, $1
	JNE  trackb
	VMOVUPD (R13)(CX*8), Y3
	VMAXPD  Y3, Y0, Y3      // hi = va > hi ? va : hi
	VMOVUPD Y3, (R13)(CX*8)
	VMOVUPD (R14)(CX*8), Y3
	VMINPD  Y3, Y0, Y3      // lo = va < lo ? va : lo
	VMOVUPD Y3, (R14)(CX*8)
	JMP     update

trackb:
	CMPQ BX, $2
	JNE  update
	VMOVUPD (R13)(CX*8), Y3
	VMAXPD  Y3, Y1, Y3
	VMOVUPD Y3, (R13)(CX*8)
	VMOVUPD (R14)(CX*8), Y3
	VMINPD  Y3, Y1, Y3
	VMOVUPD Y3, (R14)(CX*8)

update:
	// ta := glA*(elA-va) + ieA
	VSUBPD Y0, Y15, Y3
	VMULPD Y3, Y14, Y3
	VADDPD Y13, Y3, Y3
	// ta += gAB * (vb - va)
	VSUBPD Y0, Y1, Y4
	VMULPD Y4, Y12, Y4
	VADDPD Y4, Y3, Y3
	// ta += gr * (E - va) * sv
	VSUBPD  Y0, Y11, Y5
	VMOVUPD (R11)(CX*8), Y6
	VMULPD  Y5, Y6, Y5
	VMULPD  Y2, Y5, Y5
	VADDPD  Y5, Y3, Y3
	// tb := glB*(elB-vb) + ieB
	VSUBPD Y1, Y10, Y4
	VMULPD Y4, Y9, Y4
	VADDPD Y8, Y4, Y4
	// tb += gBA * (va - vb)
	VSUBPD       Y1, Y0, Y5
	VBROADCASTSD 136(DI), Y6
	VMULPD       Y5, Y6, Y5
	VADDPD       Y5, Y4, Y4
	// VA = va + ta*dtcA; VB = vb + tb*dtcB
	VBROADCASTSD 144(DI), Y6
	VMULPD       Y6, Y3, Y3
	VADDPD       Y3, Y0, Y0
	VMOVUPD      Y0, (R8)(CX*8)
	VBROADCASTSD 152(DI), Y6
	VMULPD       Y6, Y4, Y4
	VADDPD       Y4, Y1, Y1
	VMOVUPD      Y1, (R9)(CX*8)
	// S = sv - sv*itd*dt
	VMOVUPD      (R12)(CX*8), Y5
	VMULPD       Y5, Y2, Y5
	VBROADCASTSD 160(DI), Y6
	VMULPD       Y6, Y5, Y5
	VSUBPD       Y5, Y2, Y2
	VMOVUPD      Y2, (R10)(CX*8)

	ADDQ $4, CX
	JMP  loop

done:
	VZEROUPPER
	RET
