// Command ingestload posts events to a running Affinity server at a fixed
// rate for a while and reports whether ingestion ever stalls: per-request
// latency counted from each batch's intended start (an open loop, so a
// stalled server is not hidden by the poster waiting on it), the events
// acknowledged in every second, and the longest time no batch was
// acknowledged. `affinity bench` has no events-only scenario (its mixed one
// posts a fifth of its requests), and a stall of the write path shows best
// under a load that is all writes.
//
//	affinity bench --generate /tmp/in.ndjson --size small --events 6000000 \
//	    --customers 1000000 --products 100000 --seed 7
//	go run ./scripts/ingestload --url http://127.0.0.1:18120 --file /tmp/in.ndjson \
//	    --rate 20000 --batch 100 --duration 300s
//
// The file is NDJSON, one event a line (the generator's seed other than
// the store's keeps the event ids new). With --dump-dir, a goroutine dump
// is fetched from /debug/pprof/goroutine (serve --pprof) whenever no batch
// has been acknowledged for --stall, to see what the writer waits on.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type config struct {
	url, file, apiKey, dumpDir, series string
	rate                               float64
	batch, posters                     int
	duration, stall, timeout           time.Duration
}

// record is one POST: when it was meant to start, when it started and
// when its answer came back.
type record struct {
	intended, start, done time.Time
	events                int
	ok                    bool
}

func main() {
	var c config
	flag.StringVar(&c.url, "url", "http://127.0.0.1:18120", "server base URL")
	flag.StringVar(&c.file, "file", "", "NDJSON events to post, one a line (required)")
	flag.StringVar(&c.apiKey, "api-key", os.Getenv("AFFINITY_API_KEY"), "API key (Bearer); also used for the goroutine dumps")
	flag.StringVar(&c.dumpDir, "dump-dir", "", "write a goroutine dump here whenever no batch was acknowledged for --stall")
	flag.StringVar(&c.series, "series", "", "write the events acknowledged per second to this file (second,events)")
	flag.Float64Var(&c.rate, "rate", 20000, "events per second offered")
	flag.IntVar(&c.batch, "batch", 100, "events per POST")
	flag.IntVar(&c.posters, "posters", 16, "POSTs in flight at most")
	flag.DurationVar(&c.duration, "duration", 60*time.Second, "how long to offer load")
	flag.DurationVar(&c.stall, "stall", 500*time.Millisecond, "no acknowledgement for this long counts as a stall (dump)")
	flag.DurationVar(&c.timeout, "timeout", 60*time.Second, "timeout of one POST")
	flag.Parse()
	if c.file == "" || c.rate <= 0 || c.batch < 1 || c.posters < 1 {
		fmt.Fprintln(os.Stderr, "usage: ingestload --file EVENTS.ndjson [--url URL] [--rate N] [--batch N] [--posters N] [--duration D]")
		os.Exit(2)
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "ingestload:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	batches, err := readBatches(c.file, c.batch, int(c.rate*c.duration.Seconds()))
	if err != nil {
		return err
	}
	if len(batches) == 0 {
		return fmt.Errorf("%s has no events", c.file)
	}
	client := &http.Client{Timeout: c.timeout, Transport: &http.Transport{MaxIdleConnsPerHost: c.posters}}
	interval := time.Duration(float64(time.Second) * float64(c.batch) / c.rate)
	jobs := make(chan int, len(batches))
	recs := make([]record, len(batches))
	var lastAck atomic.Int64
	var wg sync.WaitGroup
	// SIGINT or SIGTERM stops the offer early (a backlog is dropped); what
	// was sent is still reported.
	sig, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for range c.posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if sig.Err() != nil {
					continue
				}
				recs[i].start = time.Now()
				recs[i].ok = post(client, c, batches[i])
				recs[i].done = time.Now()
				recs[i].events = bytes.Count(batches[i], []byte{'\n'})
				lastAck.Store(recs[i].done.UnixNano())
			}
		}()
	}
	t0 := time.Now()
	lastAck.Store(t0.UnixNano())
	ctx, cancel := context.WithCancel(context.Background())
	go watchStalls(ctx, c, client, &lastAck)
	sent := 0
offer:
	for i := range batches {
		recs[i].intended = t0.Add(time.Duration(i) * interval)
		select {
		case <-time.After(time.Until(recs[i].intended)):
		case <-sig.Done():
			break offer
		}
		jobs <- i
		sent++
	}
	close(jobs)
	wg.Wait()
	cancel()
	return report(c, t0, recs[:sent])
}

// readBatches cuts the first max lines of path into NDJSON bodies of n
// lines each (fewer when the file is shorter).
func readBatches(path string, n, max int) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var out [][]byte
	var cur []byte
	lines, total := 0, 0
	for total < max && sc.Scan() {
		cur = append(append(cur, sc.Bytes()...), '\n')
		lines++
		total++
		if lines == n {
			out, cur, lines = append(out, cur), nil, 0
		}
	}
	if lines > 0 {
		out = append(out, cur)
	}
	return out, sc.Err()
}

func post(client *http.Client, c config, body []byte) bool {
	req, err := http.NewRequest(http.MethodPost, c.url+"/v1/events", bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingestload: post:", err)
		return false
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		fmt.Fprintf(os.Stderr, "ingestload: post: %s: %s\n", resp.Status, bytes.TrimSpace(msg))
		return false
	}
	return true
}

// watchStalls writes a goroutine dump the first time in each stall that
// nothing has been acknowledged for c.stall.
func watchStalls(ctx context.Context, c config, client *http.Client, lastAck *atomic.Int64) {
	if c.dumpDir == "" {
		return
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var dumped int64
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			last := lastAck.Load()
			if last == dumped || now.Sub(time.Unix(0, last)) < c.stall {
				continue
			}
			dumped = last
			name := filepath.Join(c.dumpDir, fmt.Sprintf("stall-%s.txt", now.UTC().Format("150405.000")))
			if err := dump(client, c, name); err != nil {
				fmt.Fprintln(os.Stderr, "ingestload: goroutine dump:", err)
			} else {
				fmt.Fprintf(os.Stderr, "ingestload: no ack for %v, goroutines in %s\n", now.Sub(time.Unix(0, last)).Round(time.Millisecond), name)
			}
		}
	}
}

func dump(client *http.Client, c config, name string) error {
	req, err := http.NewRequest(http.MethodGet, c.url+"/debug/pprof/goroutine?debug=2", nil)
	if err != nil {
		return err
	}
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s", resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(name, b, 0o644)
}
