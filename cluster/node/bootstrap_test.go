package node_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/affinity-rec/affinity/cluster"
	"github.com/affinity-rec/affinity/cluster/natstest"
	"github.com/affinity-rec/affinity/cluster/node"
)

// TestBootstrapFromSnapshot: a node writes a bootstrap snapshot (under the
// lease); a node started on an empty directory restores it, follows the
// stream from the snapshot's sequence, and ends with exactly the events of
// the node that wrote it. Without a snapshot an empty node replays the
// stream; when the stream's first messages were purged (limits, erasure)
// it starts at the first stored one.
func TestBootstrapFromSnapshot(t *testing.T) {
	nc := natstest.StartT(t, 1)
	ctx := context.Background()
	a := startMemberCfg(t, t.TempDir(), nc.URLs(), nil)
	defer a.stop()

	// No snapshot yet: an empty node's directory stays empty (it will
	// replay the stream).
	cfg := node.Config{URLs: nc.URLs(), Name: "boot"}
	checkBootstrapNoSnapshot(ctx, t, cfg)

	snapAt := takeBootSnapshot(ctx, t, a)
	var last uint64
	for b := 6; b < 9; b++ {
		last = a.post(events(b*10, 10)).Seq
	}

	dir := t.TempDir()
	checkSnapshotRestored(ctx, t, dir, cfg, snapAt)
	b := startMemberCfg(t, dir, nc.URLs(), nil)
	defer b.stop()
	checkRestoredFollower(t, a, b, snapAt, last)

	// The stream's first messages go (a purge, as limits or erasure do),
	// past the snapshot's sequence: a new node restores the snapshot and
	// follows from the first stored message; one without a snapshot starts
	// there too.
	purgeTo := snapAt + 3
	if err := a.node.Stream().Stream.Purge(ctx, jetstream.WithPurgeSequence(purgeTo)); err != nil {
		t.Fatal(err)
	}
	last = a.post(events(100, 10)).Seq
	dir2 := t.TempDir()
	bs, err := node.Bootstrap(ctx, dir2, cfg)
	if err != nil || !bs.Restored || bs.Seq != snapAt || bs.FirstSeq != purgeTo {
		t.Fatalf("bootstrap after a purge: %+v %v", bs, err)
	}
	c := startMemberCfg(t, dir2, nc.URLs(), nil)
	defer c.stop()
	checkOverPurgedGap(t, a, c, last)

	// No snapshot in another stream, whose first messages were purged: the
	// empty node replays from the first stored one.
	other := cluster.StreamConfig{Name: "OTHER", Prefix: "other"}
	o1 := startMemberCfg(t, t.TempDir(), nc.URLs(), func(c *node.Config) { c.Stream = other })
	defer o1.stop()
	olast := fillPurgedStream(ctx, t, o1)
	dir3 := t.TempDir()
	bs, err = node.Bootstrap(ctx, dir3, node.Config{URLs: nc.URLs(), Name: "boot3", Stream: other})
	if err != nil || bs.Restored || bs.FirstSeq != 3 {
		t.Fatalf("bootstrap of a purged stream without snapshot: %+v %v", bs, err)
	}
	o2 := startMemberCfg(t, dir3, nc.URLs(), func(c *node.Config) { c.Stream = other })
	defer o2.stop()
	waitApplied(t, o2, olast)
	if n := o2.store.Stats().Events; n == 0 || n >= 40 {
		t.Fatalf("replay from the first stored message: %d events", n)
	}
}

// checkBootstrapNoSnapshot checks that bootstrap with no snapshot yet
// restores nothing and leaves the empty directory empty.
func checkBootstrapNoSnapshot(ctx context.Context, t *testing.T, cfg node.Config) {
	t.Helper()
	empty := t.TempDir()
	if b, err := node.Bootstrap(ctx, empty, cfg); err != nil || b.Restored {
		t.Fatalf("bootstrap with no snapshot: %+v %v", b, err)
	}
	if ok, _ := node.Empty(empty); !ok {
		t.Fatal("bootstrap without a snapshot wrote into the directory")
	}
}

// takeBootSnapshot posts 60 events through a, checks that a snapshot is
// taken at the last message applied and is not due again at once, and
// returns the snapshot's sequence.
func takeBootSnapshot(ctx context.Context, t *testing.T, a *member) uint64 {
	t.Helper()
	var snapAt uint64
	for b := 0; b < 6; b++ {
		snapAt = a.post(events(b*10, 10)).Seq
	}
	waitApplied(t, a, snapAt)
	seq, err := a.node.MaybeSnapshot(ctx)
	// The snapshot is at the last message applied, which may be a stream
	// tick (one a second) after the last post: CI saw 61 for 60.
	if err != nil || seq < snapAt || seq > snapAt+2 {
		t.Fatalf("snapshot at %d, want %d or a tick or two after it (%v)", seq, snapAt, err)
	}
	snapAt = seq
	// Not due again until SnapshotEvery messages later.
	if again, err := a.node.MaybeSnapshot(ctx); err != nil || again != 0 {
		t.Fatalf("a second snapshot at once: %d %v", again, err)
	}
	return snapAt
}

// checkSnapshotRestored checks that bootstrap into dir restores the
// snapshot at snapAt, with its derived-state file.
func checkSnapshotRestored(ctx context.Context, t *testing.T, dir string, cfg node.Config, snapAt uint64) {
	t.Helper()
	bs, err := node.Bootstrap(ctx, dir, cfg)
	if err != nil || !bs.Restored || bs.Seq != snapAt {
		t.Fatalf("bootstrap: %+v %v; want the snapshot at %d", bs, err, snapAt)
	}
	// The derived-state file came with it: the store loads, not replays.
	if files, _ := filepath.Glob(filepath.Join(dir, "snapshot-*.bin")); len(files) != 1 {
		t.Fatalf("derived-state files restored: %v", files)
	}
}

// checkRestoredFollower checks that the bootstrapped node b follows from
// the snapshot's sequence and ends with exactly the events of the writer
// a, answering as it does.
func checkRestoredFollower(t *testing.T, a, b *member, snapAt, last uint64) {
	t.Helper()
	if b.node.From() != snapAt {
		t.Fatalf("bootstrapped node follows from %d, want %d", b.node.From(), snapAt)
	}
	waitApplied(t, a, last)
	waitApplied(t, b, last)
	if ea, eb := a.store.Stats().Events, b.store.Stats().Events; ea != 90 || eb != ea {
		t.Fatalf("events: writer %d, bootstrapped %d, want 90", ea, eb)
	}
	converge(t, []*member{a, b}, last)
}

// checkOverPurgedGap checks that c, bootstrapped over a purged gap, applies
// up to last without stalling and lacks only the purged events.
func checkOverPurgedGap(t *testing.T, a, c *member, last uint64) {
	t.Helper()
	waitApplied(t, c, last)
	if st := c.node.Status(); st.StalledAt != 0 {
		t.Fatalf("stalled after a purged gap: %+v", st)
	}
	// It lacks exactly the purged messages' events (snapAt+1..purgeTo-1).
	if ec, ea := c.store.Stats().Events, a.store.Stats().Events; ec >= ea || ec < 70 {
		t.Fatalf("node over a purged gap holds %d events, the writer %d", ec, ea)
	}
}

// fillPurgedStream posts 40 events through o1 into its stream, purges the
// stream's first two messages, and returns the last sequence posted.
func fillPurgedStream(ctx context.Context, t *testing.T, o1 *member) uint64 {
	t.Helper()
	var olast uint64
	for b := 0; b < 4; b++ {
		olast = o1.post(events(b*10, 10)).Seq
	}
	if err := o1.node.Stream().Stream.Purge(ctx, jetstream.WithPurgeSequence(3)); err != nil {
		t.Fatal(err)
	}
	return olast
}
