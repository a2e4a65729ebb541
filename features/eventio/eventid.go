package eventio

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"strconv"

	"github.com/affinity-rec/affinity/features"
)

// idVersion starts every hashed record so that a future change of the
// normalisation cannot collide with ids already stored.
const idVersion = "affinity-event-id-v1"

// idAssigner derives event ids from event content and numbers exact
// duplicates within one input. It is not safe for concurrent use.
type idAssigner struct {
	buf  []byte
	seen map[uint64]uint32 // first 64 bits of the content hash -> occurrences
}

// ContentID returns the id an event without one gets on import: the hex of
// the first 128 bits of a SHA-256 over its normalised fields (customer,
// product, type, value, quantity, timestamp, order, recommendation; not the
// event id). Events that differ only in how the input wrote them (17850.0
// and 17850 as an Online Retail customer, 1.50 and 1.5 as a value, unix
// seconds and RFC 3339 for the same instant) get the same id. It is safe
// for concurrent use.
func ContentID(ev *features.Event) string {
	var a idAssigner
	sum := a.hash(ev)
	return hex.EncodeToString(sum[:16])
}

func (a *idAssigner) hash(ev *features.Event) [sha256.Size]byte {
	b := append(a.buf[:0], idVersion...)
	for _, s := range [...]string{ev.CustomerID, ev.ProductID, ev.Type, ev.OrderID, ev.RecommendationID} {
		// Length prefixes keep ("ab","c") and ("a","bc") apart.
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.LittleEndian.AppendUint64(b, floatBits(ev.Value))
	b = binary.LittleEndian.AppendUint64(b, floatBits(ev.Quantity))
	if ev.Timestamp.IsZero() {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = binary.LittleEndian.AppendUint64(b, uint64(ev.Timestamp.UnixNano()))
	}
	a.buf = b
	return sha256.Sum256(b)
}

// floatBits makes -0 and 0 the same value.
func floatBits(f float64) uint64 {
	if f == 0 {
		return 0
	}
	return math.Float64bits(f)
}

// assign returns the id of ev: its ContentID, suffixed "-n" for the n-th
// occurrence of the same content in this input (n >= 2). Keying the count
// by 64 of the 128 bits keeps the map small; a collision would only number
// an event as a duplicate, still deterministically.
func (a *idAssigner) assign(ev *features.Event) string {
	sum := a.hash(ev)
	if a.seen == nil {
		a.seen = make(map[uint64]uint32)
	}
	k := binary.LittleEndian.Uint64(sum[:8])
	n := a.seen[k] + 1
	a.seen[k] = n
	var out [32 + 1 + 10]byte
	hex.Encode(out[:32], sum[:16])
	id := out[:32]
	if n > 1 {
		id = append(id, '-')
		id = strconv.AppendUint(id, uint64(n), 10)
	}
	return string(id)
}
