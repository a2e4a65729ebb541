package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/affinity-rec/affinity/api"
	"github.com/affinity-rec/affinity/api/contract"
)

// TestGenerateImportAndBaseline goes through the commands as an operator
// would: generate two small synthetic files, import both (the reading
// goroutine must count the lines of each), serve them, and load the server
// with the trivial-handler baseline.
func TestGenerateImportAndBaseline(t *testing.T) {
	tmp := t.TempDir()
	ctx := context.Background()
	var out bytes.Buffer
	files := []string{filepath.Join(tmp, "a.csv.gz"), filepath.Join(tmp, "b.ndjson")}
	for i, f := range files {
		out.Reset()
		args := []string{"bench", "--generate", f, "--size", "small", "--events", "3000", "--seed", string(rune('1' + i))}
		if err := run(ctx, args, &out, &out); err != nil {
			t.Fatalf("generate: %v\n%s", err, out.String())
		}
		if !strings.Contains(out.String(), "3000 events") {
			t.Fatalf("generate said:\n%s", out.String())
		}
	}
	data := filepath.Join(tmp, "data")
	out.Reset()
	if err := run(ctx, []string{"import", "--data", data, "--format", "csv", files[0]}, &out, &out); err != nil {
		t.Fatalf("import csv: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"import", "--data", data, "--format", "ndjson", files[1], files[1]}, &out, &out); err != nil {
		t.Fatalf("import ndjson: %v\n%s", err, out.String())
	}
	// The same file twice: 6000 lines read, the second 3000 already stored.
	for _, want := range []string{"lines read   6000", "accepted     6000 (of which 3000 already stored)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("import summary lacks %q:\n%s", want, out.String())
		}
	}

	srv := startChild(t, data)
	defer srv.kill()
	out.Reset()
	var progress bytes.Buffer
	args := []string{"bench", "--url", "http://" + srv.addr, "--scenario", "related", "--duration", "300ms",
		"--concurrency", "2", "--baseline", "--json"}
	if err := run(ctx, args, &out, &progress); err != nil {
		t.Fatalf("bench --baseline: %v\n%s", err, progress.String())
	}
	checkBaselineResult(t, out.Bytes(), srv.addr)

	benchThroughContract(t, srv.addr)

	for _, bad := range [][]string{
		{"bench", "--generate", filepath.Join(tmp, "x.csv"), "--size", "huge"},
		{"bench", "--generate", filepath.Join(tmp, "x.csv"), "--events", "-5"},
		// 0 meant "the preset's size" and generated a million customers.
		{"bench", "--generate", filepath.Join(tmp, "x.csv"), "--size", "small", "--customers", "0"},
		{"bench", "--generate", filepath.Join(tmp, "x.csv"), "--size", "small", "--products", "ten"},
	} {
		if err := run(ctx, bad, &out, &out); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// checkBaselineResult checks the JSON that `bench --baseline --json` wrote
// for the related scenario against the server at addr: requests and no
// errors on both the target and the trivial-handler baseline, and a ratio.
func checkBaselineResult(t *testing.T, out []byte, addr string) {
	t.Helper()
	var got struct {
		Scenario string  `json:"scenario"`
		URL      string  `json:"url"`
		Requests int64   `json:"requests"`
		Errors   int64   `json:"errors"`
		RPS      float64 `json:"rps"`
		Ratio    float64 `json:"baseline_ratio"`
		Baseline struct {
			URL      string  `json:"url"`
			Requests int64   `json:"requests"`
			Errors   int64   `json:"errors"`
			RPS      float64 `json:"rps"`
		} `json:"baseline"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, string(out))
	}
	if got.Scenario != "related" || got.URL != "http://"+addr || got.Requests == 0 || got.Errors != 0 {
		t.Errorf("target result: %+v", got)
	}
	if !strings.HasPrefix(got.Baseline.URL, "http://127.0.0.1:") || got.Baseline.Requests == 0 || got.Baseline.Errors != 0 {
		t.Errorf("baseline result: %+v", got.Baseline)
	}
	if got.Ratio <= 0 || got.Baseline.RPS <= 0 {
		t.Errorf("ratio %v, baseline rps %v", got.Ratio, got.Baseline.RPS)
	}
}

// benchThroughContract runs a short mixed bench (every scenario's requests,
// event posts included) through a proxy that checks every reply against
// api/openapi.yaml: the load generator's traffic is held to the contract
// too.
func benchThroughContract(t *testing.T, addr string) {
	t.Helper()
	v, err := contract.New(api.OpenAPIYAML())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var violations []string
	var checked int
	target, _ := url.Parse("http://" + addr)
	proxy := httptest.NewServer(v.Proxy(target, func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if len(violations) < 5 {
			violations = append(violations, err.Error())
		}
	}))
	defer proxy.Close()
	counted := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		checked++
		mu.Unlock()
		proxy.Config.Handler.ServeHTTP(w, r)
	}))
	defer counted.Close()
	var out, progress bytes.Buffer
	args := []string{"bench", "--url", counted.URL, "--scenario", "mixed", "--duration", "400ms", "--concurrency", "2", "--json"}
	if err := run(context.Background(), args, &out, &progress); err != nil {
		t.Fatalf("bench through the contract proxy: %v\n%s", err, progress.String())
	}
	var got struct {
		Requests, Errors int64
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, out.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if got.Requests == 0 || got.Errors != 0 || checked < int(got.Requests) {
		t.Errorf("mixed bench through the proxy: %+v, %d replies checked\n%s", got, checked, progress.String())
	}
	for _, v := range violations {
		t.Errorf("contract: %s", v)
	}
}
