package crm

import (
	"math"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
)

// TestValueOfAbsurdHistories: the histories the store replays from an old
// log (features' TestOldLogWithAbsurdValues: values clamped to
// MaxEventValue, a purchase at unix 0) give finite values, and the unix-0
// purchase counts as a purchase (it was read as "never bought": recency_days
// -1, tier prospect).
func TestValueOfAbsurdHistories(t *testing.T) {
	s := &Service{}
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	at := time.Date(2011, 6, 1, 0, 0, 0, 0, time.UTC).Unix()
	var whale, epoch valueRec
	whale.addPurchase(at, features.MaxEventValue, 0)
	whale.addPurchase(at, features.MaxEventValue, 0)
	epoch.addPurchase(0, 10, 0)
	v := s.valueOf(&whale, now)
	for _, x := range []float64{v.Monetary, v.HistoricalValue, v.CurrentValue, v.RecencyDays} {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			t.Fatalf("whale: %+v is not finite", v)
		}
	}
	if v.Monetary != 2*features.MaxEventValue {
		t.Fatalf("whale monetary %v, want %v", v.Monetary, 2*features.MaxEventValue)
	}
	if e := s.valueOf(&epoch, now); e.RecencyDays < 0 || e.Frequency != 1 || e.Tier == TierProspect {
		t.Fatalf("a purchase at unix 0 reads as never bought: %+v", e)
	}
}
