package features

import "runtime"

// withExtraProcs raises GOMAXPROCS by n, the niced workers of a background
// refresh (pool), and returns the function that lowers it again. The Go
// scheduler counts a P whose thread runs a niced worker as busy, and the
// kernel may not run that thread for a long time when the machine is busy
// (that is the point of nice 19): at GOMAXPROCS = CPUs the requests were
// then left one P of two for the length of the refresh, which the niced
// worker made longer. With one P more the requests keep a P per CPU, and
// the niced worker's P costs nothing while the kernel does not run it.
// Measured both ways (docs/performance.md, "Session 8: background
// refresh"): the extra P did better at 10k req/s of mixed load.
// Refreshes are serialised (refreshMu), so the raises do not stack. A
// dense (EASE) solve in the same build runs at the normal priority on the
// raised GOMAXPROCS: the requests keep a P per CPU beside it too (the
// tuner runs before the raise). Setting
// GOMAXPROCS stops the world for microseconds, twice a refresh. Putting it
// back with runtime.GOMAXPROCS ends the runtime's automatic updates of
// GOMAXPROCS (to a container's changed CPU limit): a server whose CPU
// limit changes at run time needs a restart to use it.
func withExtraProcs(n int) func() {
	prev := runtime.GOMAXPROCS(0)
	runtime.GOMAXPROCS(prev + n)
	return func() { runtime.GOMAXPROCS(prev) }
}
