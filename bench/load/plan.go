package load

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
)

// Zipf parameters for choosing ids: s=1.1 puts roughly a fifth of the
// requests on the hottest of 100 products, which is the skew of real
// catalogue traffic and exercises the server's caches the way a sale does.
const (
	zipfS = 1.1
	zipfV = 1
)

// syntheticCustomers is how many made-up customer ids personal and nbo
// requests use when the server lists no customers: unknown customers get the
// server's cold-start answer (popular items), which is still a real code path.
const syntheticCustomers = 1000

// plan is everything the workers share about what to send: the blend and
// the ready-made URLs and JSON-encoded ids, built once so that choosing a
// request costs a few random numbers and no allocation. It is immutable after
// construction and so safe for concurrent use.
type plan struct {
	weights    [numKinds]int // out of 100
	all        blend         // every kind of the scenario
	related    []string      // one URL per product
	personal   []string      // one URL per customer
	nbo        []string      // one URL per customer
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
	// eventIDPool: see Options.EventIDPool.
	eventIDPool int
}

// newPlan prepares the requests of a scenario. The customers are
// shuffled (seeded) so the Zipf-hot ones are not simply the first the server
// lists, which is often sorted by id.
func newPlan(scenario string, base, query string, ids IDs, seed uint64) (*plan, error) {
	weights, ok := scenarioWeights(scenario)
	if !ok {
		return nil, fmt.Errorf("cannot plan scenario %q: want one of %s", scenario, strings.Join(Scenarios(), ", "))
	}
	p := &plan{weights: weights, seed: seed}
	p.all = newBlend(weights, anyKind)
	active := 0
	for _, w := range weights {
		if w > 0 {
			active++
		}
	}
	p.multiKinds = active > 1

	needProducts, needCustomers := needIDs(weights)
	if needProducts && len(ids.Products) == 0 {
		return nil, fmt.Errorf("cannot plan scenario %q: no product ids (the server holds no products: import data first, or pass an ids file)", scenario)
	}
	customers := ids.Customers
	if needCustomers && len(customers) == 0 {
		p.synthetic = true
		customers = make([]string, syntheticCustomers)
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
	if weights[kindRelated] > 0 {
		p.related = make([]string, len(products))
		for i, id := range products {
			p.related[i] = withQuery("/v1/products/"+url.PathEscape(id)+"/related", "limit=10")
		}
	}
	if weights[kindPersonal] > 0 {
		p.personal = make([]string, len(customers))
		for i, id := range customers {
			p.personal[i] = withQuery("/v1/customers/"+url.PathEscape(id)+"/recommendations", "limit=10")
		}
	}
	if weights[kindNBO] > 0 {
		p.nbo = make([]string, len(customers))
		for i, id := range customers {
			p.nbo[i] = withQuery("/v1/customers/"+url.PathEscape(id)+"/next-best-offer", "limit=1")
		}
	}
	p.popular = withQuery("/v1/popular", "limit=10")
	if weights[kindEvents] > 0 {
		p.events = base + "/v1/events"
		p.prodJSON = jsonStrings(products)
		p.custJSON = jsonStrings(customers)
	}
	return p, nil
}

func jsonStrings(ids []string) [][]byte {
	out := make([][]byte, len(ids))
	for i, id := range ids {
		b, _ := json.Marshal(id) // a string always marshals
		out[i] = b
	}
	return out
}

// picker chooses each request of one worker. It is not safe for
// concurrent use: every worker has its own, seeded from the run's seed and
// the worker number so that a run is reproducible.
type picker struct {
	plan  *plan
	blend *blend // the kinds it chooses from
	rng   *rand.Rand
	prod  *rand.Zipf
	cust  *rand.Zipf
	body  []byte
}

func (p *plan) newPicker(worker int) *picker {
	return p.newBlendPicker(&p.all, worker)
}

// newBlendPicker is newPicker choosing the kinds of b (a lane's) only.
func (p *plan) newBlendPicker(b *blend, worker int) *picker {
	rng := rand.New(rand.NewPCG(p.seed, uint64(worker)+1))
	pk := &picker{plan: p, blend: b, rng: rng}
	if p.products > 1 {
		pk.prod = rand.NewZipf(rng, zipfS, zipfV, uint64(p.products-1))
	}
	if p.customers > 1 {
		pk.cust = rand.NewZipf(rng, zipfS, zipfV, uint64(p.customers-1))
	}
	return pk
}

func (pk *picker) product() int {
	if pk.prod == nil {
		return 0
	}
	return int(pk.prod.Uint64())
}

func (pk *picker) customer() int {
	if pk.cust == nil {
		return 0
	}
	return int(pk.cust.Uint64())
}

// kind draws the kind of the next request from the picker's blend.
func (pk *picker) kind() requestKind {
	return pk.blend.draw(pk.rng)
}

// next returns the next request: its kind, URL and, for events, the body.
// The body is valid until the following call.
func (pk *picker) next() (requestKind, string, []byte) {
	k := pk.kind()
	switch k {
	case kindRelated:
		return k, pk.plan.related[pk.product()], nil
	case kindPersonal:
		return k, pk.plan.personal[pk.customer()], nil
	case kindNBO:
		return k, pk.plan.nbo[pk.customer()], nil
	case kindEvents:
		return k, pk.plan.events, pk.eventsBody()
	default:
		return k, pk.plan.popular, nil
	}
}

// eventsBody is one customer's short session: 1 to 5 events, mostly views,
// some carts and a few purchases, on Zipf-chosen products.
func (pk *picker) eventsBody() []byte {
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
