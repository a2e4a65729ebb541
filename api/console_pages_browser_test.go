//go:build browser

package api

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/affinity-rec/affinity/recommend"
)

func TestConsoleInBrowser(t *testing.T) {
	base := demoConsoleServer(t)
	b := newBrowser(t, base)
	b.checkOverview(base)
	prod := b.checkProducts(base)
	cust := b.checkCustomer(base, prod)
	b.checkValue(base)
	b.checkChurn(base, cust)
	b.checkSegments(base)
	b.checkOffers(base)
	b.checkExperiments(base)
	b.checkRules(base, cust)
	seedExperimentTraffic(t, base, 300)
	b.checkExperimentResults(base)
	b.screenshots()
	// The screenshots previewed a list under home-list/popular and offers:
	// looking in the console must not count as showing.
	var r struct{ Variants []struct{ Exposures int } }
	apiGet(t, base, "/v1/experiments/home-list/results", &r)
	for _, v := range r.Variants {
		if v.Exposures != 0 {
			t.Fatalf("console previews logged experiment exposures: %+v", r.Variants)
		}
	}
	var o struct {
		Performance struct{ Shown int }
	}
	apiGet(t, base, "/v1/offers/winter-mugs", &o)
	if o.Performance.Shown != 0 {
		t.Fatalf("console previews counted %d offers shown", o.Performance.Shown)
	}
}

// number reads a figure as the console prints it ("2,857").
func number(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(strings.ReplaceAll(strings.Fields(s)[0], ",", ""), 64)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return f
}

func (b *browser) checkOverview(base string) {
	t := b.t
	b.open("/", "#counts[data-ready]")
	vals := b.texts("#counts .card .value")
	var nc struct{ Customers []string }
	_ = nc
	st := map[string]float64{}
	for _, line := range strings.Split(metricsText(t, base), "\n") {
		if f := strings.Fields(line); len(f) == 2 && strings.HasPrefix(f[0], "affinity_store_") {
			st[f[0]], _ = strconv.ParseFloat(f[1], 64)
		}
	}
	if n := len(b.texts("#cluster")); n != 0 || len(b.texts("#cluster-note")) != 1 {
		t.Fatal("a single node's overview shows a cluster panel, or no single-node note")
	}
	for i, name := range []string{"affinity_store_customers", "affinity_store_products", "affinity_store_events"} {
		if got := number(t, vals[i]); got != st[name] || got == 0 {
			t.Fatalf("overview card %d shows %v, /metrics %s = %v", i, got, name, st[name])
		}
	}
}

func metricsText(t *testing.T, base string) string {
	t.Helper()
	var sb strings.Builder
	res, err := httpGetText(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	sb.WriteString(res)
	return sb.String()
}

// checkProducts searches with the form (keyboard) and opens the first
// match; it returns that product's id.
func (b *browser) checkProducts(base string) string {
	t := b.t
	b.open("/products", "#q")
	b.run("search", chromedp.SendKeys("#q", "mug", chromedp.ByQuery), chromedp.SendKeys("#q", "\r", chromedp.ByQuery),
		chromedp.WaitVisible("#product-results[data-ready=ok]", chromedp.ByQuery))
	var page productPage
	apiGet(t, base, "/v1/products?q=mug&limit=25", &page)
	if got := b.texts("#product-total")[0]; number(t, got) != float64(page.Total) {
		t.Fatalf("products page says %q, API total %d", got, page.Total)
	}
	var want []string
	for _, p := range page.Products {
		want = append(want, p.ProductID)
	}
	sameList(t, "product search", b.texts("#product-table tbody tr td:first-child a"), want)
	// The product with the most "bought together" neighbours among the matches.
	id := want[0]
	b.open("/products/"+url.PathEscape(id), "#related-any[data-ready=ok]")
	b.run("lists", chromedp.WaitVisible("#related-bought[data-ready=ok]", chromedp.ByQuery), chromedp.WaitVisible("#related-viewed[data-ready]", chromedp.ByQuery))
	var rel recommend.List
	apiGet(t, base, "/v1/products/"+url.PathEscape(id)+"/related?basis=bought&limit=10", &rel)
	sameList(t, "related bought", b.texts("#related-bought ol > li > a"), ids(rel.Items))
	if len(rel.Items) == 0 {
		t.Fatalf("product %s has no related products to check", id)
	}
	b.run("audience", chromedp.WaitVisible("#audience[data-ready=ok]", chromedp.ByQuery))
	var aud audienceSeen
	apiGet(t, base, "/v1/products/"+url.PathEscape(id)+"/customers?limit=20", &aud)
	b.checkAudience("#audience-table", "product "+id, aud.Items)
	return rel.Items[0].ProductID
}

// checkCustomer opens the profile of the customer with most events (typed
// into the look-up form), checks the list against the API, then previews
// it with a context product.
func (b *browser) checkCustomer(base, ctxProduct string) string {
	t := b.t
	var sample struct{ Customers []string }
	apiGet(t, base, "/v1/customers?limit=50", &sample)
	best, most := "", -1
	for _, c := range sample.Customers {
		var p struct{ Events int }
		apiGet(t, base, "/v1/customers/"+c+"/profile", &p)
		if p.Events > most {
			best, most = c, p.Events
		}
	}
	b.open("/customers", "#customer-sample[data-ready=ok]")
	b.run("look up", chromedp.SendKeys("#customer", best+"\r", chromedp.ByQuery),
		chromedp.WaitVisible("#recs[data-ready=ok]", chromedp.ByQuery), chromedp.WaitVisible("#history[data-ready=ok]", chromedp.ByQuery),
		chromedp.WaitVisible("#nbo[data-ready=ok]", chromedp.ByQuery))
	var l recommend.List
	apiGet(t, base, "/v1/customers/"+best+"/recommendations?limit=10", &l)
	sameList(t, "personal list", b.texts("#recs ol > li > a"), ids(l.Items))
	var ev historyPage
	apiGet(t, base, "/v1/customers/"+best+"/events?limit=20", &ev)
	if got := len(b.texts("#event-table tbody tr")); got != len(ev.Events) {
		t.Fatalf("event table has %d rows, API %d events", got, len(ev.Events))
	}
	b.run("what if", chromedp.SendKeys("#context", ctxProduct, chromedp.ByQuery), chromedp.Click("#whatif button[type=submit]", chromedp.ByQuery),
		chromedp.WaitVisible("#recs-whatif[data-ready=ok]", chromedp.ByQuery))
	var lc recommend.List
	apiGet(t, base, "/v1/customers/"+best+"/recommendations?limit=10&context_product="+url.QueryEscape(ctxProduct), &lc)
	sameList(t, "what-if list", b.texts("#recs-whatif ol > li > a"), ids(lc.Items))
	if strings.Join(ids(lc.Items), ",") == strings.Join(ids(l.Items), ",") {
		t.Fatalf("context product %s does not change the list: the preview checks nothing", ctxProduct)
	}
	b.checkExplain(base, "#recs", "/v1/customers/"+best+"/recommendations?limit=10&explain=true")
	b.checkExplain(base, "#recs-whatif", "/v1/customers/"+best+"/recommendations?limit=10&explain=true&context_product="+url.QueryEscape(ctxProduct))
	return best
}

func (b *browser) checkValue(base string) {
	t := b.t
	b.open("/value", "#tier-table")
	var v struct {
		Tiers []struct {
			Tier      string
			Customers int
		}
	}
	apiGet(t, base, "/v1/insights/value", &v)
	rows := b.texts("#tier-table tbody tr td:nth-child(2)")
	for i, tr := range v.Tiers {
		if number(t, rows[i]) != float64(tr.Customers) {
			t.Fatalf("tier %s: page %q, API %d", tr.Tier, rows[i], tr.Customers)
		}
	}
}

// checkSegments types a rule with an error first (the server's 400 shows
// at its line and column), then a valid one, and saves it.
func (b *browser) checkSegments(base string) {
	t := b.t
	b.open("/segments", "#segment-list[data-ready=ok]")
	b.w.setExpect(func(u string, status int64) bool {
		return status == 400 && strings.HasPrefix(u, "POST ") && strings.HasSuffix(u, "/v1/rules/check")
	})
	b.run("bad rule", chromedp.SendKeys("#name", "big-spenders", chromedp.ByQuery),
		chromedp.SendKeys("#rule", "monetary > 1000 &&\n  monetry < 5", chromedp.ByQuery),
		chromedp.WaitVisible(".rule-status.bad .caret", chromedp.ByQuery))
	msg := b.texts(".rule-status.bad .rule-error")[0]
	if !strings.Contains(msg, "line 2, column 3") || !strings.Contains(msg, "monetry") {
		t.Fatalf("rule error shown as %q", msg)
	}
	if caret := b.texts(".rule-status.bad .caret")[0]; !strings.HasSuffix(caret, "\n  ^") {
		t.Fatalf("caret not under column 3: %q", caret)
	}
	var cleared bool
	b.run("good rule", chromedp.Evaluate(`(document.querySelector("#rule").value = "") === ""`, &cleared), chromedp.SendKeys("#rule", "monetary > 1000", chromedp.ByQuery),
		chromedp.WaitVisible(".rule-status.ok", chromedp.ByQuery))
	b.w.setExpect(nil)
	b.run("save segment", chromedp.Click("#segment-form button[type=submit]", chromedp.ByQuery),
		chromedp.WaitVisible("#members[data-ready=ok]", chromedp.ByQuery), chromedp.WaitVisible("#lift[data-ready=ok]", chromedp.ByQuery))
	var seg struct{ Members int }
	apiGet(t, base, "/v1/segments/big-spenders", &seg)
	if got := b.texts("#segment-size")[0]; seg.Members == 0 || number(t, got) != float64(seg.Members) {
		t.Fatalf("segment size shown %q, API %d", got, seg.Members)
	}
	if got := len(b.texts("#members li")); got != min(50, seg.Members) {
		t.Fatalf("%d members listed of %d", got, seg.Members)
	}
}

func (b *browser) checkOffers(base string) {
	t := b.t
	b.open("/offers", "#offer-list[data-ready=ok]")
	b.run("new offer", chromedp.SendKeys("#offer_id", "winter-mugs", chromedp.ByQuery), chromedp.SendKeys("#name", "Winter mugs", chromedp.ByQuery),
		chromedp.SendKeys("#products", "22441, 22973", chromedp.ByQuery), chromedp.SendKeys("#eligibility", `"big-spenders" in segments`, chromedp.ByQuery),
		chromedp.SetValue("#budget", "", chromedp.ByQuery), chromedp.SendKeys("#budget", "25", chromedp.ByQuery),
		chromedp.SendKeys("#channels", "web, email", chromedp.ByQuery),
		chromedp.WaitVisible("#eligibility-status.ok", chromedp.ByQuery),
		chromedp.Click("#offer-form button[type=submit]", chromedp.ByQuery), chromedp.WaitVisible("#offer-perf", chromedp.ByQuery))
	var o struct {
		Name        string
		Budget      int
		Channels    []string
		Eligibility string
		Performance struct {
			BudgetLeft *int `json:"budget_left"`
		}
	}
	apiGet(t, base, "/v1/offers/winter-mugs", &o)
	if o.Name != "Winter mugs" || o.Budget != 25 || len(o.Channels) != 2 || o.Eligibility != `"big-spenders" in segments` {
		t.Fatalf("offer stored as %+v", o)
	}
	if got := b.texts("#offer-perf .card .value")[3]; o.Performance.BudgetLeft == nil || number(t, got) != float64(*o.Performance.BudgetLeft) {
		t.Fatalf("budget left shown %q, API %v", got, o.Performance.BudgetLeft)
	}
	b.run("offer audience", chromedp.WaitVisible("#offer-audience[data-ready=ok]", chromedp.ByQuery))
	var aud offerAudienceSeen
	apiGet(t, base, "/v1/offers/winter-mugs/audience?limit=20", &aud)
	var status string
	b.run("status", chromedp.AttributeValue("#audience-status", "data-status", &status, nil, chromedp.ByQuery))
	if status != aud.Status || aud.Status != "active" {
		t.Fatalf("offer audience status shown %q, API %q", status, aud.Status)
	}
	b.checkAudience("#offer-audience-table", "offer winter-mugs", aud.Items)
	b.checkOfferSeries(base)
}

func (b *browser) checkExperiments(base string) {
	t := b.t
	b.open("/experiments", "#experiment-list[data-ready=ok]")
	b.run("new experiment", chromedp.SendKeys("#experiment_id", "home-list", chromedp.ByQuery),
		chromedp.SendKeys("#v0-name", "control", chromedp.ByQuery), chromedp.SendKeys("#v1-name", "popular", chromedp.ByQuery),
		chromedp.SetValue("#v1-algorithm", "popular", chromedp.ByQuery),
		chromedp.Click("#experiment-form button[type=submit]", chromedp.ByQuery), chromedp.WaitVisible("#results[data-ready=ok]", chromedp.ByQuery))
	b.run("start", chromedp.Click("#start", chromedp.ByQuery), chromedp.Sleep(300*time.Millisecond),
		chromedp.WaitVisible("#results[data-ready=ok]", chromedp.ByQuery))
	var x struct{ Status string }
	apiGet(t, base, "/v1/experiments/home-list", &x)
	if got := b.texts("#experiment-status")[0]; x.Status != "running" || got != "running" {
		t.Fatalf("experiment status shown %q, API %q", got, x.Status)
	}
	var r struct {
		Variants []struct{ Name string }
	}
	apiGet(t, base, "/v1/experiments/home-list/results", &r)
	if got := len(b.texts("#results-table tbody tr")); got != len(r.Variants) {
		t.Fatalf("results table has %d rows, API %d variants", got, len(r.Variants))
	}
}
