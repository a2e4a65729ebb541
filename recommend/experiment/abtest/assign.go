package abtest

import (
	"fmt"
	"math"

	"github.com/cespare/xxhash/v2"
)

// Variant is one arm of an experiment as Assign sees it: its name is its
// identity in the hash and its weight its share of traffic. Weights need not
// sum to 1; only their ratios count. A Variant is a plain value, safe for
// concurrent use once it is no longer written.
type Variant struct {
	Name   string
	Weight float64
}

// sep separates the hashed fields. Ids are printable UTF-8 (DESIGN 3.2), so
// "a"+"bc" and "ab"+"c" cannot collide through it.
const sep = "\x00"

// Assign returns the index in variants of the variant that unitID gets in the
// experiment keyed by salt, or -1 when no variant has a positive finite
// weight (ValidateVariants rejects such a list).
//
// Each variant v draws its own uniform
//
//	u_v = ((XXH64(salt ‖ 0x00 ‖ unitID ‖ 0x00 ‖ v.Name, seed 0) >> 12) + 0.5) / 2^52
//
// and the variant with the smallest -ln(u_v)/w_v wins (weighted rendezvous
// hashing; see the package doc for why not cumulative buckets). -ln(u_v) is
// Exp(1), so the winner is v with probability exactly w_v / Σw, and because
// a draw depends on the variant's name and not its position, reordering the
// list, adding a variant or changing one weight only moves the units that
// the change has to move. The formula uses nothing but XXH64 and a natural
// log, so an analyst can recompute an assignment outside Go.
//
// Ties (in practice only for two variants with the same name and weight) go
// to the lower index. Floating point enters through one log per variant; two
// platforms' logs may differ in the last bit, which can change a winner only
// when two scores agree to about 1e-16, so in practice never. Assign is a
// pure function, safe for concurrent use, and does not allocate.
func Assign(salt, unitID string, variants []Variant) int {
	var prefix xxhash.Digest
	prefix.Reset()
	_, _ = prefix.WriteString(salt)
	_, _ = prefix.WriteString(sep)
	_, _ = prefix.WriteString(unitID)
	_, _ = prefix.WriteString(sep)

	best, bestScore := -1, math.Inf(1)
	for i := range variants {
		w := variants[i].Weight
		if !validWeight(w) || w == 0 {
			continue
		}
		// Copying the digest hashes the shared prefix once per call rather
		// than once per variant; the sum is the same as hashing the whole
		// string, which keeps the documented formula exact.
		d := prefix
		_, _ = d.WriteString(variants[i].Name)
		score := -math.Log(unitInterval(d.Sum64())) / w
		if score < bestScore {
			best, bestScore = i, score
		}
	}
	return best
}

// unitInterval maps a 64-bit hash to the open interval (0, 1), exactly: the
// top 52 bits plus a half step fit a float64 mantissa, so no value rounds to
// 0 (whose log is -Inf) or to 1. With 53 bits the largest would round to 1.
func unitInterval(h uint64) float64 {
	return (float64(h>>12) + 0.5) / (1 << 52)
}

func validWeight(w float64) bool {
	return w >= 0 && !math.IsInf(w, 1) // NaN fails w >= 0
}

// ValidateVariants reports whether variants is a list Assign can serve: at
// least one variant with a positive weight, every weight finite and not
// negative, every name non-empty and unique. Zero weights are allowed so that
// an arm can be drained without being removed. The error wraps ErrNoVariants,
// ErrInvalidWeight, ErrEmptyName or ErrDuplicateName. It is safe for
// concurrent use.
func ValidateVariants(variants []Variant) error {
	seen := make(map[string]struct{}, len(variants))
	positive := false
	for i, v := range variants {
		if v.Name == "" {
			return fmt.Errorf("variant %d: %w", i, ErrEmptyName)
		}
		if _, dup := seen[v.Name]; dup {
			return fmt.Errorf("variant %d %q: %w", i, v.Name, ErrDuplicateName)
		}
		seen[v.Name] = struct{}{}
		if !validWeight(v.Weight) {
			return fmt.Errorf("variant %q weight %v: %w", v.Name, v.Weight, ErrInvalidWeight)
		}
		if v.Weight > 0 {
			positive = true
		}
	}
	if !positive {
		return ErrNoVariants
	}
	return nil
}
