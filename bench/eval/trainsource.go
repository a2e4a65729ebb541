package eval

import (
	"io"

	"github.com/affinity-rec/affinity/features"
)

// trainSource hands the train split to features.Import as one input, so
// an evaluation store is loaded exactly as `affinity import` loads one.
type trainSource struct {
	events []features.Event
	opened bool
}

func (s *trainSource) Open() (string, features.ImportReader, error) {
	if s.opened {
		return "", nil, io.EOF
	}
	s.opened = true
	return "train split", &trainReader{events: s.events}, nil
}

// trainReader yields the split's events without their ids: split events
// are distinct already, and idempotency keys would only cost writes.
type trainReader struct {
	events []features.Event
	next   int
}

func (r *trainReader) Next() (features.Event, error) {
	if r.next == len(r.events) {
		return features.Event{}, io.EOF
	}
	ev := r.events[r.next]
	r.next++
	ev.EventID = ""
	return ev, nil
}

func (r *trainReader) Products() map[string]features.Product         { return nil }
func (r *trainReader) CustomerAttributes() map[string]map[string]any { return nil }
func (r *trainReader) Close() error                                  { return nil }
