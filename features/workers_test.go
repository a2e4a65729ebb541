package features

import (
	"math/rand/v2"
	"net"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/affinity-rec/affinity/features/background"
)

func TestWorkersFor(t *testing.T) {
	for _, c := range []struct {
		procs int
		force bool
		want  int
	}{
		{1, false, 1}, {1, true, 1}, {2, false, 1}, {2, true, 2}, {8, false, 7}, {8, true, 8}, {0, false, 1},
	} {
		if got := workersFor(c.procs, c.force); got != c.want {
			t.Errorf("workersFor(%d, %v) = %d, want %d", c.procs, c.force, got, c.want)
		}
	}
}

// skewedIndex is an index of ncust customers over nprod products, popular
// products first, with every class.
func skewedIndex(ncust, nprod int, seed uint64) *index {
	r := rand.New(rand.NewPCG(seed, 5))
	x := newIndex()
	for c := range ncust {
		for range 3 + r.IntN(30) {
			p := uint32(float64(nprod) * r.Float64() * r.Float64() * r.Float64())
			x.applyLocked(uint32(c), Interaction{Product: p, Class: Class(r.IntN(int(numClasses))), TS: uint32(r.IntN(1000))}, false)
		}
	}
	return x
}

// TestBuildModelSameWithFewerWorkers: a background refresh builds with one
// worker fewer; the lists must not depend on how many count them, for
// counted and dense (EASE) lists, full and partial builds.
func TestBuildModelSameWithFewerWorkers(t *testing.T) {
	const nprod = 300
	x := skewedIndex(3000, nprod, 11)
	for _, sim := range []Similarity{SimRP3, SimEASE} {
		o := DefaultNeighbourOptions()
		o.Similarity = sim
		one := buildModel(x, nil, nil, nprod, o, false, 1)
		four := buildModel(x, nil, nil, nprod, o, false, 4)
		for b := Basis(0); b < NumBases; b++ {
			if !reflect.DeepEqual(one.Neighbours[b], four.Neighbours[b]) {
				t.Fatalf("%v basis %d: lists differ between 1 and 4 workers", sim, b)
			}
		}
		dirty := one.Popular[BasisAny]
		ids := make([]uint32, 0, 50)
		for _, n := range dirty[:min(50, len(dirty))] {
			ids = append(ids, n.Product)
		}
		slices.Sort(ids)
		d := roaring.BitmapOf(ids...)
		p1 := buildModel(x, one, d, nprod, o, false, 1)
		p3 := buildModel(x, one, d, nprod, o, false, 3)
		for b := Basis(0); b < NumBases; b++ {
			if !reflect.DeepEqual(p1.Neighbours[b], p3.Neighbours[b]) {
				t.Fatalf("%v basis %d: partial lists differ between 1 and 3 workers", sim, b)
			}
		}
	}
}

// BenchmarkPingDuringBuild measures what a request sees while a model build
// runs beside it: round trips over a loopback TCP connection (the same
// netpoller path fiber's connections take) while buildModel counts every
// list with `procs` workers ("all", a forced build) or one fewer ("bg", a
// background refresh). With every P counting, each wake-up waits for
// sysmon's 10 ms network poll; reported as the p99 and largest round trip,
// the share over 1 ms, and the round trips completed per build.
func BenchmarkPingDuringBuild(b *testing.B) {
	if runtime.GOMAXPROCS(0) < 2 {
		b.Skip("needs GOMAXPROCS >= 2")
	}
	x := skewedIndex(100_000, 20_000, 3)
	o := DefaultNeighbourOptions()
	o.Similarity = SimRP3
	for _, c := range []struct {
		name            string
		force, nice, xp bool
	}{{"all", true, false, false}, {"bg", false, false, false}, {"bg-nice", false, true, false}, {"bg-nice-extraP", false, true, true}} {
		b.Run(c.name, func(b *testing.B) {
			var rtts []time.Duration
			for b.Loop() {
				rtts = append(rtts, pingWhile(b, func() {
					p := pool{n: buildWorkers(c.force), nice: c.nice}
					if c.xp {
						defer background.ExtraProcs(p.n)()
					}
					buildModelIn(x, nil, nil, 20_000, o, false, p)
				})...)
			}
			slices.Sort(rtts)
			if len(rtts) > 0 {
				slow := len(rtts) - sort.Search(len(rtts), func(i int) bool { return rtts[i] > time.Millisecond })
				b.ReportMetric(float64(rtts[len(rtts)*99/100].Microseconds()), "p99-µs")
				b.ReportMetric(float64(rtts[len(rtts)-1].Microseconds()), "max-µs")
				b.ReportMetric(100*float64(slow)/float64(len(rtts)), "%>1ms")
				b.ReportMetric(float64(len(rtts))/float64(b.N), "pings/op")
			}
		})
	}
}

// pingWhile runs work and returns the round trips of one byte over a
// loopback connection made meanwhile.
func pingWhile(b *testing.B, work func()) []time.Duration {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 1)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	var stop atomic.Bool
	done := make(chan []time.Duration)
	go func() {
		var rtts []time.Duration
		buf := []byte{1}
		for !stop.Load() {
			t0 := time.Now()
			if _, err := conn.Write(buf); err != nil {
				break
			}
			if _, err := conn.Read(buf); err != nil {
				break
			}
			rtts = append(rtts, time.Since(t0))
		}
		done <- rtts
	}()
	work()
	stop.Store(true)
	return <-done
}

// TestTuneSameWithFewerWorkers: the tuner runs inside a background refresh
// with one worker fewer; its choice and scores must not depend on that.
func TestTuneSameWithFewerWorkers(t *testing.T) {
	s := tuneStore(t, driftEvents(300, 1), func(o *Options) { o.TuneDefaults.HalfLifeDays = 365 })
	o := s.opts.Neighbours
	d := s.opts.TuneDefaults
	if d.HistoryCap < 1 {
		d.HistoryCap = 500
	}
	one := tune(s.idx, BasisAny, s.prod.len(), s.types.Load(), o, o.TuneHoldout, d, 1)
	three := tune(s.idx, BasisAny, s.prod.len(), s.types.Load(), o, o.TuneHoldout, d, 3)
	if one == nil || three == nil {
		t.Fatal("no tuning")
	}
	one.Seconds, three.Seconds = 0, 0
	one.At, three.At = time.Time{}, time.Time{}
	if !reflect.DeepEqual(*one, *three) {
		t.Errorf("1 worker: %+v\n3 workers: %+v", *one, *three)
	}
}

// TestBuildWorkersIgnoreExtraProcs: the extra P of niced work running
// meanwhile (a customer-value fit) is not a CPU to count with: a forced
// build during a fit ran a worker more than there are CPUs.
func TestBuildWorkersIgnoreExtraProcs(t *testing.T) {
	before := buildWorkers(true)
	release := background.ExtraProcs(1)
	got := buildWorkers(true)
	release()
	if got != before {
		t.Fatalf("a forced build counts %d workers during a fit, %d otherwise", got, before)
	}
}
