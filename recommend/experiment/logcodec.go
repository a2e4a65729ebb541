package experiment

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/affinity-rec/affinity/features"
)

// Log entries. Binary rather than JSON because a restart decodes every
// exposure ever logged; version byte first so the format can change.
//
//	exposure v1: 0x01, flags (bit 0: forced), uvarint ts, 8-byte cfg,
//	             str exp, str variant, str recID, str unit, uvarint n,
//	             n × uvarint product (the store's permanent internal id)
//	outcome v1:  0x01, kind (1 click, 2 conversion), uvarint ts, 8-byte value bits,
//	             str recID, str customer
//	outcome v2:  0x02, kind (1 click, 2 conversion, 3 return), then as v1,
//	             then uvarint product (the store's internal id)
//
// where str is a uvarint length and the bytes. Outcomes are written as v2:
// a return without a refund takes back the purchase of its product
// (returns.go), so a conversion must say which product it was; v1 entries,
// written before returns counted, are read with no product.

const (
	logVersion        = 1
	outcomeLogVersion = 2
)

// outcomeKind is what an attributed event counts as.
type outcomeKind byte

const (
	outcomeClick      outcomeKind = 1
	outcomeConversion outcomeKind = 2
	outcomeReturn     outcomeKind = 3
)

// outcomeEntry is one outcome log entry.
type outcomeEntry struct {
	recID, cust string
	kind        outcomeKind
	value       float64
	ts          int64
	product     uint32
	hasProduct  bool // false in v1 entries
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func encodeExposure(op exposureOp, forced bool, cfg uint64) []byte {
	b := make([]byte, 0, 24+len(op.exp)+len(op.variant)+len(op.recID)+len(op.unit)+3*len(op.pids))
	var flags byte
	if forced {
		flags = 1
	}
	b = append(b, logVersion, flags)
	b = binary.AppendUvarint(b, uint64(max(op.ts, 0)))
	b = binary.BigEndian.AppendUint64(b, cfg)
	b = appendStr(b, op.exp)
	b = appendStr(b, op.variant)
	b = appendStr(b, op.recID)
	b = appendStr(b, op.unit)
	b = binary.AppendUvarint(b, uint64(len(op.pids)))
	for _, p := range op.pids {
		b = binary.AppendUvarint(b, uint64(p))
	}
	return b
}

func encodeOutcome(o outcomeEntry) []byte {
	b := make([]byte, 0, 30+len(o.recID)+len(o.cust))
	b = append(b, outcomeLogVersion, byte(o.kind))
	b = binary.AppendUvarint(b, uint64(max(o.ts, 0)))
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(o.value))
	b = appendStr(b, o.recID)
	b = appendStr(b, o.cust)
	return binary.AppendUvarint(b, uint64(o.product))
}

// logReader decodes the entries above; the first error sticks.
type logReader struct {
	b      []byte
	err    error
	intern map[string]string
}

func (r *logReader) fail(msg string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", features.ErrInvalid, msg)
	}
}

func (r *logReader) byte() byte {
	if r.err != nil || len(r.b) < 1 {
		r.fail("truncated entry")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *logReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *logReader) u64() uint64 {
	if r.err != nil || len(r.b) < 8 {
		r.fail("truncated entry")
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *logReader) raw() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > maxLogString || n > uint64(len(r.b)) {
		r.fail("string length out of range")
		return nil
	}
	s := r.b[:n]
	r.b = r.b[n:]
	if !utf8.Valid(s) {
		r.fail("string is not UTF-8")
		return nil
	}
	return s
}

func (r *logReader) str() string { return string(r.raw()) }

func (r *logReader) internStr() string {
	b := r.raw()
	if r.intern == nil {
		return string(b)
	}
	if s, ok := r.intern[string(b)]; ok { // no allocation for the lookup
		return s
	}
	s := string(b)
	r.intern[s] = s
	return s
}

func (r *logReader) ts() int64 {
	v := r.uvarint()
	if v > math.MaxInt64 {
		r.fail("timestamp out of range")
		return 0
	}
	return int64(v)
}

// decodeExposure decodes one exposure entry. With intern set, experiment
// and variant names (a handful of distinct values in millions of entries)
// share one copy each.
func decodeExposure(b []byte, intern map[string]string) (op exposureOp, forced bool, cfg uint64, err error) {
	r := logReader{b: b, intern: intern}
	if v := r.byte(); r.err == nil && v != logVersion {
		r.fail(fmt.Sprintf("unknown exposure entry version %d", v))
	}
	flags := r.byte()
	op.ts = r.ts()
	cfg = r.u64()
	op.exp, op.variant = r.internStr(), r.internStr()
	op.recID, op.unit = r.str(), r.str()
	n := r.uvarint()
	if r.err == nil && n > maxLogItems {
		r.fail("too many items")
	}
	if r.err == nil && n > 0 {
		op.pids = make([]uint32, 0, min(n, uint64(len(r.b))))
		for i := uint64(0); i < n && r.err == nil; i++ {
			p := r.uvarint()
			if p > math.MaxUint32 {
				r.fail("product id out of range")
			}
			op.pids = append(op.pids, uint32(p))
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("trailing bytes")
	}
	if r.err == nil && (op.exp == "" || op.variant == "" || op.recID == "" || op.unit == "") {
		r.fail("empty field")
	}
	if r.err != nil {
		return exposureOp{}, false, 0, r.err
	}
	return op, flags&1 != 0, cfg, nil
}

func decodeOutcome(b []byte) (outcomeEntry, error) {
	r := logReader{b: b}
	var o outcomeEntry
	v := r.byte()
	if r.err == nil && v != logVersion && v != outcomeLogVersion {
		r.fail(fmt.Sprintf("unknown outcome entry version %d", v))
	}
	o.kind = outcomeKind(r.byte())
	if r.err == nil && (o.kind < outcomeClick || o.kind > outcomeReturn || o.kind == outcomeReturn && v == logVersion) {
		r.fail("unknown outcome kind")
	}
	o.ts = r.ts()
	o.value = math.Float64frombits(r.u64())
	if r.err == nil && (math.IsNaN(o.value) || math.IsInf(o.value, 0)) {
		r.fail("value is not finite")
	}
	// Entries written before event values were bounded may exceed the
	// bound that keeps revenue sums finite.
	o.value = features.ClampValue(o.value)
	o.recID, o.cust = r.str(), r.str()
	if v == outcomeLogVersion {
		p := r.uvarint()
		if r.err == nil && p > math.MaxUint32 {
			r.fail("product id out of range")
		}
		o.product, o.hasProduct = uint32(p), true
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("trailing bytes")
	}
	if r.err == nil && o.recID == "" {
		r.fail("empty recommendation id")
	}
	if r.err != nil {
		return outcomeEntry{}, r.err
	}
	return o, nil
}
