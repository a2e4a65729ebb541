package experiment

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend/experiment/abtest"
	"github.com/cespare/xxhash/v2"
)

// Experiment statuses. Only a running experiment assigns by hash and logs
// exposures; draft and stopped ones serve the control (or a forced variant,
// so QA can preview an arm before launch) and log nothing.
const (
	StatusDraft   = "draft"
	StatusRunning = "running"
	StatusStopped = "stopped"
)

// Store kinds used by the experiments service.
const (
	experimentRecordKind = "experiment"
	exposureLogKind      = "exposure"
	outcomeLogKind       = "outcome"
)

const (
	maxVariants       = 32
	maxVariantNameLen = 64
	maxLogString      = 4096
	maxLogItems       = 1000
)

// Experiment is an experiment's definition, as stored and as served by
// GET /v1/experiments/{id}. The first variant is the control unless one is
// named "control". A value is safe for concurrent reads; the service never
// hands out a definition it will change later.
type Experiment struct {
	ID       string          `json:"id"`
	Status   string          `json:"status"`
	Salt     string          `json:"salt"`
	Variants []VariantConfig `json:"variants"`
}

// VariantConfig is one arm: its name (its identity in the assignment hash),
// its weight (share of hash-assigned traffic; only ratios count) and the
// ranking parameters it serves, passed to the engine as Request.Params.
type VariantConfig struct {
	Name   string         `json:"name"`
	Weight float64        `json:"weight"`
	Params map[string]any `json:"params"`
}

// Control returns the index of the control variant: the one named "control",
// else the first.
func (e *Experiment) Control() int {
	for i, v := range e.Variants {
		if v.Name == "control" {
			return i
		}
	}
	return 0
}

// normalise fills defaults: salt = id, status = draft, empty params.
func (e *Experiment) normalise() {
	if e.Salt == "" {
		e.Salt = e.ID
	}
	if e.Status == "" {
		e.Status = StatusDraft
	}
	for i := range e.Variants {
		if e.Variants[i].Params == nil {
			e.Variants[i].Params = map[string]any{}
		}
	}
}

// validate reports the first problem as a *features.FieldError naming the
// field (variants[1].weight), so the API can answer 400 with it.
func (e *Experiment) validate(params Params) error {
	if err := features.ValidateName("id", e.ID); err != nil {
		return err
	}
	switch e.Status {
	case StatusDraft, StatusRunning, StatusStopped:
	default:
		return &features.FieldError{Field: "status", Msg: fmt.Sprintf("must be draft, running or stopped, not %q", e.Status)}
	}
	if err := features.ValidateID("salt", e.Salt); err != nil {
		return err
	}
	if len(e.Variants) == 0 || len(e.Variants) > maxVariants {
		return &features.FieldError{Field: "variants", Msg: fmt.Sprintf("must list 1 to %d variants", maxVariants)}
	}
	seen := make(map[string]bool, len(e.Variants))
	positive := false
	for i, v := range e.Variants {
		f := fmt.Sprintf("variants[%d].", i)
		if err := features.ValidateID(f+"name", v.Name); err != nil {
			return err
		}
		if len(v.Name) > maxVariantNameLen {
			return &features.FieldError{Field: f + "name", Msg: fmt.Sprintf("is longer than %d bytes", maxVariantNameLen)}
		}
		if seen[v.Name] {
			return &features.FieldError{Field: f + "name", Msg: fmt.Sprintf("%q is used twice; names identify variants", v.Name)}
		}
		seen[v.Name] = true
		if math.IsNaN(v.Weight) || math.IsInf(v.Weight, 0) || v.Weight < 0 || v.Weight > 1e9 {
			return &features.FieldError{Field: f + "weight", Msg: "must be a number from 0 to 1e9"}
		}
		positive = positive || v.Weight > 0
		if err := params.check(f, v.Params); err != nil {
			return err
		}
	}
	if !positive {
		return &features.FieldError{Field: "variants", Msg: "need at least one variant with a weight above 0"}
	}
	// The checks above cover abtest's rules; this guards against the two
	// drifting apart.
	if err := abtest.ValidateVariants(abVariants(e.Variants)); err != nil {
		return &features.FieldError{Field: "variants", Msg: err.Error()}
	}
	return nil
}

func abVariants(vs []VariantConfig) []abtest.Variant {
	out := make([]abtest.Variant, len(vs))
	for i, v := range vs {
		out[i] = abtest.Variant{Name: v.Name, Weight: v.Weight}
	}
	return out
}

// cloneExperiment deep-copies e through JSON, so params handed in by a
// caller cannot change under the service and params handed out (to the
// engine, on every request) are never written.
func cloneExperiment(e Experiment) (Experiment, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return Experiment{}, &features.FieldError{Field: "variants", Msg: "params cannot be encoded: " + err.Error()}
	}
	var out Experiment
	if err := json.Unmarshal(b, &out); err != nil {
		return Experiment{}, fmt.Errorf("cannot copy experiment: %w", err)
	}
	return out, nil
}

// compiled is an experiment prepared for Enrol. Immutable once published.
type compiled struct {
	def     Experiment
	ab      []abtest.Variant
	byName  map[string]int
	control int
	running bool
	// fp fingerprints the assignment (salt, names, weights): an exposure
	// logged under another fingerprint was hashed under other weights, so
	// the SRM check leaves it out rather than compare it to weights it was
	// never drawn from.
	fp uint64
}

func compile(e Experiment) *compiled {
	c := &compiled{def: e, ab: abVariants(e.Variants), byName: make(map[string]int, len(e.Variants)),
		control: e.Control(), running: e.Status == StatusRunning}
	for i, v := range e.Variants {
		c.byName[v.Name] = i
	}
	c.fp = fingerprint(e)
	return c
}

// fingerprint hashes what Assign depends on; order does not count, because
// Assign does not depend on the order of the variants.
func fingerprint(e Experiment) uint64 {
	vs := abVariants(e.Variants)
	sort.Slice(vs, func(i, j int) bool { return vs[i].Name < vs[j].Name })
	var d xxhash.Digest
	d.Reset()
	_, _ = d.WriteString(e.Salt)
	var b [8]byte
	for _, v := range vs {
		_, _ = d.WriteString("\x00" + v.Name + "\x00")
		binary.BigEndian.PutUint64(b[:], math.Float64bits(v.Weight))
		_, _ = d.Write(b[:])
	}
	return d.Sum64()
}
