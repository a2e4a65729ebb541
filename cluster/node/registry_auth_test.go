package node_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/api"
	"github.com/affinity-rec/affinity/cluster/natstest"
	"github.com/affinity-rec/affinity/cluster/node"
)

// X-Affinity-Min-Seq is handled after the key check: a request without a
// valid key for a sequence this node will not reach gets its 401 (never a
// wait and a 503), one with a key too weak gets 403, and with a good key
// the wait and its 503 happen as before.
func TestMinSeqAfterAuth(t *testing.T) {
	nc := natstest.StartT(t, 1)
	keys := func(o *api.Options) {
		o.Keys = []api.Key{{Scope: api.ScopeRead, Key: "reader-key-1"}, {Scope: api.ScopeWrite, Key: "writer-key-1"}}
	}
	short := func(c *node.Config) { c.MinSeq = 300 * time.Millisecond }
	m := startMemberCfg(t, t.TempDir(), nc.URLs(), short, keys)
	defer m.stop()
	ahead := strconv.Itoa(1 << 40)
	do := func(method, path, key string) int {
		req, _ := http.NewRequest(method, m.base+path, nil)
		req.Header.Set(api.HeaderMinSeq, ahead)
		if key != "" {
			req.Header.Set("X-API-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := do("GET", "/v1/popular", ""); code != 401 {
		t.Fatalf("no key: %d, want 401", code)
	}
	if code := do("GET", "/v1/popular", "wrong-key-12345"); code != 401 {
		t.Fatalf("a wrong key: %d, want 401", code)
	}
	if code := do("GET", "/v1/customers", "reader-key-1"); code != 403 {
		t.Fatalf("read key on an admin route: %d, want 403", code)
	}
	if code := do("GET", "/readyz", ""); code != 200 {
		t.Fatalf("/readyz with a min seq: %d, want 200 (probes never wait)", code)
	}
	// With a good key the wait happens, bounded by min_seq_wait, and ends
	// in 503.
	if code := do("GET", "/v1/popular", "reader-key-1"); code != 503 {
		t.Fatalf("a good key, a sequence never reached: %d, want 503", code)
	}
}
