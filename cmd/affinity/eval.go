package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/affinity-rec/affinity/bench/eval"
	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/eventio"
)

// evalReport is what `affinity eval --json` prints: the contract's fields
// (algo, users, k, map, ndcg, precision, recall, coverage, train_seconds,
// from eval.Result) plus the protocol that produced them and, unless
// --baselines=false, the baselines measured on the same split.
type evalReport struct {
	eval.Result
	Format    string        `json:"format"`
	Split     string        `json:"split"`
	TestRatio float64       `json:"test_ratio,omitempty"`
	Seed      int64         `json:"seed"`
	Relevant  []string      `json:"relevant_types,omitempty"`
	Skipped   int           `json:"skipped_lines"`
	Baselines []eval.Result `json:"baselines,omitempty"`
}

// runEval is `affinity eval`: it splits a data set (or takes a ready
// split), trains the chosen algorithm through the serving code on an
// in-memory store, and prints top-K metrics for every test customer, with
// the popularity and SAR baselines on the same split.
func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseEvalFlags(args, stderr)
	if err != nil || f == nil {
		return err
	}
	fc, err := readConfig(f.config)
	if err != nil {
		return err
	}
	algo, err := lookupWithConfig(fc, f.algo)
	if err != nil {
		return err
	}
	if err := f.eo.Validate(); err != nil {
		return err
	}
	d, err := loadEvalData(ctx, f)
	if err != nil {
		return err
	}
	if fc.TuneHoldout == "" && algo.Neighbours.Tune {
		algo.Neighbours.TuneHoldout = holdoutFor(d.split.Method)
	}
	if err := checkTypes(d.train, d.test, algo.EventTypes, f.config); err != nil {
		return err
	}
	eo := f.eo
	eo.GroundTruth = eval.GroundTruthOptions{WarmOnly: true}
	if f.out != "" {
		eo.CurveK = curveK
	}
	if hasType(d.test, "purchase") {
		eo.GroundTruth.Types = []string{"purchase"}
	}
	if f.audience {
		return runAudienceEval(ctx, stdout, d.train, d.test, algo, eo.GroundTruth.Types, f.json, d.source)
	}
	return evaluateAndReport(ctx, stdout, f, d, algo, eo)
}

// evalFlags are eval's command line.
type evalFlags struct {
	format, train, test, algo, config, out string
	json, baselines, audience, returns     bool
	split                                  eval.SplitOptions
	eo                                     eval.Options
	args                                   []string
}

// parseEvalFlags reads eval's flags; nil and no error after -h.
func parseEvalFlags(args []string, stderr io.Writer) (*evalFlags, error) {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `usage: affinity eval --format csv|movielens|online-retail (--train F --test F | FILE)
                     [--split item-stratified|user-stratified|temporal] [--test-ratio 0.25]
                     [--seed 42] [--k 10] [--algo NAME] [--json] [--baselines=true]
                     [--config FILE] [--out report.html] [--audience] [--returns]

Measures recommendation quality offline: every test customer known in train
gets a top-K list (products they have in train are never recommended) that
is scored against what they did in test. With FILE the data is split
(item-stratified: each product's customers 75/25, the MovieLens benchmark
protocol; temporal: the last --test-ratio of time is test). A relevant
product is a test purchase when the test set has purchases, else any test
event. When test customers rebuy products they had in train, the scores
against new products only are printed too.

--config takes the serve config: its event types (custom ones with their
weights) apply to every algorithm, its model options (similarity,
neighbours, half_life_days) to affinity, so a data set is evaluated as it
would be served. --out writes an HTML report: the table, nDCG@k and
recall@k for k = 1..50 per algorithm, and the settings the model chose.
--audience measures product audiences instead (docs/evaluation.md).

algorithms:
`)
		for _, a := range eval.Algorithms() {
			fmt.Fprintf(fs.Output(), "  %-11s %s\n", a.Name, a.Description)
		}
		fmt.Fprintln(fs.Output())
		fs.PrintDefaults()
	}
	f := &evalFlags{split: eval.DefaultSplitOptions(), eo: eval.DefaultOptions()}
	fs.StringVar(&f.format, "format", "", "input format: csv, movielens or online-retail (required)")
	fs.StringVar(&f.train, "train", "", "train events (with --test: use this split as is)")
	fs.StringVar(&f.test, "test", "", "test events (with --train)")
	fs.StringVar(&f.split.Method, "split", f.split.Method, "how to split FILE: item-stratified, user-stratified or temporal")
	fs.Float64Var(&f.split.TestRatio, "test-ratio", f.split.TestRatio, "share of each group (stratified) or of time (temporal) that goes to test")
	fs.Int64Var(&f.split.Seed, "seed", f.split.Seed, "seed of the stratified split")
	fs.IntVar(&f.eo.K, "k", f.eo.K, "list length and metric cut-off")
	fs.StringVar(&f.algo, "algo", eval.AlgorithmNames()[0], "algorithm: "+strings.Join(eval.AlgorithmNames(), ", "))
	fs.BoolVar(&f.json, "json", false, "print one JSON object instead of the table")
	fs.BoolVar(&f.baselines, "baselines", true, "also evaluate popularity and sar on the same split")
	fs.StringVar(&f.config, "config", "", "serve config (JSON): event types for every algorithm, model options for affinity")
	fs.StringVar(&f.out, "out", "", "also write an HTML report (table, nDCG@k and recall@k chart) to this file")
	fs.BoolVar(&f.returns, "returns", false, "online-retail: read cancellations (invoices starting with C) as return events instead of skipping them")
	fs.BoolVar(&f.audience, "audience", false, "measure product audiences (GET /v1/products/{id}/customers) instead: recall@10/50/100 of each test customer's next purchase, against the most active customers")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil
		}
		return nil, err
	}
	if f.format == "" {
		return nil, errors.New("eval needs --format (csv, movielens or online-retail)")
	}
	f.args = fs.Args()
	return f, nil
}

// evalData is what eval scores: the train and test events and where they
// came from.
type evalData struct {
	train, test []features.Event
	source      string
	skipped     int
	split       eval.SplitOptions // Method "given" for --train/--test
}

// loadEvalData reads --train and --test as they are, or splits FILE.
func loadEvalData(ctx context.Context, f *evalFlags) (evalData, error) {
	d := evalData{split: f.split}
	switch {
	case f.train != "" || f.test != "":
		if f.train == "" || f.test == "" {
			return d, errors.New("eval needs both --train and --test")
		}
		if len(f.args) > 0 {
			return d, fmt.Errorf("eval takes --train/--test or one FILE, not both (got %q)", f.args)
		}
		var n int
		var err error
		if d.train, n, err = readEvents(ctx, f.train, f.format, f.returns); err != nil {
			return d, err
		}
		d.skipped += n
		if d.test, n, err = readEvents(ctx, f.test, f.format, f.returns); err != nil {
			return d, err
		}
		d.skipped += n
		d.split = eval.SplitOptions{Method: "given"}
		d.source = filepath.Base(f.train) + " / " + filepath.Base(f.test)
	case len(f.args) == 1:
		if err := d.split.Validate(); err != nil {
			return d, err
		}
		all, n, err := readEvents(ctx, f.args[0], f.format, f.returns)
		if err != nil {
			return d, err
		}
		d.skipped = n
		if d.train, d.test, err = eval.Split(all, d.split); err != nil {
			return d, err
		}
		d.source = filepath.Base(f.args[0])
	default:
		return d, fmt.Errorf("eval needs one FILE or --train and --test (got %d files)", len(f.args))
	}
	if len(d.train) == 0 || len(d.test) == 0 {
		return d, fmt.Errorf("cannot evaluate: %d train and %d test events", len(d.train), len(d.test))
	}
	return d, nil
}

// evaluateAndReport scores algo (and the baselines) and prints the table,
// the JSON or the HTML report.
func evaluateAndReport(ctx context.Context, stdout io.Writer, f *evalFlags, d evalData, algo eval.Algorithm, eo eval.Options) error {
	so := d.split
	rep := evalReport{Format: f.format, Split: so.Method, Seed: so.Seed, Relevant: eo.GroundTruth.Types, Skipped: d.skipped}
	if so.Method != "given" {
		rep.TestRatio = so.TestRatio
	} else {
		rep.Seed = 0
	}
	var err error
	if rep.Result, err = eval.Evaluate(ctx, d.train, d.test, algo, eo); err != nil {
		return err
	}
	if f.baselines {
		for _, name := range []string{"sar", "popularity"} {
			if name == algo.Name {
				continue
			}
			b, _ := eval.LookupAlgorithm(name)
			b.EventTypes = algo.EventTypes
			r, err := eval.Evaluate(ctx, d.train, d.test, b, eo)
			if err != nil {
				return err
			}
			rep.Baselines = append(rep.Baselines, r)
		}
	}
	if f.out != "" {
		if err := writeEvalHTML(f.out, rep, d.source); err != nil {
			return err
		}
	}
	if f.json {
		return json.NewEncoder(stdout).Encode(rep)
	}
	printEval(stdout, rep, d.source)
	return nil
}

// readEvents reads every event of file; lines that are not events (a
// cancelled order, an empty customer) are counted, not fatal, as in import.
func readEvents(ctx context.Context, file, format string, returns bool) ([]features.Event, int, error) {
	r, err := eventio.Open(file, format)
	if err != nil {
		return nil, 0, err
	}
	defer r.Close()
	r.SetCancellationsAsReturns(returns)
	var out []features.Event
	skipped := 0
	// The same bound as the store's default: a line dated past it would
	// fail the train load (Ingest rejects it) or judge a test set no store
	// would have accepted.
	wall := time.Now()
	for {
		if len(out)%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, 0, err
			}
		}
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, skipped, nil
		}
		var le *eventio.LineError
		if errors.As(err, &le) {
			skipped++
			continue
		}
		if err != nil {
			return nil, 0, fmt.Errorf("cannot read %s: %w", file, err)
		}
		if features.CheckFuture(e.Timestamp, wall, features.DefaultMaxFutureSkew) != nil {
			skipped++
			continue
		}
		out = append(out, e)
	}
}

func hasType(evs []features.Event, typ string) bool {
	for i := range evs {
		if evs[i].Type == typ {
			return true
		}
	}
	return false
}

func printEval(w io.Writer, rep evalReport, source string) {
	gt := rep.GroundTruth
	proto := rep.Split
	if rep.Split != "given" {
		proto = fmt.Sprintf("%s, test ratio %g", rep.Split, rep.TestRatio)
		if rep.Split != eval.SplitTemporal {
			proto += fmt.Sprintf(", seed %d", rep.Seed)
		}
	}
	relevant := "every test event"
	if len(rep.Relevant) > 0 {
		relevant = "test " + strings.Join(rep.Relevant, ", ")
	}
	fmt.Fprintf(w, "data      %s (%s), %s\n", source, rep.Format, proto)
	fmt.Fprintf(w, "train     %d events, %d products; test %d events (%d lines skipped)\n",
		rep.TrainEvents, rep.TrainProducts, rep.TestEvents, rep.Skipped)
	fmt.Fprintf(w, "relevant  %s: %d customers, %d pairs (%d cold customers left out, %d pairs are repeats of train)\n",
		relevant, gt.Customers, gt.Pairs, gt.ColdCustomers, gt.SeenPairs)
	if t := rep.Tuning; t != nil {
		fmt.Fprintf(w, "tuned     %s\n", tuningLine(t))
	}
	fmt.Fprintln(w)
	all := append([]eval.Result{rep.Result}, rep.Baselines...)
	k := rep.K
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "algo\tground truth\tMAP\tnDCG@%d\tP@%d\tR@%d\tcoverage\ttrain s\tlist µs\t\n", k, k, k)
	row := func(r eval.Result, m eval.Metrics, label string) {
		fmt.Fprintf(tw, "%s\t%s\t%.4f\t%.4f\t%.4f\t%.4f\t%.3f\t%.2f\t%.0f\t\n",
			r.Algo, label, m.MAP, m.NDCG, m.Precision, m.Recall, m.Coverage, r.TrainSeconds, r.RecommendMicros)
	}
	for _, r := range all {
		row(r, r.Metrics, "all")
	}
	if rep.NewOnly != nil {
		for _, r := range all {
			if r.NewOnly != nil {
				row(r, *r.NewOnly, "new only")
			}
		}
	}
	tw.Flush()
	for _, b := range rep.Baselines {
		fmt.Fprintf(w, "\n%s vs %s: nDCG %+.1f%%, MAP %+.1f%%, P %+.1f%%, R %+.1f%%", rep.Algo, b.Algo,
			lift(rep.NDCG, b.NDCG), lift(rep.MAP, b.MAP), lift(rep.Precision, b.Precision), lift(rep.Recall, b.Recall))
	}
	if len(rep.Baselines) > 0 {
		fmt.Fprintln(w)
	}
}

func lift(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return 100 * (a - b) / b
}
