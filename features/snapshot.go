package features

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
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
// (snapshot_model.go).

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
	// The model being served, as it is (snapshot_model.go), with the log
	// it was built from. Under refreshMu no build is half done, so the
	// stale marks in the index are exactly what the model lacks.
	// Histories are append-only, so copying the slice headers under the
	// read lock gives a consistent view without holding the lock while
	// encoding.
	s.refreshMu.Lock()
	st := servedState{m: s.model.Load(), solvePending: s.denseStale}
	s.idx.mu.RLock()
	seq := s.idx.appliedSeq
	lastTS := s.idx.lastTS
	hist := make([][]Interaction, len(s.idx.hist))
	copy(hist, s.idx.hist)
	all := s.idx.all
	st.dirty, st.dirtyCust = s.idx.dirty.ToArray(), s.idx.dirtyCust.ToArray()
	s.idx.mu.RUnlock()
	s.refreshMu.Unlock()

	var old snapMeta
	oldOK := s.readSnapMeta(&old) == nil
	gen := old.Gen + 1
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	cw, err := newChunkWriter(s.opts.Dir, gen)
	if err != nil {
		return err
	}
	defer cw.abort()
	var b []byte
	b = append(b, snapMagic...)
	b = binary.AppendUvarint(b, seq)
	b = binary.AppendVarint(b, lastTS)
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
				return err
			}
			b = b[:0]
		}
	}
	if st.m != nil && !all && st.m.Seq <= seq {
		flush := func(b []byte) ([]byte, error) { return b[:0], cw.write(b) }
		if b, err = appendModel(b, &st, flush); err != nil {
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
	if err := cw.finish(); err != nil {
		return err
	}
	meta := snapMeta{Gen: gen, Seq: seq, File: cw.name, Size: cw.size, CRC: cw.crc.Sum32(), CRCPoly: "castagnoli", At: time.Now().UnixNano()}
	mb, _ := json.Marshal(meta)
	if err := wb.Set([]byte(keySnapshotMeta), mb); err != nil {
		return fmt.Errorf("cannot write snapshot: %w", classifyErr(err))
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("cannot write snapshot: %w", classifyErr(err))
	}
	if err := s.Sync(); err != nil {
		return err
	}
	if oldOK || old.Gen > 0 {
		s.deleteSnapGen(old)
	}
	s.snapSeq.Store(seq)
	s.snapStale.Store(false)
	s.snapAt.Store(meta.At)
	s.snapDur.Store(int64(time.Since(start)))
	s.log.Info("snapshot written", "seq", seq, "bytes", cw.size, "seconds", time.Since(start).Seconds())
	return nil
}

// chunkWriter writes a snapshot file and its checksum. Not safe for
// concurrent use.
type chunkWriter struct {
	dir, name string
	f         *os.File
	w         *bufio.Writer
	size      int64
	crc       hash.Hash32
	done      bool
}

func snapFileName(gen uint64) string { return fmt.Sprintf("snapshot-%d.bin", gen) }

func newChunkWriter(dir string, gen uint64) (*chunkWriter, error) {
	name := snapFileName(gen)
	f, err := os.Create(filepath.Join(dir, name+".tmp"))
	if err != nil {
		return nil, fmt.Errorf("cannot write snapshot: %w", classifyErr(err))
	}
	return &chunkWriter{dir: dir, name: name, f: f, w: bufio.NewWriterSize(f, 1<<20), crc: crc32.New(castagnoli)}, nil
}

func (c *chunkWriter) write(b []byte) error {
	c.crc.Write(b)
	if _, err := c.w.Write(b); err != nil {
		return fmt.Errorf("cannot write snapshot: %w", classifyErr(err))
	}
	c.size += int64(len(b))
	return nil
}

// finish makes the file durable under its final name.
func (c *chunkWriter) finish() error {
	err := c.w.Flush()
	if err == nil {
		err = c.f.Sync()
	}
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(filepath.Join(c.dir, c.name+".tmp"), filepath.Join(c.dir, c.name))
	}
	if err == nil {
		err = syncDir(c.dir)
	}
	if err != nil {
		return fmt.Errorf("cannot write snapshot: %w", classifyErr(err))
	}
	c.done = true
	return nil
}

// abort removes an unfinished file.
func (c *chunkWriter) abort() {
	if !c.done {
		c.f.Close()
		os.Remove(filepath.Join(c.dir, c.name+".tmp"))
	}
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// removeStraySnapshots deletes snapshot files other than keep (left by a
// crash between writing a file and switching the header).
func (s *Store) removeStraySnapshots(keep string) {
	names, _ := filepath.Glob(filepath.Join(s.opts.Dir, "snapshot-*.bin*"))
	for _, n := range names {
		if filepath.Base(n) != keep {
			os.Remove(n)
		}
	}
}

func (s *Store) readSnapMeta(m *snapMeta) error {
	return s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get([]byte(keySnapshotMeta))
		if err != nil {
			return err
		}
		return it.Value(func(v []byte) error { return json.Unmarshal(v, m) })
	})
}

func (s *Store) deleteSnapGen(old snapMeta) {
	if old.File != "" {
		if err := os.Remove(filepath.Join(s.opts.Dir, old.File)); err != nil && !os.IsNotExist(err) {
			s.log.Warn("cannot delete old snapshot", "err", err)
		}
		return
	}
	prefix := keyU64(prefixSnapshot, old.Gen)
	var keys [][]byte
	_ = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		return nil
	})
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, k := range keys {
		_ = wb.Delete(k)
	}
	if err := wb.Flush(); err != nil {
		s.log.Warn("cannot delete old snapshot", "err", err)
	}
}

// readSnapshotCopy reads the file into memory; release is a no-op.
func readSnapshotCopy(path string) ([]byte, func(), error) {
	b, err := os.ReadFile(path)
	return b, func() {}, err
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksum is b's CRC with the polynomial the snapshot was written with.
func (m *snapMeta) checksum(b []byte) uint32 {
	if m.CRCPoly == "castagnoli" {
		return crc32.Checksum(b, castagnoli)
	}
	return crc32.ChecksumIEEE(b)
}

// loadSnapshot restores the index (and the model when the snapshot has a
// current one). Any problem means "no snapshot": the full log is replayed.
// The id dictionaries load meanwhile; dictsLoaded waits for them, which
// the decoder needs only at its end (the product count).
func (s *Store) loadSnapshot(dictsLoaded func() error) (*Model, bool) {
	var meta snapMeta
	if err := s.readSnapMeta(&meta); err != nil {
		if !errors.Is(err, badger.ErrKeyNotFound) {
			s.log.Warn("snapshot header unreadable; replaying the whole log", "err", err)
		}
		return nil, false
	}
	if !s.opts.InMemory {
		s.removeStraySnapshots(meta.File)
	}
	var buf bytes.Buffer
	var err error
	if meta.File != "" {
		var b []byte
		var release func()
		b, release, err = readSnapshotFile(filepath.Join(s.opts.Dir, filepath.Base(meta.File)))
		if err == nil {
			// The decoded state copies what it keeps, so the bytes go (and
			// stop counting in the resident set) once it is done.
			defer release()
		}
		buf = *bytes.NewBuffer(b)
	} else {
		buf.Grow(int(meta.Size))
		err = s.db.View(func(txn *badger.Txn) error {
			for c := uint32(0); c < meta.Chunks; c++ {
				it, err := txn.Get(keySnapshotChunk(meta.Gen, c))
				if err != nil {
					return err
				}
				if err := it.Value(func(v []byte) error { buf.Write(v); return nil }); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err == nil && (int64(buf.Len()) != meta.Size || meta.checksum(buf.Bytes()) != meta.CRC) {
		err = errors.New("checksum mismatch")
	}
	var m *Model
	if err == nil {
		m, err = s.decodeSnapshot(buf.Bytes(), meta.Seq, dictsLoaded)
	}
	if err != nil && dictsLoaded() != nil {
		// load reports the dictionaries' error.
		return nil, false
	}
	if err != nil {
		s.log.Warn("snapshot unusable; replaying the whole log", "err", err)
		s.idx = newIndex()
		return nil, false
	}
	s.snapSeq.Store(meta.Seq)
	s.snapAt.Store(meta.At)
	return m, true
}

func (s *Store) decodeSnapshot(b []byte, seq uint64, dictsLoaded func() error) (*Model, error) {
	if !bytes.HasPrefix(b, []byte(snapMagic)) {
		return nil, errors.New("not a snapshot")
	}
	d := decoder{b: b[len(snapMagic):]}
	if got := d.uvarint(); got != seq {
		return nil, fmt.Errorf("snapshot says seq %d, header %d", got, seq)
	}
	tt := s.types.Load()
	x := newIndex()
	x.lastTS = d.varint()
	ncust := d.uvarint()
	if d.err != nil || ncust > uint64(len(d.b)) {
		return nil, errCorrupt
	}
	x.hist = make([][]Interaction, ncust)
	nprod := 0
	for c := range x.hist {
		n := d.uvarint()
		if d.err != nil || n > uint64(len(d.b)) {
			return nil, errCorrupt
		}
		if n == 0 {
			continue
		}
		h := make([]Interaction, 0, n)
		ts := int64(0)
		for i := uint64(0); i < n; i++ {
			var in Interaction
			in.Product = d.u32()
			in.Order = d.u32()
			ts += d.varint()
			in.TS = unixTS(ts)
			in.Value = ClampValue(d.f64())
			if d.err != nil || len(d.b) < 5 {
				return nil, errCorrupt
			}
			in.Type = d.b[4] // after the unused quantity
			d.b = d.b[5:]
			if !tt.known[in.Type] {
				continue
			}
			in.Class = tt.conf[in.Type].Class
			nprod = max(nprod, int(in.Product)+1)
			h = append(h, in)
		}
		x.hist[c] = h
		x.events += len(h)
	}
	x.appliedSeq = seq
	x.rebuildClockLocked()
	if err := dictsLoaded(); err != nil {
		return nil, err
	}
	if nprod > s.prod.len() {
		return nil, fmt.Errorf("snapshot names product %d beyond the dictionary", nprod-1)
	}
	if nprod > 0 {
		x.ensureProduct(uint32(nprod - 1))
	}
	// The bitmaps are built while the lists are decoded (2 of 8 s at 10M
	// events when one followed the other).
	built := make(chan struct{})
	go func() {
		defer close(built)
		buildBitmaps(x)
	}()
	defer func() { <-built }()
	var m *Model
	v := d.byte1()
	if v >= 1 && v <= 3 {
		opt := d.bytesN()
		var o NeighbourOptions
		if d.err == nil && json.Unmarshal(opt, &o) == nil && o == s.opts.Neighbours {
			m, s.snapSolvePending = decodeModel(&d, v, o, seq, s.prod.len(), x)
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	// Found only when the model section was read (same options): otherwise
	// the unread lists come first, and the ids are read from Badger.
	if bytes.HasPrefix(d.b, []byte(snapDedupMagic)) {
		d.b = d.b[len(snapDedupMagic):]
		f, err := decodeDedupFilter(&d)
		if err != nil {
			return nil, fmt.Errorf("snapshot event-id filter: %w", err)
		}
		s.snapDedup = f
	}
	<-built
	s.idx = x
	if m != nil && v < 3 {
		finishModel(x, m, s.prod.len())
	}
	return m, nil
}

// buildBitmaps fills x's product -> customer bitmaps from its histories
// (a snapshot stores only the histories), one worker per core, each owning
// the products p with p % workers == its number, so no bitmap is shared.
// Customers come in increasing order, so every Add appends.
func buildBitmaps(x *index) {
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for c, h := range x.hist {
				for _, in := range h {
					if int(in.Product)%workers != w {
						continue
					}
					x.customers(in.Class, in.Product).Add(uint32(c))
				}
			}
		})
	}
	wg.Wait()
}

// GetRecordRaw reads a raw key (tests and tools).
func (s *Store) GetRecordRaw(k []byte) ([]byte, error) {
	var out []byte
	err := s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(k)
		if err != nil {
			return err
		}
		out, err = it.ValueCopy(nil)
		return err
	})
	return out, err
}

// modelFlags packs what a snapshot must keep of m besides its lists: which
// bases are dense (EASE) lists, so that a restart does not solve them again
// at the first event (Store.refresh), whether "any" is "bought", and whether
// events came since the last solve (solvePending), so that the restarted
// store still solves them in time. Older builds ignore the last bit.
func modelFlags(m *Model, solvePending bool) byte {
	var f byte
	for bs := Basis(0); bs < NumBases; bs++ {
		if m.dense[bs] {
			f |= 1 << bs
		}
	}
	if solvePending {
		f |= 1 << 6
	}
	if m.anyAlias {
		f |= 1 << 7
	}
	return f
}

// setModelFlags is modelFlags' inverse; it returns solvePending.
func setModelFlags(m *Model, f byte) bool {
	for bs := Basis(0); bs < NumBases; bs++ {
		m.dense[bs] = f&(1<<bs) != 0
	}
	m.anyAlias = f&(1<<7) != 0
	return f&(1<<6) != 0
}
