//go:build browser

package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/cluster/natstest"
	"github.com/affinity-rec/affinity/cluster/node"
	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend"
)

// In cluster mode (a real NATS JetStream server in-process, a real
// cluster node over Badger) the overview shows this node's place in the
// stream: the applied sequence and the lag, as /metrics gives them. The
// single-node overview in TestConsoleInBrowser shows none of it.
func TestConsoleClusterInBrowser(t *testing.T) {
	base := startConsoleClusterServer(t)

	seq := postConsoleClusterEvents(t, base)
	metric := func(name string) float64 { return consoleClusterMetric(t, base, name) }
	for deadline := time.Now().Add(30 * time.Second); metric("affinity_cluster_head_seq") < float64(seq); {
		if time.Now().After(deadline) {
			t.Fatalf("the node's stream head never reached %d", seq)
		}
		time.Sleep(100 * time.Millisecond) // the head is polled every 100 ms
	}
	b := newBrowser(t, base)
	nodes := b.clusterNodesPresent(base)
	b.open("/", "#cluster")
	vals := b.texts("#cluster .card .value")
	if got, want := number(t, vals[0]), metric("affinity_cluster_applied_seq"); got != want || got < float64(seq) {
		t.Fatalf("applied sequence shown %v, /metrics %v (the write reached %d)", got, want, seq)
	}
	if got, want := number(t, vals[1]), metric("affinity_cluster_head_seq"); got != want {
		t.Fatalf("stream head shown %v, /metrics %v", got, want)
	}
	if got, want := number(t, vals[2]), metric("affinity_cluster_lag_messages"); got != want {
		t.Fatalf("lag shown %v messages, /metrics %v", got, want)
	}
	b.noJunk("overview (cluster)")
	b.checkNodes(base, nodes)
}

// startConsoleClusterServer starts a NATS server, a cluster node over a
// fresh store and the server over them, listening on loopback; it
// returns the server's base URL.
func startConsoleClusterServer(t *testing.T) string {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	nats, err := natstest.Start(1, natstest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nats.Shutdown)
	o := features.DefaultOptions(t.TempDir())
	o.SyncWrites = false
	o.Logger = quiet
	st, err := features.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	nd, err := node.Start(context.Background(), st, node.Config{URLs: nats.URLs(), Name: "console-test", Poll: 100 * time.Millisecond, Log: quiet})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	// Cleanups run last first: the store closes after the crm service
	// (registered by crmOf) and the node (below).
	t.Cleanup(func() { st.Close() })
	cs := crmOf(t, st)
	eng, err := recommend.New(recommend.StoreDeps(st, cs), recommend.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	ao := DefaultOptions()
	ao.Logger = quiet
	ao.Cluster = nd
	srv, err := New(Deps{Store: st, Engine: eng, CRM: cs}, ao)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.App().Listener(ln)
	t.Cleanup(func() {
		srv.App().Shutdown()
		nd.Close()
	})
	return "http://" + ln.Addr().String()
}

// postConsoleClusterEvents posts some purchases and waits until the node
// has applied them; it returns the write's stream sequence.
func postConsoleClusterEvents(t *testing.T, base string) uint64 {
	t.Helper()
	body, _ := json.Marshal(purchases(10, 4, 5, func(c, p int) bool { return (c+p)%2 == 0 }))
	res, err := http.Post(base+"/v1/events", "application/json", bytes.NewReader(body))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("post events: %v %v", err, res)
	}
	seq, _ := strconv.ParseUint(res.Header.Get(HeaderSeq), 10, 64)
	res.Body.Close()
	if seq == 0 {
		t.Fatal("no stream sequence on the write's reply")
	}
	// The node applies its own write through the stream; wait for it (a
	// read with X-Affinity-Min-Seq returns once it has) so the figures
	// the page and the test read are settled.
	req, _ := http.NewRequest("GET", base+"/v1/whoami", nil)
	req.Header.Set(HeaderMinSeq, strconv.FormatUint(seq, 10))
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("wait for seq %d: %v %v", seq, err, res)
	}
	return seq
}

// consoleClusterMetric is the value /metrics gives for name.
func consoleClusterMetric(t *testing.T, base, name string) float64 {
	t.Helper()
	for _, line := range strings.Split(metricsText(t, base), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == name {
			v, _ := strconv.ParseFloat(f[1], 64)
			return v
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}
