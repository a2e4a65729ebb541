package crm

import (
	"testing"

	"github.com/affinity-rec/affinity/features/background"
	"github.com/affinity-rec/affinity/features/clv"
)

// TestFitRunsAtBackgroundPriority: the customer-value fit runs on a thread
// at background.Nice (it ran at the requests' priority and queued them
// for seconds every minute under load), and its result reaches the caller.
func TestFitRunsAtBackgroundPriority(t *testing.T) {
	if background.Nice == 0 {
		t.Skip("threads are not niced here")
	}
	nice := -1
	defer func(f func([]clv.Summary, <-chan struct{}) (clv.BGNBD, error)) { fitBGNBD = f }(fitBGNBD)
	fitBGNBD = func(c []clv.Summary, stop <-chan struct{}) (clv.BGNBD, error) {
		n, err := background.ThreadNice()
		if err != nil {
			t.Error(err)
		}
		nice = n
		return clv.FitBGNBDUntil(c, stop)
	}
	var sums []clv.Summary
	for i := range 400 {
		f := i % 5
		sums = append(sums, clv.Summary{Frequency: f, Recency: float64(f * 20), Age: 200, MeanValue: 10 + float64(i%7)})
	}
	s := &Service{stop: make(chan struct{})}
	bg, _, err := s.fit(sums)
	if err != nil {
		t.Fatalf("fit: %v", err)
	}
	if nice != background.Nice {
		t.Fatalf("the fit ran at nice %d, want %d", nice, background.Nice)
	}
	if bg == (clv.BGNBD{}) {
		t.Fatal("the fit's parameters did not reach the caller")
	}
}
