package api

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// authThrottle limits failed authentications per client address, so that
// API keys cannot be guessed at network speed (2,000 wrong keys took 0.3 s).
// Each address has a token bucket of failures (golang.org/x/time/rate, as
// the per-key rate limit): a failure takes a token, and while the bucket is
// empty every request from that address that needs a key gets 429 without
// its key being looked at. A right key is refused too: were it let through,
// the different answer would tell a guesser when they found one.
//
// Memory is bounded: at most max addresses are tracked. A full table first
// forgets the addresses whose bucket has refilled (they carry no state);
// if every address is still throttled, it forgets arbitrary ones (Go's map
// order), which gives those a fresh bucket: an attacker with more addresses
// than max gets about burst guesses per address, which is what so many
// addresses would buy anyway. Safe for concurrent use.
type authThrottle struct {
	mu     sync.Mutex
	burst  int
	refill rate.Limit // failures forgiven per second
	max    int
	byAddr map[string]*rate.Limiter
}

// authThrottleAddrs is how many client addresses the throttle tracks at
// most (a limiter is about 100 bytes with its map entry: 10 MB).
const authThrottleAddrs = 100_000

func newAuthThrottle(burst int, perSecond float64, max int) *authThrottle {
	return &authThrottle{burst: burst, refill: rate.Limit(perSecond), max: max, byAddr: map[string]*rate.Limiter{}}
}

// blocked says whether addr has used up its failures, and how long until
// it may try again.
func (a *authThrottle) blocked(addr string, now time.Time) (time.Duration, bool) {
	a.mu.Lock()
	l := a.byAddr[addr]
	a.mu.Unlock()
	if l == nil {
		return 0, false
	}
	tok := l.TokensAt(now)
	if tok >= 1 {
		return 0, false
	}
	return time.Duration((1 - tok) / float64(a.refill) * float64(time.Second)), true
}

// failed records a failed authentication from addr.
func (a *authThrottle) failed(addr string, now time.Time) {
	a.mu.Lock()
	l := a.byAddr[addr]
	if l == nil {
		if len(a.byAddr) >= a.max {
			a.evictLocked(now)
		}
		l = rate.NewLimiter(a.refill, a.burst)
		a.byAddr[addr] = l
	}
	a.mu.Unlock()
	l.AllowN(now, 1)
}

// evictLocked makes room: addresses with a full bucket first, then
// arbitrary ones, down to three quarters of max.
func (a *authThrottle) evictLocked(now time.Time) {
	target := a.max * 3 / 4
	for addr, l := range a.byAddr {
		if l.TokensAt(now) >= float64(a.burst) {
			delete(a.byAddr, addr)
		}
	}
	for addr := range a.byAddr {
		if len(a.byAddr) <= target {
			break
		}
		delete(a.byAddr, addr)
	}
}

// retryAfterSeconds is d as a Retry-After value: whole seconds, at least 1.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
