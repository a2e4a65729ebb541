package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features/eventio"
)

var demoArgs = []string{"--demo", "../../testdata/demo/online_retail_sample.csv.gz", "--config", "../../testdata/demo/config.json"}

// TestSIGTERMRestartServesTheSameLists serves the demo, posts events that
// leave the dense (EASE) lists waiting for their next solve, records many
// lists, stops the server with SIGTERM and starts it again: every list
// comes back byte for byte, scores included. Shutdown used to solve before
// its snapshot, so every list changed across the restart.
func TestSIGTERMRestartServesTheSameLists(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	dir := t.TempDir()
	c := startChild(t, dir, demoArgs...)
	defer c.kill()
	custs := demoCustomers(t, 40)
	var pop struct {
		Items []struct {
			ProductID string `json:"product_id"`
		}
	}
	getJSON(t, c.addr, "/v1/popular?limit=60", &pop)
	if len(pop.Items) < 60 {
		t.Fatalf("popular: %d items", len(pop.Items))
	}
	// New (customer, product) pairs: the counted parts follow within a
	// refresh, the dense lists wait for their paced solve.
	var b strings.Builder
	for i, cu := range custs[:10] {
		for j := range 5 {
			fmt.Fprintf(&b, `{"customer_id":%q,"product_id":%q,"type":"purchase","value":3}`+"\n", cu, pop.Items[40+(i*7+j)%20].ProductID)
		}
	}
	fmt.Fprintf(&b, `{"customer_id":"restart-new","product_id":%q,"type":"purchase","value":3}`+"\n", pop.Items[0].ProductID)
	resp, err := http.Post("http://"+c.addr+"/v1/events", "application/x-ndjson", strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("posting events: %d", resp.StatusCode)
	}
	waitModelCurrent(t, c.addr)
	var paths []string
	for _, cu := range append(custs, "restart-new") {
		paths = append(paths, "/v1/customers/"+cu+"/recommendations?limit=20")
	}
	for _, p := range pop.Items[:30] {
		paths = append(paths, "/v1/products/"+p.ProductID+"/related?limit=20")
	}
	paths = append(paths, "/v1/popular?limit=50")
	before := recordLists(t, c.addr, paths)
	stopChild(t, c)
	c2 := startChild(t, dir, demoArgs...)
	defer c2.kill()
	after := recordLists(t, c2.addr, paths)
	diff := 0
	for i := range paths {
		if before[i] != after[i] {
			diff++
			if diff <= 3 {
				t.Errorf("%s changed across the restart:\n before %s\n after  %s", paths[i], before[i], after[i])
			}
		}
	}
	if diff > 0 {
		t.Fatalf("%d of %d lists changed across a SIGTERM restart", diff, len(paths))
	}
}

// demoCustomers returns the first n distinct customer ids of the demo.
func demoCustomers(t *testing.T, n int) []string {
	t.Helper()
	r, err := eventio.Open(demoArgs[1], "online-retail")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil || seen[e.CustomerID] {
			continue
		}
		seen[e.CustomerID] = true
		out = append(out, e.CustomerID)
	}
	return out
}

func getJSON(t *testing.T, addr, path string, v any) {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// recordLists returns each path's algorithm and items as served (the
// recommendation_id differs on every request).
func recordLists(t *testing.T, addr string, paths []string) []string {
	t.Helper()
	out := make([]string, len(paths))
	for i, p := range paths {
		var l struct {
			Items     json.RawMessage `json:"items"`
			Algorithm string          `json:"algorithm"`
		}
		getJSON(t, addr, p, &l)
		if len(l.Items) <= 2 {
			t.Fatalf("GET %s: no items", p)
		}
		out[i] = l.Algorithm + " " + string(l.Items)
	}
	return out
}

// waitModelCurrent waits until the served lists include every event
// (/metrics: affinity_model_sequence reaches affinity_log_sequence).
func waitModelCurrent(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		m := scrapeMetrics(t, addr)
		if m["affinity_model_sequence"] > 0 && m["affinity_model_sequence"] == m["affinity_log_sequence"] {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the model did not catch up with the log")
}

func scrapeMetrics(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && !strings.HasPrefix(line, "#") {
			if v, err := strconv.ParseFloat(f[1], 64); err == nil {
				out[f[0]] = v
			}
		}
	}
	return out
}

// stopChild sends SIGTERM and waits for a clean exit.
func stopChild(t *testing.T, c *child) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, c.out)
		}
	case <-time.After(60 * time.Second):
		c.cmd.Process.Kill()
		t.Fatalf("no exit within a minute of SIGTERM\n%s", c.out)
	}
	if !strings.Contains(c.out.String(), "stopped") {
		fmt.Fprintln(os.Stderr, c.out.String())
		t.Fatal("no clean stop")
	}
}
