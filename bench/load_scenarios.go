package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/affinity-rec/affinity/client"
)

// Scenario names accepted by LoadOptions.Scenario.
const (
	ScenarioRelated  = "related"
	ScenarioPersonal = "personal"
	ScenarioPopular  = "popular"
	ScenarioNBO      = "nbo"
	ScenarioMixed    = "mixed"
)

// LoadScenarios returns the scenario names in the order the command line
// documents them.
func LoadScenarios() []string {
	return []string{ScenarioRelated, ScenarioPersonal, ScenarioPopular, ScenarioNBO, ScenarioMixed}
}

// loadKind is the kind of one request; the mixed scenario reports each kind
// separately because they cost the server very different amounts.
type loadKind uint8

const (
	loadKindRelated loadKind = iota
	loadKindPersonal
	loadKindPopular
	loadKindNBO
	loadKindEvents
	loadNumKinds
)

var loadKindNames = [loadNumKinds]string{"related", "personal", "popular", "nbo", "events"}

// loadMixedWeights is the mixed scenario's blend, in percent. It imitates a
// storefront: home and product pages ask for personal (35%) and related (30%)
// lists, landing and category pages for popular items (10%), a few pages show
// one offer (5%), and a fifth of the calls are the behaviour stream coming
// back (POST /v1/events with a short session of 1-5 view/cart/purchase
// events), so reads are measured while the server also ingests and refreshes.
var loadMixedWeights = [loadNumKinds]int{
	loadKindRelated:  30,
	loadKindPersonal: 35,
	loadKindPopular:  10,
	loadKindNBO:      5,
	loadKindEvents:   20,
}

// loadScenarioWeights returns the percentage of each request kind in a
// scenario.
func loadScenarioWeights(scenario string) ([loadNumKinds]int, bool) {
	var w [loadNumKinds]int
	switch scenario {
	case ScenarioRelated:
		w[loadKindRelated] = 100
	case ScenarioPersonal:
		w[loadKindPersonal] = 100
	case ScenarioPopular:
		w[loadKindPopular] = 100
	case ScenarioNBO:
		w[loadKindNBO] = 100
	case ScenarioMixed:
		w = loadMixedWeights
	default:
		return w, false
	}
	return w, true
}

// Zipf parameters for choosing ids: s=1.1 puts roughly a fifth of the
// requests on the hottest of 100 products, which is the skew of real
// catalogue traffic and exercises the server's caches the way a sale does.
const (
	loadZipfS = 1.1
	loadZipfV = 1
)

// loadSyntheticCustomers is how many made-up customer ids personal and nbo
// requests use when the server lists no customers: unknown customers get the
// server's cold-start answer (popular items), which is still a real code path.
const loadSyntheticCustomers = 1000

// LoadIDs are the product and customer ids a load run draws from. Products
// should come most popular first, since the Zipf draw makes the first ids the
// hot ones. It is not safe for concurrent mutation; RunLoad only reads it.
type LoadIDs struct {
	Products  []string
	Customers []string
}

// ParseLoadIDs reads an ids file: one `product:ID` or `customer:ID` a line.
// Blank lines and lines starting with '#' are skipped; duplicates are
// dropped, keeping the first.
func ParseLoadIDs(r io.Reader) (LoadIDs, error) {
	var ids LoadIDs
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kind, id, ok := strings.Cut(line, ":")
		if !ok {
			return LoadIDs{}, fmt.Errorf("cannot parse ids line %d %q: want product:ID or customer:ID", n, line)
		}
		kind, id = strings.TrimSpace(kind), strings.TrimSpace(id)
		if id == "" || len(id) > 256 {
			return LoadIDs{}, fmt.Errorf("cannot parse ids line %d: an id has 1 to 256 bytes, got %d", n, len(id))
		}
		key := kind + ":" + id
		if seen[key] {
			continue
		}
		seen[key] = true
		switch kind {
		case "product":
			ids.Products = append(ids.Products, id)
		case "customer":
			ids.Customers = append(ids.Customers, id)
		default:
			return LoadIDs{}, fmt.Errorf("cannot parse ids line %d: unknown kind %q, want product or customer", n, kind)
		}
	}
	if err := sc.Err(); err != nil {
		return LoadIDs{}, fmt.Errorf("cannot read ids: %w", err)
	}
	return ids, nil
}

// ReadLoadIDsFile reads an ids file in the format of ParseLoadIDs.
func ReadLoadIDsFile(path string) (LoadIDs, error) {
	f, err := os.Open(path)
	if err != nil {
		return LoadIDs{}, fmt.Errorf("cannot open ids file: %w", err)
	}
	defer f.Close()
	ids, err := ParseLoadIDs(f)
	if err != nil {
		return LoadIDs{}, fmt.Errorf("cannot load ids from %s: %w", path, err)
	}
	if len(ids.Products) == 0 && len(ids.Customers) == 0 {
		return LoadIDs{}, fmt.Errorf("cannot load ids from %s: the file names no product and no customer", path)
	}
	return ids, nil
}

// loadDiscoverIDs asks the server which ids it holds: the 100 most popular
// products and up to 1000 customers. Only what the scenario needs is
// fetched, and a server without the customer listing is not an error: the
// caller falls back to unknown customers.
func loadDiscoverIDs(ctx context.Context, t *loadTarget, needProducts, needCustomers bool) (LoadIDs, []string, error) {
	var ids LoadIDs
	var warnings []string
	if needProducts {
		l, err := t.api.Popular(ctx, &client.GetPopularParams{Limit: client.Ptr(100)})
		if err != nil {
			return LoadIDs{}, nil, fmt.Errorf("cannot list products to request: %w", err)
		}
		for _, it := range l.Items {
			if it.ProductId != "" {
				ids.Products = append(ids.Products, it.ProductId)
			}
		}
	}
	if needCustomers {
		custs, err := t.api.Customers(ctx, 1000)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("cannot list customers (%v): using unknown customer ids", err))
		} else {
			ids.Customers = custs
		}
	}
	return ids, warnings, nil
}

// loadPlan is everything the workers share about what to send: the blend and
// the ready-made URLs and JSON-encoded ids, built once so that choosing a
// request costs a few random numbers and no allocation. It is immutable after
// construction and so safe for concurrent use.
type loadPlan struct {
	cum        [loadNumKinds]int // cumulative weights out of 100
	weights    [loadNumKinds]int
	related    []string // one URL per product
	personal   []string // one URL per customer
	nbo        []string // one URL per customer
	popular    string
	events     string
	prodJSON   [][]byte // JSON string of each product id, for event bodies
	custJSON   [][]byte // JSON string of each customer id
	seed       uint64
	products   int
	customers  int
	synthetic  bool // customers are made up: the server listed none
	warnings   []string
	multiKinds bool
	// eventIDPool: see LoadOptions.EventIDPool.
	eventIDPool int
}

// newLoadPlan prepares the requests of a scenario. The customers are
// shuffled (seeded) so the Zipf-hot ones are not simply the first the server
// lists, which is often sorted by id.
func newLoadPlan(scenario string, base, query string, ids LoadIDs, seed uint64) (*loadPlan, error) {
	weights, ok := loadScenarioWeights(scenario)
	if !ok {
		return nil, fmt.Errorf("cannot plan scenario %q: want one of %s", scenario, strings.Join(LoadScenarios(), ", "))
	}
	p := &loadPlan{weights: weights, seed: seed}
	sum, active := 0, 0
	for k, w := range weights {
		sum += w
		p.cum[k] = sum
		if w > 0 {
			active++
		}
	}
	p.multiKinds = active > 1

	needProducts := weights[loadKindRelated] > 0 || weights[loadKindEvents] > 0
	needCustomers := weights[loadKindPersonal] > 0 || weights[loadKindNBO] > 0 || weights[loadKindEvents] > 0
	if needProducts && len(ids.Products) == 0 {
		return nil, fmt.Errorf("cannot plan scenario %q: no product ids (the server holds no products: import data first, or pass an ids file)", scenario)
	}
	customers := ids.Customers
	if needCustomers && len(customers) == 0 {
		p.synthetic = true
		customers = make([]string, loadSyntheticCustomers)
		for i := range customers {
			customers[i] = "bench-unknown-" + strconv.Itoa(i)
		}
		p.warnings = append(p.warnings, fmt.Sprintf("no known customers: personal, nbo and event requests use %d unknown customer ids", len(customers)))
	} else {
		customers = append([]string(nil), customers...)
		rng := rand.New(rand.NewPCG(seed, 0x5eed))
		rng.Shuffle(len(customers), func(i, j int) { customers[i], customers[j] = customers[j], customers[i] })
	}
	if !needCustomers {
		customers = nil
	}
	products := ids.Products
	if !needProducts {
		products = nil
	}
	p.products, p.customers = len(products), len(customers)

	withQuery := func(path, q string) string {
		if query != "" {
			q += "&" + query
		}
		return base + path + "?" + q
	}
	if weights[loadKindRelated] > 0 {
		p.related = make([]string, len(products))
		for i, id := range products {
			p.related[i] = withQuery("/v1/products/"+url.PathEscape(id)+"/related", "limit=10")
		}
	}
	if weights[loadKindPersonal] > 0 {
		p.personal = make([]string, len(customers))
		for i, id := range customers {
			p.personal[i] = withQuery("/v1/customers/"+url.PathEscape(id)+"/recommendations", "limit=10")
		}
	}
	if weights[loadKindNBO] > 0 {
		p.nbo = make([]string, len(customers))
		for i, id := range customers {
			p.nbo[i] = withQuery("/v1/customers/"+url.PathEscape(id)+"/next-best-offer", "limit=1")
		}
	}
	p.popular = withQuery("/v1/popular", "limit=10")
	if weights[loadKindEvents] > 0 {
		p.events = base + "/v1/events"
		p.prodJSON = loadJSONStrings(products)
		p.custJSON = loadJSONStrings(customers)
	}
	return p, nil
}

func loadJSONStrings(ids []string) [][]byte {
	out := make([][]byte, len(ids))
	for i, id := range ids {
		b, _ := json.Marshal(id) // a string always marshals
		out[i] = b
	}
	return out
}

// loadPicker chooses each request of one worker. It is not safe for
// concurrent use: every worker has its own, seeded from the run's seed and
// the worker number so that a run is reproducible.
type loadPicker struct {
	plan *loadPlan
	rng  *rand.Rand
	prod *rand.Zipf
	cust *rand.Zipf
	body []byte
}

func (p *loadPlan) newPicker(worker int) *loadPicker {
	rng := rand.New(rand.NewPCG(p.seed, uint64(worker)+1))
	pk := &loadPicker{plan: p, rng: rng}
	if p.products > 1 {
		pk.prod = rand.NewZipf(rng, loadZipfS, loadZipfV, uint64(p.products-1))
	}
	if p.customers > 1 {
		pk.cust = rand.NewZipf(rng, loadZipfS, loadZipfV, uint64(p.customers-1))
	}
	return pk
}

func (pk *loadPicker) product() int {
	if pk.prod == nil {
		return 0
	}
	return int(pk.prod.Uint64())
}

func (pk *loadPicker) customer() int {
	if pk.cust == nil {
		return 0
	}
	return int(pk.cust.Uint64())
}

// kind draws the kind of the next request from the scenario's blend.
func (pk *loadPicker) kind() loadKind {
	r := pk.rng.IntN(100)
	for k, c := range pk.plan.cum {
		if r < c {
			return loadKind(k)
		}
	}
	return loadKindPopular // unreachable: the weights add up to 100
}

// next returns the next request: its kind, URL and, for events, the body.
// The body is valid until the following call.
func (pk *loadPicker) next() (loadKind, string, []byte) {
	k := pk.kind()
	switch k {
	case loadKindRelated:
		return k, pk.plan.related[pk.product()], nil
	case loadKindPersonal:
		return k, pk.plan.personal[pk.customer()], nil
	case loadKindNBO:
		return k, pk.plan.nbo[pk.customer()], nil
	case loadKindEvents:
		return k, pk.plan.events, pk.eventsBody()
	default:
		return k, pk.plan.popular, nil
	}
}

// eventsBody is one customer's short session: 1 to 5 events, mostly views,
// some carts and a few purchases, on Zipf-chosen products.
func (pk *loadPicker) eventsBody() []byte {
	b := append(pk.body[:0], '[')
	cust := pk.plan.custJSON[pk.customer()]
	n := 1 + pk.rng.IntN(5)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		typ := "view"
		switch r := pk.rng.IntN(100); {
		case r >= 90:
			typ = "purchase"
		case r >= 70:
			typ = "cart"
		}
		b = append(b, `{"customer_id":`...)
		b = append(b, cust...)
		b = append(b, `,"product_id":`...)
		b = append(b, pk.plan.prodJSON[pk.product()]...)
		b = append(b, `,"type":"`...)
		b = append(b, typ...)
		if pk.plan.eventIDPool > 0 {
			b = append(b, `","event_id":"bench-`...)
			b = strconv.AppendInt(b, int64(pk.rng.IntN(pk.plan.eventIDPool)), 10)
		}
		b = append(b, `"}`...)
	}
	b = append(b, ']')
	pk.body = b
	return b
}

// loadTarget is the server under test: one fasthttp HostClient (a pool of
// keep-alive connections to one address, no per-request allocation) for the
// measured requests, the Go client for the setup calls, and the base URL.
// The measured requests do not go through the Go client: its net/http
// transport and typed decoding allocate per request and would put the
// client's cost into the server's latency on a machine the load generator
// shares with the server. It is safe for concurrent use.
type loadTarget struct {
	hc      *fasthttp.HostClient
	api     *client.Client
	base    string // scheme://host[:port][/prefix], no trailing slash
	host    string
	apiKey  string
	timeout time.Duration
}

func newLoadTarget(o LoadOptions) (*loadTarget, error) {
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
		// One connection per worker plus one for id discovery: a worker
		// never waits for a connection, so the pool cannot add latency.
		MaxConns: o.Concurrency + 1,
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
	return &loadTarget{
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
func (t *loadTarget) newRequest(method string) *fasthttp.Request {
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
