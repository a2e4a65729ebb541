// Package clv predicts what a customer will do next from their purchase
// history alone, with the buy-till-you-die models of Fader, Hardie and Lee:
//
//   - BG/NBD ("Counting your customers the easy way", Marketing Science
//     24(2), 2005): while alive a customer buys as a Poisson process with
//     rate λ ~ Gamma(r, α); after each purchase they drop out with
//     probability p ~ Beta(a, b). From (x, t_x, T) it gives P(alive) and
//     the expected number of purchases in the next t time units.
//   - Gamma-Gamma ("RFM and CLV: using iso-value curves", JMR 42(4), 2005;
//     note 025 at brucehardie.com): a customer's order values are
//     Gamma(p, ν) around their own mean, ν ~ Gamma(q, γ) across customers.
//     It shrinks an observed mean order value towards the population's,
//     the more the fewer orders it rests on.
//
// The package is a leaf: it takes Summary values (one per customer) and
// knows nothing of stores or events, so the caller decides what an order
// is and which time unit to use (every time in one fit must share it; the
// scale parameter α is in that unit).
//
// Fitting is maximum likelihood with gonum's Nelder-Mead on the logarithms
// of the parameters (positivity for free, no gradients of the
// hypergeometric function needed), over times rescaled to a mean age of 1
// so that one starting point suits days, weeks or seconds. Every prediction
// is finite for any input: bad summaries are clamped, and the few
// expressions that can overflow have bounded fallbacks.
package clv
