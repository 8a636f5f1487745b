package sim

import (
	"errors"
	"fmt"
	"math"
)

// Method is a Brian 2 state updater.
type Method int

// The integration methods dendfit reproduces, with Brian 2's semantics.
const (
	Euler            Method = iota // forward Euler: y += dt f(y)
	RK4                            // classical Runge-Kutta, all variables jointly
	ExponentialEuler               // Brian 2.5's per-variable exponential Euler
)

// String returns the name Brian 2 uses for the method.
func (m Method) String() string {
	switch m {
	case Euler:
		return "euler"
	case RK4:
		return "rk4"
	case ExponentialEuler:
		return "exponential_euler"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// ParseMethod maps a Brian 2 method name to a Method.
func ParseMethod(s string) (Method, error) {
	switch s {
	case "euler":
		return Euler, nil
	case "rk4":
		return RK4, nil
	case "exponential_euler":
		return ExponentialEuler, nil
	}
	return 0, fmt.Errorf("unknown method %q (want euler, rk4 or exponential_euler)", s)
}

// Kind is a Dendrify compartment model. Passive and LeakyIF have the same
// equation here: the PSP protocol never uses a somatic threshold.
type Kind int

// Dendrify's library models.
const (
	Passive Kind = iota
	LeakyIF
	AdaptiveIF
	AdEx
)

// String returns Dendrify's name for the model.
func (k Kind) String() string {
	switch k {
	case Passive:
		return "passive"
	case LeakyIF:
		return "leakyIF"
	case AdaptiveIF:
		return "adaptiveIF"
	case AdEx:
		return "adex"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Adaptive reports whether the model has an adaptation current w.
func (k Kind) Adaptive() bool { return k == AdaptiveIF || k == AdEx }

// Compartment is one isopotential compartment with SI parameters already
// resolved (area, overrides and scale factors applied by the caller).
type Compartment struct {
	Name string
	Kind Kind
	C    float64 // capacitance, F
	GL   float64 // leak conductance, S
	EL   float64 // leak reversal (v_rest), V

	// Adaptation (AdaptiveIF, AdEx): tauw dw/dt = A (V - EL) - w.
	A    float64 // S
	TauW float64 // s
	// AdEx only: gL DeltaT exp((V - VT)/DeltaT).
	DeltaT float64 // V
	VT     float64 // V

	DSpikes []DSpike
}

// DSpike is one Dendrify dendritic-spike mechanism on a compartment.
// Durations are in seconds; they are turned into whole steps with Brian 2's
// timestep rule for the simulation's dt.
type DSpike struct {
	Name         string
	Threshold    float64 // V
	GRise, GFall float64 // S
	ERise, EFall float64 // V
	DurationRise float64 // s
	DurationFall float64 // s
	OffsetFall   float64 // s
	Refractory   float64 // s
}

// Coupling is a symmetric axial conductance between two compartments.
type Coupling struct {
	A, B int     // compartment indices
	G    float64 // S
}

// Constants are Dendrify's ionic defaults (EphysProperties.DEFAULT_PARAMS).
type Constants struct {
	EAMPA, ENMDA, EGABA float64 // V
	MgCon               float64 // mM, dimensionless in Dendrify
	AlphaNMDA           float64 // 1/mV
	BetaNMDA            float64
	GammaNMDA           float64 // mV
}

// Reversal returns the reversal potential (V) of channel ch.
func (c Constants) Reversal(ch Channel) float64 {
	switch ch {
	case NMDA:
		return c.ENMDA
	case GABA:
		return c.EGABA
	}
	return c.EAMPA
}

// Used returns the constants a simulation with receptors rs reads, the
// others zero: E_AMPA for AMPA, E_NMDA and the Mg block's for NMDA,
// E_GABA for GABA. Two setups whose used constants are equal give the
// same PSPs, so that an edit of E_GABA leaves an AMPA pathway's results
// as they were.
func (c Constants) Used(rs []Receptor) Constants {
	var u Constants
	for _, r := range rs {
		switch r.Channel {
		case AMPA:
			u.EAMPA = c.EAMPA
		case NMDA:
			u.ENMDA, u.MgCon, u.AlphaNMDA, u.BetaNMDA, u.GammaNMDA = c.ENMDA, c.MgCon, c.AlphaNMDA, c.BetaNMDA, c.GammaNMDA
		case GABA:
			u.EGABA = c.EGABA
		}
	}
	return u
}

// DefaultConstants returns Dendrify 2.2's defaults.
func DefaultConstants() Constants {
	return Constants{EAMPA: 0, ENMDA: 0, EGABA: -80e-3, MgCon: 1, AlphaNMDA: 0.062, BetaNMDA: 3.57, GammaNMDA: 0}
}

// Cell is a Dendrify NeuronModel (or PointNeuronModel when it has one
// compartment and no couplings).
type Cell struct {
	Compartments []Compartment
	Couplings    []Coupling
}

// Channel is a synaptic receptor type.
type Channel int

// Receptor channels.
const (
	AMPA Channel = iota
	NMDA
	GABA
)

// String returns the channel's name as Dendrify spells it.
func (c Channel) String() string {
	switch c {
	case AMPA:
		return "AMPA"
	case NMDA:
		return "NMDA"
	case GABA:
		return "GABA"
	}
	return fmt.Sprintf("Channel(%d)", int(c))
}

// ParseChannel maps "AMPA", "NMDA" or "GABA" to a Channel.
func ParseChannel(s string) (Channel, error) {
	switch s {
	case "AMPA":
		return AMPA, nil
	case "NMDA":
		return NMDA, nil
	case "GABA":
		return GABA, nil
	}
	return 0, fmt.Errorf("unknown channel %q (want AMPA, NMDA or GABA)", s)
}

// Receptor is one synaptic receptor of a pathway. G is the spec (Dendrify
// synapse()) conductance; with ScaleG and a rise time, the conductance in the
// equations is G * GNormFactor(TauRise, TauDecay).
type Receptor struct {
	Channel  Channel
	G        float64 // S
	TauDecay float64 // s
	TauRise  float64 // s; 0 means instant rise
	ScaleG   bool
}

// EffectiveG returns the conductance that enters the equations.
func (r Receptor) EffectiveG() float64 {
	if r.ScaleG && r.TauRise > 0 && r.TauDecay > 0 && r.G != 0 {
		return r.G * GNormFactor(r.TauRise, r.TauDecay)
	}
	return r.G
}

// PeakG returns the peak of the receptor's conductance after one spike,
// of its time course in continuous time and before NMDA's Mg block: with
// an instant rise, EffectiveG; with t_rise, EffectiveG times the peak of
// Dendrify's rise-decay gating for a unit kick (x' = -x/t_decay + s/ms,
// s' = -s/t_rise), which is 1/GNormFactor, so g itself under scale_g.
// Without scale_g that peak differs from g, as Dendrify's literal 1 ms
// makes it: far below g with a short t_rise, above it with a slow one (an
// NMDA's 5 ms rise and 60 ms decay: 4 g). A modeller comparing g with a
// recorded peak conductance needs this number.
func (r Receptor) PeakG() float64 {
	if r.TauRise <= 0 || r.TauDecay <= 0 {
		return r.EffectiveG()
	}
	if r.ScaleG && r.TauRise != r.TauDecay {
		return r.G
	}
	const ms = 1e-3
	if r.TauRise == r.TauDecay {
		// The limit: x = (t/ms) exp(-t/tau), at its peak t = tau.
		return r.EffectiveG() * r.TauDecay / (math.E * ms)
	}
	return r.EffectiveG() / GNormFactor(r.TauRise, r.TauDecay)
}

// GNormFactor is Dendrify's scale_g normalisation: the factor that makes the
// peak of a difference-of-exponentials conductance (with its literal 1 ms)
// equal to g.
func GNormFactor(tRise, tDecay float64) float64 {
	const ms = 1e-3
	exp, log := math.Exp, math.Log
	if math.Abs(tDecay-tRise) < 1e-3*max(tDecay, tRise) {
		// The difference of exponentials cancels (by 1e3 here, 1e7 with
		// t_rise within 1e-7 of t_decay), enough for an ulp of exp to show
		// in g: round them correctly, as glibc's are, and numpy's where it
		// calls them (crmath.go; numpy's own AVX-512 exp is off by an ulp
		// at times, so the reference itself depends on the CPU there).
		// Elsewhere math's are as good and a thousand times faster; a
		// sweep calls this for every point.
		exp, log = crExp, crLog
	}
	tPeak := (tDecay * tRise / (tDecay - tRise)) * log(tDecay/tRise)
	f := ((tDecay * tRise) / (tDecay - tRise)) * (-exp(-tPeak/tRise) + exp(-tPeak/tDecay)) / ms
	return 1 / f
}

// Protocol is the PSP protocol of one pathway: the simulation clock, where
// the synapse sits, where the PSP is recorded and an optional holding.
type Protocol struct {
	Method   Method
	Dt       float64 // s
	Duration float64 // s
	SpikeAt  float64 // s
	Synapse  int     // compartment that receives the receptors
	Record   int     // compartment where the PSP is measured
	Hold     bool    // hold Record at Holding with a constant current
	Holding  float64 // V
}

// Setup is everything a PSP simulation needs except the receptors, which are
// the parameters a sweep or fit varies.
type Setup struct {
	Cell      *Cell
	Constants Constants
	Protocol  Protocol
}

// ErrUnstable is returned (wrapped) when a dt is beyond the method's
// stability limit for the cell, or a run goes non-finite or beyond any
// membrane voltage (stability.go).
var ErrUnstable = errors.New("numerically unstable; use a smaller dt")
