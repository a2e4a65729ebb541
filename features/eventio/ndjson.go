package eventio

import (
	"github.com/affinity-rec/affinity/features"
)

// ndjsonDecoder reads one event JSON object per line.
type ndjsonDecoder struct {
	lines lineReader
}

func (d *ndjsonDecoder) next() (features.Event, int, error) {
	b, line, err := d.lines.nextContent()
	if err != nil {
		return features.Event{}, line, err
	}
	ev, err := decodeEventJSON(b)
	if err != nil {
		return features.Event{}, line, lineError(line, ReasonBadJSON, err)
	}
	return ev, line, nil
}

// isBlank reports a line of JSON white space only.
func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}
