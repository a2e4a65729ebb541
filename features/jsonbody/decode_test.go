package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/affinity-rec/affinity/features"
)

type inner struct {
	Name string `json:"name"`
}

type body struct {
	Name   *string           `json:"name"`
	Price  float64           `json:"price"`
	Count  int               `json:"count"`
	Tags   []string          `json:"tags"`
	Attrs  map[string]any    `json:"attributes"`
	Inner  *inner            `json:"inner"`
	Inners []inner           `json:"inners"`
	ByName map[string]*inner `json:"byname"`
	Skip   string            `json:"-"`
	Plain  bool
}

func TestDecode(t *testing.T) {
	var ok body
	if err := Decode([]byte(` {"name":"n","price":1.5,"count":2,"tags":["a"],"attributes":{"a":{"b":[1,{"c":null}]}},"inner":{"name":"x"},"Plain":true} `), &ok); err != nil {
		t.Fatal(err)
	}
	if *ok.Name != "n" || ok.Count != 2 || ok.Inner.Name != "x" || !ok.Plain {
		t.Fatalf("%+v", ok)
	}
	for _, c := range []struct{ in, field, msg string }{
		{``, "body", "is empty"},
		{` `, "body", "is empty"},
		{`null`, "body", "not null"},
		{`[{}]`, "body", "not an array"},
		{`1`, "body", "not a number"},
		{`{"name":"a"`, "body", "ends early"},
		{`{"name":"a",}`, "body", "not valid JSON"},
		{`{"name":"a"}]`, "body", "data after"},
		{`{"name":"a"}{"name":"b"}`, "body", "data after"},
		{`{"nam":"a"}`, "nam", msgUnknownField},
		{`{"Name":"a"}`, "Name", msgUnknownField},
		{`{"plain":true}`, "plain", msgUnknownField},
		{`{"Skip":"x"}`, "Skip", msgUnknownField},
		{`{"-":"x"}`, "-", msgUnknownField},
		{`{"a b":1}`, `"a b"`, msgUnknownField},
		{`{"name":"a","na\u006de":"b"}`, "name", msgDuplicateKey},
		{`{"attributes":{"k":1,"k":1}}`, "attributes.k", msgDuplicateKey},
		{`{"attributes":{"k":[{"x":1},{"x":1,"x":2}]}}`, "attributes.k[1].x", msgDuplicateKey},
		{`{"inner":{"name":"a","nam":"b"}}`, "inner.nam", msgUnknownField},
		{`{"inner":{"name":"a","name":"b"}}`, "inner.name", msgDuplicateKey},
		{`{"price":"1"}`, "price", "must be a number, not a string"},
		{`{"count":1.5}`, "count", "must be a whole number, written without a fraction or exponent, not 1.5"},
		{`{"count":10.0}`, "count", "not 10.0"},
		{`{"count":1e400}`, "count", "is out of range: 1e400"},
		{`{"count":99999999999999999999}`, "count", "is out of range"},
		{`{"price":-1e400}`, "price", "is out of range: -1e400"},
		{`{"attributes":{"a":1e400}}`, "attributes.a", "is out of range: 1e400"},
		{`{"attributes":{"a":[1,-1e999]}}`, "attributes.a[1]", "is out of range"},
		{`{"tags":"a"}`, "tags", "must be an array, not a string"},
		{`{"tags":[true]}`, "tags[0]", "must be a string, not true or false"},
		{`{"tags":["a",1]}`, "tags[1]", "must be a string, not a number"},
		{`{"inners":[{"name":"a"},{"name":1}]}`, "inners[1].name", "must be a string, not a number"},
		{`{"byname":{"k":[]}}`, "byname.k", "must be an object, not an array"},
		{`{"inner":[]}`, "inner", "must be an object, not an array"},
		{`{"inners":[{"name":"a"},{"Name":"b"}]}`, "inners[1].Name", msgUnknownField},
		{`{"byname":{"k":{"name":"a","x":1}}}`, "byname.k.x", msgUnknownField},
		{`{"name":{}}`, "name", "must be a string, not an object"},
		{`{"attributes":` + strings.Repeat(`{"a":`, MaxDepth) + `1` + strings.Repeat(`}`, MaxDepth) + `}`, "attributes" + strings.Repeat(".a", MaxDepth-1), "deeper than 32"},
	} {
		var b body
		err := Decode([]byte(c.in), &b)
		var fe *features.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(fe.Msg, c.msg) {
			t.Errorf("%.60s: got %v, want %s %s", c.in, err, c.field, c.msg)
		}
	}
	var b body
	err := DecodeAt([]byte(`{"nam":1}`), &b, "variants[3]")
	var fe *features.FieldError
	if !errors.As(err, &fe) || fe.Field != "variants[3].nam" {
		t.Errorf("prefixed: %v", err)
	}
	if err := DecodeAt([]byte(`[]`), &b, "variants[3]"); !errors.As(err, &fe) || fe.Field != "variants[3]" {
		t.Errorf("prefixed whole: %v", err)
	}
}

// FuzzDecode: Decode never panics; what it accepts encoding/json accepts
// too, with the same result; what it refuses is a FieldError naming a
// field in JSON's words; what json.Marshal writes it accepts.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"name":"n","price":1,"tags":["a"],"attributes":{"a":[1,{"b":null}]},"inner":{"name":"x"}}`,
		`{"name":"a","name":"b"}`, `{"x":1}`, `[]`, `{"price":"1"}`, `{"attributes":{"a":{"a":1},"a":2}}`, `{} x`, `{"inner":{"Name":"x"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got body
		err := Decode(data, &got)
		if err != nil {
			var fe *features.FieldError
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Fatalf("%q: %v is not a FieldError naming a field", data, err)
			}
			for _, w := range []string{"jsonbody.", "interface {}", "map[", "Go ", "json:", "float64", "[]string"} {
				if strings.Contains(fe.Msg, w) {
					t.Fatalf("%q: message %q shows Go", data, fe.Msg)
				}
			}
			return
		}
		if !json.Valid(data) || bytes.TrimLeft(data, " \t\r\n")[0] != '{' {
			t.Fatalf("accepted %q, which is not one JSON object", data)
		}
		var want body
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", data, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: got %+v, want %+v", data, got, want)
		}
		again, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		var back body
		if err := Decode(again, &back); err != nil {
			t.Fatalf("refused its own output %s: %v", again, err)
		}
	})
}
