package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/crm"
	"github.com/affinity-rec/affinity/recommend"
	"github.com/affinity-rec/affinity/recommend/experiment"
	"github.com/affinity-rec/affinity/recommend/offer"
)

// httpReply is one answer of the app, read whole.
type httpReply struct {
	status int
	ctype  string
	body   []byte
	hdr    http.Header
}

// send makes one request through fiber's app.Test: a JSON body when body
// is not empty, then header name/value pairs.
func send(t testing.TB, srv *Server, method, path, body string, hdr ...string) httpReply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := srv.App().Test(req, 10_000)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return httpReply{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), body: b, hdr: resp.Header}
}

func (r httpReply) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %d %s: %v", r.status, r.body, err)
	}
}

func (r httpReply) want(t testing.TB, status int) httpReply {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

// seededStore opens a real store in a temp dir (mod adjusts its options),
// commits evs, builds the model and returns it with an engine over it. The
// store closes at the end of the test.
func seededStore(t testing.TB, mod func(*features.Options), evs []features.Event) (*features.Store, *recommend.Engine) {
	t.Helper()
	o := features.DefaultOptions(t.TempDir())
	o.SyncWrites = false
	o.RefreshInterval = time.Hour
	if mod != nil {
		mod(&o)
	}
	st, err := features.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Ingest(context.Background(), evs, features.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	st.Refresh()
	eng, err := recommend.New(storeDeps(t, st), recommend.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return st, eng
}

// purchases makes purchase events of customers c0..c(nc-1) over products
// p0..p(np-1), where keep says which pairs bought.
func purchases(nc, np int, value float64, keep func(c, p int) bool) []features.Event {
	var evs []features.Event
	for c := range nc {
		for p := range np {
			if keep(c, p) {
				evs = append(evs, features.Event{CustomerID: fmt.Sprint("c", c), ProductID: fmt.Sprint("p", p), Type: "purchase", Value: value})
			}
		}
	}
	return evs
}

// serverOver is a Server over deps with the default options, logging to
// log.
func serverOver(t testing.TB, deps Deps, log *slog.Logger) *Server {
	t.Helper()
	ao := DefaultOptions()
	ao.Logger = log
	srv, err := New(deps, ao)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// newTestExperiments is an experiments service over st, closed with the
// test; flush 0 keeps the default flush interval.
func newTestExperiments(t testing.TB, st *features.Store, log *slog.Logger, flush time.Duration) *experiment.Service {
	t.Helper()
	xo := experiment.DefaultOptions()
	xo.Logger = log
	if flush > 0 {
		xo.FlushInterval = flush
	}
	x, err := experiment.New(st.Records(), st, testExperimentParams(), xo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

// testExperimentParams are the variant params the server understands, as
// cmd/affinity wires them: ranking's, and the offer service's nbo_policy.
func testExperimentParams() experiment.Params {
	checks := recommend.ParamChecks(recommend.DefaultOptions().MaxLimit)
	checks["nbo_policy"] = offer.CheckPolicy
	return experiment.Params{Checks: checks, Variant: []func(map[string]any) (string, string){recommend.CheckVariantParams}}
}

// testCRM holds the customer-value service of each test store, started by
// crmOf on first use and closed (before the store) when its test ends.
var testCRM sync.Map // *features.Store -> *crm.Service

// crmOf is the customer-value service following st, as serve wires one.
func crmOf(t testing.TB, st *features.Store) *crm.Service {
	t.Helper()
	if cs, ok := testCRM.Load(st); ok {
		return cs.(*crm.Service)
	}
	cs, err := crm.New(st, st.Records(), nil)
	if err != nil {
		t.Fatal(err)
	}
	testCRM.Store(st, cs)
	t.Cleanup(func() {
		testCRM.Delete(st)
		cs.Close()
	})
	return cs
}

// storeDeps are the engine's Deps over st and its crmOf service.
func storeDeps(t testing.TB, st *features.Store) recommend.Deps {
	return recommend.StoreDeps(st, crmOf(t, st))
}
