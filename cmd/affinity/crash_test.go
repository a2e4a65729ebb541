package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/api"
	"github.com/affinity-rec/affinity/api/contract"
	"github.com/affinity-rec/affinity/client"
)

// buildBinary compiles the command once for the process tests.
var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func affinityBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "affinity-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "affinity")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type child struct {
	cmd  *exec.Cmd
	addr string
	out  *bytes.Buffer
	api  *client.Client // sends once: these tests kill the server mid-request
}

// apiClient is the Go client of the server at base, trying each call at
// most attempts times, every reply checked against api/openapi.yaml.
func apiClient(t *testing.T, base string, attempts int) *client.Client {
	t.Helper()
	v, err := contract.New(api.OpenAPIYAML())
	if err != nil {
		t.Fatal(err)
	}
	check := &contract.CheckingDoer{V: v, Next: &http.Client{Timeout: 5 * time.Second},
		Report: func(err error) { t.Errorf("contract: %v", err) }}
	c, err := client.New(base, client.Options{HTTPClient: check, MaxAttempts: attempts})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// startChild runs `affinity serve` on dir (with extra flags) and waits
// until it is ready.
func startChild(t *testing.T, dir string, extra ...string) *child {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(affinityBinary(t), append([]string{"serve", "--addr", addr, "--data", dir}, extra...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, addr: addr, out: &out, api: apiClient(t, "http://"+addr, 1)}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := c.api.Ready(context.Background()); err == nil {
			return c
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	t.Fatalf("server did not become ready:\n%s", out.String())
	return nil
}

func (c *child) kill() {
	c.cmd.Process.Kill() // SIGKILL on Unix
	c.cmd.Wait()
}

// postBatch posts one NDJSON batch of size events with event ids.
func postBatch(c *client.Client, batch int, size int) (*client.EventsReply, error) {
	var b strings.Builder
	for i := 0; i < size; i++ {
		fmt.Fprintf(&b, `{"event_id":"b%d-%d","customer_id":"c%d","product_id":"p%d","type":"purchase","value":1}`+"\n",
			batch, i, batch%17, (batch*31+i)%50)
	}
	resp, err := c.PostEventsWithBodyWithResponse(context.Background(), "application/x-ndjson", strings.NewReader(b.String()))
	if err != nil {
		return nil, err
	}
	if resp.JSON200 == nil {
		return nil, fmt.Errorf("status %d: %s", resp.StatusCode(), resp.Body)
	}
	return resp.JSON200, nil
}

func storedEvents(t *testing.T, c *client.Client) int {
	t.Helper()
	total := 0
	for i := 0; i < 17; i++ {
		resp, err := c.GetProfileWithResponse(context.Background(), fmt.Sprintf("c%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if resp.JSON200 != nil {
			total += resp.JSON200.Events
		}
	}
	return total
}

// TestKillNineLosesNothingAcknowledged kills a server that is ingesting at
// random moments, restarts it, and checks that every acknowledged event is
// there exactly once (the in-flight batch may or may not have landed), and
// that re-sending acknowledged batches adds nothing.
func TestKillNineLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewSource(1))
	const size = 40
	acked := 0
	var ackedBatches []int
	batch := 0
	for round := 0; round < 4; round++ {
		c := startChild(t, dir)
		if got := storedEvents(t, c.api); got < acked || got > acked+size {
			c.kill()
			t.Fatalf("round %d: %d events stored, %d acknowledged (+%d in flight at most)\n%s", round, got, acked, size, c.out)
		}
		acked = storedEvents(t, c.api) // the in-flight batch, if it landed, is now known
		stop := make(chan struct{})
		done := make(chan struct{})
		var mu sync.Mutex
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				b := batch
				batch++
				mu.Unlock()
				r, err := postBatch(c.api, b, size)
				if err != nil {
					return // the kill landed mid-request
				}
				mu.Lock()
				acked += r.Accepted - r.Duplicates
				ackedBatches = append(ackedBatches, b)
				mu.Unlock()
			}
		}()
		time.Sleep(time.Duration(50+rng.Intn(250)) * time.Millisecond)
		if round == 3 {
			// Kill during a snapshot.
			go c.api.PostSnapshot(context.Background())
			time.Sleep(time.Duration(rng.Intn(5)) * time.Millisecond)
		}
		c.kill()
		close(stop)
		<-done
	}
	c := startChild(t, dir)
	defer c.kill()
	got := storedEvents(t, c.api)
	if got < acked || got > acked+size {
		t.Fatalf("after the last restart: %d stored, %d acknowledged", got, acked)
	}
	for _, b := range ackedBatches[:min(len(ackedBatches), 20)] {
		r, err := postBatch(c.api, b, size)
		if err != nil {
			t.Fatal(err)
		}
		if r.Duplicates != size {
			t.Fatalf("re-sent batch %d: %+v, want all %d duplicates", b, r, size)
		}
	}
	if again := storedEvents(t, c.api); again != got {
		t.Fatalf("re-sending acknowledged batches changed the count: %d -> %d", got, again)
	}
	if len(ackedBatches) < 4 {
		t.Fatalf("only %d batches acknowledged over four rounds: the test did not exercise ingest", len(ackedBatches))
	}
}
