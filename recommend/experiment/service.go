package experiment

// Experiments: A/B tests driven by request flags (DESIGN 3.2).
//
// The request path touches two things only: Enrol reads an immutable map of
// compiled experiments (an atomic pointer, no lock) and hashes the unit with
// abtest.Assign; Expose puts one record on a buffered channel. Everything
// else happens in one background goroutine, the flusher, which owns the
// attribution index and is the only writer of the per-variant counters:
//
//   - every FlushInterval (or as soon as BatchSize exposures wait) it takes
//     the queued exposures, adds them to the index and appends them to the
//     store's "exposure" log in one batch;
//   - the store's OnEvents hook queues events that carry a recommendation_id;
//     the flusher attributes them to their exposure and appends what counted
//     to the "outcome" log;
//   - the OnErase hook and DELETE /v1/experiments queue erasures, done in
//     order with everything else.
//
// Hooks run in the store's writer goroutine, and the flusher waits on that
// goroutine when it appends to a log, so a hook must never wait on the
// flusher: hooks append to an unbounded slice under a mutex instead of a
// bounded channel (the store's own ingest rate bounds it). On start the
// index and the counters are rebuilt from the two logs.

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend/experiment/abtest"
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

// paramCheckers validates the variant params the engine understands. A
// typo must fail loudly: an ignored "halflife_days" would make two arms
// serve the same thing and the experiment measure nothing. Whoever adds a
// knob to the engine adds its checker here.
var paramCheckers = map[string]func(v any, maxLimit int) string{
	"nbo_policy": checkNBOPolicy,
	"algorithm": func(v any, _ int) string {
		s, _ := v.(string)
		switch s {
		case "default", "personal", "related", "popular", "fixed":
			return ""
		}
		return "must be one of default, personal, related, popular, fixed"
	},
	"half_life_days": func(v any, _ int) string {
		f, ok := paramNumber(v)
		if !ok || f <= 0 || f > 36500 {
			return "must be a number of days above 0 and at most 36500"
		}
		return ""
	},
	"limit": func(v any, maxLimit int) string {
		f, ok := paramNumber(v)
		if !ok || f != math.Trunc(f) || f < 1 || f > float64(maxLimit) {
			return fmt.Sprintf("must be a whole number from 1 to %d", maxLimit)
		}
		return ""
	},
	"products": func(v any, maxLimit int) string {
		ids, ok := paramStrings(v)
		if !ok || len(ids) == 0 || len(ids) > maxLimit {
			return fmt.Sprintf("must be a list of 1 to %d product ids", maxLimit)
		}
		seen := make(map[string]bool, len(ids))
		for _, id := range ids {
			if err := features.ValidateID("product_id", id); err != nil {
				return "holds an invalid product id: " + err.Error()
			}
			if seen[id] {
				return fmt.Sprintf("lists %q twice", id)
			}
			seen[id] = true
		}
		return ""
	},
}

func paramNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case int:
		return float64(x), true
	}
	return 0, false
}

// paramStrings reads a list of strings as JSON decodes it ([]any) or as Go
// code writes it ([]string).
func paramStrings(v any) ([]string, bool) {
	switch x := v.(type) {
	case []string:
		return x, true
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out[i] = s
		}
		return out, true
	}
	return nil, false
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
func (e *Experiment) validate(maxLimit int) error {
	if err := features.ValidateID("id", e.ID); err != nil {
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
		keys := make([]string, 0, len(v.Params))
		for k := range v.Params {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			check, ok := paramCheckers[k]
			if !ok {
				return &features.FieldError{Field: f + "params." + k, Msg: "is not a known parameter (" + knownParams() + ")"}
			}
			if msg := check(v.Params[k], maxLimit); msg != "" {
				return &features.FieldError{Field: f + "params." + k, Msg: msg}
			}
		}
		if a, _ := v.Params["algorithm"].(string); a == "fixed" {
			if _, ok := v.Params["products"]; !ok {
				return &features.FieldError{Field: f + "params.products", Msg: "is required when algorithm is fixed"}
			}
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

func knownParams() string {
	ks := make([]string, 0, len(paramCheckers))
	for k := range paramCheckers {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
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

// ExperimentStore is what the experiments service needs from the feature
// store. Implementations must be safe for concurrent use; hooks must run
// after the events they report are committed.
type ExperimentStore interface {
	PutRecord(kind, id string, value []byte) error
	GetRecord(kind, id string) ([]byte, error)
	DeleteRecord(kind, id string) error
	ListRecords(kind string, fn func(id string, value []byte) error) error
	AppendLog(kind string, entries [][]byte) (uint64, error)
	ScanLog(kind string, after uint64, fn func(seq uint64, value []byte) error) error
	DeleteLogEntries(kind string, seqs []uint64) error
	AddHooks(h features.Hooks)
	ProductID(ext string) (uint32, bool)
	AddErasureJournal(name string)
	PendingErasures(name string) ([]string, error)
	ErasureDone(name, ext string) error
	// Erased reports whether a customer id was erased (and not written
	// since): no exposure is logged under it.
	Erased(ext string) bool
}

// experimentJournal is the experiments' erasure journal (features/erasure.go).
const experimentJournal = "experiments"

var _ ExperimentStore = (*features.Store)(nil)

// ExperimentsOptions configure the experiments service.
type ExperimentsOptions struct {
	// FlushInterval is how long an exposure or outcome may wait in memory
	// before it is appended to its log (what a crash can lose).
	FlushInterval time.Duration
	// BatchSize exposures waiting wake the flusher before the interval.
	BatchSize int
	// QueueSize bounds the exposures waiting for the flusher.
	QueueSize int
	// EnqueueTimeout is how long Expose blocks on a full queue before it
	// drops the exposure (and counts it in Stats.Dropped): a stalled store
	// must slow requests down, not stop them.
	EnqueueTimeout time.Duration
	// MaxLimit is the largest "limit" param a variant may set (the engine's
	// MaxLimit).
	MaxLimit int
	// Logger receives write failures.
	Logger *slog.Logger
}

// DefaultExperimentsOptions returns production defaults.
func DefaultExperimentsOptions() ExperimentsOptions {
	return ExperimentsOptions{FlushInterval: 100 * time.Millisecond, BatchSize: 1024, QueueSize: 1 << 16,
		EnqueueTimeout: time.Second, MaxLimit: 100}
}

// Validate reports whether o is usable.
func (o ExperimentsOptions) Validate() error {
	if o.FlushInterval <= 0 || o.FlushInterval > time.Minute {
		return fmt.Errorf("%w: experiments flush interval must be in (0, 1m]", ErrBadRequest)
	}
	if o.BatchSize < 1 || o.QueueSize < o.BatchSize {
		return fmt.Errorf("%w: experiments queue must hold at least one batch (batch >= 1)", ErrBadRequest)
	}
	if o.EnqueueTimeout < 0 {
		return fmt.Errorf("%w: negative enqueue timeout", ErrBadRequest)
	}
	if o.MaxLimit < 1 {
		return fmt.Errorf("%w: MaxLimit must be >= 1", ErrBadRequest)
	}
	return nil
}

// ExperimentStats counts the service's work since start, for metrics.
type ExperimentStats struct {
	Exposures   int64 // exposures appended to the log
	Outcomes    int64 // attributed outcomes appended to the log
	Dropped     int64 // exposures dropped: queue full past EnqueueTimeout, or closed
	WriteErrors int64 // failed log appends (retried on the next flush)
}

// Experiments is the experiments service: definitions, enrolment, the
// exposure and outcome logs, results. Safe for concurrent use. Close it
// before the store.
type Experiments struct {
	st   ExperimentStore
	opts ExperimentsOptions
	log  *slog.Logger

	exps    atomic.Pointer[map[string]*compiled]
	adminMu sync.Mutex // serialises Put and Delete

	queue   chan exposureOp
	wake    chan struct{}
	closeMu sync.RWMutex // Expose holds it shared while it enqueues
	closed  bool
	stop    chan struct{}
	done    chan struct{}

	hookMu  sync.Mutex
	hookOps []hookOp

	// mu guards the counters below and the variant states' counters;
	// the flusher writes under it and Results reads under it.
	mu     sync.RWMutex
	states map[string]*expState

	// Owned by the flusher goroutine (and by New before it starts).
	index      map[string]*exposure
	pendingExp []*exposure
	pendingOut []*outcomeRef

	stats struct{ exposures, outcomes, dropped, writeErrors atomic.Int64 }
}

var _ interface {
	Enrol(ctx context.Context, experiment, forced, unit string) (string, map[string]any, error)
	Expose(experiment, variant, recommendationID, unit string, forced bool, items []string)
} = (*Experiments)(nil)

type exposureOp struct {
	exp, variant, recID, unit string
	items                     []string // as served, from Expose
	pids                      []uint32 // the items' internal ids, as logged
	ts                        int64
	forced                    bool // the request named the variant
	// c is the definition the variant was chosen under; the weights may
	// change before the flusher sees the exposure.
	c *compiled
}

type hookKind uint8

const (
	hookOutcome hookKind = iota + 1
	hookErase
	hookDeleteExperiment
	hookSync
)

type hookOp struct {
	kind    hookKind
	outcome outcomeOp
	id      string // erased customer or deleted experiment
	done    chan error
}

type outcomeOp struct {
	recID, cust string
	product     uint32
	click       bool // else a conversion
	value       float64
	ts          int64
}

// expState is what one experiment has collected, per variant name.
type expState struct {
	variants map[string]*variantState
	// forcedUnits were served a forced variant at least once; the SRM check
	// leaves them out. Forcing does not depend on the hash, so dropping
	// them keeps the hash-assigned rest a fair sample of the weights.
	forcedUnits map[string]struct{}
}

type variantState struct {
	exposures   int64
	clicked     int64 // exposures with at least one attributed click
	conversions int64 // units with at least one attributed conversion
	revSum      float64
	revSumSq    float64
	units       map[string]unitState
}

type unitState struct {
	cfg       uint64 // fingerprint of the last hash-assigned exposure; 0: none
	converted bool
}

// exposure is one served list in the attribution index.
type exposure struct {
	recID        string
	exp, variant string
	unit         string
	items        []uint32
	seq          uint64 // 0 until appended to the log
	ts           int64
	cfg          uint64
	forced       bool
	clicked      bool
	converted    bool
	erased       bool
	revenue      float64
	outs         []*outcomeRef
	raw          []byte // the encoded log entry until it is appended
}

type outcomeRef struct {
	exp    *exposure
	seq    uint64
	cust   string
	click  bool
	value  float64
	erased bool
	raw    []byte
}

// NewExperiments loads the experiments, rebuilds the attribution index and
// the counters from the logs, registers the store hooks and starts the
// flusher.
func NewExperiments(st ExperimentStore, o ExperimentsOptions) (*Experiments, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	x := &Experiments{
		st: st, opts: o, log: o.Logger,
		queue:  make(chan exposureOp, o.QueueSize),
		wake:   make(chan struct{}, 1),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		states: map[string]*expState{},
		index:  map[string]*exposure{},
	}
	exps := map[string]*compiled{}
	err := st.ListRecords(experimentRecordKind, func(id string, v []byte) error {
		var e Experiment
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("cannot decode experiment %q: %w", id, err)
		}
		e.ID = id
		e.normalise()
		exps[id] = compile(e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot load experiments: %w", err)
	}
	x.exps.Store(&exps)
	// Hooks first: events committed while the logs are read queue up and
	// are attributed once the index is complete.
	st.AddErasureJournal(experimentJournal)
	st.AddHooks(features.Hooks{OnEvents: x.onEvents, OnErase: x.onErase})
	if err := x.rebuild(); err != nil {
		return nil, err
	}
	// Erasures a crash interrupted are finished first.
	pending, err := st.PendingErasures(experimentJournal)
	if err != nil {
		return nil, err
	}
	for _, ext := range pending {
		x.onErase(0, ext)
	}
	go x.run()
	return x, nil
}

// rebuild reads the exposure and outcome logs into the index and counters.
// Entries of experiments that no longer exist (a crash between deleting the
// record and its log entries) are deleted now.
func (x *Experiments) rebuild() error {
	exps := *x.exps.Load()
	var orphans, orphanOuts []uint64
	intern := map[string]string{}
	err := x.st.ScanLog(exposureLogKind, 0, func(seq uint64, v []byte) error {
		op, forced, cfg, err := decodeExposure(v, intern)
		if err != nil {
			x.log.Warn("skipping a corrupt exposure log entry", "seq", seq, "err", err)
			return nil
		}
		if exps[op.exp] == nil {
			orphans = append(orphans, seq)
			return nil
		}
		e := x.newExposure(op, forced, cfg)
		e.seq = seq
		x.addExposure(e)
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot read the exposure log: %w", err)
	}
	err = x.st.ScanLog(outcomeLogKind, 0, func(seq uint64, v []byte) error {
		recID, cust, click, value, err := decodeOutcome(v)
		if err != nil {
			x.log.Warn("skipping a corrupt outcome log entry", "seq", seq, "err", err)
			return nil
		}
		e := x.index[recID]
		if e == nil {
			orphanOuts = append(orphanOuts, seq)
			return nil
		}
		ref := &outcomeRef{exp: e, seq: seq, cust: cust, click: click, value: value}
		x.applyOutcome(e, ref)
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot read the outcome log: %w", err)
	}
	if len(orphans) > 0 {
		if err := x.st.DeleteLogEntries(exposureLogKind, orphans); err != nil {
			return fmt.Errorf("cannot delete exposures of deleted experiments: %w", err)
		}
	}
	if len(orphanOuts) > 0 {
		if err := x.st.DeleteLogEntries(outcomeLogKind, orphanOuts); err != nil {
			return fmt.Errorf("cannot delete orphaned outcomes: %w", err)
		}
	}
	return nil
}

// Put creates or replaces an experiment. Its id, status, salt and variants
// are validated (a *features.FieldError names the bad field); the stored
// definition, with defaults filled in, is returned. Exposures collected so
// far are kept: changing weights moves only the units the change must move
// (see abtest.Assign), and the SRM check compares only units hashed under
// the current weights.
func (x *Experiments) Put(ctx context.Context, e Experiment) (Experiment, error) {
	e.normalise()
	if err := e.validate(x.opts.MaxLimit); err != nil {
		return Experiment{}, err
	}
	e, err := cloneExperiment(e)
	if err != nil {
		return Experiment{}, err
	}
	body, err := json.Marshal(e)
	if err != nil {
		return Experiment{}, fmt.Errorf("cannot encode experiment: %w", err)
	}
	x.adminMu.Lock()
	defer x.adminMu.Unlock()
	if err := x.st.PutRecord(experimentRecordKind, e.ID, body); err != nil {
		return Experiment{}, fmt.Errorf("cannot store experiment %q: %w", e.ID, err)
	}
	x.publish(e.ID, compile(e))
	return e, nil
}

func (x *Experiments) publish(id string, c *compiled) {
	old := *x.exps.Load()
	next := make(map[string]*compiled, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	if c == nil {
		delete(next, id)
	} else {
		next[id] = c
	}
	x.exps.Store(&next)
}

func (x *Experiments) lookup(id string) *compiled { return (*x.exps.Load())[id] }

func unknownExperiment(id string) error {
	return fmt.Errorf("%w: unknown experiment %q", features.ErrNotFound, id)
}

// Get returns experiment id's definition, or an error wrapping
// features.ErrNotFound.
func (x *Experiments) Get(id string) (Experiment, error) {
	c := x.lookup(id)
	if c == nil {
		return Experiment{}, unknownExperiment(id)
	}
	return c.def, nil
}

// List returns every experiment, by id.
func (x *Experiments) List() []Experiment {
	m := *x.exps.Load()
	out := make([]Experiment, 0, len(m))
	for _, c := range m {
		out = append(out, c.def)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Delete removes experiment id with every exposure and outcome it logged,
// and returns once they are gone, so an experiment created again under the
// same id starts empty.
func (x *Experiments) Delete(ctx context.Context, id string) error {
	x.adminMu.Lock()
	defer x.adminMu.Unlock()
	if x.lookup(id) == nil {
		return unknownExperiment(id)
	}
	if err := x.st.DeleteRecord(experimentRecordKind, id); err != nil {
		return fmt.Errorf("cannot delete experiment %q: %w", id, err)
	}
	x.publish(id, nil)
	return x.control(ctx, hookOp{kind: hookDeleteExperiment, id: id})
}

// Enrol assigns unit to a variant of experiment and returns the variant's
// name and params (shared: the caller must not change them). A non-empty
// forced variant wins; an unknown one is a *features.FieldError on
// "variant". An experiment that is not running serves the control (or the
// forced variant), and so does a request without a unit. An unknown
// experiment gives an error wrapping features.ErrNotFound. Enrol does not
// allocate.
func (x *Experiments) Enrol(_ context.Context, experiment, forced, unit string) (string, map[string]any, error) {
	c := x.lookup(experiment)
	if c == nil {
		return "", nil, unknownExperiment(experiment)
	}
	i := c.control
	switch {
	case forced != "":
		var ok bool
		if i, ok = c.byName[forced]; !ok {
			return "", nil, &features.FieldError{Field: "variant",
				Msg: fmt.Sprintf("%q is not a variant of experiment %q", forced, experiment)}
		}
	case c.running && unit != "":
		if j := abtest.Assign(c.def.Salt, unit, c.ab); j >= 0 {
			i = j
		}
	}
	v := &c.def.Variants[i]
	return v.Name, v.Params, nil
}

// Expose queues the record that recommendationID (items, in order) was
// served to unit under variant; forced says the request named the variant
// (QA, previews), so the sample-ratio check leaves the unit out. Only
// running experiments with a unit are
// logged: a draft preview, or an anonymous request that got the control
// without being randomised, would bias the counts. It blocks only when the
// queue is full, for at most EnqueueTimeout, then drops the exposure.
func (x *Experiments) Expose(experiment, variant, recommendationID, unit string, forced bool, items []string) {
	c := x.lookup(experiment)
	if c == nil || !c.running || unit == "" || recommendationID == "" {
		return
	}
	if x.st.Erased(unit) {
		// An erased customer is not brought back by a read.
		return
	}
	if _, ok := c.byName[variant]; !ok {
		return
	}
	op := exposureOp{exp: experiment, variant: variant, recID: recommendationID, unit: unit, items: items, ts: time.Now().Unix(), forced: forced, c: c}
	x.closeMu.RLock()
	defer x.closeMu.RUnlock()
	if x.closed {
		x.stats.dropped.Add(1)
		return
	}
	select {
	case x.queue <- op:
	default:
		x.signal()
		t := time.NewTimer(x.opts.EnqueueTimeout)
		select {
		case x.queue <- op:
			t.Stop()
		case <-t.C:
			if x.stats.dropped.Add(1)&1023 == 1 {
				x.log.Error("exposure queue full: dropping exposures", "dropped", x.stats.dropped.Load())
			}
			return
		}
	}
	if len(x.queue) >= x.opts.BatchSize {
		x.signal()
	}
}

func (x *Experiments) signal() {
	select {
	case x.wake <- struct{}{}:
	default:
	}
}

// onEvents runs in the store's writer goroutine: it only copies what may be
// an outcome into the hook queue.
func (x *Experiments) onEvents(evs []features.AppliedEvent) {
	var ops []hookOp
	for i := range evs {
		ae := &evs[i]
		if ae.Event.RecommendationID == "" {
			continue
		}
		var click bool
		switch {
		case ae.Class == features.ClassViewed:
			click = true
		case ae.Class == features.ClassBought && ae.Event.Type != "rating":
		default:
			continue // carts and ratings are neither clicks nor conversions
		}
		ops = append(ops, hookOp{kind: hookOutcome, outcome: outcomeOp{
			recID: strings.Clone(ae.Event.RecommendationID), cust: strings.Clone(ae.Event.CustomerID),
			product: ae.Product, click: click, value: ae.Event.Value, ts: ae.Event.Timestamp.Unix()}})
	}
	if len(ops) == 0 {
		return
	}
	x.hookMu.Lock()
	x.hookOps = append(x.hookOps, ops...)
	x.hookMu.Unlock()
}

// onErase runs in the store's writer goroutine; the erasure itself happens
// in the flusher within one flush interval.
func (x *Experiments) onErase(_ uint32, customerID string) {
	x.hookMu.Lock()
	x.hookOps = append(x.hookOps, hookOp{kind: hookErase, id: strings.Clone(customerID)})
	x.hookMu.Unlock()
	x.signal()
}

// control queues op for the flusher and waits for it.
func (x *Experiments) control(ctx context.Context, op hookOp) error {
	op.done = make(chan error, 1)
	x.closeMu.RLock()
	if x.closed {
		x.closeMu.RUnlock()
		return features.ErrClosed
	}
	x.hookMu.Lock()
	x.hookOps = append(x.hookOps, op)
	x.hookMu.Unlock()
	x.closeMu.RUnlock()
	x.signal()
	select {
	case err := <-op.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Flush returns once every exposure and event handed to the service before
// the call is counted and appended to its log (or the append failed: the
// error says so, and the entries are retried on the next flush).
func (x *Experiments) Flush(ctx context.Context) error {
	return x.control(ctx, hookOp{kind: hookSync})
}

// Stats returns the service's counters.
func (x *Experiments) Stats() ExperimentStats {
	return ExperimentStats{Exposures: x.stats.exposures.Load(), Outcomes: x.stats.outcomes.Load(),
		Dropped: x.stats.dropped.Load(), WriteErrors: x.stats.writeErrors.Load()}
}

// Close stops the flusher after it has logged everything queued. Exposures
// offered after Close are dropped. Call it before closing the store.
func (x *Experiments) Close() error {
	x.closeMu.Lock()
	if x.closed {
		x.closeMu.Unlock()
		return nil
	}
	x.closed = true
	x.closeMu.Unlock()
	close(x.stop)
	<-x.done
	if n := len(x.pendingExp) + len(x.pendingOut); n > 0 {
		return fmt.Errorf("cannot log %d exposures and outcomes on close: the store refused the writes", n)
	}
	return nil
}
