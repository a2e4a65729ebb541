package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/affinity-rec/affinity/cluster"
)

// snapshotLease is the lease a node holds while it writes a bootstrap
// snapshot: one writer at a time, and the others see the new snapshot when
// they next ask whether one is due.
const snapshotLease = "bootstrap-snapshot"

// publishSnapshots checks every SnapshotCheck whether a bootstrap snapshot
// is due and, when this node gets the lease, writes one.
func (n *Node) publishSnapshots(ctx context.Context) {
	t := time.NewTicker(n.cfg.Ops.SnapshotCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		seq, err := n.MaybeSnapshot(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			n.cfg.Log.Warn("bootstrap snapshot not written", "err", err)
		case seq > 0:
			n.cfg.Log.Info("bootstrap snapshot written", "seq", seq)
		}
	}
}

// MaybeSnapshot writes a bootstrap snapshot when one is due, this node is
// healthy (a stalled or lagging node's copy would be old) and it gets the
// lease; it returns the snapshot's sequence, or 0 when it wrote none.
func (n *Node) MaybeSnapshot(ctx context.Context) (uint64, error) {
	st := n.fol.Status()
	if n.Ready() != nil || st.Applied == 0 {
		return 0, nil
	}
	newest, at, ok, err := n.ops.snaps.NewestInfo(ctx)
	if err != nil || !n.snapshotDue(st.Applied, newest, at, ok) {
		return 0, err
	}
	lease, err := n.ops.leases.TryAcquire(ctx, snapshotLease, n.cfg.Name)
	if errors.Is(err, cluster.ErrLeaseHeld) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = lease.Release(rctx)
	}()
	// Another node may have written one between the check and the lease.
	if newest, at, ok, err = n.ops.snaps.NewestInfo(ctx); err != nil || !n.snapshotDue(st.Applied, newest, at, ok) {
		return 0, err
	}
	return n.WriteSnapshot(ctx, lease)
}

// snapshotDue: the newest snapshot (if ok) is at seq newest, written at at.
func (n *Node) snapshotDue(applied, newest uint64, at time.Time, ok bool) bool {
	if !ok {
		return true
	}
	if applied <= newest {
		return false
	}
	o := n.cfg.Ops
	if o.SnapshotEvery > 0 && applied-newest >= o.SnapshotEvery {
		return true
	}
	return o.SnapshotInterval > 0 && time.Since(at) >= o.SnapshotInterval
}

// WriteSnapshot streams a point-in-time backup of the store (which holds
// the applied stream sequence) and the derived-state file that goes with
// it (bootstrap_format.go) into the snapshot bucket under that sequence, renewing lease (when given) while it uploads. Nothing is held
// whole in memory: the backup is piped into the object store's chunks.
func (n *Node) WriteSnapshot(ctx context.Context, lease *cluster.Lease) (uint64, error) {
	// A current derived-state file travels with the backup, so the new
	// node loads its state instead of replaying its whole restored log.
	if err := n.store.Snapshot(); err != nil {
		n.cfg.Log.Warn("derived-state snapshot before the bootstrap snapshot failed; the new node will replay its log", "err", err)
	}
	view, err := n.store.BackupView()
	if err != nil {
		return 0, err
	}
	defer view.Close()
	seq := view.Seq()
	if seq == 0 {
		return 0, nil // nothing applied: a new node replays the stream as fast
	}
	pr, pw := io.Pipe()
	written := make(chan struct{})
	go func() {
		defer close(written)
		pw.CloseWithError(writeBootstrap(pw, view))
	}()
	uctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if lease != nil {
		go renewWhile(uctx, lease, cancel)
	}
	err = n.ops.snaps.Put(uctx, seq, pr)
	pr.CloseWithError(io.ErrClosedPipe) // unblocks the writer when Put gave up early
	<-written                           // before view.Close ends its transaction
	if err != nil {
		return 0, fmt.Errorf("bootstrap snapshot at %d: %w", seq, err)
	}
	return seq, nil
}

// renewWhile renews lease every third of its TTL until ctx ends; a lost
// lease cancels the upload (another node may be writing by now).
func renewWhile(ctx context.Context, lease *cluster.Lease, lost context.CancelFunc) {
	t := time.NewTicker(cluster.DefaultLeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := lease.Renew(ctx); err != nil && ctx.Err() == nil {
				lost()
				return
			}
		}
	}
}
