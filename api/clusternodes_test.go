package api

import "testing"

// In single-node mode GET /v1/cluster/nodes answers this node alone, at
// sequence 0, with no stream; it needs the read scope.
func TestClusterNodesSingle(t *testing.T) {
	ao := DefaultOptions()
	ao.Keys = []Key{{Scope: ScopeRead, Key: "reader-key-1"}}
	ts := newTestServer(t, "", ao)
	send(t, ts.srv, "GET", "/v1/cluster/nodes", "").want(t, 401)
	var r struct {
		Mode   string
		Stream *struct{}
		Nodes  []struct {
			Name       string
			AppliedSeq uint64 `json:"applied_seq"`
			Ready      bool
			UpdatedAt  string `json:"updated_at"`
		}
	}
	send(t, ts.srv, "GET", "/v1/cluster/nodes", "", "X-API-Key", "reader-key-1").want(t, 200).decode(t, &r)
	if r.Mode != "single" || r.Stream != nil || len(r.Nodes) != 1 || r.Nodes[0].AppliedSeq != 0 || !r.Nodes[0].Ready || r.Nodes[0].UpdatedAt == "" {
		t.Fatalf("%+v", r)
	}
}
