package eval

import (
	"errors"
	"slices"
	"testing"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend"
)

func TestLookupAlgorithm(t *testing.T) {
	names := AlgorithmNames()
	if names[0] != "affinity" || !slices.Contains(names, "sar") || !slices.Contains(names, "popularity") {
		t.Fatalf("names %v: want affinity first, sar and popularity present", names)
	}
	for _, n := range names {
		a, err := LookupAlgorithm(n)
		if err != nil || a.Name != n {
			t.Errorf("LookupAlgorithm(%q) = %v, %v", n, a.Name, err)
		}
		if err := a.Neighbours.Validate(); err != nil {
			t.Errorf("%s: neighbour options: %v", n, err)
		}
		if err := a.Engine.Validate(); err != nil {
			t.Errorf("%s: engine options: %v", n, err)
		}
	}
	def := features.DefaultNeighbourOptions()
	if a, _ := LookupAlgorithm("affinity"); a.Neighbours != def || a.Engine != recommend.DefaultOptions() {
		t.Errorf("affinity is not the serving default")
	}
	if _, err := LookupAlgorithm("bpr"); !errors.Is(err, ErrUnknownAlgorithm) {
		t.Errorf("unknown algorithm: err %v", err)
	}
}
