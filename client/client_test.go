package client_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/api"
	"github.com/affinity-rec/affinity/client"
)

// TestPageViewToRecommendation goes through a storefront's calls against a
// real server, every reply checked against the description: a view, the
// lists, a click attributed with recommendation_id, an A/B test from the
// client, an offer and its response, and the problems of bad calls.
func TestPageViewToRecommendation(t *testing.T) {
	ctx := context.Background()
	c, err := client.New(startServer(t, api.DefaultOptions()), client.Options{HTTPClient: checkedHTTP(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	custs, err := c.Customers(ctx, 5)
	if err != nil || len(custs) != 5 {
		t.Fatalf("customers %v, %v", custs, err)
	}
	checkViewAndClick(ctx, t, c)
	checkClientExperiment(ctx, t, c)
	checkOfferAndResponse(ctx, t, c)
	checkProblems(ctx, t, c)
}

// checkViewAndClick posts a view, takes the related list, posts a click
// attributed with its recommendation_id (twice, as a retry would), and
// takes the personal and popular lists.
func checkViewAndClick(ctx context.Context, t *testing.T, c *client.Client) {
	t.Helper()
	tally, err := c.PostEvents(ctx, client.Event{EventId: client.Ptr("v1"), CustomerId: "c1", ProductId: "p3", Type: "view", Timestamp: client.At(time.Now())})
	if err != nil || tally.Accepted != 1 {
		t.Fatalf("view: %+v, %v", tally, err)
	}
	rel, err := c.Related(ctx, "p3", &client.GetRelatedParams{Limit: client.Ptr(3), CustomerId: client.Ptr("c1")})
	if err != nil || len(rel.Items) == 0 || rel.RecommendationId == "" || rel.Experiment != nil {
		t.Fatalf("related: %+v, %v", rel, err)
	}
	clicked := rel.Items[0].ProductId
	tally, err = c.PostEvents(ctx, client.Event{EventId: client.Ptr("k1"), CustomerId: "c1", ProductId: clicked,
		Type: "click", RecommendationId: &rel.RecommendationId})
	if err != nil || tally.Accepted != 1 {
		t.Fatalf("click: %+v, %v", tally, err)
	}
	// The same event again (as a retry sends it): a duplicate, stored once.
	tally, err = c.PostEvents(ctx, client.Event{EventId: client.Ptr("k1"), CustomerId: "c1", ProductId: clicked,
		Type: "click", RecommendationId: &rel.RecommendationId})
	if err != nil || tally.Duplicates != 1 || tally.Accepted != 1 {
		t.Fatalf("repeated click: %+v, %v", tally, err)
	}
	pers, err := c.Recommendations(ctx, "c1", &client.GetRecommendationsParams{Limit: client.Ptr(4), InStock: client.Ptr(true)})
	if err != nil || len(pers.Items) == 0 || len(pers.Items) > 4 {
		t.Fatalf("recommendations: %+v, %v", pers, err)
	}
	pop, err := c.Popular(ctx, &client.GetPopularParams{Limit: client.Ptr(2), Window: client.Ptr("30d")})
	if err != nil || len(pop.Items) != 2 {
		t.Fatalf("popular: %+v, %v", pop, err)
	}
}

// checkClientExperiment runs the "home" A/B test from the client: a chosen
// variant and a hash-assigned one, then the results.
func checkClientExperiment(ctx context.Context, t *testing.T, c *client.Client) {
	t.Helper()
	// An A/B test run from the client: the experiment rides on the context.
	if _, err := c.PutExperiment(ctx, "home", client.ExperimentBody{Status: client.Ptr(client.ExperimentBodyStatusRunning),
		Variants: []client.VariantBody{{Name: "control"}, {Name: "pop", Params: &client.VariantParams{Algorithm: client.Ptr(client.VariantParamsAlgorithmPopular)}}}}); err != nil {
		t.Fatal(err)
	}
	xctx := client.WithExperiment(ctx, "home", "pop")
	l, err := c.Recommendations(xctx, "c2", &client.GetRecommendationsParams{Limit: client.Ptr(3)})
	if err != nil || l.Experiment == nil || *l.Experiment != "home" || l.Variant == nil || *l.Variant != "pop" || l.Algorithm != "popular" {
		t.Fatalf("under the experiment: %+v, %v", l, err)
	}
	hashed, err := c.Recommendations(client.WithExperiment(ctx, "home", ""), "c3", nil)
	if err != nil || hashed.Variant == nil {
		t.Fatalf("hash-assigned: %+v, %v", hashed, err)
	}
	if _, err := c.ExperimentResults(ctx, "home"); err != nil {
		t.Fatal(err)
	}
}

// checkOfferAndResponse puts offer o1, takes c1's next-best-offer and
// posts c1's response to it.
func checkOfferAndResponse(ctx context.Context, t *testing.T, c *client.Client) {
	t.Helper()
	// Next-best-offer and the response it asks for.
	po, err := c.PutOfferWithResponse(ctx, "o1", client.OfferBody{Products: &[]string{"p1"}, Value: client.Ptr(5.0), Channels: &[]string{"web"}})
	if err != nil || po.JSON200 == nil {
		t.Fatalf("put offer: %v %s", err, po.Body)
	}
	nbo, err := c.NextBestOffer(ctx, "c1", &client.GetNextBestOfferParams{Channel: client.Ptr("web")})
	if err != nil || len(nbo.Offers) != 1 {
		t.Fatalf("next-best-offer: %+v, %v", nbo, err)
	}
	rr, err := c.PostOfferResponseWithResponse(ctx, "o1", client.OfferResponseBody{CustomerId: "c1",
		Response: client.OfferResponseBodyResponseAccepted, RecommendationId: nbo.RecommendationId})
	if err != nil || rr.JSON200 == nil {
		t.Fatalf("offer response: %v %s", err, rr.Body)
	}
}

// checkProblems checks the problems of bad calls (unknown product, a limit
// too high, unknown experiment), then deletes offer o1.
func checkProblems(ctx context.Context, t *testing.T, c *client.Client) {
	t.Helper()
	// Problems come back as *client.Error naming the field.
	_, err := c.Related(ctx, "no-such-product", nil)
	var e *client.Error
	if !errors.As(err, &e) || e.Status != 404 || e.ProblemType() != "https://affinity.dev/problems/not-found" {
		t.Fatalf("unknown product: %v", err)
	}
	_, err = c.Popular(ctx, &client.GetPopularParams{Limit: client.Ptr(1000)})
	if !errors.As(err, &e) || e.Status != 400 || e.Problem.Field == nil || *e.Problem.Field != "limit" {
		t.Fatalf("limit 1000: %v", err)
	}
	if _, err := c.Recommendations(client.WithExperiment(ctx, "no-such-experiment", ""), "c1", nil); !client.IsStatus(err, 404) {
		t.Fatalf("unknown experiment: %v", err)
	}
	del, err := c.DeleteOfferWithResponse(ctx, "o1")
	if err != nil || del.StatusCode() != http.StatusNoContent {
		t.Fatalf("delete offer: %v", err)
	}
}

// TestAPIKeyAndScopes: the key goes out as a bearer token; no key is a 401,
// a read key cannot post events.
func TestAPIKeyAndScopes(t *testing.T) {
	ctx := context.Background()
	o := api.DefaultOptions()
	keys, err := api.ParseKeys("read:readkey123,write:writekey123")
	if err != nil {
		t.Fatal(err)
	}
	o.Keys = keys
	base := startServer(t, o)
	anon, _ := client.New(base, client.Options{HTTPClient: checkedHTTP(t)})
	if _, err := anon.Popular(ctx, nil); !client.IsStatus(err, 401) {
		t.Fatalf("no key: %v", err)
	}
	reader, _ := client.New(base, client.Options{APIKey: "readkey123", HTTPClient: checkedHTTP(t)})
	if _, err := reader.Popular(ctx, nil); err != nil {
		t.Fatalf("read key: %v", err)
	}
	if _, err := reader.PostEvents(ctx, client.Event{CustomerId: "c", ProductId: "p", Type: "view"}); !client.IsStatus(err, 403) {
		t.Fatalf("read key posting: %v", err)
	}
	writer, _ := client.New(base, client.Options{APIKey: "writekey123", HTTPClient: checkedHTTP(t)})
	if _, err := writer.PostEvents(ctx, client.Event{CustomerId: "c", ProductId: "p", Type: "view"}); err != nil {
		t.Fatalf("write key posting: %v", err)
	}
}
