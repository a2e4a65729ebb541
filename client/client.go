// Package client is the Go client of the Affinity HTTP API.
//
// Its typed half (affinity.gen.go: one method per operation, request and
// reply types) is generated from api/openapi.yaml by oapi-codegen; this file
// and retry.go add what a generator does not: the API key, the experiment
// flags carried by the context, retries with backoff for idempotent calls
// (and for event posts whose every event has an event_id), a problem-aware
// error, and short helpers for the calls a storefront makes most.
//
//	c, err := client.New("http://127.0.0.1:8080", client.Options{APIKey: key})
//	list, err := c.Recommendations(ctx, "17809", &client.GetRecommendationsParams{Limit: client.Ptr(5)})
//
// Every generated method is available too: c.GetSegmentWithResponse(...).
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Options configure a Client. The zero value is usable: no key, retries on.
type Options struct {
	// APIKey is sent as Authorization: Bearer KEY (none: no header).
	APIKey string
	// HTTPClient sends the requests (default: an http.Client with a 30 s
	// timeout per attempt).
	HTTPClient HttpRequestDoer
	// MaxAttempts bounds how often one retryable call is tried (default 4;
	// 1 turns retries off).
	MaxAttempts int
	// BaseDelay and MaxDelay shape the backoff between attempts: about
	// BaseDelay*2^n with jitter, never above MaxDelay; a Retry-After from
	// the server is honoured up to MaxDelay (defaults 100 ms and 5 s).
	BaseDelay, MaxDelay time.Duration
	// UserAgent is sent as User-Agent (default "affinity-go-client").
	UserAgent string
}

func (o *Options) fill() {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 4
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = 100 * time.Millisecond
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 5 * time.Second
	}
	if o.MaxDelay < o.BaseDelay {
		o.MaxDelay = o.BaseDelay
	}
	if o.UserAgent == "" {
		o.UserAgent = "affinity-go-client"
	}
}

// Client calls one Affinity server. Safe for concurrent use.
type Client struct {
	*ClientWithResponses
}

// New returns a client of the server at baseURL (scheme://host[:port]).
func New(baseURL string, o Options) (*Client, error) {
	o.fill()
	if !strings.HasPrefix(baseURL, "http://") && !strings.HasPrefix(baseURL, "https://") {
		return nil, fmt.Errorf("affinity client: base URL %q must start with http:// or https://", baseURL)
	}
	key, ua := o.APIKey, o.UserAgent
	c, err := NewClientWithResponses(strings.TrimSuffix(baseURL, "/"),
		WithHTTPClient(&retryDoer{next: o.HTTPClient, o: o}),
		WithRequestEditorFn(func(ctx context.Context, req *http.Request) error {
			if key != "" {
				req.Header.Set("Authorization", "Bearer "+key)
			}
			req.Header.Set("User-Agent", ua)
			if f, ok := ctx.Value(flagsKey{}).(flags); ok {
				// Query flags the caller set win on the server; the headers
				// carry the context's flags to every operation that takes them.
				if req.Header.Get("X-Affinity-Experiment") == "" {
					req.Header.Set("X-Affinity-Experiment", f.experiment)
				}
				if f.variant != "" && req.Header.Get("X-Affinity-Variant") == "" {
					req.Header.Set("X-Affinity-Variant", f.variant)
				}
			}
			return nil
		}))
	if err != nil {
		return nil, err
	}
	return &Client{ClientWithResponses: c}, nil
}

type flagsKey struct{}

type flags struct{ experiment, variant string }

// WithExperiment returns a context whose requests are served under the
// experiment (X-Affinity-Experiment), forcing the variant when it is not
// empty (X-Affinity-Variant). Operations that take no experiment flags
// ignore the headers.
func WithExperiment(ctx context.Context, experiment, variant string) context.Context {
	return context.WithValue(ctx, flagsKey{}, flags{experiment, variant})
}

// Ptr returns a pointer to v, for the optional fields of parameters and
// bodies.
func Ptr[T any](v T) *T { return &v }

// Error is a reply other than a success: its status and, when the server
// sent one, its problem document.
type Error struct {
	Status  int
	Problem *Problem
	Body    []byte
}

func (e *Error) Error() string {
	if e.Problem != nil {
		s := fmt.Sprintf("affinity: %d %s: %s", e.Status, e.Problem.Title, e.Problem.Detail)
		if e.Problem.Field != nil {
			s += " (field " + *e.Problem.Field + ")"
		}
		return s
	}
	return fmt.Sprintf("affinity: status %d: %.200s", e.Status, e.Body)
}

// ProblemType is the problem's type URI ("" without a problem document).
func (e *Error) ProblemType() string {
	if e.Problem == nil {
		return ""
	}
	return string(e.Problem.Type)
}

// replyOf returns v when resp is a 2xx with a body decoded into v, else an
// *Error (or the transport error).
func replyOf[T any](resp interface{ StatusCode() int }, body []byte, v *T) (*T, error) {
	if sc := resp.StatusCode(); sc < 200 || sc > 299 || v == nil {
		e := &Error{Status: sc, Body: body}
		var p Problem
		if json.Unmarshal(body, &p) == nil && p.Status != 0 {
			e.Problem = &p
		}
		if sc >= 200 && sc <= 299 {
			return nil, fmt.Errorf("affinity: status %d without the documented body: %.200s", sc, body)
		}
		return nil, e
	}
	return v, nil
}

// IsStatus reports whether err is an *Error with the status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

// PostEvents sends events as one JSON array and returns the tally. With an
// EventId on every event the call is retried on failure (the server counts
// a repeat as a duplicate); without, it is sent once.
func (c *Client) PostEvents(ctx context.Context, events ...Event) (*EventsReply, error) {
	body, err := json.Marshal(events)
	if err != nil {
		return nil, err
	}
	r, err := c.PostEventsWithBodyWithResponse(ctx, "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	return replyOf(r, r.Body, r.JSON200)
}

// Recommendations is GET /v1/customers/{id}/recommendations.
func (c *Client) Recommendations(ctx context.Context, customerID string, p *GetRecommendationsParams) (*ListReply, error) {
	r, err := c.GetRecommendationsWithResponse(ctx, customerID, p)
	if err != nil {
		return nil, err
	}
	return replyOf(r, r.Body, r.JSON200)
}

// Related is GET /v1/products/{id}/related.
func (c *Client) Related(ctx context.Context, productID string, p *GetRelatedParams) (*ListReply, error) {
	r, err := c.GetRelatedWithResponse(ctx, productID, p)
	if err != nil {
		return nil, err
	}
	return replyOf(r, r.Body, r.JSON200)
}

// Popular is GET /v1/popular.
func (c *Client) Popular(ctx context.Context, p *GetPopularParams) (*ListReply, error) {
	r, err := c.GetPopularWithResponse(ctx, p)
	if err != nil {
		return nil, err
	}
	return replyOf(r, r.Body, r.JSON200)
}

// Customers is GET /v1/customers: a sample of up to limit customer ids.
func (c *Client) Customers(ctx context.Context, limit int) ([]string, error) {
	r, err := c.ListCustomersWithResponse(ctx, &ListCustomersParams{Limit: &limit})
	if err != nil {
		return nil, err
	}
	l, err := replyOf(r, r.Body, r.JSON200)
	if err != nil {
		return nil, err
	}
	return l.Customers, nil
}

// NextBestOffer is GET /v1/customers/{id}/next-best-offer.
func (c *Client) NextBestOffer(ctx context.Context, customerID string, p *GetNextBestOfferParams) (*NextBestOffer, error) {
	r, err := c.GetNextBestOfferWithResponse(ctx, customerID, p)
	if err != nil {
		return nil, err
	}
	return replyOf(r, r.Body, r.JSON200)
}

// PutExperiment is PUT /v1/experiments/{id}.
func (c *Client) PutExperiment(ctx context.Context, id string, e ExperimentBody) (*Experiment, error) {
	r, err := c.PutExperimentWithResponse(ctx, id, e)
	if err != nil {
		return nil, err
	}
	return replyOf(r, r.Body, r.JSON200)
}

// ExperimentResults is GET /v1/experiments/{id}/results.
func (c *Client) ExperimentResults(ctx context.Context, id string) (*ExperimentResults, error) {
	r, err := c.GetExperimentResultsWithResponse(ctx, id)
	if err != nil {
		return nil, err
	}
	return replyOf(r, r.Body, r.JSON200)
}

// Ready is GET /readyz: an *Error with status 503 while the server is not
// ready.
func (c *Client) Ready(ctx context.Context) (*Ready, error) {
	r, err := c.GetReadyWithResponse(ctx)
	if err != nil {
		return nil, err
	}
	return replyOf(r, r.Body, r.JSON200)
}

// At is an event timestamp (the wire takes RFC 3339 or unix seconds; the
// client sends RFC 3339).
func At(t time.Time) *Event_Timestamp {
	var ts Event_Timestamp
	if err := ts.FromEventTimestamp0(t); err != nil {
		return nil // a time.Time always marshals
	}
	return &ts
}
