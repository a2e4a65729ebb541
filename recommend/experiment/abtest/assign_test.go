package abtest

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/cespare/xxhash/v2"
)

func variants(weights ...float64) []Variant {
	vs := make([]Variant, len(weights))
	for i, w := range weights {
		vs[i] = Variant{Name: string(rune('a' + i)), Weight: w}
	}
	return vs
}

func unitIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("customer-%d", i)
	}
	return ids
}

func TestAssignSplitMatchesWeights(t *testing.T) {
	ids := unitIDs(10_000)
	for _, tc := range []struct {
		name    string
		weights []float64
	}{
		{"50/50", []float64{50, 50}},
		{"90/10", []float64{90, 10}},
		{"33/33/34", []float64{33, 33, 34}},
		{"10/20/30/40", []float64{0.1, 0.2, 0.3, 0.4}},
		{"99/1", []float64{99, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vs := variants(tc.weights...)
			counts := make([]int64, len(vs))
			for _, id := range ids {
				counts[Assign("exp-split", id, vs)]++
			}
			p := SRMPValue(counts, tc.weights)
			t.Logf("counts %v, chi-squared p = %.3f", counts, p)
			if p <= SRMThreshold {
				t.Errorf("split %v of %d ids does not match weights %v: p = %g", counts, len(ids), tc.weights, p)
			}
		})
	}
}

// The golden assignments pin the hash: if one of these changes, every running
// experiment would reshuffle its customers on upgrade. Change them only with a
// migration plan. They were checked against an independent implementation of
// the documented formula (Python, xxhash 3.2):
//
//	h = xxhash.xxh64_intdigest((salt + "\x00" + uid + "\x00" + name).encode())
//	u = ((h >> 12) + 0.5) / 2**52;  score = -math.log(u) / weight;  pick the min
func TestAssignGolden(t *testing.T) {
	ab := []Variant{{"control", 50}, {"treatment", 50}}
	three := []Variant{{"control", 1}, {"blue", 1}, {"green", 1}}
	skew := []Variant{{"control", 90}, {"new-ranker", 10}}
	for _, tc := range []struct {
		salt, id string
		vs       []Variant
		want     string
	}{
		{"homepage-2026", "customer-1", ab, "control"},
		{"homepage-2026", "customer-2", ab, "control"},
		{"homepage-2026", "customer-3", ab, "treatment"},
		{"homepage-2026", "customer-4", ab, "treatment"},
		{"homepage-2026", "17850", ab, "control"},
		{"cart-colour", "customer-1", three, "control"},
		{"cart-colour", "customer-2", three, "green"},
		{"cart-colour", "customer-3", three, "blue"},
		{"cart-colour", "ünïcode-ïd", three, "blue"},
		{"ranker-v2", "customer-1", skew, "control"},
		{"ranker-v2", "customer-42", skew, "control"},
		{"", "", ab, "control"},
	} {
		got := tc.vs[Assign(tc.salt, tc.id, tc.vs)].Name
		if got != tc.want {
			t.Errorf("Assign(%q, %q) = %q, want %q", tc.salt, tc.id, got, tc.want)
		}
	}

	// 64 ids per variant list, one digit per id: a changed hash flips about
	// half of them, so no change slips through.
	for _, tc := range []struct {
		vs   []Variant
		want string
	}{
		{ab, "1010101010011001001001110011111011110101100001110100011101110001"},
		{three, "1110202011211122002001022010110011101202101002202102022202110011"},
		{skew, "0000000000000000000000000000000000100000010100010000001001010000"},
	} {
		got := make([]byte, 0, 64)
		for i := range 64 {
			got = append(got, byte('0'+Assign("golden", fmt.Sprintf("customer-%d", i), tc.vs)))
		}
		if string(got) != tc.want {
			t.Errorf("golden run for %v:\n got %s\nwant %s", tc.vs, got, tc.want)
		}
	}

	// One draw of the documented formula, to the last bit.
	h := xxhash.Sum64String("homepage-2026\x00customer-1\x00control")
	if h != 13774301373063419473 {
		t.Errorf("XXH64 = %d, want 13774301373063419473", h)
	}
	if got := unitInterval(h); got != 0.7467063736572713 {
		t.Errorf("unitInterval = %v, want 0.7467063736572713", got)
	}
}

func TestAssignStable(t *testing.T) {
	vs := []Variant{{"control", 2}, {"b", 1}, {"c", 1}}
	reordered := []Variant{{"c", 1}, {"control", 2}, {"b", 1}}
	drained := append([]Variant{{"old", 0}}, vs...)
	for _, id := range unitIDs(2_000) {
		first := vs[Assign("s", id, vs)].Name
		for range 3 {
			if got := vs[Assign("s", id, vs)].Name; got != first {
				t.Fatalf("%s: %q then %q", id, first, got)
			}
		}
		// A draw is keyed by the variant's name, not its slot.
		if got := reordered[Assign("s", id, reordered)].Name; got != first {
			t.Fatalf("%s: reordering moved it from %q to %q", id, first, got)
		}
		// A zero-weight arm takes nobody and moves nobody.
		if got := drained[Assign("s", id, drained)].Name; got != first {
			t.Fatalf("%s: a zero-weight arm moved it from %q to %q", id, first, got)
		}
	}
}

func TestAssignNoUsableVariant(t *testing.T) {
	for _, vs := range [][]Variant{
		nil,
		{{"a", 0}},
		{{"a", -1}, {"b", math.NaN()}, {"c", math.Inf(1)}},
	} {
		if got := Assign("s", "u", vs); got != -1 {
			t.Errorf("Assign(%v) = %d, want -1", vs, got)
		}
	}
	if got := Assign("s", "u", []Variant{{"a", -1}, {"b", 3}}); got != 1 {
		t.Errorf("a negative weight must be skipped: got %d, want 1", got)
	}
}

func TestUnitIntervalOpen(t *testing.T) {
	if lo := unitInterval(0); !(lo > 0) {
		t.Errorf("unitInterval(0) = %v, want > 0", lo)
	}
	if hi := unitInterval(math.MaxUint64); !(hi < 1) {
		t.Errorf("unitInterval(max) = %v, want < 1", hi)
	}
}

// cumulativeAssign is the scheme Assign does not use: one draw per unit,
// variant i owns [W_(i-1), W_i) of the cumulative normalised weights. It is
// here to measure what rendezvous hashing saves.
func cumulativeAssign(salt, id string, weights []float64) int {
	u := unitInterval(xxhash.Sum64String(salt + sep + id))
	var total float64
	for _, w := range weights {
		total += w
	}
	var acc float64
	for i, w := range weights {
		acc += w / total
		if u < acc {
			return i
		}
	}
	return len(weights) - 1
}

func normalise(w []float64) []float64 {
	var s float64
	for _, x := range w {
		s += x
	}
	out := make([]float64, len(w))
	for i, x := range w {
		out[i] = x / s
	}
	return out
}

// totalVariation is the least fraction of units any scheme must move to go
// from one split to the other.
func totalVariation(x, y []float64) float64 {
	x, y = normalise(x), normalise(y)
	var d float64
	for i := range x {
		d += math.Abs(x[i] - y[i])
	}
	return d / 2
}

// pMinHashMoved is the fraction rendezvous hashing moves in expectation:
// 1 - J_P(x, y) (Moulton and Jiang 2018). J_P is scale free, so the weights
// need no normalising.
func pMinHashMoved(x, y []float64) float64 {
	var same float64
	for i := range x {
		if x[i] == 0 || y[i] == 0 {
			continue
		}
		var s float64
		for j := range x {
			s += max(x[j]/x[i], y[j]/y[i])
		}
		same += 1 / s
	}
	return 1 - same
}

func TestWeightChangeMovement(t *testing.T) {
	const units = 100_000
	ids := unitIDs(units)
	for _, tc := range []struct {
		name     string
		old, new []float64
		// oneArm: one arm's share changes and the rest keep their ratios,
		// so rendezvous hashing moves exactly the minimum.
		oneArm bool
	}{
		{"50/50 -> 40/60", []float64{50, 50}, []float64{40, 60}, true},
		{"50/50 -> 10/90", []float64{50, 50}, []float64{10, 90}, true},
		{"middle up 33/33/34 -> 25/50/25", []float64{33, 33, 34}, []float64{25, 50, 25}, false},
		{"first up 25x4 -> 40/20/20/20", []float64{25, 25, 25, 25}, []float64{40, 20, 20, 20}, true},
		{"middle down 25x4 -> 30/10/30/30", []float64{25, 25, 25, 25}, []float64{30, 10, 30, 30}, true},
		{"new arm 50/50/0 -> 45/45/10", []float64{50, 50, 0}, []float64{45, 45, 10}, true},
		{"drain arm 40/30/30 -> 0/50/50", []float64{40, 30, 30}, []float64{0, 50, 50}, true},
		{"swap 50/30/20 -> 30/50/20", []float64{50, 30, 20}, []float64{30, 50, 20}, false},
		{"reshape 10/20/30/40 -> 40/30/20/10", []float64{10, 20, 30, 40}, []float64{40, 30, 20, 10}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oldVs, newVs := variants(tc.old...), variants(tc.new...)
			var moved, cumMoved int
			for _, id := range ids {
				if Assign("exp-move", id, oldVs) != Assign("exp-move", id, newVs) {
					moved++
				}
				if cumulativeAssign("exp-move", id, tc.old) != cumulativeAssign("exp-move", id, tc.new) {
					cumMoved++
				}
			}
			got := float64(moved) / units
			cum := float64(cumMoved) / units
			tv := totalVariation(tc.old, tc.new)
			want := pMinHashMoved(tc.old, tc.new)
			t.Logf("moved %.4f (expected 1-J_P %.4f), minimum (TV) %.4f, ratio %.3f; cumulative buckets %.4f",
				got, want, tv, got/tv, cum)
			if tc.oneArm && math.Abs(want-tv) > 1e-12 {
				t.Errorf("1-J_P = %v, want it equal to TV %v for a one-arm change", want, tv)
			}
			// 5 binomial standard deviations: the ids are fixed, so this is
			// deterministic, but it must not pin the luck of one id set.
			tol := 5 * math.Sqrt(want*(1-want)/units)
			if math.Abs(got-want) > tol {
				t.Errorf("moved %.4f, expected %.4f ± %.4f", got, want, tol)
			}
			if got < tv-tol {
				t.Errorf("moved %.4f is below the minimum %.4f: the split cannot be right", got, tv)
			}
		})
	}
}

func TestValidateVariants(t *testing.T) {
	for _, tc := range []struct {
		name string
		vs   []Variant
		want error
	}{
		{"ok", []Variant{{"control", 50}, {"b", 50}}, nil},
		{"drained arm ok", []Variant{{"control", 1}, {"b", 0}}, nil},
		{"empty", nil, ErrNoVariants},
		{"all zero", []Variant{{"a", 0}, {"b", 0}}, ErrNoVariants},
		{"negative", []Variant{{"a", 1}, {"b", -1}}, ErrInvalidWeight},
		{"nan", []Variant{{"a", math.NaN()}}, ErrInvalidWeight},
		{"inf", []Variant{{"a", math.Inf(1)}}, ErrInvalidWeight},
		{"no name", []Variant{{"", 1}}, ErrEmptyName},
		{"duplicate", []Variant{{"a", 1}, {"a", 2}}, ErrDuplicateName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateVariants(tc.vs)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("ValidateVariants = %v, want %v", err, tc.want)
			}
		})
	}
}
