// Package synth writes seeded synthetic event sets for `affinity import`:
// Zipf-skewed storefront traffic (sessions, categories, views, carts and
// purchases with order ids) as CSV or NDJSON, at sizes no public retail data
// set reaches (`affinity bench --generate FILE --size full`). Preset names
// the sizes used in docs/performance.md.
//
// It is neither load generation nor evaluation: it talks to no server and
// scores nothing, it only writes a file that `affinity import` reads (the
// ingest and restart measurements of scripts/loadrun.sh use it). So it is a
// package of its own under bench/ rather than a corner of bench/load, and it
// imports no Affinity package.
package synth
