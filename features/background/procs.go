package background

import (
	"runtime"
	"sync"
)

// procs counts the extra Ps handed out by ExtraProcs, so that raises from
// different callers (a model refresh's workers, a customer-value fit)
// stack and each lowering takes back only its own.
var procs struct {
	mu    sync.Mutex
	base  int // GOMAXPROCS before the first outstanding raise
	extra int
}

// ExtraProcs raises GOMAXPROCS by n for n niced threads and returns the
// function that takes them back (safe to call more than once). The Go
// scheduler counts a P whose thread runs niced work as busy, and the
// kernel may not run that thread for a long time when the machine is busy
// (that is the point of nice 19): at GOMAXPROCS = CPUs the requests were
// then left one P of two for the length of the work, which nicing made
// longer. With one P more per niced thread the requests keep a P per CPU,
// and the niced thread's P costs nothing while the kernel does not run it.
// Measured both ways (docs/performance.md, "Session 8: background
// refresh"): the extra P did better at 10k req/s of mixed load. Setting
// GOMAXPROCS stops the world for microseconds. Putting it back with
// runtime.GOMAXPROCS ends the runtime's automatic updates of GOMAXPROCS (to
// a container's changed CPU limit): a server whose CPU limit changes at
// run time needs a restart to use it.
func ExtraProcs(n int) func() {
	if n <= 0 {
		return func() {}
	}
	procs.mu.Lock()
	if procs.extra == 0 {
		procs.base = runtime.GOMAXPROCS(0)
	}
	procs.extra += n
	runtime.GOMAXPROCS(procs.base + procs.extra)
	procs.mu.Unlock()
	return sync.OnceFunc(func() {
		procs.mu.Lock()
		procs.extra -= n
		runtime.GOMAXPROCS(procs.base + procs.extra)
		procs.mu.Unlock()
	})
}

// BaseProcs is GOMAXPROCS without the extra Ps ExtraProcs handed out: what
// a caller sizing a pool of normal-priority workers to the CPUs should
// read. runtime.GOMAXPROCS(0) during a customer-value fit counted its
// extra P, and a forced model build then ran a worker more than there are
// CPUs.
func BaseProcs() int {
	procs.mu.Lock()
	defer procs.mu.Unlock()
	if procs.extra > 0 {
		return procs.base
	}
	return runtime.GOMAXPROCS(0)
}

// Do runs f on a thread of its own at Nice, with a P more while it runs,
// and waits for it. Where threads cannot be niced (Nice is 0) f runs on
// the caller's goroutine. f must not hold a lock that requests wait for
// while it computes: the kernel may not run it for a long time on a busy
// machine, and the requests would wait with it.
func Do(f func()) {
	if Nice == 0 {
		f()
		return
	}
	defer ExtraProcs(1)()
	done := make(chan struct{})
	go func() {
		// Exits locked to its thread, which drops the niced thread
		// (LowerPriority).
		defer close(done)
		LowerPriority()
		f()
	}()
	<-done
}
