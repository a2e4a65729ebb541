//go:build !unix

package node_test

import "time"

// cpuTime is not measured here (no getrusage): the benchmarks' CPU
// figures read 0.
func cpuTime() time.Duration { return 0 }
