package features

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// The log message of a run of events (one customer's, of one request):
//
//	version byte (logFormatV1)
//	uvarint count, then per event:
//	  six strings (uvarint length, bytes): event id, customer, product,
//	  type, order id, recommendation id
//	  varint timestamp (unix nanoseconds, as the receiving node filled it in)
//	  value, quantity (float64 bits, little endian)
//
// External ids, not a node's internal ones: each node assigns its own
// internal ids as it applies (the same on every node, since all apply the
// same order, but nothing relies on that). A node that meets a version it
// does not know stops its apply rather than guess.
const logFormatV1 byte = 1

// EncodeLogEvents encodes events as one log message.
func EncodeLogEvents(evs []Event) []byte {
	n := 1 + binary.MaxVarintLen64
	for i := range evs {
		e := &evs[i]
		n += 6*binary.MaxVarintLen32 + len(e.EventID) + len(e.CustomerID) + len(e.ProductID) +
			len(e.Type) + len(e.OrderID) + len(e.RecommendationID) + binary.MaxVarintLen64 + 16
	}
	b := make([]byte, 0, n)
	b = append(b, logFormatV1)
	b = binary.AppendUvarint(b, uint64(len(evs)))
	for i := range evs {
		e := &evs[i]
		for _, s := range [...]string{e.EventID, e.CustomerID, e.ProductID, e.Type, e.OrderID, e.RecommendationID} {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
		b = binary.AppendVarint(b, e.Timestamp.UnixNano())
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.Value))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.Quantity))
	}
	return b
}

// DecodeLogEvents decodes a message of EncodeLogEvents; any other version,
// a truncated or over-long message is an error naming what is wrong.
func DecodeLogEvents(b []byte) ([]Event, error) {
	if len(b) == 0 {
		return nil, errors.New("empty message")
	}
	if b[0] != logFormatV1 {
		return nil, fmt.Errorf("event message format %d is not known to this version (it reads %d)", b[0], logFormatV1)
	}
	// The store log's decoder (codec.go): a short message is errCorrupt.
	d := decoder{b: b[1:]}
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)) {
		d.err = fmt.Errorf("event count %d exceeds the message", n)
	}
	evs := make([]Event, 0, min(n, maxMessageEvents))
	for i := uint64(0); i < n && d.err == nil; i++ {
		var e Event
		for _, p := range [...]*string{&e.EventID, &e.CustomerID, &e.ProductID, &e.Type, &e.OrderID, &e.RecommendationID} {
			*p = d.str()
		}
		e.Timestamp = time.Unix(0, d.varint()).UTC()
		e.Value = d.f64()
		e.Quantity = d.f64()
		evs = append(evs, e)
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d bytes after the last event", len(d.b))
	}
	if d.err == nil && len(evs) == 0 {
		d.err = errors.New("no events in the message")
	}
	return evs, d.err
}
