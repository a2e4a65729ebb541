//go:build linux

package features

import (
	"reflect"
	"sync"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/affinity-rec/affinity/features/background"
)

// threadNice is the calling thread's nice value.
func threadNice(t *testing.T) int {
	t.Helper()
	n, err := background.ThreadNice()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestNicedPoolRunsAtBackgroundNice: a niced pool's workers run on threads
// at background.Nice, a plain pool's at the process's priority, and the
// niced threads do not go back to run other goroutines (each worker
// exits locked, which ends its thread).
func TestNicedPoolRunsAtBackgroundNice(t *testing.T) {
	base := threadNice(t)
	if base == background.Nice {
		t.Skipf("the test already runs at nice %d", base)
	}
	var mu sync.Mutex
	var niced, plain []int
	pool{n: 3, nice: true}.run(func() {
		n := threadNice(t)
		mu.Lock()
		niced = append(niced, n)
		mu.Unlock()
	})
	pool{n: 3}.run(func() {
		n := threadNice(t)
		mu.Lock()
		plain = append(plain, n)
		mu.Unlock()
	})
	for _, n := range niced {
		if n != background.Nice {
			t.Errorf("niced worker at nice %d, want %d (all: %v)", n, background.Nice, niced)
		}
	}
	for _, n := range plain {
		if n != base {
			t.Errorf("plain worker at nice %d, want %d (all: %v): a niced thread was reused", n, base, plain)
		}
	}
	if len(niced) != 3 || len(plain) != 3 {
		t.Fatalf("%d niced and %d plain workers ran, want 3 each", len(niced), len(plain))
	}
}

// TestNicedBuildSameLists: a background build at nice 19 computes the same
// lists as a forced one, full and partial.
func TestNicedBuildSameLists(t *testing.T) {
	const nprod = 300
	x := skewedIndex(3000, nprod, 13)
	o := DefaultNeighbourOptions()
	o.Similarity = SimRP3
	plain := buildModelIn(x, nil, nil, nprod, o, false, pool{n: 2})
	niced := buildModelIn(x, nil, nil, nprod, o, false, pool{n: 2, nice: true})
	for b := Basis(0); b < NumBases; b++ {
		if !reflect.DeepEqual(plain.Neighbours[b], niced.Neighbours[b]) {
			t.Fatalf("basis %d: niced lists differ from plain ones", b)
		}
	}
	d := roaring.BitmapOf(1, 2, 3, 50, 120, 299)
	p1 := buildModelIn(x, plain, d, nprod, o, false, pool{n: 1})
	p2 := buildModelIn(x, plain, d, nprod, o, false, pool{n: 1, nice: true})
	for b := Basis(0); b < NumBases; b++ {
		if !reflect.DeepEqual(p1.Neighbours[b], p2.Neighbours[b]) {
			t.Fatalf("basis %d: niced partial lists differ from plain ones", b)
		}
	}
}
