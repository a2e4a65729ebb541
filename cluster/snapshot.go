package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Snapshots is the object store bucket where nodes publish state snapshots
// for new nodes to bootstrap from. An object is named by the stream sequence
// its state includes (zero-padded, so names sort like sequences); the object
// store cuts it into chunks on the way in and out, so neither Put nor Newest
// holds a whole snapshot in memory.
type Snapshots struct {
	os   jetstream.ObjectStore
	keep int
}

const snapPrefix = "snap-"

// OpenSnapshots creates (or opens) the bucket "<stream>_snapshots" with the
// stream's replicas. keep is how many snapshots Put leaves (oldest go first);
// 2 when 0, so a reader of the newest never loses it to the next Put.
func OpenSnapshots(ctx context.Context, s *Stream, keep int) (*Snapshots, error) {
	if keep <= 0 {
		keep = 2
	}
	cfg := jetstream.ObjectStoreConfig{
		Bucket:      s.Name + "_snapshots",
		Description: "state snapshots of stream " + s.Name + ", named by the sequence they include",
		Replicas:    s.Replicas,
		Storage:     jetstream.FileStorage,
	}
	// Create first, as openBucket does and for its reason: create-or-update
	// asks for an update first, and nodes starting together on a new
	// cluster then wait out their deadlines.
	os, err := s.JS.CreateObjectStore(ctx, cfg)
	if errors.Is(err, jetstream.ErrBucketExists) {
		os, err = s.JS.UpdateObjectStore(ctx, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: snapshot bucket: %w", err)
	}
	return &Snapshots{os: os, keep: keep}, nil
}

func snapName(seq uint64) string { return fmt.Sprintf("%s%020d", snapPrefix, seq) }

// Put stores a snapshot that includes every message up to seq, reading r
// to its end, then deletes all but the newest keep snapshots.
func (s *Snapshots) Put(ctx context.Context, seq uint64, r io.Reader) error {
	if _, err := s.os.Put(ctx, jetstream.ObjectMeta{Name: snapName(seq)}, r); err != nil {
		return fmt.Errorf("cluster: putting snapshot %d: %w", seq, err)
	}
	seqs, err := s.list(ctx)
	if err != nil {
		return err
	}
	// A listing right after a put may not show it yet (the bucket's watcher
	// can miss the newest entry of a replicated bucket; seen in tests): add it,
	// so the one just written is never taken for an old one.
	if !slices.Contains(seqs, seq) {
		seqs = append(seqs, seq)
		slices.Sort(seqs)
	}
	for len(seqs) > s.keep {
		if err := s.os.Delete(ctx, snapName(seqs[0])); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			return fmt.Errorf("cluster: deleting old snapshot %d: %w", seqs[0], err)
		}
		seqs = seqs[1:]
	}
	return nil
}

// ErrNoSnapshot is Newest's answer for an empty bucket: replay the stream
// from the start instead.
var ErrNoSnapshot = errors.New("cluster: no snapshot in the bucket")

// Newest opens the newest snapshot for reading: the caller restores from r,
// closes it, and follows the stream from seq. One put a moment ago may not be
// listed yet; the one before it is then returned, which only means a longer
// replay of the stream. r's Read returns an error if
// the object turns out corrupt (its digest is checked at the end).
func (s *Snapshots) Newest(ctx context.Context) (seq uint64, r io.ReadCloser, err error) {
	seqs, err := s.list(ctx)
	if err != nil {
		return 0, nil, err
	}
	if len(seqs) == 0 {
		return 0, nil, ErrNoSnapshot
	}
	seq = seqs[len(seqs)-1]
	res, err := s.os.Get(ctx, snapName(seq))
	if err != nil {
		return 0, nil, fmt.Errorf("cluster: opening snapshot %d: %w", seq, err)
	}
	return seq, res, nil
}

// NewestInfo is the sequence and the time of the newest stored snapshot
// without opening it (ok false when there is none): what a node asks before
// it decides that a new snapshot is due.
func (s *Snapshots) NewestInfo(ctx context.Context) (seq uint64, at time.Time, ok bool, err error) {
	infos, err := s.listInfos(ctx)
	if err != nil {
		return 0, time.Time{}, false, err
	}
	for _, in := range infos {
		if n, found := strings.CutPrefix(in.Name, snapPrefix); found && !in.Deleted {
			if q, perr := strconv.ParseUint(n, 10, 64); perr == nil && (!ok || q > seq) {
				seq, at, ok = q, in.ModTime, true
			}
		}
	}
	return seq, at, ok, nil
}

// list is the sequences of the stored snapshots, oldest first.
func (s *Snapshots) list(ctx context.Context) ([]uint64, error) {
	infos, err := s.listInfos(ctx)
	if err != nil {
		return nil, err
	}
	var seqs []uint64
	for _, in := range infos {
		if n, ok := strings.CutPrefix(in.Name, snapPrefix); ok && !in.Deleted {
			if seq, err := strconv.ParseUint(n, 10, 64); err == nil {
				seqs = append(seqs, seq)
			}
		}
	}
	// Names are zero-padded, and List returns them in no promised order.
	slices.Sort(seqs)
	return seqs, nil
}

// listTimeout bounds one listing of the bucket, and listAttempts how many
// are made. The object store lists through a watcher that ends at a marker
// the server sends once the initial entries are delivered; on a cluster
// whose servers have just started that marker was seen never to come, and
// an empty node then waited in Bootstrap for ever (a test's node stayed
// silent for its whole minute). A listing is a few metadata messages, so a
// short bound with a retry costs nothing when all is well.
const (
	listTimeout  = 10 * time.Second
	listAttempts = 3
)

// listInfos is the bucket's entries (none for an empty bucket), each attempt
// bounded by listTimeout; ctx still bounds the whole.
func (s *Snapshots) listInfos(ctx context.Context) ([]*jetstream.ObjectInfo, error) {
	var err error
	for attempt := 0; attempt < listAttempts; attempt++ {
		actx, cancel := context.WithTimeout(ctx, listTimeout)
		var infos []*jetstream.ObjectInfo
		infos, err = s.os.List(actx)
		cancel()
		switch {
		case errors.Is(err, jetstream.ErrNoObjectsFound):
			return nil, nil
		case err == nil:
			return infos, nil
		case ctx.Err() != nil:
			return nil, fmt.Errorf("cluster: listing snapshots: %w", ctx.Err())
		}
	}
	return nil, fmt.Errorf("cluster: listing snapshots (%d attempts of %s): %w", listAttempts, listTimeout, err)
}
