package features

import (
	"encoding/binary"
	"errors"
	"math"
)

// Log record kinds. A record is one byte of kind followed by its fields.
const (
	recEvent byte = 1
	recErase byte = 2
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
	b = append(b, recEvent)
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
	e.Cust = d.u32()
	e.Prod = d.u32()
	e.Type = d.byte1()
	e.TS = d.varint()
	e.Value = d.f64()
	e.Qty = d.f64()
	e.Order = d.str()
	e.RecID = d.str()
	return d.err
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
