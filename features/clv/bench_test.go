package clv_test

import (
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features/clv"
)

// retailSummaries is every Online Retail customer summarised at the end of
// the data (weeks): what a model refresh would fit on.
func retailSummaries(b *testing.B) []clv.Summary {
	days := retailDays(b)
	end := 0
	for _, ds := range days {
		end = max(end, ds[len(ds)-1].index+1)
	}
	return splitAt(days, time.Unix(int64(end)*86400, 0)).summaries
}

// BenchmarkFitBGNBD: the fit at model refresh, on all 4,339 customers.
//
//	go test ./features/clv -run XXX -bench 'Fit|Score' -benchtime 5x
func BenchmarkFitBGNBD(b *testing.B) {
	s := retailSummaries(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := clv.FitBGNBD(s); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(s)), "customers")
}

func BenchmarkFitGammaGamma(b *testing.B) {
	s := retailSummaries(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := clv.FitGammaGamma(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScore: the per-customer predictions a profile would show
// (P(alive), P(no purchase), expected purchases and revenue over 90 days,
// in weeks), per customer.
func BenchmarkScore(b *testing.B) {
	s := retailSummaries(b)
	bg, err := clv.FitBGNBD(s)
	if err != nil {
		b.Fatal(err)
	}
	gg, err := clv.FitGammaGamma(s)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		c := s[i%len(s)]
		i++
		_ = bg.PAlive(c) + bg.PNoPurchase(c, 90.0/7) + clv.ExpectedRevenue(bg, gg, c, 90.0/7)
	}
}
