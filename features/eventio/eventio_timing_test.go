package eventio

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
)

// BenchmarkReader reads whole real files from memory and reports events/s
// (accepted events; skipped and rejected lines cost time but do not count).
// csv and ndjson are the Online Retail purchases written in those formats.
//
//	go test -run '^$' -bench Reader -benchtime 5x ./features/eventio
func BenchmarkReader(b *testing.B) {
	retailGz := sharedDataBytes(b, "uci-online-retail/online_retail.csv.gz")
	inputs := []struct {
		name, format string
		data         func() []byte
	}{
		{"online-retail", FormatOnlineRetail, func() []byte { return gunzipFile(b, sharedData(b, "uci-online-retail/online_retail.csv.gz")) }},
		{"online-retail.gz", FormatOnlineRetail, func() []byte { return retailGz }},
		{"movielens", FormatMovieLens, func() []byte { return sharedDataBytes(b, "movielens-100k/u.data") }},
		{"csv", FormatCSV, func() []byte { return retailAs(b, FormatCSV) }},
		{"ndjson", FormatNDJSON, func() []byte { return retailAs(b, FormatNDJSON) }},
	}
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			data := in.data()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			events := 0
			for b.Loop() {
				r, err := NewReader(bytes.NewReader(data), in.format)
				if err != nil {
					b.Fatal(err)
				}
				n, err := countEvents(r)
				if err != nil || n == 0 {
					b.Fatalf("error %v after %d events", err, n)
				}
				events += n
			}
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// countEvents drains r as an importer would, keeping nothing.
func countEvents(r *Reader) (int, error) {
	n := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			return n, nil
		}
		if _, ok := err.(*LineError); ok {
			continue
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

func sharedDataBytes(tb testing.TB, rel string) []byte {
	tb.Helper()
	b, err := os.ReadFile(sharedData(tb, rel))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// retailEvents returns the purchases of the full Online Retail file.
func retailEvents(tb testing.TB) []features.Event {
	tb.Helper()
	r, err := Open(sharedData(tb, "uci-online-retail/online_retail.csv.gz"), FormatOnlineRetail)
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	return readAll(tb, r, 1<<21).events
}

// retailAs writes the Online Retail purchases in format, without event ids
// so that reading them includes deriving the ids.
func retailAs(tb testing.TB, format string) []byte {
	var buf bytes.Buffer
	if format == FormatCSV {
		buf.WriteString("customer_id,product_id,event_type,timestamp,value,quantity,order_id\n")
	}
	for _, ev := range retailEvents(tb) {
		ev.EventID = ""
		switch format {
		case FormatCSV:
			fmt.Fprintf(&buf, "%s,%s,%s,%d,%s,%s,%s\n", ev.CustomerID, ev.ProductID, ev.Type, ev.Timestamp.Unix(),
				strconv.FormatFloat(ev.Value, 'g', -1, 64), strconv.FormatFloat(ev.Quantity, 'g', -1, 64), ev.OrderID)
		case FormatNDJSON:
			line, err := json.Marshal(ev)
			if err != nil {
				tb.Fatal(err)
			}
			buf.Write(line)
			buf.WriteByte('\n')
		}
	}
	return buf.Bytes()
}

var benchEventJSON = []byte(`{"customer_id":"17850","product_id":"85123A","type":"purchase","value":15.3,` +
	`"quantity":6,"timestamp":"2010-12-01T08:26:00Z","order_id":"536365","recommendation_id":"r-8f14e45f"}`)

// BenchmarkDecodeEventJSON compares the hand-written decoder with the
// obvious encoding/json one (a struct with a json.RawMessage timestamp,
// which is then parsed as a number or a string).
//
//	go test -run '^$' -bench DecodeEventJSON ./features/eventio
func BenchmarkDecodeEventJSON(b *testing.B) {
	b.Run("eventio", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeEventJSON(benchEventJSON); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("eventio-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := DecodeEventJSON(benchEventJSON); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeWithEncodingJSON(benchEventJSON); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

func decodeWithEncodingJSON(data []byte) (features.Event, error) {
	var v struct {
		EventID          string          `json:"event_id"`
		CustomerID       string          `json:"customer_id"`
		ProductID        string          `json:"product_id"`
		Type             string          `json:"type"`
		Value            float64         `json:"value"`
		Quantity         float64         `json:"quantity"`
		Timestamp        json.RawMessage `json:"timestamp"`
		OrderID          string          `json:"order_id"`
		RecommendationID string          `json:"recommendation_id"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return features.Event{}, err
	}
	ev := features.Event{EventID: v.EventID, CustomerID: v.CustomerID, ProductID: v.ProductID, Type: v.Type,
		Value: v.Value, Quantity: v.Quantity, OrderID: v.OrderID, RecommendationID: v.RecommendationID}
	if len(v.Timestamp) > 0 && v.Timestamp[0] == '"' {
		var s string
		if err := json.Unmarshal(v.Timestamp, &s); err != nil {
			return features.Event{}, err
		}
		v.Timestamp = []byte(s)
	}
	ts, err := features.ParseTimestamp(string(v.Timestamp))
	if err != nil {
		return features.Event{}, err
	}
	ev.Timestamp = ts
	return ev, features.ValidateEvent(&ev)
}

// BenchmarkContentID is the cost of deriving an event id, which every
// imported event without one pays.
func BenchmarkContentID(b *testing.B) {
	ev := features.Event{CustomerID: "17850", ProductID: "85123A", Type: "purchase", Value: 15.3,
		Quantity: 6, Timestamp: time.Unix(1291191960, 0), OrderID: "536365"}
	var a idAssigner
	b.ReportAllocs()
	for b.Loop() {
		a.assign(&ev)
	}
}

// BenchmarkLineReaderBeacon reads a tracking beacon's NDJSON body (three
// short events) the way POST /v1/events does. "fresh" is without Close,
// which is what every request cost before the pool: a new 64 KiB buffer.
//
//	go test -run '^$' -bench LineReaderBeacon -benchmem ./features/eventio
func BenchmarkLineReaderBeacon(b *testing.B) {
	body := []byte(`{"customer_id":"c1","product_id":"p1","type":"view"}
{"customer_id":"c1","product_id":"p2","type":"view"}
{"customer_id":"c1","product_id":"p2","type":"cart"}
`)
	for _, pooled := range []bool{false, true} {
		name := map[bool]string{false: "fresh", true: "pooled"}[pooled]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				r := NewLineReader(bytes.NewReader(body), 64<<10)
				for {
					if _, _, err := r.Next(); err != nil {
						break
					}
				}
				if pooled {
					r.Close()
				}
			}
		})
	}
}
