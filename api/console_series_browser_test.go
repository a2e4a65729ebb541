//go:build browser

package api

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/affinity-rec/affinity/features"
)

// The console's views over time and of other services' answers: the
// overview's charts from the server's history, an offer's performance per
// bucket, the cluster's node list and the live check of a product rule.

// lightConsoleServer is a small store (20 customers, 5 products) behind a
// real server that does not listen yet: the caller may prepare it, then
// listen() serves it on loopback and returns the base URL.
func lightConsoleServer(t *testing.T) (*Server, func() string) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, eng := seededStore(t, func(o *features.Options) { o.Logger = quiet },
		purchases(20, 5, 10, func(c, p int) bool { return (c+p)%3 != 0 }))
	srv := serverOver(t, Deps{Store: st, Engine: eng, CRM: crmOf(t, st)}, quiet)
	return srv, func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go srv.App().Listener(ln)
		t.Cleanup(func() { srv.App().Shutdown() })
		return "http://" + ln.Addr().String()
	}
}

// TestConsoleHistoryInBrowser gives the server six minutes of history
// before the tab opens (samples taken as the ticker takes them, at set
// times, with an event ingested between each) and checks the overview's
// charts start with it: as many points as the history has rates, before
// the tab's own.
func TestConsoleHistoryInBrowser(t *testing.T) {
	srv, listen := lightConsoleServer(t)
	h := srv.history
	from := time.Now().Add(-6 * time.Minute)
	for i := range 30 {
		send(t, srv, "POST", "/v1/events", fmt.Sprintf(`{"customer_id":"c%d","product_id":"p1","type":"view"}`, i%20)).want(t, 200)
		h.mu.Lock()
		h.sampleLocked(from.Add(time.Duration(i) * 10 * time.Second))
		h.mu.Unlock()
	}
	base := listen()
	var hist statsHistoryReply
	apiGet(t, base, "/v1/stats/history", &hist)
	rates := 0
	for _, s := range hist.Samples {
		if s.EventsPerMinute != nil {
			rates++
		}
	}
	if rates < 30 || *hist.Samples[1].EventsPerMinute != 6 {
		t.Fatalf("history before the tab: %d rates, second %v", rates, hist.Samples[1].EventsPerMinute)
	}
	b := newBrowser(t, base)
	b.open("/", "#charts")
	var points int
	b.run("events chart", chromedp.Evaluate(`document.querySelector("#charts section:first-child polyline").getAttribute("points").trim().split(" ").length`, &points))
	if points < rates {
		t.Fatalf("the events chart has %d points; the server's history has %d rates before the tab opened", points, rates)
	}
	var shown string
	b.run("history", chromedp.AttributeValue("#charts", "data-history", &shown, nil, chromedp.ByQuery))
	if n, _ := strconv.Atoi(shown); n < len(hist.Samples) {
		t.Fatalf("the page read %s history samples; the API had %d", shown, len(hist.Samples))
	}
	if got := b.texts("#cluster-note"); len(got) != 1 || !strings.HasPrefix(got[0], "Single node") {
		t.Fatalf("single node note %q", got)
	}
	b.noJunk("overview with history")
}

// TestConsoleProductRuleCheckInBrowser types a merchandising rule's `when`
// with an error and sees the server's 400 under its line and column before
// saving, then a valid one: the segment editor's live check, with kind
// "product". It skips while the server refuses kind (a branch without the
// product rule check); it runs by itself once the server takes it.
func TestConsoleProductRuleCheckInBrowser(t *testing.T) {
	_, listen := lightConsoleServer(t)
	base := listen()
	res, err := http.Post(base+"/v1/rules/check", "application/json", strings.NewReader(`{"kind":"product","rule":"price < 1"}`))
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ Field string }
	_ = json.NewDecoder(res.Body).Decode(&p)
	res.Body.Close()
	if res.StatusCode == 400 && p.Field == "kind" {
		t.Skip("POST /v1/rules/check refuses kind (the product rule check, H5, is not on this branch): the rules page's live check is untested here; the test runs once the server takes kind")
	}
	if res.StatusCode != 200 {
		t.Fatalf("a valid product rule checked: %d", res.StatusCode)
	}
	b := newBrowser(t, base)
	b.open("/rules", "#rule-list[data-ready=ok]")
	b.w.setExpect(func(u string, status int64) bool {
		return status == 400 && strings.HasPrefix(u, "POST ") && strings.HasSuffix(u, "/v1/rules/check")
	})
	b.run("bad when", chromedp.SendKeys("#when", "price < 1 &&\n  prise > 0", chromedp.ByQuery),
		chromedp.WaitVisible("#when-status.bad .caret", chromedp.ByQuery))
	msg := b.texts("#when-status .rule-error")[0]
	if !strings.Contains(msg, "line 2, column 3") || !strings.Contains(msg, "prise") {
		t.Fatalf("product rule error shown as %q", msg)
	}
	if caret := b.texts("#when-status .caret")[0]; !strings.HasSuffix(caret, "\n  ^") {
		t.Fatalf("caret not under column 3: %q", caret)
	}
	var cleared bool
	b.run("good when", chromedp.Evaluate(`(document.querySelector("#when").value = "") === ""`, &cleared),
		chromedp.SendKeys("#when", "price < 1", chromedp.ByQuery), chromedp.WaitVisible("#when-status.ok", chromedp.ByQuery))
	b.w.setExpect(nil)
}

// checkOfferSeries shows an offer (over the sms channel, which the other
// offers of the demo leave out) to a few customers, answers some, and holds
// the offer page's figures per bucket to GET /v1/offers/{id}/performance.
func (b *browser) checkOfferSeries(base string) {
	t := b.t
	do := func(method, path, body string, v any) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("%s %s: %v %v", method, path, err, res)
		}
		defer res.Body.Close()
		if v != nil {
			if err := json.NewDecoder(res.Body).Decode(v); err != nil {
				t.Fatal(err)
			}
		}
	}
	do("PUT", "/v1/offers/bundle-demo", `{"name":"Bundle demo","value":5,"budget":10,"channels":["sms"]}`, nil)
	var sample struct{ Customers []string }
	apiGet(t, base, "/v1/customers?limit=6", &sample)
	for i, c := range sample.Customers {
		var nbo struct {
			Offers []struct {
				OfferID string `json:"offer_id"`
			}
			RecommendationID string `json:"recommendation_id"`
		}
		do("GET", "/v1/customers/"+c+"/next-best-offer?limit=1&channel=sms", "", &nbo)
		if len(nbo.Offers) != 1 || nbo.Offers[0].OfferID != "bundle-demo" {
			t.Fatalf("customer %s offered %+v", c, nbo.Offers)
		}
		if resp := []string{"accepted", "accepted", "declined"}; i < len(resp) {
			do("POST", "/v1/offers/bundle-demo/responses", fmt.Sprintf(`{"customer_id":%q,"response":%q,"recommendation_id":%q}`, c, resp[i], nbo.RecommendationID), nil)
		}
	}
	// From a blank page: a hash change would keep the previous offer's
	// ready panel in place for a moment, and the wait would take it.
	b.run("blank", chromedp.Navigate("about:blank"))
	b.open("/offers/bundle-demo", "#offer-series[data-ready=ok]")
	var ser perfReply
	apiGet(t, base, "/v1/offers/bundle-demo/performance?bucket=day", &ser)
	if len(ser.Points) <= 3 {
		apiGet(t, base, "/v1/offers/bundle-demo/performance?bucket=hour", &ser)
	}
	var busy []perfPoint
	for _, p := range ser.Points {
		if p.Shown+p.Accepted+p.Declined+p.Ignored > 0 {
			busy = append(busy, p)
		}
	}
	rows := b.texts("#series-table tbody tr")
	if len(busy) == 0 || len(rows) != len(busy) {
		t.Fatalf("the page lists %d buckets with activity, the API %d", len(rows), len(busy))
	}
	for i, p := range busy {
		cells := b.texts(fmt.Sprintf("#series-table tbody tr:nth-child(%d) td", i+1))
		if number(t, cells[1]) != float64(p.Shown) || number(t, cells[2]) != float64(p.Accepted) || number(t, cells[3]) != float64(p.Declined) ||
			number(t, cells[6]) != float64(*ser.Budget-int64(p.BudgetUsed)) {
			t.Fatalf("bucket %s shown as %q; API %+v", p.Start, cells, p)
		}
	}
	if got := len(b.texts("#offer-series svg .bars.s0 rect")); got != len(busy) {
		t.Fatalf("%d shown bars for %d buckets with exposures", got, len(busy))
	}
	b.noJunk("offer bundle-demo")
}

// clusterNodesPresent reports whether the server has GET
// /v1/cluster/nodes; without it (a branch before H3's list is merged) the
// overview's request for it is a 404 the page tolerates, and so does the
// watch.
func (b *browser) clusterNodesPresent(base string) bool {
	res, err := http.Get(base + "/v1/cluster/nodes")
	if err != nil {
		b.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode == 404 {
		b.w.setExpect(func(u string, status int64) bool {
			return status == 404 && strings.HasSuffix(u, "/v1/cluster/nodes")
		})
		return false
	}
	return true
}

// checkNodes holds the overview's node table to GET /v1/cluster/nodes:
// the stream line, a row per node by name, with its lag and readiness.
// A subtest, so that its skip (the endpoint not there yet) leaves the
// rest of the calling test passed.
func (b *browser) checkNodes(base string, present bool) {
	b.t.Run("node table", func(t *testing.T) {
		if !present {
			t.Skip("GET /v1/cluster/nodes is not on this branch (H3's node list is not merged): the overview's node table is untested here; this check runs once the endpoint answers")
		}
		sub := *b
		sub.t = t
		sub.checkNodeTable(base)
	})
}

func (b *browser) checkNodeTable(base string) {
	t := b.t
	var r struct {
		Mode   string
		Stream *struct {
			Name     string
			Replicas int
			HeadSeq  uint64 `json:"head_seq"`
		}
		Nodes []struct {
			Name        string
			AppliedSeq  uint64  `json:"applied_seq"`
			LagMessages uint64  `json:"lag_messages"`
			LagSeconds  float64 `json:"lag_seconds"`
			Ready       bool
		}
	}
	apiGet(t, base, "/v1/cluster/nodes", &r)
	if r.Mode != "cluster" || r.Stream == nil || len(r.Nodes) == 0 {
		t.Fatalf("a cluster node's list: %+v", r)
	}
	b.open("/", "#node-table")
	if line := b.texts("#stream-line")[0]; !strings.Contains(line, r.Stream.Name) {
		t.Fatalf("stream line %q; API stream %+v", line, *r.Stream)
	}
	byName := map[string]int{}
	for i, n := range r.Nodes {
		byName[n.Name] = i
	}
	rows := b.texts("#node-table tbody tr")
	if len(rows) != len(r.Nodes) {
		t.Fatalf("%d node rows, API %d nodes", len(rows), len(r.Nodes))
	}
	for i := range rows {
		cells := b.texts(fmt.Sprintf("#node-table tbody tr:nth-child(%d) td", i+1))
		j, ok := byName[cells[0]]
		if !ok {
			t.Fatalf("node row %q names no node of the API", cells)
		}
		n := r.Nodes[j]
		// The page polls: a node may have applied more since the API read.
		if number(t, cells[2]) < float64(n.AppliedSeq) || (cells[5] == "yes") != n.Ready {
			t.Fatalf("node %s shown as %q; API %+v", n.Name, cells, n)
		}
	}
	b.noJunk("overview (cluster nodes)")
}
