package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestEvalAudience: in evalShop the hidden next purchases are u1 -> b,
// u2 -> d and u3 -> b (their a is a rebuy); each is at the top of its
// product's audience, the customers of its partner product.
func TestEvalAudience(t *testing.T) {
	file := evalShop(t)
	args := []string{"--format", "csv", "--split", "temporal", "--test-ratio", "0.07", "--audience"}
	var out, errOut bytes.Buffer
	if err := runEval(context.Background(), append(args, "--json", file), &out, &errOut); err != nil {
		t.Fatalf("eval: %v (stderr %s)", err, errOut.String())
	}
	var rep struct {
		K       []int `json:"k"`
		Queries int   `json:"queries"`
		Rows    []struct {
			Algo   string    `json:"algo"`
			Recall []float64 `json:"recall"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out.String())
	}
	if rep.Queries != 3 || len(rep.Rows) != 2 || rep.Rows[0].Algo != "affinity" || rep.Rows[1].Algo != "activity" || rep.Rows[0].Recall[0] != 1 {
		t.Fatalf("report %s", out.String())
	}
	out.Reset()
	if err := runEval(context.Background(), append(args, file), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"R@10", "R@100", "affinity", "activity", "chance", "3 hidden next purchases"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}
