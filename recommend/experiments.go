package recommend

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
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend/abtest"
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
}

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

	// forced remembers units Enrol gave a forced variant, until the flusher
	// sees their exposure (the Expose call does not say). Keyed exp\x00unit.
	forced sync.Map

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
	Expose(experiment, variant, recommendationID, unit string, items []string)
} = (*Experiments)(nil)

type exposureOp struct {
	exp, variant, recID, unit string
	items                     []string // as served, from Expose
	pids                      []uint32 // the items' internal ids, as logged
	ts                        int64
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
	st.AddHooks(features.Hooks{OnEvents: x.onEvents, OnErase: x.onErase})
	if err := x.rebuild(); err != nil {
		return nil, err
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
// allocate except to remember a forced unit.
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
		if c.running && unit != "" {
			x.forced.Store(experiment+"\x00"+unit, struct{}{})
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
// served to unit under variant. Only running experiments with a unit are
// logged: a draft preview, or an anonymous request that got the control
// without being randomised, would bias the counts. It blocks only when the
// queue is full, for at most EnqueueTimeout, then drops the exposure.
func (x *Experiments) Expose(experiment, variant, recommendationID, unit string, items []string) {
	c := x.lookup(experiment)
	if c == nil || !c.running || unit == "" || recommendationID == "" {
		return
	}
	if _, ok := c.byName[variant]; !ok {
		return
	}
	op := exposureOp{exp: experiment, variant: variant, recID: recommendationID, unit: unit, items: items, ts: time.Now().Unix(), c: c}
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

func (x *Experiments) run() {
	defer close(x.done)
	t := time.NewTicker(x.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-x.stop:
			// Close waited for every Expose in flight, so what is queued
			// now is all there will be.
			for len(x.queue) > 0 || x.hooksPending() {
				x.cycle()
			}
			x.cycle() // retry failed appends once more
			return
		case <-t.C:
		case <-x.wake:
		}
		x.cycle()
	}
}

func (x *Experiments) hooksPending() bool {
	x.hookMu.Lock()
	defer x.hookMu.Unlock()
	return len(x.hookOps) > 0
}

// cycle is one flush. The hook queue is taken before the exposure queue is
// drained: an event can only name a recommendation_id whose Expose returned
// before the reply was sent, so every exposure the taken events refer to
// is in the exposure queue by then.
func (x *Experiments) cycle() {
	x.hookMu.Lock()
	ops := x.hookOps
	x.hookOps = nil
	x.hookMu.Unlock()

	n := len(x.queue)
	if n > 0 {
		exps := *x.exps.Load()
		batch := make([]*exposure, 0, n)
		for range n {
			op := <-x.queue
			if exps[op.exp] == nil {
				continue // deleted meanwhile
			}
			c := op.c
			forced := false
			if _, ok := x.forced.LoadAndDelete(op.exp + "\x00" + op.unit); ok {
				forced = true
			} else if i := abtest.Assign(c.def.Salt, op.unit, c.ab); i < 0 || c.def.Variants[i].Name != op.variant {
				forced = true // served a variant the hash would not give
			}
			if _, dup := x.index[op.recID]; dup {
				continue
			}
			op.pids = x.productIDs(op.items)
			// Share the definition's copies of the names: the index keeps
			// millions of exposures of a handful of them.
			op.exp = c.def.ID
			if i, ok := c.byName[op.variant]; ok {
				op.variant = c.def.Variants[i].Name
			}
			e := x.newExposure(op, forced, c.fp)
			e.raw = encodeExposure(op, forced, c.fp)
			batch = append(batch, e)
		}
		x.mu.Lock()
		for _, e := range batch {
			x.addExposureLocked(e)
		}
		x.mu.Unlock()
		x.pendingExp = append(x.pendingExp, batch...)
	}
	expErr := x.writeExposures()

	for _, op := range ops {
		switch op.kind {
		case hookOutcome:
			x.outcome(op.outcome)
		case hookErase:
			x.writeOutcomes()
			x.erase(func(e *exposure) bool { return e.unit == op.id }, op.id, "")
		case hookDeleteExperiment:
			x.writeOutcomes()
			op.done <- x.erase(func(e *exposure) bool { return e.exp == op.id }, "", op.id)
		case hookSync:
			op.done <- errors.Join(expErr, x.writeOutcomes())
		}
	}
	x.writeOutcomes()
}

func (x *Experiments) newExposure(op exposureOp, forced bool, cfg uint64) *exposure {
	return &exposure{recID: op.recID, exp: op.exp, variant: op.variant, unit: op.unit, ts: op.ts, cfg: cfg,
		forced: forced, items: op.pids}
}

// productIDs maps served product ids to the store's internal ids, which
// are permanent: the log keeps those (smaller, and a restart need not look
// them up again). A product unknown to the store cannot be clicked through
// an event anyway, since the event would create it under a new id.
func (x *Experiments) productIDs(items []string) []uint32 {
	if len(items) == 0 {
		return nil
	}
	out := make([]uint32, 0, len(items))
	for _, it := range items {
		if p, ok := x.st.ProductID(it); ok {
			out = append(out, p)
		}
	}
	return out
}

func (x *Experiments) addExposure(e *exposure) {
	x.mu.Lock()
	x.addExposureLocked(e)
	x.mu.Unlock()
}

func (x *Experiments) addExposureLocked(e *exposure) {
	countExposure(x.states, e)
	x.index[e.recID] = e
}

// countExposure adds e, with its clicks, conversion and revenue as they
// stand, to the counters in states.
func countExposure(states map[string]*expState, e *exposure) {
	st := states[e.exp]
	if st == nil {
		st = &expState{variants: map[string]*variantState{}, forcedUnits: map[string]struct{}{}}
		states[e.exp] = st
	}
	vs := st.variants[e.variant]
	if vs == nil {
		vs = &variantState{units: map[string]unitState{}}
		st.variants[e.variant] = vs
	}
	vs.exposures++
	u := vs.units[e.unit]
	if e.forced {
		st.forcedUnits[e.unit] = struct{}{}
	} else {
		u.cfg = e.cfg
	}
	if e.clicked {
		vs.clicked++
	}
	vs.revSum += e.revenue
	vs.revSumSq += e.revenue * e.revenue
	if e.converted && !u.converted {
		u.converted = true
		vs.conversions++
	}
	vs.units[e.unit] = u
}

func (x *Experiments) outcome(o outcomeOp) {
	e := x.index[o.recID]
	if e == nil || e.erased || !slices.Contains(e.items, o.product) {
		return // not a recommendation we served, or not a product on it
	}
	ref := &outcomeRef{exp: e, cust: o.cust, click: o.click, value: o.value}
	ref.raw = encodeOutcome(o.recID, o.cust, o.click, o.value, o.ts)
	x.applyOutcome(e, ref)
	x.pendingOut = append(x.pendingOut, ref)
}

// applyOutcome counts ref against its exposure and variant.
func (x *Experiments) applyOutcome(e *exposure, ref *outcomeRef) {
	e.outs = append(e.outs, ref)
	x.mu.Lock()
	defer x.mu.Unlock()
	vs := x.states[e.exp].variants[e.variant]
	if ref.click {
		if !e.clicked {
			e.clicked = true
			vs.clicked++
		}
		return
	}
	old := e.revenue
	e.revenue += ref.value
	vs.revSum += ref.value
	vs.revSumSq += e.revenue*e.revenue - old*old
	if !e.converted {
		e.converted = true
		if u := vs.units[e.unit]; !u.converted {
			u.converted = true
			vs.units[e.unit] = u
			vs.conversions++
		}
	}
}

func (x *Experiments) writeExposures() error {
	if len(x.pendingExp) == 0 {
		return nil
	}
	live := x.pendingExp[:0]
	for _, e := range x.pendingExp {
		if !e.erased {
			live = append(live, e)
		}
	}
	x.pendingExp = live
	if len(live) == 0 {
		return nil
	}
	entries := make([][]byte, len(live))
	for i, e := range live {
		entries[i] = e.raw
	}
	first, err := x.st.AppendLog(exposureLogKind, entries)
	if err != nil {
		x.writeFailed("exposure", len(entries), err)
		// A store that stays down must not take the memory with it: keep
		// the newest few queues' worth for the retry. The dropped ones stay
		// counted in memory until a restart.
		if over := len(x.pendingExp) - 4*x.opts.QueueSize; over > 0 {
			x.pendingExp = append([]*exposure(nil), x.pendingExp[over:]...)
			x.stats.dropped.Add(int64(over))
		}
		return fmt.Errorf("cannot log exposures: %w", err)
	}
	for i, e := range live {
		e.seq = first + uint64(i)
		e.raw = nil
	}
	x.stats.exposures.Add(int64(len(live)))
	x.pendingExp = nil
	return nil
}

func (x *Experiments) writeOutcomes() error {
	live := x.pendingOut[:0]
	for _, r := range x.pendingOut {
		if !r.erased && !r.exp.erased {
			live = append(live, r)
		}
	}
	x.pendingOut = live
	if len(live) == 0 {
		return nil
	}
	entries := make([][]byte, len(live))
	for i, r := range live {
		entries[i] = r.raw
	}
	first, err := x.st.AppendLog(outcomeLogKind, entries)
	if err != nil {
		x.writeFailed("outcome", len(entries), err)
		if over := len(x.pendingOut) - 4*x.opts.QueueSize; over > 0 {
			x.pendingOut = append([]*outcomeRef(nil), x.pendingOut[over:]...)
		}
		return fmt.Errorf("cannot log outcomes: %w", err)
	}
	for i, r := range live {
		r.seq = first + uint64(i)
		r.raw = nil
	}
	x.stats.outcomes.Add(int64(len(live)))
	x.pendingOut = nil
	return nil
}

func (x *Experiments) writeFailed(kind string, n int, err error) {
	x.stats.writeErrors.Add(1)
	x.log.Error("cannot append to the "+kind+" log; will retry", "entries", n, "err", err)
}

// erase removes the exposures match selects (with their outcomes) and, when
// cust is set, every outcome that customer caused on other units'
// exposures; then it recounts the experiments touched and deletes the log
// entries. deleted names an experiment being deleted: its state goes too.
func (x *Experiments) erase(match func(*exposure) bool, cust, deleted string) error {
	var expSeqs, outSeqs []uint64
	touched := map[string]bool{}
	for id, e := range x.index {
		if match(e) {
			delete(x.index, id)
			e.erased = true
			touched[e.exp] = true
			if e.seq != 0 {
				expSeqs = append(expSeqs, e.seq)
			}
			for _, r := range e.outs {
				r.erased = true
				if r.seq != 0 {
					outSeqs = append(outSeqs, r.seq)
				}
			}
			continue
		}
		if cust == "" {
			continue
		}
		kept := e.outs[:0]
		for _, r := range e.outs {
			if r.cust != cust {
				kept = append(kept, r)
				continue
			}
			r.erased = true
			touched[e.exp] = true
			if r.seq != 0 {
				outSeqs = append(outSeqs, r.seq)
			}
		}
		clear(e.outs[len(kept):])
		e.outs = kept
	}
	if deleted != "" {
		touched[deleted] = true
		x.forced.Range(func(k, _ any) bool {
			if strings.HasPrefix(k.(string), deleted+"\x00") {
				x.forced.Delete(k)
			}
			return true
		})
	}
	if cust != "" {
		x.forced.Range(func(k, _ any) bool {
			if strings.HasSuffix(k.(string), "\x00"+cust) {
				x.forced.Delete(k)
			}
			return true
		})
	}
	x.recount(touched, deleted)
	var err error
	if len(expSeqs) > 0 {
		if e := x.st.DeleteLogEntries(exposureLogKind, expSeqs); e != nil {
			err = fmt.Errorf("cannot delete exposures: %w", e)
		}
	}
	if len(outSeqs) > 0 {
		if e := x.st.DeleteLogEntries(outcomeLogKind, outSeqs); e != nil && err == nil {
			err = fmt.Errorf("cannot delete outcomes: %w", e)
		}
	}
	if err != nil {
		x.log.Error("erasure incomplete", "err", err)
	}
	return err
}

// recount rebuilds the counters of the touched experiments from the index:
// undoing an outcome incrementally would need to know whether another one
// still holds a unit's conversion, and erasure is rare enough to pay O(n).
func (x *Experiments) recount(touched map[string]bool, deleted string) {
	fresh := map[string]*expState{}
	for id := range touched {
		if id != deleted {
			fresh[id] = &expState{variants: map[string]*variantState{}, forcedUnits: map[string]struct{}{}}
		}
	}
	for _, e := range x.index {
		if _, ok := fresh[e.exp]; !ok {
			continue
		}
		e.clicked, e.converted, e.revenue = false, false, 0
		for _, r := range e.outs {
			if r.click {
				e.clicked = true
			} else {
				e.converted = true
				e.revenue += r.value
			}
		}
		countExposure(fresh, e)
	}
	x.mu.Lock()
	for id := range touched {
		if st, ok := fresh[id]; ok && len(st.variants) > 0 {
			x.states[id] = st
		} else {
			delete(x.states, id)
		}
	}
	x.mu.Unlock()
}

// Results computes experiment id's results from everything handed to the
// service before the call. See docs/experiments.md for the methods.
func (x *Experiments) Results(ctx context.Context, id string) (Results, error) {
	c := x.lookup(id)
	if c == nil {
		return Results{}, unknownExperiment(id)
	}
	// Read-your-writes: a results read right after posting events sees them.
	if err := x.Flush(ctx); err != nil && ctx.Err() != nil {
		return Results{}, fmt.Errorf("cannot flush experiment data: %w", err)
	}
	if c = x.lookup(id); c == nil {
		return Results{}, unknownExperiment(id)
	}
	x.mu.RLock()
	st := x.states[id]
	rows := make([]variantCounts, 0, len(c.def.Variants))
	seen := map[string]bool{}
	for _, v := range c.def.Variants {
		seen[v.Name] = true
		rows = append(rows, countVariant(st, v.Name, v.Weight, c.fp))
	}
	if st != nil {
		var extra []string
		for name := range st.variants {
			if !seen[name] {
				extra = append(extra, name)
			}
		}
		sort.Strings(extra)
		for _, name := range extra {
			rows = append(rows, countVariant(st, name, 0, c.fp))
		}
	}
	x.mu.RUnlock()
	return buildResults(c, rows), nil
}

// variantCounts is one variant's counters, copied under the lock.
type variantCounts struct {
	name                          string
	weight                        float64
	exposures, customers, clicked int64
	conversions, srmUnits         int64
	revenue                       abtest.Sums
	defined                       bool
}

func countVariant(st *expState, name string, weight float64, fp uint64) variantCounts {
	vc := variantCounts{name: name, weight: weight}
	if st == nil {
		return vc
	}
	vs := st.variants[name]
	if vs == nil {
		return vc
	}
	vc.exposures, vc.clicked, vc.conversions = vs.exposures, vs.clicked, vs.conversions
	vc.customers = int64(len(vs.units))
	vc.revenue = abtest.Sums{N: vs.exposures, Sum: vs.revSum, SumSq: vs.revSumSq}
	for u, us := range vs.units {
		if us.cfg != fp {
			continue
		}
		if _, f := st.forcedUnits[u]; !f {
			vc.srmUnits++
		}
	}
	return vc
}

// Results is GET /v1/experiments/{id}/results (DESIGN 3.2), plus srm_flag.
// Fields tagged "-" feed the HTML report only. A plain value, safe for
// concurrent reads.
type Results struct {
	Experiment string          `json:"experiment"`
	Control    string          `json:"control"`
	SRMPValue  float64         `json:"srm_p_value"`
	SRMFlag    bool            `json:"srm_flag"`
	Variants   []VariantResult `json:"variants"`

	Status string `json:"-"`
}

// VariantResult is one variant's counts and estimates. Rates and lift are
// 95% intervals. Clicks counts exposures with at least one attributed click
// (so CTR is a proportion of exposures); conversions counts customers with
// at least one attributed purchase (so the conversion rate, its lift and
// p-value are per customer, the unit that was randomised).
type VariantResult struct {
	Name               string      `json:"name"`
	Weight             float64     `json:"weight"`
	Exposures          int64       `json:"exposures"`
	Customers          int64       `json:"customers"`
	Clicks             int64       `json:"clicks"`
	Conversions        int64       `json:"conversions"`
	Revenue            float64     `json:"revenue"`
	CTR                abtest.Rate `json:"ctr"`
	ConversionRate     abtest.Rate `json:"conversion_rate"`
	RevenuePerExposure abtest.Rate `json:"revenue_per_exposure"`
	Lift               abtest.Rate `json:"lift"`
	PValue             float64     `json:"p_value"`

	// Report-only extras.
	IsControl     bool        `json:"-"`
	Configured    bool        `json:"-"` // false: no longer in the definition
	SRMUnits      int64       `json:"-"` // hash-assigned units under the current weights
	RevenuePValue float64     `json:"-"` // Welch, revenue per exposure vs control
	CTRLift       abtest.Rate `json:"-"`
}

func buildResults(c *compiled, rows []variantCounts) Results {
	r := Results{Experiment: c.def.ID, Control: c.def.Variants[c.control].Name, Status: c.def.Status,
		Variants: make([]VariantResult, len(rows))}
	ctl := rows[c.control]
	ctlConv := abtest.Proportion{Successes: ctl.conversions, Trials: ctl.customers}
	ctlClick := abtest.Proportion{Successes: ctl.clicked, Trials: ctl.exposures}
	var obs []int64
	var weights []float64
	for i, v := range rows {
		conv := abtest.Proportion{Successes: v.conversions, Trials: v.customers}
		click := abtest.Proportion{Successes: v.clicked, Trials: v.exposures}
		vr := VariantResult{
			Name: v.name, Weight: v.weight, Exposures: v.exposures, Customers: v.customers,
			Clicks: v.clicked, Conversions: v.conversions, Revenue: round6(v.revenue.Sum),
			CTR: roundRate(abtest.Wilson(click)), ConversionRate: roundRate(abtest.Wilson(conv)),
			RevenuePerExposure: roundRate(abtest.MeanInterval(v.revenue)),
			PValue:             1, IsControl: i == c.control, Configured: i < len(c.def.Variants),
			SRMUnits: v.srmUnits, RevenuePValue: 1,
		}
		if i != c.control {
			vr.Lift = roundRate(abtest.RelativeLift(ctlConv, conv))
			vr.PValue = abtest.TwoProportionPValue(ctlConv, conv)
			vr.CTRLift = roundRate(abtest.RelativeLift(ctlClick, click))
			vr.RevenuePValue = abtest.WelchPValue(ctl.revenue, v.revenue)
		}
		r.Variants[i] = vr
		if vr.Configured {
			obs = append(obs, v.srmUnits)
			weights = append(weights, v.weight)
		}
	}
	r.SRMPValue = abtest.SRMPValue(obs, weights)
	r.SRMFlag = abtest.SRMFlag(r.SRMPValue)
	return r
}

func roundRate(r abtest.Rate) abtest.Rate {
	return abtest.Rate{Value: round6(r.Value), Low: round6(r.Low), High: round6(r.High)}
}

// Log entries. Binary rather than JSON because a restart decodes every
// exposure ever logged; version byte first so the format can change.
//
//	exposure v1: 0x01, flags (bit 0: forced), uvarint ts, 8-byte cfg,
//	             str exp, str variant, str recID, str unit, uvarint n,
//	             n × uvarint product (the store's permanent internal id)
//	outcome v1:  0x01, kind (1 click, 2 conversion), uvarint ts, 8-byte value bits,
//	             str recID, str customer
//
// where str is a uvarint length and the bytes.

const logVersion = 1

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func encodeExposure(op exposureOp, forced bool, cfg uint64) []byte {
	b := make([]byte, 0, 24+len(op.exp)+len(op.variant)+len(op.recID)+len(op.unit)+3*len(op.pids))
	var flags byte
	if forced {
		flags = 1
	}
	b = append(b, logVersion, flags)
	b = binary.AppendUvarint(b, uint64(max(op.ts, 0)))
	b = binary.BigEndian.AppendUint64(b, cfg)
	b = appendStr(b, op.exp)
	b = appendStr(b, op.variant)
	b = appendStr(b, op.recID)
	b = appendStr(b, op.unit)
	b = binary.AppendUvarint(b, uint64(len(op.pids)))
	for _, p := range op.pids {
		b = binary.AppendUvarint(b, uint64(p))
	}
	return b
}

func encodeOutcome(recID, cust string, click bool, value float64, ts int64) []byte {
	b := make([]byte, 0, 24+len(recID)+len(cust))
	kind := byte(2)
	if click {
		kind = 1
	}
	b = append(b, logVersion, kind)
	b = binary.AppendUvarint(b, uint64(max(ts, 0)))
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(value))
	b = appendStr(b, recID)
	return appendStr(b, cust)
}

// logReader decodes the entries above; the first error sticks.
type logReader struct {
	b      []byte
	err    error
	intern map[string]string
}

func (r *logReader) fail(msg string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", features.ErrInvalid, msg)
	}
}

func (r *logReader) byte() byte {
	if r.err != nil || len(r.b) < 1 {
		r.fail("truncated entry")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *logReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *logReader) u64() uint64 {
	if r.err != nil || len(r.b) < 8 {
		r.fail("truncated entry")
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *logReader) raw() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > maxLogString || n > uint64(len(r.b)) {
		r.fail("string length out of range")
		return nil
	}
	s := r.b[:n]
	r.b = r.b[n:]
	if !utf8.Valid(s) {
		r.fail("string is not UTF-8")
		return nil
	}
	return s
}

func (r *logReader) str() string { return string(r.raw()) }

func (r *logReader) internStr() string {
	b := r.raw()
	if r.intern == nil {
		return string(b)
	}
	if s, ok := r.intern[string(b)]; ok { // no allocation for the lookup
		return s
	}
	s := string(b)
	r.intern[s] = s
	return s
}

func (r *logReader) ts() int64 {
	v := r.uvarint()
	if v > math.MaxInt64 {
		r.fail("timestamp out of range")
		return 0
	}
	return int64(v)
}

// decodeExposure decodes one exposure entry. With intern set, experiment
// and variant names (a handful of distinct values in millions of entries)
// share one copy each.
func decodeExposure(b []byte, intern map[string]string) (op exposureOp, forced bool, cfg uint64, err error) {
	r := logReader{b: b, intern: intern}
	if v := r.byte(); r.err == nil && v != logVersion {
		r.fail(fmt.Sprintf("unknown exposure entry version %d", v))
	}
	flags := r.byte()
	op.ts = r.ts()
	cfg = r.u64()
	op.exp, op.variant = r.internStr(), r.internStr()
	op.recID, op.unit = r.str(), r.str()
	n := r.uvarint()
	if r.err == nil && n > maxLogItems {
		r.fail("too many items")
	}
	if r.err == nil && n > 0 {
		op.pids = make([]uint32, 0, min(n, uint64(len(r.b))))
		for i := uint64(0); i < n && r.err == nil; i++ {
			p := r.uvarint()
			if p > math.MaxUint32 {
				r.fail("product id out of range")
			}
			op.pids = append(op.pids, uint32(p))
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("trailing bytes")
	}
	if r.err == nil && (op.exp == "" || op.variant == "" || op.recID == "" || op.unit == "") {
		r.fail("empty field")
	}
	if r.err != nil {
		return exposureOp{}, false, 0, r.err
	}
	return op, flags&1 != 0, cfg, nil
}

func decodeOutcome(b []byte) (recID, cust string, click bool, value float64, err error) {
	r := logReader{b: b}
	if v := r.byte(); r.err == nil && v != logVersion {
		r.fail(fmt.Sprintf("unknown outcome entry version %d", v))
	}
	kind := r.byte()
	if r.err == nil && kind != 1 && kind != 2 {
		r.fail("unknown outcome kind")
	}
	r.ts()
	value = math.Float64frombits(r.u64())
	if r.err == nil && (math.IsNaN(value) || math.IsInf(value, 0)) {
		r.fail("value is not finite")
	}
	recID, cust = r.str(), r.str()
	if r.err == nil && len(r.b) != 0 {
		r.fail("trailing bytes")
	}
	if r.err == nil && recID == "" {
		r.fail("empty recommendation id")
	}
	if r.err != nil {
		return "", "", false, 0, r.err
	}
	return recID, cust, kind == 1, value, nil
}

// variantList serves the algorithms an experiment variant can choose beyond
// an endpoint's own ranking: "fixed" (the variant's "products", in order:
// a hand-picked fallback to test against) anywhere, and "popular" on the
// related endpoint (Personal handles it itself). ok is false when the
// endpoint should rank as usual.
func (e *Engine) variantList(ctx context.Context, r Request, endpoint string) (List, bool, error) {
	if len(r.Params) == 0 {
		return List{}, false, nil
	}
	switch paramString(r.Params, "algorithm") {
	case "fixed":
		return e.fixedList(r), true, nil
	case "popular":
		if endpoint != "related" {
			return List{}, false, nil
		}
		self, _ := e.src.ProductID(r.ProductID)
		pr := r
		pr.Params = nil // no second override
		pr.Limit = e.limit(&r) + 1
		l, err := e.Popular(ctx, pr)
		if err != nil {
			return List{}, true, err
		}
		items := l.Items[:0]
		for _, it := range l.Items {
			if p, ok := e.src.ProductID(it.ProductID); ok && p == self {
				continue
			}
			items = append(items, it)
		}
		l.Items = items[:min(len(items), e.limit(&r))]
		return l, true, nil
	}
	return List{}, false, nil
}

// fixedList is the variant's product list minus unknown products, products
// the filter excludes, and the product the request is about.
func (e *Engine) fixedList(r Request) List {
	ids, _ := paramStrings(r.Params["products"])
	k := e.limit(&r)
	match := e.src.Catalog().Compile(r.Filter)
	out := List{Items: make([]Item, 0, min(k, len(ids))), Algorithm: "fixed"}
	for i, id := range ids {
		if len(out.Items) == k {
			break
		}
		p, ok := e.src.ProductID(id)
		if !ok || id == r.ProductID || id == r.ContextProduct || !match.Allows(p) {
			continue
		}
		out.Items = append(out.Items, Item{ProductID: id, Score: round6(1 - float64(i)/float64(len(ids)))})
	}
	return out
}
