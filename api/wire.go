package api

import (
	"encoding/json"
	"github.com/affinity-rec/affinity/features/crm"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend"
	"github.com/affinity-rec/affinity/recommend/campaign"
	"github.com/affinity-rec/affinity/recommend/experiment"
	"github.com/affinity-rec/affinity/recommend/offer"
)

// The wire types: every request body the handlers decode (with
// decodeBody, handlers.go) and every reply they encode, by resource, in
// route table order. api/openapi.yaml is the contract; a test checks every
// reply against it. Bodies use pointers where absent and zero differ.
// Replies that were maps keep their keys in the maps' (sorted) order, so
// the bytes on the wire are as before.
//
// Elsewhere: Problem (problem.go) is every error reply; segmentBody and
// the segment list are in segments.go; baselineReply (baseline.go) is the
// trivial benchmark app's; offer and experiment definitions are encoded as
// their packages' own types (offer.View, experiment.Experiment), and offer
// bodies are decoded by the offer package (offer.Decode, DecodeResponse).

// healthReply is GET /healthz.
type healthReply struct {
	Status string `json:"status"`
}

// readyReply is GET /readyz when ready.
type readyReply struct {
	Customers  int    `json:"customers"`
	Events     int    `json:"events"`
	ModelBuilt string `json:"model_built"`
	Products   int    `json:"products"`
	Status     string `json:"status"`
}

// Events.

// eventsReply is POST /v1/events: what was accepted, rejected, deduplicated.
type eventsReply struct {
	Accepted   int `json:"accepted"`
	Rejected   int `json:"rejected"`
	Duplicates int `json:"duplicates"`
	// Errors lists the first maxEchoedErrors rejections, by index;
	// ErrorsTruncated says when Rejected counts more.
	Errors          []eventError `json:"errors"`
	ErrorsTruncated bool         `json:"errors_truncated,omitempty"`
	// Seq is, in cluster mode, the stream sequence of the last write (also
	// in the X-Affinity-Seq header): send it as X-Affinity-Min-Seq to read
	// your writes on any node.
	Seq uint64 `json:"seq,omitempty"`
}

// eventError is a rejected event (features.Rejection) as replies and
// problems list it.
type eventError struct {
	Index  int    `json:"index"`
	Field  string `json:"field,omitempty"`
	Detail string `json:"detail"`
}

// Products.

// productBody is PUT /v1/products/{id}.
type productBody struct {
	Category  string   `json:"category"`
	Brand     string   `json:"brand"`
	Price     *float64 `json:"price"`
	Tags      []string `json:"tags"`
	Available *bool    `json:"available"`
	// Recommendable false keeps the product out of every list.
	Recommendable *bool          `json:"recommendable"`
	Attributes    map[string]any `json:"attributes"`
}

// productPatchBody is PATCH /v1/products/{id}: productBody's fields, each
// optional (pointers tell absent from zero); attributes merge key by key.
type productPatchBody struct {
	Category      *string        `json:"category"`
	Brand         *string        `json:"brand"`
	Price         *float64       `json:"price"`
	Tags          *[]string      `json:"tags"`
	Available     *bool          `json:"available"`
	Recommendable *bool          `json:"recommendable"`
	Attributes    map[string]any `json:"attributes"`
}

// productReply is a product as replies show it, with its id.
type productReply struct {
	ProductID string `json:"product_id"`
	features.Product
	// Recommendable shadows the record's (absent there means true), so a
	// reply always says.
	Recommendable bool `json:"recommendable"`
}

// newProductReply is a product record as the product endpoints answer it.
func newProductReply(id string, p features.Product) productReply {
	return productReply{ProductID: id, Product: p, Recommendable: p.IsRecommendable()}
}

// productPage is GET /v1/products (search), one page.
type productPage struct {
	Products []productReply `json:"products"`
	Total    int            `json:"total"`
}

// Customers.

// customerBody is PUT /v1/customers/{id}.
type customerBody struct {
	Attributes map[string]any `json:"attributes"`
}

// customerReply is PUT /v1/customers/{id}.
type customerReply struct {
	Attributes map[string]any `json:"attributes"`
	CustomerID string         `json:"customer_id"`
}

// customerSample is GET /v1/customers.
type customerSample struct {
	Customers []string `json:"customers"`
}

// profileReply is GET /v1/customers/{id}/profile.
type profileReply struct {
	Attributes map[string]any `json:"attributes"`
	CustomerID string         `json:"customer_id"`
	Events     int            `json:"events"`
	Segments   []string       `json:"segments"`
	Value      crm.Value      `json:"value"`
}

// historyEvent is one event of GET /v1/customers/{id}/events.
type historyEvent struct {
	ProductID string    `json:"product_id"`
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
}

// historyPage is GET /v1/customers/{id}/events, one page, newest first.
type historyPage struct {
	CustomerID string         `json:"customer_id"`
	Events     []historyEvent `json:"events"`
	Total      int            `json:"total"`
}

// Lists: related, personal, popular and segment products.

// listReply is the contract's list answer.
type listReply struct {
	Items            []recommend.Item `json:"items"`
	RecommendationID string           `json:"recommendation_id"`
	Algorithm        string           `json:"algorithm"`
	Experiment       *string          `json:"experiment"`
	Variant          *string          `json:"variant"`
}

// Segment members (the segment definitions are in segments.go).

// memberPage is one page of a segment's members (DESIGN 3.2: members with
// customer_id and their value, and next_cursor while there are more).
type memberPage struct {
	Segment    string                 `json:"segment"`
	Members    []*campaign.MemberLine `json:"members"`
	Total      int                    `json:"total"`
	NextCursor string                 `json:"next_cursor,omitempty"`
}

// Experiments.

// experimentList is GET /v1/experiments.
type experimentList struct {
	Experiments []experiment.Experiment `json:"experiments"`
}

// experimentBody is PUT /v1/experiments/{id}. Unknown fields are rejected:
// a misspelt "weigth" silently read as 0 would drain an arm.
type experimentBody struct {
	Status   *string           `json:"status"`
	Salt     *string           `json:"salt"`
	Variants []json.RawMessage `json:"variants"`
}

type variantBody struct {
	Name   *string        `json:"name"`
	Weight *float64       `json:"weight"`
	Params map[string]any `json:"params"`
}

// Offers.

// offerList is GET /v1/offers.
type offerList struct {
	Offers []offer.View `json:"offers"`
}

// nboReply is the contract's next-best-offer answer.
type nboReply struct {
	Offers           []offer.Choice `json:"offers"`
	RecommendationID string         `json:"recommendation_id"`
	Experiment       *string        `json:"experiment"`
	Variant          *string        `json:"variant"`
}

// Rules and keys.

// ruleCheckBody is POST /v1/rules/check.
type ruleCheckBody struct {
	Rule *string `json:"rule"`
	// Segment says the rule defines a segment, which may not refer to
	// segments (an offer's eligibility may). Kind segment says the same.
	Segment bool `json:"segment"`
	// Kind is eligibility (the default), segment or product
	// (rulecheck.go).
	Kind string `json:"kind"`
}

// ruleCheckReply is POST /v1/rules/check for a rule that compiles.
type ruleCheckReply struct {
	Rule  string `json:"rule"`
	Valid bool   `json:"valid"`
}

// whoamiReply is GET /v1/whoami.
type whoamiReply struct {
	KeysRequired bool   `json:"keys_required"`
	Scope        string `json:"scope"`
}

// Operations.

// snapshotReply is POST /v1/admin/snapshot.
type snapshotReply struct {
	Seconds float64 `json:"seconds"`
	Seq     uint64  `json:"seq"`
}

// Segments, audiences, campaign exports and merchandising rules.

// audienceReply is a product's audience.
type audienceReply struct {
	Items            []recommend.AudienceMember `json:"items"`
	RecommendationID string                     `json:"recommendation_id"`
}

// offerAudienceReply is an offer's audience and where the offer stands.
type offerAudienceReply struct {
	OfferID          string                     `json:"offer_id"`
	Status           string                     `json:"status"`
	Items            []recommend.AudienceMember `json:"items"`
	RecommendationID string                     `json:"recommendation_id"`
}

// exportBody is the POST /v1/exports body.
type exportBody struct {
	What       string   `json:"what"`
	Segment    string   `json:"segment"`
	Customers  []string `json:"customers"`
	Limit      int      `json:"limit"`
	Channel    string   `json:"channel"`
	Experiment string   `json:"experiment"`
	Variant    string   `json:"variant"`
}

type merchRuleBody struct {
	When     *string  `json:"when"`
	Action   *string  `json:"action"`
	Weight   *float64 `json:"weight"`
	Position *int     `json:"position"`
}

// merchRuleReply is a rule as the API shows it: every field, the weight
// and position as 0 where the action has none.
type merchRuleReply struct {
	Name     string  `json:"name"`
	When     string  `json:"when"`
	Action   string  `json:"action"`
	Weight   float64 `json:"weight"`
	Position int     `json:"position"`
}

type segmentBody struct {
	Rule *string `json:"rule"`
}
