package features

import "encoding/binary"

// The whole Badger key layout. Nothing outside this file builds a key.
//
//	m/<name>                      meta values (schema version, applied stream sequence)
//	dc/<external id>              -> customer uint32 (big endian)
//	dp/<external id>              -> product uint32
//	rc/<uint32>                   -> customer external id
//	rp/<uint32>                   -> product external id
//	t/<type name>                 -> event type code (1 byte)
//	e/<seq uint64>                -> encoded log record (event or erasure)
//	x/<16-byte event id hash>     -> seq: idempotency of event ids
//	p/<uint32>                    -> product JSON (null: deleted, products.go)
//	c/<uint32>                    -> customer JSON
//	s/meta                        -> snapshot header; s/<gen>/<chunk> -> snapshot bytes
//	k/<kind>\x00<id>              -> a record of another package (segments, offers, experiments)
//	l/<kind>\x00<seq uint64>      -> an append-only log of another package (exposures, responses)
//	z/<16-byte keyed id hash>     -> nothing: an erased customer (erased.go)
//	y/<16-byte keyed id hash>     -> keyed hash of the customer it was merged into (merge.go)
//	v/<uint32>                    -> ids merged into that customer (cluster mode; clusterops_merge.go)
const (
	prefixMeta        = "m/"
	prefixCustDict    = "dc/"
	prefixProdDict    = "dp/"
	prefixCustRev     = "rc/"
	prefixProdRev     = "rp/"
	prefixType        = "t/"
	prefixLog         = "e/"
	prefixDedup       = "x/"
	prefixProduct     = "p/"
	prefixCustomer    = "c/"
	prefixSnapshot    = "s/"
	keySnapshotMeta   = "s/meta"
	prefixRecord      = "k/"
	prefixAppendLog   = "l/"
	prefixErased      = "z/"
	prefixMerged      = "y/"
	prefixMergedFrom  = "v/"
	schemaVersionName = "m/schema"
	// keyStreamSeq holds the last cluster stream sequence applied (clusterlog.go).
	keyStreamSeq = "m/stream-seq"
	// keyStreamTick holds the last stream tick applied: its sequence and
	// time (clustertick.go).
	keyStreamTick = "m/stream-tick"
	// keyTuning holds the self-tuner's latest Tuning as JSON (tuning_key.go):
	// a backup carries it, so a restored store serves the source's answers
	// from its first request.
	keyTuning = "m/tuning"
)

func keyU32(prefix string, id uint32) []byte {
	k := make([]byte, len(prefix)+4)
	copy(k, prefix)
	binary.BigEndian.PutUint32(k[len(prefix):], id)
	return k
}

func keyU64(prefix string, v uint64) []byte {
	k := make([]byte, len(prefix)+8)
	copy(k, prefix)
	binary.BigEndian.PutUint64(k[len(prefix):], v)
	return k
}

func keyStr(prefix, s string) []byte {
	k := make([]byte, len(prefix)+len(s))
	copy(k, prefix)
	copy(k[len(prefix):], s)
	return k
}

func keySnapshotChunk(gen uint64, chunk uint32) []byte {
	k := make([]byte, len(prefixSnapshot)+12)
	copy(k, prefixSnapshot)
	binary.BigEndian.PutUint64(k[len(prefixSnapshot):], gen)
	binary.BigEndian.PutUint32(k[len(prefixSnapshot)+8:], chunk)
	return k
}

func keyRecord(kind, id string) []byte {
	return keyStr(prefixRecord, kind+"\x00"+id)
}

func keyAppendLog(kind string, seq uint64) []byte {
	p := prefixAppendLog + kind + "\x00"
	return keyU64(p, seq)
}
