package api

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend"
)

// TestMetricsShowTuning: /metrics says what the self-tuner chose once the
// model has been built, and nothing about it before.
func TestMetricsShowTuning(t *testing.T) {
	o := testStoreOptions(t.TempDir())
	o.Neighbours = features.DefaultNeighbourOptions()
	st, err := features.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	eng, err := recommend.New(storeDeps(t, st), recommend.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Deps{Store: st, Engine: eng, CRM: crmOf(t, st)}, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	scrape := func() string {
		resp, err := srv.App().Test(httptest.NewRequest("GET", "/metrics", nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if strings.Contains(scrape(), "affinity_model_tuned_info") {
		t.Fatal("tuning exported before any model was tuned")
	}
	t0 := time.Date(2011, 1, 1, 0, 0, 0, 0, time.UTC)
	var evs []features.Event
	for c := range 60 {
		for i := range 6 {
			evs = append(evs, features.Event{CustomerID: fmt.Sprintf("c%d", c), ProductID: fmt.Sprintf("p%d", (c%5)*6+(c+i)%6),
				Type: "purchase", Timestamp: t0.Add(time.Duration(i) * 24 * time.Hour)})
		}
	}
	if _, err := st.Ingest(context.Background(), evs, features.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	st.Refresh()
	body := scrape()
	for _, want := range []string{`affinity_model_tuned_info{holdout="temporal",`, `similarity="ease"} 1`,
		"affinity_model_tuned_lambda ", "affinity_model_tuned_neighbours ", "affinity_model_tuned_half_life_days ",
		"affinity_model_tuned_validation_ndcg ", "affinity_model_tuned_default_validation_ndcg "} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
