package experiment

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/affinity-rec/affinity/features"
)

// Service is the experiments service: definitions, enrolment, the
// exposure and outcome logs, results. Safe for concurrent use. Close it
// before the store.
type Service struct {
	recs   Records
	st     Store
	params Params
	opts   Options
	log    *slog.Logger

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

	// clustered: exposures are indexed when applied from the cluster log,
	// not when written (clusterwatch.go). Set in New.
	clustered bool
}

var _ interface {
	Enrol(ctx context.Context, experiment, forced, unit string) (string, map[string]any, error)
	Expose(experiment, variant, recommendationID, unit string, forced bool, items []string)
} = (*Service)(nil)

// New loads the experiments from recs, rebuilds the attribution index and
// the counters from the logs, registers the hooks on st and starts the
// flusher. params are the variant params Put accepts.
func New(recs Records, st Store, params Params, o Options) (*Service, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	x := &Service{
		recs: recs, st: st, params: params, opts: o, log: o.Logger,
		queue:  make(chan exposureOp, o.QueueSize),
		wake:   make(chan struct{}, 1),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		states: map[string]*expState{},
		index:  map[string]*exposure{},
	}
	exps := map[string]*compiled{}
	err := recs.List(experimentRecordKind, func(id string, v []byte) error {
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
	recs.AddJournal(experimentJournal)
	st.AddHooks(features.Hooks{OnEvents: x.onEvents, OnErase: x.onErase})
	x.watchCluster() // cluster mode: what other nodes wrote
	if err := x.rebuild(); err != nil {
		return nil, err
	}
	// Erasures a crash interrupted are finished first.
	pending, err := recs.Pending(experimentJournal)
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
func (x *Service) rebuild() error {
	exps := *x.exps.Load()
	var orphans, orphanOuts []uint64
	intern := map[string]string{}
	err := x.recs.Scan(exposureLogKind, 0, func(seq uint64, v []byte) error {
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
	err = x.recs.Scan(outcomeLogKind, 0, func(seq uint64, v []byte) error {
		o, err := decodeOutcome(v)
		if err != nil {
			x.log.Warn("skipping a corrupt outcome log entry", "seq", seq, "err", err)
			return nil
		}
		e := x.index[o.recID]
		if e == nil {
			orphanOuts = append(orphanOuts, seq)
			return nil
		}
		// As outcome() counted it: a return takes back what returnTaken
		// says of the outcomes before it, which the log replays in order.
		ref := &outcomeRef{exp: e, seq: seq, cust: o.cust, click: o.kind == outcomeClick, ret: o.kind == outcomeReturn,
			value: o.value, product: o.product, hasProduct: o.hasProduct}
		x.applyOutcome(e, ref)
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot read the outcome log: %w", err)
	}
	if len(orphans) > 0 {
		if err := x.recs.DeleteEntries(exposureLogKind, orphans); err != nil {
			return fmt.Errorf("cannot delete exposures of deleted experiments: %w", err)
		}
	}
	if len(orphanOuts) > 0 {
		if err := x.recs.DeleteEntries(outcomeLogKind, orphanOuts); err != nil {
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
func (x *Service) Put(ctx context.Context, e Experiment) (Experiment, error) {
	e.normalise()
	if err := e.validate(x.params); err != nil {
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
	if err := x.recs.Put(experimentRecordKind, e.ID, body); err != nil {
		return Experiment{}, fmt.Errorf("cannot store experiment %q: %w", e.ID, err)
	}
	x.publish(e.ID, compile(e))
	return e, nil
}

func (x *Service) publish(id string, c *compiled) {
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

func (x *Service) lookup(id string) *compiled { return (*x.exps.Load())[id] }

func unknownExperiment(id string) error {
	return features.Unknown("experiment", id)
}

// Get returns experiment id's definition, or an error wrapping
// features.ErrNotFound.
func (x *Service) Get(id string) (Experiment, error) {
	c := x.lookup(id)
	if c == nil {
		return Experiment{}, unknownExperiment(id)
	}
	return c.def, nil
}

// List returns every experiment, by id.
func (x *Service) List() []Experiment {
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
func (x *Service) Delete(ctx context.Context, id string) error {
	x.adminMu.Lock()
	defer x.adminMu.Unlock()
	if x.lookup(id) == nil {
		return unknownExperiment(id)
	}
	if err := x.recs.Delete(experimentRecordKind, id); err != nil {
		return fmt.Errorf("cannot delete experiment %q: %w", id, err)
	}
	x.publish(id, nil)
	return x.control(ctx, hookOp{kind: hookDeleteExperiment, id: id})
}
