package offer

import (
	"sync"
	"sync/atomic"
)

const offerCustShards = 64

// offerCustShard holds how often each customer was shown each offer. A
// reservation holds the shard's lock while it checks and bumps the counts,
// which is what makes caps exact under concurrent requests.
type offerCustShard struct {
	mu sync.Mutex
	m  map[string]offerCounts
}

// offerCounts is how often one customer was shown each offer: a short
// slice searched linearly rather than a map, because most customers see a
// few offers and an empty map alone costs more than a dozen entries here.
type offerCounts []offerCount

type offerCount struct {
	st *offerState
	n  uint32
}

func (c offerCounts) get(st *offerState) uint32 {
	for _, x := range c {
		if x.st == st {
			return x.n
		}
	}
	return 0
}

// add adds d (1 or -1) to st's count, dropping counts that reach 0.
func (c *offerCounts) add(st *offerState, d int) {
	for i := range *c {
		if x := &(*c)[i]; x.st == st {
			if d < 0 && x.n <= uint32(-d) {
				*c = append((*c)[:i], (*c)[i+1:]...)
				return
			}
			x.n = uint32(int64(x.n) + int64(d))
			return
		}
	}
	if d > 0 {
		*c = append(*c, offerCount{st: st, n: uint32(d)})
	}
}

// offerState is what one offer (incarnation) has learned and has open.
// Counters are written under mu; accepted and rejected are also atomics so
// that ranking reads them without the lock.
type offerState struct {
	inc string

	mu                       sync.Mutex
	shown, declined, ignored uint64
	open                     map[string]*offerExposure // by recommendation id
	fifo                     []*offerExposure          // open exposures, oldest first (answered ones are skipped)
	segs                     map[string]*offerSegCounts

	accepted atomic.Uint64
	rejected atomic.Uint64 // declined + ignored
	hasSegs  atomic.Bool
}

type offerSegCounts struct{ acc, rej uint64 }

// offerExposure is one showing of one offer to one customer, open until answered
// or expired. Fields other than done never change; done is under the
// offer's mu.
type offerExposure struct {
	rec, cust string
	ts        int64 // unix seconds, store clock
	segs      []string
	done      bool
}

func newOfferState(inc string) *offerState {
	return &offerState{inc: inc, open: map[string]*offerExposure{}, segs: map[string]*offerSegCounts{}}
}
