package eventio

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/affinity-rec/affinity/features"
)

// movielensDecoder reads MovieLens ratings: "user item rating unix-ts",
// separated by tabs (100K u.data) or by "::" (1M and 10M ratings.dat).
type movielensDecoder struct {
	lines lineReader
}

func (d *movielensDecoder) next() (features.Event, int, error) {
	b, line, err := d.lines.nextContent()
	if err != nil {
		return features.Event{}, line, err
	}
	ev, err := parseRating(string(b))
	if le, ok := err.(*LineError); ok {
		le.Line = line
		return features.Event{}, line, le
	}
	if err != nil {
		return features.Event{}, line, lineError(line, ReasonBadField, err)
	}
	return ev, line, nil
}

// parseRating reads one rating line. It takes the line as one string so
// that the ids share its allocation.
func parseRating(s string) (features.Event, error) {
	sep := "\t"
	if !strings.Contains(s, sep) && strings.Contains(s, "::") {
		sep = "::"
	}
	var f [4]string
	rest := s
	for i := range f {
		var ok bool
		f[i], rest, ok = strings.Cut(rest, sep)
		if !ok && i < len(f)-1 {
			return features.Event{}, &LineError{Reason: ReasonBadFieldCount,
				Err: fmt.Errorf("%d fields, want 4 (user, item, rating, timestamp)", i+1)}
		}
		if ok && i == len(f)-1 {
			return features.Event{}, &LineError{Reason: ReasonBadFieldCount,
				Err: fmt.Errorf("more than 4 fields, want user, item, rating, timestamp")}
		}
	}
	rating, err := strconv.ParseFloat(strings.TrimSpace(f[2]), 64)
	if err != nil {
		return features.Event{}, &features.FieldError{Field: "value", Msg: fmt.Sprintf("rating %q is not a number", f[2])}
	}
	if strings.TrimSpace(f[3]) == "" {
		// An empty timestamp would mean "now", which no rating file means.
		return features.Event{}, &features.FieldError{Field: "timestamp", Msg: "is required"}
	}
	ts, err := features.ParseTimestamp(f[3])
	if err != nil {
		return features.Event{}, &features.FieldError{Field: "timestamp", Msg: err.Error()}
	}
	return features.Event{
		CustomerID: strings.TrimSpace(f[0]),
		ProductID:  strings.TrimSpace(f[1]),
		Type:       "rating",
		Value:      rating,
		Timestamp:  ts,
	}, nil
}
