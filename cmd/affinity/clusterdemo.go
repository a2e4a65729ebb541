package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

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
	nc, err := natstest.Start(3, natstest.Options{Dir: filepath.Join(*dir, "nats")})
	if err != nil {
		return err
	}
	defer nc.Shutdown()
	fmt.Fprintf(stdout, "NATS JetStream cluster (3 servers): %s\n", nc.URLs())
	if *demo != "" {
		if err := loadThroughStream(ctx, filepath.Join(*dir, "node1"), nc.URLs(), *demo, stdout); err != nil {
			return err
		}
	}
	errc := make(chan error, 3)
	for i := range 3 {
		addr := fmt.Sprintf("127.0.0.1:%d", *base+i)
		a := []string{"--addr", addr, "--data", filepath.Join(*dir, fmt.Sprintf("node%d", i+1)), "--nats", nc.URLs()}
		if *config != "" {
			a = append(a, "--config", *config)
		}
		go func() { errc <- runServe(ctx, a, io.Discard, stderr) }()
		fmt.Fprintf(stdout, "node %d: http://%s\n", i+1, addr)
	}
	printClusterCurls(stdout, *base)
	for range 3 {
		if err := <-errc; err != nil {
			return err
		}
	}
	return nil
}

// loadThroughStream imports the demo file into node 1's store in cluster
// mode, so the events are published to the stream (and applied by every
// node), once: a stream that already has messages is left as it is.
func loadThroughStream(ctx context.Context, dir, urls, demo string, stdout io.Writer) error {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	o := features.DefaultOptions(dir)
	o.Logger = log
	store, err := features.Open(o)
	if err != nil {
		return err
	}
	defer store.Close()
	n, err := node.Start(ctx, store, node.Config{URLs: urls, Name: "affinity-demo-loader", Log: log})
	if err != nil {
		return err
	}
	defer n.Close()
	head, _, err := n.Stream().LastSeq(ctx)
	if err != nil {
		return err
	}
	if head > 0 || store.Stats().Events > 0 {
		fmt.Fprintln(stdout, "the stream already has data: not loading the demo again")
		return nil
	}
	if _, err := os.Stat(demo); err != nil {
		return err
	}
	sum, err := importFiles(ctx, store, "online-retail", []string{demo}, io.Discard)
	if err != nil {
		return fmt.Errorf("cannot load demo data: %w", err)
	}
	fmt.Fprintf(stdout, "published %d demo events to the stream (every node applies them)\n", sum.Accepted)
	return nil
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
