package eventio

import (
	"time"

	"github.com/affinity-rec/affinity/features"
)

// Numbers and timestamps of the event decoder: the fast paths that keep
// ingest free of allocations for the common forms.

// parseTimeString is features.ParseTimestamp for a JSON string. It goes
// straight to RFC 3339 when the text starts with a year and a dash, which
// cannot be a number: ParseTimestamp tries a number first, and the error it
// then discards costs two allocations per event.
func parseTimeString(s string) (time.Time, error) {
	if len(s) >= 20 && s[4] == '-' && isDigits(s[:4]) {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil && features.CheckTimestamp(t) == nil {
			return t.UTC(), nil
		}
	}
	return features.ParseTimestamp(s)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// pow10 holds the powers of ten a float64 represents exactly.
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// smallDecimal reads a literal "-?digits(.digits)?" of at most 15 digits
// without converting it to a string. The mantissa and the power of ten are
// both exact in a float64, so one division rounds correctly and the result
// equals strconv.ParseFloat's (the fast path of Clinger's algorithm).
func smallDecimal(lit []byte) (float64, bool) {
	neg := len(lit) > 0 && lit[0] == '-'
	if neg {
		lit = lit[1:]
	}
	var m uint64
	digits, frac := 0, -1
	for _, c := range lit {
		switch {
		case c == '.' && frac < 0:
			frac = 0
		case c >= '0' && c <= '9':
			m = m*10 + uint64(c-'0')
			digits++
			if frac >= 0 {
				frac++
			}
		default:
			return 0, false
		}
	}
	if digits == 0 || digits > 15 {
		return 0, false
	}
	f := float64(m)
	if frac > 0 {
		f /= pow10[frac]
	}
	if neg {
		f = -f
	}
	return f, true
}

// smallInt reads an integer literal of at most 15 digits, which a float64
// holds exactly, without the allocation of converting it to a string.
func smallInt(lit []byte) (int64, bool) {
	neg := false
	if len(lit) > 0 && lit[0] == '-' {
		neg = true
		lit = lit[1:]
	}
	if len(lit) == 0 || len(lit) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range lit {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}
