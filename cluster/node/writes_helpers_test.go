package node_test

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// send makes one request with a JSON body ("" for none) and returns the
// status, the X-Affinity-Seq header (0 when absent) and the body.
func (m *member) send(method, path, body string) (int, uint64, string) {
	m.t.Helper()
	return m.sendAt(method, path, body, 0)
}

// writeAt sends a write that depends on sequence after (sent as
// X-Affinity-Min-Seq) and must succeed with 200 and a sequence.
func (m *member) writeAt(method, path, body string, after uint64) uint64 {
	m.t.Helper()
	code, seq, raw := m.sendAt(method, path, body, after)
	if code != 200 || seq <= after {
		m.t.Fatalf("%s %s after seq %d on %s: %d (seq %d) %s", method, path, after, m.base, code, seq, raw)
	}
	return seq
}

func (m *member) sendAt(method, path, body string, minSeq uint64) (int, uint64, string) {
	m.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, m.base+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if minSeq > 0 {
		req.Header.Set("X-Affinity-Min-Seq", strconv.FormatUint(minSeq, 10))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	seq, _ := strconv.ParseUint(resp.Header.Get("X-Affinity-Seq"), 10, 64)
	return resp.StatusCode, seq, string(raw)
}

// write sends a write that must succeed with want and carry a sequence,
// and returns the sequence.
func (m *member) write(method, path, body string, want int) uint64 {
	m.t.Helper()
	code, seq, raw := m.send(method, path, body)
	if code != want || seq == 0 {
		m.t.Fatalf("%s %s on %s: %d (seq %d) %s; want %d with a seq", method, path, m.base, code, seq, raw, want)
	}
	return seq
}

// refused sends bad input that the receiving node must refuse with code
// and a problem naming field.
func (m *member) refused(method, path, body string, code int, field string) {
	m.t.Helper()
	got, seq, raw := m.send(method, path, body)
	if got != code || seq != 0 || field != "" && !strings.Contains(raw, `"field":"`+field+`"`) {
		m.t.Fatalf("%s %s %s: %d (seq %d) %s; want %d naming %q", method, path, body, got, seq, raw, code, field)
	}
}

// readAt reads path on m once it has applied seq.
func (m *member) readAt(path string, seq uint64) (int, string) {
	m.t.Helper()
	code, raw := m.get(path, seq)
	if code == 503 {
		m.t.Fatalf("GET %s at seq %d on %s: %s", path, seq, m.base, raw)
	}
	return code, string(raw)
}

// sameEverywhere reads path on every member at seq and checks the answers
// are equal (and 200), returning the answer.
func sameEverywhere(t *testing.T, ms []*member, seq uint64, path string) string {
	t.Helper()
	var ref string
	for i, m := range ms {
		code, got := m.readAt(path, seq)
		if code != 200 {
			t.Fatalf("GET %s on %s: %d %s", path, m.base, code, got)
		}
		if i == 0 {
			ref = got
		} else if got != ref {
			t.Fatalf("GET %s differs:\n%s: %s\n%s: %s", path, ms[0].base, ref, m.base, got)
		}
	}
	return ref
}

// waitApplied waits, up to a minute (the machine may be loaded), until m
// has applied seq and its services have reloaded what it changed.
func waitApplied(t testing.TB, m *member, seq uint64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		err := m.node.WaitFor(context.Background(), seq)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: seq %d not applied: %v (%+v)", m.base, seq, err, m.node.Status())
		}
	}
}

// streamMessages counts the stream's messages about customer (every kind).
func streamMessages(t *testing.T, m *member, customer string) uint64 {
	t.Helper()
	st := m.node.Stream()
	info, err := st.Stream.Info(context.Background(), jetstream.WithSubjectFilter(st.Subjects.CustomerFilter(customer)))
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, c := range info.State.Subjects {
		n += c
	}
	return n
}
