package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"time"

	"github.com/affinity-rec/affinity/api"
	"github.com/affinity-rec/affinity/cluster/node"
	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/crm"
	"github.com/affinity-rec/affinity/recommend"
	"github.com/affinity-rec/affinity/recommend/offer"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", envOr("AFFINITY_ADDR", "127.0.0.1:8080"), "listen address")
	data := fs.String("data", envOr("AFFINITY_DATA", "./data"), "data directory (Badger)")
	config := fs.String("config", "", "JSON config file")
	demo := fs.String("demo", "", "online-retail CSV(.gz) to load when the store is empty")
	insecure := fs.Bool("insecure", false, "allow listening beyond loopback without API keys")
	pprof := fs.Bool("pprof", false, "expose /debug/pprof to admin keys")
	natsURLs := fs.String("nats", envOr("AFFINITY_NATS", ""), "cluster mode: NATS server URL[,URL...] (config \"cluster\" for the rest)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fc, err := readConfig(*config)
	if err != nil {
		return err
	}
	if *natsURLs != "" {
		fc.Cluster.NATS = *natsURLs
	}
	if fc.Cluster.NATS != "" && *demo != "" {
		return fmt.Errorf("--demo loads into one node's store only; in cluster mode load data through POST /v1/events (make cluster does)")
	}
	configDefault(fs, addr, "addr", "AFFINITY_ADDR", fc.Addr)
	configDefault(fs, data, "data", "AFFINITY_DATA", fc.Data)
	log := serveLogger(fc, stderr)
	keys, err := listenKeys(fc, *addr, *insecure)
	if err != nil {
		return err
	}
	so, err := fc.storeOptions(*data, log)
	if err != nil {
		return err
	}
	var holder atomic.Pointer[features.Store]
	if err := setClock(&so, fc.Clock, &holder); err != nil {
		return err
	}
	var nc node.Config
	if fc.Cluster.NATS != "" {
		if nc, err = fc.Cluster.nodeConfig(*addr, log); err != nil {
			return err
		}
		if err := bootstrapEmpty(ctx, *data, nc); err != nil {
			return err
		}
	}
	// Said before the load: without a snapshot it rebuilds the model and
	// may take minutes, during which nothing else would be printed.
	log.Info("loading the store", "dir", *data)
	store, err := openForServe(ctx, so, log)
	if errors.Is(err, errStoppedWhileLoading) {
		return nil // a stop was asked for: not a failure
	}
	if err != nil {
		return openErr(err, *data)
	}
	holder.Store(store)
	var member *node.Node
	if fc.Cluster.NATS != "" {
		nc.Hold = true // serveStore follows once the services have registered their hooks
		if member, err = node.Start(ctx, store, nc); err != nil {
			store.Close()
			return err
		}
	}
	// Before listening, so that a ready server's resident set is its
	// steady one: at 10M events loading peaks 400 MB above it, and the
	// collection and release take about half a second.
	tracked := os.Getenv("GOMEMLIMIT") == ""
	tuneGC(os.Getenv("GOGC") == "", tracked)
	// After tuneGC's collection the live heap is the loaded state's, not a
	// figure from the middle of loading.
	if tracked {
		go trackMemoryLimit(ctx)
	}
	return serveStore(ctx, store, member, fc, keys, *addr, *demo, *pprof, stdout, log)
}

// bootstrapEmpty fills an empty data directory from the cluster's newest
// bootstrap snapshot (node.Bootstrap), so a new node replays only the
// stream's tail; a directory with a store in it resumes from its own.
func bootstrapEmpty(ctx context.Context, dir string, nc node.Config) error {
	empty, err := node.Empty(dir)
	if err != nil || !empty {
		return err
	}
	_, err = node.Bootstrap(ctx, dir, nc)
	return err
}

// configDefault sets *v from the config file when neither the flag nor its
// environment variable gave it: flag, then environment, then config.
func configDefault(fs *flag.FlagSet, v *string, name, env, fromConfig string) {
	if fromConfig != "" && !flagSet(fs, name) && os.Getenv(env) == "" {
		*v = fromConfig
	}
}

// setClock sets the store's clock for the config's "clock": the wall clock
// (the default) for "now", or the newest event for "latest-event"
// (historical data: recency and windows mean what they meant then). holder
// is the store, set once it is open.
func setClock(so *features.Options, clock string, holder *atomic.Pointer[features.Store]) error {
	switch clock {
	case "", "now":
		return nil
	case "latest-event":
		so.Clock = func() time.Time {
			if st := holder.Load(); st != nil {
				if t := st.LatestEventTime(); !t.IsZero() {
					return t
				}
				return st.WallTime() // the stream's clock in cluster mode
			}
			return time.Now()
		}
		return nil
	}
	return fmt.Errorf("config clock must be \"now\" or \"latest-event\", not %q", clock)
}

// serveStore serves store; member is its cluster membership (nil: a single
// node), closed before the store.
func serveStore(ctx context.Context, store *features.Store, member *node.Node, fc fileConfig, keys []api.Key, addr, demo string, pprof bool, stdout io.Writer, log *slog.Logger) error {
	closed := false
	defer func() {
		if !closed {
			if member != nil {
				member.Close()
			}
			store.Close()
		}
	}()
	if err := loadDemo(ctx, store, demo, stdout); err != nil {
		return err
	}
	cs, err := crm.New(store, store.Records(), log)
	if err != nil {
		return fmt.Errorf("cannot start customer value: %w", err)
	}
	defer cs.Close() // before the store's (deferred earlier, run later)
	eng, err := recommend.New(recommend.StoreDeps(store, cs), fc.engineOptions())
	if err != nil {
		return err
	}
	ao := apiOptions(fc, keys, member, pprof, log)
	var limits offer.Limits // only when set: a nil *node.OfferLimits would be a non-nil interface
	var shared *node.OfferLimits
	if member != nil {
		if shared, err = member.OfferLimits(ctx); err != nil {
			return err
		}
		defer shared.Close() // idempotent; the shutdown below closes it in order
		limits = shared
	}
	deps, err := buildDeps(store, cs, eng, limits, log)
	if err != nil {
		return err
	}
	if member != nil {
		member.Follow() // every service's hooks and journals are registered now
	}
	srv, err := api.New(deps, ao)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	printTryLines(stdout, store, ln.Addr().String(), len(keys) > 0)
	log.Info("serving", "addr", ln.Addr().String(), "auth", len(keys) > 0)
	if err := serveUntilDone(ctx, srv, ln, log); err != nil {
		return err
	}
	if err := closeDeps(deps); err != nil {
		log.Warn("closing services", "err", err)
	}
	if shared != nil {
		shared.Close() // leased budget units go back before the node leaves
	}
	cs.Close()
	closed = true
	if member != nil {
		member.Close()
	}
	if err := store.Close(); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// serveLogger is the server's JSON log on w, at debug with log_level "debug".
func serveLogger(fc fileConfig, w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	if fc.LogLevel == "debug" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// listenKeys reads the API keys and checks that addr may be listened on
// with them: HOST:PORT, and beyond loopback only with keys or --insecure.
func listenKeys(fc fileConfig, addr string, insecure bool) ([]api.Key, error) {
	keys, err := fc.apiKeys()
	if err != nil {
		return nil, err
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("--addr %q is not HOST:PORT (such as 127.0.0.1:8080 or :8080)", addr)
	}
	if len(keys) == 0 && !isLoopback(addr) && !insecure {
		return nil, fmt.Errorf("refusing to listen on %s without API keys: set AFFINITY_API_KEYS (read:KEY,write:KEY,admin:KEY), or pass --insecure", addr)
	}
	return keys, nil
}

// errStoppedWhileLoading is openForServe's answer to a stop that came
// before the store was loaded.
var errStoppedWhileLoading = errors.New("stopped while loading the store")

// openForServe opens the store, unless ctx ends first: a store without a
// usable snapshot rebuilds its model while it opens (41-115 s at 150-190k
// events after an interrupted import), and SIGTERM or Ctrl-C was ignored
// until it had finished and the server had started listening. The load is
// then abandoned as it is: the process exits without closing the store,
// which is safe because nothing has been acknowledged yet and the store is
// built to survive a kill at any point (the next start loads it again).
func openForServe(ctx context.Context, so features.Options, log *slog.Logger) (*features.Store, error) {
	type opened struct {
		s   *features.Store
		err error
	}
	done := make(chan opened, 1)
	go func() {
		s, err := features.Open(so)
		done <- opened{s, err}
	}()
	select {
	case o := <-done:
		return o.s, o.err
	case <-ctx.Done():
		log.Warn("stopping while the store loads: exiting without waiting for the load (the next start loads it again)")
		return nil, errStoppedWhileLoading
	}
}

// loadDemo imports the demo file (online-retail format) into an empty store;
// a store that holds events, or no demo file, is left as it is.
func loadDemo(ctx context.Context, store *features.Store, demo string, stdout io.Writer) error {
	if demo == "" || store.Stats().Events > 0 {
		return nil
	}
	fmt.Fprintf(stdout, "empty store: loading demo data from %s\n", demo)
	sum, err := importFiles(ctx, store, "online-retail", []string{demo}, io.Discard)
	if err != nil {
		return fmt.Errorf("cannot load demo data: %w", err)
	}
	fmt.Fprintf(stdout, "loaded %d events (%d customers, %d products)\n", sum.Accepted, store.NumCustomers(), store.NumProducts())
	return nil
}

// serveUntilDone serves srv on ln until ctx ends, then drains: readiness
// goes false first (a load balancer stops sending), then requests in flight
// get up to 15 s. A listener that fails before that is the error.
func serveUntilDone(ctx context.Context, srv *api.Server, ln net.Listener, log *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.App().Listener(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests")
	srv.SetReady(false)
	if err := srv.App().ShutdownWithTimeout(15 * time.Second); err != nil {
		log.Warn("shutdown", "err", err)
	}
	return nil
}

// apiOptions are the HTTP server's options from the config and flags.
func apiOptions(fc fileConfig, keys []api.Key, member *node.Node, pprof bool, log *slog.Logger) api.Options {
	ao := api.DefaultOptions()
	ao.Keys = keys
	ao.Logger = log
	ao.RateLimit = fc.RateLimit
	ao.EnablePprof = pprof
	if member != nil {
		ao.Cluster = member // only when set: a nil *node.Node would be a non-nil interface
	}
	if fc.BodyLimitMB > 0 {
		ao.BodyLimit = fc.BodyLimitMB << 20
	}
	if fc.StreamMB > 0 {
		ao.StreamLimit = fc.StreamMB << 20
	}
	ao.StreamLimit = max(ao.StreamLimit, ao.BodyLimit)
	return ao
}

func printTryLines(w io.Writer, store *features.Store, addr string, auth bool) {
	base := "http://" + addr
	hdr := ""
	if auth {
		hdr = ` -H "Authorization: Bearer $KEY"`
	}
	fmt.Fprintf(w, "affinity listening on %s\nconsole: %s/console/\ntry:\n", base, base)
	fmt.Fprintf(w, "  curl%s '%s/v1/popular?limit=5'\n", hdr, base)
	prods := store.Model().Popular[features.BasisAny]
	if len(prods) > 0 {
		fmt.Fprintf(w, "  curl%s '%s/v1/products/%s/related?limit=5'\n", hdr, base, store.ProductName(prods[0].Product))
	}
	if cs := store.SampleCustomers(1); len(cs) > 0 {
		fmt.Fprintf(w, "  curl%s '%s/v1/customers/%s/recommendations?limit=5'\n", hdr, base, cs[0])
	}
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// openErr explains the common failure of opening a store in use.
func openErr(err error, dir string) error {
	if strings.Contains(err.Error(), "Cannot acquire directory lock") {
		return fmt.Errorf("the data directory %s is in use by another affinity process (stop it, or POST events to it)", dir)
	}
	return err
}

// trackMemoryLimit keeps Go's soft memory limit at the live heap plus the
// GC headroom, re-read every 2 s as the data grows. The GC target alone
// bounds the heap, not the resident set: spans freed after a refresh or a
// burst of requests stayed mapped, and at 10M events the process held
// 300 MB more than its heap. Under the limit the runtime returns them to
// the OS. The limit moves with the live heap, so it does not bind the live
// heap itself; re-read every 15 s it did for a few seconds when Badger's
// compactions allocated half a gigabyte at once, and the collector ran back
// to back (30 collections in 25 s). It was the live heap plus 1.5 times the
// headroom until refreshes stopped allocating a slice per customer: at the
// headroom itself a 60 s mixed run at 10M events peaked at 1.49 GB instead
// of 1.58 GB, at the same throughput.
func trackMemoryLimit(ctx context.Context) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			if live := sample[0].Value.Uint64(); live > 0 {
				debug.SetMemoryLimit(int64(live) + gcHeadroom)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// gcHeadroom is the garbage a server lets pile up between collections.
const gcHeadroom = 256 << 20

// tuneGC runs once the store is loaded. Loading allocated more than the
// state it keeps (histories grown by append, decoding buffers): those pages
// go back to the OS now rather than when the scavenger gets to them. Then, unless GOGC is set, the GC target is sized
// so that about gcHeadroom of garbage accumulates between collections:
// nearly all of a server's heap is the derived state, which lives as long as
// the process, while per-request garbage is small, so Go's default (a new
// collection when the heap has doubled) would let a 10M-event store's
// resident set grow by a gigabyte of garbage.
//
// Small stores collect less often than Go's default too, up to 10 times
// their heap, when the tracked memory limit bounds the heap at live +
// gcHeadroom anyway (tracked): on two cores a collection's mark phase takes
// half a core from the requests. On Online Retail (70 MB, so 375%)
// nine alternating pairs of 8 s open-loop runs at 20k req/s had two
// collections instead of four, a lower p99 in eight pairs and a lower p99.9
// in all nine (p99 1.4-1.8 against 2.1-4.2 ms in the quietest three). The
// cost is the resident set: 214 MB after such a run instead of 148 MB.
func tuneGC(setPercent, tracked bool) {
	debug.FreeOSMemory()
	if !setPercent {
		return
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.HeapAlloc == 0 {
		return
	}
	pct := int(gcHeadroom * 100 / ms.HeapAlloc)
	most := 100
	if tracked {
		most = 1000
	}
	debug.SetGCPercent(max(20, min(most, pct)))
}
