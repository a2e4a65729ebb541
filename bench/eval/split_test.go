package eval

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
)

func ev(customer, product string) features.Event {
	return features.Event{CustomerID: customer, ProductID: product, Type: "rating"}
}

func evAt(customer, product string, unix int64) features.Event {
	e := ev(customer, product)
	e.Timestamp = time.Unix(unix, 0).UTC()
	return e
}

// ids returns "customer/product" of each event, to compare splits briefly.
func ids(events []features.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.CustomerID + "/" + e.ProductID
	}
	return out
}

func TestSplitOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*SplitOptions)
		wantErr bool
	}{
		{"default", func(*SplitOptions) {}, false},
		{"user-stratified", func(o *SplitOptions) { o.Method = SplitUserStratified }, false},
		{"temporal", func(o *SplitOptions) { o.Method = SplitTemporal }, false},
		{"unknown method", func(o *SplitOptions) { o.Method = "random" }, true},
		{"empty method", func(o *SplitOptions) { o.Method = "" }, true},
		{"ratio 0", func(o *SplitOptions) { o.TestRatio = 0 }, true},
		{"ratio 1", func(o *SplitOptions) { o.TestRatio = 1 }, true},
		{"ratio negative", func(o *SplitOptions) { o.TestRatio = -0.1 }, true},
		{"ratio NaN", func(o *SplitOptions) { o.TestRatio = math.NaN() }, true},
		{"ratio just inside", func(o *SplitOptions) { o.TestRatio = 0.999 }, false},
		{"seed negative", func(o *SplitOptions) { o.Seed = -1 }, true},
		{"seed max uint32", func(o *SplitOptions) { o.Seed = 1<<32 - 1 }, false},
		{"seed too big", func(o *SplitOptions) { o.Seed = 1 << 32 }, true},
		{"min group negative", func(o *SplitOptions) { o.MinGroupSize = -1 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultSplitOptions()
			tt.mutate(&o)
			err := o.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalidSplit) {
				t.Errorf("error %v does not wrap ErrInvalidSplit", err)
			}
		})
	}
}

func TestDefaultSplitOptions(t *testing.T) {
	o := DefaultSplitOptions()
	if o.Method != SplitItemStratified || o.TestRatio != 0.25 || o.Seed != 42 || o.MinGroupSize != 0 {
		t.Errorf("DefaultSplitOptions() = %+v, want item-stratified, 0.25, seed 42", o)
	}
}

func TestSplitTrainCount(t *testing.T) {
	// Microsoft Recommenders keeps rank j of n in train when j/n <= ratio:
	// a floor of ratio*n, never a rounding.
	tests := []struct {
		n     int
		ratio float64
		want  int
	}{
		{1, 0.75, 0}, // 1/1 > .75: a lone rating goes to test
		{2, 0.75, 1}, // 1/2 <= .75 < 2/2
		{3, 0.75, 2}, // 2/3 <= .75 < 3/3 (rounding would also give 2)
		{4, 0.75, 3}, // 3/4 == .75 stays in train
		{5, 0.75, 3}, // 3.75 floors to 3 (rounding would give 4)
		{7, 0.75, 5}, // 5.25
		{10, 0.8, 8}, // 8/10 == .8
		{10, 1 - 0.2, 8},
		{1, 0.5, 0},
		{0, 0.75, 0},
	}
	for _, tt := range tests {
		if got := trainCount(tt.n, tt.ratio); got != tt.want {
			t.Errorf("trainCount(%d, %v) = %d, want %d", tt.n, tt.ratio, got, tt.want)
		}
	}
}

func TestSplitItemStratifiedMatchesNumpyDraws(t *testing.T) {
	// Worked by hand from np.random.seed(42); np.random.rand(5) =
	// .3745 .9507 .7320 .5987 .1560, one draw per row in input order.
	// Item A (rows 0-3) sorted by draw: rows 0, 3, 2, 1; 3 of 4 to train,
	// so row 1 is test. Item B (row 4) is alone: test.
	events := []features.Event{
		ev("u1", "A"), ev("u2", "A"), ev("u3", "A"), ev("u4", "A"), ev("u1", "B"),
	}
	train, test, err := Split(events, DefaultSplitOptions())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(train), []string{"u1/A", "u3/A", "u4/A"}; !slices.Equal(got, want) {
		t.Errorf("train = %v, want %v", got, want)
	}
	if got, want := ids(test), []string{"u2/A", "u1/B"}; !slices.Equal(got, want) {
		t.Errorf("test = %v, want %v", got, want)
	}
}

func TestSplitStratifiedGroupSizes(t *testing.T) {
	// Items with 1..9 interactions from distinct customers; each must keep
	// floor(0.75 n) in train whatever the shuffle, for both groupings.
	var events []features.Event
	for n := 1; n <= 9; n++ {
		for c := range n {
			events = append(events, ev(fmt.Sprintf("c%d", c), fmt.Sprintf("p%d", n)))
		}
	}
	tests := []struct {
		method  string
		groupOf func(features.Event) string
		// swap turns the events into their transpose for the user split.
		swap bool
	}{
		{SplitItemStratified, func(e features.Event) string { return e.ProductID }, false},
		{SplitUserStratified, func(e features.Event) string { return e.CustomerID }, true},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			in := slices.Clone(events)
			if tt.swap {
				for i := range in {
					in[i].CustomerID, in[i].ProductID = in[i].ProductID, in[i].CustomerID
				}
			}
			for _, seed := range []int64{0, 1, 42, 1<<32 - 1} {
				o := SplitOptions{Method: tt.method, TestRatio: 0.25, Seed: seed}
				train, test, err := Split(in, o)
				if err != nil {
					t.Fatal(err)
				}
				if len(train)+len(test) != len(in) {
					t.Fatalf("seed %d: %d + %d events, want %d", seed, len(train), len(test), len(in))
				}
				counts := map[string][2]int{}
				for _, e := range train {
					c := counts[tt.groupOf(e)]
					c[0]++
					counts[tt.groupOf(e)] = c
				}
				for _, e := range test {
					c := counts[tt.groupOf(e)]
					c[1]++
					counts[tt.groupOf(e)] = c
				}
				for g, c := range counts {
					n := c[0] + c[1]
					if want := n * 3 / 4; c[0] != want {
						t.Errorf("seed %d: group %s of %d has %d in train, want %d", seed, g, n, c[0], want)
					}
				}
			}
		})
	}
}

func TestSplitDeterministicAndOrderPreserving(t *testing.T) {
	var events []features.Event
	for i := range 500 {
		events = append(events, ev(fmt.Sprintf("c%d", i%37), fmt.Sprintf("p%d", i%23)))
	}
	o := DefaultSplitOptions()
	train1, test1, err := Split(events, o)
	if err != nil {
		t.Fatal(err)
	}
	train2, test2, _ := Split(events, o)
	if !slices.Equal(ids(train1), ids(train2)) || !slices.Equal(ids(test1), ids(test2)) {
		t.Error("the same seed gave two different splits")
	}
	o.Seed = 7
	train3, _, _ := Split(events, o)
	if slices.Equal(ids(train1), ids(train3)) {
		t.Error("seeds 42 and 7 gave the same split")
	}
	// Input order is kept: train and test are subsequences of events.
	for _, side := range [][]features.Event{train1, test1} {
		j := 0
		for _, e := range side {
			for j < len(events) && events[j] != e {
				j++
			}
			if j == len(events) {
				t.Fatal("output is not in input order")
			}
			j++
		}
	}
}

func TestSplitKeepsPairsTogether(t *testing.T) {
	// Retail: customers buy the same product in several orders. Each
	// (customer, product) pair must land wholly on one side, and the
	// stratification counts pairs, not events: p1 has 4 pairs (3 train,
	// 1 test) however many times c0 bought it.
	var events []features.Event
	for order := range 5 {
		for c := range 4 {
			e := ev(fmt.Sprintf("c%d", c), "p1")
			e.OrderID = fmt.Sprintf("o%d-%d", order, c)
			events = append(events, e)
			if c == 0 {
				events = append(events, e) // c0 buys p1 twice per order
			}
		}
		events = append(events, ev("c0", "p2"), ev("c1", "p2"))
	}
	for _, method := range []string{SplitItemStratified, SplitUserStratified} {
		for seed := range int64(20) {
			train, test, err := Split(events, SplitOptions{Method: method, TestRatio: 0.25, Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			inTrain := map[pairKey]bool{}
			for _, e := range train {
				inTrain[pairKey{e.CustomerID, e.ProductID}] = true
			}
			testPairs := map[pairKey]bool{}
			for _, e := range test {
				k := pairKey{e.CustomerID, e.ProductID}
				if inTrain[k] {
					t.Fatalf("%s seed %d: pair %v in both train and test", method, seed, k)
				}
				testPairs[k] = true
			}
			if method == SplitItemStratified {
				// p1: 4 pairs -> 1 test; p2: 2 pairs -> 1 test.
				if len(testPairs) != 2 {
					t.Errorf("seed %d: %d test pairs, want 2", seed, len(testPairs))
				}
			}
		}
	}
}

func TestSplitMinGroupSize(t *testing.T) {
	// p1 has 4 distinct customers, p2 has 2 (c0 twice, still 2 pairs):
	// with MinGroupSize 3 every p2 event is dropped from both sides.
	events := []features.Event{
		ev("c0", "p1"), ev("c1", "p1"), ev("c2", "p1"), ev("c3", "p1"),
		ev("c0", "p2"), ev("c0", "p2"), ev("c1", "p2"),
	}
	o := DefaultSplitOptions()
	o.MinGroupSize = 3
	train, test, err := Split(events, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(train) != 3 || len(test) != 1 {
		t.Fatalf("train %v, test %v: want 3 and 1 events of p1", ids(train), ids(test))
	}
	for _, e := range slices.Concat(train, test) {
		if e.ProductID != "p1" {
			t.Errorf("event %s/%s of a dropped group kept", e.CustomerID, e.ProductID)
		}
	}
	// Dropped groups take no random draw, as in Microsoft Recommenders,
	// so p1 splits as it would without p2 at all.
	train2, test2, _ := Split(events[:4], DefaultSplitOptions())
	if !slices.Equal(ids(train), ids(train2)) || !slices.Equal(ids(test), ids(test2)) {
		t.Errorf("with p2 dropped: %v|%v, alone: %v|%v", ids(train), ids(test), ids(train2), ids(test2))
	}
}

func TestSplitTemporal(t *testing.T) {
	tests := []struct {
		name      string
		times     []int64
		ratio     float64
		wantTest  []int // indices into the events
		wantError error
	}{
		{
			// 10 events, 20%: the cut is the event at position 8 in time
			// order (t=9); t >= 9 is test.
			name:     "distinct times",
			times:    []int64{5, 1, 9, 3, 10, 2, 8, 4, 7, 6},
			ratio:    0.2,
			wantTest: []int{2, 4},
		},
		{
			// The cut lands on t=8, shared by three events (an order's
			// lines): all three go to test, 30% instead of 20%.
			name:     "tie at the cut",
			times:    []int64{1, 2, 3, 4, 5, 6, 7, 8, 8, 8},
			ratio:    0.2,
			wantTest: []int{7, 8, 9},
		},
		{
			// round(0.25*3) = 1 test event.
			name:     "rounding",
			times:    []int64{30, 10, 20},
			ratio:    0.25,
			wantTest: []int{0},
		},
		{
			name:      "all at one time leaves train empty",
			times:     []int64{7, 7, 7, 7},
			ratio:     0.25,
			wantError: ErrEmptySplit,
		},
		{
			// round(0.1*4) = 0: nothing can be test.
			name:      "too few events for any test",
			times:     []int64{1, 2, 3, 4},
			ratio:     0.1,
			wantError: ErrEmptySplit,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events := make([]features.Event, len(tt.times))
			for i, ts := range tt.times {
				events[i] = evAt("c", strconv.Itoa(i), ts)
			}
			train, test, err := Split(events, SplitOptions{Method: SplitTemporal, TestRatio: tt.ratio})
			if tt.wantError != nil {
				if !errors.Is(err, tt.wantError) {
					t.Fatalf("err = %v, want %v", err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, i := range tt.wantTest {
				want = append(want, "c/"+strconv.Itoa(i))
			}
			if got := ids(test); !slices.Equal(got, want) {
				t.Errorf("test = %v, want %v", got, want)
			}
			if len(train)+len(test) != len(events) {
				t.Errorf("%d + %d events, want %d", len(train), len(test), len(events))
			}
		})
	}
}

func TestSplitTemporalNeedsTimestamps(t *testing.T) {
	events := []features.Event{evAt("c", "p", 10), ev("c", "q"), evAt("c", "r", 20)}
	_, _, err := Split(events, SplitOptions{Method: SplitTemporal, TestRatio: 0.5})
	if err == nil || !strings.Contains(err.Error(), "no timestamp") {
		t.Errorf("err = %v, want a missing timestamp error", err)
	}
}

func TestSplitRejectsInvalidOptions(t *testing.T) {
	_, _, err := Split([]features.Event{ev("c", "p")}, SplitOptions{Method: "nope", TestRatio: 0.5})
	if !errors.Is(err, ErrInvalidSplit) {
		t.Errorf("err = %v, want ErrInvalidSplit", err)
	}
}
