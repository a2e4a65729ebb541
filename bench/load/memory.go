package load

import (
	"bufio"
	"bytes"
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// ServerMemory is the target's resident set during a run, read from its
// /metrics (process_resident_memory_bytes, Prometheus' process collector)
// once a second: at the start of the measured phase, the highest sample and
// at the end. Absent when the target does not export it.
type ServerMemory struct {
	StartBytes int64 `json:"start_bytes"`
	PeakBytes  int64 `json:"peak_bytes"`
	EndBytes   int64 `json:"end_bytes"`
	Samples    int   `json:"samples"`
}

// rssMetric is the series read from /metrics.
var rssMetric = []byte("process_resident_memory_bytes ")

// serverRSS reads the target's resident set from its /metrics; ok is false
// when the reply lacks the series.
func (t *target) serverRSS() (int64, bool) {
	req := t.newRequest(fasthttp.MethodGet)
	defer fasthttp.ReleaseRequest(req)
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(t.base + "/metrics")
	if err := t.hc.DoTimeout(req, resp, t.timeout); err != nil || resp.StatusCode() != fasthttp.StatusOK {
		return 0, false
	}
	return parseRSSMetric(resp.Body())
}

// parseRSSMetric finds process_resident_memory_bytes in a Prometheus text
// exposition (the value may be written as 7.002112e+07).
func parseRSSMetric(body []byte) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, rssMetric) {
			continue
		}
		v, err := strconv.ParseFloat(string(bytes.TrimSpace(line[len(rssMetric):])), 64)
		if err != nil || v < 0 {
			return 0, false
		}
		return int64(v), true
	}
	return 0, false
}

// memoryWatch samples the target's resident set every interval until stop.
type memoryWatch struct {
	t    *target
	mu   sync.Mutex
	mem  ServerMemory
	stop chan struct{}
	done chan struct{}
}

func watchServerMemory(ctx context.Context, t *target, every time.Duration) *memoryWatch {
	w := &memoryWatch{t: t, stop: make(chan struct{}), done: make(chan struct{})}
	w.sample()
	go func() {
		defer close(w.done)
		tk := time.NewTicker(every)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-w.stop:
				return
			case <-tk.C:
				w.sample()
			}
		}
	}()
	return w
}

// sample reads the resident set once; a target that does not say is left
// out.
func (w *memoryWatch) sample() {
	v, ok := w.t.serverRSS()
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mem.Samples == 0 {
		w.mem.StartBytes = v
	}
	w.mem.Samples++
	w.mem.PeakBytes = max(w.mem.PeakBytes, v)
	w.mem.EndBytes = v
}

// finish takes a last sample and returns what was seen (nil if nothing).
func (w *memoryWatch) finish() *ServerMemory {
	close(w.stop)
	<-w.done
	w.sample()
	if w.mem.Samples == 0 {
		return nil
	}
	m := w.mem
	return &m
}
