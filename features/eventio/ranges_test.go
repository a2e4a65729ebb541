package eventio

import (
	"errors"
	"testing"

	"github.com/affinity-rec/affinity/features"
)

// TestRangesEveryFormat holds every import format to the same ranges as
// POST /v1/events: a time before the floor (the explicit zero time and unix
// 0 included) and an out-of-range value are rejected lines naming the
// field, never an event dated "now" or a sum that overflows later.
func TestRangesEveryFormat(t *testing.T) {
	const cp = `"customer_id":"c","product_id":"p","type":"purchase"`
	cases := []struct {
		name, format, in, field string
	}{
		{"csv zero time", FormatCSV, "customer_id,product_id,timestamp\nc,p,0001-01-01T00:00:00Z\n", "timestamp"},
		{"csv unix zero", FormatCSV, "customer_id,product_id,timestamp\nc,p,0\n", "timestamp"},
		{"csv 1989", FormatCSV, "customer_id,product_id,timestamp\nc,p,1989-12-31T23:59:59Z\n", "timestamp"},
		{"csv absurd value", FormatCSV, "customer_id,product_id,value\nc,p,1.7e308\n", "value"},
		{"csv negative value", FormatCSV, "customer_id,product_id,value\nc,p,-5\n", "value"},
		{"csv huge quantity", FormatCSV, "customer_id,product_id,quantity\nc,p,1e7\n", "quantity"},
		{"ndjson zero time", FormatNDJSON, `{` + cp + `,"timestamp":"0001-01-01T00:00:00Z"}` + "\n", "timestamp"},
		{"ndjson unix zero", FormatNDJSON, `{` + cp + `,"timestamp":0}` + "\n", "timestamp"},
		{"ndjson absurd value", FormatNDJSON, `{` + cp + `,"value":1.7e308}` + "\n", "value"},
		{"movielens unix zero", FormatMovieLens, "c\tp\t5\t0\n", "timestamp"},
		{"movielens 1980", FormatMovieLens, "c\tp\t5\t315532800\n", "timestamp"},
		{"retail year 1", FormatOnlineRetail, retailHeader + "1,p,X,1,0001-01-01 00:00:00,1,c,UK\n", "timestamp"},
		{"retail 1989", FormatOnlineRetail, retailHeader + "1,p,X,1,12/31/1989 10:00,1,c,UK\n", "timestamp"},
		{"retail absurd value", FormatOnlineRetail, retailHeader + "1,p,X,1,2011-01-01 10:00:00,1e300,c,UK\n", "value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := readString(t, c.format, c.in)
			if len(res.events) != 0 || len(res.errs) != 1 || res.fatal != nil {
				t.Fatalf("got %d events %+v, %d line errors, fatal %v; want one rejected line", len(res.events), res.events, len(res.errs), res.fatal)
			}
			var fe *features.FieldError
			if !errors.As(res.errs[0].Err, &fe) || fe.Field != c.field {
				t.Fatalf("got %v, want a FieldError for %s", res.errs[0].Err, c.field)
			}
		})
	}
	// The floor itself and the data sets' eras pass.
	ok := map[string]string{
		FormatCSV:          "customer_id,product_id,timestamp,value\nc,p,1990-01-01T00:00:00Z,1e9\n",
		FormatMovieLens:    "c\tp\t5\t874965758\n", // 1997, MovieLens-100K
		FormatOnlineRetail: retailHeader + "1,p,X,1,12/1/2010 8:26,2.55,c,UK\n",
	}
	for format, in := range ok {
		if res := readString(t, format, in); len(res.events) != 1 {
			t.Errorf("%s: %+v, want one event", format, res)
		}
	}
}
