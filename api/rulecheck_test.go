package api

import (
	"encoding/json"
	"strings"
	"testing"
)

// kind product checks a merchandising rule's when: the same 400 (line and
// column) as PUT /v1/rules/{name}, naming the body's field rule; kinds
// segment and eligibility keep their meaning, and segment: true with
// another kind is a 400 naming kind.
func TestRuleCheckKinds(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	bad := "brand == \"acme\" &&\n  prise < 10"
	r := send(t, ts.srv, "POST", "/v1/rules/check", `{"kind":"product","rule":`+jsonQuote(bad)+`}`).want(t, 400)
	var p struct{ Field, Detail string }
	r.decode(t, &p)
	if p.Field != "rule" || !strings.Contains(p.Detail, "line 2, column 3") || !strings.Contains(p.Detail, "known: attributes, available, brand") {
		t.Fatalf("problem %+v", p)
	}
	put := send(t, ts.srv, "PUT", "/v1/rules/x", `{"when":`+jsonQuote(bad)+`,"action":"boost"}`).want(t, 400)
	var pp struct{ Field, Detail string }
	put.decode(t, &pp)
	if pp.Field != "when" || strings.TrimPrefix(pp.Detail, "when") != strings.TrimPrefix(p.Detail, "rule") {
		t.Fatalf("check says %+v, PUT says %+v", p, pp)
	}
	var ok struct {
		Rule  string
		Valid bool
	}
	send(t, ts.srv, "POST", "/v1/rules/check", `{"kind":"product","rule":"\"summer\" in tags && price < 10"}`).want(t, 200).decode(t, &ok)
	if !ok.Valid || ok.Rule != `"summer" in tags && price < 10` {
		t.Fatalf("reply %+v", ok)
	}
	// A profile field is not a product field, and when is required.
	send(t, ts.srv, "POST", "/v1/rules/check", `{"kind":"product","rule":"monetary > 1"}`).want(t, 400)
	send(t, ts.srv, "POST", "/v1/rules/check", `{"kind":"product","rule":""}`).want(t, 400)
	// Profile kinds: empty is everyone; segments only in eligibility.
	send(t, ts.srv, "POST", "/v1/rules/check", `{"kind":"segment","rule":""}`).want(t, 200)
	send(t, ts.srv, "POST", "/v1/rules/check", `{"kind":"segment","rule":"\"vip\" in segments"}`).want(t, 400)
	send(t, ts.srv, "POST", "/v1/rules/check", `{"kind":"eligibility","rule":"\"vip\" in segments"}`).want(t, 200)
	send(t, ts.srv, "POST", "/v1/rules/check", `{"kind":"segment","segment":true,"rule":"frequency > 1"}`).want(t, 200)
	send(t, ts.srv, "POST", "/v1/rules/check", `{"kind":"product","rule":"brand == \"acme\""}`).want(t, 200)
	for _, body := range []string{
		`{"kind":"product","segment":true,"rule":"brand == \"a\""}`,
		`{"kind":"eligibility","segment":true,"rule":"frequency > 1"}`,
		`{"kind":"products","rule":"brand == \"a\""}`,
	} {
		var q struct{ Field, Detail string }
		send(t, ts.srv, "POST", "/v1/rules/check", body).want(t, 400).decode(t, &q)
		if q.Field != "kind" {
			t.Fatalf("%s: problem %+v", body, q)
		}
	}
}

// FuzzRuleCheckKinds: any rule-check body with a kind never gives a 5xx.
func FuzzRuleCheckKinds(f *testing.F) {
	ts := fuzzServer(f)
	f.Add([]byte(`{"kind":"product","rule":"brand == \"acme\" && price < 10"}`))
	f.Add([]byte(`{"kind":"product","rule":"attributes.season == \"summer\"","segment":true}`))
	f.Add([]byte(`{"kind":"segment","rule":"frequency >= 2"}`))
	f.Add([]byte(`{"kind":7,"rule":"x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		noServerError(t, ts, "POST", "/v1/rules/check", "application/json", body)
	})
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
