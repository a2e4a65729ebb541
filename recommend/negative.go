package recommend

import (
	"slices"

	"github.com/affinity-rec/affinity/features"
)

// Negative signals in ranking (features/negative.go). The affinity already
// counts a dislike, a low rating or a return against its product and, by
// the association lists, against the product's neighbours. What is left
// here is the hard rule: a product the customer disliked is never shown to
// them again, in any list asked for them (personal, related, popular and
// segment products with a customer_id, with include_seen or a rebuy knob),
// nor are they in its audience, nor does the offer prior draw on it. A
// returned product was bought, and bought products are excluded anyway.

// alwaysExcluded reports whether an interaction keeps its product out of
// every list for its customer, include_seen or not: a purchase or a
// dislike.
func alwaysExcluded(in *features.Interaction) bool {
	return in.Class == features.ClassBought || in.Class == features.ClassDisliked
}

// markDisliked excludes what hist disliked: the rule markExcluded applies,
// for rankings that keep what the customer has (rebuy).
func (e *Engine) markDisliked(sc *scratch, hist []features.Interaction) {
	for i := range hist {
		if hist[i].Class == features.ClassDisliked {
			e.markOne(sc, hist[i].Product)
		}
	}
}

// unscoreDisliked takes the score of every touched product hist disliked
// back to 0 (an untouched one is 0 already), so that the offer prior
// (offers_prior.go) draws nothing from an association with a product the
// customer said no to.
func unscoreDisliked(sc *scratch, hist []features.Interaction) {
	for i := range hist {
		if p := hist[i].Product; hist[i].Class == features.ClassDisliked && int(p) < len(sc.score) && sc.mark[p] != markNone {
			sc.score[p] = 0
		}
	}
}

// dislikesAny reports whether hist disliked one of targets: that customer
// is left out of the targets' audience (audience_score.go), as the
// product is left out of their lists.
func dislikesAny(hist []features.Interaction, targets []uint32) bool {
	for i := range hist {
		if hist[i].Class == features.ClassDisliked && slices.Contains(targets, hist[i].Product) {
			return true
		}
	}
	return false
}
