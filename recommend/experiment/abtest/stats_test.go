package abtest

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
)

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol || math.IsNaN(got) {
		t.Errorf("%s = %.10g, want %.10g ± %g", what, got, want, tol)
	}
}

func TestZ95(t *testing.T) {
	near(t, "z95", z95, 1.959963984540054, 1e-12)
}

// Newcombe, "Two-sided confidence intervals for the single proportion:
// comparison of seven methods", Statistics in Medicine 17:857-872 (1998),
// worked examples, method 3 (Wilson score without continuity correction),
// printed to 4 decimals. The 9-decimal values are R 4.2's
// prop.test(x, n, correct = FALSE)$conf.int, which is the same interval.
func TestWilsonTextbook(t *testing.T) {
	for _, tc := range []struct {
		x, n      int64
		low, high float64
	}{
		{81, 263, 0.255288520, 0.366209577}, // Newcombe: 0.2553, 0.3662
		{15, 148, 0.062386400, 0.160487242}, // 0.0624, 0.1605
		{0, 20, 0, 0.161125158},             // 0.0000, 0.1611
		{1, 29, 0.006113214, 0.171755219},   // 0.0061, 0.1718
	} {
		r := Wilson(Proportion{tc.x, tc.n})
		near(t, "value", r.Value, float64(tc.x)/float64(tc.n), 1e-15)
		near(t, "low", r.Low, tc.low, 1e-9)
		near(t, "high", r.High, tc.high, 1e-9)
	}
}

func TestWilsonEdges(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Proportion
		want Rate
	}{
		{"no trials", Proportion{0, 0}, Rate{0, 0, 1}},
		{"negative trials", Proportion{3, -5}, Rate{0, 0, 1}},
		{"all successes", Proportion{20, 20}, Rate{1, 1 - 0.161125158, 1}},
		{"more successes than trials", Proportion{25, 20}, Rate{1, 1 - 0.161125158, 1}},
		{"negative successes", Proportion{-1, 20}, Rate{0, 0, 0.161125158}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Wilson(tc.in)
			near(t, "value", r.Value, tc.want.Value, 1e-9)
			near(t, "low", r.Low, tc.want.Low, 1e-9)
			near(t, "high", r.High, tc.want.High, 1e-9)
		})
	}
}

// Physicians' Health Study aspirin trial as tabulated in Agresti, "An
// Introduction to Categorical Data Analysis" (2nd ed., 2007), Table 2.3:
// myocardial infarction in 189 of 11,034 on placebo and 104 of 11,037 on
// aspirin. Agresti gives the relative risk 1.82 with 95% interval
// (1.43, 2.30) from the log method; Pearson's X² for the table is 25.01
// (R 4.2: prop.test(c(104, 189), c(11037, 11034), correct = FALSE) gives
// X-squared = 25.0138839672, p-value = 5.69189697374e-07; z = sqrt(X²)).
var (
	aspirin = Proportion{104, 11037} // control
	placebo = Proportion{189, 11034} // "treatment"
)

func TestTwoProportionPValue(t *testing.T) {
	p := TwoProportionPValue(aspirin, placebo)
	near(t, "aspirin p", p, 5.69189697374e-07, 1e-15)
	// The test is symmetric in its arms.
	near(t, "swapped", TwoProportionPValue(placebo, aspirin), p, 1e-20)

	for _, tc := range []struct {
		name string
		c, t Proportion
		want float64
	}{
		{"same rate", Proportion{50, 1000}, Proportion{100, 2000}, 1},
		{"empty arm", Proportion{0, 0}, Proportion{10, 100}, 1},
		{"both zero successes", Proportion{0, 500}, Proportion{0, 500}, 1},
		{"both all successes", Proportion{500, 500}, Proportion{9, 9}, 1},
		// R 4.2: prop.test(c(40, 60), c(200, 200), correct = FALSE).
		{"20% vs 30%", Proportion{40, 200}, Proportion{60, 200}, 0.0209213353378},
	} {
		t.Run(tc.name, func(t *testing.T) {
			near(t, "p", TwoProportionPValue(tc.c, tc.t), tc.want, 1e-12)
		})
	}
}

func TestRelativeLift(t *testing.T) {
	// Agresti's relative risk 1.82 (1.43, 2.30) is placebo over aspirin, so
	// the "lift" of placebo is 0.82 (0.43, 1.30). Digits from R, as
	// exp(log(rr) + c(-1, 1) * qnorm(.975) * sqrt(1/189 - 1/11034 + 1/104 - 1/11037)).
	r := RelativeLift(aspirin, placebo)
	near(t, "value", r.Value, 1.81780179445-1, 1e-10)
	near(t, "low", r.Low, 1.43303090305-1, 1e-10)
	near(t, "high", r.High, 2.30588423242-1, 1e-10)

	// Zero cells use the Haldane-Anscombe correction: finite, and the value
	// lies inside its interval.
	for _, tc := range []struct {
		name string
		c, t Proportion
	}{
		{"no data", Proportion{0, 0}, Proportion{0, 0}},
		{"control never converts", Proportion{0, 1000}, Proportion{12, 1000}},
		{"treatment never converts", Proportion{12, 1000}, Proportion{0, 1000}},
		{"everyone converts", Proportion{10, 10}, Proportion{10, 10}},
		{"empty control", Proportion{0, 0}, Proportion{5, 100}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := RelativeLift(tc.c, tc.t)
			if !finiteRate(r) || r.Low > r.Value || r.Value > r.High || r.Low < -1 {
				t.Errorf("RelativeLift(%v, %v) = %+v", tc.c, tc.t, r)
			}
		})
	}
	r = RelativeLift(Proportion{}, Proportion{})
	near(t, "no data value", r.Value, 0, 0)
	near(t, "no data low", r.Low, math.Exp(-z95*math.Sqrt2)-1, 1e-12)
	near(t, "no data high", r.High, math.Exp(z95*math.Sqrt2)-1, 1e-12)
}

// Two samples quoted with R's t.test output in a Cross Validated answer:
//
//	ts1 = c(11,9,10,11,10,12,9,11,12,9); ts2 = c(11,13,10,13,12,9,11,12,12,11)
//	t.test(ts1, ts2): Welch, t = -1.8325, df = 17.9, p-value = 0.08356
//
// Sums: ts1 n=10, Σ=104, Σx²=1094; ts2 n=10, Σ=114, Σx²=1314. The full-precision
// p-value is R 4.2's 0.0835597916192.
var (
	ts1 = Sums{N: 10, Sum: 104, SumSq: 1094}
	ts2 = Sums{N: 10, Sum: 114, SumSq: 1314}
)

func TestWelchPValue(t *testing.T) {
	near(t, "p", WelchPValue(ts1, ts2), 0.0835597916192, 1e-9)
	near(t, "swapped", WelchPValue(ts2, ts1), 0.0835597916192, 1e-9)
	for _, tc := range []struct {
		name string
		c, t Sums
		want float64
	}{
		{"same sums", ts1, ts1, 1},
		{"one exposure", Sums{1, 5, 25}, ts2, 1},
		{"empty", Sums{}, Sums{}, 1},
		{"no variance, same mean", Sums{10, 0, 0}, Sums{20, 0, 0}, 1},
		{"no variance, different mean", Sums{10, 10, 10}, Sums{20, 0, 0}, 0},
		{"NaN revenue upstream", Sums{10, math.NaN(), 5}, ts2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			near(t, "p", WelchPValue(tc.c, tc.t), tc.want, 1e-12)
		})
	}
}

func TestMeanInterval(t *testing.T) {
	// ts1: mean 10.4, s² = (1094 - 104²/10)/9 = 12.4/9.
	r := MeanInterval(ts1)
	half := z95 * math.Sqrt(12.4/9/10)
	near(t, "value", r.Value, 10.4, 1e-12)
	near(t, "low", r.Low, 10.4-half, 1e-12)
	near(t, "high", r.High, 10.4+half, 1e-12)

	for _, tc := range []struct {
		name string
		in   Sums
		want Rate
	}{
		{"no exposures", Sums{}, Rate{}},
		{"one exposure", Sums{1, 30, 900}, Rate{30, 30, 30}},
		{"constant", Sums{4, 8, 16}, Rate{2, 2, 2}},
		// sumSq below sum²/n (rounding upstream): variance 0, not NaN.
		{"inconsistent sums", Sums{3, 0.3, 0.02}, Rate{0.1, 0.1, 0.1}},
		{"NaN", Sums{3, math.NaN(), 1}, Rate{}},
		{"Inf", Sums{3, 1, math.Inf(1)}, Rate{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := MeanInterval(tc.in)
			near(t, "value", r.Value, tc.want.Value, 1e-12)
			near(t, "low", r.Low, tc.want.Low, 1e-9)
			near(t, "high", r.High, tc.want.High, 1e-9)
		})
	}
}

func TestSRM(t *testing.T) {
	// Mendel's dihybrid cross (1866), the textbook goodness-of-fit example:
	// 315 round-yellow, 108 round-green, 101 wrinkled-yellow, 32
	// wrinkled-green against 9:3:3:1 gives X² = 0.470 on 3 df, p = 0.925.
	// Digits: R 4.2 chisq.test(c(315,108,101,32), p = c(9,3,3,1)/16).
	p := SRMPValue([]int64{315, 108, 101, 32}, []float64{9, 3, 3, 1})
	near(t, "Mendel p", p, 0.925425895104, 1e-9)

	for _, tc := range []struct {
		name     string
		observed []int64
		weights  []float64
		want     float64 // from R's chisq.test where a value is given
		tol      float64
		flag     bool
	}{
		// X² = 36, p = 1.97e-9: a 53/47 split of 10,000 at 50/50 is a bug.
		{"skewed 5300/4700", []int64{5300, 4700}, []float64{50, 50}, 1.97317529008e-09, 1e-19, true},
		{"fair 5030/4970", []int64{5030, 4970}, []float64{50, 50}, 0.5485062355, 1e-9, false},
		{"weights need not sum to 1", []int64{5030, 4970}, []float64{1, 1}, 0.5485062355, 1e-9, false},
		{"90/10 honest", []int64{9011, 989}, []float64{0.9, 0.1}, 0.713867673475, 1e-9, false},
		{"units in a zero-weight arm", []int64{500, 500, 3}, []float64{1, 1, 0}, 0, 0, true},
		{"zero-weight arm empty", []int64{500, 500, 0}, []float64{1, 1, 0}, 1, 0, false},
		{"nothing observed", []int64{0, 0}, []float64{1, 1}, 1, 0, false},
		{"one arm", []int64{100}, []float64{1}, 1, 0, false},
		{"length mismatch", []int64{1, 2, 3}, []float64{1, 1}, 1, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := SRMPValue(tc.observed, tc.weights)
			near(t, "p", p, tc.want, tc.tol)
			if got := SRMFlag(p); got != tc.flag {
				t.Errorf("SRMFlag(%g) = %v, want %v", p, got, tc.flag)
			}
		})
	}
}

func TestRateJSON(t *testing.T) {
	b, err := json.Marshal(Rate{Value: 0.5, Low: 0.25, High: 0.75})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"value":0.5,"low":0.25,"high":0.75}`; got != want {
		t.Errorf("json = %s, want %s", got, want)
	}
}

// The simulation draws experiments with known true rates and checks that the
// 95% intervals cover the truth about 95% of the time and that the tests
// reject a true null about 5% of the time. The seed is fixed, so the test is
// deterministic; the bounds are wide enough (0.90 to 0.99 for 200 trials,
// about ±3 standard errors) that a different seed would pass too.
func TestCoverageSimulation(t *testing.T) {
	const (
		experiments = 200
		exposures   = 2_000 // per arm
		pc, pt      = 0.05, 0.06
		meanOrder   = 40.0 // revenue of a conversion ~ Exp(mean 40)
	)
	rng := rand.New(rand.NewPCG(2026, 42))
	arm := func(p float64) (Proportion, Sums) {
		var conv Proportion
		var rev Sums
		conv.Trials, rev.N = exposures, exposures
		for range exposures {
			if rng.Float64() < p {
				conv.Successes++
				v := rng.ExpFloat64() * meanOrder
				rev.Sum += v
				rev.SumSq += v * v
			}
		}
		return conv, rev
	}
	covers := func(r Rate, truth float64) bool { return r.Low <= truth && truth <= r.High }

	var wilson, lift, revenue, intervals int
	var zReject, welchReject int
	for range experiments {
		c, cRev := arm(pc)
		tr, tRev := arm(pt)
		for _, a := range []struct {
			p    Proportion
			s    Sums
			rate float64
		}{{c, cRev, pc}, {tr, tRev, pt}} {
			intervals++
			if covers(Wilson(a.p), a.rate) {
				wilson++
			}
			if covers(MeanInterval(a.s), a.rate*meanOrder) {
				revenue++
			}
		}
		if covers(RelativeLift(c, tr), pt/pc-1) {
			lift++
		}

		// A/A: both arms from the control rate, so every rejection is false.
		a1, a1Rev := arm(pc)
		a2, a2Rev := arm(pc)
		if TwoProportionPValue(a1, a2) < 0.05 {
			zReject++
		}
		if WelchPValue(a1Rev, a2Rev) < 0.05 {
			welchReject++
		}
	}
	for _, c := range []struct {
		what   string
		got    float64
		lo, hi float64
	}{
		{"Wilson coverage", float64(wilson) / float64(intervals), 0.90, 0.99},
		{"lift coverage", float64(lift) / experiments, 0.90, 0.99},
		{"revenue per exposure coverage", float64(revenue) / float64(intervals), 0.90, 0.99},
		{"z-test false positive rate", float64(zReject) / experiments, 0.01, 0.10},
		{"Welch false positive rate", float64(welchReject) / experiments, 0.01, 0.10},
	} {
		t.Logf("%s: %.3f", c.what, c.got)
		if c.got < c.lo || c.got > c.hi {
			t.Errorf("%s = %.3f, want in [%.2f, %.2f]", c.what, c.got, c.lo, c.hi)
		}
	}
}

func finiteRate(r Rate) bool { return finite(r.Value) && finite(r.Low) && finite(r.High) }

// Whatever the counters hold, results must encode: no NaN, no Inf, p-values
// in [0, 1], intervals ordered.
func FuzzStatsFinite(f *testing.F) {
	f.Add(int64(0), int64(0), int64(0), int64(0), 0.0, 0.0, 0.0, 0.0)
	f.Add(int64(104), int64(11037), int64(189), int64(11034), 104.0, 1094.0, 114.0, 1314.0)
	f.Add(int64(-1), int64(math.MaxInt64), int64(math.MaxInt64), int64(1), math.MaxFloat64, math.MaxFloat64, -math.MaxFloat64, 1e-300)
	f.Add(int64(1), int64(2), int64(3), int64(2), math.NaN(), math.Inf(1), 1e-320, 1e-320)
	f.Fuzz(func(t *testing.T, xc, nc, xt, nt int64, sumC, sqC, sumT, sqT float64) {
		c, tr := Proportion{xc, nc}, Proportion{xt, nt}
		sc, st := Sums{nc, sumC, sqC}, Sums{nt, sumT, sqT}
		for _, r := range []Rate{Wilson(c), Wilson(tr), RelativeLift(c, tr), MeanInterval(sc), MeanInterval(st)} {
			if !finiteRate(r) || r.Low > r.High {
				t.Fatalf("bad rate %+v for %v %v %v %v", r, c, tr, sc, st)
			}
			if _, err := json.Marshal(r); err != nil {
				t.Fatal(err)
			}
		}
		for _, p := range []float64{
			TwoProportionPValue(c, tr),
			WelchPValue(sc, st),
			SRMPValue([]int64{xc, nc, xt}, []float64{sumC, sqC, sumT}),
			SRMPValue([]int64{xc, xt}, []float64{1, 1}),
		} {
			if !(p >= 0 && p <= 1) {
				t.Fatalf("p-value %v out of [0, 1] for %v %v %v %v", p, c, tr, sc, st)
			}
		}
	})
}
