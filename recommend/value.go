package recommend

import (
	"context"
	"math"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/crm"
)

// ValueSource is what potential value needs beyond Source: customers who
// bought a pair of products (one bitmap intersection in the feature store)
// and the mean value of a purchase of a product. An Engine without one
// (Deps.Values nil) estimates from catalogue prices and popularity alone.
type ValueSource interface {
	CoBought(a, b uint32) (both, ofA int)
	PurchaseValue(p uint32) (float64, bool)
}

var _ ValueSource = (*crm.Service)(nil)

const (
	// potentialTopN is how many personal recommendations potential value
	// counts.
	potentialTopN = 10
	// potentialAnchors is how many of the customer's most recent distinct
	// purchases anchor the conversion estimate (each costs one bitmap
	// intersection per recommendation: 3 keeps a profile near 100 µs).
	potentialAnchors = 3
	// potentialPrior smooths P(p | a) = both/(ofA + prior), so that a
	// product bought by the only other buyer of a is not a sure sale.
	potentialPrior = 5
)

// PotentialValue estimates what cross-selling could add for a customer:
// the expected value of their top 10 personal recommendations,
// Σ value(p) × P(buy p). value(p) is the mean value of a purchase of p
// (price × quantity as bought), else its catalogue price; products with
// neither add nothing. P(buy p) is the highest smoothed "customers who
// bought a also bought p" rate over the customer's 3 most recent distinct
// purchases a (both / (buyers of a + 5)), or, for a customer who never
// bought, p's share of all buyers. See docs/customer-value.md.
func (e *Engine) PotentialValue(ctx context.Context, customerID string) (float64, error) {
	l, err := e.Personal(ctx, Request{CustomerID: customerID, Limit: potentialTopN})
	if err != nil {
		return 0, err
	}
	anchors := e.purchaseAnchors(customerID)
	vs := e.values
	m := e.src.Model()
	cat := e.src.Catalog()
	total := 0.0
	for _, it := range l.Items {
		p, ok := e.src.ProductID(it.ProductID)
		if !ok {
			continue
		}
		value, ok := 0.0, false
		if vs != nil {
			value, ok = vs.PurchaseValue(p)
		}
		if pr := cat.Product(p); !ok && pr != nil {
			// Bounded like an event value, so that the sum stays finite
			// for a catalogue stored before prices were.
			value = min(pr.Price, features.MaxEventValue)
		}
		if value <= 0 {
			continue
		}
		prob := 0.0
		if len(anchors) > 0 && vs != nil {
			for _, a := range anchors {
				both, ofA := vs.CoBought(a, p)
				prob = math.Max(prob, float64(both)/float64(ofA+potentialPrior))
			}
		} else if n := m.Customers[features.BasisBought]; n > 0 {
			prob = float64(m.SupportOf(features.BasisBought, p)) / float64(n)
		}
		total += value * prob
	}
	return math.Round(total*1e6) / 1e6, nil
}

// purchaseAnchors is the customer's potentialAnchors most recent distinct
// purchases, newest first; none for an unknown customer.
func (e *Engine) purchaseAnchors(customerID string) []uint32 {
	c, ok := e.src.CustomerID(customerID)
	if !ok {
		return nil
	}
	var anchors []uint32
	hist := e.src.HistoryView(c)
	for i := len(hist) - 1; i >= 0 && len(anchors) < potentialAnchors; i-- {
		in := hist[i]
		if in.Class != features.ClassBought {
			continue
		}
		dup := false
		for _, a := range anchors {
			dup = dup || a == in.Product
		}
		if !dup {
			anchors = append(anchors, in.Product)
		}
	}
	return anchors
}
