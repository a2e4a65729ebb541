// Package abtest is the arithmetic of Affinity's experiments: which variant a
// customer gets, and what the counts collected per variant say. It holds no
// state and does no I/O; the experiments store and the HTTP results endpoint
// (DESIGN 3.2) call into it. Every function is pure and safe for concurrent
// use.
//
// # Assignment
//
// Assign hashes (salt, unit id) once per variant with XXH64 and picks the
// variant with the smallest -ln(u_v)/w_v: weighted rendezvous hashing, which
// Moulton and Jiang call P-MinHash ("Maximally consistent sampling and the
// Jaccard index of probability distributions", ICDM 2018). The exact formula
// is on Assign. It depends on nothing but the bytes of the salt, the id and
// the variant names, so every process and every restart agrees, with no seed
// and no map order involved.
//
// Why not cumulative buckets (one u per unit, variant i owns
// [W_(i-1), W_i))? They hit the weights exactly too, but a change to one
// weight shifts the boundaries of every later bucket, and the list order
// decides who pays: ramping the first of four equal arms to 40/20/20/20
// moves 30% of units where 15% must move, draining the first of 40/30/30
// moves 60% where 40% must, and adding a 10% arm to 50/50 moves 15% where
// 10% must. With rendezvous hashing each variant has its own draw, so raising
// one weight only pulls units into that variant, lowering one only releases
// its own units, adding a variant only takes units for it, and reordering the
// list moves nobody. The expected fraction moved between weight vectors x and
// y is 1 - J_P(x, y), where J_P(x, y) = Σ_i 1 / Σ_j max(x_j/x_i, y_j/y_i).
// That equals the unavoidable minimum, the total variation distance, whenever
// one arm's share changes and the others keep their ratios (ramp up, ramp
// down, add, drain: the everyday edits); for arbitrary reshapes it is above
// the minimum (swapping 50/30/20 to 30/50/20 moves 23% where 20% must, a case
// cumulative buckets happen to get right), and Moulton and Jiang show no
// stateless scheme does better on every pair of weight vectors at once. The
// measured figures are logged by TestWeightChangeMovement.
//
// A variant's identity is its name: renaming one reassigns its units, and
// the salt is what makes two experiments independent of each other.
//
// # Statistics
//
// All intervals are two-sided 95%:
//   - Wilson: Wilson score interval for a click or conversion rate;
//   - TwoProportionPValue: pooled two-proportion z-test;
//   - RelativeLift: treatment/control - 1, Katz log (delta-method) interval;
//   - MeanInterval: revenue per exposure, normal approximation from
//     sums and sums of squares;
//   - WelchPValue: Welch's t-test for a difference in revenue per exposure;
//   - SRMPValue and SRMFlag: chi-squared sample-ratio-mismatch check.
//
// Distribution tails come from gonum's stat/distuv rather than hand-written
// special functions.
//
// Results are JSON and encoding/json refuses NaN and Inf, so every function
// returns finite numbers for every input, empty arms included; each documents
// what it returns without data (a proportion with no trials is {0, 0, 1}, the
// whole range). Counts are clamped into range rather than rejected, because a
// results page read while counters move must not fail.
package abtest
