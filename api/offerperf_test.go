package api

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend/offer"
)

// perfPoint is one point of GET /v1/offers/{id}/performance.
type perfPoint struct {
	Start          time.Time                          `json:"start"`
	Shown          uint64                             `json:"shown"`
	Accepted       uint64                             `json:"accepted"`
	Declined       uint64                             `json:"declined"`
	Ignored        uint64                             `json:"ignored"`
	AcceptanceRate struct{ Value, Low, High float64 } `json:"acceptance_rate"`
	BudgetUsed     uint64                             `json:"budget_used"`
}

type perfReply struct {
	OfferID    string      `json:"offer_id"`
	Bucket     string      `json:"bucket"`
	Since      time.Time   `json:"since"`
	Until      time.Time   `json:"until"`
	Points     []perfPoint `json:"points"`
	Budget     *int64      `json:"budget"`
	BudgetLeft *int64      `json:"budget_left"`
}

// TestOfferPerformanceOverTime shows an offer over four hours of a moving
// clock, answers some exposures (accepted, declined, and ignored by the
// response window passing) and checks every bucket, that the points add up
// to GET /v1/offers/{id}'s totals, before and after a restart replays the
// logs, and the 400s naming the field.
func TestOfferPerformanceOverTime(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	t0 := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	var now atomic.Int64
	now.Store(t0.UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()).UTC() }
	st, eng := seededStore(t, func(o *features.Options) { o.Logger = quiet; o.Clock = clock },
		purchases(20, 5, 10, func(c, p int) bool { return (c+p)%3 != 0 }))
	oo := offer.DefaultOptions()
	oo.Logger, oo.Seed, oo.ResponseWindow = quiet, 1, 90*time.Minute
	open := func() (*offer.Service, *Server) {
		offers, err := offer.New(st.Records(), st, crmOf(t, st), eng, oo)
		if err != nil {
			t.Fatal(err)
		}
		return offers, serverOver(t, Deps{Store: st, Engine: eng, CRM: crmOf(t, st), Offers: offers}, quiet)
	}
	offers, srv := open()
	send(t, srv, "PUT", "/v1/offers/o1", `{"value":1,"budget":50}`).want(t, 200)

	// Hour h: customers c0..c(2+h) are shown o1; c0 accepts, c1 declines,
	// the rest wait (and are ignored once the 90-minute window passes,
	// at the next showing of o1 two hours on).
	want := offerPerfWant{}
	pt := want.at
	showOfferPerfHours(t, srv, &now, t0, pt)

	checkOfferPerfSeries(t, srv, t0, pt)
	offers.Close()
	offers, srv = open() // a restart replays the logs into the totals
	t.Cleanup(func() { offers.Close() })
	checkOfferPerfSeries(t, srv, t0, pt)

	checkOfferPerfBadQueries(t, srv)
	send(t, srv, "GET", "/v1/offers/nope/performance", "").want(t, 404)
}

// offerPerfWant is TestOfferPerformanceOverTime's expected point by hour.
type offerPerfWant map[int]*perfPoint

// at is hour h's expected point, made on first use.
func (want offerPerfWant) at(h int) *perfPoint {
	if want[h] == nil {
		want[h] = &perfPoint{}
	}
	return want[h]
}

// showOfferPerfHours shows o1 and answers it over four hours of the
// clock now, adding what each hour should count to pt.
func showOfferPerfHours(t *testing.T, srv *Server, now *atomic.Int64, t0 time.Time, pt func(int) *perfPoint) {
	t.Helper()
	for h := 0; h < 4; h++ {
		now.Store(t0.Add(time.Duration(h)*time.Hour + 10*time.Minute).UnixNano())
		if h >= 2 {
			pt(h).Ignored += uint64(1 + (h - 2)) // hour h-2's waiting exposures expire here
		}
		for c := 0; c < 3+h; c++ {
			var nbo nboJSON
			send(t, srv, "GET", fmt.Sprintf("/v1/customers/c%d/next-best-offer?limit=1", c), "").want(t, 200).decode(t, &nbo)
			if len(nbo.Offers) != 1 {
				t.Fatalf("hour %d customer c%d: %+v", h, c, nbo)
			}
			pt(h).Shown++
			resp := map[int]string{0: "accepted", 1: "declined"}[c]
			if resp == "" {
				continue
			}
			send(t, srv, "POST", "/v1/offers/o1/responses", fmt.Sprintf(`{"customer_id":"c%d","response":%q,"recommendation_id":%q}`, c, resp, nbo.RecommendationID)).want(t, 200)
			if resp == "accepted" {
				pt(h).Accepted++
			} else {
				pt(h).Declined++
			}
		}
	}
}

// checkOfferPerfSeries checks o1's hourly series against pt, that its
// points add up to the offer's totals and budget, the daily series and a
// window from hour 2 on.
func checkOfferPerfSeries(t *testing.T, srv *Server, t0 time.Time, pt func(int) *perfPoint) {
	t.Helper()
	var r perfReply
	send(t, srv, "GET", "/v1/offers/o1/performance?bucket=hour", "").want(t, 200).decode(t, &r)
	if r.OfferID != "o1" || r.Bucket != "hour" || len(r.Points) != 4 || !r.Since.Equal(t0) || !r.Until.Equal(t0.Add(4*time.Hour)) {
		t.Fatalf("series %+v", r)
	}
	var tot perfPoint
	for h, p := range r.Points {
		w := pt(h)
		if !p.Start.Equal(t0.Add(time.Duration(h)*time.Hour)) || p.Shown != w.Shown || p.Accepted != w.Accepted || p.Declined != w.Declined || p.Ignored != w.Ignored {
			t.Fatalf("hour %d: got %+v, want %+v", h, p, *w)
		}
		tot.Shown, tot.Accepted, tot.Declined, tot.Ignored = tot.Shown+p.Shown, tot.Accepted+p.Accepted, tot.Declined+p.Declined, tot.Ignored+p.Ignored
		if p.BudgetUsed != tot.Accepted {
			t.Fatalf("hour %d budget used %d, want %d", h, p.BudgetUsed, tot.Accepted)
		}
	}
	var v offer.View
	send(t, srv, "GET", "/v1/offers/o1", "").want(t, 200).decode(t, &v)
	perf := v.Performance
	if tot.Shown != perf.Shown || tot.Accepted != perf.Accepted || tot.Declined != perf.Declined || tot.Ignored != perf.Ignored {
		t.Fatalf("points add up to %+v; the offer reports %+v", tot, perf)
	}
	if r.Budget == nil || *r.Budget != 50 || r.BudgetLeft == nil || *r.BudgetLeft != *perf.BudgetLeft {
		t.Fatalf("budget %v left %v; offer %+v", r.Budget, r.BudgetLeft, perf)
	}
	var d perfReply
	send(t, srv, "GET", "/v1/offers/o1/performance?bucket=day", "").want(t, 200).decode(t, &d)
	if len(d.Points) != 1 || d.Points[0].Shown != perf.Shown || d.Points[0].Accepted != perf.Accepted || d.Points[0].AcceptanceRate.Value != perf.AcceptanceRate.Value {
		t.Fatalf("one day %+v, offer %+v", d, perf)
	}
	// A window from hour 2 on: hours 0-1's acceptances still count in
	// the budget used.
	send(t, srv, "GET", "/v1/offers/o1/performance?bucket=hour&since=2024-06-01T02:00:00Z&until=2024-06-01T04:00:00Z", "").want(t, 200).decode(t, &r)
	if len(r.Points) != 2 || r.Points[0].Shown != pt(2).Shown || r.Points[1].BudgetUsed != perf.Accepted {
		t.Fatalf("hours 2-3 %+v", r)
	}
}

// checkOfferPerfBadQueries checks that a bad bucket or window is a 400
// naming the field.
func checkOfferPerfBadQueries(t *testing.T, srv *Server) {
	t.Helper()
	for q, field := range map[string]string{
		"bucket=week":                            "bucket",
		"bucket=hour&since=yesterday":            "since",
		"bucket=hour&until=2024-06-01":           "until",
		"bucket=hour&since=2020-01-01T00:00:00Z": "since",
		"bucket=hour&since=2024-06-01T03:00:00Z&until=2024-06-01T02:00:00Z": "until",
	} {
		p := send(t, srv, "GET", "/v1/offers/o1/performance?"+q, "").want(t, 400)
		if p.ctype != "application/problem+json" || !strings.Contains(string(p.body), `"field":"`+field+`"`) {
			t.Fatalf("%s: %s", q, p.body)
		}
	}
}
