package offer

import (
	"encoding/binary"
	mrand "math/rand/v2"
	"time"

	"github.com/cespare/xxhash/v2"
)

// Thompson draws in cluster mode (issue 16 point 4: nodes that applied
// the same stream answer next-best-offer the same). A single node draws
// from its own counter (Service.draws), so two nodes, or two calls, draw
// differently. When the store follows a stream's ticks (features:
// UseStreamTicks), a request's draws are instead seeded by a hash of what
// every node shares at the same stream position: the configured seed
// (Options.Seed; 0 on every node unless set), the customer, the channel,
// and the last stream tick applied (its sequence and time). Exploration
// still happens: across customers (their draws are independent), and over
// time, since a tick follows new messages within the tick interval and
// gives every customer a new draw. Between ticks a customer asking again
// gets the same draw, as any node would give them.
//
// The number of offers asked for is not hashed: a request for more offers
// extends the ranking of one for fewer rather than drawing another.

// streamClock is what the service reads of a store that follows stream
// ticks (features.Store); a store without it is a single node.
type streamClock interface {
	StreamTicks() bool
	LastTick() (uint64, time.Time)
}

// drawSource is the source of one request's Thompson draws.
func (s *Service) drawSource(customer, channel string) mrand.Source {
	if sc, ok := s.src.(streamClock); ok && sc.StreamTicks() {
		seq, at := sc.LastTick()
		var ns int64
		if !at.IsZero() {
			ns = at.UnixNano()
		}
		return mrand.NewPCG(drawSeed(s.opts.Seed, customer, channel, seq, ns))
	}
	return mrand.NewPCG(s.seed, s.draws.Add(1))
}

// drawSeed is the PCG seed of a request's draws in cluster mode: a
// function of its arguments only. xxhash (already the service's shard
// hash) mixes them; the second word is the first run through SplitMix64's
// finaliser, so the two are not equal.
func drawSeed(base uint64, customer, channel string, tickSeq uint64, tickNS int64) (uint64, uint64) {
	var b [8]byte
	d := xxhash.New()
	for _, v := range []uint64{base, tickSeq, uint64(tickNS), uint64(len(customer))} {
		binary.LittleEndian.PutUint64(b[:], v)
		_, _ = d.Write(b[:])
	}
	// The customer's length goes first, so that ("ab", "c") and ("a",
	// "bc") hash apart.
	_, _ = d.WriteString(customer)
	_, _ = d.WriteString(channel)
	h := d.Sum64()
	return h, splitmix(h)
}

// splitmix is SplitMix64's output function.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
