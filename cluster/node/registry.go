package node

import (
	"context"
	"runtime/debug"
	"sync"
	"time"

	"github.com/affinity-rec/affinity/cluster"
)

// OpsConfig is a node's operations settings: its entry in the nodes
// registry and the bootstrap snapshots it takes part in publishing.
type OpsConfig struct {
	Addr      string        // this node's HTTP address, as the console should show it
	Heartbeat time.Duration // how often the registry entry is refreshed; 3 s when 0
	NodeTTL   time.Duration // how long an entry outlives its last refresh; cluster.DefaultNodeTTL when 0
	// SnapshotEvery and SnapshotInterval say when a new bootstrap snapshot
	// is due: once the applied sequence is SnapshotEvery messages past the
	// newest snapshot's, or SnapshotInterval after it was written (and
	// something new was applied). Both 0: every DefaultSnapshotEvery
	// messages. NoSnapshots: this node never writes one.
	SnapshotEvery    uint64
	SnapshotInterval time.Duration
	NoSnapshots      bool
	SnapshotCheck    time.Duration // how often a node asks whether one is due; 10 s when 0
}

// DefaultSnapshotEvery is the bootstrap snapshot spacing, in messages, when
// none is set: a new node then replays at most this many.
const DefaultSnapshotEvery = 100_000

func (o OpsConfig) withDefaults() OpsConfig {
	if o.Heartbeat <= 0 {
		o.Heartbeat = 3 * time.Second
	}
	if o.NodeTTL <= 0 {
		o.NodeTTL = cluster.DefaultNodeTTL
	}
	if o.SnapshotEvery == 0 && o.SnapshotInterval <= 0 {
		o.SnapshotEvery = DefaultSnapshotEvery
	}
	if o.SnapshotCheck <= 0 {
		o.SnapshotCheck = 10 * time.Second
	}
	return o
}

// ops is a node's background work beside the follower: the registry
// heartbeat and the snapshot publisher. Each runs in its own goroutine and
// only logs its failures: neither is on the path of reads or writes.
type ops struct {
	reg     *cluster.Registry
	snaps   *cluster.Snapshots
	leases  *cluster.Leases
	started time.Time
	version string
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// startOps opens the buckets and starts the loops. A bucket that cannot be
// opened fails the start, like the stream: a node half set up would be
// missing from the console or never write a snapshot, silently.
func (n *Node) startOps(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	o := n.cfg.Ops.withDefaults()
	n.cfg.Ops = o
	p := &ops{started: time.Now().UTC(), version: buildVersion()}
	var err error
	if p.reg, err = cluster.OpenRegistry(ctx, n.st, o.NodeTTL); err != nil {
		return err
	}
	if p.snaps, err = cluster.OpenSnapshots(ctx, n.st, 0); err != nil {
		return err
	}
	if p.leases, err = cluster.OpenLeases(ctx, n.st, 0); err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	n.ops = p
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		n.heartbeat(rctx)
	}()
	if !o.NoSnapshots {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			n.publishSnapshots(rctx)
		}()
	}
	return nil
}

// stopOps stops the loops (an upload in progress is abandoned: the object
// store drops an unfinished object) and removes this node's entry, each
// within a short bound, so a node cut off from NATS still closes promptly.
func (n *Node) stopOps() {
	p := n.ops
	if p == nil {
		return
	}
	p.cancel()
	p.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = p.reg.Remove(ctx, n.cfg.Name)
}

// heartbeat refreshes this node's registry entry until ctx ends.
func (n *Node) heartbeat(ctx context.Context) {
	t := time.NewTicker(n.cfg.Ops.Heartbeat)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, n.cfg.Ops.Heartbeat)
		if err := n.ops.reg.Put(pctx, n.Info()); err != nil && ctx.Err() == nil {
			n.cfg.Log.Debug("cluster registry heartbeat failed", "err", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Info is this node's registry entry as of now.
func (n *Node) Info() cluster.NodeInfo {
	st := n.fol.Status()
	in := cluster.NodeInfo{Name: n.cfg.Name, Addr: n.cfg.Ops.Addr, AppliedSeq: st.Applied, LagMsgs: st.LagMsgs,
		LagSecs: st.LagSecs, Ready: n.Ready() == nil, UpdatedAt: time.Now().UTC()}
	if n.ops != nil {
		in.Version, in.StartedAt = n.ops.version, n.ops.started
	}
	return in
}

// Nodes is the cluster as the registry sees it (GET /v1/cluster/nodes):
// the stream and every node whose entry has not expired. This node is
// listed from its own status even when its last heartbeat did not land
// (cut off from NATS: the registry cannot be read then either, and the
// answer is this node alone).
func (n *Node) Nodes(ctx context.Context) (cluster.NodesView, error) {
	st := n.fol.Status()
	v := cluster.NodesView{Stream: n.st.Name, Replicas: n.st.Replicas, HeadSeq: st.Head}
	var list []cluster.NodeInfo
	if n.ops != nil {
		lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		var err error
		if list, err = n.ops.reg.List(lctx); err != nil {
			n.cfg.Log.Debug("cluster registry unreadable", "err", err)
		}
	}
	self := n.Info()
	found := false
	for i := range list {
		if list[i].Name == self.Name {
			list[i], found = self, true
		}
	}
	if !found {
		list = append(list, self)
	}
	v.Nodes = list
	return v, nil
}

// buildVersion is the module version (or VCS revision) the binary was
// built from, for the registry: nodes of mixed versions show as such.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 && (v == "" || v == "(devel)") {
			v = s.Value[:12]
		}
	}
	return v
}
