package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/affinity-rec/affinity/features/crm"
)

// TestEventRangesHTTP: out-of-range values and times are 400s naming the
// field, not events that break reads later or silently take "now".
func TestEventRangesHTTP(t *testing.T) {
	s := newExpServer(t)
	const cp = `"customer_id":"r1","product_id":"p1","type":"purchase"`
	future := time.Now().Add(49 * time.Hour).UTC().Format(time.RFC3339)
	cases := []struct{ name, body, field string }{
		{"infinite sum in two", `[{` + cp + `,"value":1.7e308},{` + cp + `,"value":1.7e308}]`, "value"},
		{"above the bound", `{` + cp + `,"value":1000000001}`, "value"},
		{"negative value", `{` + cp + `,"value":-12.5}`, "value"},
		{"quantity above the bound", `{` + cp + `,"quantity":2e6}`, "quantity"},
		{"year 2105", `{` + cp + `,"timestamp":"2105-01-01T00:00:00Z"}`, "timestamp"},
		{"two days ahead", `{` + cp + `,"timestamp":"` + future + `"}`, "timestamp"},
		{"explicit zero time", `{` + cp + `,"timestamp":"0001-01-01T00:00:00Z"}`, "timestamp"},
		{"unix zero", `{` + cp + `,"timestamp":0}`, "timestamp"},
		{"before the floor", `{` + cp + `,"timestamp":"1989-12-31T23:59:59Z"}`, "timestamp"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.do(t, "POST", "/v1/events", c.body).want(t, 400)
			var p struct {
				Detail string `json:"detail"`
				Field  string `json:"field"`
				Errors []struct {
					Field, Detail string
				} `json:"errors"`
			}
			r.decode(t, &p)
			if len(p.Errors) == 0 || !strings.HasPrefix(r.ctype, "application/problem+json") {
				t.Fatalf("want a problem listing the rejected events: %s", r.body)
			}
			for _, e := range p.Errors {
				if e.Field != c.field || !strings.Contains(e.Detail, c.field) {
					t.Fatalf("rejection %+v does not name %s", e, c.field)
				}
			}
		})
	}
	// The bounds themselves are accepted; a missing timestamp still means
	// the time of arrival, and a day ahead is within the default skew.
	ahead := time.Now().Add(23 * time.Hour).UTC().Format(time.RFC3339)
	ok := `[{` + cp + `,"value":1e9,"quantity":1e6,"timestamp":"1990-01-01T00:00:00Z"},{` + cp + `,"timestamp":"` + ahead + `"},{` + cp + `}]`
	var er struct{ Accepted, Rejected int }
	s.do(t, "POST", "/v1/events", ok).want(t, 200).decode(t, &er)
	if er.Accepted != 3 || er.Rejected != 0 {
		t.Fatalf("bounds: %+v", er)
	}
}

// TestExtremeValuesEveryEndpoint posts the largest accepted value on many
// events, through experiments and segments, and reads every endpoint that
// sums or reports values: each must answer 200 with JSON. Before values
// were bounded, two purchases of 1.7e308 made the profile and
// /v1/insights/value a 500 for every caller.
func TestExtremeValuesEveryEndpoint(t *testing.T) {
	s := newExpServer(t)
	s.do(t, "PUT", "/v1/experiments/home", homeExperiment).want(t, 200)
	s.do(t, "PUT", "/v1/segments/whales", `{"rule":"monetary > 1e9"}`).want(t, 200)
	var nd strings.Builder
	for c := range 60 {
		cust := fmt.Sprint("c", c)
		var l listJSON
		s.do(t, "GET", "/v1/customers/"+cust+"/recommendations?experiment=home", "").want(t, 200).decode(t, &l)
		for i := range 40 {
			fmt.Fprintf(&nd, `{"customer_id":%q,"product_id":"p%d","type":"purchase","value":1e9,"quantity":1e6,"recommendation_id":%q}`+"\n",
				cust, (c+i)%10, l.RecommendationID)
		}
	}
	var er struct{ Accepted, Rejected int }
	s.do(t, "POST", "/v1/events", nd.String(), "Content-Type", "application/x-ndjson").want(t, 200).decode(t, &er)
	if er.Accepted != 2400 || er.Rejected != 0 {
		t.Fatalf("events: %+v", er)
	}
	s.store.Refresh()
	if err := s.srv.deps.CRM.RefreshCustomerValue(); err != nil {
		t.Fatal(err)
	}
	if _, units := s.flushedResults(t, "home"); units == 0 {
		t.Fatal("no exposures logged")
	}
	paths := []string{
		"/v1/customers/c1/profile", "/v1/insights/value", "/v1/experiments/home/results",
		"/v1/experiments/home/report", "/v1/popular", "/v1/popular?window=7d", "/v1/popular?segment=whales",
		"/v1/customers/c1/recommendations", "/v1/products/p1/related",
		"/v1/segments", "/v1/segments/whales", "/v1/segments/whales/products",
	}
	for _, p := range paths {
		r := s.do(t, "GET", p, "").want(t, 200)
		if strings.HasPrefix(r.ctype, "application/json") && !json.Valid(r.body) {
			t.Fatalf("%s: invalid JSON %s", p, r.body)
		}
	}
	var prof struct {
		Value struct {
			Monetary float64 `json:"monetary"`
			Recency  float64 `json:"recency_days"`
			Tier     string  `json:"tier"`
		} `json:"value"`
	}
	s.do(t, "GET", "/v1/customers/c1/profile", "").want(t, 200).decode(t, &prof)
	if prof.Value.Monetary < 40e9 || prof.Value.Recency < 0 || prof.Value.Tier == crm.TierProspect {
		t.Fatalf("profile value %+v, want at least 4e10, of a buyer", prof.Value)
	}
	var seg struct{ Members int }
	s.do(t, "GET", "/v1/segments/whales", "").want(t, 200).decode(t, &seg)
	if seg.Members != 60 {
		t.Fatalf("whales: %d members, want 60", seg.Members)
	}
}

// TestNonFiniteReplyIsEncoded: the last guard. A reply holding NaN or an
// infinity is sent with null in its place, through the real app, instead
// of failing as a 500.
func TestNonFiniteReplyIsEncoded(t *testing.T) {
	s := newExpServer(t)
	type inner struct {
		Score float64 `json:"score"`
		Small float32 `json:"small"`
	}
	type reply struct {
		Name  string             `json:"name"`
		Value float64            `json:"value"`
		Ok    float64            `json:"ok"`
		Items []inner            `json:"items"`
		ByKey map[string]float64 `json:"by_key"`
		When  time.Time          `json:"when"`
		Skip  float64            `json:"-"`
		Empty string             `json:"empty,omitempty"`
	}
	v := reply{Name: "<x>", Value: math.Inf(1), Ok: 1e21, Items: []inner{{Score: math.NaN(), Small: float32(math.Inf(-1))}},
		ByKey: map[string]float64{"b": math.Inf(-1), "a": 2.5}, When: time.Date(2011, 12, 9, 12, 50, 0, 0, time.UTC), Skip: math.NaN()}
	// The server's own encoder, in an app that has a route to reply with
	// such a value (none of the server's may, which is the point).
	app := fiber.New(fiber.Config{JSONEncoder: s.srv.App().Config().JSONEncoder})
	app.Get("/non-finite", func(c *fiber.Ctx) error { return c.JSON(v) })
	before := nonFiniteReplies.Load()
	resp, err := app.Test(httptest.NewRequest("GET", "/non-finite", nil))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %v, %v", resp, err)
	}
	body, _ := io.ReadAll(resp.Body)
	r := httpReply{body: body}
	want := `{"name":"\u003cx\u003e","value":null,"ok":1e+21,"items":[{"score":null,"small":null}],"by_key":{"a":2.5,"b":null},"when":"2011-12-09T12:50:00Z"}`
	if got := string(bytes.TrimSpace(r.body)); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if nonFiniteReplies.Load() != before+1 {
		t.Fatal("the guard was not counted")
	}
	// A finite reply is encoding/json's own bytes.
	v.Value, v.Items, v.ByKey = 3, nil, nil
	b, err := jsonMarshal(v)
	std, _ := json.Marshal(v)
	if err != nil || !bytes.Equal(b, std) {
		t.Fatalf("finite reply: %s, %v; want %s", b, err, std)
	}
}
