package offer

import (
	"context"
	"fmt"
	"time"

	"github.com/affinity-rec/affinity/features"
)

// Response is a customer's answer to a shown offer, as POSTed.
type Response struct {
	CustomerID       string `json:"customer_id"`
	Response         string `json:"response"`
	RecommendationID string `json:"recommendation_id"`
}

// DecodeResponse reads and checks a response body. Errors are
// *features.FieldError naming the field.
func DecodeResponse(b []byte) (Response, error) {
	var r Response
	if err := decodeOfferJSON(b, &r); err != nil {
		return r, err
	}
	if err := features.ValidateID("customer_id", r.CustomerID); err != nil {
		return r, err
	}
	if _, err := parseOfferResponse(r.Response); err != nil {
		return r, err
	}
	if err := features.ValidateID("recommendation_id", r.RecommendationID); err != nil {
		return r, err
	}
	return r, nil
}

// RespondResult is what recording a response did.
type RespondResult struct {
	OfferID          string `json:"offer_id"`
	CustomerID       string `json:"customer_id"`
	Response         string `json:"response"`
	RecommendationID string `json:"recommendation_id"`
}

// Respond records a customer's answer to offer id: it closes the open
// exposure of that offer to r.CustomerID under r.RecommendationID, durably.
// Errors: ErrUnknownOffer, ErrNoOpenExposure (never shown, answered already,
// or past the response window), *features.FieldError.
func (s *Service) Respond(ctx context.Context, id string, r Response) (RespondResult, error) {
	resp, err := parseOfferResponse(r.Response)
	if err != nil {
		return RespondResult{}, err
	}
	if err := features.ValidateID("customer_id", r.CustomerID); err != nil {
		return RespondResult{}, err
	}
	if err := features.ValidateID("recommendation_id", r.RecommendationID); err != nil {
		return RespondResult{}, err
	}
	if err := s.checkOpen(); err != nil {
		return RespondResult{}, err
	}
	o := s.set.Load().byID[id]
	if o == nil {
		return RespondResult{}, fmt.Errorf("%w %q", ErrUnknownOffer, id)
	}
	st := o.st
	nowS := s.src.Now().Unix()
	var logs offerLogs
	st.mu.Lock()
	e := st.open[r.RecommendationID]
	if e == nil || e.cust != r.CustomerID {
		st.mu.Unlock()
		return RespondResult{}, fmt.Errorf("%w of offer %q to customer %q with recommendation_id %q: never shown, already answered, or past the response window",
			ErrNoOpenExposure, id, r.CustomerID, r.RecommendationID)
	}
	if e.ts+int64(s.opts.ResponseWindow/time.Second) <= nowS {
		logs.resp = s.expireLocked(o, st, nowS, logs.resp)
		if !e.done { // not at the head of the queue: close it alone
			logs.resp = s.resolveLocked(o, st, e, offerIgnored, offerByExpiry, nowS, logs.resp)
		}
		st.mu.Unlock()
		s.appendLogsQuiet(logs)
		return RespondResult{}, fmt.Errorf("%w of offer %q to customer %q with recommendation_id %q: the response window of %s has passed",
			ErrNoOpenExposure, id, r.CustomerID, r.RecommendationID, s.opts.ResponseWindow)
	}
	logs.resp = s.resolveLocked(o, st, e, resp, offerByAPI, nowS, logs.resp)
	st.mu.Unlock()
	if err := s.appendLogs(logs); err != nil {
		st.mu.Lock()
		if e.done && st.open[e.rec] == nil {
			e.done = false
			st.open[e.rec] = e
			st.count(resp, e.segs, -1)
			// It keeps its place for expiry: the fifo still holds it.
		}
		st.mu.Unlock()
		return RespondResult{}, err
	}
	return RespondResult{OfferID: id, CustomerID: r.CustomerID, Response: r.Response, RecommendationID: r.RecommendationID}, nil
}

// CheckPolicy validates an experiment variant's nbo_policy param. It sits
// here beside what the policies mean; whoever wires the server hands it to
// the experiments service as the "nbo_policy" check.
func CheckPolicy(v any) string {
	switch v {
	case nboThompson, nboGreedy, nboPrior:
		return ""
	}
	return "must be one of thompson, greedy, prior"
}
