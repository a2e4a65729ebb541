package eventio

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
)

func TestUnknownFormat(t *testing.T) {
	_, err := NewReader(strings.NewReader(""), "xml")
	if !errors.Is(err, ErrUnknownFormat) {
		t.Fatalf("got %v, want ErrUnknownFormat", err)
	}
	for _, f := range Formats() {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not list %q", err, f)
		}
	}
	if _, err := Open("does-not-matter", "xml"); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("Open: got %v, want ErrUnknownFormat", err)
	}
}

// TestGzip reads the same input plain and compressed, by name and by magic.
func TestGzip(t *testing.T) {
	inputs := map[string]string{
		FormatCSV:          "customer_id,product_id\nc,p\n",
		FormatNDJSON:       `{"customer_id":"c","product_id":"p","type":"purchase"}` + "\n",
		FormatMovieLens:    "c\tp\t5\t881250949\n",
		FormatOnlineRetail: retailHeader + "1,p,X,1,2011-01-01 10:00:00,1,c,UK\n",
	}
	dir := t.TempDir()
	for format, in := range inputs {
		t.Run(format, func(t *testing.T) {
			plain := readString(t, format, in)
			if len(plain.events) != 1 {
				t.Fatalf("plain input: %+v", plain)
			}
			gz := gzipBytes(t, []byte("\ufeff"+in))
			for _, name := range []string{"events.gz", "events.data"} {
				path := filepath.Join(dir, format+name)
				if err := os.WriteFile(path, gz, 0o644); err != nil {
					t.Fatal(err)
				}
				r, err := Open(path, format)
				if err != nil {
					t.Fatal(err)
				}
				res := readAll(t, r, 10)
				if err := r.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
				if len(res.events) != 1 || res.fatal != nil || len(res.errs) != 0 {
					t.Fatalf("%s: %+v", name, res)
				}
				if !sameEvent(res.events[0], plain.events[0]) {
					t.Errorf("%s: got %+v, want %+v", name, res.events[0], plain.events[0])
				}
			}
			r, err := NewReader(bytes.NewReader(gz), format)
			if err != nil {
				t.Fatal(err)
			}
			if res := readAll(t, r, 10); len(res.events) != 1 {
				t.Errorf("NewReader on gzip: %+v", res)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing.csv"), FormatCSV); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v", err)
	}
	notGzip := filepath.Join(dir, "plain.csv.gz")
	if err := os.WriteFile(notGzip, []byte("customer_id,product_id\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(notGzip, FormatCSV); err == nil {
		t.Error("a .gz file that is not gzip opened without error")
	}
}

// TestTruncatedGzip checks that a broken stream is fatal, and stays so.
func TestTruncatedGzip(t *testing.T) {
	var in strings.Builder
	for i := 0; i < 20000; i++ {
		in.WriteString("c\tp\t5\t881250949\n")
	}
	gz := gzipBytes(t, []byte(in.String()))
	r, err := NewReader(bytes.NewReader(gz[:len(gz)/2]), FormatMovieLens)
	if err != nil {
		t.Fatal(err)
	}
	res := readAll(t, r, 30000)
	if res.fatal == nil || !errors.Is(res.fatal, io.ErrUnexpectedEOF) {
		t.Fatalf("got fatal %v after %d events, want unexpected EOF", res.fatal, len(res.events))
	}
	var le *LineError
	if _, err := r.Next(); err != res.fatal || errors.As(err, &le) {
		t.Errorf("Next after a fatal error: %v", err)
	}
}

func TestNoCatalogueForOtherFormats(t *testing.T) {
	r, err := NewReader(strings.NewReader("customer_id,product_id\nc,p\n"), FormatCSV)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, r, 10)
	if r.Products() != nil || r.CustomerAttributes() != nil || r.Format() != FormatCSV {
		t.Error("a csv Reader has a catalogue")
	}
}

var idPattern = regexp.MustCompile(`^[0-9a-f]{32}(-[0-9]+)?$`)

func TestEventIDs(t *testing.T) {
	const in = "customer_id,product_id,timestamp,value,event_id\n" +
		"c,p,1709296200,1.50,\n" + // a
		"c,p,2024-03-01T12:30:00Z,1.5,\n" + // a again, written differently
		"c,p,1709296200,1.5,\n" + // a, third time
		"c,p,1709296201,1.5,\n" + // b
		"c,p,1709296200,1.5,given\n" // explicit id kept, not counted
	first := readString(t, FormatCSV, in)
	second := readString(t, FormatCSV, in)
	var ids []string
	for i, ev := range first.events {
		if ev.EventID != second.events[i].EventID {
			t.Errorf("event %d: id %q then %q on re-import", i, ev.EventID, second.events[i].EventID)
		}
		ids = append(ids, ev.EventID)
	}
	a := ContentID(&first.events[0])
	want := []string{a, a + "-2", a + "-3", ContentID(&first.events[3]), "given"}
	if strings.Join(ids, " ") != strings.Join(want, " ") {
		t.Errorf("ids\n%q\nwant\n%q", ids, want)
	}
	for _, id := range ids[:4] {
		if !idPattern.MatchString(id) {
			t.Errorf("id %q is not 32 hex digits with an optional counter", id)
		}
	}
	// Content ids do not depend on the format the event came in.
	j, err := DecodeEventJSON([]byte(`{"customer_id":"c","product_id":"p","type":"purchase","value":1.5,"timestamp":1709296200}`))
	if err != nil {
		t.Fatal(err)
	}
	if ContentID(&j) != a {
		t.Errorf("the same event from JSON has id %s, want %s", ContentID(&j), a)
	}
	// Every field takes part.
	base := features.Event{CustomerID: "c", ProductID: "p", Type: "t", Value: 1, Quantity: 1,
		Timestamp: time.Unix(1, 0), OrderID: "o", RecommendationID: "r"}
	seen := map[string]string{ContentID(&base): "base"}
	for name, change := range map[string]func(*features.Event){
		"customer":       func(e *features.Event) { e.CustomerID = "c2" },
		"product":        func(e *features.Event) { e.ProductID = "p2" },
		"type":           func(e *features.Event) { e.Type = "t2" },
		"value":          func(e *features.Event) { e.Value = 2 },
		"quantity":       func(e *features.Event) { e.Quantity = 2 },
		"timestamp":      func(e *features.Event) { e.Timestamp = time.Unix(2, 0) },
		"no timestamp":   func(e *features.Event) { e.Timestamp = time.Time{} },
		"order":          func(e *features.Event) { e.OrderID = "o2" },
		"recommendation": func(e *features.Event) { e.RecommendationID = "r2" },
		"field boundary": func(e *features.Event) { e.CustomerID, e.ProductID = "cp", "" },
	} {
		e := base
		change(&e)
		id := ContentID(&e)
		if other, dup := seen[id]; dup {
			t.Errorf("%s and %s have the same id", name, other)
		}
		seen[id] = name
	}
}
