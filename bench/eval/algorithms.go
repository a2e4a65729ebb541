package eval

import (
	"fmt"
	"strings"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend"
)

// Algorithm is one ranking configuration of the serving code: the store's
// event types and neighbour options, the engine's options, and the request
// knobs. Evaluating it runs the very code a server with this configuration
// would run, so a figure measured here is the figure a deployment gets.
// An Algorithm is a value; sharing one between goroutines is safe as long as
// nobody changes its maps.
type Algorithm struct {
	// Name is what --algo selects.
	Name string
	// Description is one line for the help and the report.
	Description string
	// EventTypes replace the store's event types; nil keeps the defaults.
	EventTypes map[string]features.EventType
	// Neighbours are the store's neighbour options.
	Neighbours features.NeighbourOptions
	// Engine are the engine's options.
	Engine recommend.Options
	// Params are the request's ranking knobs (as an experiment variant
	// would set them), e.g. {"algorithm": "popular"}.
	Params map[string]any
}

// rebuyWeight is the affinity-rebuy algorithm's knob, tuned on the Online
// Retail temporal split (docs/evaluation.md).
const rebuyWeight = 0.3

// Algorithms returns the algorithms `affinity eval --algo` knows, the
// default first.
func Algorithms() []Algorithm {
	def := features.DefaultNeighbourOptions()
	knn := def
	knn.Tune = false
	knn.Similarity = def.Fallback
	if def.FallbackK > 0 {
		knn.K = def.FallbackK
	}
	// SAR as Microsoft Recommenders runs it in their benchmark: Jaccard over
	// every co-occurring pair (K 1000 of MovieLens' 1682 products keeps all
	// that matter), affinity = Σ rating x 2^(-age/30 days), every event of
	// the customer counted.
	sar := features.NeighbourOptions{Similarity: features.SimJaccard, K: 1000, MaxHistory: 1 << 20, MinSupport: 1, Alpha: 0.5}
	sarEngine := recommend.DefaultOptions()
	sarEngine.HalfLife = 30 * 24 * time.Hour
	sarEngine.HistoryCap = 1 << 20
	sarEngine.ScatterBudget = 0 // SAR's sum over every pair, as published
	// The first default (before the evaluation): cosine, 100 neighbours.
	cosine := features.NeighbourOptions{Similarity: features.SimCosine, K: 100, MaxHistory: 500, MinSupport: 1, Alpha: 0.5}
	untuned := def
	untuned.Tune = false
	untunedEngine := recommend.DefaultOptions()
	untunedEngine.UseTuning = false
	cosineEngine := recommend.DefaultOptions()
	cosineEngine.HalfLife = 30 * 24 * time.Hour
	return []Algorithm{
		{
			Name:        "affinity",
			Description: "the serving default (features.DefaultNeighbourOptions, recommend.DefaultOptions)",
			Neighbours:  def,
			Engine:      recommend.DefaultOptions(),
		},
		{
			Name:        "affinity-untuned",
			Description: "the default before self-tuning: EASE lambda 400, K 200, 30-day half-life, plain sums",
			Neighbours:  untuned,
			Engine:      untunedEngine,
		},
		{
			Name:        "popularity",
			Description: "most customers first, minus what the customer has (the cold-start fallback)",
			// Popularity reads no neighbour list: build the cheapest.
			Neighbours: features.NeighbourOptions{Similarity: features.SimCooccurrence, K: 1, MaxHistory: 1, MinSupport: 1},
			Engine:     recommend.DefaultOptions(),
			Params:     map[string]any{"algorithm": "popular"},
		},
		{
			Name:        "sar",
			Description: "SAR baseline: Jaccard over all co-occurrences, 30-day half-life, rating as weight",
			Neighbours:  sar,
			Engine:      sarEngine,
		},
		{
			Name:        "affinity-rebuy",
			Description: "the default with the rebuy knob: products the customer has stay, scored on top (reorders)",
			Neighbours:  def,
			Engine:      recommend.DefaultOptions(),
			Params:      map[string]any{"rebuy": rebuyWeight},
		},
		{
			Name:        "knn",
			Description: "the default's counting fallback for catalogues above DenseMaxProducts: " + string(knn.Similarity),
			Neighbours:  knn,
			Engine:      recommend.DefaultOptions(),
		},
		{
			Name:        "cosine",
			Description: "the first default: cosine (alpha 0.5), 100 neighbours, 30-day half-life",
			Neighbours:  cosine,
			Engine:      cosineEngine,
		},
	}
}

// AlgorithmNames returns the names Algorithms knows, default first.
func AlgorithmNames() []string {
	var out []string
	for _, a := range Algorithms() {
		out = append(out, a.Name)
	}
	return out
}

// LookupAlgorithm returns the algorithm called name.
func LookupAlgorithm(name string) (Algorithm, error) {
	for _, a := range Algorithms() {
		if a.Name == name {
			return a, nil
		}
	}
	return Algorithm{}, fmt.Errorf("%w %q (known: %s)", ErrUnknownAlgorithm, name, strings.Join(AlgorithmNames(), ", "))
}
