package api

import (
	"bytes"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gofiber/fiber/v2"

	"github.com/affinity-rec/affinity/api/contract"
)

// The contract test: every reply any test of this package receives, through
// app.Test or a real listener, is checked against api/openapi.yaml by a
// middleware outside all others (replyCheck). A violation anywhere fails
// the run, naming the exchange, so a handler whose reply changes without
// the description fails the build.

var (
	violationsMu sync.Mutex
	violations   []string
	exchanges    = map[string]bool{} // "METHOD /path/{template} STATUS" seen
)

func TestMain(m *testing.M) {
	flag.Parse()
	// Benchmarks measure the handlers, not the validator; fuzzing wants
	// executions per second (its seed corpus is checked in plain runs).
	if !flagSet("test.bench") && !flagSet("test.fuzz") {
		v, err := contract.New(openapiYAML)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		replyCheck = contractMiddleware(v)
	}
	code := m.Run()
	violationsMu.Lock()
	defer violationsMu.Unlock()
	if replyCheck != nil && code == 0 {
		if !flagSet("test.run") {
			violations = append(violations, unexercised()...)
		}
	}
	if len(violations) > 0 {
		fmt.Fprintf(os.Stderr, "\n%d replies do not match api/openapi.yaml:\n", len(violations))
		for _, v := range violations {
			fmt.Fprintln(os.Stderr, "  "+v)
		}
		code = 1
	}
	os.Exit(code)
}

func flagSet(name string) bool {
	f := flag.Lookup(name)
	return f != nil && f.Value.String() != ""
}

// contractMiddleware checks the finished exchange and records any violation.
func contractMiddleware(v *contract.Validator) fiber.Handler {
	return func(c *fiber.Ctx) error {
		err := c.Next()
		if isConsolePath(c.Path()) && c.Response().StatusCode() < 400 {
			return err // the console's HTML and assets are not API replies
		}
		if cerr := checkExchange(v, c); cerr != nil {
			violationsMu.Lock()
			violations = append(violations, cerr.Error())
			violationsMu.Unlock()
		}
		return err
	}
}

func checkExchange(v *contract.Validator, c *fiber.Ctx) error {
	// Method and request URI are all the check needs; the body is not
	// touched (a refused stream may still be arriving).
	req, err := http.NewRequest(c.Method(), c.OriginalURL(), nil)
	if err != nil {
		return err
	}
	resp := c.Response()
	hdr := http.Header{}
	resp.Header.VisitAll(func(k, val []byte) { hdr.Add(string(k), string(val)) })
	if resp.IsBodyStream() {
		// Reading a streamed reply here would buffer it before it is sent;
		// its status and headers are checked, its body is not.
		if err := v.CheckHead(req, resp.StatusCode(), hdr); err != nil {
			return err
		}
	} else if err := v.Check(req, resp.StatusCode(), hdr, bytes.Clone(resp.Body())); err != nil {
		return err
	}
	if sc := resp.StatusCode(); sc >= 200 && sc < 300 {
		c.Request().Header.VisitAll(func(k, val []byte) { req.Header.Add(string(k), string(val)) })
		var reqBody []byte
		if ct := string(c.Request().Header.ContentType()); strings.Contains(ct, "json") && !strings.Contains(ct, "ndjson") {
			reqBody = c.Request().Body() // read whole by the handler already
		}
		if err := v.CheckAccepted(req, reqBody); err != nil {
			return err
		}
	}
	if r := c.Route(); r != nil && r.Path != "/" {
		violationsMu.Lock()
		exchanges[fmt.Sprintf("%s %s %d", c.Method(), r.Path, resp.StatusCode())] = true
		violationsMu.Unlock()
	}
	return nil
}

// unexercised lists the operations of the description that no test of a
// full run saw answer with success (the caller holds violationsMu).
func unexercised() []string {
	doc, err := contract.Load(openapiYAML)
	if err != nil {
		return []string{err.Error()}
	}
	ok := map[string]bool{}
	for k := range exchanges {
		var method, path string
		var status int
		if _, err := fmt.Sscanf(k, "%s %s %d", &method, &path, &status); err == nil && status < 300 {
			ok[method+" "+specPath(path)] = true
		}
	}
	var missing []string
	for p, item := range doc.Paths.Map() {
		for m := range item.Operations() {
			if !ok[m+" "+p] {
				missing = append(missing, "no test saw "+m+" "+p+" succeed")
			}
		}
	}
	sort.Strings(missing)
	return missing
}

// specDoc loads the description (linted).
func specDoc(t testing.TB) *openapi3.T {
	t.Helper()
	doc, err := contract.Load(openapiYAML)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func specPath(fiberPath string) string {
	segs := strings.Split(fiberPath, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, ":") {
			segs[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(segs, "/")
}

// TestOpenAPIMatchesRoutes: the description has exactly the router's
// operations (pprof aside), each with the route's scope and query
// parameters.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := specDoc(t)
	srv := pprofServer(t) // every optional feature on
	inTable := map[string]route{}
	for _, r := range srv.table {
		inTable[r.method+" "+specPath(r.path)] = r
	}
	inSpec := map[string]*openapi3.Operation{}
	for p, item := range doc.Paths.Map() {
		for m, op := range item.Operations() {
			inSpec[m+" "+p] = op
		}
	}
	for k, r := range inTable {
		op, ok := inSpec[k]
		if !ok {
			t.Errorf("route %s is not in api/openapi.yaml", k)
			continue
		}
		if got := op.Extensions["x-affinity-scope"]; got != scopeName(r.scope) {
			t.Errorf("%s: x-affinity-scope %v, the route needs %s", k, got, scopeName(r.scope))
		}
		if r.scope != ScopeNone {
			if op.Security == nil || len(*op.Security) != 2 {
				t.Errorf("%s: security must list bearerAuth and apiKeyHeader with scope %s", k, scopeName(r.scope))
			} else {
				for _, req := range *op.Security {
					for name, scopes := range req {
						if len(scopes) != 1 || scopes[0] != scopeName(r.scope) {
							t.Errorf("%s: security %s lists %v, want [%s]", k, name, scopes, scopeName(r.scope))
						}
					}
				}
			}
		} else if op.Security == nil || len(*op.Security) != 0 {
			t.Errorf("%s: an open route must have security: []", k)
		}
		item := doc.Paths.Find(strings.SplitN(k, " ", 2)[1])
		var query []string
		for _, p := range append(item.Parameters, op.Parameters...) {
			if p.Value.In == "query" {
				query = append(query, p.Value.Name)
			}
		}
		want := append([]string(nil), r.params...)
		sort.Strings(query)
		sort.Strings(want)
		if strings.Join(query, ",") != strings.Join(want, ",") {
			t.Errorf("%s: query parameters %v in the description, %v in the route table", k, query, want)
		}
	}
	for k := range inSpec {
		if _, ok := inTable[k]; !ok {
			t.Errorf("api/openapi.yaml documents %s, which no route serves", k)
		}
	}
}

// pprofServer is a server with every optional part: offers, experiments
// and pprof.
func pprofServer(t *testing.T) *Server {
	t.Helper()
	s := newOfferServer(t)
	o := DefaultOptions()
	o.Logger = s.srv.log
	o.EnablePprof = true
	srv, err := New(s.srv.deps, o)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// TestProblemTypesDocumented: the Problem schema's type enum is exactly the
// set problemType can produce.
func TestProblemTypesDocumented(t *testing.T) {
	doc := specDoc(t)
	var documented []string
	for _, e := range doc.Components.Schemas["Problem"].Value.Properties["type"].Value.Enum {
		documented = append(documented, e.(string))
	}
	seen := map[string]bool{}
	for status := 400; status < 600; status++ {
		seen[problemType(status, "")] = true
		seen[problemType(status, "f")] = true
	}
	var produced []string
	for k := range seen {
		produced = append(produced, k)
	}
	sort.Strings(documented)
	sort.Strings(produced)
	if strings.Join(documented, "\n") != strings.Join(produced, "\n") {
		t.Fatalf("documented problem types:\n%s\nproduced:\n%s", strings.Join(documented, "\n"), strings.Join(produced, "\n"))
	}
}

// TestContractCatchesDrift: the validator is not vacuous. A real reply
// passes; the same reply with an extra field, an undocumented status or an
// undocumented header fails.
func TestContractCatchesDrift(t *testing.T) {
	v, err := contract.New(openapiYAML)
	if err != nil {
		t.Fatal(err)
	}
	s := newOfferServer(t)
	r := s.do(t, "GET", "/v1/popular?limit=2", "").want(t, 200)
	req, _ := http.NewRequest("GET", "/v1/popular?limit=2", nil)
	if err := v.Check(req, r.status, r.hdr, r.body); err != nil {
		t.Fatalf("a real reply fails: %v", err)
	}
	extra := bytes.Replace(r.body, []byte(`"items":`), []byte(`"debug":1,"items":`), 1)
	if err := v.Check(req, r.status, r.hdr, extra); err == nil {
		t.Error("an undocumented field passed")
	}
	if err := v.Check(req, 202, r.hdr, r.body); err == nil {
		t.Error("an undocumented status passed")
	}
	h := r.hdr.Clone()
	h.Set("X-Affinity-Debug", "1")
	if err := v.Check(req, r.status, h, r.body); err == nil {
		t.Error("an undocumented header passed")
	}
	noScore := bytes.Replace(r.body, []byte(`"score":`), []byte(`"scor":`), 1)
	if err := v.Check(req, r.status, r.hdr, noScore); err == nil {
		t.Error("a renamed field passed")
	}
	del, _ := http.NewRequest("DELETE", "/v1/segments/x", nil)
	if err := v.Check(del, 200, r.hdr, []byte(`{}`)); err == nil {
		t.Error("a DELETE answering 200 passed")
	}
	// HEAD: a GET's status and headers, no body.
	head, _ := http.NewRequest("HEAD", "/v1/popular?limit=2", nil)
	if err := v.Check(head, r.status, r.hdr, nil); err != nil {
		t.Errorf("HEAD of a documented GET fails: %v", err)
	}
	if err := v.Check(head, 202, r.hdr, nil); err == nil {
		t.Error("HEAD with an undocumented status passed")
	}
	// The request side: what the server accepted must be documented.
	if err := v.CheckAccepted(req, nil); err != nil {
		t.Fatalf("a real request fails: %v", err)
	}
	for _, uri := range []string{"/v1/popular?limit=2&debug=1", "/v1/popular?limit=two", "/v1/popular?in_stock=yes"} {
		bad, _ := http.NewRequest("GET", uri, nil)
		if err := v.CheckAccepted(bad, nil); err == nil {
			t.Errorf("accepted %s passed", uri)
		}
	}
	put, _ := http.NewRequest("PUT", "/v1/segments/x", nil)
	put.Header.Set("Content-Type", "application/json")
	if err := v.CheckAccepted(put, []byte(`{"rule":"monetary > 1","colour":"red"}`)); err == nil {
		t.Error("an undocumented body field passed")
	}
	p := s.do(t, "GET", "/v1/products/nope", "").want(t, 404)
	get, _ := http.NewRequest("GET", "/v1/products/nope", nil)
	if err := v.Check(get, p.status, p.hdr, p.body); err != nil {
		t.Fatalf("a real 404 fails: %v", err)
	}
	blank := bytes.Replace(p.body, []byte("https://affinity.dev/problems/not-found"), []byte("about:blank"), 1)
	if err := v.Check(get, p.status, p.hdr, blank); err == nil {
		t.Error("an about:blank problem passed")
	}
}

// TestContractMiddlewareIsOn: the package's servers really run the check
// (an empty replyCheck would make the contract test vacuous).
func TestContractMiddlewareIsOn(t *testing.T) {
	if replyCheck == nil {
		t.Fatal("replyCheck is not installed")
	}
	s := newOfferServer(t)
	before := len(exchanges)
	s.do(t, "GET", "/v1/offers", "").want(t, 200)
	violationsMu.Lock()
	ok := exchanges["GET /v1/offers 200"]
	violationsMu.Unlock()
	if !ok {
		t.Fatalf("GET /v1/offers was not checked (%d exchanges before)", before)
	}
}

// TestOpenAPIJSONServed: /openapi.json is api/openapi.yaml, as JSON.
func TestOpenAPIJSONServed(t *testing.T) {
	s := newOfferServer(t)
	r := s.do(t, "GET", "/openapi.json", "").want(t, 200)
	var served map[string]any
	r.decode(t, &served)
	if served["openapi"] != "3.1.0" {
		t.Fatalf("openapi %v", served["openapi"])
	}
	doc, err := openapi3.NewLoader().LoadFromData(r.body)
	if err != nil {
		t.Fatal(err)
	}
	want := specDoc(t)
	if len(doc.Paths.Map()) != len(want.Paths.Map()) || doc.Paths.Find("/v1/popular") == nil {
		t.Fatalf("served %d paths, the file has %d", len(doc.Paths.Map()), len(want.Paths.Map()))
	}
}

// TestEveryOperationAnswers walks through every operation once with a
// request that succeeds, so the contract check sees each success reply (the
// other tests see the problems).
func TestEveryOperationAnswers(t *testing.T) {
	s := newOfferServer(t)
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json"} {
		s.do(t, "GET", path, "").want(t, 200)
	}
	s.do(t, "POST", "/v1/events", `{"event_id":"e1","customer_id":"c1","product_id":"p2","type":"view","timestamp":"2024-05-31T12:00:00Z"}`).want(t, 200)
	s.do(t, "PUT", "/v1/products/p1", `{"category":"mugs","brand":"acme","price":3.5,"tags":["new"],"attributes":{"colour":"red"}}`).want(t, 200)
	s.do(t, "PATCH", "/v1/products/p1", `{"price":3,"attributes":{"colour":null}}`).want(t, 200)
	s.do(t, "GET", "/v1/products/p1", "").want(t, 200)
	s.do(t, "GET", "/v1/products/p1/related?limit=3&basis=any&in_stock=true", "").want(t, 200)
	s.do(t, "PUT", "/v1/customers/c1", `{"attributes":{"country":"FR"}}`).want(t, 200)
	s.do(t, "PATCH", "/v1/customers/c1", `{"attributes":{"tier":"gold"}}`).want(t, 200)
	s.do(t, "GET", "/v1/customers?limit=5", "").want(t, 200)
	s.do(t, "GET", "/v1/customers/c1/profile", "").want(t, 200)
	s.do(t, "GET", "/v1/customers/c1/events?limit=5", "").want(t, 200)
	s.do(t, "GET", "/v1/products?q=p&limit=5", "").want(t, 200)
	s.do(t, "GET", "/v1/customers/c1/recommendations?limit=3&exclude_seen=false", "").want(t, 200)
	s.do(t, "GET", "/v1/popular?limit=3&window=30d", "").want(t, 200)
	s.do(t, "GET", "/v1/insights/value", "").want(t, 200)
	s.do(t, "PUT", "/v1/segments/big", `{"rule":"monetary > 1"}`).want(t, 200)
	s.do(t, "GET", "/v1/segments", "").want(t, 200)
	s.do(t, "GET", "/v1/segments/big", "").want(t, 200)
	s.do(t, "GET", "/v1/segments/big/products?limit=3", "").want(t, 200)
	s.do(t, "GET", "/v1/segments/big/members?limit=3", "").want(t, 200)
	s.do(t, "POST", "/v1/rules/check", `{"rule":"monetary > 1","segment":true}`).want(t, 200)
	s.do(t, "GET", "/v1/whoami", "").want(t, 200)
	s.do(t, "PUT", "/v1/offers/o1", `{"name":"Mugs","products":["p1"],"value":5,"priority":1,"budget":10,"channels":["web"]}`).want(t, 200)
	s.do(t, "GET", "/v1/offers", "").want(t, 200)
	s.do(t, "GET", "/v1/offers/o1", "").want(t, 200)
	var nbo struct {
		RecommendationID string `json:"recommendation_id"`
	}
	s.do(t, "GET", "/v1/customers/c1/next-best-offer?channel=web", "").want(t, 200).decode(t, &nbo)
	s.do(t, "POST", "/v1/offers/o1/responses", `{"customer_id":"c1","response":"accepted","recommendation_id":"`+nbo.RecommendationID+`"}`).want(t, 200)
	s.do(t, "PUT", "/v1/experiments/x1", `{"status":"running","variants":[{"name":"control"},{"name":"pop","params":{"algorithm":"popular"}}]}`).want(t, 200)
	s.do(t, "GET", "/v1/experiments", "").want(t, 200)
	s.do(t, "GET", "/v1/experiments/x1", "").want(t, 200)
	send(t, s.srv, "GET", "/v1/popular?limit=2", "", "X-Affinity-Experiment", "x1", "X-Affinity-Variant", "pop").want(t, 200)
	s.do(t, "GET", "/v1/experiments/x1/results", "").want(t, 200)
	s.do(t, "GET", "/v1/experiments/x1/report", "").want(t, 200)
	s.do(t, "POST", "/v1/admin/snapshot", "").want(t, 200)
	s.do(t, "GET", "/v1/admin/backup", "").want(t, 200)
	for _, path := range []string{"/v1/experiments/x1", "/v1/offers/o1", "/v1/segments/big", "/v1/products/p1", "/v1/customers/c1"} {
		s.do(t, "DELETE", path, "").want(t, 204)
	}
	p := pprofServer(t)
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/profile?seconds=1", "/debug/pprof/heap", "/debug/pprof/allocs", "/debug/pprof/goroutine"} {
		send(t, p, "GET", path, "").want(t, 200)
	}
}
