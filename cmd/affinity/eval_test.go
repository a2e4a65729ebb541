package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// evalShop writes a small purchase log as CSV: whoever buys a buys b,
// whoever buys c buys d, and x sells to everyone; the last day's purchases
// are the test period of a temporal split.
func evalShop(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("customer_id,product_id,event_type,timestamp\n")
	line := func(c, p string, day int) {
		fmt.Fprintf(&b, "%s,%s,purchase,2024-01-%02dT10:00:00Z\n", c, p, day)
	}
	for i := range 8 {
		line(fmt.Sprintf("ab%d", i), "a", 1)
		line(fmt.Sprintf("ab%d", i), "b", 2)
		line(fmt.Sprintf("ab%d", i), "x", 3)
		line(fmt.Sprintf("cd%d", i), "c", 1)
		line(fmt.Sprintf("cd%d", i), "d", 2)
		line(fmt.Sprintf("cd%d", i), "x", 3)
	}
	for _, u := range []string{"u1", "u2", "u3"} {
		line(u, "x", 4) // so that x, which goes with everything, is theirs
	}
	line("u1", "a", 4)
	line("u2", "c", 4)
	line("u3", "a", 4)
	line("u1", "b", 9)
	line("u2", "d", 9)
	line("u3", "a", 9) // a repeat purchase
	line("u3", "b", 9)
	path := filepath.Join(t.TempDir(), "shop.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestEvalJSON(t *testing.T) {
	file := evalShop(t)
	var out, errOut bytes.Buffer
	err := runEval(context.Background(), []string{"--format", "csv", "--split", "temporal", "--test-ratio", "0.07",
		"--k", "1", "--json", file}, &out, &errOut)
	if err != nil {
		t.Fatalf("eval: %v (stderr %s)", err, errOut.String())
	}
	var rep map[string]any
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out.String())
	}
	for _, f := range []string{"algo", "users", "k", "map", "ndcg", "precision", "recall", "coverage", "train_seconds"} {
		if _, ok := rep[f]; !ok {
			t.Errorf("JSON lacks %q: %s", f, out.String())
		}
	}
	// u1 -> b, u2 -> d, u3 -> b (a is theirs already): three hits of four
	// relevant pairs; the repeat (u3, a) cannot be hit.
	if rep["algo"] != "affinity" || rep["users"] != 3.0 || rep["k"] != 1.0 || rep["precision"] != 1.0 {
		t.Errorf("report %s", out.String())
	}
	if r := rep["recall"].(float64); r < 0.83 || r > 0.84 {
		t.Errorf("recall %v, want (1 + 1 + 1/2)/3", r)
	}
	newOnly, _ := rep["new_only"].(map[string]any)
	if newOnly == nil || newOnly["recall"] != 1.0 {
		t.Errorf("new-only figures %v, want recall 1 (every new product hit)", rep["new_only"])
	}
	bl, _ := rep["baselines"].([]any)
	if len(bl) != 2 {
		t.Fatalf("want the sar and popularity baselines, got %v", rep["baselines"])
	}
	if b := bl[0].(map[string]any); b["algo"] != "sar" || b["precision"] != 1.0 {
		t.Errorf("sar baseline %v", b)
	}
}

func TestEvalTableAndGivenSplit(t *testing.T) {
	dir := t.TempDir()
	train := filepath.Join(dir, "train.tsv")
	test := filepath.Join(dir, "test.tsv")
	// MovieLens format: user item rating timestamp (1997, like MovieLens;
	// times before 1990 are refused).
	os.WriteFile(train, []byte("1\t10\t5\t881250100\n1\t11\t4\t881250101\n2\t10\t5\t881250100\n2\t11\t3\t881250102\n2\t12\t4\t881250103\n3\t12\t5\t881250100\n"), 0o644)
	os.WriteFile(test, []byte("1\t12\t5\t881250200\n3\t10\t2\t881250200\n"), 0o644)
	var out, errOut bytes.Buffer
	err := runEval(context.Background(), []string{"--format", "movielens", "--train", train, "--test", test, "--k", "2"}, &out, &errOut)
	if err != nil {
		t.Fatalf("eval: %v (stderr %s)", err, errOut.String())
	}
	s := out.String()
	for _, want := range []string{"train.tsv / test.tsv", "given", "affinity", "sar", "popularity", "nDCG@2", "affinity vs sar"} {
		if !strings.Contains(s, want) {
			t.Errorf("table lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "new only") {
		t.Errorf("new-only rows without any repeat:\n%s", s)
	}
}

// TestEvalSkipsOutOfRangeLines: lines dated before 1990 or past the
// wall clock's default skew are counted as skipped, like any bad line,
// rather than stopping the train load now that the store refuses them.
func TestEvalSkipsOutOfRangeLines(t *testing.T) {
	dir := t.TempDir()
	train := filepath.Join(dir, "train.tsv")
	test := filepath.Join(dir, "test.tsv")
	os.WriteFile(train, []byte("1\t10\t5\t881250100\n2\t10\t5\t881250100\n2\t11\t3\t881250102\n"+
		"3\t11\t5\t4102444800\n3\t12\t5\t0\n"), 0o644)
	os.WriteFile(test, []byte("1\t11\t5\t881250200\n"), 0o644)
	var out, errOut bytes.Buffer
	err := runEval(context.Background(), []string{"--format", "movielens", "--train", train, "--test", test, "--k", "1", "--json"}, &out, &errOut)
	if err != nil {
		t.Fatalf("eval: %v (stderr %s)", err, errOut.String())
	}
	var rep map[string]any
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep["users"] != 1.0 || rep["precision"] != 1.0 {
		t.Fatalf("report %s", out.String())
	}
}

func TestEvalBadFlags(t *testing.T) {
	file := evalShop(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{file}, "--format"},
		{[]string{"--format", "csv"}, "FILE"},
		{[]string{"--format", "csv", file, file}, "FILE"},
		{[]string{"--format", "csv", "--train", file}, "--test"},
		{[]string{"--format", "csv", "--train", file, "--test", file, file}, "not both"},
		{[]string{"--format", "csv", "--algo", "bpr", file}, "unknown algorithm"},
		{[]string{"--format", "csv", "--k", "0", file}, "k 0"},
		{[]string{"--format", "csv", "--test-ratio", "1", file}, "test ratio"},
		{[]string{"--format", "csv", "--split", "random", file}, "unknown method"},
		{[]string{"--format", "parquet", file}, "format"},
		{[]string{"--format", "csv", filepath.Join(t.TempDir(), "missing.csv")}, "cannot open"},
	} {
		var out, errOut bytes.Buffer
		err := runEval(context.Background(), tc.args, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want one mentioning %q", tc.args, err, tc.want)
		}
	}
}
