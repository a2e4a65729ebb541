package features

import (
	"sync"

	"github.com/affinity-rec/affinity/features/background"
)

// buildWorkers is how many goroutines a model build counts lists with. A
// forced build (Refresh: import, erasure, tests) is waited for and uses
// every P. A background refresh leaves one P free for the requests it runs
// beside. With every P busy on counting, a request's
// socket becoming readable is noticed only when sysmon polls the network
// (every 10 ms once no P has polled) or preempts a worker (after 10 ms), so
// on a 2-core server a refresh under mixed load put up to 10 ms of waiting
// in front of every request that arrived during it, a likely part of the
// mixed load's p99 (docs/performance.md, fifth session). A free P blocks in the
// network poller and picks a request up at once. The refresh is paced by its
// own duration (backgroundLoop), so fewer workers do not refresh more of
// the time, only more slowly.
func buildWorkers(force bool) int {
	// Not runtime.GOMAXPROCS: it counts the extra Ps of niced work
	// running meanwhile (a customer-value fit), which are not CPUs.
	return workersFor(background.BaseProcs(), force)
}

func workersFor(procs int, force bool) int {
	if force || procs <= 1 {
		return max(1, procs)
	}
	return procs - 1
}

// lockSpan is how many customers a build reads under one hold of the index's
// read lock. The writer waits for the hold to end before it applies a
// commit, and behind the waiting writer every new reader waits too (a
// personal request reads the history under the same lock). 4096 customers
// of the synthetic sets' 14 events on average are 57k interactions a hold,
// more where heavy customers cluster; 512 cuts that eightfold (not
// measured on its own: it is a bound, not a profile finding). An
// uncontended read lock costs tens of nanoseconds, so 512 adds nothing
// measurable to a build.
const lockSpan = 512

// pool is how a build runs its workers: n goroutines, at background
// priority when nice (a paced background refresh; see
// background.LowerPriority). A
// forced build (Refresh: import, erasure, tests; a cluster tick) is waited
// for by its caller and runs at the normal priority.
type pool struct {
	n    int
	nice bool
}

// run runs f on p.n goroutines and waits for them. A niced worker's
// goroutine exits locked to its thread, which drops the thread (see
// background.LowerPriority).
func (p pool) run(f func()) {
	var wg sync.WaitGroup
	for range max(1, p.n) {
		wg.Go(func() {
			if p.nice {
				background.LowerPriority()
			}
			f()
		})
	}
	wg.Wait()
}
