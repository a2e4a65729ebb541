package offer

// offerIDs lists the offers of a choice in the order they were chosen.
func offerIDs(r Result) []string {
	out := []string{}
	for _, o := range r.Offers {
		out = append(out, o.OfferID)
	}
	return out
}

// containsAll reports whether every one of want is in list.
func containsAll(list []string, want ...string) bool {
	for _, w := range want {
		if !offerHasString(list, w) {
			return false
		}
	}
	return true
}
