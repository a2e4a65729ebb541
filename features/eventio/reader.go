package eventio

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/affinity-rec/affinity/features"
)

// The format names accepted by Open and NewReader.
const (
	FormatCSV          = "csv"
	FormatNDJSON       = "ndjson"
	FormatMovieLens    = "movielens"
	FormatOnlineRetail = "online-retail"
)

// Formats returns the format names accepted by Open and NewReader.
func Formats() []string {
	return []string{FormatCSV, FormatNDJSON, FormatMovieLens, FormatOnlineRetail}
}

// decoder reads one format. next returns an event with the line it started
// on, a *LineError, io.EOF, or a fatal error.
type decoder interface {
	next() (features.Event, int, error)
}

// Reader reads events from one input in one format. It is not safe for
// concurrent use.
type Reader struct {
	format string
	dec    decoder
	retail *retailDecoder // dec, when it collects a catalogue
	ids    idAssigner
	closer []io.Closer
	err    error // sticky fatal error
}

// Open opens the file at path for reading in format. The file is gunzipped
// when its name ends in ".gz" or its first bytes are the gzip magic number.
// The caller must Close the Reader.
func Open(path, format string) (*Reader, error) {
	if err := checkFormat(format); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open events file: %w", err)
	}
	r, err := newReader(f, format, strings.HasSuffix(path, ".gz"))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	r.closer = append(r.closer, f)
	return r, nil
}

// NewReader reads events in format from r, gunzipping it when it starts with
// the gzip magic number. A CSV header is read at once, so a missing required
// column is reported here. Close does not close r.
func NewReader(r io.Reader, format string) (*Reader, error) {
	if err := checkFormat(format); err != nil {
		return nil, err
	}
	return newReader(r, format, false)
}

// CheckFormat says whether format is one Open and NewReader read, with the
// valid ones in its error: a command checks its flags before it opens a store.
func CheckFormat(format string) error { return checkFormat(format) }

func checkFormat(format string) error {
	for _, f := range Formats() {
		if f == format {
			return nil
		}
	}
	return fmt.Errorf("%w %q: valid formats are %s", ErrUnknownFormat, format, strings.Join(Formats(), ", "))
}

const bufSize = 64 << 10

var gzipMagic = []byte{0x1f, 0x8b}

func newReader(in io.Reader, format string, gz bool) (*Reader, error) {
	r := &Reader{format: format}
	br := bufio.NewReaderSize(in, bufSize)
	if !gz {
		magic, _ := br.Peek(len(gzipMagic))
		gz = bytes.Equal(magic, gzipMagic)
	}
	if gz {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("cannot gunzip: %w", err)
		}
		r.closer = append(r.closer, zr)
		br = bufio.NewReaderSize(zr, bufSize)
	}
	// A byte order mark would otherwise become part of the first column
	// name or make the first JSON line malformed.
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	var err error
	switch format {
	case FormatCSV:
		r.dec, err = newCSVDecoder(br)
	case FormatNDJSON:
		r.dec = &ndjsonDecoder{lines: lineReader{br: br}}
	case FormatMovieLens:
		r.dec = &movielensDecoder{lines: lineReader{br: br}}
	case FormatOnlineRetail:
		r.dec, err = newRetailDecoder(br)
	}
	if err != nil {
		r.Close()
		return nil, err
	}
	r.retail, _ = r.dec.(*retailDecoder)
	return r, nil
}

// Format returns the format the Reader reads.
func (r *Reader) Format() string { return r.format }

// Next returns the next event, which has passed features.ValidateEvent and
// has an EventID. At the end of the input it returns io.EOF. A line that did
// not become an event gives a *LineError: count it and call Next again. Any
// other error is fatal and is returned again by every later call.
func (r *Reader) Next() (features.Event, error) {
	if r.err != nil {
		return features.Event{}, r.err
	}
	ev, line, err := r.dec.next()
	if err != nil {
		if _, ok := err.(*LineError); ok {
			return features.Event{}, err
		}
		if err != io.EOF {
			err = fmt.Errorf("cannot read %s input after line %d: %w", r.format, line, err)
		}
		r.err = err
		return features.Event{}, err
	}
	if err := features.ValidateEvent(&ev); err != nil {
		return features.Event{}, lineError(line, ReasonBadField, err)
	}
	if err := checkSign(&ev); err != nil {
		return features.Event{}, lineError(line, ReasonBadField, err)
	}
	if ev.EventID == "" {
		ev.EventID = r.ids.assign(&ev)
	}
	if r.retail != nil {
		// A concrete call: through an interface, &ev would move every
		// event to the heap.
		r.retail.accepted(&ev)
	}
	return ev, nil
}

// Products returns the catalogue seen in the events read so far; call it
// after Next returned io.EOF. Only the online-retail format collects one;
// the others return nil. The map is the caller's.
func (r *Reader) Products() map[string]features.Product {
	if r.retail != nil {
		return r.retail.products()
	}
	return nil
}

// CustomerAttributes returns attributes of the customers seen in the events
// read so far (online-retail: "country"); call it after Next returned
// io.EOF. The other formats return nil. The maps are the caller's.
func (r *Reader) CustomerAttributes() map[string]map[string]any {
	if r.retail != nil {
		return r.retail.customerAttributes()
	}
	return nil
}

// Close releases the file opened by Open and the gzip reader. It does not
// close the io.Reader given to NewReader.
func (r *Reader) Close() error {
	var errs []error
	for i := len(r.closer) - 1; i >= 0; i-- {
		if err := r.closer[i].Close(); err != nil {
			errs = append(errs, err)
		}
	}
	r.closer = nil
	if r.err == nil {
		r.err = errors.New("reader closed")
	}
	return errors.Join(errs...)
}

// maxLine bounds one NDJSON or MovieLens line, so that a file without
// newlines cannot make the reader buffer all of it.
const maxLine = 1 << 20

// lineReader splits input into lines without copying when a line fits in
// the bufio buffer.
type lineReader struct {
	br   *bufio.Reader
	max  int    // longest line, maxLine when 0
	line int    // number of the line last returned
	long []byte // assembles a line longer than the buffer
}

// LineReader splits NDJSON input into lines of at most a set length,
// without buffering more than that of a longer line: POST /v1/events reads
// its streams with it. It is not safe for concurrent use.
type LineReader struct{ l lineReader }

// NewLineReader reads lines of at most max bytes (without the line end)
// from r. Close it when done to reuse its buffer.
func NewLineReader(r io.Reader, max int) *LineReader {
	return &LineReader{l: lineReader{br: pooledReader(r, min(max+2, bufSize)), max: max}}
}

// Next returns the next line that is not blank, valid until the next call,
// and its 1-based line number. A line over the limit is a *LineError with
// ReasonLineTooLong, and was passed over: call Next again. At the end it
// returns io.EOF; any other error is r's.
func (r *LineReader) Next() ([]byte, int, error) {
	b, n, err := r.l.nextContent()
	if le, ok := err.(*LineError); ok {
		le.Err = &features.FieldError{Field: "body", Msg: fmt.Sprintf("line %d is longer than %d bytes", n, r.l.max)}
	}
	return b, n, err
}

// next returns the next line without its "\n" or "\r\n", valid until the
// next call. tooLong reports a line over maxLine, which has been discarded.
// nextContent returns the next line that is not blank, with its number; a
// line over the limit is a LineError (the caller reads on after it).
func (l *lineReader) nextContent() ([]byte, int, error) {
	for {
		b, tooLong, err := l.next()
		if err != nil {
			return nil, l.line, err
		}
		if tooLong {
			return nil, l.line, &LineError{Line: l.line, Reason: ReasonLineTooLong}
		}
		if !isBlank(b) {
			return b, l.line, nil
		}
	}
}

func (l *lineReader) next() (b []byte, tooLong bool, err error) {
	max := l.max
	if max == 0 {
		max = maxLine
	}
	b, err = l.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		l.long = append(l.long[:0], b...)
		for err == bufio.ErrBufferFull {
			b, err = l.br.ReadSlice('\n')
			if !tooLong {
				l.long = append(l.long, b...)
				tooLong = len(l.long) > max+2
			}
		}
		b = l.long
	}
	if err != nil && err != io.EOF {
		return nil, false, err
	}
	if err == io.EOF && len(b) == 0 {
		return nil, false, io.EOF
	}
	l.line++
	if tooLong {
		return nil, true, nil
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) > max {
		return nil, true, nil
	}
	return b, false, nil
}
