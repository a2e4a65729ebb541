package client_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/affinity-rec/affinity/client"
)

// A page view, the related products shown for it, and the click on one of
// them attributed to the list with its recommendation_id.
func Example() {
	c, err := client.New("http://127.0.0.1:8080", client.Options{APIKey: "write-key"})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	view := client.Event{EventId: client.Ptr("view-8f3a"), CustomerId: "17809", ProductId: "85123A",
		Type: "view", Timestamp: client.At(time.Now())}
	if _, err := c.PostEvents(ctx, view); err != nil {
		log.Fatal(err)
	}
	list, err := c.Related(ctx, "85123A", &client.GetRelatedParams{Limit: client.Ptr(5), CustomerId: client.Ptr("17809")})
	if err != nil {
		log.Fatal(err)
	}
	click := client.Event{EventId: client.Ptr("click-19c2"), CustomerId: "17809", ProductId: list.Items[0].ProductId,
		Type: "click", RecommendationId: &list.RecommendationId}
	if _, err := c.PostEvents(ctx, click); err != nil {
		log.Fatal(err)
	}
	// Under an A/B test: the server assigns the variant and says which.
	xlist, err := c.Recommendations(client.WithExperiment(ctx, "home-recs", ""), "17809", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(*xlist.Experiment, *xlist.Variant)
}
