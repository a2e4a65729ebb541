//go:build browser

package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// seedExperimentTraffic runs a second experiment, checkout-demo, through
// the public API as a storefront would: lists served (each an exposure)
// to n customers and, for some of them, a click and a purchase quoting the
// list's recommendation_id; it waits until the results count them all.
// home-list stays untouched: its zero exposures prove the console's
// previews count for nothing.
func seedExperimentTraffic(t *testing.T, base string, n int) {
	t.Helper()
	apiSend(t, "PUT", base+"/v1/experiments/checkout-demo", `{"status":"running","variants":[{"name":"control"},{"name":"popular","params":{"algorithm":"popular"}}]}`)
	var cs struct{ Customers []string }
	apiGet(t, base, fmt.Sprintf("/v1/customers?limit=%d", n), &cs)
	var evs []map[string]any
	for i, c := range cs.Customers {
		var l struct {
			RecommendationID string `json:"recommendation_id"`
			Variant          string
			Items            []struct {
				ProductID string `json:"product_id"`
			}
		}
		apiGet(t, base, "/v1/customers/"+c+"/recommendations?limit=5&experiment=checkout-demo", &l)
		if len(l.Items) == 0 {
			continue
		}
		// The treatment converts more often, so the chart has a lift to show.
		every := 4
		if l.Variant == "popular" {
			every = 2
		}
		if i%every == 0 {
			ev := map[string]any{"customer_id": c, "product_id": l.Items[0].ProductID, "recommendation_id": l.RecommendationID, "timestamp": "2011-12-09T12:00:00Z"}
			click, buy := map[string]any{"type": "click"}, map[string]any{"type": "purchase", "value": 20}
			for k, v := range ev {
				click[k], buy[k] = v, v
			}
			evs = append(evs, click, buy)
		}
	}
	body, _ := json.Marshal(evs)
	apiSend(t, "POST", base+"/v1/events", string(body))
	// Exposures reach the results after the experiments' flush (100 ms).
	for range 100 {
		var r struct {
			Variants []struct{ Exposures, Conversions int }
		}
		apiGet(t, base, "/v1/experiments/checkout-demo/results", &r)
		seen := 0
		for _, v := range r.Variants {
			seen += v.Exposures
		}
		if seen >= len(cs.Customers)/2 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("experiment exposures never reached the results")
}

func apiSend(t *testing.T, method, u, body string) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("%s %s: %d", method, u, res.StatusCode)
	}
}

// checkExperimentResults holds the results page of checkout-demo to the
// API: a row per variant with its exposures, and the four interval charts
// (click rate, conversion, revenue per exposure, lift).
func (b *browser) checkExperimentResults(base string) {
	t := b.t
	b.open("/experiments/checkout-demo", "#results[data-ready=ok] svg.chart")
	var r struct {
		Variants []struct {
			Name      string
			Exposures int
		}
	}
	apiGet(t, base, "/v1/experiments/checkout-demo/results", &r)
	rows := b.texts("#results-table tbody tr td:nth-child(2)")
	if len(rows) != len(r.Variants) {
		t.Fatalf("results table has %d rows, API %d variants", len(rows), len(r.Variants))
	}
	for i, v := range r.Variants {
		if number(t, rows[i]) != float64(v.Exposures) || v.Exposures == 0 {
			t.Fatalf("variant %s: page shows %s exposures, API %d", v.Name, rows[i], v.Exposures)
		}
	}
	var charts []struct {
		Label string
		Dots  int
	}
	b.run("charts", chromedp.Evaluate(`[...document.querySelectorAll("#results svg.chart")].map((s) => ({label: s.getAttribute("aria-label"), dots: s.querySelectorAll("circle").length}))`, &charts))
	// The report page's four charts: a dot per variant, and per treatment
	// for the lift.
	want := []string{"Click rate", "Conversion rate", "Revenue per exposure", "Lift"}
	if len(charts) != len(want) {
		t.Fatalf("results charts: %+v", charts)
	}
	for i, c := range charts {
		dots := len(r.Variants)
		if want[i] == "Lift" {
			dots--
		}
		if !strings.HasPrefix(c.Label, want[i]) || c.Dots != dots {
			t.Fatalf("chart %d is %q with %d dots, want %q with %d", i, c.Label, c.Dots, want[i], dots)
		}
	}
}
