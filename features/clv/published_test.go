package clv

import (
	"math"
	"testing"
)

// cdnow is the BG/NBD fit to the CDNOW sample (2,357 customers, 39 weeks of
// calibration) in Fader, Hardie and Lee (2005), section 4: r = 0.243,
// α = 4.414, a = 0.793, b = 2.426, LL = −9582.4. The data are not shipped,
// so the tests check the formulas against the figures the paper and its
// spreadsheet give for these parameters.
var cdnow = BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}

// TestPublishedConditionalExpectation: the paper's worked example (section
// 5): a customer with x = 2, t_x = 30.43, T = 38.86 weeks is expected to
// make 1.226 purchases in the next 39 weeks.
func TestPublishedConditionalExpectation(t *testing.T) {
	s := Summary{Frequency: 2, Recency: 30.43, Age: 38.86}
	for _, m := range []BGNBD{cdnow, cdnowFull} {
		if got := m.ExpectedPurchases(s, 39); math.Abs(got-1.226) > 0.0005 {
			t.Errorf("E[Y(39) | x=2, t_x=30.43, T=38.86] = %.4f, paper 1.226 (%+v)", got, m)
		}
	}
}

// cdnowFull is the same fit with the unrounded estimates of Hardie's
// BG/NBD spreadsheet (brucehardie.com/notes/004), which round to the
// paper's.
var cdnowFull = BGNBD{R: 0.242594, Alpha: 4.413595, A: 0.792919, B: 2.425907}

// TestPublishedExpectationCurve: E[X(t)], the expected repeat purchases of
// a customer in their first t weeks, as the spreadsheet gives it (the
// values the lifetimes library tests against): t = 1/7, 1, 3, 31 6/7, 32
// and 78 weeks. With the unrounded estimates the curve matches to 0.0005
// (4 decimals, except 1.8580 for 1.8576 at 78 weeks); the paper's
// 3-decimal parameters move it by up to 0.003.
func TestPublishedExpectationCurve(t *testing.T) {
	for _, c := range []struct{ t, want float64 }{
		{0.1429, 0.0078}, {1, 0.0532}, {3, 0.1506},
		{31.8571, 1.0405}, {32, 1.0437}, {78, 1.8576},
	} {
		if got := cdnowFull.ExpectedPurchasesNew(c.t); math.Abs(got-c.want) > 0.0005 {
			t.Errorf("E[X(%v)] = %.4f, spreadsheet %.4f", c.t, got, c.want)
		}
		if got := cdnow.ExpectedPurchasesNew(c.t); math.Abs(got-c.want) > 0.003 {
			t.Errorf("E[X(%v)] with the rounded parameters = %.4f, spreadsheet %.4f", c.t, got, c.want)
		}
	}
}

// TestPAliveMatchesBayes computes P(alive) the long way, from the two
// parts of the individual likelihood integrated over λ and p in natural
// space with gamma and beta functions (paper, equations 4 and 5), and
// checks the closed form against it; plus the customer of the worked
// example, whose P(alive) the closed form puts at 0.7266 (odds 0.793/3.426
// × (43.274/34.844)^2.243 = 0.3763).
func TestPAliveMatchesBayes(t *testing.T) {
	r, al, a, b := cdnow.R, cdnow.Alpha, cdnow.A, cdnow.B
	for _, c := range []struct {
		x      int
		tx, tt float64
	}{{1, 2, 38}, {2, 30.43, 38.86}, {5, 10, 39}, {7, 38, 39}, {20, 30, 39}} {
		x := float64(c.x)
		common := math.Gamma(r+x) / math.Gamma(r) * math.Pow(al, r)
		alive := common * beta(a, b+x) / beta(a, b) / math.Pow(al+c.tt, r+x)
		dead := common * beta(a+1, b+x-1) / beta(a, b) / math.Pow(al+c.tx, r+x)
		want := alive / (alive + dead)
		got := cdnow.PAlive(Summary{Frequency: c.x, Recency: c.tx, Age: c.tt})
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("P(alive | %d, %v, %v) = %.15f, Bayes %.15f", c.x, c.tx, c.tt, got, want)
		}
		ll := cdnow.LogLikelihoodOf([]Summary{{Frequency: c.x, Recency: c.tx, Age: c.tt}})
		if math.Abs(ll-math.Log(alive+dead)) > 1e-10 {
			t.Errorf("log-likelihood of (%d, %v, %v) = %.12f, natural space %.12f", c.x, c.tx, c.tt, ll, math.Log(alive+dead))
		}
	}
	if got := cdnow.PAlive(Summary{Frequency: 2, Recency: 30.43, Age: 38.86}); math.Abs(got-0.7266) > 0.0001 {
		t.Errorf("P(alive) of the worked example = %.4f, want 0.7266", got)
	}
	if got := cdnow.PAlive(Summary{Age: 39}); got != 1 {
		t.Errorf("P(alive) without repeat purchases = %v, the model says 1", got)
	}
}

func beta(p, q float64) float64 { return math.Gamma(p) * math.Gamma(q) / math.Gamma(p+q) }

// cdnowSpend is the Gamma-Gamma fit to CDNOW's 946 repeat customers in
// Fader, Hardie and Lee, "RFM and CLV" (2005) and note 025: p = 6.25,
// q = 3.74, γ = 15.44.
var cdnowSpend = GammaGamma{P: 6.25, Q: 3.74, Gamma: 15.44}

// TestPublishedSpend checks the conditional expected spend. A customer
// without repeat purchases gets the population mean pγ/(q−1) = 35.22; the
// note's spreadsheet gives 35.17 for such customers from its unrounded
// estimates (within 0.1, as lifetimes checks). For repeat customers the
// formula must be the weighted mean the note derives:
// (q−1)/(px+q−1) · pγ/(q−1) + px/(px+q−1) · m_x.
func TestPublishedSpend(t *testing.T) {
	if got := cdnowSpend.ExpectedValue(Summary{}); math.Abs(got-35.17) > 0.1 {
		t.Errorf("E[M] of a customer without repeat purchases = %.3f, spreadsheet 35.17", got)
	}
	p, q, g := cdnowSpend.P, cdnowSpend.Q, cdnowSpend.Gamma
	for _, c := range []struct {
		x  int
		mx float64
	}{{1, 10}, {2, 35}, {6, 100}, {40, 20}} {
		x := float64(c.x)
		w := p * x / (p*x + q - 1)
		want := (1-w)*p*g/(q-1) + w*c.mx
		if got := cdnowSpend.ExpectedValue(Summary{Frequency: c.x, MeanValue: c.mx}); math.Abs(got-want) > 1e-9 {
			t.Errorf("E[M | x=%d, m_x=%v] = %.6f, weighted mean %.6f", c.x, c.mx, got, want)
		}
	}
}
