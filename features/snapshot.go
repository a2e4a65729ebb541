package features

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math"
	"time"
)

// A snapshot is the derived state at a log sequence: every customer's
// history and the neighbour lists. It is written to a file of a new
// generation beside Badger's (snapshot-<gen>.bin, written under a temporary
// name, synced and renamed), then the header in Badger is switched, then the
// old generation is deleted, so a crash at any point leaves one complete
// snapshot or none. A file rather than Badger values: Badger reads and
// writes its value log through mmap, so each snapshot written or loaded
// stayed in the resident set as half a gigabyte of mapped pages (10M
// events), and each rewrite left that much value-log garbage. Snapshots of
// older versions, in Badger chunks, are still read. Bitmaps are re-derived
// from the histories on load, which is cheap; the model is kept as served
// (snapshot_model.go). This file writes a snapshot; snapshot_file.go holds
// the file and its generations, snapshot_load.go reads one back.

const (
	snapDedupMagic = "AFDEDUP1"
	snapMagic      = "AFSNAP2\n"
	snapChunkSize  = 4 << 20
)

type snapMeta struct {
	Gen    uint64 `json:"gen"`
	Seq    uint64 `json:"seq"`
	File   string `json:"file,omitempty"` // in the data directory; empty: Badger chunks
	Chunks uint32 `json:"chunks"`
	Size   int64  `json:"size"`
	CRC    uint32 `json:"crc"`
	// CRCPoly is "castagnoli" for snapshots checked with that polynomial
	// (hardware-accelerated: 0.18 s of a 1.6 s restart at 1M events went
	// to the IEEE one); empty for older ones, checked with IEEE.
	CRCPoly string `json:"crc_poly,omitempty"`
	At      int64  `json:"at"`
}

// Snapshot writes the derived state now.
func (s *Store) Snapshot() error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.snapshotLocked()
}

func (s *Store) snapshotLocked() error {
	if s.opts.InMemory {
		return nil
	}
	if err := s.disk.check(); err != nil {
		return fmt.Errorf("cannot snapshot: %w", err)
	}
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	start := time.Now()
	st := s.snapState()

	var old snapMeta
	oldOK := s.readSnapMeta(&old) == nil
	gen := old.Gen + 1
	cw, err := newChunkWriter(s.opts.Dir, gen)
	if err != nil {
		return err
	}
	defer cw.abort()
	if err := s.writeSnapshot(cw, &st); err != nil {
		return err
	}
	meta := snapMeta{Gen: gen, Seq: st.seq, File: cw.name, Size: cw.size, CRC: cw.crc.Sum32(), CRCPoly: "castagnoli", At: time.Now().UnixNano()}
	if err := s.switchSnapMeta(meta); err != nil {
		return err
	}
	if oldOK || old.Gen > 0 {
		s.deleteSnapGen(old)
	}
	s.snapSeq.Store(st.seq)
	s.snapStale.Store(false)
	s.snapAt.Store(meta.At)
	s.snapDur.Store(int64(time.Since(start)))
	s.log.Info("snapshot written", "seq", st.seq, "bytes", cw.size, "seconds", time.Since(start).Seconds())
	return nil
}

// snapState is what a snapshot writes: the histories at seq and the model
// being served with what it lacks.
type snapState struct {
	served servedState
	seq    uint64
	lastTS int64
	hist   [][]Interaction
	// all says every list is stale (a bulk load): the model is not kept.
	all bool
}

// snapState takes the model being served, as it is (snapshot_model.go),
// with the log it was built from. Under refreshMu no build is half done, so
// the stale marks in the index are exactly what the model lacks.
// Histories are append-only, so copying the slice headers under the read
// lock gives a consistent view without holding the lock while encoding.
func (s *Store) snapState() snapState {
	// A build Close abandoned may hold refreshMu for minutes; it publishes
	// nothing and its marks are back in the index (build_abandon.go).
	abandoned, solvePending := s.builds.closing()
	if !abandoned {
		s.refreshMu.Lock()
		defer s.refreshMu.Unlock()
	}
	st := snapState{served: servedState{m: s.model.Load(), solvePending: s.denseStale || solvePending}}
	s.idx.mu.RLock()
	defer s.idx.mu.RUnlock()
	st.seq = s.idx.appliedSeq
	st.lastTS = s.idx.lastTS
	st.hist = make([][]Interaction, len(s.idx.hist))
	copy(st.hist, s.idx.hist)
	st.all = s.idx.all
	st.served.dirty, st.served.dirtyCust = s.idx.staleProducts(), s.idx.dirtyCust.ToArray()
	return st
}

// writeSnapshot writes the snapshot file and makes it durable: the
// histories, the model section, then the event-id filters.
func (s *Store) writeSnapshot(cw *chunkWriter, st *snapState) error {
	b := append([]byte(nil), snapMagic...)
	b = binary.AppendUvarint(b, st.seq)
	b = binary.AppendVarint(b, st.lastTS)
	b, err := appendHistories(b, st.hist, cw)
	if err != nil {
		return err
	}
	if m := st.served.m; m != nil && !st.all && m.Seq <= st.seq {
		flush := func(b []byte) ([]byte, error) { return b[:0], cw.write(b) }
		if b, err = appendModel(b, &st.served, flush); err != nil {
			return err
		}
	} else {
		// No model, or every list is stale (a bulk load): the next start
		// builds them.
		b = append(b, 0)
	}
	// The event-id filters, behind their own magic after the model, where
	// a reader that does not know them stops.
	b = append(b, snapDedupMagic...)
	b = s.dedup.appendBinary(b)
	for len(b) > snapChunkSize {
		if err := cw.write(b[:snapChunkSize]); err != nil {
			return err
		}
		b = b[snapChunkSize:]
	}
	if err := cw.write(b); err != nil {
		return err
	}
	return cw.finish()
}

// appendHistories appends every customer's history, writing b out to cw
// whenever it has grown past a chunk.
func appendHistories(b []byte, hist [][]Interaction, cw *chunkWriter) ([]byte, error) {
	b = binary.AppendUvarint(b, uint64(len(hist)))
	for _, h := range hist {
		b = binary.AppendUvarint(b, uint64(len(h)))
		prevTS := int64(0)
		for _, in := range h {
			b = binary.AppendUvarint(b, uint64(in.Product))
			b = binary.AppendUvarint(b, uint64(in.Order))
			b = binary.AppendVarint(b, int64(in.TS)-prevTS)
			prevTS = int64(in.TS)
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(in.Value))
			// The quantity's place, kept so the format stays as it was;
			// memory no longer holds it.
			b = binary.LittleEndian.AppendUint32(b, 0)
			b = append(b, in.Type)
		}
		if len(b) >= snapChunkSize {
			if err := cw.write(b); err != nil {
				return nil, err
			}
			b = b[:0]
		}
	}
	return b, nil
}

// switchSnapMeta points Badger's snapshot header at the new file and syncs.
func (s *Store) switchSnapMeta(meta snapMeta) error {
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	mb, _ := json.Marshal(meta)
	if err := wb.Set([]byte(keySnapshotMeta), mb); err != nil {
		return fmt.Errorf("cannot write snapshot: %w", classifyErr(err))
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("cannot write snapshot: %w", classifyErr(err))
	}
	return s.Sync()
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksum is b's CRC with the polynomial the snapshot was written with.
func (m *snapMeta) checksum(b []byte) uint32 {
	if m.CRCPoly == "castagnoli" {
		return crc32.Checksum(b, castagnoli)
	}
	return crc32.ChecksumIEEE(b)
}
