package offer

import (
	"context"
	"errors"
	"testing"

	"github.com/affinity-rec/affinity/features"
)

// TestNextBestWithoutExperiments: a use case with no experiment service
// serves plain requests and previews as Choose does, and answers a request
// naming an experiment with a not-found worded as the API always did.
// (The enrolled path is tested over HTTP: api's TestNBOHTTPExperimentFlags.)
func TestNextBestWithoutExperiments(t *testing.T) {
	e := openOfferTestEnv(t, nil)
	e.put("a", Offer{Value: 1, Priority: 1})
	nb := NewNextBest(e.svc, nil)
	ctx := context.Background()
	res, err := nb.Serve(ctx, NextBestRequest{Request: Request{CustomerID: "c1"}})
	if err != nil || res.Enrolled || len(res.Offers) != 1 || res.RecommendationID == "" {
		t.Fatalf("plain request: %+v, %v", res, err)
	}
	_, err = nb.Serve(ctx, NextBestRequest{Request: Request{CustomerID: "c1"}, Experiment: "x", Unit: "c1"})
	if !errors.Is(err, features.ErrNotFound) || err.Error() != `unknown experiment "x"` {
		t.Fatalf("experiment without a service: %v", err)
	}
	// A preview enrols in nothing, so naming an experiment is no error.
	res, err = nb.Serve(ctx, NextBestRequest{Request: Request{CustomerID: "c1", DryRun: true}, Experiment: "x", Unit: "c1"})
	if err != nil || res.Enrolled || len(res.Offers) != 1 {
		t.Fatalf("preview: %+v, %v", res, err)
	}
}
