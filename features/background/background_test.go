package background

import (
	"runtime"
	"testing"
)

// TestExtraProcsStack: raises from two callers add up, each lowering takes
// back only its own (twice is once), and the last one restores the
// starting GOMAXPROCS.
func TestExtraProcsStack(t *testing.T) {
	base := runtime.GOMAXPROCS(0)
	a := ExtraProcs(2)
	b := ExtraProcs(1)
	if got := runtime.GOMAXPROCS(0); got != base+3 {
		t.Fatalf("two raises: GOMAXPROCS %d, want %d", got, base+3)
	}
	if got := BaseProcs(); got != base {
		t.Fatalf("BaseProcs %d with extras out, want %d", got, base)
	}
	a()
	a()
	if got := runtime.GOMAXPROCS(0); got != base+1 {
		t.Fatalf("after the first lowering (called twice): GOMAXPROCS %d, want %d", got, base+1)
	}
	b()
	if got := runtime.GOMAXPROCS(0); got != base {
		t.Fatalf("after both: GOMAXPROCS %d, want %d", got, base)
	}
	ExtraProcs(0)()
	if got := runtime.GOMAXPROCS(0); got != base {
		t.Fatalf("a raise of 0 changed GOMAXPROCS to %d", got)
	}
}

// TestDoRunsAtNice: Do runs its function at Nice with a P more, waits for
// it, and gives the P back.
func TestDoRunsAtNice(t *testing.T) {
	if Nice == 0 {
		t.Skip("threads are not niced here")
	}
	runtime.LockOSThread()
	base, err := ThreadNice()
	runtime.UnlockOSThread()
	if err != nil {
		t.Fatal(err)
	}
	if base == Nice {
		t.Skipf("the test already runs at nice %d", base)
	}
	procs := runtime.GOMAXPROCS(0)
	ran := false
	Do(func() {
		ran = true
		n, err := ThreadNice()
		if err != nil {
			t.Error(err)
		} else if n != Nice {
			t.Errorf("Do ran at nice %d, want %d", n, Nice)
		}
		if got := runtime.GOMAXPROCS(0); got != procs+1 {
			t.Errorf("GOMAXPROCS %d inside Do, want %d", got, procs+1)
		}
	})
	if !ran {
		t.Fatal("Do returned before its function ran")
	}
	if got := runtime.GOMAXPROCS(0); got != procs {
		t.Fatalf("GOMAXPROCS %d after Do, want %d", got, procs)
	}
}
