package features

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/dgraph-io/badger/v4/pb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// A backup file is Badger's backup stream (records of a little-endian u64
// length and a KVList) framed by two records of Affinity's own, each a
// KVList of one key:
//
//	header  | the store's keys, about 4 MB a record | trailer
//
// The header says the file is an Affinity backup of this format; the
// trailer, written last, holds the number of keys and the SHA-256 of every
// byte before it. Badger's stream has no end marker, so a file cut at any
// point (a killed backup, a full disk, a partial copy) loaded as a smaller
// store: Restore now refuses a file without a valid trailer. Both records
// expire at the Unix epoch, so `badger restore` loads them as keys nothing
// can read; Restore does not load them at all.
var (
	backupHeaderKey  = []byte("!affinity!backup-header")
	backupTrailerKey = []byte("!affinity!backup-trailer")
)

const backupFormat = "affinity-backup/2"

type backupHeader struct {
	Format string `json:"format"`
}

type backupTrailer struct {
	Keys   int64  `json:"keys"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// ErrBackupIncomplete marks a backup file that is empty, cut short, or
// altered: Restore refuses it.
var ErrBackupIncomplete = errors.New("the backup is incomplete")

// ErrBackupLegacy marks a file without the header: a backup written before
// the trailer existed (or not a backup), whose completeness cannot be
// checked.
var ErrBackupLegacy = errors.New("the file has no Affinity backup header")

// frameWriter writes records, hashing and counting what it writes.
type frameWriter struct {
	w    io.Writer
	sum  hash.Hash
	n    int64
	keys int64
	buf  []byte
}

func newFrameWriter(w io.Writer) *frameWriter {
	return &frameWriter{w: w, sum: sha256.New()}
}

func (f *frameWriter) write(list *pb.KVList) error {
	var err error
	f.buf = binary.LittleEndian.AppendUint64(f.buf[:0], uint64(proto.Size(list)))
	if f.buf, err = (proto.MarshalOptions{}).MarshalAppend(f.buf, list); err != nil {
		return err
	}
	if _, err := f.w.Write(f.buf); err != nil {
		return err
	}
	f.sum.Write(f.buf)
	f.n += int64(len(f.buf))
	return nil
}

// marker is a one-key record of Affinity's own, expired so that Badger's
// own restore loads nothing readable from it.
func marker(key []byte, v any) *pb.KVList {
	b, _ := json.Marshal(v) // plain structs: does not fail
	return &pb.KVList{Kv: []*pb.KV{{Key: key, Value: b, ExpiresAt: 1}}}
}

func (f *frameWriter) header() error {
	return f.write(marker(backupHeaderKey, backupHeader{Format: backupFormat}))
}

func (f *frameWriter) data(list *pb.KVList) error {
	f.keys += int64(len(list.Kv))
	return f.write(list)
}

// trailer is written last, and only when every key was.
func (f *frameWriter) trailer() error {
	t := backupTrailer{Keys: f.keys, Bytes: f.n, SHA256: hex.EncodeToString(f.sum.Sum(nil))}
	return f.write(marker(backupTrailerKey, t))
}

// verifyingReader hands Badger's loader the data records of a backup file
// and ends (io.EOF) only at a valid trailer followed by the end of the
// file. A file that ends anywhere else, or whose count or checksum differ,
// is an error, which fails the load.
type verifyingReader struct {
	r       io.Reader
	sum     hash.Hash
	n, keys int64
	pending []byte // the current data record, not yet read by the loader
	started bool
	done    bool
	// legacyOK passes a file without the header through unchecked (its
	// first record as data, then the rest as it comes); legacy says that
	// happened.
	legacyOK, legacy bool
}

func newVerifyingReader(r io.Reader, legacyOK bool) *verifyingReader {
	return &verifyingReader{r: r, sum: sha256.New(), legacyOK: legacyOK}
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.legacy && len(v.pending) == 0 {
		return v.r.Read(p)
	}
	for len(v.pending) == 0 {
		if v.done {
			return 0, io.EOF
		}
		if err := v.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, v.pending)
	v.pending = v.pending[n:]
	return n, nil
}

// next reads one record: the header, a data record (left in pending) or
// the trailer (checked).
func (v *verifyingReader) next() error {
	var lb [8]byte
	if _, err := io.ReadFull(v.r, lb[:]); err != nil {
		return v.cut(err, "a record's length")
	}
	size := binary.LittleEndian.Uint64(lb[:])
	if size > 1<<31 {
		if !v.started {
			return ErrBackupLegacy
		}
		return fmt.Errorf("%w: a record of %d bytes at offset %d (the file is damaged)", ErrBackupIncomplete, size, v.n)
	}
	rec := make([]byte, 8+size)
	copy(rec, lb[:])
	if _, err := io.ReadFull(v.r, rec[8:]); err != nil {
		return v.cut(err, "a record")
	}
	key, val, one := singleKey(rec[8:])
	if !v.started {
		if !one || !bytes.Equal(key, backupHeaderKey) {
			if v.legacyOK {
				v.legacy, v.pending = true, rec
				return nil
			}
			return ErrBackupLegacy
		}
		var h backupHeader
		if err := json.Unmarshal(val, &h); err != nil || h.Format != backupFormat {
			return fmt.Errorf("the backup's format is %q; this affinity reads %q", h.Format, backupFormat)
		}
		v.started = true
		v.account(rec, 0)
		return nil
	}
	if one && bytes.Equal(key, backupTrailerKey) {
		return v.trailer(val)
	}
	v.account(rec, countKeys(rec[8:]))
	v.pending = rec
	return nil
}

func (v *verifyingReader) account(rec []byte, keys int64) {
	v.sum.Write(rec)
	v.n += int64(len(rec))
	v.keys += keys
}

func (v *verifyingReader) cut(err error, what string) error {
	switch {
	case errors.Is(err, io.EOF) && v.n == 0 && !v.started:
		return fmt.Errorf("%w: the file is empty", ErrBackupIncomplete)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: the file ends before its end record, %d bytes (%d keys) of whole records into it: it was cut short (a backup that did not finish, or a partial copy)",
			ErrBackupIncomplete, v.n, v.keys)
	}
	return fmt.Errorf("reading the backup: %s: %w", what, err)
}

func (v *verifyingReader) trailer(val []byte) error {
	var t backupTrailer
	if err := json.Unmarshal(val, &t); err != nil {
		return fmt.Errorf("%w: unreadable end record: %v", ErrBackupIncomplete, err)
	}
	if got := hex.EncodeToString(v.sum.Sum(nil)); t.Keys != v.keys || t.Bytes != v.n || t.SHA256 != got {
		return fmt.Errorf("%w: the end record says %d keys in %d bytes (sha256 %s), the file holds %d in %d (sha256 %s)",
			ErrBackupIncomplete, t.Keys, t.Bytes, t.SHA256, v.keys, v.n, got)
	}
	var one [1]byte
	if n, _ := io.ReadFull(v.r, one[:]); n > 0 {
		return fmt.Errorf("%w: bytes after the end record (two files joined?)", ErrBackupIncomplete)
	}
	v.done = true
	return nil
}

// singleKey returns the key and value of a KVList holding exactly one KV,
// reading the protobuf wire format without decoding the whole record (a
// data record is decoded once, by Badger's loader).
func singleKey(b []byte) (key, val []byte, ok bool) {
	kvs := fieldBytes(b, 1, 2)
	if len(kvs) != 1 {
		return nil, nil, false
	}
	keys, vals := fieldBytes(kvs[0], 1, 1), fieldBytes(kvs[0], 2, 1)
	if len(keys) != 1 || len(vals) != 1 {
		return nil, nil, false
	}
	return keys[0], vals[0], true
}

// countKeys is the number of KVs in a KVList.
func countKeys(b []byte) int64 {
	var n int64
	for len(b) > 0 {
		num, typ, m := protowire.ConsumeTag(b)
		if m < 0 {
			return n
		}
		b = b[m:]
		l := protowire.ConsumeFieldValue(num, typ, b)
		if l < 0 {
			return n
		}
		if num == 1 && typ == protowire.BytesType {
			n++
		}
		b = b[l:]
	}
	return n
}

// fieldBytes returns the values of the length-delimited field num, stopping
// once it has more than max of them.
func fieldBytes(b []byte, num protowire.Number, max int) [][]byte {
	var out [][]byte
	for len(b) > 0 && len(out) <= max {
		n, typ, m := protowire.ConsumeTag(b)
		if m < 0 {
			return nil
		}
		b = b[m:]
		if n == num && typ == protowire.BytesType {
			v, l := protowire.ConsumeBytes(b)
			if l < 0 {
				return nil
			}
			out = append(out, v)
			b = b[l:]
			continue
		}
		l := protowire.ConsumeFieldValue(n, typ, b)
		if l < 0 {
			return nil
		}
		b = b[l:]
	}
	return out
}
