package clv_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features/clv"
	"github.com/affinity-rec/affinity/features/eventio"
)

// The Online Retail evaluation: calibrate on the purchases before a cut
// date, predict each customer's purchases in the rest of the data, compare
// with what they did. It reads ../shared/data (never copied into the
// repository) and skips when it is absent or with -short. The figures in
// docs/customer-value.md come from
//
//	go test ./features/clv -run TestOnlineRetailHoldout -v

// day is one customer's purchases on one day. As in the BTYD literature
// (and the CDNOW data), the orders of one day are one transaction, so two
// invoices an hour apart are not a repeat purchase.
type day struct {
	index int // days since the Unix epoch, UTC
	value float64
}

// retailDays reads every purchase of the full Online Retail file and
// returns each customer's purchase days in time order.
func retailDays(tb testing.TB) map[string][]day {
	tb.Helper()
	if testing.Short() {
		tb.Skip("reads the full Online Retail data set")
	}
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(wd, "..", "..", "..", "shared", "data", "uci-online-retail", "online_retail.csv.gz")
	if _, err := os.Stat(path); err != nil {
		tb.Skipf("Online Retail not found at %s", path)
	}
	r, err := eventio.Open(path, eventio.FormatOnlineRetail)
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	byDay := map[string]map[int]float64{}
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		var le *eventio.LineError
		if errors.As(err, &le) {
			continue // cancellations, lines without a customer, returns
		}
		if err != nil {
			tb.Fatal(err)
		}
		d := int(ev.Timestamp.Unix() / 86400)
		if byDay[ev.CustomerID] == nil {
			byDay[ev.CustomerID] = map[int]float64{}
		}
		byDay[ev.CustomerID][d] += ev.Value
	}
	out := make(map[string][]day, len(byDay))
	for c, m := range byDay {
		days := make([]day, 0, len(m))
		for d, v := range m {
			days = append(days, day{d, v})
		}
		sort.Slice(days, func(i, j int) bool { return days[i].index < days[j].index })
		out[c] = days
	}
	return out
}

// split is the calibration view and the hold-out truth of the customers
// who bought before the cut.
type split struct {
	summaries      []clv.Summary
	actual         []int     // purchase days in the hold-out
	actualRevenue  []float64 // revenue in the hold-out
	lastDay        []int     // last calibration purchase day, for a recency baseline
	holdout        float64   // hold-out length, weeks
	cutDay, endDay int
}

// splitAt summarises in weeks (the unit of the BG/NBD paper) every customer
// whose first purchase is before cut, over [first purchase, cut), and
// counts their purchases in [cut, the day after the last in the data).
func splitAt(days map[string][]day, cut time.Time) split {
	end := 0
	for _, ds := range days {
		end = max(end, ds[len(ds)-1].index+1)
	}
	cutDay := int(cut.Unix() / 86400)
	sp := split{holdout: float64(end-cutDay) / 7, cutDay: cutDay, endDay: end}
	ids := make([]string, 0, len(days))
	for c := range days {
		ids = append(ids, c)
	}
	sort.Strings(ids) // a fixed order: the fit is then reproducible
	for _, c := range ids {
		ds := days[c]
		if ds[0].index >= cutDay {
			continue
		}
		s := clv.Summary{Age: float64(cutDay-ds[0].index) / 7}
		spent, hold, rev, last := 0.0, 0, 0.0, ds[0].index
		for _, d := range ds[1:] {
			if d.index >= cutDay {
				hold++
				rev += d.value
				continue
			}
			s.Frequency++
			s.Recency = float64(d.index-ds[0].index) / 7
			spent += d.value
			last = d.index
		}
		if s.Frequency > 0 {
			s.MeanValue = spent / float64(s.Frequency)
		}
		sp.summaries = append(sp.summaries, s)
		sp.actual = append(sp.actual, hold)
		sp.actualRevenue = append(sp.actualRevenue, rev)
		sp.lastDay = append(sp.lastDay, last)
	}
	return sp
}
