// Package natstest starts real NATS JetStream servers inside the current
// process, on 127.0.0.1 with free ports and their own store directories, for
// tests and for the local cluster demo. It is not a mock: each server is the
// same nats-server that an operator would run, with routes between them, so a
// three-server cluster replicates streams with Raft exactly as in production.
package natstest

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// readyTimeout bounds how long Start and Restart wait for the JetStream meta
// group to elect a leader; a 2-core machine shared with others needs slack.
const readyTimeout = 30 * time.Second

// Cluster is a running set of 1 or more in-process servers. The ports and the
// store directory of each server are fixed at Start, so Restart brings the same
// server (same name, same data, same address) back, as an operator would.
type Cluster struct {
	mu      sync.Mutex
	dir     string
	ownDir  bool
	opts    []*server.Options
	servers []*server.Server // nil while stopped
}

// Options tune Start; the zero value is a quiet cluster in a new temp dir.
type Options struct {
	Dir  string // parent of the servers' store dirs; a new temp dir when empty (removed by Shutdown)
	Name string // cluster name, "affinity" when empty
	Log  bool   // let the servers log to stderr (the demo wants it, tests do not)
}

// Start starts n servers (n >= 1). With n == 1 it is a standalone JetStream
// server; with more, a cluster with routes between every pair.
func Start(n int, o Options) (*Cluster, error) {
	if n < 1 {
		return nil, fmt.Errorf("natstest: need at least one server, got %d", n)
	}
	c := &Cluster{dir: o.Dir}
	if c.dir == "" {
		d, err := os.MkdirTemp("", "natstest-")
		if err != nil {
			return nil, err
		}
		c.dir, c.ownDir = d, true
	}
	ports, err := freePorts(2 * n)
	if err != nil {
		return nil, err
	}
	name := o.Name
	if name == "" {
		name = "affinity"
	}
	c.opts = make([]*server.Options, n)
	for i := range n {
		c.opts[i] = serverOptions(i, n, name, c.dir, ports, o.Log)
	}
	c.servers = make([]*server.Server, n)
	for i := range n {
		if err := c.start(i); err != nil {
			c.Shutdown()
			return nil, err
		}
	}
	if err := c.waitReady(); err != nil {
		c.Shutdown()
		return nil, err
	}
	return c, nil
}

// serverOptions is server i's configuration: client port ports[2i], route
// port ports[2i+1], routes to every other server.
func serverOptions(i, n int, name, dir string, ports []int, log bool) *server.Options {
	o := &server.Options{
		ServerName:         fmt.Sprintf("%s-%d", name, i),
		Host:               "127.0.0.1",
		Port:               ports[2*i],
		JetStream:          true,
		StoreDir:           filepath.Join(dir, fmt.Sprintf("s%d", i)),
		JetStreamMaxMemory: 256 << 20,
		JetStreamMaxStore:  4 << 30,
		NoLog:              !log,
		NoSigs:             true,
	}
	if n == 1 {
		return o
	}
	o.Cluster = server.ClusterOpts{Name: name, Host: "127.0.0.1", Port: ports[2*i+1]}
	for j := range n {
		if j != i {
			o.Routes = append(o.Routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", ports[2*j+1])})
		}
	}
	return o
}

// freePorts asks the kernel for n free loopback ports. They are released
// before the servers bind them, a small race that tests accept.
func freePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

func (c *Cluster) start(i int) error {
	opts := *c.opts[i] // the server mutates its options
	s, err := server.NewServer(&opts)
	if err != nil {
		return fmt.Errorf("natstest: server %d: %w", i, err)
	}
	if !c.opts[i].NoLog {
		s.ConfigureLogger()
	}
	go s.Start()
	if !s.ReadyForConnections(readyTimeout) {
		s.Shutdown()
		return fmt.Errorf("natstest: server %d not accepting connections after %s", i, readyTimeout)
	}
	c.mu.Lock()
	c.servers[i] = s
	c.mu.Unlock()
	return nil
}

// waitReady waits until every running server has JetStream up and, in a
// cluster, a meta leader that every running server follows.
func (c *Cluster) waitReady() error {
	deadline := time.Now().Add(readyTimeout)
	for time.Now().Before(deadline) {
		if c.ready() {
			return nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return errors.New("natstest: JetStream not ready (no meta leader) after " + readyTimeout.String())
}

func (c *Cluster) ready() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	leader := len(c.servers) == 1
	running := 0
	for _, s := range c.servers {
		if s != nil {
			running++
		}
	}
	for _, s := range c.servers {
		if s == nil {
			continue
		}
		if !s.JetStreamEnabled() {
			return false
		}
		if len(c.servers) == 1 {
			continue
		}
		if !s.JetStreamIsCurrent() {
			return false
		}
		// The meta leader must also see every running server as an
		// online JetStream peer with stats: before that, placing a stream
		// of 3 replicas fails as if the cluster were smaller.
		if s.JetStreamIsLeader() {
			if len(s.JetStreamClusterPeers()) < running {
				return false
			}
			leader = true
		}
	}
	return leader
}

// Size is the number of servers, running or stopped.
func (c *Cluster) Size() int { return len(c.opts) }

// URL is server i's client URL (stable across Restart).
func (c *Cluster) URL(i int) string {
	return fmt.Sprintf("nats://127.0.0.1:%d", c.opts[i].Port)
}

// URLs is every server's client URL joined by commas, the form nats.Connect takes.
func (c *Cluster) URLs() string {
	us := make([]string, len(c.opts))
	for i := range us {
		us[i] = c.URL(i)
	}
	return strings.Join(us, ",")
}

// Server is server i, or nil while it is stopped.
func (c *Cluster) Server(i int) *server.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.servers[i]
}

// Stop shuts server i down cleanly, keeping its store for Restart.
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	s := c.servers[i]
	c.servers[i] = nil
	c.mu.Unlock()
	if s != nil {
		s.Shutdown()
		s.WaitForShutdown()
	}
}

// Restart starts a stopped server i again with its old name, ports and store,
// and waits until JetStream has a meta leader again.
func (c *Cluster) Restart(i int) error {
	if c.Server(i) != nil {
		return fmt.Errorf("natstest: server %d is running", i)
	}
	if err := c.start(i); err != nil {
		return err
	}
	return c.waitReady()
}

// Shutdown stops every server and removes the temp dir Start made.
func (c *Cluster) Shutdown() {
	for i := range c.opts {
		c.Stop(i)
	}
	if c.ownDir {
		os.RemoveAll(c.dir)
	}
}
