package offer

import (
	"encoding/binary"
	"errors"
)

// Log entries: a compact binary form, since a restart replays every one.
//
//	kind byte (1 shown, 2 response)
//	offer, incarnation, customer, recommendation id, channel: uvarint length + bytes
//	ts: varint unix seconds
//	segments: uvarint count, then each as a string
//	response: code byte, source byte (response entries only)
type offerLogEntry struct {
	kind                           byte
	offer, inc, cust, rec, channel string
	ts                             int64
	segs                           []string
	resp                           offerResp
	src                            offerRespSource
	// digest identifies an erased customer's original entry (erasecopy.go):
	// set on the anonymised entry and on its copy; isCopy marks the copy.
	digest [offerDigestLen]byte
	erased bool
	isCopy bool
}

const (
	offerEntryShown    byte = 1
	offerEntryResponse byte = 2
	// An erased entry anonymised in place, and its copy for the nodes that
	// never applied it: kind, the original's digest, then the anonymised
	// entry in the form above.
	offerEntryErased  byte = 3
	offerEntryCopy    byte = 4
	offerDigestLen         = 16
	maxOfferLogString      = 4096
	maxOfferLogSegs        = 1 << 12
)

var errBadOfferLog = errors.New("malformed offer log entry")

func encodeOfferLog(b []byte, e *offerLogEntry) []byte {
	b = append(b, e.kind)
	for _, s := range []string{e.offer, e.inc, e.cust, e.rec, e.channel} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendVarint(b, e.ts)
	b = binary.AppendUvarint(b, uint64(len(e.segs)))
	for _, s := range e.segs {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	if e.kind == offerEntryResponse {
		b = append(b, byte(e.resp), byte(e.src))
	}
	return b
}

// decodeOfferLog reads an entry into e (whose segs slice it reuses).
func decodeOfferLog(b []byte, e *offerLogEntry) error {
	e.erased, e.isCopy, e.digest = false, false, [offerDigestLen]byte{}
	if len(b) > 0 && (b[0] == offerEntryErased || b[0] == offerEntryCopy) {
		if len(b) < 1+offerDigestLen {
			return errBadOfferLog
		}
		var d [offerDigestLen]byte
		copy(d[:], b[1:])
		wrapped := b[0]
		if err := decodeOfferLog(b[1+offerDigestLen:], e); err != nil {
			return err
		}
		e.digest, e.erased, e.isCopy = d, wrapped == offerEntryErased, wrapped == offerEntryCopy
		return nil
	}
	if len(b) == 0 || (b[0] != offerEntryShown && b[0] != offerEntryResponse) {
		return errBadOfferLog
	}
	e.kind = b[0]
	b = b[1:]
	str := func() (string, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > maxOfferLogString || uint64(len(b)-k) < n {
			return "", false
		}
		s := string(b[k : k+int(n)])
		b = b[k+int(n):]
		return s, true
	}
	for _, dst := range []*string{&e.offer, &e.inc, &e.cust, &e.rec, &e.channel} {
		s, ok := str()
		if !ok {
			return errBadOfferLog
		}
		*dst = s
	}
	ts, k := binary.Varint(b)
	if k <= 0 {
		return errBadOfferLog
	}
	e.ts = ts
	b = b[k:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > maxOfferLogSegs {
		return errBadOfferLog
	}
	b = b[k:]
	e.segs = e.segs[:0]
	for i := uint64(0); i < n; i++ {
		s, ok := str()
		if !ok {
			return errBadOfferLog
		}
		e.segs = append(e.segs, s)
	}
	e.resp, e.src = 0, 0
	if e.kind == offerEntryResponse {
		if len(b) != 2 || b[0] < byte(offerAccepted) || b[0] > byte(offerIgnored) {
			return errBadOfferLog
		}
		e.resp, e.src = offerResp(b[0]), offerRespSource(b[1])
		return nil
	}
	if len(b) != 0 {
		return errBadOfferLog
	}
	return nil
}
