package eventio

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/affinity-rec/affinity/features"
)

// The fuzz targets check, for any input, that a Reader neither panics nor
// stalls, that every event it returns is valid and has an id, that assigned
// ids are unique within the input, and that reading is deterministic (the
// basis of idempotent imports). Seeds: f.Add below and testdata/fuzz/.

func FuzzCSV(f *testing.F) {
	f.Add([]byte("customer_id,product_id,type,timestamp,value,quantity,order_id,event_id,recommendation_id\n" +
		"c,p,view,1709296200,1.5,2,o,e,r\nc,p,,2024-03-01T12:30:00Z,,,,,\n"))
	f.Add([]byte("\ufeffproduct_id,customer_id\r\n\"p,1\",\"c\"\"2\"\r\nx\n"))
	f.Add([]byte("customer_id,product_id\nc,\"p\nq\"\n\"unterminated\n"))
	f.Add(gzipBytes(f, []byte("customer_id,product_id\nc,p\n")))
	f.Fuzz(func(t *testing.T, data []byte) { checkReader(t, FormatCSV, data) })
}

func FuzzNDJSON(f *testing.F) {
	f.Add([]byte(`{"customer_id":"c","product_id":"p","type":"view","timestamp":1709296200}` + "\n\n" +
		`{"customer_id":"c","product_id":"p","type":"view","timestamp":"2024-03-01T12:30:00Z","x":[{}]}`))
	f.Add([]byte("{\"customer_id\":1}\n[]\n{\"customer_id\":\"\\ud800\",\"product_id\":\"p\",\"type\":\"t\"}\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) { checkReader(t, FormatNDJSON, data) })
}

func FuzzMovieLens(f *testing.F) {
	f.Add([]byte("196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t242\t3\t881250949\n"))
	f.Add([]byte("1::1193::5::978300760\r\n1\t2\n\n1\t2\tx\t3\n"))
	f.Fuzz(func(t *testing.T, data []byte) { checkReader(t, FormatMovieLens, data) })
}

func FuzzOnlineRetail(f *testing.F) {
	f.Add([]byte(retailHeader +
		"536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n" +
		"536381,82567,\"AIRLINE LOUNGE,METAL SIGN\",2,12/1/2010 9:41,2.1,15311.0,United Kingdom\n" +
		"C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,14527.0,United Kingdom\n" +
		"536414,22139,,56,2010-12-01 11:52:00,0,,United Kingdom\n"))
	f.Add([]byte("Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n1,a,b,1,2009-12-01 07:45:00,1,2,3\n"))
	f.Fuzz(func(t *testing.T, data []byte) { checkReader(t, FormatOnlineRetail, data) })
}

// readTrace reads data and describes everything Next returned.
func readTrace(t *testing.T, format string, data []byte) (*Reader, result, []string) {
	r, err := NewReader(bytes.NewReader(data), format)
	if err != nil {
		if !errors.Is(err, ErrBadHeader) && !bytes.HasPrefix(data, gzipMagic) {
			t.Fatalf("NewReader: unexpected error %v", err)
		}
		return nil, result{}, nil
	}
	res := readAll(t, r, plainSize(data)+10)
	if res.fatal != nil && !bytes.HasPrefix(data, gzipMagic) {
		t.Fatalf("fatal error on plain input: %v", res.fatal)
	}
	var trace []string
	for _, ev := range res.events {
		trace = append(trace, strings.Join([]string{ev.EventID, ev.CustomerID, ev.ProductID, ev.Type,
			strconv.FormatFloat(ev.Value, 'g', -1, 64), strconv.FormatFloat(ev.Quantity, 'g', -1, 64),
			ev.Timestamp.String(), ev.OrderID, ev.RecommendationID}, "|"))
	}
	for _, le := range res.errs {
		trace = append(trace, le.Error())
	}
	return r, res, trace
}

// plainSize is the size of data once gunzipped, which bounds how many times
// Next may be called.
func plainSize(data []byte) int {
	if !bytes.HasPrefix(data, gzipMagic) {
		return len(data)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return 0
	}
	n, _ := io.Copy(io.Discard, io.LimitReader(zr, 64<<20))
	return int(n)
}

func checkReader(t *testing.T, format string, data []byte) {
	r, res, trace := readTrace(t, format, data)
	if r == nil {
		return
	}
	assigned := map[string]bool{}
	for _, ev := range res.events {
		if err := features.ValidateEvent(&ev); err != nil {
			t.Fatalf("invalid event %+v: %v", ev, err)
		}
		if ev.EventID == "" {
			t.Fatalf("event without id: %+v", ev)
		}
		if strings.HasPrefix(ev.EventID, ContentID(&ev)) {
			if assigned[ev.EventID] {
				t.Fatalf("id %s assigned twice", ev.EventID)
			}
			assigned[ev.EventID] = true
		}
	}
	prev := 0
	for _, le := range res.errs {
		if le.Line < 1 || le.Line < prev || le.Reason == "" || (le.Skipped && le.Err != nil) {
			t.Fatalf("bad line error %+v after line %d", le, prev)
		}
		prev = le.Line
	}
	if format == FormatOnlineRetail {
		products := r.Products()
		for _, ev := range res.events {
			if _, ok := products[ev.ProductID]; !ok {
				t.Fatalf("product %q of an event is not in the catalogue", ev.ProductID)
			}
		}
	}
	_, _, again := readTrace(t, format, data)
	if !reflect.DeepEqual(trace, again) {
		t.Fatalf("two reads differ:\n%q\n%q", trace, again)
	}
}

// FuzzDecodeEventJSON compares the hand-written decoder with encoding/json:
// they must agree on what is well-formed, and on the fields of a
// well-formed object. Decoding what json.Marshal writes must give the same
// event back.
func FuzzDecodeEventJSON(f *testing.F) {
	for _, s := range []string{
		`{"event_id":"e","customer_id":"c","product_id":"p","type":"view","value":12.5,"quantity":2,` +
			`"timestamp":1709296200,"order_id":"o","recommendation_id":"r"}`,
		`{"customer_id":"c\u00e9\ud83d\ude00","product_id":"p","type":"view","timestamp":"2024-03-01T12:30:00Z"}`,
		`{"customer_id":1,"product_id":null,"x":[1,{"y":-0.5e-3}],"value":"1"}`,
		` {"customer\u005fid":"a","customer_id":"b"} `,
		`[{"customer_id":"c"}]`,
		`{"value":1e400,"timestamp":-1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeEventJSON(data)
		var fe *features.FieldError
		isFieldErr := errors.As(err, &fe)
		if err != nil && !isFieldErr && !errors.Is(err, ErrBadJSON) {
			t.Fatalf("error %v is neither a FieldError nor ErrBadJSON", err)
		}
		trimmed := bytes.TrimLeft(data, " \t\r\n")
		if !json.Valid(data) || len(trimmed) == 0 || trimmed[0] != '{' {
			if err == nil || isFieldErr {
				t.Fatalf("accepted input encoding/json rejects or that is not an object: %v", err)
			}
			return
		}
		if err != nil && !isFieldErr {
			t.Fatalf("rejected well-formed input: %v", err)
		}
		if utf8.Valid(data) {
			want, field := oracleDecodeEvent(t, data)
			switch {
			case field != "" && (fe == nil || fe.Field != field):
				t.Fatalf("got error %v, want a FieldError for %s", err, field)
			case field == "" && err != nil:
				t.Fatalf("got error %v, want %+v", err, want)
			case field == "" && !sameEvent(got, want):
				t.Fatalf("\n got %+v\nwant %+v", got, want)
			}
		}
		ev, err := DecodeEventJSON(data)
		if err != nil {
			return
		}
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeEventJSON(b)
		if err != nil || !sameEvent(back, ev) {
			t.Fatalf("round trip of %s: %+v, %v; want %+v", b, back, err, ev)
		}
	})
}

// oracleDecodeEvent decodes a well-formed object with encoding/json, key by
// key in order, following DecodeEventJSON's rules (an unknown or repeated
// key is a field error). It returns the event or
// the field of the first type error.
func oracleDecodeEvent(t *testing.T, data []byte) (features.Event, string) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var ev features.Event
	seen := map[string]bool{}
	firstErr := ""
	fail := func(field string) {
		if firstErr == "" {
			firstErr = field
		}
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			t.Fatal(err)
		}
		key := tok.(string)
		if _, known := eventKey([]byte(key)); !known || seen[key] {
			fail(keyName([]byte(key))) // unknown or repeated: value not looked at
			continue
		}
		seen[key] = true
		if !oracleField(t, &ev, key, newOracleValue(raw)) {
			fail(key)
		}
	}
	return ev, firstErr
}

// oracleValue is the raw value of one member, classed by its first byte.
type oracleValue struct {
	raw                        json.RawMessage
	isNull, isString, isNumber bool
}

// newOracleValue classes raw, a well-formed JSON value.
func newOracleValue(raw json.RawMessage) oracleValue {
	return oracleValue{
		raw:      raw,
		isNull:   string(raw) == "null",
		isString: raw[0] == '"',
		isNumber: raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9',
	}
}

// oracleField decodes the value of the known key into ev, by the group of
// the field (ids, numbers, timestamp), and reports false for a type error.
func oracleField(t *testing.T, ev *features.Event, key string, v oracleValue) bool {
	switch key {
	case "event_id":
		return v.str(t, &ev.EventID)
	case "customer_id":
		return v.str(t, &ev.CustomerID)
	case "product_id":
		return v.str(t, &ev.ProductID)
	case "type":
		return v.str(t, &ev.Type)
	case "order_id":
		return v.str(t, &ev.OrderID)
	case "recommendation_id":
		return v.str(t, &ev.RecommendationID)
	case "value", "quantity":
		dst := &ev.Value
		if key == "quantity" {
			dst = &ev.Quantity
		}
		return v.number(dst)
	case "timestamp":
		return v.timestamp(t, &ev.Timestamp)
	}
	return true
}

// str decodes an id field: a string is stored in dst, null leaves dst as it
// is, anything else is a type error (false).
func (v oracleValue) str(t *testing.T, dst *string) bool {
	switch {
	case v.isString:
		if err := json.Unmarshal(v.raw, dst); err != nil {
			t.Fatal(err)
		}
	case !v.isNull:
		return false
	}
	return true
}

// number decodes value or quantity: a number is stored in dst even when it
// is out of range (a type error), null leaves dst as it is, anything else
// is a type error (false).
func (v oracleValue) number(dst *float64) bool {
	ok := true
	if v.isNumber {
		f, err := strconv.ParseFloat(string(v.raw), 64)
		if err != nil {
			ok = false
		}
		*dst = f
	} else if !v.isNull {
		ok = false
	}
	return ok
}

// timestamp decodes the timestamp: a string or a number is parsed and
// stored in dst even when it does not parse (a type error), null leaves dst
// as it is, anything else is a type error (false).
func (v oracleValue) timestamp(t *testing.T, dst *time.Time) bool {
	var s string
	switch {
	case v.isString:
		if err := json.Unmarshal(v.raw, &s); err != nil {
			t.Fatal(err)
		}
	case v.isNumber:
		s = string(v.raw)
	case v.isNull:
		return true
	default:
		return false
	}
	ok := true
	ts, err := features.ParseTimestamp(s)
	if err != nil {
		ok = false
	}
	if ts.IsZero() {
		ts = time.Time{}
	}
	*dst = ts
	return ok
}

// FuzzLineReader checks LineReader against splitting the whole input: the
// same lines in order, each at most max bytes, a LineError for each line
// over it, blank lines left out.
func FuzzLineReader(f *testing.F) {
	f.Add([]byte("a\nbb\r\n\n   \nccc"), uint16(2))
	f.Add([]byte(strings.Repeat("x", 70000)+"\nok\n"), uint16(65535))
	f.Fuzz(func(t *testing.T, data []byte, max16 uint16) {
		max := int(max16)%(1<<17) + 1
		var want []string
		for _, l := range strings.Split(string(data), "\n") {
			want = append(want, strings.TrimSuffix(l, "\r"))
		}
		if len(data) > 0 && data[len(data)-1] == '\n' {
			want = want[:len(want)-1]
		}
		r := NewLineReader(bytes.NewReader(data), max)
		defer r.Close() // the next input reuses the buffer: nothing of this one may show there
		i := 0
		for {
			line, n, err := r.Next()
			if err == io.EOF {
				break
			}
			for i < len(want) && isBlank([]byte(want[i])) && len(want[i]) <= max {
				i++
			}
			if i >= len(want) {
				t.Fatalf("line %d past the end: %q, %v", n, line, err)
			}
			if n != i+1 {
				t.Fatalf("line number %d, want %d", n, i+1)
			}
			var le *LineError
			switch {
			case errors.As(err, &le):
				if len(want[i]) <= max || le.Reason != ReasonLineTooLong {
					t.Fatalf("line %d of %d bytes (max %d): %v", n, len(want[i]), max, err)
				}
			case err != nil:
				t.Fatal(err)
			case string(line) != want[i]:
				t.Fatalf("line %d: %q, want %q", n, line, want[i])
			}
			i++
		}
		for ; i < len(want); i++ {
			if !isBlank([]byte(want[i])) || len(want[i]) > max {
				t.Fatalf("line %d of %d never returned", i+1, len(want))
			}
		}
	})
}
