package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/affinity-rec/affinity/features/crm"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/affinity-rec/affinity/api"
	"github.com/affinity-rec/affinity/client"
	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/background"
	"github.com/affinity-rec/affinity/recommend"
	"github.com/affinity-rec/affinity/recommend/campaign"
)

// exporter runs one export request, writing its lines to w and reporting
// (lines written, lines expected) as it goes.
type exporter interface {
	run(ctx context.Context, r campaign.Request, w io.Writer, progress func(done, total int)) (int, error)
	close() error
}

// dataExporter exports from a store directory, with the services serve
// would run over it (so offers shown and exposures logged land in that
// store, as they would through the server).
type dataExporter struct {
	store *features.Store
	deps  api.Deps
	cd    campaign.Deps
	crm   *crm.Service // nil until wire
}

func openDataExporter(dir, config string) (*dataExporter, error) {
	if err := requireStore(dir, "export"); err != nil {
		return nil, err
	}
	fc, err := readConfig(config)
	if err != nil {
		return nil, err
	}
	log := quietLogger()
	so, err := fc.storeOptions(dir, log)
	if err != nil {
		return nil, err
	}
	var holder atomic.Pointer[features.Store]
	// As serve does: on historical data "now" is the newest event.
	if err := setClock(&so, fc.Clock, &holder); err != nil {
		return nil, err
	}
	store, err := features.Open(so)
	if err != nil {
		return nil, openErr(err, dir)
	}
	holder.Store(store)
	x := &dataExporter{store: store}
	if err := x.wire(fc, log); err != nil {
		store.Close()
		return nil, err
	}
	return x, nil
}

// wire builds the engine and the services over the store, as serve does.
func (x *dataExporter) wire(fc fileConfig, log *slog.Logger) error {
	cs, err := crm.New(x.store, x.store.Records(), log)
	if err != nil {
		return err
	}
	x.crm = cs
	// A server fits the churn model and the RFM bounds a second after it
	// starts (crm's first refresh); an export runs at once, so it does
	// that pass itself, or its lines would have churn_risk null and
	// change under it when the pass came mid-export.
	if err := cs.RefreshCustomerValue(); err != nil {
		return err
	}
	eng, err := recommend.New(recommend.StoreDeps(x.store, cs), fc.engineOptions())
	if err != nil {
		return err
	}
	if x.deps, err = buildDeps(x.store, cs, eng, nil, log); err != nil {
		return err
	}
	x.cd = campaign.Deps{Store: x.store, Profiles: cs, Engine: eng, Lists: recommend.NewService(eng, x.deps.Experiments), Offers: x.deps.Offers}
	if x.deps.Experiments != nil {
		x.cd.Experiments = x.deps.Experiments
	}
	return nil
}

func (x *dataExporter) run(ctx context.Context, r campaign.Request, w io.Writer, progress func(done, total int)) (int, error) {
	if r.What != campaign.NextBestOffer {
		// The command has the machine to itself (a server ranks an
		// export's lists one at a time, beside its live traffic).
		r.Workers = background.BaseProcs() // CPUs, not a niced fit's extra P
	}
	job, err := campaign.Prepare(ctx, x.cd, r)
	if err != nil {
		return 0, err
	}
	total := job.Total()
	return job.Run(ctx, w, func(done int) { progress(done, total) })
}

func (x *dataExporter) close() error {
	errs := []error{closeDeps(x.deps)}
	if x.crm != nil {
		errs = append(errs, x.crm.Close())
	}
	return errors.Join(append(errs, x.store.Close())...)
}

// urlExporter exports through a running server's POST /v1/exports.
type urlExporter struct {
	c *client.Client
}

func newURLExporter(url, key string) (*urlExporter, error) {
	// No overall timeout: an export streams for as long as it takes (the
	// server bounds a stalled reader per chunk). Sent once: a
	// next-best-offer export shows offers.
	hc := &http.Client{Transport: &http.Transport{ResponseHeaderTimeout: 5 * time.Minute}}
	c, err := client.New(url, client.Options{APIKey: key, HTTPClient: hc, MaxAttempts: 1, UserAgent: "affinity-export"})
	if err != nil {
		return nil, err
	}
	return &urlExporter{c: c}, nil
}

func (x *urlExporter) run(ctx context.Context, r campaign.Request, w io.Writer, progress func(done, total int)) (int, error) {
	req := client.ExportRequest{What: client.Ptr(client.ExportRequestWhat(r.What))}
	if r.Segment != "" {
		req.Segment = client.Ptr(client.SegmentName(r.Segment))
	}
	if len(r.Customers) > 0 {
		req.Customers = &r.Customers
	}
	if r.Limit > 0 {
		req.Limit = &r.Limit
	}
	if r.Channel != "" {
		req.Channel = &r.Channel
	}
	if r.Experiment != "" {
		req.Experiment = client.Ptr(client.ID(r.Experiment))
	}
	if r.Variant != "" {
		req.Variant = &r.Variant
	}
	s, err := x.c.Export(ctx, req)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	lw := &lineCounter{w: w, progress: func(n int) { progress(n, s.Total) }}
	if _, err := io.Copy(lw, s); err != nil {
		return lw.lines, fmt.Errorf("the export stream broke after %d lines: %w", lw.lines, err)
	}
	if s.Total >= 0 && lw.lines > s.Total {
		return lw.lines, fmt.Errorf("the server sent %d lines, announced %d", lw.lines, s.Total)
	}
	return lw.lines, nil
}

func (x *urlExporter) close() error { return nil }

// lineCounter passes bytes through, counting the lines and reporting after
// each write.
type lineCounter struct {
	w        io.Writer
	lines    int
	progress func(int)
}

func (l *lineCounter) Write(p []byte) (int, error) {
	n, err := l.w.Write(p)
	l.lines += bytes.Count(p[:n], []byte{'\n'})
	l.progress(l.lines)
	return n, err
}
