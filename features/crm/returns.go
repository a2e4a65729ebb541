package crm

import (
	"math"

	"github.com/affinity-rec/affinity/features"
)

// Returns take revenue back (features/negative.go). A return's value is
// the refund as a negative number; a return without one (0) takes back the
// value of the purchase it returns: the latest purchase of the same
// product at or before it, in the same order when the return names one.
// The customer's monetary value, current value and the spend the value
// model fits drop by the amount, never below zero; frequency and recency
// keep the order (it was placed: a return does not unmake the visit). A
// return with nothing bought before it takes nothing back.

// returnMatch finds the purchase a return of product prod (order hash
// order, 0 for none; at unix time ts) returns, in h: its value and time;
// false when there is none.
func returnMatch(tt *features.TypeTable, h []features.Interaction, prod, order uint32, ts int64) (float64, int64, bool) {
	for i := len(h) - 1; i >= 0; i-- {
		in := &h[i]
		if in.Product != prod || int64(in.TS) > ts || !tt.IsPurchase(in.Type) {
			continue
		}
		if order != 0 && in.Order != order {
			continue
		}
		return in.Value, int64(in.TS), true
	}
	return 0, 0, false
}

// returnAmount is what a return takes back and the time of the purchase
// it reverses (the return's own time when no purchase matches).
func returnAmount(tt *features.TypeTable, h []features.Interaction, prod, order uint32, ts int64, value float64) (float64, int64) {
	pv, pts, ok := returnMatch(tt, h, prod, order, ts)
	if !ok {
		pts = ts
	}
	if value < 0 {
		return -value, pts
	}
	return pv, pts
}

// addReturn takes amount back from v; purchaseTS is when the returned
// purchase was made (its day may be the first, which the value model keeps
// apart).
func (v *valueRec) addReturn(ts, purchaseTS int64, amount float64) {
	if !v.bought() || !(amount > 0) {
		return
	}
	v.monetary = math.Max(0, v.monetary-amount)
	if len(v.days) > 0 && unixDay(purchaseTS) == v.days[0] {
		v.firstDayValue = math.Max(0, v.firstDayValue-amount)
	}
	if ts >= v.decayRef {
		v.decayed = v.decayed*math.Exp(-float64(ts-v.decayRef)/currentValueTau) - amount
		v.decayRef = ts
	} else {
		v.decayed -= amount * math.Exp(-float64(v.decayRef-ts)/currentValueTau)
	}
	v.decayed = math.Max(0, v.decayed)
}

// addProductReturn takes amount off p's purchase revenue; the caller holds
// mu. The purchase still counts as one (the mean line value drops).
func (c *Service) addProductReturn(p uint32, amount float64) {
	if int(p) < len(c.prodRev) && amount > 0 {
		c.prodRev[p] = math.Max(0, c.prodRev[p]-amount)
	}
}

// foldReturn applies the return h[i] of customer record r; h is the
// customer's history (what came before the return is searched).
func (c *Service) foldReturn(tt *features.TypeTable, r *valueRec, h []features.Interaction, in *features.Interaction) {
	amount, pts := returnAmount(tt, h, in.Product, in.Order, int64(in.TS), in.Value)
	r.addReturn(int64(in.TS), pts, amount)
	c.addProductReturn(in.Product, amount)
}
