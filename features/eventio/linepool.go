package eventio

import (
	"bufio"
	"io"
	"sync"
)

// linePool holds the buffered readers of LineReaders. POST /v1/events with
// an NDJSON body makes one LineReader per request, and a storefront's
// tracking beacons are mostly a few events each: a fresh 64 KiB buffer per
// request was most of what such a request allocated.
var linePool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, bufSize) }}

// pooledReader returns a reader of r with a buffer of size bytes, from the
// pool when size is the pool's.
func pooledReader(r io.Reader, size int) *bufio.Reader {
	if size != bufSize {
		return bufio.NewReaderSize(r, size)
	}
	br := linePool.Get().(*bufio.Reader)
	br.Reset(r)
	return br
}

// Close gives the reader's buffer back for the next request. The lines it
// returned are invalid after it (they were only valid until the next call
// of Next anyway), and so is r. Calling it twice is harmless.
func (r *LineReader) Close() {
	br := r.l.br
	if br == nil {
		return
	}
	r.l.br, r.l.long = nil, nil
	if br.Size() == bufSize {
		br.Reset(nil) // drop the body it read from
		linePool.Put(br)
	}
}
