// Package contract holds HTTP exchanges with Affinity to its API description
// (api/openapi.yaml): every reply's status, headers and body must be the
// ones the description documents for the operation, so an undocumented
// status, field or header is an error. The api, command, client and bench
// tests run every reply they receive through it; it is also a reverse
// proxy that validates what passes through, for tests of clients that talk
// to a real server.
//
// It is built on kin-openapi's openapi3filter (a maintained OpenAPI 3.1
// validator with a JSON Schema 2020-12 engine) rather than hand-written
// schema checks.
package contract

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// transportHeaders are set by the HTTP stack, not by Affinity, on any reply;
// every other header must be documented for the reply it is on.
var transportHeaders = map[string]bool{
	"Content-Type": true, "Content-Length": true, "Date": true, "Server": true,
	"Connection": true, "Transfer-Encoding": true, "Keep-Alive": true,
}

// Validator checks exchanges against the description. Safe for concurrent
// use.
type Validator struct {
	doc     *openapi3.T
	router  routers.Router
	problem *openapi3.Schema
}

// registerDecoders teaches openapi3filter the media types it lacks; its
// registry is global, hence once.
var registerDecoders = sync.OnceFunc(func() {
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.FileBodyDecoder)
})

// New loads and lints a description (api.OpenAPIYAML(); the package does
// not import api so that api's own tests can use it).
func New(spec []byte) (*Validator, error) {
	doc, err := Load(spec)
	if err != nil {
		return nil, err
	}
	registerDecoders()
	// Route by path alone: tests reach the server at any address.
	doc.Servers = openapi3.Servers{{URL: "/"}}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("routing the API description: %w", err)
	}
	return &Validator{doc: doc, router: r, problem: doc.Components.Schemas["Problem"].Value}, nil
}

// Load parses a description and lints it: the document must be valid
// OpenAPI 3.1 and every example must match its schema.
func Load(spec []byte) (*openapi3.T, error) {
	l := openapi3.NewLoader()
	doc, err := l.LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("api/openapi.yaml: %w", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		return nil, errors.New("api/openapi.yaml: not OpenAPI 3.1")
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("api/openapi.yaml does not lint: %w", err)
	}
	return doc, nil
}

// Doc is the loaded description (shared: do not modify).
func (v *Validator) Doc() *openapi3.T { return v.doc }

// Check validates one exchange: the request as sent, and the reply's
// status, header and whole body. The request itself is not validated:
// tests send bad requests on purpose, and the reply to one must still be
// documented.
func (v *Validator) Check(req *http.Request, status int, header http.Header, body []byte) error {
	r := req.Clone(context.Background())
	r.Body = http.NoBody
	// Route by path and query alone, whatever address the request went to.
	r.URL = &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	r.Host = ""
	route, params, err := v.router.FindRoute(r)
	if err != nil {
		return v.checkUnrouted(req, status, header, body, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	where := fmt.Sprintf("%s %s -> %d", req.Method, req.URL.RequestURI(), status)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s: reply does not match api/openapi.yaml: %w\nbody: %.600s", where, err, body)
	}
	resp := route.Operation.Responses.Status(status)
	if resp == nil || resp.Value == nil {
		return fmt.Errorf("%s: status not documented", where)
	}
	// A 204's body is never sent (fasthttp keeps a "No Content" text in
	// memory but writes none).
	if len(resp.Value.Content) == 0 && len(body) > 0 && status != http.StatusNoContent {
		return fmt.Errorf("%s: a body where api/openapi.yaml documents none: %.200s", where, body)
	}
	if err := undocumentedHeaders(header, resp.Value.Headers); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	return nil
}

// checkUnrouted holds a request the description has no operation for: its
// reply must be a 404 (no such endpoint) or 405 problem.
func (v *Validator) checkUnrouted(req *http.Request, status int, header http.Header, body []byte, routeErr error) error {
	where := fmt.Sprintf("%s %s -> %d", req.Method, req.URL.RequestURI(), status)
	if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
		return fmt.Errorf("%s: the request matches no operation of api/openapi.yaml (%v) yet the reply is not a 404 or 405", where, routeErr)
	}
	if ct := header.Get("Content-Type"); ct != "application/problem+json" {
		return fmt.Errorf("%s: Content-Type %q, want application/problem+json", where, ct)
	}
	var doc any
	if err := jsonDecode(body, &doc); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	if err := v.problem.VisitJSON(doc, openapi3.EnableJSONSchema2020(), openapi3.VisitAsResponse()); err != nil {
		return fmt.Errorf("%s: not a documented problem: %w", where, err)
	}
	return undocumentedHeaders(header, openapi3.Headers{"X-Request-ID": nil})
}

func undocumentedHeaders(h http.Header, documented openapi3.Headers) error {
	var extra []string
	for name := range h {
		if transportHeaders[http.CanonicalHeaderKey(name)] {
			continue
		}
		found := false
		for d := range documented {
			if strings.EqualFold(d, name) {
				found = true
				break
			}
		}
		if !found {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return fmt.Errorf("undocumented reply headers %v", extra)
	}
	return nil
}
