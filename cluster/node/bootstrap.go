package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/affinity-rec/affinity/cluster"
)

// Bootstrapped says what Bootstrap did.
type Bootstrapped struct {
	// Restored is true when dir was filled from a snapshot; Seq is then the
	// stream sequence the snapshot includes (the node follows from Seq+1).
	Restored bool
	Seq      uint64
	// FirstSeq is the stream's first stored sequence: above Seq+1, the
	// messages in between were purged (erasure) or removed by limits, and
	// the follower starts at FirstSeq.
	FirstSeq uint64
	Bytes    int64 // snapshot size
	Took     time.Duration
}

// Empty reports whether dir holds nothing (absent counts as empty): only
// such a node bootstraps; any other resumes from its own store.
func Empty(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return len(entries) == 0, nil
}

// Bootstrap fills the empty store directory dir from the newest snapshot
// in the stream's snapshot bucket (a Badger backup that includes the
// applied stream sequence, features.BackupView), so that the node started
// on it follows only the stream's tail. With no snapshot yet, it leaves dir
// empty and the node replays the stream from its first message. Call it
// before features.Open, and only when Empty(dir).
func Bootstrap(ctx context.Context, dir string, cfg Config) (Bootstrapped, error) {
	var b Bootstrapped
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	t0 := time.Now()
	nc, js, err := cluster.Connect(cfg.URLs, cfg.Name+"-bootstrap")
	if err != nil {
		return b, err
	}
	defer nc.Close()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := cluster.Setup(sctx, js, cfg.Stream)
	if err == nil {
		b.FirstSeq, err = firstSeq(sctx, st)
	}
	if err != nil {
		return b, err
	}
	snaps, err := cluster.OpenSnapshots(sctx, st, 0)
	if err != nil {
		return b, err
	}
	seq, r, err := snaps.Newest(ctx)
	if errors.Is(err, cluster.ErrNoSnapshot) {
		if b.FirstSeq > 1 {
			log.Warn("no bootstrap snapshot yet: replaying the stream from its first stored message; the messages before it were purged or removed by the stream's limits",
				"first_seq", b.FirstSeq)
		} else {
			log.Info("no bootstrap snapshot yet: replaying the stream from the start")
		}
		return b, nil
	}
	if err != nil {
		return b, err
	}
	cr := &countReader{r: r}
	err = restoreBootstrap(dir, cr, log)
	if cerr := r.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return b, fmt.Errorf("cluster: bootstrapping from snapshot %d: %w", seq, err)
	}
	b.Restored, b.Seq, b.Bytes, b.Took = true, seq, cr.n, time.Since(t0)
	log.Info("bootstrapped from a snapshot", "seq", seq, "bytes", cr.n, "took", b.Took.String(), "stream_first_seq", b.FirstSeq)
	if b.FirstSeq > seq+1 {
		log.Info("the stream's messages between the snapshot and its first stored one were purged (erasure) or removed by limits",
			"snapshot_seq", seq, "first_seq", b.FirstSeq)
	}
	return b, nil
}

func firstSeq(ctx context.Context, st *cluster.Stream) (uint64, error) {
	info, err := st.Stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("cluster: stream info: %w", err)
	}
	return info.State.FirstSeq, nil
}

type countReader struct {
	r interface{ Read([]byte) (int, error) }
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
