package sim

import (
	"math"
	"math/big"
)

// Correctly rounded exp and log, for the few set-up formulas that
// cancellation makes sensitive to the last bit of a transcendental.
//
// Dendrify computes them with numpy, whose float64 exp and log are glibc's
// on machines without AVX-512 and round correctly in practice; Go's
// math.Exp and math.Log are within one ulp but not always nearest. In most
// formulas an ulp is invisible, but Dendrify's scale_g normalisation
// subtracts two nearly equal exponentials when t_rise is close to t_decay,
// and there one ulp of exp became a 1.5e-9 relative error in g. These
// functions compute in 320-bit big.Float arithmetic and round once, so they
// give the nearest float64. They are slow (tens of microseconds) and are
// not for the time loop.

const crPrec = 320

// crExp returns e^x rounded to the nearest float64.
func crExp(x float64) float64 {
	switch {
	case x == 0:
		return 1
	case math.IsNaN(x) || math.IsInf(x, 0) || x > 710 || x < -746:
		return math.Exp(x) // NaN, or overflow and underflow as math.Exp
	}
	f, _ := bigExp(new(big.Float).SetPrec(crPrec).SetFloat64(x)).Float64()
	return f
}

// crLog returns ln x rounded to the nearest float64.
func crLog(x float64) float64 {
	if !(x > 0) || math.IsInf(x, 1) || x == 1 {
		return math.Log(x) // 0 at 1; NaN, -Inf and +Inf as math.Log
	}
	bx := new(big.Float).SetPrec(crPrec).SetFloat64(x)
	// Newton's iteration for e^y = x, y += 2 (x - e^y) / (x + e^y), is
	// cubically convergent: from math.Log's 52 good bits, three steps pass
	// the working precision.
	y := new(big.Float).SetPrec(crPrec).SetFloat64(math.Log(x))
	num, den := new(big.Float).SetPrec(crPrec), new(big.Float).SetPrec(crPrec)
	for range 3 {
		ey := bigExp(y)
		num.Sub(bx, ey)
		den.Add(bx, ey)
		num.Quo(num, den)
		y.Add(y, num.Add(num, num))
	}
	f, _ := y.Float64()
	return f
}

// bigExp returns e^x to about crPrec bits: e^x = (e^(x/2^k))^(2^k) with
// |x/2^k| < 2^-16, whose Taylor series needs few terms. Squaring k (at
// most about 26) times costs k bits of the working precision's 320.
func bigExp(x *big.Float) *big.Float {
	r := new(big.Float).SetPrec(crPrec).Set(x)
	k := 0
	if e := r.MantExp(nil); e > -16 {
		k = e + 16
		r.SetMantExp(r, -k)
	}
	sum := new(big.Float).SetPrec(crPrec).SetInt64(1)
	term := new(big.Float).SetPrec(crPrec).SetInt64(1)
	n := new(big.Float).SetPrec(crPrec)
	for i := int64(1); ; i++ {
		term.Mul(term, r)
		term.Quo(term, n.SetInt64(i))
		if term.Sign() == 0 || term.MantExp(nil) < sum.MantExp(nil)-crPrec-8 {
			break
		}
		sum.Add(sum, term)
	}
	for range k {
		sum.Mul(sum, sum)
	}
	return sum
}
