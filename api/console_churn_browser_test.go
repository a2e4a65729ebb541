//go:build browser

package api

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// figure reads a figure as the console prints it ("24.6%", "1,234.56");
// ok is false for anything else ("not fitted yet").
func figure(s string) (float64, bool) {
	f := strings.Fields(strings.NewReplacer(",", "", "%", "").Replace(s))
	if len(f) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	return v, err == nil
}

// sameFigure fails unless the page shows want (nil: "not fitted"), to the
// digits the console prints: scale 100 for a percentage, tol half its last digit.
func sameFigure(t *testing.T, what, shown string, want *float64, scale, tol float64) {
	t.Helper()
	got, ok := figure(shown)
	switch {
	case want == nil && (ok || !strings.Contains(shown, "not fitted")):
		t.Fatalf("%s: page shows %q, API has no model (null)", what, shown)
	case want != nil && (!ok || math.Abs(got-*want*scale) > tol+1e-9):
		t.Fatalf("%s: page shows %q, API %v", what, shown, *want)
	}
}

type churnValue struct {
	ChurnRisk     *float64 `json:"churn_risk"`
	PAlive        *float64 `json:"p_alive"`
	ExpectedValue *float64 `json:"expected_value"`
}

type valueModel struct {
	BGNBD struct {
		R         float64 `json:"r"`
		AlphaDays float64 `json:"alpha_days"`
		A         float64 `json:"a"`
		B         float64 `json:"b"`
	} `json:"bgnbd"`
	GammaGamma struct {
		P     float64 `json:"p"`
		Q     float64 `json:"q"`
		Gamma float64 `json:"gamma"`
	} `json:"gamma_gamma"`
	Customers int `json:"customers"`
}

// checkChurn holds the churn figures the console shows, on a customer's
// page and on the Value page, to the API's own answers at both screen
// sizes (a phone stacks the cards and scrolls the tables, and the width
// check in screenshots covers the rest).
func (b *browser) checkChurn(base, customer string) {
	t := b.t
	var prof struct{ Value *churnValue }
	apiGet(t, base, "/v1/customers/"+customer+"/profile", &prof)
	var v struct {
		Tiers []struct {
			Tier          string
			MeanChurnRisk *float64 `json:"mean_churn_risk"`
			ExpectedValue *float64 `json:"expected_value"`
		}
		Model *valueModel
	}
	apiGet(t, base, "/v1/insights/value", &v)
	if v.Model == nil || prof.Value == nil || prof.Value.ChurnRisk == nil {
		t.Fatalf("the demo has no fitted churn model (model %v, value %+v): the check would only see \"not fitted\"", v.Model, prof.Value)
	}
	for _, size := range consoleSizes {
		b.run("viewport", chromedp.EmulateViewport(size[0], size[1]))
		b.open("/customers/"+customer, "#value-cards")
		var cards map[string]string
		b.run("value cards", chromedp.Evaluate(`Object.fromEntries([...document.querySelectorAll("#value-cards .card")].map((c) =>
			[c.querySelector(".label").textContent, c.querySelector(".value").textContent + " | " + (c.querySelector(".note") || {}).textContent]))`, &cards))
		risk, ev := cards["Churn risk"], cards["Expected value"]
		sameFigure(t, "churn risk card", risk, prof.Value.ChurnRisk, 100, 0.05)
		sameFigure(t, "expected value card", ev, prof.Value.ExpectedValue, 1, 0.005)
		if !strings.Contains(risk, "chance of no purchase in the next 90 days") || !strings.Contains(ev, "90 days") {
			t.Fatalf("churn cards lack their explanation: %q, %q", risk, ev)
		}
		b.open("/value", "#value-model")
		risks, evs := b.texts("#tier-table tbody tr td:nth-child(6)"), b.texts("#tier-table tbody tr td:nth-child(7)")
		if len(risks) != len(v.Tiers) || len(evs) != len(v.Tiers) {
			t.Fatalf("tier table has %d/%d churn cells, API %d tiers", len(risks), len(evs), len(v.Tiers))
		}
		for i, tr := range v.Tiers {
			sameFigure(t, "mean churn risk of "+tr.Tier, risks[i], tr.MeanChurnRisk, 100, 0.05)
			sameFigure(t, "expected value of "+tr.Tier, evs[i], tr.ExpectedValue, 1, 0.005)
		}
		b.checkModelTable(v.Model)
		b.noJunk("value " + strconv.FormatInt(size[0], 10))
	}
	b.run("viewport", chromedp.EmulateViewport(1280, 800))
}

// checkModelTable compares the fitted parameters shown with the API's, to
// the three significant places the console prints (seven decimals below 0.01).
func (b *browser) checkModelTable(m *valueModel) {
	t := b.t
	want := []float64{m.BGNBD.R, m.BGNBD.AlphaDays, m.BGNBD.A, m.BGNBD.B, m.GammaGamma.P, m.GammaGamma.Q, m.GammaGamma.Gamma}
	var got []float64
	for i, s := range b.texts("#value-model tbody tr td:nth-child(3)") {
		if i == 4 || i == 8 { // the log-likelihoods
			continue
		}
		f, ok := figure(s)
		if !ok {
			t.Fatalf("model parameter %d shown as %q", i, s)
		}
		got = append(got, f)
	}
	if len(got) != len(want) {
		t.Fatalf("model table shows %d parameters, want %d", len(got), len(want))
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 0.0005+1e-9 {
			t.Fatalf("model parameter %d: page %v, API %v", i, got[i], want[i])
		}
	}
}
