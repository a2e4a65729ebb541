package experiment

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend/experiment/abtest"
)

// The golden assignments are abtest's (checked there against an independent
// implementation of the hash); here they pin that the service hashes
// (salt = id by default, unit = customer id) and nothing else.
func TestEnrolGolden(t *testing.T) {
	x := expTestService(t, expTestStore(t, ""), nil)
	mustPut(t, x, Experiment{ID: "homepage-2026", Status: StatusRunning,
		Variants: []VariantConfig{{Name: "control", Weight: 50}, {Name: "treatment", Weight: 50}}})
	mustPut(t, x, Experiment{ID: "other-id", Salt: "cart-colour", Status: StatusRunning,
		Variants: []VariantConfig{{Name: "control", Weight: 1}, {Name: "blue", Weight: 1}, {Name: "green", Weight: 1}}})
	for _, tc := range []struct{ exp, unit, want string }{
		{"homepage-2026", "customer-1", "control"},
		{"homepage-2026", "customer-2", "control"},
		{"homepage-2026", "customer-3", "treatment"},
		{"homepage-2026", "customer-4", "treatment"},
		{"homepage-2026", "17850", "control"},
		{"other-id", "customer-1", "control"},
		{"other-id", "customer-2", "green"},
		{"other-id", "customer-3", "blue"},
		{"other-id", "ünïcode-ïd", "blue"},
	} {
		got, _, err := x.Enrol(context.Background(), tc.exp, "", tc.unit)
		if err != nil || got != tc.want {
			t.Errorf("Enrol(%s, %s) = %q, %v; want %q", tc.exp, tc.unit, got, err, tc.want)
		}
	}
}

func assignments(t testing.TB, x *Service, n int) []string {
	out := make([]string, n)
	for i := range out {
		v, _, err := x.Enrol(context.Background(), "stable", "", fmt.Sprintf("cust-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		out[i] = v
	}
	return out
}

func TestAssignmentStableAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	st := expTestStore(t, dir)
	x := expTestService(t, st, nil)
	mustPut(t, x, ab("stable", StatusRunning, 3, 2, 1))
	before := assignments(t, x, 2000)
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	x2 := expTestService(t, expTestStore(t, dir), nil)
	after := assignments(t, x2, 2000)
	for i := range before {
		if before[i] != after[i] {
			t.Fatalf("cust-%d: %s before restart, %s after", i, before[i], after[i])
		}
	}
}

// TestAssignmentStableAcrossProcesses runs this test binary again as a
// helper process (fresh memory, fresh map seeds) and compares.
func TestAssignmentStableAcrossProcesses(t *testing.T) {
	if os.Getenv("AFFINITY_EXP_HELPER") == "1" {
		x := expTestService(t, expTestStore(t, ""), nil)
		mustPut(t, x, ab("stable", StatusRunning, 3, 2, 1))
		fmt.Println("ASSIGN " + strings.Join(assignments(t, x, 500), ","))
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAssignmentStableAcrossProcesses$", "-test.count=1")
	cmd.Env = append(os.Environ(), "AFFINITY_EXP_HELPER=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper process: %v\n%s", err, out)
	}
	var theirs string
	for _, line := range strings.Split(string(out), "\n") {
		if s, ok := strings.CutPrefix(line, "ASSIGN "); ok {
			theirs = s
		}
	}
	x := expTestService(t, expTestStore(t, ""), nil)
	mustPut(t, x, ab("stable", StatusRunning, 3, 2, 1))
	if ours := strings.Join(assignments(t, x, 500), ","); ours != theirs {
		t.Fatalf("another process assigns differently:\nours   %.200s\ntheirs %.200s", ours, theirs)
	}
}

func TestSplitOf10000MatchesWeights(t *testing.T) {
	x := expTestService(t, expTestStore(t, ""), nil)
	weights := []float64{70, 20, 10}
	mustPut(t, x, ab("split", StatusRunning, weights...))
	idx := map[string]int{"control": 0, "treatment": 1, "third": 2}
	counts := make([]int64, 3)
	for i := range 10000 {
		v, _, err := x.Enrol(context.Background(), "split", "", fmt.Sprintf("u%d", i))
		if err != nil {
			t.Fatal(err)
		}
		counts[idx[v]]++
	}
	p := abtest.SRMPValue(counts, weights)
	t.Logf("10,000 ids split %v for weights %v: chi-squared p = %.3f", counts, weights, p)
	if abtest.SRMFlag(p) {
		t.Fatalf("split %v does not match weights %v (p = %g)", counts, weights, p)
	}
	for i, c := range counts {
		if share := float64(c) / 10000; math.Abs(share-weights[i]/100) > 0.02 {
			t.Errorf("variant %d share %.3f, want %.2f ± 0.02", i, share, weights[i]/100)
		}
	}
}

func TestEnrolRules(t *testing.T) {
	x := expTestService(t, expTestStore(t, ""), nil)
	mustPut(t, x, Experiment{ID: "e", Status: StatusRunning, Variants: []VariantConfig{
		{Name: "control", Weight: 1}, {Name: "treatment", Weight: 1, Params: map[string]any{"algorithm": "popular", "limit": 3}}}})
	ctx := context.Background()
	// Find a unit the hash sends to control, then force it elsewhere.
	unit := ""
	for i := 0; unit == ""; i++ {
		if v, _, _ := x.Enrol(ctx, "e", "", fmt.Sprint("u", i)); v == "control" {
			unit = fmt.Sprint("u", i)
		}
	}
	v, params, err := x.Enrol(ctx, "e", "treatment", unit)
	if err != nil || v != "treatment" || params["algorithm"] != "popular" {
		t.Fatalf("forced variant must win: %q %v %v", v, params, err)
	}
	_, _, err = x.Enrol(ctx, "e", "nope", unit)
	var fe *features.FieldError
	if !errors.As(err, &fe) || fe.Field != "variant" {
		t.Fatalf("unknown forced variant: want a field error on variant, got %v", err)
	}
	if _, _, err := x.Enrol(ctx, "missing", "", unit); !errors.Is(err, features.ErrNotFound) {
		t.Fatalf("unknown experiment: want ErrNotFound, got %v", err)
	}
	// Anonymous: control, whatever the hash would say.
	for i := range 50 {
		if v, _, _ := x.Enrol(ctx, "e", "", ""); v != "control" {
			t.Fatalf("anonymous request %d got %q, want control", i, v)
		}
	}
	// Draft and stopped: control unless forced (QA preview); nothing logged.
	for _, status := range []string{StatusDraft, StatusStopped} {
		mustPut(t, x, Experiment{ID: "e", Status: status, Variants: []VariantConfig{{Name: "control", Weight: 1}, {Name: "treatment", Weight: 1}}})
		for i := range 200 {
			u := fmt.Sprint("d", i)
			v, _, _ := x.Enrol(ctx, "e", "", u)
			if v != "control" {
				t.Fatalf("%s experiment served %q", status, v)
			}
			x.Expose("e", v, "rec-"+status+u, u, false, []string{"p1"})
		}
		if v, _, _ := x.Enrol(ctx, "e", "treatment", "qa"); v != "treatment" {
			t.Fatalf("%s experiment: forced variant must still win for QA, got %q", status, v)
		}
	}
	if r := mustResults(t, x, "e"); r.Variants[0].Exposures+r.Variants[1].Exposures != 0 {
		t.Fatalf("draft/stopped exposures were logged: %+v", r.Variants)
	}
}
