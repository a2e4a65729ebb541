//go:build race

package features

// raceOn: tests that loop for confidence are skipped under the race
// detector (5-10 times slower), which `make test` runs on this package.
const raceOn = true
