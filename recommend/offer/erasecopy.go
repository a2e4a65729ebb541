package offer

import (
	"crypto/sha256"
	"fmt"
	"slices"
)

// Erased customers' offer entries for the nodes that never applied them.
// An erasure purges the customer's messages from the cluster log, their
// offer entries with them; a node that applied those entries anonymises
// them in place and keeps counting them, but one that replays the stream
// across the erasure without having applied them (down during it, or
// bootstrapped from an older snapshot) never sees them. So each node that
// erases anonymises in place and also appends anonymised copies (no
// customer, no recommendation id, on the definitions' subject), each
// marked with a digest of its original entry; a node counts a copy only
// if its log holds neither the original (as written, or anonymised in
// place: both carry the digest) nor an earlier copy of it. The logs'
// sequences differ between a node that applied the purged messages and
// one that did not, their content does not: the digest, not a sequence,
// names the original, so the rule gives the same counts on every node.
// Every erasing node appends the same copies (the log stores them once
// within its dedup window, and a later duplicate is not counted).

// offerDigest names an original entry: its first 16 bytes of SHA-256 (a
// showing carries a fresh recommendation id, so two showings never share
// one; two identical responses are one answer, counted once). It names
// no one: the entry it hashes held a random recommendation id, erased
// everywhere with the customer.
func offerDigest(v []byte) [offerDigestLen]byte {
	var d [offerDigestLen]byte
	h := sha256.Sum256(v)
	copy(d[:], h[:])
	return d
}

// wrapOfferLog encodes le anonymised, after kind and the digest.
func wrapOfferLog(kind byte, d [offerDigestLen]byte, le *offerLogEntry) []byte {
	b := append([]byte{kind}, d[:]...)
	return encodeOfferLog(b, le)
}

// entryDigest is the digest naming an entry: the one it carries, or that
// of its bytes for an original about a customer; ok is false for entries
// about no one (never erased, never copied).
func entryDigest(v []byte, le *offerLogEntry) ([offerDigestLen]byte, bool) {
	if le.erased || le.isCopy {
		return le.digest, true
	}
	if le.cust == "" {
		return [offerDigestLen]byte{}, false
	}
	return offerDigest(v), true
}

// eraseEntries is erase's part for one log: the customer's entries
// anonymised in place (keyed by sequence) and their copies, one per
// original. A response is copied only if it answers one of the
// customer's showings copied before (the shown log is erased first) and
// is the first answer to it, or answers no showing: the others were not
// counted where the originals were applied either.
func (s *Service) eraseEntries(kind, ext string, opened map[string]bool) (map[uint64][]byte, [][]byte, error) {
	anon := map[uint64][]byte{}
	var copies [][]byte
	seen := map[[offerDigestLen]byte]bool{}
	var le offerLogEntry
	err := s.recs.Scan(kind, 0, func(seq uint64, v []byte) error {
		if err := decodeOfferLog(v, &le); err != nil || le.cust != ext || le.erased || le.isCopy {
			return nil
		}
		d := offerDigest(v)
		key := le.offer + "\x00" + le.inc + "\x00" + le.rec
		counted := !seen[d]
		if le.rec != "" && le.kind == offerEntryShown {
			opened[key] = true
		} else if le.rec != "" {
			counted = counted && opened[key]
			delete(opened, key)
		}
		seen[d] = true
		le.cust, le.rec = "", ""
		anon[seq] = wrapOfferLog(offerEntryErased, d, &le)
		if counted {
			copies = append(copies, wrapOfferLog(offerEntryCopy, d, &le))
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("cannot scan %s for erasure: %w", kind, err)
	}
	return anon, copies, nil
}

// appendCopies logs the copies of an erasure's entries (one log). In
// single-node mode nothing replays a purged stream: no copies.
func (s *Service) appendCopies(kind string, copies [][]byte) error {
	if len(copies) == 0 || !s.clustered() {
		return nil
	}
	if err := s.appendEntries(kind, copies); err != nil {
		return fmt.Errorf("cannot log the anonymised copies of %s: %w", kind, err)
	}
	return nil
}

// copyCandidate is a copy met in a log, at seq.
type copyCandidate struct {
	seq uint64
	le  offerLogEntry
}

// candidate keeps le (whose segments the next decode overwrites).
func candidate(seq uint64, le *offerLogEntry) copyCandidate {
	c := copyCandidate{seq: seq, le: *le}
	c.le.segs = slices.Clone(le.segs)
	return c
}

// copiesToCount returns the copies among cands that this node counts: those
// whose original its log does not hold, in any form, and that no earlier
// copy in the log duplicates. One scan of the log (erasures are rare).
func (s *Service) copiesToCount(log string, cands []copyCandidate) ([]copyCandidate, error) {
	if len(cands) == 0 {
		return nil, nil
	}
	first := map[[offerDigestLen]byte]uint64{}
	for _, c := range cands {
		if q, ok := first[c.le.digest]; !ok || c.seq < q {
			first[c.le.digest] = c.seq
		}
	}
	held := map[[offerDigestLen]byte]bool{}
	var le offerLogEntry
	err := s.recs.Scan(log, 0, func(seq uint64, v []byte) error {
		if decodeOfferLog(v, &le) != nil {
			return nil
		}
		d, ok := entryDigest(v, &le)
		if !ok {
			return nil
		}
		if q, want := first[d]; want && (!le.isCopy || seq < q) {
			held[d] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot scan %s for erased entries: %w", log, err)
	}
	var out []copyCandidate
	for _, c := range cands {
		if !held[c.le.digest] && first[c.le.digest] == c.seq {
			out = append(out, c)
		}
	}
	return out, nil
}

// clustered reports whether the records travel on a cluster log.
func (s *Service) clustered() bool {
	c, ok := s.recs.(interface{ Clustered() bool })
	return ok && c.Clustered()
}

// scanWithCopies calls fn with each entry of kind in log of offer id,
// incarnation inc, in log order, then with the copies of erased entries
// this node counts (as rebuild counts them).
func (s *Service) scanWithCopies(log, id, inc string, kind byte, fn func(le *offerLogEntry)) error {
	var le offerLogEntry
	var cands []copyCandidate
	err := s.recs.Scan(log, 0, func(seq uint64, v []byte) error {
		if !offerLogOf(v, id, inc) || decodeOfferLog(v, &le) != nil || le.kind != kind {
			return nil
		}
		if le.isCopy {
			cands = append(cands, candidate(seq, &le))
		} else {
			fn(&le)
		}
		return nil
	})
	if err != nil {
		return err
	}
	count, err := s.copiesToCount(log, cands)
	for i := range count {
		fn(&count[i].le)
	}
	return err
}
