package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/affinity-rec/affinity/recommend/campaign"
)

// runExport is `affinity export`: one NDJSON line per customer of a
// segment (or of a file of ids, one per line) with their recommendations,
// next best offers or value, written to --out (default stdout), from a
// store directory (--data, the same lines as the server's) or a running
// server (--url, POST /v1/exports). The ranking is recommend/campaign's;
// this is wiring, batching of the ids file and the progress line.
func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseExportFlags(args, stderr)
	if err != nil {
		return err
	}
	var x exporter
	if f.url != "" {
		x, err = newURLExporter(f.url, f.apiKey)
	} else {
		x, err = openDataExporter(f.data, f.config)
	}
	if err != nil {
		return err
	}
	out, finish, err := exportOutput(f.out, stdout, stderr)
	if err != nil {
		x.close()
		return err
	}
	start := time.Now()
	n, err := runBatches(ctx, x, f, out, newExportProgress(stderr))
	err = errors.Join(err, x.close())
	if err = finish(err); err != nil {
		return err
	}
	el := time.Since(start).Seconds()
	fmt.Fprintf(stderr, "exported %d customers (%s) in %.2fs: %.0f customers/s\n", n, f.req.What, el, float64(n)/max(el, 1e-9))
	return nil
}

// exportFlags are the parsed flags of `affinity export`.
type exportFlags struct {
	data, url, config, apiKey string
	customers, out            string
	req                       campaign.Request
}

func parseExportFlags(args []string, stderr io.Writer) (exportFlags, error) {
	var f exportFlags
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.data, "data", "", "data directory (Badger) to export from (no server may hold it)")
	fs.StringVar(&f.url, "url", "", "base URL of a running server to export from (POST /v1/exports)")
	fs.StringVar(&f.config, "config", "", "with --data: the JSON config file serve reads (clock, engine options)")
	fs.StringVar(&f.apiKey, "api-key", os.Getenv("AFFINITY_API_KEY"), "with --url: an admin API key (default $AFFINITY_API_KEY)")
	fs.StringVar(&f.req.Segment, "segment", "", "export this segment's members")
	fs.StringVar(&f.customers, "customers", "", "export the customers of this file (one id per line)")
	what := fs.String("what", "recommendations", "recommendations, next-best-offer or members")
	fs.IntVar(&f.req.Limit, "limit", 10, "each customer's list length (next-best-offer: 1 unless given)")
	fs.StringVar(&f.req.Channel, "channel", "", "next-best-offer: only offers shown on this channel")
	fs.StringVar(&f.req.Experiment, "experiment", "", "serve every customer under this experiment (exposures are logged)")
	fs.StringVar(&f.req.Variant, "variant", "", "force this variant of --experiment")
	fs.StringVar(&f.out, "out", "", "NDJSON file to write (default stdout)")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("export takes no arguments, got %q", fs.Args())
	}
	if (f.data == "") == (f.url == "") {
		return f, errors.New("export needs --data DIR or --url URL (one of the two)")
	}
	if (f.req.Segment == "") == (f.customers == "") {
		return f, errors.New("export needs --segment NAME or --customers FILE (one of the two)")
	}
	var err error
	if f.req.What, err = campaign.ParseWhat(*what); err != nil {
		return f, fmt.Errorf("--%v", err)
	}
	if f.req.What == campaign.NextBestOffer && !flagSet(fs, "limit") {
		f.req.Limit = 0 // the offer service's default (one offer)
	}
	if f.req.Limit < 1 && flagSet(fs, "limit") {
		return f, errors.New("--limit must be at least 1")
	}
	return f, nil
}

// exportOutput opens where the lines go. finish closes it; the file appears
// under its name only once the export is whole (atomicFile), so a short
// export never looks whole, even after a kill -9.
func exportOutput(path string, stdout, stderr io.Writer) (io.Writer, func(error) error, error) {
	if path == "" {
		return stdout, func(err error) error { return err }, nil
	}
	file, err := createAtomic(path, stderr)
	if err != nil {
		return nil, nil, err
	}
	return file, file.finish, nil
}

// idBatch is how many ids of a --customers file go in one request (or one
// job): far below campaign.MaxCustomers and the server's body limit, and
// a file of any length is read a batch at a time.
const idBatch = 10_000

// runBatches runs the export: the segment in one go, a customers file a
// batch of ids at a time (the progress bar counts over the whole file).
func runBatches(ctx context.Context, x exporter, f exportFlags, out io.Writer, prog *exportProgress) (int, error) {
	defer prog.finish()
	if f.customers == "" {
		return x.run(ctx, f.req, out, func(done, total int) { prog.show(done, total) })
	}
	total, err := countIDs(f.customers)
	if err != nil {
		return 0, err
	}
	file, err := os.Open(f.customers)
	if err != nil {
		return 0, err
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	written, line := 0, 0
	batch := make([]string, 0, idBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		r := f.req
		r.Customers = batch
		n, err := x.run(ctx, r, out, func(done, _ int) { prog.show(written+done, total) })
		written += n
		batch = batch[:0]
		return err
	}
	for sc.Scan() {
		line++
		id := strings.TrimSpace(sc.Text())
		if id == "" || strings.HasPrefix(id, "#") {
			continue
		}
		batch = append(batch, id)
		if len(batch) == idBatch {
			if err := flush(); err != nil {
				return written, fmt.Errorf("%s (batch ending at line %d): %w", f.customers, line, err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return written, fmt.Errorf("reading %s: %w", f.customers, err)
	}
	if err := flush(); err != nil {
		return written, fmt.Errorf("%s (batch ending at line %d): %w", f.customers, line, err)
	}
	return written, nil
}

// countIDs counts the ids of a customers file (the progress bar's total).
func countIDs(path string) (int, error) {
	file, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		if id := strings.TrimSpace(sc.Text()); id != "" && !strings.HasPrefix(id, "#") {
			n++
		}
	}
	return n, sc.Err()
}
