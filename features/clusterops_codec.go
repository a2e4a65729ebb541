package features

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The log message of a write other than events (an "op"):
//
//	version byte (opFormatV1)
//	kind byte (OpKind)
//	origin string (uvarint length, bytes): who is waiting for the result
//	uvarint field count, then each field (uvarint length, bytes)
//
// The fields' meaning is the kind's (opSpecs): ids as strings, bodies as
// JSON (the same JSON the store keeps), append-log entries as they are.
// One generic shape for every kind keeps the decoder one small function
// that is fuzzed once; a kind says how many fields it has, and a message
// with another count is an error, as are an unknown kind and an unknown
// version: the node stops its apply rather than guess (never skips).
const opFormatV1 byte = 1

// OpKind is the kind of an op message. Values are part of the log format:
// never renumber; a new kind takes the next free number.
type OpKind byte

// Op kinds. Adding one is: a constant, an opSpecs
// entry, a case in applyOp, and a Store method that validates and submits.
const (
	OpProductsPut   OpKind = 1  // JSON map of product id -> Product
	OpProductPatch  OpKind = 2  // product id, JSON ProductPatch
	OpProductDelete OpKind = 3  // product id
	OpCustomerPut   OpKind = 4  // customer id, JSON Customer
	OpCustomerPatch OpKind = 5  // customer id, JSON attributes (null removes)
	OpCustomerErase OpKind = 6  // customer id, then the ids merged into them
	OpRecordPut     OpKind = 7  // record kind, id, value
	OpRecordDelete  OpKind = 8  // record kind, id
	OpRecordAppend  OpKind = 9  // log kind, then one field per entry
	OpCustomerMerge OpKind = 10 // from (merged away), into
)

// opSpec is what the decoder checks of a kind: its name (for errors and
// docs) and its field count (min..max; max 0 is no upper bound).
type opSpec struct {
	name     string
	min, max int
}

var opSpecs = map[OpKind]opSpec{
	OpProductsPut:   {"products-put", 1, 1},
	OpProductPatch:  {"product-patch", 2, 2},
	OpProductDelete: {"product-delete", 1, 1},
	OpCustomerPut:   {"customer-put", 2, 2},
	OpCustomerPatch: {"customer-patch", 2, 2},
	// An erasure names the ids merged into the customer that the
	// receiving node knew of (clusterops_merge.go); one written before
	// merges were replicated has only the customer's.
	OpCustomerErase: {"customer-erase", 1, 0},
	OpRecordPut:     {"record-put", 3, 3},
	OpRecordDelete:  {"record-delete", 2, 2},
	OpRecordAppend:  {"record-append", 2, 0},
	OpCustomerMerge: {"customer-merge", 2, 2},
}

func (k OpKind) String() string {
	if sp, ok := opSpecs[k]; ok {
		return sp.name
	}
	return fmt.Sprintf("op-kind-%d", byte(k))
}

// Op is one decoded op message.
type Op struct {
	Kind   OpKind
	Origin string // "<store token>/<n>" of the waiting writer; "" for none
	Fields [][]byte
}

// maxOpFields bounds the field count a decoder believes before reading:
// a corrupt count must not allocate gigabytes.
const maxOpFields = 1 << 20

// EncodeOp encodes op as one log message.
func EncodeOp(op Op) []byte {
	n := 2 + 2*binary.MaxVarintLen64 + len(op.Origin)
	for _, f := range op.Fields {
		n += binary.MaxVarintLen64 + len(f)
	}
	b := make([]byte, 0, n)
	b = append(b, opFormatV1, byte(op.Kind))
	b = binary.AppendUvarint(b, uint64(len(op.Origin)))
	b = append(b, op.Origin...)
	b = binary.AppendUvarint(b, uint64(len(op.Fields)))
	for _, f := range op.Fields {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}

// DecodeOp decodes a message of EncodeOp. Fields alias b. An unknown
// version or kind, a field count the kind does not have, a truncated or
// over-long message is an error naming what is wrong.
func DecodeOp(b []byte) (Op, error) {
	if len(b) < 2 {
		return Op{}, errors.New("op message shorter than its header")
	}
	if b[0] != opFormatV1 {
		return Op{}, fmt.Errorf("op message format %d is not known to this version (it reads %d)", b[0], opFormatV1)
	}
	op := Op{Kind: OpKind(b[1])}
	sp, ok := opSpecs[op.Kind]
	if !ok {
		return Op{}, fmt.Errorf("op kind %d is not known to this version", b[1])
	}
	d := decoder{b: b[2:]}
	op.Origin = d.str()
	n := d.uvarint()
	if d.err == nil && (n > maxOpFields || n > uint64(len(d.b))) {
		d.err = fmt.Errorf("field count %d exceeds the message", n)
	}
	if d.err == nil && (int(n) < sp.min || sp.max > 0 && int(n) > sp.max) {
		d.err = fmt.Errorf("%s op with %d fields", sp.name, n)
	}
	if d.err == nil {
		op.Fields = make([][]byte, 0, n)
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		op.Fields = append(op.Fields, d.bytesN())
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d bytes after the last field", len(d.b))
	}
	if d.err != nil {
		return Op{}, fmt.Errorf("%s op: %w", sp.name, d.err)
	}
	return op, nil
}
