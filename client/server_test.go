package client_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/api"
	"github.com/affinity-rec/affinity/api/contract"
	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/crm"
	"github.com/affinity-rec/affinity/recommend"
	"github.com/affinity-rec/affinity/recommend/experiment"
	"github.com/affinity-rec/affinity/recommend/offer"
)

// startServer runs a real Affinity server on 127.0.0.1 over a real store in
// a temp dir, with experiments and offers, seeded with purchases of
// customers c0..c29 over products p0..p11. It returns the base URL.
func startServer(t *testing.T, o api.Options) string {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	fo := features.DefaultOptions(t.TempDir())
	fo.SyncWrites = false
	fo.RefreshInterval = time.Hour
	fo.Logger = quiet
	st, err := features.Open(fo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var evs []features.Event
	for c := range 30 {
		for p := range 12 {
			if (c+p)%3 != 0 {
				evs = append(evs, features.Event{CustomerID: fmt.Sprint("c", c), ProductID: fmt.Sprint("p", p), Type: "purchase", Value: 10})
			}
		}
	}
	if _, err := st.Ingest(context.Background(), evs, features.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	st.Refresh()
	cs, err := crm.New(st, st.Records(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	eng, err := recommend.New(recommend.StoreDeps(st, cs), recommend.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	// The variant params the server understands, as cmd/affinity wires them.
	checks := recommend.ParamChecks(eng.Options().MaxLimit)
	checks["nbo_policy"] = offer.CheckPolicy
	params := experiment.Params{Checks: checks, Variant: []func(map[string]any) (string, string){recommend.CheckVariantParams}}
	xo := experiment.DefaultOptions()
	xo.Logger = quiet
	x, err := experiment.New(st.Records(), st, params, xo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	oo := offer.DefaultOptions()
	oo.Logger = quiet
	offers, err := offer.New(st.Records(), st, cs, eng, oo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { offers.Close() })
	o.Logger = quiet
	srv, err := api.New(api.Deps{Store: st, Engine: eng, CRM: cs, Experiments: x, Offers: offers}, o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.App().Listener(ln)
	t.Cleanup(func() { srv.App().Shutdown() })
	return "http://" + ln.Addr().String()
}

// checkedHTTP is an HTTP client whose every reply is checked against
// api/openapi.yaml; a violation fails the test.
func checkedHTTP(t *testing.T) *contract.CheckingDoer {
	t.Helper()
	v, err := contract.New(api.OpenAPIYAML())
	if err != nil {
		t.Fatal(err)
	}
	return &contract.CheckingDoer{V: v, Next: &http.Client{Timeout: 10 * time.Second},
		Report: func(err error) { t.Errorf("contract: %v", err) }}
}
