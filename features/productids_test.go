package features

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
)

// TestProductsPutSameIDsEverywhere: one products-put op (an import's
// batch, up to maxOpProducts new products) applied by two nodes gives
// every product the same internal id on both. Internal ids travel between
// nodes (experiment exposure entries name the served products by them, and
// ties in lists are broken by them), so they must follow the op, not the
// order a map happens to be walked in on each node.
func TestProductsPutSameIDsEverywhere(t *testing.T) {
	ps := map[string]Product{}
	for i := range 60 {
		ps[fmt.Sprintf("p%02d", i)] = Product{Category: "c", Price: float64(i + 1), Available: true}
	}
	body, err := json.Marshal(ps)
	if err != nil {
		t.Fatal(err)
	}
	op := EncodeOp(Op{Kind: OpProductsPut, Fields: [][]byte{body}})
	nodes := make([]*Store, 2)
	for i := range nodes {
		s := openTestStore(t, "", nil)
		defer s.Close()
		s.SetOpLog(nil) // applies only
		if err := s.ApplyOp(context.Background(), 1, op); err != nil {
			t.Fatal(err)
		}
		nodes[i] = s
	}
	// The rule every node follows: new ids in the order of the external
	// ids (checked as such, so that two walks of a map that happen to
	// agree cannot pass it).
	prev := -1
	for i := range len(ps) {
		id, _ := nodes[0].ProductID(fmt.Sprintf("p%02d", i))
		if int(id) <= prev {
			t.Fatalf("p%02d got id %d after id %d", i, id, prev)
		}
		prev = int(id)
	}
	for ext := range ps {
		a, okA := nodes[0].ProductID(ext)
		b, okB := nodes[1].ProductID(ext)
		if !okA || !okB || a != b {
			t.Fatalf("product %s: id %d (%v) on one node, %d (%v) on the other", ext, a, okA, b, okB)
		}
	}
}
