package eventio

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
	"unicode"

	"github.com/affinity-rec/affinity/features"
)

type retailColumn int

const (
	rInvoice retailColumn = iota
	rStock
	rDescription
	rQuantity
	rDate
	rPrice
	rCustomer
	rCountry
	numRetailColumns
)

// retailHeaderNames maps a header name, lowercased without spaces and
// underscores, to its column. The aliases are the names of the "Online
// Retail II" set (Invoice, Price, Customer ID), which shares the layout.
var retailHeaderNames = map[string]retailColumn{
	"invoiceno":   rInvoice,
	"invoice":     rInvoice,
	"stockcode":   rStock,
	"description": rDescription,
	"quantity":    rQuantity,
	"invoicedate": rDate,
	"unitprice":   rPrice,
	"price":       rPrice,
	"customerid":  rCustomer,
	"country":     rCountry,
}

// retailDateLayouts are the layouts the set has been published with: the
// CSV export of the UCI file, then the Excel-style one.
var retailDateLayouts = [...]string{
	"2006-01-02 15:04:05",
	"1/2/2006 15:04",
	"2006-01-02 15:04",
	"1/2/2006 15:04:05",
}

type retailDecoder struct {
	cr     *csv.Reader
	col    [numRetailColumns]int // -1 when absent
	fields int
	line   int

	// Rows of one invoice share a date: parse it once.
	lastDate string
	lastTime time.Time

	// The row behind the event last returned, for accepted.
	price   float64
	desc    string
	country string

	catalogue map[string]*retailProduct
	countries map[string]*retailCountry

	// returns turns cancellations into return events (retail_returns.go);
	// cancelled says the event last returned is one.
	returns, cancelled bool
}

type retailProduct struct {
	seen, descSeen time.Time
	price          float64
	desc           string
}

type retailCountry struct {
	seen    time.Time
	country string
}

func newRetailDecoder(r io.Reader) (*retailDecoder, error) {
	d := &retailDecoder{
		cr:        newCSVReader(r),
		catalogue: make(map[string]*retailProduct),
		countries: make(map[string]*retailCountry),
	}
	header, err := readHeader(d.cr)
	if err != nil {
		return nil, err
	}
	d.fields = len(header)
	key := func(name string) string {
		return strings.ToLower(strings.NewReplacer(" ", "", "_", "").Replace(strings.TrimSpace(name)))
	}
	if err := mapColumns(header, retailHeaderNames, key, d.col[:],
		[]retailColumn{rInvoice, rStock, rQuantity, rDate, rPrice, rCustomer},
		"InvoiceNo, StockCode, Quantity, InvoiceDate, UnitPrice and CustomerID"); err != nil {
		return nil, err
	}
	return d, nil
}

// next reads one invoice line. The checks run in a fixed order
// (cancellation, customer, quantity) so that the skip counts are stable.
func (d *retailDecoder) next() (features.Event, int, error) {
	rec, line, err := readRecord(d.cr, d.fields, &d.line)
	if err != nil {
		return features.Event{}, line, err
	}
	get := func(c retailColumn) string { return field(rec, d.col[:], c) }
	invoice := get(rInvoice)
	if isCancellation(invoice) {
		if d.returns {
			return d.cancellation(get, line)
		}
		return features.Event{}, line, skipped(line, ReasonCancelled)
	}
	customer := retailCustomerID(get(rCustomer))
	if customer == "" {
		return features.Event{}, line, skipped(line, ReasonNoCustomer)
	}
	qty, err := requiredNumber("quantity", get(rQuantity))
	if err != nil {
		return features.Event{}, line, lineError(line, ReasonBadField, err)
	}
	if qty <= 0 {
		return features.Event{}, line, skipped(line, ReasonNonPositiveQuantity)
	}
	price, err := requiredNumber("unit_price", get(rPrice))
	if err != nil {
		return features.Event{}, line, lineError(line, ReasonBadField, err)
	}
	ts, err := d.parseDate(get(rDate))
	if err != nil {
		return features.Event{}, line, lineError(line, ReasonBadField, err)
	}
	d.price, d.desc, d.country, d.cancelled = price, get(rDescription), get(rCountry), false
	return features.Event{
		CustomerID: customer,
		ProductID:  get(rStock),
		Type:       "purchase",
		Value:      roundMicro(qty * price),
		Quantity:   qty,
		Timestamp:  ts,
		OrderID:    invoice,
	}, line, nil
}

// retailCustomerID drops the ".0" the set's float column adds ("17850.0"
// is customer 17850); any other text is kept as it is.
func retailCustomerID(s string) string {
	if i := strings.IndexByte(s, '.'); i > 0 && strings.Trim(s[i+1:], "0") == "" {
		return s[:i]
	}
	return s
}

// roundMicro rounds a value to a millionth, so that 6 x 2.55 is 15.3 and not
// 15.299999999999999 in every report.
func roundMicro(v float64) float64 {
	if math.Abs(v) > 1e9 {
		return v
	}
	return math.Round(v*1e6) / 1e6
}

// parseDate reads an InvoiceDate as UTC. The set gives UK local time
// without a zone; reading it as UTC keeps imports deterministic on any
// machine, at the cost of an hour in summer.
func (d *retailDecoder) parseDate(s string) (time.Time, error) {
	if s == d.lastDate && s != "" {
		return d.lastTime, nil
	}
	if s == "" {
		return time.Time{}, &features.FieldError{Field: "timestamp", Msg: "is required"}
	}
	for _, layout := range retailDateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			// The zero time would otherwise pass as "no timestamp".
			if err := features.CheckTimestamp(t); err != nil {
				return time.Time{}, err
			}
			d.lastDate, d.lastTime = strings.Clone(s), t
			return t, nil
		}
	}
	return time.Time{}, &features.FieldError{Field: "timestamp",
		Msg: fmt.Sprintf("%q is neither YYYY-MM-DD HH:MM:SS nor M/D/YYYY H:MM", s)}
}

// accepted records the catalogue and customer country of an event the
// Reader accepted. The latest line wins (ties: the later in the file), so
// a price is the most recent one charged.
func (d *retailDecoder) accepted(ev *features.Event) {
	if d.cancelled {
		return // the catalogue keeps what was sold (retail_returns.go)
	}
	p := d.catalogue[ev.ProductID]
	if p == nil {
		p = &retailProduct{}
		d.catalogue[strings.Clone(ev.ProductID)] = p
	}
	if !ev.Timestamp.Before(p.seen) {
		p.seen, p.price = ev.Timestamp, d.price
	}
	if d.desc != "" && !ev.Timestamp.Before(p.descSeen) {
		p.descSeen = ev.Timestamp
		if d.desc != p.desc {
			p.desc = strings.Clone(d.desc)
		}
	}
	if d.country == "" {
		return
	}
	c := d.countries[ev.CustomerID]
	if c == nil {
		c = &retailCountry{}
		d.countries[strings.Clone(ev.CustomerID)] = c
	}
	if !ev.Timestamp.Before(c.seen) {
		c.seen = ev.Timestamp
		if d.country != c.country {
			c.country = strings.Clone(d.country)
		}
	}
}

func (d *retailDecoder) products() map[string]features.Product {
	out := make(map[string]features.Product, len(d.catalogue))
	for id, p := range d.catalogue {
		prod := features.Product{
			Category:   categoryOf(p.desc),
			Price:      p.price,
			Available:  true,
			Attributes: map[string]any{},
		}
		if p.desc != "" {
			prod.Attributes["description"] = p.desc
		}
		if RetailNonMerchandise(id) {
			prod.Recommendable = new(false)
		}
		out[id] = prod
	}
	return out
}

func (d *retailDecoder) customerAttributes() map[string]map[string]any {
	out := make(map[string]map[string]any, len(d.countries))
	for id, c := range d.countries {
		out[id] = map[string]any{"country": c.country}
	}
	return out
}

// categoryOf derives a category from an Online Retail description, the only
// thing the set says about a product. Descriptions name the kind of thing
// last, after its colour, pattern and size ("WHITE HANGING HEART T-LIGHT
// HOLDER", "HAND WARMER RED POLKA DOT"), so the category is the last word
// that is not such a qualifier, a connective or a number, lowercased and
// made singular: "holder", "warmer", "box" for "NESTING BOXES". It returns
// "" when no word qualifies.
func categoryOf(desc string) string {
	words := strings.FieldsFunc(strings.ToLower(desc), func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '\'')
	})
	for i := len(words) - 1; i >= 0; i-- {
		w := strings.Trim(words[i], "-'")
		if len(w) <= 2 || categoryStopWords[w] || strings.IndexFunc(w, unicode.IsDigit) >= 0 {
			continue
		}
		return singular(strings.TrimSuffix(w, "'s"))
	}
	return ""
}

// categoryStopWords are qualifiers that end many descriptions but name no
// kind of product: colours, patterns, sizes, connectives, pack words.
var categoryStopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`
		red pink blue green white black ivory cream silver gold purple orange
		yellow brown grey gray natural pastel lilac turquoise multicolour
		colour colours color colors assorted asstd asst clear
		design designs retrospot polkadot polka dot dots spot spots spotty
		stripe stripes striped paisley floral retro vintage antique
		christmas xmas
		small large medium mini jumbo big giant tiny tall size
		set sets and with the for pack pcs piece pieces`) {
		m[w] = true
	}
	return m
}()

// singular undoes the common English plurals of the catalogue: "boxes",
// "doilies", "candles", "t-lights". It leaves words ending in "ss", "us",
// "is" and "as" alone.
func singular(w string) string {
	switch {
	case len(w) > 4 && strings.HasSuffix(w, "ies"):
		return w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "ches"), strings.HasSuffix(w, "shes"),
		strings.HasSuffix(w, "sses"), strings.HasSuffix(w, "xes"):
		return w[:len(w)-2]
	case strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") &&
		!strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is") &&
		!strings.HasSuffix(w, "as"):
		return w[:len(w)-1]
	}
	return w
}

// requiredNumber parses a field that must be present.
func requiredNumber(field, text string) (float64, error) {
	if text == "" {
		return 0, &features.FieldError{Field: field, Msg: "is required"}
	}
	return parseNumber(field, text)
}
