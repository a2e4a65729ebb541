package features

import (
	"encoding/binary"
	"errors"
	"math"
)

// Log record kinds. A record is one byte of kind followed by its fields.
const (
	recEvent byte = 1 // one event, keyed by its sequence (older stores)
	recErase byte = 2
	// recEventBlock holds the consecutive events of one commit under the
	// sequence of its last: Badger's cost is mostly per key (the memtable
	// insert), and one key per event held a bulk import to two thirds of
	// what it reached with no log keys at all.
	recEventBlock byte = 3
	// recMerge moves one customer's history onto another's (merge.go).
	recMerge byte = 4
)

// Blocks stay under Badger's value threshold (1 KB, openBadger), so they
// live in the LSM tree like single events did and need no value-log GC:
// their events take at most maxBlockBytes, the header at most 21 bytes, and
// one event with both ids at their longest about 560.
const (
	maxBlockBytes  = 960
	maxBlockEvents = 64
)

var errCorrupt = errors.New("corrupt record")

// logEvent is an event as the log stores it: internal ids, unix seconds.
type logEvent struct {
	Cust, Prod uint32
	Type       uint8
	TS         int64
	Value      float64
	Qty        float64
	Order      string
	RecID      string
}

func appendUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func (e *logEvent) encode(b []byte) []byte {
	return e.appendFields(append(b, recEvent))
}

func (e *logEvent) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(e.Cust))
	b = appendUvarint(b, uint64(e.Prod))
	b = append(b, e.Type)
	b = binary.AppendVarint(b, e.TS)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.Value))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.Qty))
	b = appendString(b, e.Order)
	b = appendString(b, e.RecID)
	return b
}

// decoder reads fields from a byte slice, remembering the first error so
// callers check once at the end.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte1() byte {
	if d.err != nil || len(d.b) < 1 {
		d.err = errCorrupt
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) u32() uint32 {
	v := d.uvarint()
	if v > math.MaxUint32 {
		d.err = errCorrupt
	}
	return uint32(v)
}

func (d *decoder) f64() float64 {
	if d.err != nil || len(d.b) < 8 {
		d.err = errCorrupt
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}

func (d *decoder) bytesN() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errCorrupt
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string { return string(d.bytesN()) }

func decodeLogEvent(b []byte, e *logEvent) error {
	d := decoder{b: b}
	if d.byte1() != recEvent {
		return errCorrupt
	}
	d.fields(e)
	return d.err
}

func (d *decoder) fields(e *logEvent) {
	e.Cust = d.u32()
	e.Prod = d.u32()
	e.Type = d.byte1()
	e.TS = d.varint()
	e.Value = d.f64()
	e.Qty = d.f64()
	e.Order = d.str()
	e.RecID = d.str()
}

// blockEncoder builds one recEventBlock. The record is
//
//	kind, uvarint (key - first sequence), uvarint count,
//	count × (uvarint gap, event fields)
//
// where key is the sequence the block is stored under (its last event's, as
// written) and an event's sequence is one past the previous one's (first
// for the first event) plus its gap. Gaps are 0 as written; erasing events
// from a block leaves gaps and keeps its key, so the others keep their
// sequences, which a replay from a snapshot taken in the middle of a commit
// compares against.
type blockEncoder struct {
	buf         []byte // the events, without the header
	first, last uint64
	n           int
}

// add appends the event of sequence seq, which must be above the last one.
func (b *blockEncoder) add(seq uint64, e *logEvent) {
	gap := uint64(0)
	if b.n == 0 {
		b.first = seq
	} else {
		gap = seq - b.last - 1
	}
	b.buf = appendUvarint(b.buf, gap)
	b.buf = e.appendFields(b.buf)
	b.last = seq
	b.n++
}

// room says e can join the block: it is empty, or e fits in its limits.
func (b *blockEncoder) room(e *logEvent) bool {
	if b.n == 0 {
		return true
	}
	// The gap and every varint at their widest.
	bound := 10 + 5 + 5 + 1 + 10 + 8 + 8 + 10 + len(e.Order) + 10 + len(e.RecID)
	return b.n < maxBlockEvents && len(b.buf)+bound <= maxBlockBytes
}

// appendTo appends the record to be stored under key (at least b.last) to
// dst and empties b.
func (b *blockEncoder) appendTo(dst []byte, key uint64) []byte {
	dst = append(dst, recEventBlock)
	dst = appendUvarint(dst, key-b.first)
	dst = appendUvarint(dst, uint64(b.n))
	dst = append(dst, b.buf...)
	b.buf, b.n = b.buf[:0], 0
	return dst
}

// size bounds len(appendTo(nil)).
func (b *blockEncoder) size() int { return 1 + 2*binary.MaxVarintLen64 + len(b.buf) }

// decodeEventBlock calls fn for each event of the block stored under key,
// with its sequence. e is reused between calls.
func decodeEventBlock(v []byte, key uint64, fn func(seq uint64, e *logEvent) error) error {
	d := decoder{b: v}
	if d.byte1() != recEventBlock {
		return errCorrupt
	}
	back := d.uvarint()
	n := d.uvarint()
	if d.err != nil || back >= key || n > uint64(len(d.b)) {
		return errCorrupt
	}
	seq := key - back - 1 // the sequence before the first event's
	var e logEvent
	for range n {
		gap := d.uvarint()
		d.fields(&e)
		if d.err != nil {
			return d.err
		}
		if seq >= key || gap > key-seq-1 {
			return errCorrupt
		}
		seq += gap + 1
		if err := fn(seq, &e); err != nil {
			return err
		}
	}
	if len(d.b) != 0 {
		return errCorrupt
	}
	return nil
}

// eachLogEvent calls fn for each event of the event record v stored under
// key: a block's events, or the one event of an older single-event record
// (keyed by its own sequence), decoded into e.
func eachLogEvent(v []byte, key uint64, e *logEvent, fn func(seq uint64, e *logEvent) error) error {
	if len(v) > 0 && v[0] == recEventBlock {
		return decodeEventBlock(v, key, fn)
	}
	if err := decodeLogEvent(v, e); err != nil {
		return err
	}
	return fn(key, e)
}

func encodeErase(cust uint32) []byte {
	b := []byte{recErase}
	return appendUvarint(b, uint64(cust))
}

func decodeErase(b []byte) (uint32, error) {
	d := decoder{b: b}
	if d.byte1() != recErase {
		return 0, errCorrupt
	}
	c := d.u32()
	return c, d.err
}

func u32be(b []byte) (uint32, bool) {
	if len(b) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(b), true
}
