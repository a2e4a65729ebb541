package synth

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"
)

// Synthetic data: a seeded generator of storefront events shaped like real
// traffic, for load and restart measurements at sizes no public retail data
// set reaches (DESIGN section 6: 100k products, 1M customers, 10M events).
//
// The shape, chosen so the association model has structure to find and the
// server meets the skews it meets in production:
//
//   - Events come in sessions of 1 to 9 events (mean 5) of one customer,
//     in time order, spread evenly over Span.
//   - Half the sessions belong to a customer drawn uniformly (so nearly
//     every customer appears), half to one drawn from a Zipf law (s=1.1,
//     v=50): a head of heavy customers with thousands of events.
//   - Products fall into categories of about 100 (product p is in category
//     p mod C). Each customer has a home category; 70% of a session's
//     products come from it (Zipf within the category), 30% from the whole
//     catalogue (Zipf, s=1.1): a few products are very popular everywhere,
//     and products of one category are bought together.
//   - Types: 70% view, 20% cart, 10% purchase. A session's purchases share
//     an order id; carts and purchases carry the product's price as value.
//
// The same options and seed always give the same bytes.

// Synthetic data presets for Preset.
const (
	Small  = "small"  // 1k customers, 500 products, 10k events: tests
	Medium = "medium" // 100k customers, 100k products, 1M events
	Full   = "full"   // 1M customers, 100k products, 10M events
)

// Formats are the output formats Write knows, each readable by
// `affinity import --format` of the same name.
var Formats = []string{"csv", "ndjson"}

// Options configure Write. A plain value, safe to copy.
type Options struct {
	Customers int
	Products  int
	Events    int
	// Seed makes the output reproducible.
	Seed uint64
	// Format is "csv" or "ndjson".
	Format string
	// Start is the time of the first session; Span how long the events
	// cover.
	Start time.Time
	Span  time.Duration
	// EventIDs gives each event an event_id ("s<seed>-<n>": sets of other
	// seeds can be imported into one store), as a storefront's stream
	// would; without, `affinity import` derives ids from content.
	EventIDs bool
}

// DefaultOptions returns the full-size set of DESIGN section 6 as CSV.
func DefaultOptions() Options {
	o, _ := Preset(Full)
	return o
}

// Preset returns the options of a named size: small, medium or full.
func Preset(name string) (Options, error) {
	o := Options{
		Seed:     42,
		Format:   "csv",
		Start:    time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		Span:     365 * 24 * time.Hour,
		EventIDs: true,
	}
	switch name {
	case Small:
		o.Customers, o.Products, o.Events = 1000, 500, 10000
	case Medium:
		o.Customers, o.Products, o.Events = 100000, 100000, 1000000
	case Full:
		o.Customers, o.Products, o.Events = 1000000, 100000, 10000000
	default:
		return o, fmt.Errorf("unknown synthetic size %q, want %s, %s or %s", name, Small, Medium, Full)
	}
	return o, nil
}

// Validate reports the first option that cannot work.
func (o Options) Validate() error {
	switch {
	case o.Customers < 1 || o.Customers > 1<<31:
		return fmt.Errorf("cannot generate: customers must be 1 to 2^31, got %d", o.Customers)
	case o.Products < 1 || o.Products > 1<<31:
		return fmt.Errorf("cannot generate: products must be 1 to 2^31, got %d", o.Products)
	case o.Events < 1:
		return fmt.Errorf("cannot generate: events must be positive, got %d", o.Events)
	case o.Format != "csv" && o.Format != "ndjson":
		return fmt.Errorf("cannot generate: format %q, want one of %v", o.Format, Formats)
	case o.Span <= 0:
		return fmt.Errorf("cannot generate: span must be positive, got %v", o.Span)
	}
	return nil
}

// Stats says what Write wrote.
type Stats struct {
	Events    int
	Sessions  int
	Purchases int
	// Customers and Products count the distinct ids that occur.
	Customers int
	Products  int
	Bytes     int64 // uncompressed
}

// generator draws the events. Not safe for concurrent use.
type generator struct {
	o        Options
	rng      *rand.Rand
	custZipf *rand.Zipf
	prodZipf *rand.Zipf
	catZipf  *rand.Zipf // rank within a category
	cats     int
	perCat   int
	custSeen []bool
	prodSeen []bool
}

// Shape constants of the generator (see the comment at the top).
const (
	zipfS       = 1.1
	custZipfV   = 50
	perCategory = 100
	homeShare   = 70 // percent of products from the home category
	maxSession  = 9
)

func newGenerator(o Options) *generator {
	rng := rand.New(rand.NewPCG(o.Seed, 0x5747e7))
	g := &generator{o: o, rng: rng}
	g.cats = max(1, o.Products/perCategory)
	g.perCat = (o.Products + g.cats - 1) / g.cats
	if o.Customers > 1 {
		g.custZipf = rand.NewZipf(rng, zipfS, custZipfV, uint64(o.Customers-1))
	}
	if o.Products > 1 {
		g.prodZipf = rand.NewZipf(rng, zipfS, 1, uint64(o.Products-1))
	}
	if g.perCat > 1 {
		g.catZipf = rand.NewZipf(rng, zipfS, 1, uint64(g.perCat-1))
	}
	g.custSeen = make([]bool, o.Customers)
	g.prodSeen = make([]bool, o.Products)
	return g
}

func (g *generator) customer() int {
	if g.custZipf == nil {
		return 0
	}
	if g.rng.IntN(2) == 0 {
		return g.rng.IntN(g.o.Customers)
	}
	return int(g.custZipf.Uint64())
}

// home is customer c's category: a fixed hash, so it costs no memory.
func (g *generator) home(c int) int {
	h := uint64(c)*0x9e3779b97f4a7c15 + g.o.Seed
	h ^= h >> 29
	return int(h % uint64(g.cats))
}

func (g *generator) product(home int) int {
	if g.prodZipf == nil {
		return 0
	}
	if g.rng.IntN(100) < homeShare && g.catZipf != nil {
		// Rank r of the category is product r*C + home, when it exists.
		for {
			p := int(g.catZipf.Uint64())*g.cats + home
			if p < g.o.Products {
				return p
			}
		}
	}
	return int(g.prodZipf.Uint64())
}

// price is product p's fixed price in cents, 1.00 to 200.00.
func price(p int, seed uint64) int {
	h := uint64(p)*0xbf58476d1ce4e5b9 + seed
	h ^= h >> 31
	return 100 + int(h%19901)
}

// Write writes o.Events synthetic events to w in o.Format. The CSV has
// the header customer_id,product_id,event_type,timestamp,value,quantity,
// order_id[,event_id] with unix-second timestamps.
func Write(w io.Writer, o Options) (Stats, error) {
	if err := o.Validate(); err != nil {
		return Stats{}, err
	}
	g := newGenerator(o)
	bw := bufio.NewWriterSize(w, 256<<10)
	var st Stats
	var line []byte
	if o.Format == "csv" {
		line = append(line, "customer_id,product_id,event_type,timestamp,value,quantity,order_id"...)
		if o.EventIDs {
			line = append(line, ",event_id"...)
		}
		line = append(line, '\n')
		n, err := bw.Write(line)
		st.Bytes += int64(n)
		if err != nil {
			return st, fmt.Errorf("cannot write synthetic events: %w", err)
		}
	}
	// Sessions start evenly over the span; mean session length is 5.
	sessions := max(1, (o.Events+4)/5)
	step := float64(o.Span/time.Second) / float64(sessions)
	start := o.Start.Unix()
	for s := 0; st.Events < o.Events; s++ {
		st.Sessions++
		c := g.customer()
		if !g.custSeen[c] {
			g.custSeen[c] = true
			st.Customers++
		}
		home := g.home(c)
		ts := start + int64(float64(s)*step)
		n := min(1+g.rng.IntN(maxSession), o.Events-st.Events)
		for range n {
			p := g.product(home)
			if !g.prodSeen[p] {
				g.prodSeen[p] = true
				st.Products++
			}
			typ, qty, value := "view", 0, 0
			switch r := g.rng.IntN(100); {
			case r >= 90:
				typ, qty = "purchase", 1+g.rng.IntN(3)
				value = qty * price(p, o.Seed)
				st.Purchases++
			case r >= 70:
				typ, qty = "cart", 1
				value = price(p, o.Seed)
			}
			line = g.appendEvent(line[:0], st.Events, c, p, typ, ts, value, qty, s)
			n, err := bw.Write(line)
			st.Bytes += int64(n)
			if err != nil {
				return st, fmt.Errorf("cannot write synthetic events: %w", err)
			}
			st.Events++
			ts += 1 + int64(g.rng.IntN(120))
		}
	}
	if err := bw.Flush(); err != nil {
		return st, fmt.Errorf("cannot write synthetic events: %w", err)
	}
	return st, nil
}

// appendEvent formats one event; value is in cents. Ids are plain ASCII, so
// no CSV quoting or JSON escaping is needed.
func (g *generator) appendEvent(b []byte, i, c, p int, typ string, ts int64, value, qty, session int) []byte {
	order := typ == "purchase"
	if g.o.Format == "ndjson" {
		b = append(b, `{"customer_id":"c`...)
		b = strconv.AppendInt(b, int64(c), 10)
		b = append(b, `","product_id":"p`...)
		b = strconv.AppendInt(b, int64(p), 10)
		b = append(b, `","type":"`...)
		b = append(b, typ...)
		b = append(b, `","timestamp":`...)
		b = strconv.AppendInt(b, ts, 10)
		if value > 0 {
			b = append(b, `,"value":`...)
			b = appendCents(b, value)
		}
		if qty > 0 {
			b = append(b, `,"quantity":`...)
			b = strconv.AppendInt(b, int64(qty), 10)
		}
		if order {
			b = append(b, `,"order_id":"o`...)
			b = strconv.AppendInt(b, int64(session), 10)
			b = append(b, '"')
		}
		if g.o.EventIDs {
			b = append(b, `,"event_id":"`...)
			b = g.appendEventID(b, i)
			b = append(b, '"')
		}
		return append(b, "}\n"...)
	}
	b = append(b, 'c')
	b = strconv.AppendInt(b, int64(c), 10)
	b = append(b, ",p"...)
	b = strconv.AppendInt(b, int64(p), 10)
	b = append(b, ',')
	b = append(b, typ...)
	b = append(b, ',')
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, ',')
	if value > 0 {
		b = appendCents(b, value)
	}
	b = append(b, ',')
	if qty > 0 {
		b = strconv.AppendInt(b, int64(qty), 10)
	}
	b = append(b, ',')
	if order {
		b = append(b, 'o')
		b = strconv.AppendInt(b, int64(session), 10)
	}
	if g.o.EventIDs {
		b = append(b, ',')
		b = g.appendEventID(b, i)
	}
	return append(b, '\n')
}

func (g *generator) appendEventID(b []byte, i int) []byte {
	b = append(b, 's')
	b = strconv.AppendUint(b, g.o.Seed, 10)
	b = append(b, "-"...)
	return strconv.AppendInt(b, int64(i), 10)
}

func appendCents(b []byte, cents int) []byte {
	b = strconv.AppendInt(b, int64(cents/100), 10)
	b = append(b, '.')
	if r := cents % 100; r < 10 {
		b = append(b, '0')
		b = strconv.AppendInt(b, int64(r), 10)
	} else {
		b = strconv.AppendInt(b, int64(r), 10)
	}
	return b
}

// FormatOf guesses the format from a file name: .ndjson, .jsonl (and
// their .gz) are NDJSON, anything else CSV.
func FormatOf(path string) string {
	p := strings.TrimSuffix(strings.ToLower(path), ".gz")
	if strings.HasSuffix(p, ".ndjson") || strings.HasSuffix(p, ".jsonl") {
		return "ndjson"
	}
	return "csv"
}

// WriteFile writes the events to path, gzip-compressed when the name
// ends in .gz (at the fastest level: the file is read once, by import).
// The file is written under a temporary name and renamed, so an
// interrupted run leaves no half file to import by mistake.
func WriteFile(path string, o Options) (Stats, error) {
	if err := o.Validate(); err != nil {
		return Stats{}, err
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return Stats{}, fmt.Errorf("cannot create %s: %w", path, err)
	}
	var w io.Writer = f
	var zw *gzip.Writer
	if strings.HasSuffix(path, ".gz") {
		zw, _ = gzip.NewWriterLevel(f, gzip.BestSpeed) // a valid level cannot fail
		w = zw
	}
	st, err := Write(w, o)
	if err == nil && zw != nil {
		err = zw.Close()
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return st, fmt.Errorf("cannot write %s: %w", path, err)
	}
	return st, nil
}
