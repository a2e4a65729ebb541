package recommend

import (
	"testing"

	"github.com/affinity-rec/affinity/features/similarity"
)

func list(n int) []similarity.Neighbour {
	ns := make([]similarity.Neighbour, n)
	for i := range ns {
		ns[i] = similarity.Neighbour{Product: uint32(i), Score: float32(n - i)}
	}
	return ns
}

// TestTrimRows checks the budget's split: within budget (but for the
// one-neighbour floors), more of the list for a stronger affinity, whole
// short lists, and the budget a short list leaves to the others.
func TestTrimRows(t *testing.T) {
	rows := []scatterRow{{w: 16, ns: list(200)}, {w: 4, ns: list(200)}, {w: 1, ns: list(200)}, {w: 64, ns: list(10)}, {w: 0, ns: list(50)}, {w: -4, ns: list(200)}}
	kept := trimRows(rows, 300)
	sum := 0
	for _, r := range rows {
		sum += len(r.ns)
	}
	if kept != sum || kept > 300+len(rows) {
		t.Fatalf("kept %d, rows hold %d, budget 300", kept, sum)
	}
	if len(rows[3].ns) != 10 {
		t.Errorf("a short list of a strong product is cut to %d", len(rows[3].ns))
	}
	if !(len(rows[0].ns) > len(rows[1].ns) && len(rows[1].ns) > len(rows[2].ns)) {
		t.Errorf("prefixes %d, %d, %d do not follow the affinities 16, 4, 1", len(rows[0].ns), len(rows[1].ns), len(rows[2].ns))
	}
	if len(rows[1].ns) != len(rows[5].ns) {
		t.Errorf("affinity -4 got %d, 4 got %d: the share is by magnitude", len(rows[5].ns), len(rows[1].ns))
	}
	if len(rows[4].ns) != 1 {
		t.Errorf("a zero affinity keeps %d neighbours, want the floor of 1", len(rows[4].ns))
	}
	if kept < 290 {
		t.Errorf("kept %d of a 300 budget: the short list's share was not passed on", kept)
	}
	for i, r := range rows {
		if len(r.ns) > 0 && r.ns[0].Product != 0 {
			t.Errorf("row %d is not a prefix", i)
		}
	}
}
