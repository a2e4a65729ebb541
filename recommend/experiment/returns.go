package experiment

// Returns in experiment results. A return event (class returned, see
// features/negative.go) carrying a recommendation_id takes its refund off
// that exposure's revenue, so revenue and revenue per exposure (and its
// Welch test) are net of refunds. Its conversion stays counted: a
// conversion is a purchase made, which is what the recommendation led to;
// whether the customer kept it is what net revenue says.
//
// Only the recommendation_id on the return attributes it. A return without
// one is not traced back to an exposure through the purchase it returns:
// the store's history keeps no recommendation ids, and the storefront that
// sent the purchase's id can send it on the return too.
//
// What a return takes back, as customer value does (features/crm/returns.go):
// the refund (its value, a negative number), or without one (0) the value
// of the latest purchase of the same product by the same customer
// attributed to the same exposure. Either way never more than those
// purchases brought the exposure minus what earlier returns of them took:
// a return cannot take revenue the exposure never got, so an exposure's
// revenue never goes below zero. Conversions logged before returns counted
// (outcome log v1) name no product and cannot be taken back.
//
// The amount depends only on the exposure's earlier outcomes, in the order
// they were counted: the flusher, the restart's replay of the outcome log
// (which keeps that order) and the recount after an erasure compute the
// same figure. In a cluster every node derives its outcomes from the events
// it applies (the outcome log is local), so returns need nothing more.

// returnTaken is what return r takes back from an exposure whose outcomes
// before r are prior.
func returnTaken(prior []*outcomeRef, r *outcomeRef) float64 {
	var held, last float64
	for _, o := range prior {
		if o.click || !o.hasProduct || o.product != r.product || o.cust != r.cust {
			continue
		}
		if o.ret {
			held -= o.taken
			continue
		}
		held += o.value
		last = o.value
	}
	want := last
	if r.value < 0 {
		want = -r.value
	}
	return max(0, min(want, held))
}

// kind is r's outcome log kind.
func (r *outcomeRef) kind() outcomeKind {
	switch {
	case r.click:
		return outcomeClick
	case r.ret:
		return outcomeReturn
	}
	return outcomeConversion
}
