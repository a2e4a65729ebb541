package eventio

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
)

func TestDecodeEventJSON(t *testing.T) {
	checkDecodeEventJSONAccepts(t)
	checkDecodeEventJSONFieldErrors(t)
	checkDecodeEventJSONSyntaxErrors(t)
}

// decodeEventCP is the customer, product and type members of a minimal
// event, for the cases of TestDecodeEventJSON.
const decodeEventCP = `"customer_id":"c","product_id":"p","type":"view"`

// checkDecodeEventJSONAccepts checks the objects DecodeEventJSON accepts,
// and the event each decodes to.
func checkDecodeEventJSONAccepts(t *testing.T) {
	ts := time.Date(2024, 3, 1, 12, 30, 0, 0, time.UTC)
	base := features.Event{CustomerID: "c", ProductID: "p", Type: "view"}
	with := func(f func(*features.Event)) features.Event {
		e := base
		f(&e)
		return e
	}
	const cp = decodeEventCP
	ok := []struct {
		name, in string
		want     features.Event
	}{
		{"minimal", `{` + cp + `}`, base},
		{"every field", `{"event_id":"e","customer_id":"c","product_id":"p","type":"view","value":12.5,` +
			`"quantity":2,"timestamp":1709296200,"order_id":"o","recommendation_id":"r"}`,
			with(func(e *features.Event) {
				e.EventID, e.Value, e.Quantity, e.Timestamp, e.OrderID, e.RecommendationID = "e", 12.5, 2, ts, "o", "r"
			})},
		{"RFC 3339 timestamp", `{` + cp + `,"timestamp":"2024-03-01T13:30:00+01:00"}`, with(func(e *features.Event) { e.Timestamp = ts })},
		{"fractional unix timestamp", `{` + cp + `,"timestamp":1709296200.5}`,
			with(func(e *features.Event) { e.Timestamp = ts.Add(500 * time.Millisecond) })},
		{"exponent timestamp", `{` + cp + `,"timestamp":1.7092962e9}`, with(func(e *features.Event) { e.Timestamp = ts })},
		{"unix timestamp as a string", `{` + cp + `,"timestamp":"1709296200"}`, with(func(e *features.Event) { e.Timestamp = ts })},
		{"nulls are absent", `{` + cp + `,"order_id":null,"value":null,"timestamp":null}`, base},
		{"escapes", `{"customer_id":"c\"\\\/\u00e9\ud83d\ude00","product_id":"p","type":"view"}`,
			with(func(e *features.Event) { e.CustomerID = "c\"\\/é😀" })},
		{"escaped key", `{"customer\u005fid":"c","product_id":"p","type":"view"}`, base},
		{"largest value", `{` + cp + `,"value":1e9,"quantity":1e6}`, with(func(e *features.Event) { e.Value, e.Quantity = 1e9, 1e6 })},
		{"earliest timestamp", `{` + cp + `,"timestamp":"1990-01-01T00:00:00Z"}`,
			with(func(e *features.Event) { e.Timestamp = features.MinEventTime })},
		{"white space around members", "{ \t\r\n" + cp + "\n}", base},
	}
	for _, c := range ok {
		t.Run(c.name, func(t *testing.T) {
			got, err := DecodeEventJSON([]byte(c.in))
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if !sameEvent(got, c.want) {
				t.Fatalf("\n got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// checkDecodeEventJSONFieldErrors checks the well-formed objects
// DecodeEventJSON rejects with a FieldError, and the field it names.
func checkDecodeEventJSONFieldErrors(t *testing.T) {
	const cp = decodeEventCP
	fieldErrs := []struct{ name, in, field string }{
		{"number customer", `{"customer_id":17850,"product_id":"p","type":"view"}`, "customer_id"},
		// A lone surrogate decodes to U+FFFD (as encoding/json does), which
		// an id may not hold: "a\ud800b" and "a\udbffb" would be one id.
		{"lone surrogate in an id", `{"customer_id":"a\ud800b","product_id":"p","type":"view"}`, "customer_id"},
		{"object product", `{"customer_id":"c","product_id":{"id":"p"},"type":"view"}`, "product_id"},
		{"bool type", `{"customer_id":"c","product_id":"p","type":true}`, "type"},
		{"string value", `{` + cp + `,"value":"12"}`, "value"},
		{"array quantity", `{` + cp + `,"quantity":[1]}`, "quantity"},
		{"value out of range", `{` + cp + `,"value":1e400}`, "value"},
		{"bad timestamp string", `{` + cp + `,"timestamp":"yesterday"}`, "timestamp"},
		{"negative timestamp", `{` + cp + `,"timestamp":-1}`, "timestamp"},
		{"bool timestamp", `{` + cp + `,"timestamp":true}`, "timestamp"},
		{"unknown field", ` {"x":{"a":[1,2,{"b":null}],"c":"}"},` + cp + `,"y":[true,false,-0.5e-3]} ` + "\n", "x"},
		{"unknown field after a valid one", `{` + cp + `,"customer":"c"}`, "customer"},
		{"key case matters", `{"Customer_id":"c","product_id":"p","type":"view"}`, "Customer_id"},
		{"odd key quoted", `{` + cp + `,"a b":1}`, `"a b"`},
		{"repeated key", `{"customer_id":"x",` + cp + `}`, "customer_id"},
		{"repeated key, escaped", `{"customer\u005fid":"x",` + cp + `}`, "customer_id"},
		{"repeated null key", `{"value":null,"value":1,` + cp + `}`, "value"},
		{"first type error wins", `{"customer_id":1,"product_id":2,"type":"view"}`, "customer_id"},
		{"missing customer", `{"product_id":"p","type":"view"}`, "customer_id"},
		{"missing type", `{"customer_id":"c","product_id":"p"}`, "type"},
		{"negative quantity", `{` + cp + `,"quantity":-1}`, "quantity"},
		{"negative value", `{` + cp + `,"value":-3}`, "value"},
		{"absurd value", `{` + cp + `,"value":1.7e308}`, "value"},
		{"value above the bound", `{` + cp + `,"value":1000000000.5}`, "value"},
		{"quantity above the bound", `{` + cp + `,"quantity":1000001}`, "quantity"},
		{"explicit zero time", `{` + cp + `,"timestamp":"0001-01-01T00:00:00Z"}`, "timestamp"},
		{"unix zero", `{` + cp + `,"timestamp":0}`, "timestamp"},
		{"unix zero as a string", `{` + cp + `,"timestamp":"0"}`, "timestamp"},
		{"before the floor", `{` + cp + `,"timestamp":"1989-12-31T23:59:59Z"}`, "timestamp"},
		{"beyond 32-bit seconds", `{` + cp + `,"timestamp":"2106-02-08T00:00:00Z"}`, "timestamp"},
		{"control character in id", `{"customer_id":"a\u0001","product_id":"p","type":"view"}`, "customer_id"},
		{"invalid UTF-8 kept and rejected", "{\"customer_id\":\"a\xffb\",\"product_id\":\"p\",\"type\":\"view\"}", "customer_id"},
	}
	for _, c := range fieldErrs {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeEventJSON([]byte(c.in))
			var fe *features.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("got %v, want a FieldError for %s", err, c.field)
			}
		})
	}
}

// checkDecodeEventJSONSyntaxErrors checks the malformed inputs
// DecodeEventJSON rejects with ErrBadJSON, never with a FieldError.
func checkDecodeEventJSONSyntaxErrors(t *testing.T) {
	const cp = decodeEventCP
	syntaxErrs := []struct{ name, in string }{
		{"empty", ``},
		{"spaces", "  \n"},
		{"not an object", `["customer_id","c"]`},
		{"null", `null`},
		{"truncated", `{"customer_id":"c"`},
		{"truncated after a colon", `{"value":`},
		{"trailing comma", `{` + cp + `,}`},
		{"two objects", `{` + cp + `}{}`},
		{"single quotes", `{'customer_id':'c'}`},
		{"bad escape", `{"customer_id":"\x41","product_id":"p","type":"view"}`},
		{"short unicode escape", `{"customer_id":"\u12","product_id":"p","type":"view"}`},
		{"raw newline in string", "{\"customer_id\":\"a\nb\"}"},
		{"leading zero", `{` + cp + `,"value":01}`},
		{"bare minus", `{` + cp + `,"value":-}`},
		{"dot without digits", `{` + cp + `,"value":1.}`},
		{"exponent without digits", `{` + cp + `,"value":1e}`},
		{"NaN literal", `{` + cp + `,"value":NaN}`},
		{"bad literal", `{` + cp + `,"x":nul}`},
		{"missing colon", `{"customer_id" "c"}`},
		{"unclosed nested", `{` + cp + `,"x":[1,{"a":2]}`},
		{"syntax error after a type error", `{"customer_id":1,"product_id":"p","type":"view",}`},
		{"too deep", `{"x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`},
	}
	for _, c := range syntaxErrs {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeEventJSON([]byte(c.in))
			if !errors.Is(err, ErrBadJSON) || !errors.Is(err, features.ErrInvalid) {
				t.Fatalf("got %v, want ErrBadJSON", err)
			}
			var fe *features.FieldError
			if errors.As(err, &fe) {
				t.Fatalf("got a FieldError %v for malformed JSON", err)
			}
		})
	}
}
func TestNDJSON(t *testing.T) {
	const cp = `"customer_id":"c","product_id":"p","type":"view"`
	cases := []formatCase{
		{
			name:  "lines, blank lines, CRLF, BOM",
			input: "\ufeff{" + cp + "}\r\n\n   \n{" + cp + `,"value":2}` + "\n{" + cp + "}",
			want: []features.Event{
				{CustomerID: "c", ProductID: "p", Type: "view"},
				{CustomerID: "c", ProductID: "p", Type: "view", Value: 2},
				{CustomerID: "c", ProductID: "p", Type: "view"},
			},
		},
		{
			name: "one rejection per bad line",
			input: "{" + cp + "\n" + // 1
				`{"customer_id":1,"product_id":"p","type":"view"}` + "\n" + // 2
				`{"product_id":"p","type":"view"}` + "\n" + // 3
				"{" + cp + `,"timestamp":"soon"}` + "\n" + // 4
				`{"customer_id":"c","product_id":"p","type":"a b"}` + "\n" + // 5
				"[]\n" + // 6
				`{"customer_id":"ok","product_id":"p","type":"view"}` + "\n", // 7
			want:    []features.Event{{CustomerID: "ok", ProductID: "p", Type: "view"}},
			reasons: []string{"bad_json", "bad_customer_id", "missing_customer_id", "bad_timestamp", "bad_type", "bad_json"},
			lines:   []int{1, 2, 3, 4, 5, 6},
		},
		{
			name:    "line too long",
			input:   "{" + strings.Repeat(" ", maxLine) + cp + "}\n{" + cp + "}\n",
			want:    []features.Event{{CustomerID: "c", ProductID: "p", Type: "view"}},
			reasons: []string{"line_too_long"},
			lines:   []int{1},
		},
		{
			name:  "line just under the limit, over the buffer",
			input: "{" + strings.Repeat(" ", maxLine-len(cp)-10) + cp + "}\n",
			want:  []features.Event{{CustomerID: "c", ProductID: "p", Type: "view"}},
		},
		{
			name:    "last line too long, no newline",
			input:   "{" + cp + "}\n" + strings.Repeat("a", 3*maxLine),
			want:    []features.Event{{CustomerID: "c", ProductID: "p", Type: "view"}},
			reasons: []string{"line_too_long"},
			lines:   []int{2},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, FormatNDJSON) })
	}
}

// TestFastPaths checks the decoder's shortcuts against the slow paths they
// stand in for.
func TestFastPaths(t *testing.T) {
	for _, s := range []string{"0", "-0", "1", "15.3", "0.1", "2.55", "-7.25", "123456789012345",
		"99999999999999.9", "0.000000000000001", "1.000000000000000", "1234567890123456", "1e5", "1.5E-3"} {
		want, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := smallDecimal([]byte(s)); ok && (got != want || math.Signbit(got) != math.Signbit(want)) {
			t.Errorf("smallDecimal(%s) = %v, want %v", s, got, want)
		}
	}
	for _, s := range []string{"2024-03-01T12:30:00Z", "2024-03-01T12:30:00.123456789+05:30", "2024-02-30T12:30:00Z",
		"2024-03-01T24:30:00Z", "2024-03-01 12:30:00Z", "2024-03-01T12:30:00+24:00", "0001-01-01T00:00:00Z",
		"1709296200", " 2024-03-01T12:30:00Z", "2024-03-01T12:30:00z", "2024-03-01t12:30:00Z"} {
		want, wantErr := features.ParseTimestamp(s)
		got, err := parseTimeString(s)
		if (err != nil) != (wantErr != nil) || !got.Equal(want) || got.Location() != want.Location() {
			t.Errorf("parseTimeString(%q) = %v, %v; want %v, %v", s, got, err, want, wantErr)
		}
	}
}
