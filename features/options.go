package features

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"time"
)

// Class groups event types into the association bitmaps a product keeps:
// who viewed it, who carted it, who bought it, and the two negative ones,
// who disliked it and who returned it (negative.go). Only the first three
// are positive: they feed co-occurrence and popularity.
type Class uint8

const (
	ClassViewed Class = iota
	ClassCarted
	ClassBought
	ClassDisliked
	ClassReturned
	numClasses
)

func (c Class) String() string {
	switch c {
	case ClassViewed:
		return "viewed"
	case ClassCarted:
		return "carted"
	case ClassBought:
		return "bought"
	case ClassDisliked:
		return "disliked"
	case ClassReturned:
		return "returned"
	}
	return fmt.Sprintf("class(%d)", c)
}

// UnmarshalText reads a class by name (ParseClass), so that a checker of
// JSON values (jsonbody) takes a class for the string it is written as.
func (c *Class) UnmarshalText(b []byte) error {
	v, err := ParseClass(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// ParseClass reads "viewed", "carted", "bought", "disliked" or "returned".
func ParseClass(s string) (Class, error) {
	switch s {
	case "viewed", "view":
		return ClassViewed, nil
	case "carted", "cart":
		return ClassCarted, nil
	case "bought", "purchase":
		return ClassBought, nil
	case "disliked", "dislike":
		return ClassDisliked, nil
	case "returned", "return":
		return ClassReturned, nil
	}
	return 0, fmt.Errorf("unknown class %q (viewed, carted, bought, disliked, returned)", s)
}

// EventType configures one event type: how much it says about a customer's
// interest (Weight), which association bitmap it feeds (Class), and whether
// the event's value multiplies the weight (ratings). A type of a negative
// class (disliked, returned) counts its weight against the product.
// NegativeBelow (ratings): an event whose value is above 0 and below it
// counts as a dislike (negative.go). In JSON (the serve config) the class is
// its name: {"weight": 1, "class": "bought"}.
type EventType struct {
	// The tags are what jsonbody checks a config's keys against (the
	// config file names event_types.wishlist.clas as unknown by them);
	// the JSON itself is read and written by the methods below.
	Weight        float64 `json:"weight"`
	Class         Class   `json:"class"`
	UseValue      bool    `json:"use_value"`
	NegativeBelow float64 `json:"negative_below"`
}

// eventTypeJSON is EventType's JSON form.
type eventTypeJSON struct {
	Weight        float64 `json:"weight"`
	Class         string  `json:"class"`
	UseValue      bool    `json:"use_value,omitempty"`
	NegativeBelow float64 `json:"negative_below,omitempty"`
}

// MarshalJSON writes the class by name.
func (t EventType) MarshalJSON() ([]byte, error) {
	return json.Marshal(eventTypeJSON{Weight: t.Weight, Class: t.Class.String(), UseValue: t.UseValue, NegativeBelow: t.NegativeBelow})
}

// UnmarshalJSON reads the class by name; an absent class is "viewed".
func (t *EventType) UnmarshalJSON(b []byte) error {
	var j eventTypeJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	// The config is read strictly (an unknown key is an error), and a
	// custom unmarshaller would otherwise accept any key.
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return err
	}
	*t = EventType{Weight: j.Weight, UseValue: j.UseValue, NegativeBelow: j.NegativeBelow}
	if j.Class != "" {
		c, err := ParseClass(j.Class)
		if err != nil {
			return err
		}
		t.Class = c
	}
	return nil
}

// DefaultEventTypes are the built-in types. Weights follow the usual
// implicit-feedback ladder (a purchase says more than a cart, a cart more
// than a view); a rating counts its value. A dislike or a return counts
// as much against a product as a purchase counts for it, so a purchase
// returned nets to nothing (negative.go). No rating counts as negative by
// default: the evaluation protocols (DESIGN section 5) treat every rating as
// an interaction; set the rating's negative_below to change that.
func DefaultEventTypes() map[string]EventType {
	return map[string]EventType{
		"view":     {Weight: 1, Class: ClassViewed},
		"click":    {Weight: 1, Class: ClassViewed},
		"cart":     {Weight: 3, Class: ClassCarted},
		"purchase": {Weight: 5, Class: ClassBought},
		"rating":   {Weight: 1, Class: ClassBought, UseValue: true},
		"dislike":  {Weight: 5, Class: ClassDisliked},
		"return":   {Weight: 5, Class: ClassReturned},
	}
}

// Similarity names how co-occurrence counts are turned into neighbour scores.
type Similarity string

const (
	SimCooccurrence Similarity = "cooccurrence"
	SimJaccard      Similarity = "jaccard"
	SimLift         Similarity = "lift"
	SimCosine       Similarity = "cosine"
	SimLLR          Similarity = "llr"
	// SimIDFCosine is cosine over customer vectors whose entries are damped by
	// the customer's history length, so heavy users count less.
	SimIDFCosine Similarity = "idf-cosine"
	// SimRP3 is the random-walk similarity of RP3beta (Paudel et al.,
	// "Updatable, accurate, diverse, and scalable recommendations for
	// interactive applications", 2017) with alpha 1: the walk i -> customer
	// -> j weighs each customer by |history|^-UserExp, and the score is
	// divided by c_ii and by c_jj^Beta so that best sellers do not crowd
	// every list.
	SimRP3 Similarity = "rp3"
	// SimEASE solves Steck's closed-form EASE model (2019) from the
	// co-occurrence (Gram) matrix when a basis has at most DenseMaxProducts
	// products, and counts with Fallback above that. Its lists hold signed
	// weights, best first: a negative one says a product makes another less
	// likely.
	SimEASE Similarity = "ease"
)

// ValidSimilarities lists every Similarity, for error messages.
var ValidSimilarities = []Similarity{SimCooccurrence, SimJaccard, SimLift, SimCosine, SimLLR, SimIDFCosine, SimRP3, SimEASE}

// NeighbourOptions control product-to-product association lists.
type NeighbourOptions struct {
	Similarity Similarity
	// K is how many neighbours each product keeps.
	K int
	// MaxHistory caps how many distinct products of one customer are counted
	// (the most recent ones), as Mahout down-samples heavy users: one
	// customer with 5,000 products would otherwise add 25M pairs.
	MaxHistory int
	// MinSupport drops pairs seen by fewer customers than this.
	MinSupport int
	// Alpha shapes cosine-like scores: c_ij / (c_ii^Alpha * c_jj^(1-Alpha)).
	Alpha float64
	// Beta is SimRP3's popularity penalty: the exponent of c_jj.
	Beta float64
	// UserExp is SimRP3's customer weight: a customer with n products adds
	// n^-UserExp to each of their pairs, so heavy buyers do not make every
	// pair.
	UserExp float64
	// Lambda is SimEASE's L2 regularisation, added to the Gram matrix's
	// diagonal: larger values shrink the weights of rarely seen products.
	Lambda float64
	// DenseMaxProducts caps the products a basis may have for SimEASE to
	// solve its dense model (8·n² bytes while building, O(n³) time).
	DenseMaxProducts int
	// DenseMinSupport leaves products with fewer customers out of SimEASE's
	// dense model (they get no list and are not recommended from it): they
	// carry little signal, and the long tail would make the O(n³) solve
	// many times dearer.
	DenseMinSupport int
	// Fallback is the similarity SimEASE counts with above DenseMaxProducts.
	Fallback Similarity
	// FallbackK is K for the Fallback lists (0: K). A catalogue too large
	// for EASE holds this many neighbours per product and basis: at 100k
	// products the lists are the largest part of the heap. 100 saved about
	// 100 MB at 10M synthetic events and cost the knn evaluation 2% of
	// nDCG@10 on MovieLens (docs/performance.md), so the default keeps K.
	FallbackK int
	// Tune lets the store choose lambda (or the counting similarity), K,
	// the half-life and the repeat rule on a held-out slice of its own
	// history (tune.go); the configured values are where it starts.
	Tune bool
	// TuneHoldout is how the slice is cut: HoldoutTemporal (each
	// customer's latest products, the default: a server predicts what
	// comes next) or HoldoutRandom (a random part, the shape of a random
	// split).
	TuneHoldout string
}

// DefaultNeighbourOptions returns the options the evaluation found best
// (see docs/evaluation.md).
func DefaultNeighbourOptions() NeighbourOptions {
	return NeighbourOptions{Similarity: SimEASE, K: 200, MaxHistory: 500, MinSupport: 1, Alpha: 0.5,
		Beta: 0.5, UserExp: 0.5, Lambda: 400, DenseMaxProducts: 5000, DenseMinSupport: 5, Fallback: SimRP3,
		Tune: true, TuneHoldout: HoldoutTemporal}
}

// Validate reports whether o is usable; it changes nothing (Open fills the
// zero settings from a copy, withDefaults).
func (o NeighbourOptions) Validate() error {
	ok := false
	for _, s := range ValidSimilarities {
		if s == o.Similarity {
			ok = true
		}
	}
	if !ok {
		return fmt.Errorf("%w: unknown similarity %q (valid: %v)", ErrInvalid, o.Similarity, ValidSimilarities)
	}
	if o.K < 1 || o.K > 1000 {
		return fmt.Errorf("%w: neighbours K %d out of 1..1000", ErrInvalid, o.K)
	}
	if o.FallbackK < 0 || o.FallbackK > 1000 {
		return fmt.Errorf("%w: FallbackK %d out of 0..1000", ErrInvalid, o.FallbackK)
	}
	if o.MaxHistory < 1 {
		return fmt.Errorf("%w: MaxHistory must be >= 1", ErrInvalid)
	}
	if o.Alpha < 0 || o.Alpha > 1 {
		return fmt.Errorf("%w: Alpha must be in [0,1]", ErrInvalid)
	}
	if !(o.Beta >= 0 && o.Beta <= 1) || !(o.UserExp >= 0 && o.UserExp <= 2) {
		return fmt.Errorf("%w: Beta must be in [0,1] and UserExp in [0,2]", ErrInvalid)
	}
	if o.Tune && o.TuneHoldout != HoldoutTemporal && o.TuneHoldout != HoldoutRandom {
		return fmt.Errorf("%w: tune holdout %q (valid: %s, %s)", ErrInvalid, o.TuneHoldout, HoldoutTemporal, HoldoutRandom)
	}
	if o.Similarity == SimEASE {
		if !(o.Lambda > 0) || math.IsInf(o.Lambda, 0) {
			return fmt.Errorf("%w: EASE needs a finite Lambda > 0", ErrInvalid)
		}
		if o.DenseMaxProducts < 0 || o.DenseMinSupport < 0 {
			return fmt.Errorf("%w: DenseMaxProducts and DenseMinSupport must be >= 0", ErrInvalid)
		}
		f := o
		f.Similarity = o.Fallback
		if o.Fallback == SimEASE || f.Validate() != nil {
			return fmt.Errorf("%w: EASE needs a counting Fallback similarity, not %q", ErrInvalid, o.Fallback)
		}
	}
	return nil
}

// Options configure a Store.
type Options struct {
	// Dir is the Badger directory. Empty with InMemory false is an error.
	Dir string
	// InMemory keeps everything in memory (evaluation, tests of pure logic).
	InMemory bool
	// SyncWrites makes every acknowledged write reach the disk (fsync) before
	// the call returns. Off, an acknowledged write survives a process crash
	// (it is in the OS page cache) but not a power loss.
	SyncWrites bool
	// BulkLoad sizes Badger for a bulk import: larger memtables (about
	// 400 MB more memory), less compaction work per event.
	BulkLoad bool
	// EventTypes are the accepted event types.
	EventTypes map[string]EventType
	// Neighbours configure product-to-product lists.
	Neighbours NeighbourOptions
	// RefreshInterval is how often touched products' neighbour lists are
	// recomputed in the background.
	RefreshInterval time.Duration
	// DenseInterval is the least time between two dense (EASE) solves
	// while events arrive (also at least four times the last solve's
	// duration); Refresh solves at once regardless.
	DenseInterval time.Duration
	// TuneInterval is the least time between two self-tunings (see
	// NeighbourOptions.Tune): a tuning costs a few model builds, so it
	// runs on the first dense build and then at most this often, when
	// the events grew by a tenth.
	TuneInterval time.Duration
	// TuneDefaults are the engine settings the tuner starts from.
	TuneDefaults TuneDefaults
	// SnapshotInterval is how often derived state is snapshotted (also on Close).
	SnapshotInterval time.Duration
	// GCInterval is how often Badger's value log is garbage-collected.
	GCInterval time.Duration
	// MinFreeBytes is the free space the data directory's file system must
	// keep: below it writes are refused with ErrDiskFull (0 disables).
	MinFreeBytes uint64
	// Logger receives background errors and progress; nil means slog.Default().
	Logger *slog.Logger
	// Clock returns "now"; tests and historical data pin it.
	Clock func() time.Time
	// MaxFutureSkew is how far past the wall clock (time.Now, not Clock:
	// a pinned clock is for reading history, not for judging new events)
	// an event's timestamp may lie. Further out it is refused: one event
	// dated years ahead would otherwise sit in every "latest" and window
	// computation. Zero means DefaultMaxFutureSkew.
	MaxFutureSkew time.Duration
}

// DefaultMaxFutureSkew allows for clients whose clocks run ahead and for
// time zones written wrongly, and little more.
const DefaultMaxFutureSkew = 24 * time.Hour

// DefaultOptions returns options for a durable store in dir.
func DefaultOptions(dir string) Options {
	return Options{
		Dir:              dir,
		SyncWrites:       true,
		EventTypes:       DefaultEventTypes(),
		Neighbours:       DefaultNeighbourOptions(),
		RefreshInterval:  time.Second,
		DenseInterval:    2 * time.Minute,
		TuneInterval:     24 * time.Hour,
		TuneDefaults:     TuneDefaults{HalfLifeDays: 30, HistoryCap: 500},
		SnapshotInterval: 5 * time.Minute,
		GCInterval:       10 * time.Minute,
		MinFreeBytes:     256 << 20,
		Clock:            time.Now,
		MaxFutureSkew:    DefaultMaxFutureSkew,
	}
}

// Validate reports whether o is usable; it changes nothing (Open fills the
// zero settings from a copy, withDefaults).
func (o Options) Validate() error {
	if o.Dir == "" && !o.InMemory {
		return fmt.Errorf("%w: data directory is required", ErrInvalid)
	}
	if len(o.EventTypes) == 0 {
		return fmt.Errorf("%w: at least one event type is required", ErrInvalid)
	}
	if len(o.EventTypes) > 250 {
		return fmt.Errorf("%w: at most 250 event types", ErrInvalid)
	}
	for name, t := range o.EventTypes {
		if err := ValidateEvent(&Event{CustomerID: "x", ProductID: "x", Type: name}); err != nil {
			return fmt.Errorf("%w: event type %q: %v", ErrInvalid, name, err)
		}
		if t.Weight < 0 {
			return fmt.Errorf("%w: event type %q has a negative weight", ErrInvalid, name)
		}
		if t.Class >= numClasses {
			return fmt.Errorf("%w: event type %q: unknown class %v", ErrInvalid, name, t.Class)
		}
		if err := t.validateNegative(name); err != nil {
			return err
		}
	}
	if o.MaxFutureSkew < 0 {
		return fmt.Errorf("%w: max future skew %v is negative", ErrInvalid, o.MaxFutureSkew)
	}
	return o.Neighbours.Validate()
}

// withDefaults is o with its zero settings given their defaults (a refresh
// every second, the wall clock, the default future skew, the default
// logger): Open serves from this copy, so Validate can stay a pure check.
func (o Options) withDefaults() Options {
	if o.RefreshInterval <= 0 {
		o.RefreshInterval = time.Second
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.MaxFutureSkew == 0 {
		o.MaxFutureSkew = DefaultMaxFutureSkew
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

func sortedTypeNames(m map[string]EventType) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
