package api

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// rateLimiter is a token bucket per API key (golang.org/x/time/rate: the
// standard, well-kept implementation). Safe for concurrent use.
type rateLimiter struct {
	mu    sync.Mutex
	rps   float64
	byKey map[string]*rate.Limiter
}

func newRateLimiter(rps float64) *rateLimiter {
	return &rateLimiter{rps: rps, byKey: map[string]*rate.Limiter{}}
}

// allow takes a token for key; when none is left it says how long to wait.
func (r *rateLimiter) allow(key string) (time.Duration, bool) {
	r.mu.Lock()
	l := r.byKey[key]
	if l == nil {
		burst := int(r.rps)
		if burst < 1 {
			burst = 1
		}
		l = rate.NewLimiter(rate.Limit(r.rps), burst)
		r.byKey[key] = l
	}
	r.mu.Unlock()
	res := l.Reserve()
	if d := res.Delay(); d > 0 {
		res.Cancel()
		return d, false
	}
	return 0, true
}
