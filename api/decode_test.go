package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// goInternals are words of Go, not of JSON, that an error detail must not
// show (before the fix: "must be api.productBody", "map[string]interface {}").
var goInternals = []string{"api.", "recommend.", "features.", "interface {}", "map[", "Go value", "Go struct",
	"json:", "float64", "int64", "[]string", "RawMessage", "struct"}

func checkNoGoInternals(t *testing.T, what, detail string) {
	t.Helper()
	for _, w := range goInternals {
		if strings.Contains(detail, w) {
			t.Errorf("%s: detail %q shows Go's %q", what, detail, w)
		}
	}
}

func attrsBody(n int, value func(i int) string) string {
	var b strings.Builder
	b.WriteString(`{"attributes":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%d":%s`, i, value(i))
	}
	b.WriteString(`}}`)
	return b.String()
}

// TestDefinitionBodiesAreStrict sends bad bodies to every endpoint that
// takes a definition, and an event: each is a 400 problem naming the field,
// worded without Go.
func TestDefinitionBodiesAreStrict(t *testing.T) {
	s := newOfferServer(t)
	const (
		prod = "/v1/products/p1"
		cust = "/v1/customers/c1"
		seg  = "/v1/segments/s1"
		offr = "/v1/offers/o1"
		expr = "/v1/experiments/e1"
		resp = "/v1/offers/o1/responses"
		evts = "/v1/events"
	)
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	for _, c := range []struct {
		path, body, field, detail string
	}{
		{prod, `{"category":"c","colour":"red"}`, "colour", "colour is not a known field"},
		{prod, `{"Category":"c"}`, "Category", "not a known field"},
		{prod, `{"category":"a","category":"b"}`, "category", "duplicate key"},
		{prod, `{"category":"a","attributes":{"x":1,"x":2}}`, "attributes.x", "duplicate key"},
		{prod, `{"attributes":{"x":{"y":1,"y":1}}}`, "attributes.x.y", "duplicate key"},
		{prod, `{"price":"12"}`, "price", "price must be a number, not a string"},
		{prod, `{"available":"yes"}`, "available", "must be true or false, not a string"},
		{prod, `{"tags":["a",1]}`, "tags[1]", "tags[1] must be a string, not a number"},
		{prod, `{"attributes":"x"}`, "attributes", "must be an object, not a string"},
		{prod, `[]`, "body", "body must be a JSON object, not an array"},
		{prod, `"x"`, "body", "not a string"},
		{prod, `{"category":"c"} {}`, "body", "data after the JSON object"},
		{prod, `{"category":"c"`, "body", "not valid JSON"},
		{prod, `{"attributes":{"a":` + deep(40) + `}}`, "attributes.a" + strings.Repeat("[0]", 30), "deeper than 32"},
		{prod, attrsBody(101, func(int) string { return "1" }), "attributes", "at most 100"},
		{prod, `{"attributes":{"` + strings.Repeat("k", 65) + `":1}}`, "attributes", "1 to 64 bytes"},
		{prod, `{"attributes":{"a\u0000b":1}}`, "attributes", "control character"},
		{cust, `{"attributes":{"line\nbreak":"x"}}`, "attributes", "control character"},
		{prod, `{"attributes":{"k":"` + strings.Repeat("v", 1100) + `"}}`, "attributes.k", "at most 1024"},
		{prod, `{"attributes":{"k":{"a":{"b":{"c":{}}}}}}`, "attributes.k", "more than 4 deep"},
		{cust, `{"country":"France"}`, "country", "country is not a known field"},
		{cust, `{"attributes":{"country":"France"},"attributes":{}}`, "attributes", "duplicate key"},
		{cust, `{"attributes":[]}`, "attributes", "must be an object, not an array"},
		{cust, attrsBody(101, func(int) string { return "true" }), "attributes", "at most 100"},
		{cust, `{"attributes":{"bio":"` + strings.Repeat("é", 600) + `"}}`, "attributes.bio", "at most 1024"},
		{cust, `{"attributes":{"k":` + deep(4) + `}}`, "attributes.k", "more than 4 deep"},
		{seg, `{"Rule":"frequency > 1"}`, "Rule", "not a known field"},
		{seg, `{"rule":"frequency > 1","rule":"frequency > 2"}`, "rule", "duplicate key"},
		{seg, `{"rule":["frequency > 1"]}`, "rule", "must be a string, not an array"},
		{offr, `{"products":["p1"],"nme":"x"}`, "nme", "not a known field"},
		{offr, `{"products":["p1"],"value":1,"value":2}`, "value", "duplicate key"},
		{offr, `{"products":"p1"}`, "products", "must be an array, not a string"},
		{offr, `{"budget":1.5,"products":["p1"]}`, "budget", "must be a whole number"},
		{expr, `{"variants":[{"name":"a","weigth":1}]}`, "variants[0].weigth", "not a known field"},
		{expr, `{"variants":[{"name":"a","name":"b"}]}`, "variants[0].name", "duplicate key"},
		{expr, `{"variants":{}}`, "variants", "must be an array, not an object"},
		{expr, `{"variants":[{"name":"a","weight":"1"}]}`, "variants[0].weight", "must be a number, not a string"},
		{expr, `{"status":"draft","variants":[],"salt":1}`, "salt", "must be a string, not a number"},
		{resp, `{"customer_id":"c1","response":"accepted","extra":1}`, "extra", "not a known field"},
		{resp, `{"customer_id":"c1","customer_id":"c2","response":"accepted"}`, "customer_id", "duplicate key"},
		{evts, `{"customer_id":"c","product_id":"p","type":"view","colour":"red"}`, "colour", "colour is not a known field"},
		{evts, `{"customer_id":"c","product_id":"p","type":"view","type":"purchase"}`, "type", "duplicate key"},
	} {
		method := "PUT"
		if c.path == resp || c.path == evts {
			method = "POST"
		}
		what := method + " " + c.path + " " + c.body
		if len(what) > 120 {
			what = what[:120] + "…"
		}
		r := s.do(t, method, c.path, c.body)
		if r.status != 400 || r.ctype != "application/problem+json" {
			t.Errorf("%s: %d %s %.300s", what, r.status, r.ctype, r.body)
			continue
		}
		var p Problem
		r.decode(t, &p)
		if p.Field != c.field || !strings.Contains(p.Detail, c.detail) {
			t.Errorf("%s: field %q detail %q; want %q, %q", what, p.Field, p.Detail, c.field, c.detail)
		}
		checkNoGoInternals(t, what, p.Detail)
	}
}

// TestCustomerPutWithoutWrapperKeepsAttributes is the reported case: a PUT
// of {"country":"France"} answered 200 and wiped the customer's attributes.
func TestCustomerPutWithoutWrapperKeepsAttributes(t *testing.T) {
	s := newOfferServer(t)
	s.do(t, "PUT", "/v1/customers/c1", `{"attributes":{"country":"Spain","tier":{"level":2,"tags":["a"]}}}`).want(t, 200)
	s.do(t, "PUT", "/v1/customers/c1", `{"country":"France"}`).want(t, 400)
	var prof struct{ Attributes map[string]any }
	s.do(t, "GET", "/v1/customers/c1/profile", "").want(t, 200).decode(t, &prof)
	if prof.Attributes["country"] != "Spain" || prof.Attributes["tier"] == nil {
		t.Fatalf("attributes after a refused PUT: %v", prof.Attributes)
	}
	// At the limits exactly: accepted.
	full := attrsBody(100, func(i int) string {
		if i == 0 {
			b, _ := json.Marshal(strings.Repeat("v", 1022))
			return string(b)
		}
		return `{"a":[1]}`
	})
	s.do(t, "PUT", "/v1/customers/c2", full).want(t, 200)
}

// TestDefinitionBodiesShareOneConvention sends the same bad bodies to
// every endpoint that takes a JSON object: each answers the same 400
// problem naming the same field, whichever handler or package decodes it
// (all go through features/jsonbody).
func TestDefinitionBodiesShareOneConvention(t *testing.T) {
	s := newOfferServer(t)
	// key is a field the endpoint knows, with a good value and the kind a
	// number is not.
	endpoints := []struct{ method, path, key, good, kind string }{
		{"PUT", "/v1/products/p1", "category", `"c"`, "a string"},
		{"PUT", "/v1/customers/c1", "attributes", `{}`, "an object"},
		{"PUT", "/v1/segments/s1", "rule", `"frequency > 1"`, "a string"},
		{"PUT", "/v1/offers/o1", "name", `"n"`, "a string"},
		{"POST", "/v1/offers/o1/responses", "customer_id", `"c1"`, "a string"},
		{"PUT", "/v1/experiments/e1", "salt", `"s"`, "a string"},
		{"POST", "/v1/rules/check", "rule", `"frequency > 1"`, "a string"},
	}
	for _, e := range endpoints {
		k := `"` + e.key + `":`
		for _, c := range []struct{ body, field, detail string }{
			{``, "body", "body is empty; a JSON object is required"},
			{`  `, "body", "body is empty; a JSON object is required"},
			{`[]`, "body", "body must be a JSON object, not an array"},
			{`7`, "body", "body must be a JSON object, not a number"},
			{`{"zz":1}`, "zz", "zz is not a known field"},
			{`{` + k + e.good + `,` + k + e.good + `}`, e.key, e.key + " is given twice (duplicate key)"},
			{`{` + k + `7}`, e.key, e.key + " must be " + e.kind + ", not a number"},
			{`{} {}`, "body", "data after the JSON object"},
			{`{`, "body", "not valid JSON"},
		} {
			what := e.method + " " + e.path + " " + c.body
			r := s.do(t, e.method, e.path, c.body)
			if r.status != 400 || r.ctype != "application/problem+json" {
				t.Errorf("%s: %d %s %.300s", what, r.status, r.ctype, r.body)
				continue
			}
			var p Problem
			r.decode(t, &p)
			if p.Field != c.field || !strings.Contains(p.Detail, c.detail) {
				t.Errorf("%s: field %q detail %q; want %q, %q", what, p.Field, p.Detail, c.field, c.detail)
			}
		}
	}
}

// TestControlKeysRefusedButRemovable: a key with a control character (C0
// or C1) is refused where a request brings it, and a PATCH may still
// remove one (an older version stored such keys).
func TestControlKeysRefusedButRemovable(t *testing.T) {
	s := newOfferServer(t)
	s.do(t, "PATCH", "/v1/customers/c1", `{"attributes":{"a\u0085b":1}}`).want(t, 400)
	s.do(t, "PUT", "/v1/products/p1", `{"attributes":{"tab\tkey":1}}`).want(t, 400)
	s.do(t, "PATCH", "/v1/customers/c1", `{"attributes":{"a\u0000b":null,"ok":1}}`).want(t, 200)
}
