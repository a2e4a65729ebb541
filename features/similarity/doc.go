// Package similarity is the maths of product-to-product association,
// apart from where the counts come from: the scored pair (Neighbour), the
// bounded best-k heap every ranked list goes through (TopK), the pairwise
// measures that turn co-occurrence counts into scores (Jaccard, lift,
// cosine, RP3beta, LLR) and the EASE closed-form solve over a Gram matrix.
//
// It is a leaf: it imports no Affinity package (make check-deps holds it
// to that), so features builds and snapshots lists with it and recommend
// ranks with it without either depending on the other for these types.
package similarity
