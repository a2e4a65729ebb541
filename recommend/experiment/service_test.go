package experiment

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend"
	"github.com/affinity-rec/affinity/recommend/experiment/abtest"
	"github.com/affinity-rec/affinity/recommend/offer"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// expTestStore opens a real store in dir (a fresh temp dir when empty) and
// closes it at cleanup unless the test closed it.
func expTestStore(t testing.TB, dir string) *features.Store {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	o := features.DefaultOptions(dir)
	o.SyncWrites = false
	o.RefreshInterval = time.Hour
	o.Clock = func() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) }
	o.Logger = quietLog
	s, err := features.Open(o)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func expTestService(t testing.TB, st *features.Store, mod func(*Options)) *Service {
	t.Helper()
	return expTestServiceOver(t, st.Records(), st, mod)
}

// testParams are the variant params a server understands: ranking's and
// the offer service's nbo_policy, as cmd/affinity wires them.
func testParams() Params {
	checks := recommend.ParamChecks(100)
	checks["nbo_policy"] = offer.CheckPolicy
	return Params{Checks: checks, Variant: []func(map[string]any) (string, string){recommend.CheckVariantParams}}
}

// expTestServiceOver is a service keeping its records in recs (a wrapper
// of st's, to inject failures) and following st.
func expTestServiceOver(t testing.TB, recs Records, st *features.Store, mod func(*Options)) *Service {
	t.Helper()
	o := DefaultOptions()
	o.FlushInterval = 20 * time.Millisecond
	o.Logger = quietLog
	if mod != nil {
		mod(&o)
	}
	x, err := New(recs, st, testParams(), o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

// seedProducts creates products p0..p(n-1) so exposures can name them.
func seedProducts(t testing.TB, st *features.Store, n int) []string {
	t.Helper()
	ids := make([]string, n)
	evs := make([]features.Event, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("p%d", i)
		evs[i] = features.Event{CustomerID: "seed", ProductID: ids[i], Type: "view"}
	}
	if _, err := st.Ingest(context.Background(), evs, features.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	return ids
}

func mustPut(t testing.TB, x *Service, e Experiment) Experiment {
	t.Helper()
	out, err := x.Put(context.Background(), e)
	if err != nil {
		t.Fatalf("Put %s: %v", e.ID, err)
	}
	return out
}

func ab(id string, status string, weights ...float64) Experiment {
	e := Experiment{ID: id, Status: status}
	names := []string{"control", "treatment", "third", "fourth"}
	for i, w := range weights {
		e.Variants = append(e.Variants, VariantConfig{Name: names[i], Weight: w})
	}
	return e
}

func mustFlush(t testing.TB, x *Service) {
	t.Helper()
	if err := x.Flush(context.Background()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

func mustResults(t testing.TB, x *Service, id string) Results {
	t.Helper()
	r, err := x.Results(context.Background(), id)
	if err != nil {
		t.Fatalf("Results: %v", err)
	}
	return r
}

func variantOf(t testing.TB, r Results, name string) VariantResult {
	t.Helper()
	for _, v := range r.Variants {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no variant %q in %+v", name, r)
	return VariantResult{}
}

func TestExperimentValidation(t *testing.T) {
	x := expTestService(t, expTestStore(t, ""), nil)
	good := func() Experiment { return ab("e1", StatusRunning, 1, 1) }
	for _, tc := range []struct {
		name  string
		mod   func(*Experiment)
		field string
	}{
		{"bad status", func(e *Experiment) { e.Status = "live" }, "status"},
		{"no variants", func(e *Experiment) { e.Variants = nil }, "variants"},
		{"all zero", func(e *Experiment) { e.Variants[0].Weight, e.Variants[1].Weight = 0, 0 }, "variants"},
		{"negative weight", func(e *Experiment) { e.Variants[1].Weight = -1 }, "variants[1].weight"},
		{"NaN weight", func(e *Experiment) { e.Variants[1].Weight = math.NaN() }, "variants[1].weight"},
		{"empty name", func(e *Experiment) { e.Variants[1].Name = "" }, "variants[1].name"},
		{"duplicate name", func(e *Experiment) { e.Variants[1].Name = "control" }, "variants[1].name"},
		{"control char", func(e *Experiment) { e.Variants[0].Name = "a\x01" }, "variants[0].name"},
		{"unknown param", func(e *Experiment) { e.Variants[1].Params = map[string]any{"halflife_days": 3.0} }, "variants[1].params.halflife_days"},
		{"bad algorithm", func(e *Experiment) { e.Variants[1].Params = map[string]any{"algorithm": "magic"} }, "variants[1].params.algorithm"},
		{"limit too big", func(e *Experiment) { e.Variants[1].Params = map[string]any{"limit": 1000.0} }, "variants[1].params.limit"},
		{"limit fraction", func(e *Experiment) { e.Variants[1].Params = map[string]any{"limit": 2.5} }, "variants[1].params.limit"},
		{"half life zero", func(e *Experiment) { e.Variants[0].Params = map[string]any{"half_life_days": 0.0} }, "variants[0].params.half_life_days"},
		{"fixed without products", func(e *Experiment) { e.Variants[1].Params = map[string]any{"algorithm": "fixed"} }, "variants[1].params.products"},
		{"products twice", func(e *Experiment) {
			e.Variants[1].Params = map[string]any{"algorithm": "fixed", "products": []any{"a", "a"}}
		}, "variants[1].params.products"},
		{"bad salt", func(e *Experiment) { e.Salt = strings.Repeat("s", 300) }, "salt"},
		{"bad id", func(e *Experiment) { e.ID = "" }, "id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := good()
			tc.mod(&e)
			_, err := x.Put(context.Background(), e)
			var fe *features.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("want a field error on %s, got %v", tc.field, err)
			}
			if fe.Field != tc.field {
				t.Errorf("field = %q, want %q (%v)", fe.Field, tc.field, err)
			}
		})
	}
	// Defaults: salt is the id, status draft, params empty.
	e := mustPut(t, x, Experiment{ID: "defaults", Variants: []VariantConfig{{Name: "a", Weight: 1}, {Name: "control", Weight: 1}}})
	if e.Salt != "defaults" || e.Status != StatusDraft || e.Variants[0].Params == nil {
		t.Errorf("defaults not filled: %+v", e)
	}
	if got := mustResults(t, x, "defaults").Control; got != "control" {
		t.Errorf("a variant named control is the control, got %q", got)
	}
}

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

// simulation drives a running experiment the way a storefront does:
// enrol, expose a list, then post click and purchase events carrying the
// recommendation_id through the real store, whose hook attributes them.
type simArm struct {
	name            string
	weight          float64
	ctr, conv, mean float64
}

func TestSyntheticExperimentRecoversTrueRates(t *testing.T) {
	st := expTestStore(t, "")
	prods := seedProducts(t, st, 50)
	x := expTestService(t, st, nil)
	arms := []simArm{
		{"control", 1, 0.10, 0.040, 50},
		{"boost", 1, 0.13, 0.060, 50},
		{"same", 2, 0.10, 0.040, 50},
	}
	e := Experiment{ID: "synthetic", Status: StatusRunning}
	byName := map[string]simArm{}
	for _, a := range arms {
		e.Variants = append(e.Variants, VariantConfig{Name: a.name, Weight: a.weight})
		byName[a.name] = a
	}
	mustPut(t, x, e)
	rng := rand.New(rand.NewPCG(7, 11))
	const units = 12000
	var evs []features.Event
	ctx := context.Background()
	for i := range units {
		unit := fmt.Sprintf("c%d", i)
		v, _, err := x.Enrol(ctx, "synthetic", "", unit)
		if err != nil {
			t.Fatal(err)
		}
		a := byName[v]
		recID := "rec-" + unit
		items := []string{prods[i%50], prods[(i+1)%50], prods[(i+2)%50]}
		x.Expose("synthetic", v, recID, unit, false, items)
		if rng.Float64() < a.ctr {
			evs = append(evs, features.Event{CustomerID: unit, ProductID: items[0], Type: "click", RecommendationID: recID})
			// A second click on the same list does not count twice.
			evs = append(evs, features.Event{CustomerID: unit, ProductID: items[1], Type: "view", RecommendationID: recID})
		}
		if rng.Float64() < a.conv {
			evs = append(evs, features.Event{CustomerID: unit, ProductID: items[2], Type: "purchase",
				Value: 10 + 80*rng.Float64(), RecommendationID: recID})
		}
		// Noise that must not count: a cart, a click on a product that was
		// not on the list, an unknown recommendation id.
		if i%10 == 0 {
			evs = append(evs,
				features.Event{CustomerID: unit, ProductID: items[0], Type: "cart", RecommendationID: recID},
				features.Event{CustomerID: unit, ProductID: prods[(i+25)%50], Type: "click", RecommendationID: recID},
				features.Event{CustomerID: unit, ProductID: items[0], Type: "purchase", Value: 1000, RecommendationID: "rec-unknown"})
		}
	}
	// The events arrive after every Expose returned, as they would over HTTP.
	if _, err := st.Ingest(ctx, evs, features.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	r := mustResults(t, x, "synthetic")
	if r.SRMFlag {
		t.Errorf("honest split flagged as SRM: p = %g", r.SRMPValue)
	}
	within := func(what string, rate abtest.Rate, truth float64) {
		t.Helper()
		if truth < rate.Low || truth > rate.High {
			t.Errorf("%s: true %.4f outside the 95%% interval [%.4f, %.4f] (estimate %.4f)", what, truth, rate.Low, rate.High, rate.Value)
		}
	}
	var total int64
	for _, vr := range r.Variants {
		a := byName[vr.Name]
		total += vr.Exposures
		t.Logf("%-7s exp %5d cust %5d clicks %4d conv %3d ctr %.4f [%.4f,%.4f] conv %.4f [%.4f,%.4f] rev/exp %.2f [%.2f,%.2f] lift %+.3f [%+.3f,%+.3f] p %.4f",
			vr.Name, vr.Exposures, vr.Customers, vr.Clicks, vr.Conversions, vr.CTR.Value, vr.CTR.Low, vr.CTR.High,
			vr.ConversionRate.Value, vr.ConversionRate.Low, vr.ConversionRate.High,
			vr.RevenuePerExposure.Value, vr.RevenuePerExposure.Low, vr.RevenuePerExposure.High,
			vr.Lift.Value, vr.Lift.Low, vr.Lift.High, vr.PValue)
		if vr.Exposures != vr.Customers {
			t.Errorf("%s: one exposure per customer, got %d exposures for %d customers", vr.Name, vr.Exposures, vr.Customers)
		}
		within(vr.Name+" ctr", vr.CTR, a.ctr)
		within(vr.Name+" conversion rate", vr.ConversionRate, a.conv)
		within(vr.Name+" revenue per exposure", vr.RevenuePerExposure, a.conv*a.mean)
		if vr.Name != "control" {
			within(vr.Name+" lift", vr.Lift, a.conv/arms[0].conv-1)
		}
	}
	if total != units {
		t.Errorf("exposures = %d, want %d", total, units)
	}
	if b := variantOf(t, r, "boost"); b.PValue > 0.05 {
		t.Errorf("a 50%% conversion lift on ~3000 customers per arm should be detected, p = %g", b.PValue)
	}
	if s := variantOf(t, r, "same"); s.PValue < 0.01 {
		t.Errorf("an arm identical to control should rarely look different, p = %g", s.PValue)
	}
	if c := variantOf(t, r, "control"); c.Lift != (abtest.Rate{}) || c.PValue != 1 {
		t.Errorf("control row: lift %+v p %g, want zeros and 1", c.Lift, c.PValue)
	}
}

// exposeAll enrols and exposes units u0..u(n-1), one list each, and
// returns the variant of each.
func exposeAll(t testing.TB, x *Service, exp string, n int, prods []string, keep func(variant string, i int) bool) []string {
	t.Helper()
	out := make([]string, n)
	for i := range n {
		unit := fmt.Sprintf("u%d", i)
		v, _, err := x.Enrol(context.Background(), exp, "", unit)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = v
		if keep == nil || keep(v, i) {
			x.Expose(exp, v, fmt.Sprintf("%s-r%d", exp, i), unit, false, prods[:3])
		}
	}
	return out
}

func TestSRM(t *testing.T) {
	st := expTestStore(t, "")
	prods := seedProducts(t, st, 5)
	x := expTestService(t, st, nil)
	mustPut(t, x, ab("honest", StatusRunning, 1, 1))
	mustPut(t, x, ab("skewed", StatusRunning, 1, 1))
	mustPut(t, x, ab("forced", StatusRunning, 1, 1))
	exposeAll(t, x, "honest", 4000, prods, nil)
	// A logging bug that loses a fifth of the treatment's exposures.
	exposeAll(t, x, "skewed", 4000, prods, func(v string, i int) bool { return v != "treatment" || i%5 != 0 })
	// QA forces 600 units into the treatment: not drawn from the weights,
	// so they must not count against them.
	exposeAll(t, x, "forced", 4000, prods, nil)
	for i := range 600 {
		unit := fmt.Sprintf("qa%d", i)
		v, _, err := x.Enrol(context.Background(), "forced", "treatment", unit)
		if err != nil {
			t.Fatal(err)
		}
		x.Expose("forced", v, fmt.Sprintf("qa-r%d", i), unit, true, prods[:3])
	}
	for _, tc := range []struct {
		exp  string
		flag bool
	}{{"honest", false}, {"skewed", true}, {"forced", false}} {
		r := mustResults(t, x, tc.exp)
		t.Logf("%s: srm p = %.3g, units %d / %d, exposures %d / %d", tc.exp, r.SRMPValue,
			r.Variants[0].SRMUnits, r.Variants[1].SRMUnits, r.Variants[0].Exposures, r.Variants[1].Exposures)
		if r.SRMFlag != tc.flag || r.SRMFlag != (r.SRMPValue < 0.001) {
			t.Errorf("%s: srm_flag = %v (p = %g), want %v", tc.exp, r.SRMFlag, r.SRMPValue, tc.flag)
		}
	}
	// The forced units still count as customers of the treatment.
	if f := variantOf(t, mustResults(t, x, "forced"), "treatment"); f.Customers != f.SRMUnits+600 {
		t.Errorf("the treatment has %d customers, want its %d hashed plus the 600 forced", f.Customers, f.SRMUnits)
	}
}

// Ramping the treatment from 10% to 50% mid-experiment: the units hashed
// under the old weights are not compared with the new ones.
func TestSRMAfterWeightChange(t *testing.T) {
	st := expTestStore(t, "")
	prods := seedProducts(t, st, 5)
	x := expTestService(t, st, nil)
	mustPut(t, x, ab("ramp", StatusRunning, 90, 10))
	exposeAll(t, x, "ramp", 3000, prods, nil)
	mustPut(t, x, ab("ramp", StatusRunning, 50, 50))
	for i := range 3000 {
		unit := fmt.Sprintf("n%d", i)
		v, _, _ := x.Enrol(context.Background(), "ramp", "", unit)
		x.Expose("ramp", v, fmt.Sprintf("ramp-n%d", i), unit, false, prods[:3])
	}
	r := mustResults(t, x, "ramp")
	if r.SRMFlag {
		t.Fatalf("a weight change made the SRM check compare old units with new weights: p = %g", r.SRMPValue)
	}
	if n := r.Variants[0].SRMUnits + r.Variants[1].SRMUnits; n != 3000 {
		t.Errorf("SRM should count the 3000 units hashed under the current weights, got %d", n)
	}
}

func TestResultsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	st := expTestStore(t, dir)
	prods := seedProducts(t, st, 10)
	x := expTestService(t, st, nil)
	mustPut(t, x, ab("persist", StatusRunning, 1, 1))
	variants := exposeAll(t, x, "persist", 300, prods, nil)
	var evs []features.Event
	for i := 0; i < 300; i += 3 {
		rec := fmt.Sprintf("persist-r%d", i)
		evs = append(evs, features.Event{CustomerID: fmt.Sprintf("u%d", i), ProductID: prods[0], Type: "click", RecommendationID: rec})
		if i%2 == 0 {
			evs = append(evs, features.Event{CustomerID: fmt.Sprintf("u%d", i), ProductID: prods[1], Type: "purchase", Value: 20, RecommendationID: rec})
		}
	}
	if _, err := st.Ingest(context.Background(), evs, features.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	before := mustResults(t, x, "persist")
	// Close without an explicit flush: Close must log what is queued.
	x.Expose("persist", variants[0], "late-rec", "u0", false, prods[:3])
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	x2 := expTestService(t, expTestStore(t, dir), nil)
	after := mustResults(t, x2, "persist")
	var clicks, conv int64
	for i := range before.Variants {
		b, a := before.Variants[i], after.Variants[i]
		clicks += a.Clicks
		conv += a.Conversions
		want := b.Exposures
		if b.Name == variants[0] {
			want++ // the late exposure, queued when Close was called
		}
		if a.Name != b.Name || a.Exposures != want || a.Customers != b.Customers || a.Clicks != b.Clicks ||
			a.Conversions != b.Conversions || a.Revenue != b.Revenue || a.ConversionRate != b.ConversionRate || a.Lift != b.Lift {
			t.Errorf("after restart\n got %+v\nwant %+v (exposures %d)", a, b, want)
		}
	}
	if clicks != 100 || conv != 50 {
		t.Errorf("clicks %d conversions %d after restart, want 100 and 50", clicks, conv)
	}
}

func countLog(t testing.TB, st *features.Store, kind string) int {
	n := 0
	if err := st.Records().Scan(kind, 0, func(uint64, []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEraseCustomer(t *testing.T) {
	dir := t.TempDir()
	st := expTestStore(t, dir)
	prods := seedProducts(t, st, 5)
	x := expTestService(t, st, nil)
	mustPut(t, x, ab("gdpr", StatusRunning, 1, 1))
	ctx := context.Background()
	for _, u := range []string{"alice", "bob"} {
		v, _, _ := x.Enrol(ctx, "gdpr", "", u)
		for k := range 3 {
			x.Expose("gdpr", v, fmt.Sprintf("%s-%d", u, k), u, false, prods[:3])
		}
	}
	// Bob also buys from a list Alice was shown (a shared device).
	evs := []features.Event{
		{CustomerID: "alice", ProductID: prods[0], Type: "click", RecommendationID: "alice-0"},
		{CustomerID: "alice", ProductID: prods[1], Type: "purchase", Value: 30, RecommendationID: "alice-1"},
		{CustomerID: "bob", ProductID: prods[1], Type: "purchase", Value: 70, RecommendationID: "bob-0"},
		{CustomerID: "bob", ProductID: prods[2], Type: "purchase", Value: 5, RecommendationID: "alice-2"},
	}
	if _, err := st.Ingest(ctx, evs, features.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	mustFlush(t, x)
	if n := countLog(t, st, exposureLogKind); n != 6 {
		t.Fatalf("exposure log holds %d entries, want 6", n)
	}
	if err := st.EraseCustomer("bob"); err != nil {
		t.Fatal(err)
	}
	r := mustResults(t, x, "gdpr") // the flush inside orders it after the erasure
	var exps, custs, conv int64
	var rev float64
	for _, v := range r.Variants {
		exps += v.Exposures
		custs += v.Customers
		conv += v.Conversions
		rev += v.Revenue
	}
	if exps != 3 || custs != 1 || conv != 1 || rev != 30 {
		t.Fatalf("after erasing bob: exposures %d customers %d conversions %d revenue %g; want 3, 1, 1, 30", exps, custs, conv, rev)
	}
	if n := countLog(t, st, exposureLogKind); n != 3 {
		t.Errorf("exposure log holds %d entries after erasure, want 3", n)
	}
	if n := countLog(t, st, outcomeLogKind); n != 2 {
		t.Errorf("outcome log holds %d entries after erasure, want alice's 2", n)
	}
	x.Close()
	st.Close()
	x2 := expTestService(t, expTestStore(t, dir), nil)
	r2 := mustResults(t, x2, "gdpr")
	if fmt.Sprintf("%+v", r2) != fmt.Sprintf("%+v", r) {
		t.Errorf("erasure did not survive a restart:\n got %+v\nwant %+v", r2, r)
	}
}

func TestDeleteExperiment(t *testing.T) {
	st := expTestStore(t, "")
	prods := seedProducts(t, st, 5)
	x := expTestService(t, st, nil)
	mustPut(t, x, ab("gone", StatusRunning, 1, 1))
	mustPut(t, x, ab("kept", StatusRunning, 1, 1))
	exposeAll(t, x, "gone", 50, prods, nil)
	exposeAll(t, x, "kept", 20, prods, nil)
	mustFlush(t, x)
	if err := x.Delete(context.Background(), "gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Get("gone"); !errors.Is(err, features.ErrNotFound) {
		t.Fatalf("Get after Delete: %v", err)
	}
	if err := x.Delete(context.Background(), "gone"); !errors.Is(err, features.ErrNotFound) {
		t.Fatalf("second Delete: %v", err)
	}
	if n := countLog(t, st, exposureLogKind); n != 20 {
		t.Errorf("exposure log holds %d entries, want the other experiment's 20", n)
	}
	mustPut(t, x, ab("gone", StatusRunning, 1, 1))
	for _, v := range mustResults(t, x, "gone").Variants {
		if v.Exposures != 0 {
			t.Errorf("a recreated experiment inherited exposures: %+v", v)
		}
	}
	if got := len(x.List()); got != 2 {
		t.Errorf("List has %d experiments, want 2", got)
	}
}

// blockingStore stalls AppendLog until released, to fill the queue.
type blockingStore struct {
	Records
	gate chan struct{}
}

func (b *blockingStore) Append(kind string, entries [][]byte) (uint64, error) {
	<-b.gate
	return b.Records.Append(kind, entries)
}

// With the log writer stalled, Expose blocks up to EnqueueTimeout and then
// drops; everything that was not dropped is logged by Close.
func TestFullQueueBlocksThenDrops(t *testing.T) {
	st := expTestStore(t, "")
	prods := seedProducts(t, st, 5)
	bs := &blockingStore{Records: st.Records(), gate: make(chan struct{})}
	x := expTestServiceOver(t, bs, st, func(o *Options) {
		o.QueueSize, o.BatchSize, o.EnqueueTimeout = 4, 2, 10*time.Millisecond
	})
	mustPut(t, x, ab("q", StatusRunning, 1, 1))
	const n = 40
	exposeAll(t, x, "q", n, prods, nil)
	dropped := x.Stats().Dropped
	if dropped == 0 {
		t.Fatalf("a stalled writer with a queue of 4 should have dropped some of %d exposures", n)
	}
	close(bs.gate)
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if logged := int64(countLog(t, st, exposureLogKind)); logged+dropped != n || x.Stats().Exposures != logged {
		t.Errorf("logged %d + dropped %d != %d exposed (stats %+v)", logged, dropped, n, x.Stats())
	}
}

// failingStore refuses the first appends, as a full disk would.
type failingStore struct {
	Records
	failures atomic.Int64
}

func (f *failingStore) Append(kind string, entries [][]byte) (uint64, error) {
	if f.failures.Add(-1) >= 0 {
		return 0, features.ErrReadOnly
	}
	return f.Records.Append(kind, entries)
}

// A failed append is reported by Flush and retried: nothing is lost once
// the store accepts writes again.
func TestFailedAppendsAreRetried(t *testing.T) {
	st := expTestStore(t, "")
	prods := seedProducts(t, st, 5)
	fs := &failingStore{Records: st.Records()}
	x := expTestServiceOver(t, fs, st, nil)
	mustPut(t, x, ab("retry", StatusRunning, 1, 1))
	fs.failures.Store(1 << 30)
	exposeAll(t, x, "retry", 30, prods, nil)
	if err := x.Flush(context.Background()); !errors.Is(err, features.ErrReadOnly) {
		t.Fatalf("Flush with a failing store: %v", err)
	}
	if n := countLog(t, st, exposureLogKind); n != 0 {
		t.Fatalf("%d entries logged by a failing store", n)
	}
	fs.failures.Store(0)
	mustFlush(t, x)
	if n := countLog(t, st, exposureLogKind); n != 30 {
		t.Errorf("after recovery %d exposures logged, want 30", n)
	}
	if s := x.Stats(); s.WriteErrors == 0 || s.Exposures != 30 || s.Dropped != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestConcurrentExposeAndResults(t *testing.T) {
	st := expTestStore(t, "")
	prods := seedProducts(t, st, 5)
	x := expTestService(t, st, func(o *Options) { o.FlushInterval = time.Millisecond })
	mustPut(t, x, ab("race", StatusRunning, 1, 1))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				unit := fmt.Sprintf("g%d-%d", g, i)
				v, _, _ := x.Enrol(context.Background(), "race", "", unit)
				x.Expose("race", v, "rec-"+unit, unit, false, prods[:3])
				if i%50 == 0 {
					mustResults(t, x, "race")
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 100 {
			unit := fmt.Sprintf("g0-%d", i)
			_, _ = st.Ingest(context.Background(), []features.Event{{CustomerID: unit, ProductID: prods[0], Type: "click", RecommendationID: "rec-" + unit}}, features.IngestOptions{})
		}
	}()
	wg.Wait()
	r := mustResults(t, x, "race")
	if n := r.Variants[0].Exposures + r.Variants[1].Exposures; n != 1200 {
		t.Errorf("exposures = %d, want 1200", n)
	}
}
