package api

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

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
	// Cluster is the node's cluster membership (cluster.go); nil: single node.
	Cluster Cluster
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

// experimenter is d.Experiments as the use cases take it: a nil interface,
// not one holding a nil pointer, when the server has no experiments.
func (d Deps) experimenter() recommend.Experimenter {
	if d.Experiments == nil {
		return nil
	}
	return d.Experiments
}

// Server is the HTTP API. Safe for concurrent use.
type Server struct {
	app      *fiber.App
	opts     Options
	deps     Deps
	lists    *recommend.Service // the list use case
	nextBest *offer.NextBest    // the next-best-offer use case; nil without offers
	log      *slog.Logger
	metrics  *metrics
	ready    atomic.Bool
	limiter  *rateLimiter
	authFail *authThrottle // nil: failed keys are not throttled
	table    []route
	history  *statsHistory // the overview's last hour (stats_history.go)
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
	s := &Server{opts: o, deps: d, lists: recommend.NewService(d.Engine, d.experimenter()), log: o.Logger, metrics: newMetrics(d.Store, d.CRM)}
	if d.Offers != nil {
		s.nextBest = offer.NewNextBest(d.Offers, d.experimenter())
	}
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
	answerUnknownMethods(s.app)
	if replyCheck != nil {
		s.app.Use(replyCheck)
	}
	s.app.Use(s.observe, s.limitBody)
	s.useCluster()
	s.history = s.newStatsHistory()
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

// routes registers the route table, each route behind the key check for
// its scope, then the console, then the 404 or 405 for everything else.
//
// Every GET also answers HEAD (health probes and link checkers use it):
// app.Add registers only the method it is given (fiber's app.Get adds HEAD,
// which is how the console's routes already had it). HEAD goes through the
// same chain as the GET, key check, rate limit and handler, so it gets the
// GET's status and headers; the handler runs once, as for a GET, and
// fasthttp drops the body (endHead: a streamed one is closed unread, which
// stops its writer). The metrics count it once, under its own method label
// and the route's path, so probes are told apart from reads.
func (s *Server) routes() {
	s.table = s.routeTable()
	for _, r := range s.table {
		chain := []fiber.Handler{r.handler}
		if r.scope != ScopeNone {
			chain = []fiber.Handler{s.auth(r.scope), s.minSeq, r.handler}
		}
		s.app.Add(r.method, r.path, chain...)
		if r.method == fiber.MethodGet {
			s.app.Add(fiber.MethodHead, r.path, append([]fiber.Handler{endHead}, chain...)...)
		}
	}
	s.consoleRoutes()
	s.app.Use(s.unrouted)
}

// routeTable is the whole HTTP API: every route is one line (method, path,
// scope, summary, handler, query parameters), in groups by resource; the
// console's files (console.go) are the only other routes. To add an
// endpoint, add its line here, its handler beside its resource, and its
// operation in api/openapi.yaml and docs/api-scopes.md (tests hold the four
// in agreement). The routes that exist only on some servers (offers,
// profiling) are the two tables below it.
func (s *Server) routeTable() []route {
	listParams := []string{"limit", "category", "brand", "tag", "price_min", "price_max", "in_stock", "experiment", "variant", "unit_id"}
	listParams = append(listParams, merchParams...)
	rs := []route{
		{"GET", "/healthz", ScopeNone, "Liveness", s.healthz, nil},
		{"GET", "/readyz", ScopeNone, "Readiness: the store can write and the model is built", s.readyz, nil},
		{"GET", "/metrics", ScopeNone, "Prometheus metrics", s.metrics.handler(), nil},
		{"GET", "/openapi.json", ScopeNone, "This API description", s.openapi, nil},
		{"POST", "/v1/events", ScopeWrite, "Ingest one event, a JSON array or NDJSON; replies after the accepted ones are durable", s.postEvents, nil},
		{"PUT", "/v1/products/:id", ScopeWrite, "Create or replace a product", s.putProduct, nil},
		{"PATCH", "/v1/products/:id", ScopeWrite, "Change some fields of a product (attributes merge; a null attribute is removed; never creates)", s.patchProduct, nil},
		{"GET", "/v1/products/:id", ScopeRead, "Read a product", s.getProduct, nil},
		{"DELETE", "/v1/products/:id", ScopeWrite, "Delete a product record", s.deleteProduct, nil},
		{"GET", "/v1/products/:id/related", ScopeRead, "Products associated with this one (PTP)", s.related, append([]string{"basis", "customer_id"}, listParams...)},
		{"GET", "/v1/products/:id/customers", ScopeAdmin, "Customers most likely to buy this product (PTC audience; admin: it lists people)", s.productAudience, []string{"limit", "segment", "exclude_buyers", "rules"}},
		{"GET", "/v1/offers/:id/audience", ScopeAdmin, "Customers to target with this offer: eligible, not capped, ranked like a product's audience (admin: it lists people)", s.offerAudience, []string{"limit", "segment", "exclude_buyers", "rules"}},
		{"PUT", "/v1/customers/:id", ScopeWrite, "Create or replace a customer's attributes", s.putCustomer, nil},
		{"PATCH", "/v1/customers/:id", ScopeWrite, "Merge attributes into a customer's (a null attribute is removed; never creates)", s.patchCustomer, nil},
		{"DELETE", "/v1/customers/:id", ScopeWrite, "Erase a customer and every event of theirs", s.deleteCustomer, nil},
		{"POST", "/v1/customers/:id/merge", ScopeWrite, "Move an anonymous visitor's history onto this customer: {\"from\": \"<anonymous id>\"} (merge.go)", s.mergeCustomer, nil},
		// Listing ids enumerates people: admin only (a read key is what a
		// storefront page embeds).
		{"GET", "/v1/customers", ScopeAdmin, "A sample of customer ids (for load tests; admin only)", s.listCustomers, []string{"limit"}},
		{"GET", "/v1/customers/:id/profile", ScopeRead, "A customer's profile", s.profile, nil},
		{"GET", "/v1/customers/:id/recommendations", ScopeRead, "One-to-one recommendations", s.personal, append([]string{"context_product", "exclude_seen", "preview"}, listParams...)},
		{"GET", "/v1/popular", ScopeRead, "Popular products", s.popular, append([]string{"segment", "window", "customer_id"}, listParams...)},

		// Browsing the data, paged (browse.go).
		{"GET", "/v1/products", ScopeRead, "Search products by id, description and catalogue attributes", s.searchProducts, []string{"q", "category", "brand", "tag", "price_min", "price_max", "in_stock", "limit", "offset"}},
		{"GET", "/v1/customers/:id/events", ScopeRead, "A customer's events, newest first", s.customerEvents, []string{"limit", "offset"}},
		{"GET", "/v1/segments/:name/members", ScopeAdmin, "A segment's members, paged", s.segmentMembers, []string{"limit", "cursor", "offset"}},

		// Segments (segments.go); /v1/popular?segment= above.
		{"GET", "/v1/segments", ScopeRead, "List segments with their member counts", s.listSegments, nil},
		{"PUT", "/v1/segments/:name", ScopeAdmin, "Define or replace a segment: {\"rule\": \"<expression over profile fields>\"}", s.putSegment, nil},
		{"GET", "/v1/segments/:name", ScopeRead, "A segment's rule and member count", s.getSegment, nil},
		{"DELETE", "/v1/segments/:name", ScopeAdmin, "Delete a segment", s.deleteSegment, nil},
		{"GET", "/v1/segments/:name/products", ScopeRead, "Products this segment buys more than everyone else (PTC, smoothed lift)", s.segmentProducts, append([]string{"customer_id"}, listParams...)},

		// Experiments (experiments.go; the report page, report.go). A
		// server without an experiment service answers them 501.
		{"GET", "/v1/experiments", ScopeRead, "List experiments", s.listExperiments, nil},
		{"PUT", "/v1/experiments/:id", ScopeAdmin, "Create or replace an experiment: status, salt, variants (name, weight, params)", s.putExperiment, nil},
		{"GET", "/v1/experiments/:id", ScopeRead, "Read an experiment", s.getExperiment, nil},
		{"DELETE", "/v1/experiments/:id", ScopeAdmin, "Delete an experiment with its exposures and outcomes", s.deleteExperiment, nil},
		{"GET", "/v1/experiments/:id/results", ScopeRead, "Per-variant exposures, outcomes, rates with 95% intervals, lift, p-value, sample-ratio check", s.experimentResults, nil},
		{"GET", "/v1/experiments/:id/report", ScopeRead, "The results as an HTML page with charts", s.experimentReport, nil},

		// Store-wide figures, rule checking and the key's own scope
		// (insights.go, rulecheck.go).
		{"GET", "/v1/insights/value", ScopeRead, "Customers and revenue per value tier, and the revenue share of the top 20% of customers", s.valueInsights, nil},
		{"POST", "/v1/rules/check", ScopeRead, "Check a segment or eligibility rule without storing it", s.checkRule, nil},
		{"GET", "/v1/stats/history", ScopeRead, "The overview's figures over the last hour, sampled every 10 s (events, rates, p99 latency, counts, model age)", s.statsHistory, nil},
		{"GET", "/v1/whoami", ScopeRead, "The scope of the key this request carries", s.whoami, nil},
		{"GET", "/v1/cluster/nodes", ScopeRead, "The cluster's nodes: applied sequence, lag, readiness (single-node mode: this node)", s.clusterNodes, nil},

		// Merchandising rules (rules.go), applied by name with rules= on any list.
		{"GET", "/v1/rules", ScopeRead, "List merchandising rules", s.listMerchRules, nil},
		{"PUT", "/v1/rules/:name", ScopeAdmin, "Create or replace a merchandising rule", s.putMerchRule, nil},
		{"GET", "/v1/rules/:name", ScopeRead, "Read a merchandising rule", s.getMerchRule, nil},
		{"DELETE", "/v1/rules/:name", ScopeAdmin, "Delete a merchandising rule", s.deleteMerchRule, nil},

		// Operations (admin.go).
		{"POST", "/v1/admin/snapshot", ScopeAdmin, "Snapshot the derived state now", s.snapshot, nil},
		{"GET", "/v1/admin/backup", ScopeAdmin, "Stream an online backup of the whole store (Badger backup format; restore with `affinity restore`)", s.backup, nil},

		// Campaign exports (export.go).
		{"POST", "/v1/exports", ScopeAdmin, "Stream one NDJSON line per customer of a segment or list: their recommendations, next best offers or value (campaigns)", s.postExport, nil},
	}
	rs = append(rs, s.offerRoutes()...)
	return append(rs, s.pprofRoutes()...)
}

// offerRoutes are the offers and next-best-offer (offers.go): only on a
// server with an offer service (without one they are 404s, like any
// unknown path).
func (s *Server) offerRoutes() []route {
	if s.deps.Offers == nil {
		return nil
	}
	return []route{
		{"GET", "/v1/offers", ScopeRead, "List offers with their performance", s.listOffers, nil},
		{"PUT", "/v1/offers/:id", ScopeAdmin, "Define or replace an offer (an update keeps what it learned and its budget use)", s.putOffer, nil},
		{"GET", "/v1/offers/:id", ScopeRead, "An offer with its performance: shown, accepted, declined, acceptance rate (95% interval), budget left", s.getOffer, nil},
		{"DELETE", "/v1/offers/:id", ScopeAdmin, "Delete an offer", s.deleteOffer, nil},
		{"GET", "/v1/offers/:id/performance", ScopeRead, "An offer's performance per hour or day: shown, accepted, declined, ignored, acceptance rate (95% interval), budget used", s.offerPerformance, []string{"bucket", "since", "until"}},
		{"POST", "/v1/offers/:id/responses", ScopeWrite, "Record a customer's answer to a shown offer: {customer_id, response: accepted|declined|ignored, recommendation_id}", s.postOfferResponse, nil},
		{"GET", "/v1/customers/:id/next-best-offer", ScopeRead, "The next best offers for a customer: eligible, active, in budget, not capped, ranked by propensity x value x priority (Thompson sampling)", s.nextBestOffer, []string{"limit", "channel", "preview", "experiment", "variant"}},
	}
}

// pprofRoutes are the profiles, when the command enables them (-pprof).
func (s *Server) pprofRoutes() []route {
	if !s.opts.EnablePprof {
		return nil
	}
	return []route{
		{"GET", "/debug/pprof/", ScopeAdmin, "pprof index", adaptor.HTTPHandlerFunc(pprof.Index), nil},
		{"GET", "/debug/pprof/profile", ScopeAdmin, "CPU profile", adaptor.HTTPHandlerFunc(pprof.Profile), []string{"seconds"}},
		{"GET", "/debug/pprof/heap", ScopeAdmin, "heap profile", adaptor.HTTPHandler(pprof.Handler("heap")), nil},
		{"GET", "/debug/pprof/allocs", ScopeAdmin, "allocation profile", adaptor.HTTPHandler(pprof.Handler("allocs")), nil},
		{"GET", "/debug/pprof/goroutine", ScopeAdmin, "goroutines", adaptor.HTTPHandler(pprof.Handler("goroutine")), nil},
		// An execution trace shows where a slow request waited (go tool
		// trace -pprof=sched|sync|syscall), which a CPU profile cannot.
		{"GET", "/debug/pprof/trace", ScopeAdmin, "execution trace", adaptor.HTTPHandlerFunc(pprof.Trace), []string{"seconds"}},
	}
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
	return c.JSON(healthReply{Status: "ok"})
}

func (s *Server) readyz(c *fiber.Ctx) error {
	if !s.ready.Load() {
		return &HTTPError{Status: fiber.StatusServiceUnavailable, Detail: "shutting down"}
	}
	if err := s.deps.Store.Ready(); err != nil {
		s.log.Warn("not ready", "err", err)
		return &HTTPError{Status: fiber.StatusServiceUnavailable, Detail: "store not ready: " + err.Error()}
	}
	if err := s.clusterReady(); err != nil {
		return err
	}
	st := s.deps.Store.Stats()
	return c.JSON(readyReply{Status: "ready", Events: st.Events, Customers: st.Customers, Products: st.Products,
		ModelBuilt: st.ModelBuilt.UTC().Format(time.RFC3339)})
}
