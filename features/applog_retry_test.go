package features

import (
	"fmt"
	"slices"
	"testing"
)

// TestAppendChunks: a customer's entries split greedily at MaxAppendBytes,
// and a retry whose batch grew splits where the failed attempt did, so
// its first messages (and their ids) are the failed attempt's.
func TestAppendChunks(t *testing.T) {
	big := MaxAppendBytes / 2
	for _, tc := range []struct {
		sizes, cuts, want []int
	}{
		{[]int{10, 10, 10}, nil, []int{3}},
		{[]int{big, big, big}, nil, []int{2, 3}},
		{[]int{10, 10, 10, 10}, []int{2}, []int{2, 4}},
		{[]int{big, big, 10, big}, []int{2, 3}, []int{2, 3, 4}},
		{[]int{10}, []int{5}, []int{1}}, // the batch shrank: the cut is past it
	} {
		if got := appendChunks(tc.sizes, tc.cuts); !slices.Equal(got, tc.want) {
			t.Errorf("appendChunks(%v, %v) = %v, want %v", tc.sizes, tc.cuts, got, tc.want)
		}
	}
	fields := func(s ...string) [][]byte {
		out := make([][]byte, len(s))
		for i, x := range s {
			out[i] = []byte(x)
		}
		return out
	}
	a := appendID("c1", fields("log", "e1", "e2"))
	if a != appendID("c1", fields("log", "e1", "e2")) || len(a) != 3+32 {
		t.Fatalf("appendID is not a stable 128-bit id: %s", a)
	}
	for i, other := range []string{
		appendID("c2", fields("log", "e1", "e2")),
		appendID("c1", fields("log", "e1e2")),
		appendID("c1", fields("log", "e1", "e2", "")),
		appendID("", fields("c1log", "e1", "e2")),
	} {
		if other == a {
			t.Errorf("case %d: a different message has the same id %s", i, fmt.Sprint(a))
		}
	}
}

// TestAppendForSingleNode: without a cluster log AppendFor is Append, the
// sequences consecutive; customers must match the entries one for one.
func TestAppendForSingleNode(t *testing.T) {
	s := openTestStore(t, t.TempDir(), nil)
	r := s.Records()
	if _, err := r.Append("k", [][]byte{[]byte("x")}); err != nil {
		t.Fatal(err)
	}
	seqs, err := r.AppendFor("k", []string{"a", "", "a"}, [][]byte{[]byte("1"), []byte("2"), []byte("3")})
	if err != nil || !slices.Equal(seqs, []uint64{2, 3, 4}) {
		t.Fatalf("AppendFor = %v, %v; want 2 3 4", seqs, err)
	}
	if _, err := r.AppendFor("k", []string{"a"}, nil); err == nil {
		t.Fatal("AppendFor took 1 customer for 0 entries")
	}
}
