package db

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Run commands.
const (
	CommandSimulate  = "simulate"
	CommandSweep     = "sweep"
	CommandFit       = "fit"
	CommandReproduce = "reproduce"
)

// Run statuses.
const (
	StatusRunning   = "running"
	StatusDone      = "done"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
	// StatusInterrupted is never stored: reads report it for a run stored
	// as running that no process claims (ClaimRun), one whose process
	// ended without finishing it (kill -9, a crash, a lost node).
	StatusInterrupted = "interrupted"
)

// Point statuses.
const (
	PointOK     = "ok"
	PointFailed = "failed"
)

// Experiment is one experiment spec as it was run: the file's text
// verbatim and its sha256. Several specs may share a name.
type Experiment struct {
	ID         int64
	Name       string
	SpecText   []byte // exactly as read
	SpecSHA256 string // lowercase hex
	CreatedAt  time.Time
}

// CheckText verifies the spec text against its recorded SHA-256: a text
// edited in the database since (by SQL) is not the spec its runs ran,
// and rerunning or exporting it would pass it off as theirs.
func (e *Experiment) CheckText() error {
	if sum := sha256.Sum256(e.SpecText); hex.EncodeToString(sum[:]) != e.SpecSHA256 {
		return fmt.Errorf("experiment %q (id %d): its stored spec text does not match the SHA-256 recorded with it (%.12s): the database was edited since, and the text is not the spec its runs ran", e.Name, e.ID, e.SpecSHA256)
	}
	return nil
}

// Run is one invocation of a dendfit command, with its provenance.
type Run struct {
	ID           int64
	ExperimentID int64
	Experiment   string // experiment name; filled by reads, ignored by CreateRun
	Command      string // CommandSimulate, CommandSweep, CommandFit or CommandReproduce
	Argv         []string
	Status       string // StatusRunning, StatusInterrupted (reads only), StatusDone, StatusFailed or StatusCancelled
	StartedAt    time.Time
	EndedAt      *time.Time // nil while running
	Version      string     // dendfit version
	VCSRevision  string
	VCSModified  bool
	GoVersion    string
	OS           string
	Arch         string
	Host         string
	Workers      int
	ShardK       int // this shard's index, 0-based
	ShardN       int // number of shards; 0 or 1 means unsharded
	DtMS         float64
	Method       string          // integration method
	Settings     json.RawMessage // free-form JSON command settings needed to rerun
	Error        string          // empty unless failed or cancelled
	// ReproducesRunID is the run a reproduce run re-ran, if any.
	ReproducesRunID *int64
	// RunUID is a random 128-bit hex id, unique across merged databases.
	RunUID string
}

// Receptor is one synaptic receptor of a point's synapse.
type Receptor struct {
	Channel  string   `json:"channel"`
	GNS      float64  `json:"g_nS"`
	TDecayMS float64  `json:"t_decay_ms"`
	TRiseMS  *float64 `json:"t_rise_ms"` // nil for a single exponential
}

// Point is one simulated PSP: one pathway at one set of synaptic
// parameters. GNS, TDecayMS and TRiseMS repeat the first receptor's values
// for indexing; Receptors holds them all.
type Point struct {
	ID          int64
	RunID       int64
	Pathway     int
	Pre         string
	Post        string
	Compartment string
	Record      string
	Tag         string
	// PointKey identifies the point within its run, so a resumed run can
	// skip points already recorded.
	PointKey     string
	GNS          float64
	TDecayMS     float64
	TRiseMS      *float64
	Receptors    []Receptor
	PSPMV        float64 // stored as NULL when Status is PointFailed
	BaselineMV   float64 // stored as NULL when Status is PointFailed
	TimeToPeakMS float64 // stored as NULL when Status is PointFailed
	Rise1090MS   *float64
	HalfWidthMS  *float64
	PeaksMV      map[string]float64 // compartment -> peak membrane potential
	IHoldPA      *float64
	DSpikeFired  bool
	// Status is PointOK or PointFailed; empty means PointOK when Error is
	// empty and PointFailed otherwise.
	Status string
	Error  string
}

// Fit is the fitted conductance(s) of one pathway in a fit run.
type Fit struct {
	ID          int64
	RunID       int64
	Experiment  string // its run's experiment, as Fits reads it
	Pathway     int
	Pre         string
	Post        string
	Compartment string
	Record      string
	Tag         string
	Receptors   []string // channel names, in the order of GFitNS
	TargetPSPMV float64
	GFitNS      []float64 // one per receptor: the fitted g, or the best g tried when not Converged
	TDecayMS    *float64
	TRiseMS     *float64
	PSPAtFitMV  float64
	PSPFineDtMV *float64 // PSP at the fit with dt/10
	Evaluations int
	Converged   bool
	Outcome     string
	Message     string
	Residuals   json.RawMessage // free-form JSON
	// Warnings say what makes the g doubtful, one line each (migration
	// 0005; none for fits recorded before it).
	Warnings []string
}

// RunFilter selects runs; zero fields match everything.
type RunFilter struct {
	Experiment string // experiment name
	Command    string
	// Status StatusRunning matches the runs being worked on now,
	// StatusInterrupted those stored as running that nothing works on.
	Status string
	Limit  int // 0 means no limit
	// WholeGridFirst lists the runs of a whole grid before those of one
	// shard of it, each newest first: to read a sweep's results, a
	// shard's run (holding a part of the grid) is the last choice.
	WholeGridFirst bool
}

// PointFilter selects points; zero fields match everything.
type PointFilter struct {
	RunID      int64
	Experiment string // experiment name
	Pathway    *int
	Status     string
	GMinNS     *float64 // g_nS >= GMinNS
	GMaxNS     *float64 // g_nS <= GMaxNS
	Limit      int      // 0 means no limit
}

// FitFilter selects fits; zero fields match everything.
type FitFilter struct {
	RunID      int64
	Experiment string // experiment name
}
