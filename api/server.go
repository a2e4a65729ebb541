package api

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/crm"
	"github.com/affinity-rec/affinity/recommend"
	"github.com/affinity-rec/affinity/recommend/experiment"
	"github.com/affinity-rec/affinity/recommend/offer"
)

// Scope is what an API key may do. Admin includes write, write includes read.
//
//   - read: every GET a storefront makes to render pages (recommendations,
//     profiles, next-best-offer, segment and experiment reads).
//   - write: what a storefront backend sends: events, products and
//     customers (create, replace, delete, erase), offer responses.
//   - admin: definitions that change what customers see (segments, offers,
//     experiments: create, replace, delete) and operations (snapshot,
//     backup, pprof).
//
// Erasing a customer is write: the storefront backend is where deletion
// requests arrive and it must be able to honour them at once, without
// holding the admin key, which can also take a backup of every customer's
// data. docs/api-scopes.md lists every route; a test keeps it, the router
// and /openapi.json in agreement.
type Scope int

const (
	ScopeNone Scope = iota
	ScopeRead
	ScopeWrite
	ScopeAdmin
)

// ParseScope reads "read", "write" or "admin".
func ParseScope(s string) (Scope, error) {
	switch s {
	case "read":
		return ScopeRead, nil
	case "write":
		return ScopeWrite, nil
	case "admin":
		return ScopeAdmin, nil
	}
	return ScopeNone, fmt.Errorf("unknown scope %q (read, write, admin)", s)
}

// Key is one API key and its scope.
type Key struct {
	Scope Scope
	Key   string
}

// ParseKeys reads "read:KEY1,write:KEY2,admin:KEY3" (whitespace and newlines
// also separate entries, so a keys file can hold one per line).
func ParseKeys(s string) ([]Key, error) {
	var keys []Key
	var fields []string
	for _, line := range strings.Split(s, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i] // a keys file may carry comments
		}
		fields = append(fields, strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\r' })...)
	}
	for _, f := range fields {
		scope, key, ok := strings.Cut(f, ":")
		if !ok || key == "" {
			return nil, fmt.Errorf("API key entry %q is not SCOPE:KEY", redact(f))
		}
		sc, err := ParseScope(scope)
		if err != nil {
			return nil, err
		}
		if len(key) < 8 {
			return nil, fmt.Errorf("API key for scope %s is shorter than 8 characters", scope)
		}
		keys = append(keys, Key{Scope: sc, Key: key})
	}
	return keys, nil
}

func redact(s string) string {
	if i := strings.Index(s, ":"); i >= 0 {
		return s[:i+1] + "…"
	}
	return "…"
}

// Options configure the HTTP server.
type Options struct {
	// Keys are the accepted API keys; none means no authentication (the
	// command refuses to listen beyond loopback then, unless told to).
	Keys []Key
	// BodyLimit is the largest request body accepted, in bytes, except
	// NDJSON event streams.
	BodyLimit int
	// StreamLimit is the largest NDJSON body POST /v1/events accepts; it is
	// read and committed incrementally, so it may be far larger.
	StreamLimit int
	// ReadTimeout and WriteTimeout bound slow clients.
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// RateLimit is requests per second allowed per API key (0: unlimited).
	RateLimit float64
	// AuthFailures is how many failed authentications a client address
	// may make in a row before it gets 429 (0: no throttle), and
	// AuthFailureRate how many more it is allowed per second after that
	// (auththrottle.go).
	AuthFailures    int
	AuthFailureRate float64
	// Logger receives request errors.
	Logger *slog.Logger
	// EnablePprof exposes /debug/pprof to admin keys.
	EnablePprof bool
}

// DefaultOptions returns production defaults.
func DefaultOptions() Options {
	return Options{
		BodyLimit:    8 << 20,
		StreamLimit:  512 << 20,
		ReadTimeout:  30 * time.Second,
		WriteTimeout: 30 * time.Second,
		IdleTimeout:  120 * time.Second,
		// A person mistyping a key retries a few times; a guesser is held
		// to one try a second.
		AuthFailures:    10,
		AuthFailureRate: 1,
	}
}

// Validate reports whether o is usable.
func (o Options) Validate() error {
	if o.BodyLimit < 1024 {
		return fmt.Errorf("body limit %d is below 1 KiB", o.BodyLimit)
	}
	if o.StreamLimit < o.BodyLimit {
		return fmt.Errorf("stream limit %d is below the body limit %d", o.StreamLimit, o.BodyLimit)
	}
	if o.RateLimit < 0 {
		return fmt.Errorf("rate limit must be >= 0")
	}
	if o.AuthFailures < 0 || o.AuthFailures > 0 && !(o.AuthFailureRate > 0) {
		return fmt.Errorf("auth failures must be >= 0, with a failure rate > 0 when set")
	}
	return nil
}

// Deps are the services the handlers call.
type Deps struct {
	Store  *features.Store
	Engine *recommend.Engine
	// CRM serves customer value, segments and rules (the profile's value,
	// the segment and insight routes, rule checks); required.
	CRM *crm.Service
	// Experiments serves the experiment flags; nil: no experiments.
	Experiments *experiment.Service
	// Offers serves next-best-offer and the offer routes; nil: no offers.
	Offers *offer.Service
}

// Server is the HTTP API. Safe for concurrent use.
type Server struct {
	app      *fiber.App
	opts     Options
	deps     Deps
	lists    *recommend.Service
	log      *slog.Logger
	metrics  *metrics
	ready    atomic.Bool
	limiter  *rateLimiter
	authFail *authThrottle // nil: failed keys are not throttled
	table    []route
}

const localRequestID = "request_id"

// replyCheck, when set, is the outermost middleware of every server: the
// package's tests set it (contract_test.go) to check each finished reply
// against api/openapi.yaml. Nil in production.
var replyCheck fiber.Handler

const localScope = "scope"

// New builds the server and its routes.
func New(d Deps, o Options) (*Server, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if _, err := openapiJSON(); err != nil {
		return nil, err // a broken embedded description is a build mistake: fail loudly
	}
	if d.CRM == nil {
		return nil, errors.New("api: Deps.CRM is required (crm.New over the store)")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &Server{opts: o, deps: d, lists: recommend.NewService(d.Engine, d.Experiments), log: o.Logger, metrics: newMetrics(d.Store, d.CRM)}
	if o.RateLimit > 0 {
		s.limiter = newRateLimiter(o.RateLimit)
	}
	if o.AuthFailures > 0 {
		s.authFail = newAuthThrottle(o.AuthFailures, o.AuthFailureRate, authThrottleAddrs)
	}
	s.app = fiber.New(fiber.Config{
		AppName:               "affinity",
		DisableStartupMessage: true,
		// Bodies are streamed so that NDJSON can be read incrementally; the
		// limits are enforced by limitBody (fasthttp does not while streaming).
		BodyLimit:         o.StreamLimit,
		StreamRequestBody: true,
		ReadTimeout:       o.ReadTimeout,
		WriteTimeout:      o.WriteTimeout,
		IdleTimeout:       o.IdleTimeout,
		ReadBufferSize:    16 << 10, // request line and headers; larger gets 431
		ErrorHandler:      errorHandler(o.Logger),
		JSONEncoder:       jsonMarshal,
		JSONDecoder:       json.Unmarshal,
	})
	if replyCheck != nil {
		s.app.Use(replyCheck)
	}
	s.app.Use(s.observe, s.limitBody)
	s.routes()
	s.ready.Store(true)
	return s, nil
}

// App returns the fiber app (tests use app.Test; the command listens).
func (s *Server) App() *fiber.App { return s.app }

// SetReady flips readiness (false while draining on shutdown).
func (s *Server) SetReady(v bool) { s.ready.Store(v) }

// route describes one endpoint, for the router and /openapi.json alike.
type route struct {
	method, path string
	scope        Scope
	summary      string
	handler      fiber.Handler
	params       []string // query parameters, for the API description
}

func (s *Server) routes() {
	listParams := []string{"limit", "category", "brand", "tag", "price_min", "price_max", "in_stock", "experiment", "variant", "unit_id"}
	rs := []route{
		{"GET", "/healthz", ScopeNone, "Liveness", s.healthz, nil},
		{"GET", "/readyz", ScopeNone, "Readiness: the store can write and the model is built", s.readyz, nil},
		{"GET", "/metrics", ScopeNone, "Prometheus metrics", s.metrics.handler(), nil},
		{"GET", "/openapi.json", ScopeNone, "This API description", s.openapi, nil},
		{"POST", "/v1/events", ScopeWrite, "Ingest one event, a JSON array or NDJSON; replies after the accepted ones are durable", s.postEvents, nil},
		{"PUT", "/v1/products/:id", ScopeWrite, "Create or replace a product", s.putProduct, nil},
		{"GET", "/v1/products/:id", ScopeRead, "Read a product", s.getProduct, nil},
		{"DELETE", "/v1/products/:id", ScopeWrite, "Delete a product record", s.deleteProduct, nil},
		{"GET", "/v1/products/:id/related", ScopeRead, "Products associated with this one (PTP)", s.related, append([]string{"basis", "customer_id"}, listParams...)},
		{"PUT", "/v1/customers/:id", ScopeWrite, "Create or replace a customer's attributes", s.putCustomer, nil},
		{"DELETE", "/v1/customers/:id", ScopeWrite, "Erase a customer and every event of theirs", s.deleteCustomer, nil},
		// Listing ids enumerates people: admin only (a read key is what a
		// storefront page embeds).
		{"GET", "/v1/customers", ScopeAdmin, "A sample of customer ids (for load tests; admin only)", s.listCustomers, []string{"limit"}},
		{"GET", "/v1/customers/:id/profile", ScopeRead, "A customer's profile", s.profile, nil},
		{"GET", "/v1/customers/:id/recommendations", ScopeRead, "One-to-one recommendations", s.personal, append([]string{"context_product", "exclude_seen", "preview"}, listParams...)},
		{"GET", "/v1/popular", ScopeRead, "Popular products", s.popular, append([]string{"segment", "window", "customer_id"}, listParams...)},
	}
	rs = append(rs, s.extraRoutes()...)
	s.table = rs
	for _, r := range rs {
		h := r.handler
		if r.scope != ScopeNone {
			s.app.Add(r.method, r.path, s.auth(r.scope), h)
		} else {
			s.app.Add(r.method, r.path, h)
		}
	}
	s.consoleRoutes()
	s.app.Use(func(c *fiber.Ctx) error {
		return &HTTPError{Status: fiber.StatusNotFound, Detail: "no such endpoint: " + c.Method() + " " + c.Path()}
	})
}

// extraRoutes gathers the routes that live beside their handlers, one file
// per feature, in a fixed order: every route the server has is named here or
// in routes above.
func (s *Server) extraRoutes() []route {
	var rs []route
	for _, part := range [][]route{
		s.adminRoutes(),
		s.browseRoutes(),
		s.experimentRoutes(),
		s.insightRoutes(),
		s.offerRoutes(),
		s.ruleCheckRoutes(),
		s.segmentRoutes(),
	} {
		rs = append(rs, part...)
	}
	return rs
}

// auth checks the API key when keys are configured: 401 without a valid key,
// 403 for a key without the scope.
func (s *Server) auth(need Scope) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if len(s.opts.Keys) == 0 {
			c.Locals(localScope, ScopeAdmin)
			return c.Next()
		}
		if s.authFail != nil {
			if wait, blocked := s.authFail.blocked(c.IP(), time.Now()); blocked {
				c.Set(fiber.HeaderRetryAfter, strconv.Itoa(retryAfterSeconds(wait)))
				return &HTTPError{Status: fiber.StatusTooManyRequests, Detail: "too many failed authentications from this address; retry later"}
			}
		}
		key := c.Get("X-API-Key")
		if key == "" {
			if h := c.Get(fiber.HeaderAuthorization); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
				key = h[7:]
			}
		}
		got := ScopeNone
		for _, k := range s.opts.Keys {
			// Constant time per comparison, and every key is compared, so
			// timing does not tell which key prefix matched.
			if subtle.ConstantTimeCompare([]byte(k.Key), []byte(key)) == 1 && k.Scope > got {
				got = k.Scope
			}
		}
		if got == ScopeNone {
			if s.authFail != nil {
				s.authFail.failed(c.IP(), time.Now())
			}
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="affinity"`)
			return &HTTPError{Status: fiber.StatusUnauthorized, Detail: "a valid API key is required (Authorization: Bearer KEY or X-API-Key)"}
		}
		if got < need {
			return &HTTPError{Status: fiber.StatusForbidden, Detail: "this API key lacks the " + scopeName(need) + " scope"}
		}
		if s.limiter != nil {
			if wait, ok := s.limiter.allow(key); !ok {
				c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(wait.Seconds())+1))
				return &HTTPError{Status: fiber.StatusTooManyRequests, Detail: "rate limit exceeded for this API key"}
			}
		}
		c.Locals(localScope, got)
		return c.Next()
	}
}

func scopeName(s Scope) string {
	switch s {
	case ScopeRead:
		return "read"
	case ScopeWrite:
		return "write"
	case ScopeAdmin:
		return "admin"
	}
	return "none"
}

func (s *Server) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

func (s *Server) readyz(c *fiber.Ctx) error {
	if !s.ready.Load() {
		return &HTTPError{Status: fiber.StatusServiceUnavailable, Detail: "shutting down"}
	}
	if err := s.deps.Store.Ready(); err != nil {
		s.log.Warn("not ready", "err", err)
		return &HTTPError{Status: fiber.StatusServiceUnavailable, Detail: "store not ready: " + err.Error()}
	}
	st := s.deps.Store.Stats()
	return c.JSON(fiber.Map{"status": "ready", "events": st.Events, "customers": st.Customers, "products": st.Products,
		"model_built": st.ModelBuilt.UTC().Format(time.RFC3339)})
}
