package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/affinity-rec/affinity/bench/load"
	"github.com/affinity-rec/affinity/bench/synth"
)

// runBench is `affinity bench`: it load-tests a running server and prints a
// table (or, with --json, one JSON object) on stdout, progress on stderr.
// It returns an error for bad flags, when the run cannot start, and when
// not a single request succeeded, so scripts can tell a broken target from
// a slow one. `-h` prints the usage and returns nil.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o := load.DefaultOptions()
	var f benchFlags
	fs := benchFlagSet(&o, &f, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench takes no arguments, got %q", fs.Args())
	}
	if f.generate != "" {
		so, err := f.synthOptions(o.Seed)
		if err != nil {
			return err
		}
		return generateSynth(f.generate, so, stdout)
	}
	if o.APIKey == "" {
		o.APIKey = os.Getenv("AFFINITY_API_KEY")
	}
	if f.idsFile != "" {
		ids, err := load.ReadIDsFile(f.idsFile)
		if err != nil {
			return err
		}
		o.IDs = &ids
	}
	if err := o.Validate(); err != nil {
		return err
	}
	if f.baseline {
		return runBaselineBench(ctx, o, f.jsonOut, f.out, stdout, stderr)
	}
	return runLoadBench(ctx, o, f.jsonOut, f.out, stdout, stderr)
}

// benchFlags are the flags of `affinity bench` that are not load.Options
// fields: the output, --baseline, and the --generate mode's sizes.
type benchFlags struct {
	jsonOut, baseline, eventIDs  bool
	idsFile, out, generate, size string
	customers, products, events  countFlag
}

// benchFlagSet declares the flags of `affinity bench`, writing into o and f.
func benchFlagSet(o *load.Options, f *benchFlags, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `usage: affinity bench --url URL [--duration 10s] [--concurrency 32] [--rate RPS]
                      [--scenario %s] [--json]
                      [--ids FILE] [--experiment ID] [--variant NAME] [--api-key KEY]
                      [--warmup DURATION] [--timeout DURATION] [--seed N] [--out FILE.html]
                      [--baseline] [--event-id-pool N]
       affinity bench --generate FILE [--size small|medium|full] [--customers N]
                      [--products N] [--events N] [--seed N] [--event-ids=false]

Load-tests a running Affinity server. Without --rate it runs closed loop
(--concurrency workers, each sending as soon as its last answer is back);
with --rate it sends at that constant rate and counts each latency from the
request's intended start, so stalls are not hidden (coordinated omission).
With --rate, mixed sends its reads and its event POSTs in two lanes, each at
its share of the rate with its own --concurrency workers, so a stall in the
server's commit of events is not charged to the reads.
The mixed scenario also POSTs events: point it at a staging copy.

--baseline first runs the same load against a trivial fiber handler started
inside this process on 127.0.0.1, then against --url, and prints the ratio
of the two throughputs (the figure performance targets are stated in).

--generate writes a seeded synthetic event set (Zipf-like popularity,
sessions, categories) for `+"`affinity import`"+` instead of running load:
CSV, or NDJSON when FILE ends in .ndjson or .jsonl; gzip when it ends in .gz.

`, strings.Join(load.Scenarios(), "|"))
		fs.PrintDefaults()
	}
	fs.StringVar(&o.URL, "url", "", "base URL of the server, e.g. http://127.0.0.1:8080 (required)")
	fs.DurationVar(&o.Duration, "duration", o.Duration, "how long to send requests")
	fs.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "workers: requests in flight (closed loop) or the cap on them (with --rate; for mixed, of reads and of events each)")
	fs.Float64Var(&o.Rate, "rate", 0, "requests per second at a constant arrival rate (open loop); 0 runs closed loop")
	fs.StringVar(&o.Scenario, "scenario", o.Scenario, "what to request: "+strings.Join(load.Scenarios(), ", "))
	fs.BoolVar(&f.jsonOut, "json", false, "print one JSON object instead of the table")
	fs.StringVar(&f.idsFile, "ids", "", "file of ids to request, lines product:ID or customer:ID (default: ask the server)")
	fs.StringVar(&o.Experiment, "experiment", "", "experiment id, sent as the experiment= query flag")
	fs.StringVar(&o.Variant, "variant", "", "variant name, sent as the variant= query flag")
	fs.StringVar(&o.APIKey, "api-key", "", "API key sent as Authorization: Bearer KEY (default $AFFINITY_API_KEY)")
	fs.DurationVar(&o.Warmup, "warmup", 0, "unmeasured load to run first, e.g. 2s")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "timeout of each request")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "seed of the request and id choice")
	fs.IntVar(&o.EventIDPool, "event-id-pool", 0, "give posted events an event_id from this many (0: none); once all were posted the rest are duplicates, so the data stops growing (a steady-state soak)")
	fs.StringVar(&f.out, "out", "", "also write a self-contained HTML report to this file")
	fs.BoolVar(&f.baseline, "baseline", false, "first load a trivial in-process fiber handler the same way, and print the throughput ratio")
	fs.StringVar(&f.generate, "generate", "", "write a synthetic event set to this file instead of running load")
	fs.StringVar(&f.size, "size", synth.Full, "synthetic set size: small (10k events), medium (1M), full (10M events, 1M customers, 100k products)")
	fs.Var(&f.customers, "customers", "`N` synthetic customers (default: the --size's)")
	fs.Var(&f.products, "products", "`N` synthetic products (default: the --size's)")
	fs.Var(&f.events, "events", "`N` synthetic events (default: the --size's)")
	fs.BoolVar(&f.eventIDs, "event-ids", true, "give synthetic events an event_id")
	return fs
}

// synthOptions are the --generate mode's options: the --size preset with
// the sizes given on the command line, and the run's seed.
func (f *benchFlags) synthOptions(seed uint64) (synth.Options, error) {
	so, err := synth.Preset(f.size)
	if err != nil {
		return so, err
	}
	f.customers.apply(&so.Customers)
	f.products.apply(&so.Products)
	f.events.apply(&so.Events)
	so.Seed = seed
	so.EventIDs = f.eventIDs
	so.Format = synth.FormatOf(f.generate)
	return so, nil
}

// runLoadBench is `affinity bench` without --baseline: one load run, its
// report and its table or JSON.
func runLoadBench(ctx context.Context, o load.Options, jsonOut bool, out string, stdout, stderr io.Writer) error {
	res, err := load.Run(ctx, o, stderr)
	if err != nil {
		return err
	}
	if out != "" {
		if err := writeBenchReport(out, res); err != nil {
			return err
		}
	}
	if jsonOut {
		err = res.WriteJSON(stdout)
	} else {
		err = res.WriteTable(stdout)
	}
	if err != nil {
		return err
	}
	if out != "" {
		fmt.Fprintf(stderr, "report written to %s\n", out)
	}
	if res.Requests > 0 && res.OK == 0 {
		return fmt.Errorf("bench: none of %d requests succeeded", res.Requests)
	}
	return nil
}

func writeBenchReport(path string, res *load.Result) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("cannot create report: %w", err)
	}
	if err := res.WriteHTML(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cannot write report %s: %w", path, err)
	}
	return nil
}
