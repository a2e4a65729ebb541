package eventio

import "strconv"

// eventKey numbers the keys of an event object, for duplicate detection.
func eventKey(key []byte) (uint8, bool) {
	switch string(key) {
	case "event_id":
		return 0, true
	case "customer_id":
		return 1, true
	case "product_id":
		return 2, true
	case "type":
		return 3, true
	case "order_id":
		return 4, true
	case "recommendation_id":
		return 5, true
	case "value":
		return 6, true
	case "quantity":
		return 7, true
	case "timestamp":
		return 8, true
	}
	return 0, false
}

// The messages of key errors; features/jsonbody words them alike for the
// definition bodies.
const (
	msgUnknownField = "is not a known field"
	msgDuplicateKey = "is given twice (duplicate key)"
)

// keyName is key fit for an error: at most 64 bytes of it, quoted when it
// holds anything but letters, digits, '_', '-' and '.'.
func keyName(key []byte) string {
	const max = 64
	cut := len(key) > max
	if cut {
		key = key[:max]
	}
	plain := len(key) > 0
	for _, c := range key {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			plain = false
			break
		}
	}
	name := string(key)
	if !plain {
		name = strconv.Quote(name)
	}
	if cut {
		name += "…"
	}
	return name
}
