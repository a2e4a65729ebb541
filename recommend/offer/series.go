package offer

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend/experiment/abtest"
)

// An offer's performance over time, per hour or per day, read from its
// exposure and response logs with the rules the restart replay (rebuild)
// counts them by, so that the points add up to the totals of Get.

// MaxSeriesBuckets bounds the points of one series: about six weeks of
// hours, or almost three years of days, in a reply of at most ~200 KB.
const MaxSeriesBuckets = 1000

// SeriesQuery asks for an offer's performance in buckets of Bucket ("hour"
// or "day", UTC) from Since to Until. A zero Until is now (the store's
// clock); a zero Since is when the offer was created, or as far back as
// MaxSeriesBuckets reach, whichever is later.
type SeriesQuery struct {
	Bucket       string
	Since, Until time.Time
}

// Series is an offer's performance per bucket. A plain value.
type Series struct {
	OfferID string `json:"offer_id"`
	Bucket  string `json:"bucket"`
	// Since and Until are the span the points cover: Since is the first
	// point's start, Until the end of the last one.
	Since  time.Time     `json:"since"`
	Until  time.Time     `json:"until"`
	Points []SeriesPoint `json:"points"`
	// Budget is the offer's budget in acceptances (null: no budget) and
	// BudgetLeft what is left of it now, as Get reports it.
	Budget     *int64 `json:"budget"`
	BudgetLeft *int64 `json:"budget_left"`
}

// SeriesPoint is one bucket. Exposures count in the bucket they were
// shown in, answers in the bucket they were given in (an acceptance
// spends the budget when it happens), so the rate of a bucket is its
// acceptances out of its answers, as the totals' rate is.
type SeriesPoint struct {
	Start          time.Time   `json:"start"`
	Shown          uint64      `json:"shown"`
	Accepted       uint64      `json:"accepted"`
	Declined       uint64      `json:"declined"`
	Ignored        uint64      `json:"ignored"`
	AcceptanceRate abtest.Rate `json:"acceptance_rate"`
	// BudgetUsed is the acceptances from the offer's start to the end of
	// this bucket (those before Since included): the budget spent by then.
	BudgetUsed uint64 `json:"budget_used"`
}

// seriesSpan is a validated query: n buckets of width from first.
type seriesSpan struct {
	bucket string
	width  int64 // seconds
	first  int64 // unix seconds, a bucket boundary
	n      int
}

func (sp seriesSpan) index(ts int64) int {
	if ts < sp.first {
		return -1
	}
	i := (ts - sp.first) / sp.width
	if i >= int64(sp.n) {
		return -1
	}
	return int(i)
}

// span checks q against an offer created at created and now. Errors are
// *features.FieldError naming bucket, since or until.
func seriesSpanOf(q SeriesQuery, created, now time.Time) (seriesSpan, error) {
	sp := seriesSpan{bucket: q.Bucket}
	switch q.Bucket {
	case "hour":
		sp.width = 3600
	case "day":
		sp.width = 86400
	default:
		return sp, &features.FieldError{Field: "bucket", Msg: "must be hour or day"}
	}
	floor := func(t int64) int64 { return t - ((t%sp.width)+sp.width)%sp.width }
	until := now.Unix()
	if !q.Until.IsZero() {
		until = q.Until.Unix()
	}
	last := floor(until) // the bucket holding until
	if !q.Until.IsZero() && until == last {
		last -= sp.width // an explicit until is exclusive
	}
	var first int64
	if q.Since.IsZero() {
		first = max(floor(created.Unix()), last-(MaxSeriesBuckets-1)*sp.width)
		if created.IsZero() {
			first = last - (MaxSeriesBuckets-1)*sp.width
		}
		first = min(first, last)
	} else {
		first = floor(q.Since.Unix())
		if q.Since.Unix() >= until {
			return sp, &features.FieldError{Field: "until", Msg: "must be after since (until is now when not given)"}
		}
	}
	n := (last-first)/sp.width + 1
	if n > MaxSeriesBuckets {
		return sp, &features.FieldError{Field: "since", Msg: fmt.Sprintf("asks for %d %s buckets; at most %d (a later since, an earlier until or bucket=day)", n, q.Bucket, MaxSeriesBuckets)}
	}
	sp.first, sp.n = first, int(n)
	return sp, nil
}

// Series returns offer id's performance per bucket. Errors: ErrUnknownOffer,
// *features.FieldError for a bad query.
//
// It reads the offer logs from the start on every call (the in-memory
// counts are totals only): the cost follows the logs' length, about what
// a restart spends replaying them, for one offer's figures.
func (s *Service) Series(id string, q SeriesQuery) (Series, error) {
	o := s.set.Load().byID[id]
	if o == nil {
		return Series{}, fmt.Errorf("%w %q", ErrUnknownOffer, id)
	}
	sp, err := seriesSpanOf(q, o.rec.Created, s.src.Now())
	if err != nil {
		return Series{}, err
	}
	pts := make([]SeriesPoint, sp.n)
	for i := range pts {
		pts[i].Start = time.Unix(sp.first+int64(i)*sp.width, 0).UTC()
	}
	acceptedBefore, err := s.fillSeries(o, sp, pts)
	if err != nil {
		return Series{}, err
	}
	used := acceptedBefore
	for i := range pts {
		p := &pts[i]
		used += p.Accepted
		p.BudgetUsed = used
		p.AcceptanceRate = abtest.Wilson(abtest.Proportion{Successes: int64(p.Accepted), Trials: int64(p.Accepted + p.Declined + p.Ignored)})
	}
	out := Series{OfferID: id, Bucket: sp.bucket, Points: pts,
		Since: time.Unix(sp.first, 0).UTC(), Until: time.Unix(sp.first+int64(sp.n)*sp.width, 0).UTC()}
	if b := o.rec.Budget; b > 0 {
		out.Budget = &b
		out.BudgetLeft = s.view(o, s.src.Now()).Performance.BudgetLeft
	}
	return out, nil
}

// fillSeries counts o's log entries into pts and returns the acceptances
// before the first bucket. As rebuild does: only this incarnation's
// entries; an answer counts when it closes an exposure logged before it
// (same recommendation id and customer), or when erasure made it anonymous.
func (s *Service) fillSeries(o *liveOffer, sp seriesSpan, pts []SeriesPoint) (uint64, error) {
	inc := o.st.inc
	open := map[string]string{} // recommendation id -> customer
	shown := func(le *offerLogEntry) {
		if i := sp.index(le.ts); i >= 0 {
			pts[i].Shown++
		}
		if le.cust != "" && le.rec != "" {
			open[le.rec] = le.cust
		}
	}
	if err := s.scanWithCopies(offerShownLog, o.id, inc, offerEntryShown, shown); err != nil {
		return 0, fmt.Errorf("cannot read offer exposures: %w", err)
	}
	var before uint64
	answer := func(le *offerLogEntry) {
		if le.rec != "" {
			if c, ok := open[le.rec]; !ok || c != le.cust {
				return
			}
			delete(open, le.rec)
		}
		i := sp.index(le.ts)
		if i < 0 {
			if le.resp == offerAccepted && le.ts < sp.first {
				before++
			}
			return
		}
		switch le.resp {
		case offerAccepted:
			pts[i].Accepted++
		case offerDeclined:
			pts[i].Declined++
		default:
			pts[i].Ignored++
		}
	}
	if err := s.scanWithCopies(offerResponseLog, o.id, inc, offerEntryResponse, answer); err != nil {
		return 0, fmt.Errorf("cannot read offer responses: %w", err)
	}
	return before, nil
}

// offerLogOf reports whether encoded entry b is of offer id, incarnation
// inc, reading only its first two strings: the other offers' entries,
// most of the log, are skipped without decoding (which allocates each
// string).
func offerLogOf(b []byte, id, inc string) bool {
	if len(b) > 0 && (b[0] == offerEntryErased || b[0] == offerEntryCopy) {
		b = b[min(len(b), 1+offerDigestLen):]
	}
	if len(b) == 0 {
		return false
	}
	b = b[1:]
	for _, want := range []string{id, inc} {
		n, k := binary.Uvarint(b)
		if k <= 0 || n != uint64(len(want)) || uint64(len(b)-k) < n || string(b[k:k+int(n)]) != want {
			return false
		}
		b = b[k+int(n):]
	}
	return true
}
