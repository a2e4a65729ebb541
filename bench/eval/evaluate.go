package eval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend"
)

// Options say how Evaluate scores an algorithm. A plain value, safe to
// share while nobody changes GroundTruth.Types.
type Options struct {
	// K is the list length and metric cut-off.
	K int
	// GroundTruth decides which test events are relevant to whom.
	GroundTruth GroundTruthOptions
	// Workers ask for recommendations in parallel; 0 means GOMAXPROCS.
	Workers int
	// CurveK, when above 0, also measures nDCG@k and recall@k for every
	// k in 1..CurveK (Result.Curve) from lists of CurveK products.
	CurveK int
}

// DefaultOptions returns the MovieLens benchmark protocol's options.
func DefaultOptions() Options {
	return Options{K: 10, GroundTruth: StratifiedGroundTruthOptions()}
}

// Validate reports whether o can be used.
func (o Options) Validate() error {
	if o.K < 1 || o.K > recommend.DefaultOptions().MaxLimit {
		return fmt.Errorf("%w: k %d is not in 1..%d", ErrInvalidEval, o.K, recommend.DefaultOptions().MaxLimit)
	}
	if o.Workers < 0 {
		return fmt.Errorf("%w: negative workers", ErrInvalidEval)
	}
	if o.CurveK < 0 || o.CurveK > recommend.DefaultOptions().MaxLimit {
		return fmt.Errorf("%w: curve k %d is not in 0..%d", ErrInvalidEval, o.CurveK, recommend.DefaultOptions().MaxLimit)
	}
	return nil
}

// Result is what one evaluation measured: a plain value (NewOnly points
// at a copy of its own).
type Result struct {
	Algo string `json:"algo"`
	// Metrics are measured against the ground truth as Options say
	// (with repeat purchases, unless GroundTruth.ExcludeSeen).
	Metrics
	// NewOnly are the same lists measured against the ground truth without
	// the products the customer already had in train: what a model that
	// never repeats a purchase can reach. Nil when no relevant pair was
	// seen in train (stratified splits) or ExcludeSeen is set already.
	NewOnly *Metrics `json:"new_only,omitempty"`
	// TrainSeconds is the model build (Store.Refresh after the train events
	// are in): what a server spends to make the lists from scratch.
	TrainSeconds float64 `json:"train_seconds"`
	// IngestSeconds is loading the train events into the (in-memory)
	// store, which a server does as events arrive.
	IngestSeconds float64 `json:"ingest_seconds"`
	// RecommendMicros is the mean wall time of one list in microseconds,
	// with Workers lists in flight.
	RecommendMicros float64          `json:"recommend_us"`
	TrainEvents     int              `json:"train_events"`
	TestEvents      int              `json:"test_events"`
	TrainProducts   int              `json:"train_products"`
	GroundTruth     GroundTruthStats `json:"ground_truth"`
	// Curve is nDCG@k and recall@k for k = 1..Options.CurveK.
	Curve *Curve `json:"curve,omitempty"`
	// Tuning is what the model's self-tuner chose (nil when it is off).
	Tuning *features.Tuning `json:"tuning,omitempty"`
}

// Evaluate trains algo on train the way a server would (an in-memory
// feature store fed with the events, then one model build), asks the engine
// for a personal top-K for every customer of the ground truth built from
// test, and scores the lists. Products the customer has in train are never
// recommended (IncludeSeen is off), as the benchmark protocol requires,
// unless algo's Params turn on "rebuy", which is the point of that knob.
func Evaluate(ctx context.Context, train, test []features.Event, algo Algorithm, o Options) (Result, error) {
	if err := o.Validate(); err != nil {
		return Result{}, err
	}
	gt, gts := BuildGroundTruth(train, test, o.GroundTruth)
	if len(gt) == 0 {
		return Result{}, fmt.Errorf("cannot evaluate %s: %w (%d test customers, %d cold, %d with only repeat purchases)",
			algo.Name, ErrNoTestUsers, gts.TestCustomers, gts.ColdCustomers, gts.AllSeenCustomers)
	}
	var gtNew GroundTruth
	if !o.GroundTruth.ExcludeSeen && gts.SeenPairs > 0 {
		no := o.GroundTruth
		no.ExcludeSeen = true
		gtNew, _ = BuildGroundTruth(train, test, no)
	}
	res := Result{Algo: algo.Name, TrainEvents: len(train), TestEvents: len(test), GroundTruth: gts,
		TrainProducts: DistinctProducts(train)}

	users := gt.Customers()
	lists, long, err := trainAndRecommend(ctx, train, users, algo, o, &res)
	if err != nil {
		return res, err
	}
	if long != nil {
		ca := NewCurveAccumulator(o.CurveK)
		for i, u := range users {
			ca.Add(long[i], gt[u])
		}
		res.Curve = ca.Result()
	}
	acc := NewMetricsAccumulator(o.K, res.TrainProducts)
	var accNew *MetricsAccumulator
	if gtNew != nil {
		accNew = NewMetricsAccumulator(o.K, res.TrainProducts)
	}
	for i, u := range users {
		acc.Add(lists[i], gt[u])
		if accNew != nil {
			// Customers left with nothing new are not in gtNew; Add
			// ignores an empty relevant set.
			accNew.Add(lists[i], gtNew[u])
		}
	}
	res.Metrics = acc.Result()
	if accNew != nil {
		m := accNew.Result()
		res.NewOnly = &m
	}
	return res, nil
}

// trainAndRecommend trains algo on train and returns every user's list,
// and with o.CurveK their lists of CurveK products, recording the times
// and the model's tuning in res.
func trainAndRecommend(ctx context.Context, train []features.Event, users []string, algo Algorithm, o Options, res *Result) ([][]string, [][]string, error) {
	eng, store, err := Train(ctx, train, algo, res)
	if err != nil {
		return nil, nil, err
	}
	defer store.Close()
	res.Tuning = store.Model().Tuned
	lists, micros, err := recommendAll(ctx, eng, users, algo, o.K, o)
	if err != nil {
		return nil, nil, err
	}
	res.RecommendMicros = micros
	if o.CurveK == 0 {
		return lists, nil, nil
	}
	// Lists of CurveK are asked for apart: the headline figures stay
	// those of K-lists, as served.
	long, _, err := recommendAll(ctx, eng, users, algo, o.CurveK, o)
	if err != nil {
		return nil, nil, err
	}
	return lists, long, nil
}

// recommendAll asks eng for every user's list, o.Workers at a time, and
// returns the lists (product ids, best first) in users' order and the mean
// microseconds one list took.
func recommendAll(ctx context.Context, eng *recommend.Engine, users []string, algo Algorithm, k int, o Options) ([][]string, float64, error) {
	lists := make([][]string, len(users))
	workers := o.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(users))
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(users); i += workers {
				if err := ctx.Err(); err != nil {
					errs[w] = err
					return
				}
				l, err := eng.Personal(ctx, recommend.Request{CustomerID: users[i], Limit: k, Params: algo.Params})
				if err != nil {
					errs[w] = fmt.Errorf("cannot recommend for customer %q: %w", users[i], err)
					return
				}
				ids := make([]string, len(l.Items))
				for j, it := range l.Items {
					ids[j] = it.ProductID
				}
				lists[i] = ids
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, 0, err
	}
	micros := float64(time.Since(start).Microseconds()) * float64(workers) / float64(max(len(users), 1))
	return lists, micros, nil
}

// Train opens an in-memory store configured for algo, ingests train, builds
// the model and returns an engine over it; the caller closes the store. It
// records the ingest and build times in res when res is not nil.
func Train(ctx context.Context, train []features.Event, algo Algorithm, res *Result) (*recommend.Engine, *features.Store, error) {
	so := features.DefaultOptions("")
	so.InMemory = true
	so.SyncWrites = false
	// Only the explicit Refresh below builds the model, so the build time
	// is measured once and not raced by the background loop.
	so.RefreshInterval = 24 * time.Hour
	so.SnapshotInterval = 0
	so.GCInterval = 0
	so.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	so.Neighbours = algo.Neighbours
	if algo.EventTypes != nil {
		so.EventTypes = make(map[string]features.EventType, len(algo.EventTypes))
		for k, v := range algo.EventTypes {
			so.EventTypes[k] = v
		}
	}
	// Historical data: "now" is the latest train event, so popularity
	// windows and default timestamps mean what they meant then.
	var latest time.Time
	for i := range train {
		if train[i].Timestamp.After(latest) {
			latest = train[i].Timestamp
		}
	}
	if latest.IsZero() {
		latest = time.Now()
	}
	so.Clock = func() time.Time { return latest }
	store, err := features.Open(so)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open the evaluation store: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			store.Close()
		}
	}()
	// Bulk, as `affinity import` loads: one full build at the end.
	sum, err := features.Import(ctx, store, &trainSource{events: train}, features.ImportOptions{BatchSize: 20000})
	if err != nil {
		return nil, nil, fmt.Errorf("cannot ingest train events: %w", err)
	}
	if n := sum.RejectedTotal(); n > 0 {
		return nil, nil, fmt.Errorf("cannot ingest train events: %d of %d rejected (%v)", n, sum.Read, sum.Rejected)
	}
	ingested := sum.Seconds - sum.ModelSeconds
	built := sum.ModelSeconds
	eng, err := recommend.New(recommend.StoreDeps(store, nil), algo.Engine)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot build the engine for %s: %w", algo.Name, err)
	}
	if res != nil {
		res.IngestSeconds = ingested
		res.TrainSeconds = built
	}
	ok = true
	return eng, store, nil
}

// SortResults orders results by nDCG, best first, for a report.
func SortResults(rs []Result) {
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].NDCG > rs[j].NDCG })
}
