package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/affinity-rec/affinity/cluster/natstest"
	"github.com/affinity-rec/affinity/cluster/node"
	"github.com/affinity-rec/affinity/features"
)

// runClusterDemo is `make cluster` (a hidden command): an embedded
// three-server JetStream cluster and three Affinity nodes on 127.0.0.1,
// the demo data loaded once through the stream, and curl lines for each
// node. The servers are the real nats-server (cluster/natstest), so the
// demo behaves as a deployment would, only in one process.
func runClusterDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cluster-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data", "./data-cluster", "directory for the NATS servers' and the nodes' data")
	demo := fs.String("demo", "", "online-retail CSV(.gz) to load through node 1 when the stream is new")
	config := fs.String("config", "", "JSON config file for every node")
	base := fs.Int("port", 8081, "first HTTP port (nodes listen on port, port+1, port+2)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	err := clusterDemo(ctx, *dir, *demo, *config, *base, stdout, stderr)
	if ctx.Err() != nil {
		// Ctrl-C: a requested stop is not an error, whichever step of
		// the start it interrupted (and so failed with "context canceled").
		return nil
	}
	return err
}

func clusterDemo(ctx context.Context, dir, demo, config string, base int, stdout, stderr io.Writer) error {
	nc, err := natstest.Start(3, natstest.Options{Dir: filepath.Join(dir, "nats")})
	if err != nil {
		return err
	}
	defer nc.Shutdown()
	fmt.Fprintf(stdout, "NATS JetStream cluster (3 servers): %s\n", nc.URLs())
	var head uint64
	if demo != "" {
		if head, err = loadThroughStream(ctx, filepath.Join(dir, "node1"), nc.URLs(), demo, stdout); err != nil {
			return err
		}
	}
	return runDemoNodes(ctx, dir, nc.URLs(), config, base, head, stdout, stderr)
}

// runDemoNodes runs the three nodes until ctx ends or one fails (which
// stops the others), and prints their URLs once every one answers /readyz
// ready and has applied the stream up to head (the demo data): a URL
// printed before that refuses connections, and a node within max_lag is
// ready before it holds the demo data.
func runDemoNodes(ctx context.Context, dir, urls, config string, base int, head uint64, stdout, stderr io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 3)
	addrs := make([]string, 3)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("127.0.0.1:%d", base+i)
		a := []string{"--addr", addrs[i], "--data", filepath.Join(dir, fmt.Sprintf("node%d", i+1)), "--nats", urls}
		if config != "" {
			a = append(a, "--config", config)
		}
		go func() { errc <- runServe(ctx, a, io.Discard, stderr) }()
	}
	fmt.Fprintf(stdout, "starting 3 nodes on %s-%d (each replays the stream first)\n", addrs[0], base+2)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var first error
	printed := false
	for running := 3; running > 0; {
		select {
		case err := <-errc:
			running--
			if err != nil && first == nil {
				first = err
				cancel()
			}
		case <-tick.C:
			if !printed && ctx.Err() == nil && allReady(ctx, addrs, head) {
				printed = true
				tick.Stop()
				for i, a := range addrs {
					fmt.Fprintf(stdout, "node %d: http://%s (ready)\n", i+1, a)
				}
				printClusterCurls(stdout, base)
			}
		}
	}
	return first
}

// allReady reports whether every node answers /readyz with 200 and has
// applied stream sequence head (its /metrics say so: asking a read with
// X-Affinity-Min-Seq would log an error for every poll while it replays).
func allReady(ctx context.Context, addrs []string, head uint64) bool {
	c := http.Client{Timeout: time.Second}
	for _, a := range addrs {
		if _, ok := getOK(ctx, c, "http://"+a+"/readyz"); !ok {
			return false
		}
		if metrics, ok := getOK(ctx, c, "http://"+a+"/metrics"); !ok || appliedSeq(metrics) < head {
			return false
		}
	}
	return true
}

// getOK is url's body, and whether it answered 200.
func getOK(ctx context.Context, c http.Client, url string) ([]byte, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, false
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return body, err == nil && resp.StatusCode == http.StatusOK
}

// appliedSeq is affinity_cluster_applied_seq from a /metrics body (0 when
// absent).
func appliedSeq(metrics []byte) uint64 {
	for _, l := range strings.Split(string(metrics), "\n") {
		if v, ok := strings.CutPrefix(l, "affinity_cluster_applied_seq "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return uint64(f)
			}
		}
	}
	return 0
}

// loadThroughStream imports the demo file into node 1's store in cluster
// mode, so the events are published to the stream (and applied by every
// node), once: a stream that already has messages is left as it is. It
// returns the stream's last sequence.
func loadThroughStream(ctx context.Context, dir, urls, demo string, stdout io.Writer) (uint64, error) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	o := features.DefaultOptions(dir)
	o.Logger = log
	store, err := features.Open(o)
	if err != nil {
		return 0, err
	}
	defer store.Close()
	n, err := node.Start(ctx, store, node.Config{URLs: urls, Name: "affinity-demo-loader", Log: log})
	if err != nil {
		return 0, err
	}
	defer n.Close()
	head, _, err := n.Stream().LastSeq(ctx)
	if err != nil {
		return 0, err
	}
	if head > 0 || store.Stats().Events > 0 {
		fmt.Fprintln(stdout, "the stream already has data: not loading the demo again")
		return head, nil
	}
	if _, err := os.Stat(demo); err != nil {
		return 0, err
	}
	sum, err := importFiles(ctx, store, "online-retail", []string{demo}, io.Discard)
	if err != nil {
		return 0, fmt.Errorf("cannot load demo data: %w", err)
	}
	fmt.Fprintf(stdout, "published %d demo events to the stream (every node applies them)\n", sum.Accepted)
	head, _, err = n.Stream().LastSeq(ctx)
	return head, err
}

func printClusterCurls(w io.Writer, base int) {
	fmt.Fprintln(w, "try (the same answers from every node once each has applied the same sequence):")
	for i := range 3 {
		u := fmt.Sprintf("http://127.0.0.1:%d", base+i)
		fmt.Fprintf(w, "  curl -s '%s/readyz'; curl -s '%s/v1/popular?limit=5'\n", u, u)
	}
	u0, u1 := fmt.Sprintf("http://127.0.0.1:%d", base), fmt.Sprintf("http://127.0.0.1:%d", base+1)
	fmt.Fprintln(w, "  # write through node 1, read your write on node 2 (X-Affinity-Seq -> X-Affinity-Min-Seq):")
	fmt.Fprintf(w, "  seq=$(curl -s -X POST %s/v1/events -H 'Content-Type: application/json' -d '%s' | sed 's/.*\"seq\":\\([0-9]*\\).*/\\1/')\n", u0,
		strings.ReplaceAll(`{"event_id":"demo-1","customer_id":"12347","product_id":"85123A","type":"purchase"}`, "'", ""))
	fmt.Fprintf(w, "  curl -s -H \"X-Affinity-Min-Seq: $seq\" '%s/v1/customers/12347/recommendations?limit=5'\n", u1)
	fmt.Fprintf(w, "  curl -s %s/metrics | grep affinity_cluster_\n", u1)
}
