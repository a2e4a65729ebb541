package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// retryDoer sends a request again after a transport error or a reply that
// says "try later" (429, 502, 503, 504), when sending it twice cannot do
// harm: GET, HEAD, PUT, DELETE and OPTIONS, and POST /v1/events when every
// event carries an event_id (the server counts a repeat as a duplicate).
// Other calls are sent once: a retried offer response or snapshot could act
// twice.
type retryDoer struct {
	next HttpRequestDoer
	o    Options
}

func (d *retryDoer) Do(req *http.Request) (*http.Response, error) {
	if d.o.MaxAttempts <= 1 || !retryable(req) {
		return d.next.Do(req)
	}
	ctx := req.Context()
	for attempt := 1; ; attempt++ {
		r := req
		if attempt > 1 {
			r = req.Clone(ctx)
			if req.GetBody != nil {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = body
			}
		}
		resp, err := d.next.Do(r)
		if attempt >= d.o.MaxAttempts || !retryAfterFailure(ctx, resp, err) {
			return resp, err
		}
		wait := d.backoff(attempt, resp)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return resp, err // the caller's deadline comes first
		}
		if resp != nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keep the connection
			resp.Body.Close()
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// retryAfterFailure says whether the outcome is worth another attempt.
func retryAfterFailure(ctx context.Context, resp *http.Response, err error) bool {
	if err != nil {
		return ctx.Err() == nil // a transport error, not the caller giving up
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// backoff is the wait before attempt+1: the server's Retry-After when it
// sent one, else exponential with jitter (half fixed, half random, so that
// clients that failed together do not return together), capped by
// MaxDelay.
func (d *retryDoer) backoff(attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s >= 0 {
			return min(time.Duration(s)*time.Second, d.o.MaxDelay)
		}
	}
	exp := d.o.BaseDelay << min(attempt-1, 20)
	if exp <= 0 || exp > d.o.MaxDelay {
		exp = d.o.MaxDelay
	}
	return exp/2 + rand.N(exp/2+1)
}

// retryable says whether req may be sent twice.
func retryable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	case http.MethodPost:
		return strings.HasSuffix(req.URL.Path, "/v1/events") && req.GetBody != nil && eventsHaveIDs(req)
	}
	return false
}

// eventsHaveIDs reports whether every event of an events post (one JSON
// object, a JSON array or NDJSON) has an event_id.
func eventsHaveIDs(req *http.Request) bool {
	rc, err := req.GetBody()
	if err != nil {
		return false
	}
	defer rc.Close()
	body, err := io.ReadAll(rc)
	if err != nil {
		return false
	}
	type idOnly struct {
		EventID string `json:"event_id"`
	}
	ct := strings.ToLower(req.Header.Get("Content-Type"))
	if strings.HasPrefix(ct, "application/x-ndjson") || strings.HasPrefix(ct, "application/jsonl") {
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(make([]byte, 64<<10), len(body)+1)
		n := 0
		for sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 {
				continue
			}
			var e idOnly
			if json.Unmarshal(line, &e) != nil || e.EventID == "" {
				return false
			}
			n++
		}
		return sc.Err() == nil && n > 0
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var es []idOnly
		if json.Unmarshal(trimmed, &es) != nil || len(es) == 0 {
			return false
		}
		for _, e := range es {
			if e.EventID == "" {
				return false
			}
		}
		return true
	}
	var e idOnly
	return json.Unmarshal(trimmed, &e) == nil && e.EventID != ""
}
