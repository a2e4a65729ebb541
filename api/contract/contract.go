// Package contract holds HTTP exchanges with Affinity to its API description
// (api/openapi.yaml): every reply's status, headers and body must be the
// ones the description documents for the operation, so an undocumented
// status, field or header is an error. The api, command, client and bench
// tests run every reply they receive through it; it is also a reverse
// proxy that validates what passes through, for tests of clients that talk
// to a real server.
//
// It is built on maintained libraries rather than hand-written schema
// checks: kin-openapi loads and lints the OpenAPI 3.1 document and routes
// requests to operations; santhosh-tekuri/jsonschema (the JSON Schema
// 2020-12 engine kin-openapi validates 3.1 documents with) checks bodies and
// headers, each schema compiled once.
package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/santhosh-tekuri/jsonschema/v6"
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
	schemas *schemaCache
}

// New loads and lints a description (api.OpenAPIYAML(); the package does
// not import api so that api's own tests can use it).
func New(spec []byte) (*Validator, error) {
	doc, err := Load(spec)
	if err != nil {
		return nil, err
	}
	// Route by path alone: tests reach the server at any address.
	doc.Servers = openapi3.Servers{{URL: "/"}}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("routing the API description: %w", err)
	}
	sc, err := newSchemaCache(spec)
	if err != nil {
		return nil, err
	}
	return &Validator{doc: doc, router: r, schemas: sc}, nil
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
	return v.check(req, status, header, body, true)
}

// CheckHead is Check for a reply whose body the caller cannot read (a
// stream): the status and the headers.
func (v *Validator) CheckHead(req *http.Request, status int, header http.Header) error {
	return v.check(req, status, header, nil, false)
}

func (v *Validator) check(req *http.Request, status int, header http.Header, body []byte, withBody bool) error {
	r := req.Clone(context.Background())
	r.Body = http.NoBody
	// Route by path and query alone, whatever address the request went to.
	r.URL = &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	r.Host = ""
	if r.Method == http.MethodHead {
		// Every GET answers HEAD: the same status and headers, no body.
		r.Method, withBody = http.MethodGet, false
	}
	route, _, err := v.router.FindRoute(r)
	if err != nil {
		return v.checkUnrouted(req, status, header, body, withBody, err)
	}
	where := fmt.Sprintf("%s %s -> %d", req.Method, req.URL.RequestURI(), status)
	if err := v.checkReply(route, status, header, body, withBody); err != nil {
		return fmt.Errorf("%s: reply does not match api/openapi.yaml: %w\nbody: %.600s", where, err, body)
	}
	return nil
}

// checkReply holds a routed reply to the operation's documented reply for
// its status: the status must be listed, every header documented (and the
// required ones present and valid), the Content-Type one of the listed
// media types and the body valid against its schema.
func (v *Validator) checkReply(route *routers.Route, status int, header http.Header, body []byte, withBody bool) error {
	code := strconv.Itoa(status)
	ref := route.Operation.Responses.Value(code)
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("status %d is not documented for %s %s", status, route.Method, route.Path)
	}
	ptr := "/paths/" + pointerEscape(route.Path) + "/" + strings.ToLower(route.Method) + "/responses/" + code
	if p, ok := refPointer(ref.Ref); ok {
		ptr = p
	}
	resp := ref.Value
	if err := v.checkHeaders(ptr, resp, header); err != nil {
		return err
	}
	if !withBody {
		if len(resp.Content) > 0 && mediaKey(resp.Content, header.Get("Content-Type")) == "" {
			return fmt.Errorf("Content-Type %q is not one of the documented %v", header.Get("Content-Type"), keysOf(resp.Content))
		}
		return nil
	}
	if len(resp.Content) == 0 {
		// A 204's body is never sent (fasthttp keeps a "No Content" text
		// in memory but writes none).
		if len(body) > 0 && status != http.StatusNoContent {
			return fmt.Errorf("a body where none is documented: %.200s", body)
		}
		return nil
	}
	ct := header.Get("Content-Type")
	key := mediaKey(resp.Content, ct)
	if key == "" {
		return fmt.Errorf("Content-Type %q is not one of the documented %v", ct, keysOf(resp.Content))
	}
	if resp.Content[key].Schema == nil {
		return nil
	}
	var value any = string(body)
	if strings.Contains(key, "json") {
		var err error
		if value, err = jsonschema.UnmarshalJSON(bytes.NewReader(body)); err != nil {
			return fmt.Errorf("body is not JSON: %w", err)
		}
	}
	return v.schemas.validate(ptr+"/content/"+pointerEscape(key)+"/schema", value)
}

// checkHeaders: every header is a transport header or documented, required
// ones are there, and each documented one's value matches its schema.
func (v *Validator) checkHeaders(respPtr string, resp *openapi3.Response, header http.Header) error {
	if err := undocumentedHeaders(header, resp.Headers); err != nil {
		return err
	}
	for name, h := range resp.Headers {
		if h.Value == nil {
			continue
		}
		val, present := header[http.CanonicalHeaderKey(name)]
		if !present {
			if h.Value.Required {
				return fmt.Errorf("required header %s is missing", name)
			}
			continue
		}
		ptr := respPtr + "/headers/" + pointerEscape(name)
		if p, ok := refPointer(h.Ref); ok {
			ptr = p
		}
		var value any = val[0]
		if s := h.Value.Schema; s != nil && s.Value != nil && (s.Value.Type.Is("integer") || s.Value.Type.Is("number")) {
			n, err := strconv.ParseFloat(val[0], 64)
			if err != nil {
				return fmt.Errorf("header %s: %q is not a number", name, val[0])
			}
			value = json.Number(strconv.FormatFloat(n, 'f', -1, 64))
		}
		if err := v.schemas.validate(ptr+"/schema", value); err != nil {
			return fmt.Errorf("header %s: %w", name, err)
		}
	}
	return nil
}

// mediaKey is the documented media type a Content-Type matches: exactly,
// or without its parameters ("text/plain; version=0.0.4").
func mediaKey(content openapi3.Content, ct string) string {
	if _, ok := content[ct]; ok && ct != "" {
		return ct
	}
	base := strings.TrimSpace(strings.SplitN(ct, ";", 2)[0])
	for k := range content {
		if strings.EqualFold(k, base) {
			return k
		}
	}
	return ""
}

func keysOf(c openapi3.Content) []string {
	var out []string
	for k := range c {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkUnrouted holds a request the description has no operation for: its
// reply must be a 404 (no such endpoint) or 405 problem, the 405 with the
// Allow header RFC 9110 requires (the methods the path has).
func (v *Validator) checkUnrouted(req *http.Request, status int, header http.Header, body []byte, withBody bool, routeErr error) error {
	where := fmt.Sprintf("%s %s -> %d", req.Method, req.URL.RequestURI(), status)
	if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
		return fmt.Errorf("%s: the request matches no operation of api/openapi.yaml (%v) yet the reply is not a 404 or 405", where, routeErr)
	}
	if ct := header.Get("Content-Type"); ct != "application/problem+json" {
		return fmt.Errorf("%s: Content-Type %q, want application/problem+json", where, ct)
	}
	documented := openapi3.Headers{"X-Request-ID": nil}
	if status == http.StatusMethodNotAllowed {
		if header.Get("Allow") == "" {
			return fmt.Errorf("%s: a 405 without an Allow header", where)
		}
		documented["Allow"] = nil
	}
	if !withBody {
		return undocumentedHeaders(header, documented)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: body is not JSON: %w", where, err)
	}
	if err := v.schemas.validate("/components/schemas/Problem", doc); err != nil {
		return fmt.Errorf("%s: not a documented problem: %w", where, err)
	}
	return undocumentedHeaders(header, documented)
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
