package eval

import (
	"maps"
	"slices"
	"testing"

	"github.com/affinity-rec/affinity/features"
)

func typed(customer, product, typ string) features.Event {
	return features.Event{CustomerID: customer, ProductID: product, Type: typ}
}

func TestBuildGroundTruth(t *testing.T) {
	// alice: in train (bought p1, viewed p2); in test buys p1 again and p3,
	//        views p4.
	// bob:   in train (viewed p9); in test buys p2 only.
	// carol: not in train (cold); in test buys p5.
	// dave:  in train (bought p6); in test buys p6 again only.
	// erin:  in train; in test only views.
	train := []features.Event{
		typed("alice", "p1", "purchase"), typed("alice", "p2", "view"),
		typed("bob", "p9", "view"),
		typed("dave", "p6", "purchase"),
		typed("erin", "p7", "purchase"),
		typed("zed", "p8", "purchase"), // not in test: irrelevant
	}
	test := []features.Event{
		typed("alice", "p1", "purchase"), typed("alice", "p3", "purchase"),
		typed("alice", "p3", "purchase"), typed("alice", "p4", "view"),
		typed("bob", "p2", "purchase"),
		typed("carol", "p5", "purchase"),
		typed("dave", "p6", "purchase"),
		typed("erin", "p7", "view"),
	}
	for _, tt := range groundTruthCases() {
		t.Run(tt.name, func(t *testing.T) {
			gt, st := BuildGroundTruth(train, test, tt.opts)
			if st != tt.stats {
				t.Errorf("stats = %+v, want %+v", st, tt.stats)
			}
			got := map[string][]string{}
			for c, ps := range gt {
				got[c] = slices.Sorted(maps.Keys(ps))
			}
			if !maps.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("ground truth = %v, want %v", got, tt.want)
			}
			if cs := gt.Customers(); !slices.IsSorted(cs) || len(cs) != len(tt.want) {
				t.Errorf("Customers() = %v, want the %d customers sorted", cs, len(tt.want))
			}
		})
	}
}

// groundTruthCase is one protocol of TestBuildGroundTruth: the options and
// the ground truth and stats they must give on its train and test events.
type groundTruthCase struct {
	name  string
	opts  GroundTruthOptions
	want  map[string][]string
	stats GroundTruthStats
}

// groundTruthCases are TestBuildGroundTruth's protocols, worked by hand over
// the train and test events described there.
func groundTruthCases() []groundTruthCase {
	return []groundTruthCase{
		{
			// Purchases only: alice {p1 p3}, bob {p2}, carol {p5} (cold,
			// dropped), dave {p6}; erin has no purchase in test. Seen
			// pairs: alice/p1, dave/p6.
			name: "retail protocol",
			opts: RetailGroundTruthOptions(),
			want: map[string][]string{"alice": {"p1", "p3"}, "bob": {"p2"}, "dave": {"p6"}},
			stats: GroundTruthStats{TestCustomers: 4, ColdCustomers: 1, SeenPairs: 2,
				Customers: 3, Pairs: 4},
		},
		{
			// As above without the seen pairs: alice keeps p3, dave has
			// nothing left and is dropped.
			name: "retail, excluding repeat purchases",
			opts: GroundTruthOptions{Types: []string{"purchase"}, WarmOnly: true, ExcludeSeen: true},
			want: map[string][]string{"alice": {"p3"}, "bob": {"p2"}},
			stats: GroundTruthStats{TestCustomers: 4, ColdCustomers: 1, SeenPairs: 2,
				AllSeenCustomers: 1, Customers: 2, Pairs: 2},
		},
		{
			// Every type, cold customers kept: erin's view of p7 counts
			// (and is a seen pair: she bought p7 in train).
			name: "every type, cold kept",
			opts: GroundTruthOptions{},
			want: map[string][]string{
				"alice": {"p1", "p3", "p4"}, "bob": {"p2"}, "carol": {"p5"},
				"dave": {"p6"}, "erin": {"p7"},
			},
			stats: GroundTruthStats{TestCustomers: 5, SeenPairs: 3, Customers: 5, Pairs: 7},
		},
		{
			name: "stratified protocol",
			opts: StratifiedGroundTruthOptions(),
			want: map[string][]string{
				"alice": {"p1", "p3", "p4"}, "bob": {"p2"}, "dave": {"p6"}, "erin": {"p7"},
			},
			stats: GroundTruthStats{TestCustomers: 5, ColdCustomers: 1, SeenPairs: 3,
				Customers: 4, Pairs: 6},
		},
	}
}

func TestDistinctProducts(t *testing.T) {
	events := []features.Event{typed("a", "p1", "view"), typed("b", "p1", "view"), typed("a", "p2", "view")}
	if got := DistinctProducts(events); got != 2 {
		t.Errorf("DistinctProducts = %d, want 2", got)
	}
	if got := DistinctProducts(nil); got != 0 {
		t.Errorf("DistinctProducts(nil) = %d, want 0", got)
	}
}
