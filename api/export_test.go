package api

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/affinity-rec/affinity/recommend/campaign"
)

// listen serves srv on a real loopback listener until the test ends and
// returns its base URL.
func listen(t *testing.T, srv *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.App().Listener(ln)
	t.Cleanup(func() { srv.App().Shutdown() })
	return "http://" + ln.Addr().String()
}

// streamLines makes one request over real HTTP and reads its NDJSON
// reply line by line (never whole), decoding each into a new T.
func streamLines[T any](t *testing.T, method, url, body string, hdr ...string) ([]T, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Fatalf("%s %s: content type %q", method, url, ct)
	}
	var out []T
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("line %d: %v: %s", len(out)+1, err, sc.Bytes())
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading the stream: %v", err)
	}
	return out, resp.Header
}

// The members of a segment of every buyer of the whole demo sample stream
// as NDJSON over a real connection: one line per member, each with the
// value the profile gives, in the cursor pages' order; limit, cursor and
// offset cut the stream where a page would.
func TestSegmentMembersNDJSONStreamsEveryMember(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	evs, prods := demoEvents(t, 1<<30)
	ts.load(evs, prods)
	var seg struct{ Members int }
	send(t, ts.srv, "PUT", "/v1/segments/buyers", `{"rule":"frequency >= 1"}`).want(t, 200).decode(t, &seg)
	if seg.Members < 300 {
		t.Fatalf("only %d buyers in the demo sample", seg.Members)
	}
	// The value model is fitted now, not by the background pass a second
	// after the start (at nice 19, late on a busy machine), which could
	// publish it between the stream and the page read below.
	if err := ts.srv.deps.CRM.RefreshCustomerValue(); err != nil {
		t.Fatal(err)
	}
	base := listen(t, ts.srv)
	nd := []string{"Accept", "application/x-ndjson"}
	lines, hdr := streamLines[campaign.MemberLine](t, "GET", base+"/v1/segments/buyers/members", "", nd...)
	if len(lines) != seg.Members || hdr.Get("X-Affinity-Total") != strconv.Itoa(seg.Members) {
		t.Fatalf("%d lines (total header %s), segment has %d", len(lines), hdr.Get("X-Affinity-Total"), seg.Members)
	}
	var page memberPage
	send(t, ts.srv, "GET", "/v1/segments/buyers/members?limit=1000", "").want(t, 200).decode(t, &page)
	seen := map[string]bool{}
	for i, l := range lines {
		if seen[l.CustomerID] || l.Value == nil || l.Value.Frequency < 1 || len(l.Segments) == 0 {
			t.Fatalf("line %d: %+v", i, l)
		}
		seen[l.CustomerID] = true
		if i < len(page.Members) && (page.Members[i].CustomerID != l.CustomerID || !reflect.DeepEqual(page.Members[i].Value, l.Value)) {
			t.Fatalf("line %d is %+v, page has %+v", i, l, page.Members[i])
		}
	}
	// The profile says the same, potential value included.
	var prof struct {
		Value json.RawMessage `json:"value"`
	}
	send(t, ts.srv, "GET", "/v1/customers/"+lines[7].CustomerID+"/profile", "").want(t, 200).decode(t, &prof)
	if want, _ := json.Marshal(lines[7].Value); string(prof.Value) != string(want) {
		t.Fatalf("profile value %s, line %s", prof.Value, want)
	}
	few, _ := streamLines[campaign.MemberLine](t, "GET", base+"/v1/segments/buyers/members?limit=7&offset=3", "", nd...)
	if len(few) != 7 || few[0].CustomerID != lines[3].CustomerID {
		t.Fatalf("limit=7&offset=3: %d lines from %v", len(few), few)
	}
	var p2 memberPage
	send(t, ts.srv, "GET", "/v1/segments/buyers/members?limit=10", "").want(t, 200).decode(t, &p2)
	rest, hdr := streamLines[campaign.MemberLine](t, "GET", base+"/v1/segments/buyers/members?cursor="+p2.NextCursor, "", nd...)
	if len(rest) != seg.Members-10 || rest[0].CustomerID != lines[10].CustomerID || hdr.Get("X-Affinity-Total") != strconv.Itoa(seg.Members-10) {
		t.Fatalf("from the cursor: %d lines, total %s", len(rest), hdr.Get("X-Affinity-Total"))
	}
	none, _ := streamLines[campaign.MemberLine](t, "GET", base+fmt.Sprintf("/v1/segments/buyers/members?offset=%d", seg.Members), "", nd...)
	if len(none) != 0 {
		t.Fatalf("past the end: %d lines", len(none))
	}
	send(t, ts.srv, "GET", "/v1/segments/nope/members", "", nd...).want(t, 404)
	send(t, ts.srv, "GET", "/v1/segments/buyers/members?limit=0", "", nd...).want(t, 400)
	send(t, ts.srv, "GET", "/v1/segments/buyers/members?limit=5000", "").want(t, 400)
}

// exportLine decodes any export line.
type exportLine struct {
	CustomerID       string  `json:"customer_id"`
	RecommendationID string  `json:"recommendation_id"`
	Algorithm        string  `json:"algorithm"`
	Experiment       *string `json:"experiment"`
	Variant          *string `json:"variant"`
	Items            []struct {
		ProductID string `json:"product_id"`
	} `json:"items"`
	Offers []struct {
		OfferID string `json:"offer_id"`
	} `json:"offers"`
	Value *json.RawMessage `json:"value"`
}

// A recommendations export of a segment gives each member the list the
// recommendations endpoint gives (same items, own recommendation id).
func TestExportRecommendationsOfASegment(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	evs, prods := demoEvents(t, 3000)
	ts.load(evs, prods)
	var seg struct{ Members int }
	send(t, ts.srv, "PUT", "/v1/segments/buyers", `{"rule":"frequency >= 1"}`).want(t, 200).decode(t, &seg)
	base := listen(t, ts.srv)
	lines, hdr := streamLines[exportLine](t, "POST", base+"/v1/exports", `{"segment":"buyers","limit":5}`)
	if len(lines) != seg.Members || hdr.Get("X-Affinity-Total") != strconv.Itoa(seg.Members) {
		t.Fatalf("%d lines for %d members", len(lines), seg.Members)
	}
	ids := map[string]bool{}
	for i, l := range lines {
		if l.RecommendationID == "" || ids[l.RecommendationID] || len(l.Items) == 0 || len(l.Items) > 5 || l.Experiment != nil {
			t.Fatalf("line %d: %+v", i, l)
		}
		ids[l.RecommendationID] = true
		if i%97 != 0 {
			continue
		}
		var one listReply
		send(t, ts.srv, "GET", "/v1/customers/"+l.CustomerID+"/recommendations?limit=5", "").want(t, 200).decode(t, &one)
		if len(one.Items) != len(l.Items) || one.Algorithm != l.Algorithm {
			t.Fatalf("%s: export %+v, endpoint %+v", l.CustomerID, l, one)
		}
		for k := range one.Items {
			if one.Items[k].ProductID != l.Items[k].ProductID {
				t.Fatalf("%s: export %+v, endpoint %+v", l.CustomerID, l.Items, one.Items)
			}
		}
	}
	// A list of ids, one unknown: it gets the cold-start list; members of
	// an unknown id have a null value.
	known := lines[0].CustomerID
	list, _ := streamLines[exportLine](t, "POST", base+"/v1/exports", fmt.Sprintf(`{"customers":[%q,"nobody-at-all"]}`, known))
	if len(list) != 2 || list[0].CustomerID != known || list[1].CustomerID != "nobody-at-all" || list[1].Algorithm != "popular" || len(list[1].Items) == 0 {
		t.Fatalf("list export: %+v", list)
	}
	mem, _ := streamLines[exportLine](t, "POST", base+"/v1/exports", fmt.Sprintf(`{"what":"members","customers":[%q,"nobody-at-all"]}`, known))
	if len(mem) != 2 || mem[0].Value == nil || mem[1].Value != nil {
		t.Fatalf("members export: %+v", mem)
	}
	for _, bad := range []struct{ body, field string }{
		{`{}`, "segment"},
		{`{"segment":"buyers","customers":["a"]}`, "customers"},
		{`{"segment":"buyers","what":"everything"}`, "what"},
		{`{"segment":"buyers","limit":1000}`, "limit"},
		{`{"customers":["ok",""]}`, "customers[1]"},
		{`{"segment":"buyers","segmnt":"x"}`, "segmnt"},
		{`{"segment":"buyers","variant":"b"}`, "variant"},
		{`{"what":"members","segment":"buyers","experiment":"e"}`, "experiment"},
	} {
		var p struct{ Field string }
		r := send(t, ts.srv, "POST", "/v1/exports", bad.body)
		if r.status != 400 {
			t.Errorf("%s: status %d", bad.body, r.status)
			continue
		}
		r.decode(t, &p)
		if p.Field != bad.field {
			t.Errorf("%s: field %q, want %q", bad.body, p.Field, bad.field)
		}
	}
	send(t, ts.srv, "POST", "/v1/exports", `{"segment":"nope"}`).want(t, 404)
	send(t, ts.srv, "POST", "/v1/exports", `{"segment":"buyers","experiment":"nope"}`).want(t, 404)
	// Without the offer service, next-best-offer is refused before anything streams.
	send(t, ts.srv, "POST", "/v1/exports", `{"segment":"buyers","what":"next-best-offer"}`).want(t, 400)
}

// A next-best-offer export shows the offers (a purchase quoting a line's
// recommendation id counts as accepting it, as it does for the endpoint)
// and, under an experiment, enrols each customer and logs exposures.
func TestExportNextBestOfferAttributes(t *testing.T) {
	s := newOfferServer(t)
	s.do(t, "PUT", "/v1/offers/spring", `{"name":"Spring sale","products":["p1"],"value":20,"priority":2}`).want(t, 200)
	s.do(t, "PUT", "/v1/segments/all", `{"rule":"frequency >= 1"}`).want(t, 200)
	s.do(t, "PUT", "/v1/experiments/mail", `{"status":"running","variants":[{"name":"a","weight":1},{"name":"b","weight":1}]}`).want(t, 200)
	base := listen(t, s.srv)
	lines, _ := streamLines[exportLine](t, "POST", base+"/v1/exports", `{"segment":"all","what":"next-best-offer"}`, "X-Affinity-Experiment", "mail")
	if len(lines) != 20 {
		t.Fatalf("%d lines for 20 customers", len(lines))
	}
	for _, l := range lines {
		if len(l.Offers) != 1 || l.Offers[0].OfferID != "spring" || l.RecommendationID == "" || l.Experiment == nil || *l.Experiment != "mail" || l.Variant == nil {
			t.Fatalf("line %+v", l)
		}
	}
	var v struct {
		Performance struct {
			Shown uint64 `json:"shown"`
		} `json:"performance"`
	}
	s.do(t, "GET", "/v1/offers/spring", "").want(t, 200).decode(t, &v)
	if v.Performance.Shown != 20 {
		t.Fatalf("offer shown %d times after exporting 20 lines", v.Performance.Shown)
	}
	l := lines[4]
	s.do(t, "POST", "/v1/offers/spring/responses", fmt.Sprintf(`{"customer_id":%q,"response":"accepted","recommendation_id":%q}`, l.CustomerID, l.RecommendationID)).want(t, 200)
}
