package api

import (
	"net/url"
	"testing"
)

// FuzzRuleCheck: any rule-check body never gives a 5xx or a panic.
func FuzzRuleCheck(f *testing.F) {
	ts := fuzzServer(f)
	f.Add([]byte(`{"rule":"monetary > 1000 && frequency >= 5","segment":true}`))
	f.Add([]byte(`{"rule":"monetary >\n  monetry"}`))
	f.Add([]byte(`{"rule":"\"vip\" in segments","segment":"yes"}`))
	f.Add([]byte(`{"rule":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		noServerError(t, ts, "POST", "/v1/rules/check", "application/json", body)
	})
}

// FuzzBrowseQueries: any query string on the browse endpoints never gives
// a 5xx or a panic.
func FuzzBrowseQueries(f *testing.F) {
	ts := fuzzServer(f)
	ts.srv.deps.CRM.PutSegment("s", "frequency >= 0")
	f.Add("q=mug&category=mugs&limit=3&offset=2")
	f.Add("offset=-1&limit=0")
	f.Add("q=%ff&price_min=x")
	f.Fuzz(func(t *testing.T, query string) {
		vals, err := url.ParseQuery(query)
		if err != nil {
			return // not a query a client can send
		}
		noServerError(t, ts, "GET", "/v1/products?"+vals.Encode(), "", nil)
		// The paged endpoints document only limit and offset; the
		// contract check refuses a request it accepted with others.
		paged := url.Values{"limit": vals["limit"], "offset": vals["offset"]}
		for _, path := range []string{"/v1/customers/c1/events", "/v1/segments/s/members"} {
			noServerError(t, ts, "GET", path+"?"+paged.Encode(), "", nil)
		}
	})
}
