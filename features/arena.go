package features

import (
	"encoding/binary"
)

// arena hands out byte slices cut from large blocks, for values that live
// as long as one write batch. Not safe for concurrent use.
type arena struct {
	buf  []byte
	next int // size of the next block; the zero value means arenaBlock
}

const arenaBlock = 256 << 10

// take returns a zero-length slice with room for n bytes that no other
// slice of the arena shares.
func (a *arena) take(n int) []byte {
	if cap(a.buf)-len(a.buf) < n {
		size := a.next
		if size <= 0 {
			size = arenaBlock
		}
		a.buf = make([]byte, 0, max(min(size, arenaBlock), n))
		a.next = arenaBlock
	}
	b := a.buf[len(a.buf) : len(a.buf) : len(a.buf)+n]
	a.buf = a.buf[:len(a.buf)+n]
	return b
}

func (a *arena) str(prefix, s string) []byte {
	b := a.take(len(prefix) + len(s))
	b = append(b, prefix...)
	return append(b, s...)
}

func (a *arena) strU32(prefix string, v uint32) []byte {
	return binary.BigEndian.AppendUint32(append(a.take(len(prefix)+4), prefix...), v)
}

func (a *arena) strU64(prefix string, v uint64) []byte {
	return binary.BigEndian.AppendUint64(append(a.take(len(prefix)+8), prefix...), v)
}

func (a *arena) u32(v uint32) []byte { return binary.BigEndian.AppendUint32(a.take(4), v) }

func (a *arena) u64(v uint64) []byte { return binary.BigEndian.AppendUint64(a.take(8), v) }

// giveBack returns what the last take reserved beyond b (which it must
// have returned) and caps b, so later takes cannot share it.
func (a *arena) giveBack(b []byte) []byte {
	a.buf = a.buf[:len(a.buf)-(cap(b)-len(b))]
	return b[:len(b):len(b)]
}
