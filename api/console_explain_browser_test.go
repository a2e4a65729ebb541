//go:build browser

package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/chromedp/chromedp"

	"github.com/affinity-rec/affinity/recommend"
)

// explainedList is a list reply with explain=true, as the API gives it.
type explainedList struct {
	Items []struct {
		ProductID string             `json:"product_id"`
		Explain   *recommend.Explain `json:"explain"`
	}
}

// checkExplain holds each item's explanation line in box to the API's
// explain object (the products that scored it, in order, and the rules
// that moved it), then opens the first one and checks its product links.
func (b *browser) checkExplain(base, box, path string) {
	t := b.t
	t.Helper()
	var l explainedList
	apiGet(t, base, path, &l)
	sums := b.texts(box + " ol > li > details.explain > summary")
	if len(sums) != len(l.Items) || len(sums) == 0 {
		t.Fatalf("%s: %d explanations for %d items", box, len(sums), len(l.Items))
	}
	for i, it := range l.Items {
		ex := it.Explain
		if ex == nil {
			t.Fatalf("%s: the API gave item %s no explain", path, it.ProductID)
		}
		var want []string
		for _, c := range ex.Because {
			want = append(want, c.ProductID)
		}
		for _, r := range ex.Rules {
			want = append(want, "by "+r.Rule)
		}
		at := 0
		for _, w := range want {
			j := strings.Index(sums[i][at:], w)
			if j < 0 {
				t.Fatalf("%s item %d (%s): explanation %q lacks %q (API %+v)", box, i, it.ProductID, sums[i], w, ex)
			}
			at += j + len(w)
		}
	}
	first := box + " ol > li:first-child > details.explain"
	b.run("open explanation", chromedp.Click(first+" > summary", chromedp.ByQuery), chromedp.WaitVisible(first+" dl", chromedp.ByQuery))
	var want []string
	for _, c := range l.Items[0].Explain.Because {
		want = append(want, c.ProductID)
	}
	sameList(t, box+" first item's products", b.texts(first+" ul.because a"), want)
	if pop := b.texts(first + " dd"); len(pop) < 2 || !strings.Contains(strings.ReplaceAll(strings.Join(pop, "|"), ",", ""), fmt.Sprintf("%d customers", l.Items[0].Explain.Popularity)) {
		t.Fatalf("%s: popularity not shown as the API's %d: %q", box, l.Items[0].Explain.Popularity, pop)
	}
}

type audienceMember struct {
	CustomerID string `json:"customer_id"`
	Reason     string
}

type audienceSeen struct{ Items []audienceMember }

type offerAudienceSeen struct {
	Status string
	Items  []audienceMember
}

// checkAudience holds an audience table to the API's answer: the same
// customers in the same order, each linked to their page, with the reason.
func (b *browser) checkAudience(sel, what string, items []audienceMember) {
	t := b.t
	t.Helper()
	if len(items) == 0 {
		t.Fatalf("%s has no audience to check", what)
	}
	var want []string
	for _, m := range items {
		want = append(want, m.CustomerID)
	}
	sameList(t, what+" audience", b.texts(sel+" tbody td:first-child a"), want)
	reasons := b.texts(sel + " tbody td:nth-child(3)")
	for i, m := range items {
		if reasons[i] != m.Reason {
			t.Fatalf("%s audience row %d: reason %q, API %q", what, i, reasons[i], m.Reason)
		}
	}
	var href string
	b.run("href", chromedp.AttributeValue(sel+" tbody td:first-child a", "href", &href, nil, chromedp.ByQuery))
	if href != "#/customers/"+url.PathEscape(items[0].CustomerID) {
		t.Fatalf("%s audience links to %q", what, href)
	}
}

// checkRules creates a merchandising rule with an error first (the
// server's 400 shown at its line and column on saving), then a valid one;
// checks the rule page against the API; previews a customer's list with it
// from the what-if box's rule picker; and deletes a rule from its page.
func (b *browser) checkRules(base, customer string) {
	t := b.t
	b.open("/rules", "#rule-list[data-ready=ok]")
	// The when is checked as typed (POST /v1/rules/check, kind product:
	// a 400 for the bad rule, or for kind on a server without the product
	// check) and on saving.
	b.w.setExpect(func(u string, status int64) bool {
		return status == 400 && (strings.HasPrefix(u, "PUT ") && strings.HasSuffix(u, "/v1/rules/cheap") ||
			strings.HasPrefix(u, "POST ") && strings.HasSuffix(u, "/v1/rules/check"))
	})
	b.run("bad rule", chromedp.SendKeys("#name", "cheap", chromedp.ByQuery),
		chromedp.SendKeys("#when", "price < 1 &&\n  prise > 0", chromedp.ByQuery), chromedp.SetValue("#weight", "", chromedp.ByQuery),
		chromedp.SendKeys("#weight", "5", chromedp.ByQuery),
		chromedp.Click("#rule-form button[type=submit]", chromedp.ByQuery), chromedp.WaitVisible("#when-status.bad .caret", chromedp.ByQuery))
	msg := b.texts("#when-status .rule-error")[0]
	if !strings.Contains(msg, "line 2, column 3") || !strings.Contains(msg, "prise") {
		t.Fatalf("merchandising rule error shown as %q", msg)
	}
	if caret := b.texts("#when-status .caret")[0]; !strings.HasSuffix(caret, "\n  ^") {
		t.Fatalf("caret not under column 3: %q", caret)
	}
	var cleared bool
	b.run("good rule", chromedp.Evaluate(`(document.querySelector("#when").value = "") === ""`, &cleared),
		chromedp.SendKeys("#when", "price < 1", chromedp.ByQuery),
		chromedp.Click("#rule-form button[type=submit]", chromedp.ByQuery), chromedp.WaitVisible("#rule-after[data-ready=ok]", chromedp.ByQuery))
	b.w.setExpect(nil)
	var r struct {
		When, Action string
		Weight       float64
	}
	apiGet(t, base, "/v1/rules/cheap", &r)
	if r.When != "price < 1" || r.Action != "boost" || r.Weight != 5 {
		t.Fatalf("rule stored as %+v", r)
	}
	var pop, with recommend.List
	apiGet(t, base, "/v1/popular?limit=10", &pop)
	apiGet(t, base, "/v1/popular?limit=10&rules=cheap", &with)
	sameList(t, "popular list", b.texts("#rule-before ol > li > a"), ids(pop.Items))
	sameList(t, "popular list with the rule", b.texts("#rule-after ol > li > a"), ids(with.Items))
	if strings.Join(ids(pop.Items), ",") == strings.Join(ids(with.Items), ",") {
		t.Fatal("the rule does not change the popular list: the page checks nothing")
	}

	// The what-if box with the rule ticked (the link form of the picker).
	b.open("/customers/"+url.PathEscape(customer)+"?rules=cheap", "#recs-whatif[data-ready=ok]")
	var ticked bool
	b.run("ticked", chromedp.Evaluate(`document.querySelector("#rule-cheap").checked`, &ticked))
	var l recommend.List
	apiGet(t, base, "/v1/customers/"+customer+"/recommendations?limit=10&rules=cheap", &l)
	sameList(t, "what-if list with a rule", b.texts("#recs-whatif ol > li > a"), ids(l.Items))
	if !ticked || !strings.Contains(b.texts("#recs-whatif h3")[0], "rules cheap") {
		t.Fatalf("rule picker: ticked %v, heading %q", ticked, b.texts("#recs-whatif h3"))
	}
	b.checkExplain(base, "#recs-whatif", "/v1/customers/"+customer+"/recommendations?limit=10&explain=true&rules=cheap")

	// Delete asks twice.
	req, _ := http.NewRequest("PUT", base+"/v1/rules/gone", strings.NewReader(`{"when":"price > 100","action":"filter"}`))
	req.Header.Set("Content-Type", "application/json")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("create rule: %v %v", err, res)
	}
	b.open("/rules/gone", "#rule-after[data-ready=ok]")
	b.run("delete", chromedp.Click("#delete-rule", chromedp.ByQuery), chromedp.Click("#delete-rule", chromedp.ByQuery),
		chromedp.WaitVisible("#rule-list[data-ready=ok]", chromedp.ByQuery))
	if res, err := http.Get(base + "/v1/rules/gone"); err != nil || res.StatusCode != 404 {
		t.Fatalf("rule not deleted: %v %v", err, res)
	}
}
