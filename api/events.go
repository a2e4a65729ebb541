package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/eventio"
)

// POST /v1/events: one event, a JSON array or an NDJSON stream, decoded,
// validated and committed in chunks, with bounded replies.

// maxEventsPerRequest bounds one JSON array (decoded whole in memory);
// NDJSON is streamed instead and bounded by Options.StreamLimit.
const maxEventsPerRequest = 50000

func (s *Server) postEvents(c *fiber.Ctx) error {
	ct := strings.ToLower(c.Get(fiber.HeaderContentType))
	if strings.HasPrefix(ct, "application/x-ndjson") || strings.HasPrefix(ct, "application/jsonl") {
		return s.postEventStream(c)
	}
	var raws [][]byte
	trimmed := bytes.TrimSpace(c.Body())
	switch {
	case len(trimmed) == 0:
		return badRequest("body", "the body is empty; send one event, a JSON array or NDJSON")
	case trimmed[0] == '[':
		var arr []json.RawMessage
		if err := json.Unmarshal(trimmed, &arr); err != nil {
			return badRequest("body", "malformed JSON array: "+err.Error())
		}
		if len(arr) > maxEventsPerRequest {
			return &HTTPError{Status: fiber.StatusRequestEntityTooLarge, Detail: "at most 50000 events per JSON request; send NDJSON for more"}
		}
		raws = make([][]byte, len(arr))
		for i, r := range arr {
			raws[i] = r
		}
	default:
		raws = [][]byte{trimmed}
	}
	t := s.newTally()
	if err := s.ingestChunk(c, t, raws, 0); err != nil {
		return err
	}
	return s.replyEvents(c, t)
}

// streamChunk is how many NDJSON lines are committed at a time, and
// streamChunkBytes how many bytes of them at most: a stream is read
// incrementally, so its size is bounded by StreamLimit, not by memory.
const (
	streamChunk      = 5000
	streamChunkBytes = 4 << 20
)

// MaxLineBytes is the longest NDJSON line POST /v1/events accepts; a longer
// one is rejected on its own (its index and a detail in errors) without
// being buffered whole. An event is a few hundred bytes: its ids are at
// most 256 bytes each.
const MaxLineBytes = 64 << 10

// postEventStream reads an NDJSON body line by line and commits it in
// chunks. The reply comes after every accepted event is durable. A stream
// cut short by an error keeps the chunks committed before it; event ids
// make the retry idempotent.
func (s *Server) postEventStream(c *fiber.Ctx) (err error) {
	defer func() {
		if err != nil {
			// The stream may not have been read to its end: what is left
			// must not be taken for the next request on this connection.
			c.Context().SetConnectionClose()
		}
	}()
	r, _ := c.Locals(localBodyStream).(io.Reader) // decompressed, and bounded
	if r == nil {
		r = c.Context().RequestBodyStream()
	}
	if r == nil {
		r = bytes.NewReader(c.Body())
	}
	limit := int64(s.opts.StreamLimit)
	lines := eventio.NewLineReader(&boundedReader{r: r, n: limit}, MaxLineBytes)
	defer lines.Close()
	t := s.newTally()
	var ch streamChunker
	idx := 0
	for {
		line, _, err := lines.Next()
		var le *eventio.LineError
		switch {
		case err == io.EOF:
		case errors.Is(err, errBodyTooLarge):
			return &HTTPError{Status: fiber.StatusRequestEntityTooLarge,
				Detail: fmt.Sprintf("the NDJSON stream is over %d bytes; %d events before the limit were accepted", limit, t.accepted)}
		case errors.As(err, &le):
			// The lines before it go first, so rejections stay in order.
			if err := s.ingestChunk(c, t, ch.take(), ch.base); err != nil {
				return err
			}
			t.n++
			t.reject(features.Rejection{Index: idx, Field: "body", Detail: le.Err.Error()})
			idx++
			continue
		case err != nil:
			return badRequest("body", "cannot read the NDJSON stream: "+err.Error())
		}
		if err == io.EOF {
			break
		}
		if ch.add(line, idx) {
			if err := s.ingestChunk(c, t, ch.take(), ch.base); err != nil {
				return err
			}
		}
		idx++
	}
	if idx == 0 {
		return badRequest("body", "the body is empty; send one event, a JSON array or NDJSON")
	}
	if err := s.ingestChunk(c, t, ch.take(), ch.base); err != nil {
		return err
	}
	return s.replyEvents(c, t)
}

// streamChunker gathers consecutive NDJSON lines into one buffer (the line
// reader reuses its own) until a chunk is full. Its buffers are reused from
// chunk to chunk: the decoder copies what it keeps.
type streamChunker struct {
	buf  []byte
	ends []int
	raws [][]byte
	base int // request index of the first line
}

// add copies line, the event of request index idx, and reports whether
// the chunk is full.
func (ch *streamChunker) add(line []byte, idx int) bool {
	if len(ch.ends) == 0 {
		ch.base = idx
	}
	ch.buf = append(ch.buf, line...)
	ch.ends = append(ch.ends, len(ch.buf))
	return len(ch.ends) >= streamChunk || len(ch.buf) >= streamChunkBytes
}

// take returns the chunk's lines, of request indexes ch.base on, valid
// until the next add, and empties it.
func (ch *streamChunker) take() [][]byte {
	ch.raws = ch.raws[:0]
	start := 0
	for _, end := range ch.ends {
		ch.raws = append(ch.raws, ch.buf[start:end:end])
		start = end
	}
	ch.buf, ch.ends = ch.buf[:0], ch.ends[:0]
	return ch.raws
}

// maxEchoedErrors is how many rejections a reply lists; rejected counts
// them all. A stream of millions of bad lines would otherwise be answered
// with a reply larger than itself, held whole in memory.
const maxEchoedErrors = 100

// ingestTally adds up a request's chunks. Rejections are added in index
// order (chunk by chunk, each sorted), so the first maxEchoedErrors kept
// are the first of the request. Its slices are scratch reused by every
// chunk: a stream of millions of bad lines would otherwise allocate a
// chunk's worth of events and rejections each time.
type ingestTally struct {
	n, accepted, dups, rejected int
	seq                         uint64 // cluster mode: the last stream sequence
	errors                      []eventError
	m                           *metrics

	valid []features.Event
	orig  []int
	rejs  []chunkRejection
}

// chunkRejection is a rejection whose detail is written only if it is
// echoed.
type chunkRejection struct {
	r   features.Rejection
	err error // of the decoder, when r.Detail is empty
}

func (s *Server) newTally() *ingestTally { return &ingestTally{m: s.metrics} }

func (t *ingestTally) reject(r features.Rejection) { t.rejectErr(r, nil) }

func (t *ingestTally) rejectErr(r features.Rejection, err error) {
	t.rejected++
	t.m.rejectedEvent(r.Field)
	if len(t.errors) >= maxEchoedErrors {
		return
	}
	if err != nil {
		switch {
		case r.Field != "", errors.Is(err, eventio.ErrBadJSON):
			// eventio's syntax errors say "malformed JSON at byte N" already.
			r.Detail = err.Error()
		default:
			r.Detail = "malformed JSON: " + err.Error()
		}
	}
	t.errors = append(t.errors, eventError(r))
}

// ingestChunk decodes raws (request indexes base, base+1, ...) and commits
// the valid ones.
func (s *Server) ingestChunk(c *fiber.Ctx, t *ingestTally, raws [][]byte, base int) error {
	if len(raws) == 0 {
		return nil
	}
	t.valid, t.orig, t.rejs = t.valid[:0], t.orig[:0], t.rejs[:0]
	for i, raw := range raws {
		e, err := eventio.DecodeEventJSON(raw)
		if err != nil {
			r := features.Rejection{Index: base + i, Field: features.FieldOf(err)}
			t.rejs = append(t.rejs, chunkRejection{r: r, err: err})
			continue
		}
		t.valid = append(t.valid, e)
		t.orig = append(t.orig, base+i)
	}
	t.n += len(raws)
	if len(t.valid) > 0 {
		res, err := s.deps.Store.Ingest(c.UserContext(), t.valid, features.IngestOptions{})
		if err != nil {
			return err
		}
		for _, r := range res.Rejected {
			r.Index = t.orig[r.Index]
			t.rejs = append(t.rejs, chunkRejection{r: r})
		}
		t.accepted += res.Accepted
		t.seq = max(t.seq, res.Seq)
		t.dups += res.Duplicates
	}
	sort.SliceStable(t.rejs, func(i, j int) bool { return t.rejs[i].r.Index < t.rejs[j].r.Index })
	for _, r := range t.rejs {
		t.rejectErr(r.r, r.err)
	}
	return nil
}

func (s *Server) replyEvents(c *fiber.Ctx, t *ingestTally) error {
	s.metrics.eventsAccepted(t.accepted)
	truncated := t.rejected > len(t.errors)
	if t.accepted == 0 && t.rejected > 0 {
		p := problemFor(badRequest(t.errors[0].Field, t.errors[0].Detail))
		if t.n > 1 {
			p.Detail = fmt.Sprintf("every event was rejected (%d); see errors", t.rejected)
			if truncated {
				p.Detail += fmt.Sprintf(", which lists the first %d", len(t.errors))
			}
			p.Field = ""
		}
		p.Errors, p.ErrorsTruncated = t.errors, truncated
		return writeProblem(c, p)
	}
	reply := eventsReply{Accepted: t.accepted, Rejected: t.rejected, Duplicates: t.dups, Errors: t.errors, ErrorsTruncated: truncated, Seq: t.seq}
	setSeqHeader(c, t.seq)
	if reply.Errors == nil {
		reply.Errors = []eventError{}
	}
	return c.JSON(reply)
}
