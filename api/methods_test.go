package api

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// The methods a path answers: HEAD beside every GET, 405 with Allow for
// the others, 404 for paths that are no route's (routes, unrouted).

const adminAuth = "Bearer adminkey-001" // fullServer's admin key

// concretePath fills a route pattern's parameters: ids the seeded store of
// fullServer has for products and customers, "x" elsewhere (a 404 is as
// good a GET reply to hold HEAD to as a 200).
func concretePath(pattern string) string {
	segs := strings.Split(pattern, "/")
	for i, s := range segs {
		switch {
		case s == "*":
			segs[i] = "index.html"
		case strings.HasPrefix(s, ":") && segs[i-1] == "products":
			segs[i] = "p0"
		case strings.HasPrefix(s, ":") && segs[i-1] == "customers":
			segs[i] = "c0"
		case strings.HasPrefix(s, ":"):
			segs[i] = "x"
		}
	}
	p := strings.Join(segs, "/")
	if strings.HasSuffix(p, "/pprof/profile") {
		p += "?seconds=1"
	}
	return p
}

// consolePatterns are the console's routes (console.go), GET and HEAD.
var consolePatterns = []string{"/", "/console/*"}

// TestHeadAnswersEveryGet: HEAD on every GET of the route table and the
// console gets the GET's status and header names, and no body.
func TestHeadAnswersEveryGet(t *testing.T) {
	srv := fullServer(t)
	paths := slices.Clone(consolePatterns)
	for _, r := range srv.table {
		if r.method == http.MethodGet {
			paths = append(paths, r.path)
		}
	}
	// Set per request (or per reply) by the stack, not by the route.
	varying := map[string]bool{"Date": true, "Content-Length": true, "Transfer-Encoding": true}
	for _, pattern := range paths {
		p := concretePath(pattern)
		get := send(t, srv, http.MethodGet, p, "", "Authorization", adminAuth)
		head := send(t, srv, http.MethodHead, p, "", "Authorization", adminAuth)
		if head.status != get.status {
			t.Errorf("HEAD %s: %d, GET %d", p, head.status, get.status)
			continue
		}
		if len(head.body) != 0 {
			t.Errorf("HEAD %s: a %d-byte body", p, len(head.body))
		}
		if head.ctype != get.ctype {
			t.Errorf("HEAD %s: Content-Type %q, GET %q", p, head.ctype, get.ctype)
		}
		var gotNames, wantNames []string
		for k := range head.hdr {
			if !varying[k] {
				gotNames = append(gotNames, k)
			}
		}
		for k := range get.hdr {
			if !varying[k] {
				wantNames = append(wantNames, k)
			}
		}
		slices.Sort(gotNames)
		slices.Sort(wantNames)
		if !slices.Equal(gotNames, wantNames) {
			t.Errorf("HEAD %s: headers %v, GET %v", p, gotNames, wantNames)
		}
	}
}

// TestHeadNeedsTheGetsScope: HEAD goes through the GET's key check.
func TestHeadNeedsTheGetsScope(t *testing.T) {
	srv := fullServer(t)
	send(t, srv, http.MethodHead, "/v1/popular", "").want(t, http.StatusUnauthorized)
	send(t, srv, http.MethodHead, "/v1/customers", "", "X-API-Key", "readkey-0001").want(t, http.StatusForbidden)
	send(t, srv, http.MethodHead, "/v1/customers", "", "Authorization", adminAuth).want(t, http.StatusOK)
	send(t, srv, http.MethodHead, "/healthz", "").want(t, http.StatusOK)
}

// TestWrongMethodIs405: every other method on every route's path gets a
// 405 problem, before any key check, whose Allow lists exactly the path's
// methods; the detail names the method and the allowed ones. A path that
// is no route's stays 404.
func TestWrongMethodIs405(t *testing.T) {
	srv := fullServer(t)
	byPattern := map[string][]string{}
	for _, p := range consolePatterns {
		byPattern[p] = []string{http.MethodGet, http.MethodHead}
	}
	for _, r := range srv.table {
		byPattern[r.path] = append(byPattern[r.path], r.method)
		if r.method == http.MethodGet {
			byPattern[r.path] = append(byPattern[r.path], http.MethodHead)
		}
	}
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}
	for pattern := range byPattern {
		p := concretePath(pattern)
		// A path may be more than one pattern's: /v1/rules/check is also
		// /v1/rules/:name. The router matches it without its trailing
		// slash (fiber's StrictRouting is off); RoutePatternMatch does not
		// trim the path.
		bare := strings.Split(p, "?")[0]
		if len(bare) > 1 {
			bare = strings.TrimSuffix(bare, "/")
		}
		var want []string
		for other, ms := range byPattern {
			if fiber.RoutePatternMatch(bare, other) {
				want = append(want, ms...)
			}
		}
		slices.Sort(want)
		want = slices.Compact(want)
		for _, m := range methods {
			if slices.Contains(want, m) {
				continue
			}
			r := send(t, srv, m, p, "")
			if r.status != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: %d, want 405: %s", m, p, r.status, r.body)
				continue
			}
			if r.ctype != "application/problem+json" {
				t.Errorf("%s %s: Content-Type %q", m, p, r.ctype)
			}
			got := strings.Split(r.hdr.Get("Allow"), ", ")
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s %s: Allow %q, want %v", m, p, r.hdr.Get("Allow"), want)
			}
			if m == http.MethodHead {
				continue // no body to read the detail from
			}
			var prob Problem
			r.decode(t, &prob)
			if prob.Status != http.StatusMethodNotAllowed || !strings.Contains(prob.Detail, m) {
				t.Errorf("%s %s: problem %+v does not name the method", m, p, prob)
			}
			for _, a := range want {
				if !strings.Contains(prob.Detail, a) {
					t.Errorf("%s %s: detail %q does not name %s", m, p, prob.Detail, a)
				}
			}
		}
	}
	checkUnknownPaths(t, srv)
}

// checkUnknownPaths: a path no route has stays 404, whatever the method,
// without an Allow header.
func checkUnknownPaths(t *testing.T, srv *Server) {
	t.Helper()
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodDelete, http.MethodOptions} {
		for _, p := range []string{"/v1/nothing-here", "/v1/popular/extra", "/healthz/x"} {
			r := send(t, srv, m, p, "", "Authorization", adminAuth).want(t, http.StatusNotFound)
			if a := r.hdr.Get("Allow"); a != "" {
				t.Errorf("%s %s: 404 with Allow %q", m, p, a)
			}
		}
	}
}

// TestHeadAndWrongMethodMetrics: a HEAD counts once under its method and
// the route's path; a 405 under "unmatched", like a 404.
func TestHeadAndWrongMethodMetrics(t *testing.T) {
	srv := fullServer(t)
	send(t, srv, http.MethodHead, "/healthz", "").want(t, http.StatusOK)
	send(t, srv, http.MethodPost, "/v1/popular", "").want(t, http.StatusMethodNotAllowed)
	m := send(t, srv, http.MethodGet, "/metrics", "").want(t, http.StatusOK)
	for _, line := range []string{
		`affinity_http_requests_total{method="HEAD",route="/healthz",status="200"} 1`,
		`affinity_http_requests_total{method="POST",route="unmatched",status="405"} 1`,
	} {
		if !strings.Contains(string(m.body), line+"\n") {
			t.Errorf("/metrics lacks %s", line)
		}
	}
	if regexp.MustCompile(`method="GET",route="/healthz"`).Match(m.body) {
		t.Error("a HEAD was counted as a GET")
	}
}

// TestHeadSendsNoBodyOnTheWire: over a real connection, a HEAD reply (a
// JSON one, and the backup's streamed one) ends at its headers: the next
// reply on the same connection reads cleanly.
func TestHeadSendsNoBodyOnTheWire(t *testing.T) {
	conn, rd := rawConn(t, fullServer(t))
	for _, p := range []string{"/healthz", "/v1/admin/backup", "/v1/popular?limit=2"} {
		fmt.Fprintf(conn, "HEAD %s HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n\r\n", p, adminAuth)
		fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		head, err := http.ReadResponse(rd, &http.Request{Method: http.MethodHead})
		if err != nil {
			t.Fatalf("HEAD %s: %v", p, err)
		}
		head.Body.Close()
		if head.StatusCode != http.StatusOK {
			t.Fatalf("HEAD %s: %d", p, head.StatusCode)
		}
		next, err := http.ReadResponse(rd, &http.Request{Method: http.MethodGet})
		if err != nil {
			t.Fatalf("the reply after HEAD %s: %v", p, err)
		}
		b, err := io.ReadAll(next.Body)
		next.Body.Close()
		if err != nil || next.StatusCode != http.StatusOK || !strings.Contains(string(b), `"ok"`) {
			t.Fatalf("the reply after HEAD %s: %d %q %v", p, next.StatusCode, b, err)
		}
	}
}

// TestUnknownMethodIs501: over a real connection, a method fiber does not
// know gets a 501 problem document naming it (fiber answered a plain-text
// 400 before any of the API's code ran), and the connection goes on.
func TestUnknownMethodIs501(t *testing.T) {
	conn, rd := rawConn(t, fullServer(t))
	for _, m := range []string{"FROB", "PROPFIND", "get", strings.Repeat("X", 100)} {
		fmt.Fprintf(conn, "%s /v1/popular HTTP/1.1\r\nHost: x\r\n\r\n", m)
		resp, err := http.ReadResponse(rd, nil)
		if err != nil {
			t.Fatalf("%.10s: %v", m, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusNotImplemented || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%.10s: %d %s %q", m, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
		var prob Problem
		if err := json.Unmarshal(b, &prob); err != nil {
			t.Fatalf("%.10s: %v in %q", m, err, b)
		}
		if prob.Status != http.StatusNotImplemented || !strings.Contains(prob.Detail, m[:min(len(m), 32)]) || len(prob.Detail) > 200 {
			t.Errorf("%.10s: problem %+v", m, prob)
		}
	}
	fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(rd, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the request after: %v %v", resp, err)
	}
	resp.Body.Close()
}

// rawConn is a plain TCP connection to srv served on a loopback port, for
// requests net/http would not send; it is closed with the test.
func rawConn(t *testing.T, srv *Server) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(listen(t, srv), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, bufio.NewReader(conn)
}
