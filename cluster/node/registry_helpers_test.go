package node_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/api"
	"github.com/affinity-rec/affinity/cluster/node"
	"github.com/affinity-rec/affinity/features/crm"
	"github.com/affinity-rec/affinity/recommend"
)

// startMemberCfg is startMember with the node's config adjusted by mod
// (registry and snapshot settings, which the shared helper leaves at their
// defaults), and the API's options by apiMods. The HTTP listener is opened first so that the node can
// register its real address.
func startMemberCfg(t testing.TB, dir, urls string, mod func(*node.Config), apiMods ...func(*api.Options)) *member {
	t.Helper()
	m := &member{t: t, dir: dir, urls: urls}
	st := openStore(t, dir, fixedClock)
	var err error
	m.store = st
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.base = "http://" + ln.Addr().String()
	cfg := node.Config{URLs: urls, Name: "test-" + dir, Poll: 100 * time.Millisecond, MinSeq: 20 * time.Second, MaxSilence: time.Second,
		Ops: node.OpsConfig{Addr: ln.Addr().String(), NoSnapshots: true}}
	if mod != nil {
		mod(&cfg)
	}
	if m.node, err = node.Start(context.Background(), st, cfg); err != nil {
		st.Close()
		t.Fatal(err)
	}
	if m.crm, err = crm.New(st, st.Records(), nil); err != nil {
		t.Fatal(err)
	}
	ro := recommend.DefaultOptions()
	ro.UseTuning = false
	eng, err := recommend.New(recommend.StoreDeps(st, m.crm), ro)
	if err != nil {
		t.Fatal(err)
	}
	m.serveAPI(ln, api.Deps{Store: st, Engine: eng, CRM: m.crm}, apiMods...)
	// Stopped at the test's end too (stop is idempotent): a test that fails
	// before its own defer, or that replaces a member it restarted, leaves
	// no node running.
	t.Cleanup(m.stop)
	return m
}

// waitApplied waits (at most a minute) until m has applied seq.
