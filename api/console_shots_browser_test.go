//go:build browser

package api

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// noJunk fails when the page prints what a rendering slip leaves behind.
func (b *browser) noJunk(name string) {
	b.t.Helper()
	var text string
	b.run("text "+name, chromedp.Evaluate(`document.getElementById("main").innerText`, &text))
	for _, junk := range []string{"[object ", "undefined", "NaN", "Infinity"} {
		if strings.Contains(text, junk) {
			b.t.Fatalf("page %s shows %q:\n%s", name, junk, text)
		}
	}
}

// consolePages are the pages screenshotted, with what shows they are ready.
var consolePages = []struct{ name, hash, ready, scroll string }{
	{"overview", "/", "#counts[data-ready]", ""},
	{"products", "/products?q=heart", "#product-results[data-ready=ok]", ""},
	{"product", "/products/85123A", "#audience[data-ready=ok]", ""},
	{"customers", "/customers", "#customer-sample[data-ready=ok]", ""},
	{"customer", "/customers/17809", "#history[data-ready=ok]", ""},
	{"customer-whatif", "/customers/17809?context=22086&variant=home-list/popular&rules=cheap", "#recs-whatif[data-ready=ok]", "#whatif"},
	{"value", "/value", "#tier-table", ""},
	{"segments", "/segments", "#segment-list[data-ready=ok]", ""},
	{"segment", "/segments/big-spenders", "#lift[data-ready=ok]", ""},
	{"offers", "/offers", "#offer-list[data-ready=ok]", ""},
	{"offer", "/offers/winter-mugs", "#offer-audience[data-ready=ok]", ""},
	{"offer-series", "/offers/bundle-demo", "#offer-series[data-ready=ok]", "#offer-series"},
	{"experiments", "/experiments", "#experiment-list[data-ready=ok]", ""},
	{"experiment", "/experiments/checkout-demo", "#results[data-ready=ok] svg.chart", ""},
	{"rules", "/rules", "#rule-list[data-ready=ok]", ""},
	{"rule", "/rules/cheap", "#rule-after[data-ready=ok]", ""},
	{"evaluation", "/evaluation", "#eval", ""},
}

// consoleSizes are the viewports every page is shot at: a laptop and a
// phone.
var consoleSizes = [][2]int64{{1280, 800}, {390, 844}}

// pageFacts are what every page must have: a title naming it (the same as
// its heading), a label for every field, a name for every button and link,
// and nothing wider than the screen.
const pageFacts = `(() => {
	const unlabelled = [...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
		.filter((e) => !e.labels.length && !e.getAttribute("aria-label") && !e.getAttribute("aria-labelledby"))
		.map((e) => e.id || e.outerHTML.slice(0, 60));
	const unnamed = [...document.querySelectorAll("a, button")]
		.filter((e) => !e.textContent.trim() && !e.getAttribute("aria-label"))
		.map((e) => e.outerHTML.slice(0, 60));
	const h1 = document.querySelector("main h1");
	return { title: document.title, h1: h1 ? h1.textContent.trim() : "", unlabelled, unnamed,
		scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth };
})()`

type facts struct {
	Title, H1               string
	Unlabelled, Unnamed     []string
	ScrollWidth, InnerWidth int64
}

// screenshots loads every page afresh (cache off) at both sizes, checks
// its title, labels and width, saves the screenshots, writes the bytes
// each first load transferred and checks the set of screenshots is whole.
func (b *browser) screenshots() {
	if err := os.RemoveAll(consoleArtifacts); err != nil {
		b.t.Fatal(err)
	}
	var weights strings.Builder
	fmt.Fprintf(&weights, "| page | console files (requests) | API answers (requests) | total bytes |\n| --- | ---: | ---: | ---: |\n")
	for _, size := range consoleSizes {
		b.run("viewport", chromedp.EmulateViewport(size[0], size[1]))
		for _, p := range consolePages {
			b.run("blank", chromedp.Navigate("about:blank"))
			b.w.mu.Lock()
			b.w.load = pageLoad{}
			b.w.mu.Unlock()
			var shot []byte
			b.run("open "+p.name, chromedp.Navigate(b.base+"/console/#"+p.hash), chromedp.WaitVisible(p.ready, chromedp.ByQuery))
			if p.scroll != "" {
				b.run("scroll", chromedp.ScrollIntoView(p.scroll, chromedp.ByQuery))
			}
			b.run("shot "+p.name, chromedp.Sleep(400*time.Millisecond), chromedp.CaptureScreenshot(&shot))
			b.noJunk(p.name)
			b.checkFacts(p.name, size[0])
			writeArtifact(b.t, fmt.Sprintf("%s-%d.png", p.name, size[0]), shot)
			if size[0] == 1280 {
				b.w.mu.Lock()
				l := b.w.load
				b.w.mu.Unlock()
				if len(l.encodings) != 1 || l.encodings["br"] != l.assets {
					b.t.Fatalf("page %s: console files served with Content-Encoding %v; want all br", p.name, l.encodings)
				}
				fmt.Fprintf(&weights, "| %s | %d (%d) | %d (%d) | %d |\n", p.name, l.assetBytes, l.assets, l.apiBytes, l.apiCalls, l.assetBytes+l.apiBytes)
			}
		}
	}
	writeArtifact(b.t, "weights.md", []byte(weights.String()))
	b.t.Log("\n" + weights.String())
	b.checkShots()
}

func (b *browser) checkFacts(name string, width int64) {
	t := b.t
	t.Helper()
	var f facts
	b.run("facts "+name, chromedp.Evaluate(pageFacts, &f))
	if f.H1 == "" || f.Title != f.H1+" · Affinity console" {
		t.Fatalf("page %s: title %q, heading %q", name, f.Title, f.H1)
	}
	if len(f.Unlabelled) > 0 || len(f.Unnamed) > 0 {
		t.Fatalf("page %s: fields without a label %q, links or buttons without a name %q", name, f.Unlabelled, f.Unnamed)
	}
	if f.InnerWidth != width || f.ScrollWidth > f.InnerWidth {
		t.Fatalf("page %s at %d wide: the document is %d wide in a %d window (scrolls sideways)", name, width, f.ScrollWidth, f.InnerWidth)
	}
}

// jsRoute finds the router's patterns in app.js: [/^\/products$/, products].
var jsRoute = regexp.MustCompile(`\[/(\^[^\n]*?\$)/, \w+\]`)

// checkShots fails unless every page of the router has a screenshot at
// every size, each a PNG as wide as its viewport.
func (b *browser) checkShots() {
	t := b.t
	app, err := consoleFiles.ReadFile("console/app.js")
	if err != nil {
		t.Fatal(err)
	}
	routes := jsRoute.FindAllStringSubmatch(string(app), -1)
	if len(routes) < 10 {
		t.Fatalf("found %d routes in app.js: the pattern no longer matches the router", len(routes))
	}
	for _, r := range routes {
		re := regexp.MustCompile(r[1])
		covered := false
		for _, p := range consolePages {
			covered = covered || re.MatchString(strings.SplitN(p.hash, "?", 2)[0])
		}
		if !covered {
			t.Errorf("no screenshot of the page routed by /%s/", r[1])
		}
	}
	for _, p := range consolePages {
		for _, size := range consoleSizes {
			name := filepath.Join(consoleArtifacts, fmt.Sprintf("%s-%d.png", p.name, size[0]))
			raw, err := os.ReadFile(name)
			if err != nil {
				t.Errorf("missing screenshot: %v", err)
				continue
			}
			cfg, err := png.DecodeConfig(bytes.NewReader(raw))
			if err != nil || int64(cfg.Width) != size[0] {
				t.Errorf("%s: not a %d-wide PNG (%v, width %d)", name, size[0], err, cfg.Width)
			}
		}
	}
	abs, _ := filepath.Abs(consoleArtifacts)
	t.Logf("screenshots of %d pages at %d sizes in %s", len(consolePages), len(consoleSizes), abs)
}
