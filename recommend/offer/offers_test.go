package offer

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/crm"
	"github.com/affinity-rec/affinity/recommend"
)

// offerTestEnv is a real Badger store under t.TempDir with a settable clock,
// an Engine and an offer Service over it.
type offerTestEnv struct {
	t     testing.TB
	dir   string
	now   *atomic.Int64 // unix seconds of the store clock
	store *features.Store
	crm   *crm.Service
	eng   *recommend.Engine
	svc   *Service
	mod   func(*Options)
}

var offerTestEpoch = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func openOfferTestEnv(t testing.TB, mod func(*Options)) *offerTestEnv {
	t.Helper()
	e := &offerTestEnv{t: t, dir: t.TempDir(), now: &atomic.Int64{}, mod: mod}
	e.now.Store(offerTestEpoch.Unix())
	e.open()
	t.Cleanup(e.close)
	return e
}

func (e *offerTestEnv) open() {
	e.t.Helper()
	o := features.DefaultOptions(e.dir)
	o.SyncWrites = false
	o.RefreshInterval = time.Hour
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	o.Clock = func() time.Time { return time.Unix(e.now.Load(), 0).UTC() }
	st, err := features.Open(o)
	if err != nil {
		e.t.Fatalf("open store: %v", err)
	}
	cs, err := crm.New(st, st.Records(), o.Logger)
	if err != nil {
		e.t.Fatalf("crm: %v", err)
	}
	eng, err := recommend.New(recommend.StoreDeps(st, cs), recommend.DefaultOptions())
	if err != nil {
		e.t.Fatal(err)
	}
	oo := DefaultOptions()
	oo.Seed = 42
	oo.Logger = o.Logger
	if e.mod != nil {
		e.mod(&oo)
	}
	svc, err := New(st.Records(), st, cs, eng, oo)
	if err != nil {
		e.t.Fatalf("offer service: %v", err)
	}
	e.store, e.crm, e.eng, e.svc = st, cs, eng, svc
}

func (e *offerTestEnv) close() {
	if e.svc != nil {
		e.svc.Close()
		e.crm.Close()
		e.store.Close()
		e.svc = nil
	}
}

// restart closes the service and the store and opens both again.
func (e *offerTestEnv) restart() {
	e.t.Helper()
	e.close()
	e.open()
}

func (e *offerTestEnv) ingest(evs ...features.Event) {
	e.t.Helper()
	res, err := e.store.Ingest(context.Background(), evs, features.IngestOptions{})
	if err != nil || len(res.Rejected) > 0 {
		e.t.Fatalf("ingest: %v %+v", err, res.Rejected)
	}
}

func (e *offerTestEnv) put(id string, o Offer) {
	e.t.Helper()
	if _, err := e.svc.Put(id, o); err != nil {
		e.t.Fatalf("put offer %s: %v", id, err)
	}
}

func (e *offerTestEnv) choose(cust string, limit int, channel string) Result {
	e.t.Helper()
	res, err := e.svc.Choose(context.Background(), Request{CustomerID: cust, Limit: limit, Channel: channel})
	if err != nil {
		e.t.Fatalf("choose for %s: %v", cust, err)
	}
	return res
}

func (e *offerTestEnv) respond(offer, cust, rec, resp string) error {
	_, err := e.svc.Respond(context.Background(), offer, Response{CustomerID: cust, Response: resp, RecommendationID: rec})
	return err
}

func fieldOf(err error) string {
	var fe *features.FieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	return ""
}

func TestDecodeOffer(t *testing.T) {
	tests := []struct {
		name, body, field string
	}{
		{"empty", ``, "body"},
		{"not json", `{"name":`, "body"},
		{"trailing data", `{} {}`, "body"},
		{"unknown field", `{"max_per_custmer": 2}`, "max_per_custmer"},
		{"negative value", `{"value": -1}`, "value"},
		{"value as text", `{"value": "ten"}`, "value"},
		{"zero priority", `{"priority": 0}`, "priority"},
		{"negative budget", `{"budget": -5}`, "budget"},
		{"fractional cap", `{"max_per_customer": 1.5}`, "max_per_customer"},
		{"negative cap", `{"max_per_customer": -1}`, "max_per_customer"},
		{"ends before it starts", `{"starts_at": "2024-05-01T00:00:00Z", "ends_at": "2024-04-01T00:00:00Z"}`, "ends_at"},
		{"ends when it starts", `{"starts_at": 1700000000, "ends_at": 1700000000}`, "ends_at"},
		{"bad time", `{"starts_at": "next tuesday"}`, "starts_at"},
		{"time as object", `{"ends_at": {}}`, "ends_at"},
		{"bad channel", `{"channels": ["web", "e mail"]}`, "channels"},
		{"channel starting with dash", `{"channels": ["-web"]}`, "channels"},
		{"empty channel", `{"channels": [""]}`, "channels"},
		{"bad product id", `{"products": [""]}`, "products"},
		{"products not a list", `{"products": "p1"}`, "products"},
		{"long rule", `{"eligibility": "` + strings.Repeat("x", 5000) + `"}`, "eligibility"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.body))
			if err == nil {
				t.Fatalf("accepted %s", tc.body)
			}
			if got := fieldOf(err); got != tc.field {
				t.Fatalf("field %q, want %q (%v)", got, tc.field, err)
			}
		})
	}
	o, err := Decode([]byte(`{"name":"Spring","products":["p1","p1","p2"],"channels":["Web","web","email"],
		"starts_at":"2024-03-01T00:00:00Z","ends_at":1711929600,"offer_id":"x","performance":{"shown":3},"active":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if o.Value != 1 || o.Priority != 1 {
		t.Errorf("defaults: value %v priority %v, want 1 and 1", o.Value, o.Priority)
	}
	if strings.Join(o.Products, ",") != "p1,p2" || strings.Join(o.Channels, ",") != "web,email" {
		t.Errorf("normalised products %v channels %v", o.Products, o.Channels)
	}
	if o.EndsAt == nil || !o.EndsAt.Equal(time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("ends_at from unix seconds: %v", o.EndsAt)
	}
}

func TestOfferPutChecksTheStore(t *testing.T) {
	e := openOfferTestEnv(t, nil)
	e.ingest(features.Event{CustomerID: "c1", ProductID: "p1", Type: "purchase"})
	_, err := e.svc.Put("o1", Offer{Products: []string{"p1", "nope"}, Value: 1, Priority: 1})
	if fieldOf(err) != "products" || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("unknown product: %v", err)
	}
	_, err = e.svc.Put("o1", Offer{Eligibility: "monetary >", Value: 1, Priority: 1})
	if fieldOf(err) != "eligibility" || !strings.Contains(err.Error(), "column") {
		t.Fatalf("bad rule should name its position: %v", err)
	}
	_, err = e.svc.Put("o1", Offer{Eligibility: "monetry > 3", Value: 1, Priority: 1})
	if fieldOf(err) != "eligibility" {
		t.Fatalf("misspelt variable: %v", err)
	}
	if _, err := e.svc.Put("", Offer{Value: 1, Priority: 1}); fieldOf(err) != "offer_id" {
		t.Fatalf("empty id: %v", err)
	}
	if _, err := e.svc.Get("o1"); !errors.Is(err, ErrUnknownOffer) || !errors.Is(err, features.ErrNotFound) {
		t.Fatalf("a refused offer must not exist: %v", err)
	}
	v, err := e.svc.Put("o1", Offer{Products: []string{"p1"}, Eligibility: `"vip" in segments || monetary > 100`, Value: 5, Priority: 2})
	if err != nil {
		t.Fatal(err)
	}
	if v.Name != "o1" || v.Performance.BudgetLeft != nil || v.Performance.AcceptanceRate.High != 1 || !v.Active {
		t.Fatalf("view %+v", v)
	}
}

func TestOfferCRUDSurvivesRestart(t *testing.T) {
	e := openOfferTestEnv(t, func(o *Options) { o.MaxOffers = 3 })
	e.ingest(features.Event{CustomerID: "c1", ProductID: "p1", Type: "purchase"})
	end := offerTestEpoch.Add(48 * time.Hour)
	e.put("b", Offer{Name: "Bee", Products: []string{"p1"}, Value: 3, Priority: 1, Budget: 10, EndsAt: &end, Channels: []string{"web"}})
	e.put("a", Offer{Category: "Kitchen", Value: 1, Priority: 1})
	e.put("c", Offer{Value: 1, Priority: 1})
	if _, err := e.svc.Put("d", Offer{Value: 1, Priority: 1}); !errors.Is(err, ErrTooManyOffers) {
		t.Fatalf("MaxOffers: %v", err)
	}
	if err := e.svc.Delete("c"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Delete("c"); !errors.Is(err, ErrUnknownOffer) {
		t.Fatalf("second delete: %v", err)
	}
	// An update keeps the learning state.
	res := e.choose("c1", 1, "web")
	if len(res.Offers) != 1 {
		t.Fatalf("choose: %+v", res)
	}
	shownID := res.Offers[0].OfferID
	if err := e.respond(shownID, "c1", res.RecommendationID, "accepted"); err != nil {
		t.Fatal(err)
	}
	e.put("b", Offer{Name: "Bee 2", Products: []string{"p1"}, Value: 4, Priority: 1, Budget: 10, EndsAt: &end, Channels: []string{"web"}})
	check := func() {
		t.Helper()
		list := e.svc.List()
		if len(list) != 2 || list[0].OfferID != "a" || list[1].OfferID != "b" {
			t.Fatalf("list %+v", list)
		}
		b, err := e.svc.Get("b")
		if err != nil {
			t.Fatal(err)
		}
		if b.Name != "Bee 2" || b.Value != 4 || b.EndsAt == nil || !b.EndsAt.Equal(end) || b.Channels[0] != "web" {
			t.Fatalf("b after update: %+v", b)
		}
		got, _ := e.svc.Get(shownID)
		if got.Performance.Shown != 1 || got.Performance.Accepted != 1 {
			t.Fatalf("%s lost what it learned: %+v", shownID, got.Performance)
		}
		if shownID == "b" && (got.Performance.BudgetLeft == nil || *got.Performance.BudgetLeft != 9) {
			t.Fatalf("budget left: %+v", got.Performance)
		}
	}
	check()
	e.restart()
	check()
	// Deleted and re-created: a new offer, nothing learned.
	if err := e.svc.Delete(shownID); err != nil {
		t.Fatal(err)
	}
	e.put(shownID, Offer{Value: 1, Priority: 1})
	e.restart()
	if got, _ := e.svc.Get(shownID); got.Performance.Shown != 0 || got.Performance.Accepted != 0 {
		t.Fatalf("re-created offer inherited %+v", got.Performance)
	}
}

func FuzzDecodeOffer(f *testing.F) {
	f.Add([]byte(`{"name":"n","products":["p1"],"category":"c","eligibility":"monetary > 3","value":2,"priority":1,
		"starts_at":"2024-01-01T00:00:00Z","ends_at":1800000000,"max_per_customer":2,"budget":10,"channels":["web"]}`))
	f.Add([]byte(`{"value":-1}`))
	f.Add([]byte(`{"starts_at":"1e309"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := Decode(b)
		if err != nil {
			if fieldOf(err) == "" {
				t.Fatalf("error without a field: %v", err)
			}
			return
		}
		// What decodes must validate again unchanged (normalisation is idempotent).
		again := o
		if err := Validate(&again); err != nil {
			t.Fatalf("decoded offer fails validation: %v", err)
		}
		if !offerFinite(o.Value) || o.Value < 0 || o.Priority <= 0 || o.Budget < 0 || o.MaxPerCustomer < 0 {
			t.Fatalf("invalid offer accepted: %+v", o)
		}
		if o.StartsAt != nil && o.EndsAt != nil && !o.EndsAt.After(*o.StartsAt) {
			t.Fatalf("ends before it starts: %+v", o)
		}
	})
}

func FuzzDecodeOfferResponse(f *testing.F) {
	f.Add([]byte(`{"customer_id":"c1","response":"accepted","recommendation_id":"r1"}`))
	f.Add([]byte(`{"customer_id":"c1","response":"maybe","recommendation_id":"r1"}`))
	f.Add([]byte(`{"customer_id":7}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeResponse(b)
		if err != nil {
			if fieldOf(err) == "" {
				t.Fatalf("error without a field: %v", err)
			}
			return
		}
		if _, err := parseOfferResponse(r.Response); err != nil || r.CustomerID == "" || r.RecommendationID == "" {
			t.Fatalf("invalid response accepted: %+v", r)
		}
	})
}
