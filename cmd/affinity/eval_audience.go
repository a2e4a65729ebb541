package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/affinity-rec/affinity/bench/eval"
	"github.com/affinity-rec/affinity/features"
)

// runAudienceEval is `affinity eval --audience`: recall@k of the product
// audiences against the most-active-customers baseline
// (eval.EvaluateAudience; docs/evaluation.md).
func runAudienceEval(ctx context.Context, w io.Writer, train, test []features.Event, algo eval.Algorithm, relevant []string, jsonOut bool, source string) error {
	res, err := eval.EvaluateAudience(ctx, train, test, algo, relevant, 0)
	if err != nil {
		return err
	}
	if jsonOut {
		return json.NewEncoder(w).Encode(res)
	}
	fmt.Fprintf(w, "data      %s; train %d events, test %d events\n", source, len(train), len(test))
	fmt.Fprintf(w, "queries   %d hidden next purchases (products new to the customer) of %d customers over %d products; %d of products nobody had in train\n\n",
		res.Queries, res.Customers, res.Products, res.ColdQueries)
	fmt.Fprintf(w, "%12s", "ranking")
	for _, k := range res.Ks {
		fmt.Fprintf(w, "  %8s", fmt.Sprintf("R@%d", k))
	}
	fmt.Fprintf(w, "  %11s\n", "audience µs")
	for _, r := range res.Rows {
		fmt.Fprintf(w, "%12s", r.Algo)
		for _, v := range r.Recall {
			fmt.Fprintf(w, "  %8.4f", v)
		}
		fmt.Fprintf(w, "  %11.0f\n", r.Micros)
	}
	fmt.Fprintf(w, "%12s", "chance")
	for _, v := range res.Chance {
		fmt.Fprintf(w, "  %8.4f", v)
	}
	fmt.Fprintln(w)
	return nil
}
