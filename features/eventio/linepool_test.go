package eventio

import (
	"io"
	"strings"
	"testing"
)

// TestLineReaderReuse: a reader closed half way through a body (a request
// refused mid-stream) gives its buffer back with that body's unread bytes
// and a long line's partial assembly in it; the next body read with it must
// show only its own lines.
func TestLineReaderReuse(t *testing.T) {
	long := strings.Repeat("x", bufSize+10)
	first := "a1\n" + long + "\na3\na4\n"
	for round := 0; round < 3; round++ {
		r := NewLineReader(strings.NewReader(first), bufSize-2)
		if line, _, err := r.Next(); err != nil || string(line) != "a1" {
			t.Fatalf("round %d: first line %q, %v", round, line, err)
		}
		if _, _, err := r.Next(); err == nil {
			t.Fatalf("round %d: a line over the limit was not refused", round)
		}
		r.Close()
		r.Close() // twice is harmless

		r = NewLineReader(strings.NewReader("b1\n\nb2"), bufSize-2)
		var got []string
		for {
			line, _, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, string(line))
		}
		r.Close()
		if strings.Join(got, ",") != "b1,b2" {
			t.Fatalf("round %d: second body read as %q", round, got)
		}
	}
}
