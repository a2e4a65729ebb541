package load

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/affinity-rec/affinity/client"
)

// target is the server under test: one fasthttp HostClient (a pool of
// keep-alive connections to one address, no per-request allocation) for the
// measured requests, the Go client for the setup calls, and the base URL.
// The measured requests do not go through the Go client: its net/http
// transport and typed decoding allocate per request and would put the
// client's cost into the server's latency on a machine the load generator
// shares with the server. It is safe for concurrent use.
type target struct {
	hc      *fasthttp.HostClient
	api     *client.Client
	base    string // scheme://host[:port][/prefix], no trailing slash
	host    string
	apiKey  string
	timeout time.Duration
}

func newTarget(o Options) (*target, error) {
	u, err := url.Parse(o.URL)
	if err != nil {
		return nil, fmt.Errorf("cannot parse --url: %w", err)
	}
	addr := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		addr = u.Hostname()
		if strings.Contains(addr, ":") {
			addr = "[" + addr + "]"
		}
		addr += ":" + port
	}
	hc := &fasthttp.HostClient{
		Addr:  addr,
		Name:  "affinity-bench",
		IsTLS: u.Scheme == "https",
		// One connection per worker (of every lane) plus one for id
		// discovery: a worker never waits for a connection, so the pool
		// cannot add latency, nor make one lane wait for another.
		MaxConns: maxInFlight(o) + 1,
		// A retried request would hide a failure and double-count its
		// time: a load test reports what the first attempt met.
		MaxIdemponentCallAttempts:     1,
		ReadTimeout:                   o.Timeout,
		WriteTimeout:                  o.Timeout,
		DisableHeaderNamesNormalizing: true,
	}
	// Setup calls may be retried (they are not measured); a server still
	// warming up answers 503.
	api, err := client.New(strings.TrimSuffix(u.Scheme+"://"+u.Host+u.Path, "/"),
		client.Options{APIKey: o.APIKey, HTTPClient: &http.Client{Timeout: o.Timeout}})
	if err != nil {
		return nil, err
	}
	return &target{
		hc:      hc,
		api:     api,
		base:    strings.TrimSuffix(u.Scheme+"://"+u.Host+u.Path, "/"),
		host:    u.Host,
		apiKey:  o.APIKey,
		timeout: o.Timeout,
	}, nil
}

// newRequest returns a request with the headers every call carries set
// once; a worker then changes only the URI (and the body of a POST).
func (t *target) newRequest(method string) *fasthttp.Request {
	req := fasthttp.AcquireRequest()
	req.Header.SetMethod(method)
	req.Header.Set("Accept", "application/json")
	if method == fasthttp.MethodPost {
		req.Header.SetContentType("application/json")
	}
	if t.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+t.apiKey)
	}
	return req
}
