package features

import "testing"

// FuzzDecodeMerge: a merge record is read back from disk, which may be
// damaged; decoding must never panic, and what decodes must re-encode to
// a record of the same ids.
func FuzzDecodeMerge(f *testing.F) {
	f.Add(encodeMerge(7, 9))
	f.Add(encodeMerge(1<<32-1, 0))
	f.Add([]byte{recMerge, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add(encodeErase(3))
	f.Fuzz(func(t *testing.T, b []byte) {
		from, to, err := decodeMerge(b)
		if err != nil {
			return
		}
		if again := encodeMerge(from, to); string(again) != string(b) {
			// A varint may be written longer than needed; it must still
			// mean the same ids.
			f2, t2, err := decodeMerge(again)
			if err != nil || f2 != from || t2 != to {
				t.Fatalf("%x decodes to %d, %d, which re-encode to %x (%v)", b, from, to, again, err)
			}
		}
	})
}
