package main

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"time"
)

// report prints what the run saw: latencies from the intended start (what
// a poster with a steady stream would wait) and from the actual send, the
// acknowledged events per second and the longest time without any
// acknowledgement.
func report(c config, t0 time.Time, recs []record) error {
	var lat, svc []time.Duration
	acked, failed := 0, 0
	var end time.Time
	var sent []record
	for _, r := range recs {
		if !r.start.IsZero() {
			sent = append(sent, r) // not a backlog dropped by a signal
		}
	}
	recs = sent
	for _, r := range recs {
		if r.done.After(end) {
			end = r.done
		}
		if !r.ok {
			failed++
			continue
		}
		acked += r.events
		lat = append(lat, r.done.Sub(r.intended))
		svc = append(svc, r.done.Sub(r.start))
	}
	slices.Sort(lat)
	slices.Sort(svc)
	wall := end.Sub(t0)
	fmt.Printf("offered %.0f events/s in batches of %d from %d posters for %v\n", c.rate, c.batch, c.posters, c.duration)
	fmt.Printf("posts %d (failed %d), events acknowledged %d in %v: %.0f events/s\n",
		len(recs), failed, acked, wall.Round(time.Millisecond), float64(acked)/wall.Seconds())
	if len(lat) == 0 {
		return fmt.Errorf("no post succeeded")
	}
	fmt.Printf("latency from intended start: p50 %v p99 %v p99.9 %v max %v\n",
		q(lat, 0.5), q(lat, 0.99), q(lat, 0.999), q(lat, 1))
	fmt.Printf("service time (from send):    p50 %v p99 %v p99.9 %v max %v\n",
		q(svc, 0.5), q(svc, 0.99), q(svc, 0.999), q(svc, 1))
	gaps := ackGaps(t0, recs, time.Second)
	fmt.Printf("longest time without an acknowledgement: %v (ending at +%v)\n", gaps.longest, gaps.at)
	for _, g := range gaps.over {
		fmt.Printf("  no acknowledgement from %s to %s (%v)\n", g[0].UTC().Format("15:04:05.000"),
			g[1].UTC().Format("15:04:05.000"), g[1].Sub(g[0]).Round(time.Millisecond))
	}
	perSec := perSecond(t0, recs, c.duration)
	worst, ws := slowestSecond(perSec)
	fmt.Printf("slowest second: +%ds with %d events acknowledged (offered %.0f)\n", ws, worst, c.rate)
	if c.series != "" {
		return writeSeries(c.series, perSec)
	}
	return nil
}

// q is the p-quantile of sorted d (nearest rank).
func q(d []time.Duration, p float64) time.Duration {
	i := int(float64(len(d))*p+0.5) - 1
	return d[min(max(i, 0), len(d)-1)].Round(10 * time.Microsecond)
}

// gapReport is what ackGaps found: the longest time between consecutive
// acknowledgements (from the start of the run), when it ended, and every
// gap of at least the threshold as its start and end.
type gapReport struct {
	longest, at time.Duration
	over        [][2]time.Time
}

func ackGaps(t0 time.Time, recs []record, threshold time.Duration) gapReport {
	var done []time.Time
	for _, r := range recs {
		if r.ok {
			done = append(done, r.done)
		}
	}
	slices.SortFunc(done, func(a, b time.Time) int { return a.Compare(b) })
	prev := t0
	var g gapReport
	for _, d := range done {
		gap := d.Sub(prev)
		if gap > g.longest {
			g.longest, g.at = gap, d.Sub(t0)
		}
		if gap >= threshold {
			g.over = append(g.over, [2]time.Time{prev, d})
		}
		prev = d
	}
	g.longest, g.at = g.longest.Round(time.Millisecond), g.at.Round(time.Millisecond)
	return g
}

// perSecond counts the events acknowledged in each second of the run.
func perSecond(t0 time.Time, recs []record, d time.Duration) []int {
	n := make([]int, int(d/time.Second)+1)
	for _, r := range recs {
		if !r.ok {
			continue
		}
		s := int(r.done.Sub(t0) / time.Second)
		for s >= len(n) {
			n = append(n, 0)
		}
		n[s] += r.events
	}
	return n
}

// slowestSecond is the smallest count among the full seconds of the
// offered load (the last, partial one is left out).
func slowestSecond(n []int) (int, int) {
	full := n[:max(1, len(n)-1)]
	w := 0
	for i, v := range full {
		if v < full[w] {
			w = i
		}
	}
	return full[w], w
}

func writeSeries(path string, n []int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "second,events")
	for i, v := range n {
		fmt.Fprintf(w, "%d,%d\n", i, v)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
