package features

import (
	"encoding/binary"
	"encoding/json"
	"math"

	"github.com/affinity-rec/affinity/features/similarity"
)

// The model section of a snapshot. Since version 3 it is the model being
// served, exactly: its lists, its supports and customer counts (from which
// its popularity follows), the self-tuner's choice (which personal lists
// use), the log sequence it includes, and what was
// pending when it was taken (the products and customers whose lists the
// next refresh rebuilds, and whether a dense solve is due). A restart then
// serves the same answers, scores included, and goes on refreshing where
// the stopped process would have. Version 2 snapshots were taken after a
// forced refresh, which ran the dense solve: shutdown took its seconds, and
// every list changed across a restart.

// servedState is what a snapshot keeps of the model and its refresh.
type servedState struct {
	m            *Model
	solvePending bool
	dirty        []uint32 // products whose lists are stale
	dirtyCust    []uint32 // customers with a new pair (index.dirtyCust)
}

// appendModel appends the version 3 model section. flush writes out b when
// it has grown past a chunk and returns it emptied.
func appendModel(b []byte, st *servedState, flush func([]byte) ([]byte, error)) ([]byte, error) {
	m := st.m
	b = append(b, 3)
	opt, _ := json.Marshal(m.Options)
	b = binary.AppendUvarint(b, uint64(len(opt)))
	b = append(b, opt...)
	b = append(b, modelFlags(m, st.solvePending))
	b = binary.AppendUvarint(b, m.Seq)
	// The self-tuner's choice (empty: none), which personal lists use.
	var tuned []byte
	if m.Tuned != nil {
		tuned, _ = json.Marshal(m.Tuned)
	}
	b = binary.AppendUvarint(b, uint64(len(tuned)))
	b = append(b, tuned...)
	var err error
	for bs := Basis(0); bs < NumBases; bs++ {
		if bs == BasisAny && m.anyAlias {
			b = binary.AppendUvarint(b, 0)
			continue
		}
		b = binary.AppendUvarint(b, uint64(len(m.Neighbours[bs])))
		for _, l := range m.Neighbours[bs] {
			b = binary.AppendUvarint(b, uint64(len(l)))
			for _, n := range l {
				b = binary.AppendUvarint(b, uint64(n.Product))
				b = binary.LittleEndian.AppendUint32(b, math.Float32bits(n.Score))
			}
			if len(b) >= snapChunkSize {
				if b, err = flush(b); err != nil {
					return nil, err
				}
			}
		}
	}
	for bs := Basis(0); bs < NumBases; bs++ {
		b = binary.AppendUvarint(b, uint64(len(m.Support[bs])))
		for _, n := range m.Support[bs] {
			b = binary.AppendUvarint(b, uint64(n))
		}
		b = binary.AppendUvarint(b, uint64(m.Customers[bs]))
	}
	b = appendIDs(b, st.dirty)
	return appendIDs(b, st.dirtyCust), nil
}

// appendIDs appends sorted ids as a count and deltas.
func appendIDs(b []byte, ids []uint32) []byte {
	b = binary.AppendUvarint(b, uint64(len(ids)))
	prev := uint32(0)
	for _, id := range ids {
		b = binary.AppendUvarint(b, uint64(id-prev))
		prev = id
	}
	return b
}

// readIDs reads what appendIDs wrote.
func (d *decoder) ids() []uint32 {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errCorrupt
		return nil
	}
	out := make([]uint32, n)
	prev := uint64(0)
	for i := range out {
		prev += d.uvarint()
		if prev > math.MaxUint32 {
			d.err = errCorrupt
			return nil
		}
		out[i] = uint32(prev)
	}
	return out
}

// decodeModel reads a model section of version v (1 to 3) whose options
// are o, for a snapshot at seq of nprod products; x receives what was
// pending (version 3). It returns the model and whether a dense solve was
// pending; the caller finishes a version 1 or 2 model (finishModel).
func decodeModel(d *decoder, v byte, o NeighbourOptions, seq uint64, nprod int, x *index) (*Model, bool) {
	m := &Model{Options: o, Seq: seq}
	var flags byte
	if v >= 2 {
		flags = d.byte1()
	}
	solvePending := setModelFlags(m, flags)
	if v >= 3 {
		if m.Seq = d.uvarint(); m.Seq > seq {
			d.err = errCorrupt
		}
		if tuned := d.bytesN(); d.err == nil && len(tuned) > 0 {
			m.Tuned = new(Tuning)
			if json.Unmarshal(tuned, m.Tuned) != nil {
				d.err = errCorrupt
			}
		}
	}
	for bs := Basis(0); bs < NumBases && d.err == nil; bs++ {
		m.Neighbours[bs] = decodeLists(d)
	}
	if m.anyAlias {
		m.Neighbours[BasisAny] = m.Neighbours[BasisBought]
	}
	if v < 3 || d.err != nil {
		return m, solvePending
	}
	for bs := Basis(0); bs < NumBases && d.err == nil; bs++ {
		n := d.uvarint()
		if d.err != nil || n > uint64(len(d.b)) || n > uint64(nprod) {
			d.err = errCorrupt
			break
		}
		m.Support[bs] = make([]uint32, n)
		for i := range m.Support[bs] {
			m.Support[bs][i] = d.u32()
		}
		m.Customers[bs] = int(d.u32())
		m.Popular[bs] = popularOf(m.Support[bs])
	}
	dirty, dirtyCust := d.ids(), d.ids()
	if d.err == nil {
		x.dirty.AddMany(dirty)
		x.dirtyCust.AddMany(dirtyCust)
	}
	return m, solvePending
}

// decodeLists reads one basis's neighbour lists.
func decodeLists(d *decoder) [][]similarity.Neighbour {
	np := d.uvarint()
	if d.err != nil || np > uint64(len(d.b)) {
		d.err = errCorrupt
		return nil
	}
	lists := make([][]similarity.Neighbour, np)
	for p := range lists {
		n := d.uvarint()
		if d.err != nil || n > uint64(len(d.b)) {
			d.err = errCorrupt
			return nil
		}
		if n == 0 {
			continue
		}
		l := make([]similarity.Neighbour, n)
		for i := range l {
			l[i].Product = d.u32()
			if d.err != nil || len(d.b) < 4 {
				d.err = errCorrupt
				return nil
			}
			l[i].Score = math.Float32frombits(binary.LittleEndian.Uint32(d.b))
			d.b = d.b[4:]
		}
		lists[p] = l
	}
	return lists
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
