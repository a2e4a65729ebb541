package api

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/affinity-rec/affinity/recommend/offer"
)

// scopeDecisions is the scope each route needs, decided once here and
// written out in docs/api-scopes.md: definitions that change what
// customers see (segments, offers, experiments) and operations are admin;
// what a storefront backend sends (events, products, customers, erasure,
// offer responses) is write; reading is read; probes, metrics and the API
// description are open. A route the app registers without an entry here
// fails TestEveryRouteHasItsScope.
var scopeDecisions = map[string]Scope{
	"GET /healthz":      ScopeNone,
	"GET /readyz":       ScopeNone,
	"GET /metrics":      ScopeNone,
	"GET /openapi.json": ScopeNone,

	"POST /v1/events":                       ScopeWrite,
	"PUT /v1/products/:id":                  ScopeWrite,
	"PATCH /v1/products/:id":                ScopeWrite,
	"GET /v1/products/:id":                  ScopeRead,
	"DELETE /v1/products/:id":               ScopeWrite,
	"GET /v1/products/:id/related":          ScopeRead,
	"PUT /v1/customers/:id":                 ScopeWrite,
	"PATCH /v1/customers/:id":               ScopeWrite,
	"DELETE /v1/customers/:id":              ScopeWrite,
	"POST /v1/customers/:id/merge":          ScopeWrite,
	"GET /v1/customers":                     ScopeAdmin,
	"GET /v1/customers/:id/profile":         ScopeRead,
	"GET /v1/customers/:id/recommendations": ScopeRead,
	"GET /v1/popular":                       ScopeRead,
	"GET /v1/insights/value":                ScopeRead,

	"GET /v1/segments":                ScopeRead,
	"PUT /v1/segments/:name":          ScopeAdmin,
	"GET /v1/segments/:name":          ScopeRead,
	"DELETE /v1/segments/:name":       ScopeAdmin,
	"GET /v1/segments/:name/products": ScopeRead,
	// Members list people, like GET /v1/customers: admin.
	"GET /v1/segments/:name/members": ScopeAdmin,
	"POST /v1/exports":               ScopeAdmin,
	// Audiences list people too: admin.
	"GET /v1/products/:id/customers": ScopeAdmin,
	"GET /v1/offers/:id/audience":    ScopeAdmin,
	"GET /v1/offers/:id/performance": ScopeRead,

	"GET /v1/products":             ScopeRead,
	"GET /v1/customers/:id/events": ScopeRead,
	"GET /v1/whoami":               ScopeRead,
	"GET /v1/stats/history":        ScopeRead,
	"GET /v1/cluster/nodes":        ScopeRead,
	"POST /v1/rules/check":         ScopeRead,
	"GET /v1/rules":                ScopeRead,
	"PUT /v1/rules/:name":          ScopeAdmin,
	"GET /v1/rules/:name":          ScopeRead,
	"DELETE /v1/rules/:name":       ScopeAdmin,
	"GET /":                        ScopeNone,
	"GET /console/*":               ScopeNone,

	"GET /v1/offers":                        ScopeRead,
	"PUT /v1/offers/:id":                    ScopeAdmin,
	"GET /v1/offers/:id":                    ScopeRead,
	"DELETE /v1/offers/:id":                 ScopeAdmin,
	"POST /v1/offers/:id/responses":         ScopeWrite,
	"GET /v1/customers/:id/next-best-offer": ScopeRead,

	"GET /v1/experiments":             ScopeRead,
	"PUT /v1/experiments/:id":         ScopeAdmin,
	"GET /v1/experiments/:id":         ScopeRead,
	"DELETE /v1/experiments/:id":      ScopeAdmin,
	"GET /v1/experiments/:id/results": ScopeRead,
	"GET /v1/experiments/:id/report":  ScopeRead,

	"POST /v1/admin/snapshot":    ScopeAdmin,
	"GET /v1/admin/backup":       ScopeAdmin,
	"GET /debug/pprof/":          ScopeAdmin,
	"GET /debug/pprof/profile":   ScopeAdmin,
	"GET /debug/pprof/heap":      ScopeAdmin,
	"GET /debug/pprof/allocs":    ScopeAdmin,
	"GET /debug/pprof/goroutine": ScopeAdmin,
	"GET /debug/pprof/trace":     ScopeAdmin,
}

// consoleRoutes serve the console's files, not the API: the description
// and docs/api-scopes.md's table leave them out.
var consoleRoutes = map[string]bool{"GET /": true, "GET /console/*": true}

// fullServer is a server with every optional part (offers, experiments,
// pprof) and one key per scope.
func fullServer(t *testing.T) *Server {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, eng := seededStore(t, nil, purchases(6, 4, 10, func(c, p int) bool { return (c+p)%2 == 0 }))
	oo := offer.DefaultOptions()
	oo.Logger = quiet
	offers, err := offer.New(st.Records(), st, crmOf(t, st), eng, oo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { offers.Close() })
	keys, err := ParseKeys("read:readkey-0001 write:writekey-001 admin:adminkey-001")
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	o.Logger = quiet
	o.Keys = keys
	o.EnablePprof = true
	// Every route is called with a wrong key: the failed-key throttle
	// (auththrottle_test.go) would answer 429 after the tenth.
	o.AuthFailures = 0
	srv, err := New(Deps{Store: st, Engine: eng, CRM: crmOf(t, st), Offers: offers, Experiments: newTestExperiments(t, st, quiet, 0)}, o)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// TestEveryRouteHasItsScope walks the routes the fiber app registered
// (HEAD included, as fiber adds it to every GET) and calls each with no
// key, a wrong key and a key of each scope: 401 without a valid key, 403
// below the decided scope, through to the handler at or above it. The
// bodies are empty, so an allowed write stops at a 400 or 404 without
// changing anything.
func TestEveryRouteHasItsScope(t *testing.T) {
	srv := fullServer(t)
	seen := map[string]bool{}
	param := regexp.MustCompile(`:[a-z_]+`)
	creds := []struct {
		name, header, key string
		scope             Scope
	}{
		{"no key", "", "", ScopeNone},
		{"wrong key", "Authorization", "Bearer wrong-key-0001", ScopeNone},
		{"read", "X-API-Key", "readkey-0001", ScopeRead},
		{"write", "Authorization", "Bearer writekey-001", ScopeWrite},
		{"admin", "Authorization", "Bearer adminkey-001", ScopeAdmin},
	}
	for _, r := range srv.App().GetRoutes(true) {
		method := r.Method
		if method == "HEAD" {
			method = "GET"
		}
		id := method + " " + r.Path
		need, ok := scopeDecisions[id]
		if !ok {
			t.Errorf("%s %s has no scope decision: add it to scopeDecisions and docs/api-scopes.md", r.Method, r.Path)
			continue
		}
		seen[id] = true
		path := param.ReplaceAllString(r.Path, "x")
		if strings.HasSuffix(path, "/profile") && strings.HasPrefix(path, "/debug/") {
			path += "?seconds=1"
		}
		for _, c := range creds {
			req := httptest.NewRequest(r.Method, path, nil)
			if c.header != "" {
				req.Header.Set(c.header, c.key)
			}
			resp, err := srv.App().Test(req, 20_000)
			if err != nil {
				t.Fatalf("%s %s as %s: %v", r.Method, path, c.name, err)
			}
			resp.Body.Close()
			got := resp.StatusCode
			switch {
			case need == ScopeNone || c.scope >= need:
				if got == 401 || got == 403 {
					t.Errorf("%s %s as %s: %d, want it let through (scope %s)", r.Method, path, c.name, got, scopeName(need))
				}
			case c.scope == ScopeNone:
				if got != 401 {
					t.Errorf("%s %s as %s: %d, want 401", r.Method, path, c.name, got)
				}
			default:
				if got != 403 {
					t.Errorf("%s %s as %s: %d, want 403 (scope %s)", r.Method, path, c.name, got, scopeName(need))
				}
			}
		}
	}
	for id := range scopeDecisions {
		if !seen[id] {
			t.Errorf("scopeDecisions lists %s, which the app does not register", id)
		}
	}
}

// TestScopesInOpenAPIAndDocs: /openapi.json and docs/api-scopes.md state
// the same scope as the router for every route.
func TestScopesInOpenAPIAndDocs(t *testing.T) {
	srv := fullServer(t)
	var doc struct {
		Paths map[string]map[string]struct {
			Scope    string                `json:"x-affinity-scope"`
			Security []map[string][]string `json:"security"`
		} `json:"paths"`
	}
	send(t, srv, "GET", "/openapi.json", "").want(t, 200).decode(t, &doc)
	openapiPath := regexp.MustCompile(`:([a-z_]+)`)
	var want []string
	for id, sc := range scopeDecisions {
		if consoleRoutes[id] {
			continue
		}
		method, path, _ := strings.Cut(id, " ")
		p := openapiPath.ReplaceAllString(path, "{$1}")
		op, ok := doc.Paths[p][strings.ToLower(method)]
		if !ok {
			t.Errorf("openapi lacks %s %s", method, p)
			continue
		}
		if op.Scope != scopeName(sc) || (sc == ScopeNone) != (len(op.Security) == 0) {
			t.Errorf("openapi %s %s: x-affinity-scope %q, security %v; decided %s", method, p, op.Scope, op.Security, scopeName(sc))
		}
		want = append(want, "| "+method+" | `"+p+"` | "+scopeName(sc)+" |")
	}
	sort.Strings(want)
	md, err := os.ReadFile("../docs/api-scopes.md")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	row := regexp.MustCompile("^\\| (GET|PUT|PATCH|POST|DELETE) \\| `[^`]+` \\| [a-z]+ \\|$")
	for _, line := range strings.Split(string(md), "\n") {
		if row.MatchString(line) {
			got = append(got, line)
		}
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("docs/api-scopes.md disagrees with the router; its table should read:\n%s", strings.Join(want, "\n"))
	}
}
