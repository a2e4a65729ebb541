package node_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/affinity-rec/affinity/features/crm"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/api"
	"github.com/affinity-rec/affinity/cluster/node"
	"github.com/affinity-rec/affinity/features"
)

// testNow pins every node's clock: a default timestamp is filled in by the
// receiving node, and recency is computed from it, so equal answers across
// nodes need the same "now" (issue 16 point 4; see docs/cluster.md).
var testNow = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// member is one Affinity node: a real Badger store, the cluster node
// following real NATS servers, and the HTTP API on a loopback port.
type member struct {
	t     testing.TB
	dir   string
	urls  string
	store *features.Store
	crm   *crm.Service
	node  *node.Node
	srv   *api.Server
	base  string
}

func startMember(t testing.TB, dir, urls string) *member {
	t.Helper()
	return startMemberWait(t, dir, urls, 20*time.Second)
}

// startMemberWait starts a member whose X-Affinity-Min-Seq wait is bounded
// by wait, with the node's registry and snapshot settings at their
// defaults. Rebuilds are triggered by the test (Refresh at a known
// sequence), not by each node's timer; the tuner is off for the same
// reason (startMemberCfg).
func startMemberWait(t testing.TB, dir, urls string, wait time.Duration) *member {
	t.Helper()
	return startMemberCfg(t, dir, urls, func(c *node.Config) {
		c.MinSeq = wait
		c.Ops = node.OpsConfig{}
	})
}

// stop shuts the node down the way serve does: HTTP, then the cluster
// membership, then the store.
func (m *member) stop() {
	if m.store == nil {
		return
	}
	m.srv.App().ShutdownWithTimeout(5 * time.Second)
	m.node.Close()
	m.crm.Close()
	if err := m.store.Close(); err != nil {
		m.t.Error(err)
	}
	m.store = nil
}

type postReply struct {
	Accepted, Rejected, Duplicates int
	Seq                            uint64
}

func (m *member) post(events []features.Event) postReply {
	m.t.Helper()
	code, raw := m.postRaw(events)
	if code != 200 {
		m.t.Fatalf("POST /v1/events: %d %s", code, raw)
	}
	return decodePost(m.t, raw)
}

// postRaw posts events and returns the status and the body; a 200's
// X-Affinity-Seq header is checked against its JSON seq.
func (m *member) postRaw(events []features.Event) (int, []byte) {
	m.t.Helper()
	body, _ := json.Marshal(events)
	resp, err := http.Post(m.base+"/v1/events", "application/json", bytes.NewReader(body))
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 {
		r := decodePost(m.t, raw)
		if h := resp.Header.Get(api.HeaderSeq); h != strconv.FormatUint(r.Seq, 10) {
			m.t.Fatalf("%s header %q, JSON seq %d", api.HeaderSeq, h, r.Seq)
		}
	}
	return resp.StatusCode, raw
}

func decodePost(t testing.TB, raw []byte) postReply {
	t.Helper()
	var r postReply
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// get reads path, waiting (bounded, on the server) for minSeq when > 0,
// and returns the status and the body.
func (m *member) get(path string, minSeq uint64) (int, []byte) {
	m.t.Helper()
	req, _ := http.NewRequest("GET", m.base+path, nil)
	if minSeq > 0 {
		req.Header.Set(api.HeaderMinSeq, strconv.FormatUint(minSeq, 10))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// list reads a list and drops what differs by request by design (the
// recommendation id that attributes clicks to this one reply).
func (m *member) list(path string) string {
	m.t.Helper()
	code, raw := m.get(path, 0)
	if code != 200 {
		m.t.Fatalf("GET %s: %d %s", path, code, raw)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		m.t.Fatal(err)
	}
	scrub(v)
	out, _ := json.Marshal(v)
	return string(out)
}

func scrub(v any) {
	switch x := v.(type) {
	case map[string]any:
		delete(x, "recommendation_id")
		for _, e := range x {
			scrub(e)
		}
	case []any:
		for _, e := range x {
			scrub(e)
		}
	}
}

// events makes n deterministic events from index from on: customers and
// products drawn from small sets so that lists have substance; every
// third has no event id and every fifth no timestamp (the receiving node
// fills in its clock).
func events(from, n int) []features.Event {
	evs := make([]features.Event, n)
	types := []string{"view", "view", "cart", "purchase"}
	for i := range evs {
		k := from + i
		e := features.Event{
			CustomerID: fmt.Sprintf("c%d", k*7%40),
			ProductID:  fmt.Sprintf("p%d", (k*13+k/40)%25),
			Type:       types[k%len(types)],
		}
		if k%3 != 0 {
			e.EventID = fmt.Sprintf("ev-%d", k)
		}
		if k%5 != 0 {
			e.Timestamp = testNow.Add(-time.Duration(k) * time.Minute)
		}
		evs[i] = e
	}
	return evs
}

// serveAPI serves deps over HTTP as m's API with m's node as its cluster
// member (mods adjust the options): on ln, or on a new loopback listener
// when ln is nil.
func (m *member) serveAPI(ln net.Listener, deps api.Deps, mods ...func(*api.Options)) {
	m.t.Helper()
	ao := api.DefaultOptions()
	ao.Cluster = m.node
	for _, f := range mods {
		f(&ao)
	}
	srv, err := api.New(deps, ao)
	if err != nil {
		m.t.Fatal(err)
	}
	if ln == nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			m.t.Fatal(err)
		}
		m.base = "http://" + ln.Addr().String()
	}
	m.srv = srv
	go srv.App().Listener(ln)
}

// openStore opens a store in dir with serve's settings, no fsync per write
// (the stream holds what is acknowledged), changed by mod.
func openStore(t testing.TB, dir string, mod func(*features.Options)) *features.Store {
	t.Helper()
	o := features.DefaultOptions(dir)
	o.SyncWrites = false
	mod(&o)
	st, err := features.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// fixedClock is the test members' store setting: every node at testNow,
// rebuilds only when the test asks (Refresh at a known sequence), no tuner.
func fixedClock(o *features.Options) {
	o.Clock = func() time.Time { return testNow }
	o.RefreshInterval = time.Hour
	o.Neighbours.Tune = false
}
