//go:build browser

package api

// The console in a real browser: headless Chromium driven over the
// DevTools protocol (chromedp) against a real server loaded with the demo
// data. Each page is checked against the API's own answers, the segment,
// offer and experiment forms are used with the keyboard, every page is
// screenshotted at 1280x800 and 390x844 (artifacts/console/), and any
// console error, uncaught exception or failed request fails the test.
// Run with `make test-browser`.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend"
	"github.com/affinity-rec/affinity/recommend/offer"
)

// consoleArtifacts is where the screenshots and page weights go (gitignored;
// CI keeps the folder).
const consoleArtifacts = "../artifacts/console"

// demoConsoleServer serves the whole demo sample with every feature on, on a
// loopback listener; it returns the base URL.
func demoConsoleServer(t *testing.T) string {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	evs, prods := demoEvents(t, 1<<30)
	st, eng := seededStore(t, func(o *features.Options) {
		o.Logger = quiet
		o.Clock = func() time.Time { return time.Date(2011, 12, 10, 0, 0, 0, 0, time.UTC) }
	}, evs)
	if err := st.PutProducts(prods); err != nil {
		t.Fatal(err)
	}
	st.Refresh()
	oo := offer.DefaultOptions()
	oo.Logger = quiet
	offers, err := offer.New(st.Records(), st, crmOf(t, st), eng, oo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { offers.Close() })
	x := newTestExperiments(t, st, quiet, 0)
	srv := serverOver(t, Deps{Store: st, Engine: eng, CRM: crmOf(t, st), Experiments: x, Offers: offers}, quiet)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.App().Listener(ln)
	t.Cleanup(func() { srv.App().Shutdown() })
	return "http://" + ln.Addr().String()
}

// pageWatch records what must not happen in the page: exceptions, console
// errors and warnings, errors the browser logs itself (a blocked resource,
// a policy violation), failed requests (status >= 400 or a network
// failure), less those the test provokes on purpose (expect), and any
// request to a host other than the server's (nothing may leave the
// machine).
type pageWatch struct {
	mu       sync.Mutex
	host     string // the server's host:port
	problems []string
	expect   func(url string, status int64) bool
	urls     map[network.RequestID]string
	load     pageLoad // what the page fetched since the last reset
}

// pageLoad is what one page load transferred: encoded bytes (headers and
// compressed bodies, as on the wire) and requests, for the console's own
// files and for API answers.
type pageLoad struct {
	assetBytes, apiBytes int64
	assets, apiCalls     int
	encodings            map[string]int // the console files' Content-Encoding
}

func (w *pageWatch) listen(ctx context.Context) {
	chromedp.ListenTarget(ctx, func(ev any) {
		w.mu.Lock()
		defer w.mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			w.problems = append(w.problems, "exception: "+e.ExceptionDetails.Error())
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError || e.Type == runtime.APITypeWarning {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				w.problems = append(w.problems, fmt.Sprintf("console.%s: %s", e.Type, strings.Join(parts, " ")))
			}
		case *cdplog.EventEntryAdded:
			// Failed requests come through the network events, where the
			// expected ones are let through.
			if e.Entry.Level == cdplog.LevelError && e.Entry.Source != cdplog.SourceNetwork {
				w.problems = append(w.problems, fmt.Sprintf("browser log (%s): %s %s", e.Entry.Source, e.Entry.Text, e.Entry.URL))
			}
		case *network.EventRequestWillBeSent:
			w.urls[e.RequestID] = e.Request.Method + " " + e.Request.URL
			if u, err := url.Parse(e.Request.URL); err != nil || (u.Scheme != "data" && u.Scheme != "about" && u.Host != w.host) {
				w.problems = append(w.problems, "request to another host: "+e.Request.URL)
			}
		case *network.EventResponseReceived:
			if u, err := url.Parse(e.Response.URL); err == nil && strings.HasPrefix(u.Path, "/console/") && e.Response.Status == 200 {
				if w.load.encodings == nil {
					w.load.encodings = map[string]int{}
				}
				enc, _ := e.Response.Headers["Content-Encoding"].(string)
				w.load.encodings[enc]++
			}
			if e.Response.Status >= 400 && (w.expect == nil || !w.expect(w.urls[e.RequestID], e.Response.Status)) {
				w.problems = append(w.problems, fmt.Sprintf("request failed: %s -> %d", w.urls[e.RequestID], e.Response.Status))
			}
		case *network.EventLoadingFailed:
			w.problems = append(w.problems, fmt.Sprintf("request failed: %s: %s", w.urls[e.RequestID], e.ErrorText))
		case *network.EventLoadingFinished:
			if u, err := url.Parse(strings.TrimPrefix(w.urls[e.RequestID], "GET ")); err == nil && strings.HasPrefix(u.Path, "/console/") {
				w.load.assetBytes += int64(e.EncodedDataLength)
				w.load.assets++
			} else {
				w.load.apiBytes += int64(e.EncodedDataLength)
				w.load.apiCalls++
			}
		}
	})
}

func (w *pageWatch) check(t *testing.T, where string) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.problems) > 0 {
		t.Fatalf("%s: %s", where, strings.Join(w.problems, "\n"))
	}
}

func (w *pageWatch) setExpect(f func(string, int64) bool) {
	w.mu.Lock()
	w.expect = f
	w.mu.Unlock()
}

// apiGet reads an API answer from Go, to hold the page to.
func apiGet(t *testing.T, base, path string, v any) {
	t.Helper()
	res, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d", path, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	w    *pageWatch
}

func (b *browser) run(where string, actions ...chromedp.Action) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", where, err)
	}
	b.w.check(b.t, where)
}

// texts returns the text of every element sel matches.
func (b *browser) texts(sel string) []string {
	b.t.Helper()
	var out []string
	b.run("read "+sel, chromedp.Evaluate(fmt.Sprintf(`[...document.querySelectorAll(%q)].map(e => e.textContent.trim())`, sel), &out))
	return out
}

func (b *browser) open(hash, waitSel string) {
	b.t.Helper()
	b.run("open "+hash, chromedp.Navigate(b.base+"/console/#"+hash), chromedp.WaitVisible(waitSel, chromedp.ByQuery))
}

func newBrowser(t *testing.T, base string) *browser {
	bin := findChromium(t)
	// Chromium's own output is kept and shown when the test fails: a
	// browser that exited surfaces in chromedp only as "context canceled"
	// (or a navigation's net::ERR_ABORTED).
	out := &tailBuffer{max: 32 << 10}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("chromium's output (last %d KiB):\n%s", out.max>>10, out.String())
		}
	})
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 800), chromedp.Flag("hide-scrollbars", true), chromedp.UserDataDir(t.TempDir()),
		chromedp.CombinedOutput(out))
	// Registered before the browser's cancel, so the thread is let go after
	// the browser is gone (cleanups run last first).
	thread := newKeptThread(t)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	// The DevTools traffic's last messages (each cut short) and chromedp's
	// own errors, shown with Chromium's output when a test fails: they tell
	// a closed socket from a message chromedp could not read.
	cdp := &tailBuffer{max: 16 << 10}
	logf := func(f string, a ...any) {
		if m := fmt.Sprintf(f, a...); len(m) > 300 {
			fmt.Fprintf(cdp, "%s... (%d bytes)\n", m[:300], len(m))
		} else {
			fmt.Fprintln(cdp, m)
		}
	}
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithBrowserOption(chromedp.WithBrowserDebugf(logf),
		chromedp.WithBrowserErrorf(logf), chromedp.WithBrowserLogf(logf)))
	t.Cleanup(func() { cancel(); cancelA() })
	// Registered after the cancel, so it runs before it (cleanups run last
	// first) and sees the process as the test left it.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the DevTools connection's last messages:\n%s\nbrowser %s", cdp.String(), browserState(ctx))
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	w := &pageWatch{host: u.Host, urls: map[network.RequestID]string{}}
	w.listen(ctx)
	b := &browser{t: t, ctx: ctx, base: base, w: w}
	// The first Run starts the browser and ties it to its context: b.ctx,
	// not a per-step timeout's child. It runs on the kept thread: chromedp
	// starts Chromium with a parent-death signal (SIGKILL), which Linux
	// sends when the thread that forked it exits, not the process, and the
	// server under test ends threads: its background work runs on niced
	// threads it lets die (features/background.LowerPriority). A browser
	// forked from a thread later used for that work was killed about a
	// second into the test, one start in twenty or so.
	err = thread.run(func() error {
		return chromedp.Run(ctx, network.Enable(), runtime.Enable(), cdplog.Enable(), network.SetCacheDisabled(true), chromedp.EmulateViewport(1280, 800))
	})
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return b
}

func ids(items []recommend.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ProductID
	}
	return out
}

func sameList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("%s: page shows %v, API says %v", what, got, want)
	}
}

func writeArtifact(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(consoleArtifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(consoleArtifacts, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func httpGetText(u string) (string, error) {
	res, err := http.Get(u)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return string(b), err
}

// browserState says whether the browser process behind ctx still runs: its
// state in /proc (Z: killed or exited and not yet reaped), or gone.
func browserState(ctx context.Context) string {
	c := chromedp.FromContext(ctx)
	if c == nil || c.Browser == nil || c.Browser.Process() == nil {
		return "never started"
	}
	pid := c.Browser.Process().Pid
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return fmt.Sprintf("process %d gone", pid)
	}
	s := string(b)
	return fmt.Sprintf("process %d in state %s", pid, strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[0])
}

// keptThread is an OS thread held by a locked goroutine until the test
// ends, to fork a child whose parent-death signal must not fire before.
type keptThread struct{ work chan func() }

func newKeptThread(t *testing.T) keptThread {
	k := keptThread{work: make(chan func())}
	go func() {
		goruntime.LockOSThread()
		// Unlocked, not exited: the thread goes back to the runtime.
		defer goruntime.UnlockOSThread()
		for f := range k.work {
			f()
		}
	}()
	t.Cleanup(func() { close(k.work) })
	return k
}

// run calls f on the kept thread.
func (k keptThread) run(f func() error) error {
	errc := make(chan error, 1)
	k.work <- func() { errc <- f() }
	return <-errc
}

// tailBuffer keeps the last max bytes written to it; Chromium writes from
// chromedp's goroutine while a failing test reads.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (w *tailBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b = append(w.b, p...)
	if over := len(w.b) - w.max; over > 0 {
		w.b = append(w.b[:0], w.b[over:]...)
	}
	return len(p), nil
}

func (w *tailBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.b)
}
