package load

import (
	"testing"
)

func TestNinesLabels(t *testing.T) {
	for n, want := range []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%"} {
		if got := ninesLabel(n); got != want {
			t.Errorf("ninesLabel(%d) = %q, want %q", n, got, want)
		}
	}
	for _, c := range []struct{ in, want float64 }{{0.7, 1}, {1, 1}, {1.3, 2}, {2.2, 2.5}, {3, 5}, {7, 10}, {1234, 2000}} {
		if got := niceCeil(c.in); got != c.want {
			t.Errorf("niceCeil(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if got := fmtInt(-1234567); got != "-1,234,567" {
		t.Errorf("fmtInt = %q", got)
	}
}
