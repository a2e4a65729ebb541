package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// demoWait bounds each wait on the cluster demo, so a broken demo fails the
// test instead of hanging it (never a speed assertion).
const demoWait = 90 * time.Second

// TestClusterDemoServesAndStops runs `make cluster` (the built binary's
// cluster-demo with the demo config and the head of the demo data): the node URLs are printed
// only once every node answers /readyz ready, each serves a read, and
// SIGINT stops it all with exit status 0 and no error. The three nodes
// opened the stream's buckets at once, and that left every one of them
// waiting out its deadline ("counters bucket: context deadline exceeded").
func TestClusterDemoServesAndStops(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	d := startDemo(t)
	nodes := d.waitFor(t, func(lines []string) bool { return len(nodeURLs(lines)) == 3 })
	for _, u := range nodeURLs(nodes) {
		if code, body := get(t, u+"/readyz"); code != http.StatusOK {
			t.Errorf("%s printed before it was ready: /readyz %d %s", u, code, body)
		}
		code, body := get(t, u+"/v1/popular?limit=5")
		var reply struct {
			Items []json.RawMessage `json:"items"`
		}
		if code != http.StatusOK || json.Unmarshal(body, &reply) != nil || len(reply.Items) == 0 {
			t.Errorf("%s/v1/popular: %d %s", u, code, body)
		}
	}
	d.interrupt(t)
}

// TestClusterDemoInterruptedWhileStarting: Ctrl-C while the demo loads its
// data and starts the nodes is a requested stop too, not an error (it
// exited 1 with "context canceled").
func TestClusterDemoInterruptedWhileStarting(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	d := startDemo(t)
	d.waitFor(t, func(lines []string) bool {
		return len(lines) > 0 && strings.HasPrefix(lines[len(lines)-1], "NATS JetStream cluster")
	})
	d.interrupt(t)
}

// demoProc is a running cluster-demo and its output so far.
type demoProc struct {
	cmd    *exec.Cmd
	lines  chan string // stdout, closed at its end
	seen   []string
	stderr *bytes.Buffer // read only after cmd.Wait
}

func startDemo(t *testing.T) *demoProc {
	t.Helper()
	cmd := exec.Command(affinityBinary(t), "cluster-demo", "--data", t.TempDir(),
		"--demo", smallDemo(t), "--config", "../../testdata/demo/config.json",
		"--port", fmt.Sprint(freePorts3(t)))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d := &demoProc{cmd: cmd, lines: make(chan string, 64), stderr: &bytes.Buffer{}}
	cmd.Stderr = d.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(d.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			d.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			d.wait()
		}
	})
	return d
}

// waitFor reads stdout until done says the lines so far are enough.
func (d *demoProc) waitFor(t *testing.T, done func([]string) bool) []string {
	t.Helper()
	timeout := time.After(demoWait)
	for !done(d.seen) {
		select {
		case l, ok := <-d.lines:
			if !ok {
				d.wait()
				t.Fatalf("the demo exited (%v) before it was ready\nstdout:\n%s\nstderr:\n%s", d.cmd.ProcessState, strings.Join(d.seen, "\n"), d.stderr)
			}
			d.seen = append(d.seen, l)
		case <-timeout:
			d.cmd.Process.Kill()
			d.wait()
			t.Fatalf("the demo not ready after %s\nstdout:\n%s\nstderr:\n%s", demoWait, strings.Join(d.seen, "\n"), d.stderr)
		}
	}
	return d.seen
}

// interrupt sends SIGINT and wants a quiet exit with status 0.
func (d *demoProc) interrupt(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- d.wait() }()
	select {
	case err := <-exited:
		if err != nil || strings.Contains(d.stderr.String(), "affinity:") {
			t.Fatalf("SIGINT: %v\nstderr:\n%s", err, d.stderr)
		}
	case <-time.After(demoWait):
		d.cmd.Process.Kill()
		<-exited
		t.Fatalf("still running %s after SIGINT\nstderr:\n%s", demoWait, d.stderr)
	}
}

// wait drains stdout (Wait must come after the last read of the pipe) and
// reaps the process.
func (d *demoProc) wait() error {
	for l := range d.lines {
		d.seen = append(d.seen, l)
	}
	return d.cmd.Wait()
}

// nodeURLs are the "node N: http://..." lines' URLs.
func nodeURLs(lines []string) []string {
	var urls []string
	for _, l := range lines {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == "node" && strings.HasPrefix(f[2], "http://") {
			urls = append(urls, f[2])
		}
	}
	return urls
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.Bytes()
}

// smallDemo is the head of the demo file (a few thousand lines, a few
// hundred stream messages): the demo's steps are the same, with less to
// publish and replay on a busy machine.
func smallDemo(t *testing.T) string {
	t.Helper()
	f, err := os.Open("../../testdata/demo/online_retail_sample.csv.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	sc := bufio.NewScanner(zr)
	for i := 0; i < 4000 && sc.Scan(); i++ {
		b.Write(sc.Bytes())
		b.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "demo.csv")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// freePorts3 is a port p with p, p+1 and p+2 free now (the demo's nodes
// listen on three consecutive ports).
func freePorts3(t *testing.T) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		ls := []net.Listener{l}
		for i := 1; i < 3; i++ {
			if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+i)); err == nil {
				ls = append(ls, l)
			}
		}
		for _, l := range ls {
			l.Close()
		}
		if len(ls) == 3 {
			return p
		}
	}
	t.Fatal("no three consecutive free ports")
	return 0
}
