//go:build browser

package api

// The console with the keyboard alone: Tab, Shift-Tab, Enter, Space and
// the arrow keys, sent as key events through the DevTools protocol; no
// click, no script that sets a value. Every control the Tab key reaches
// must show where the focus is.

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// focus describes document.activeElement.
type focus struct {
	Tag, ID, Text, Href, Type string
	Ring, InView, Main        bool
}

const focusJS = `(() => {
	const e = document.activeElement, s = getComputedStyle(e), r = e.getBoundingClientRect();
	return { tag: e.tagName.toLowerCase(), id: e.id, text: (e.textContent || "").trim().slice(0, 60),
		href: e.getAttribute("href") || "", type: e.type || "",
		ring: s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2,
		inView: r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight + 1 && r.right <= innerWidth + 1,
		main: e.id === "main" };
})()`

func (b *browser) focused() focus {
	b.t.Helper()
	var f focus
	b.run("focus", chromedp.Evaluate(focusJS, &f))
	return f
}

// press sends keys (kb names or text) to the focused element.
func (b *browser) press(keys ...string) {
	b.t.Helper()
	var acts []chromedp.Action
	for _, k := range keys {
		acts = append(acts, chromedp.KeyEvent(k))
	}
	b.run("press", acts...)
}

// tabTo presses Tab (Shift-Tab when back) until the focus is on what
// match wants, at most max times; every stop must show a focus ring and
// be on screen.
func (b *browser) tabTo(what string, back bool, max int, match func(focus) bool) focus {
	b.t.Helper()
	var mods []chromedp.KeyOption
	if back {
		mods = append(mods, chromedp.KeyModifiers(input.ModifierShift))
	}
	var path []string
	for range max {
		b.run("tab", chromedp.KeyEvent(kb.Tab, mods...))
		f := b.focused()
		path = append(path, f.Tag+"#"+f.ID+"("+f.Text+")")
		if f.Tag == "body" {
			continue // Tab past the last control leaves the page for the browser's own UI
		}
		if !f.Ring || !f.InView {
			b.t.Fatalf("tabbing to %s: %s %q (id %q) shows no focus ring (%v) or is off screen (%v)", what, f.Tag, f.Text, f.ID, f.Ring, f.InView)
		}
		if match(f) {
			return f
		}
	}
	b.t.Fatalf("%d Tabs did not reach %s; the focus went %s", max, what, strings.Join(path, " → "))
	return focus{}
}

func (b *browser) wait(sel string) {
	b.t.Helper()
	b.run("wait "+sel, chromedp.WaitVisible(sel, chromedp.ByQuery))
}

func (b *browser) title(want string) {
	b.t.Helper()
	var got string
	b.run("title", chromedp.Title(&got))
	if got != want+" · Affinity console" {
		b.t.Fatalf("title %q, want %q", got, want+" · Affinity console")
	}
}

// navTo moves the focus back to the page links and opens one with Enter.
func (b *browser) navTo(name, ready string) {
	b.t.Helper()
	b.tabTo("the "+name+" link", true, 30, func(f focus) bool { return f.Tag == "a" && f.Text == name && strings.HasPrefix(f.Href, "#/") })
	b.press(kb.Enter)
	b.wait(ready)
	b.title(name)
	if f := b.focused(); !f.Main {
		b.t.Fatalf("after opening %s the focus is on %s %q, not the page's content", name, f.Tag, f.Text)
	}
}

func TestConsoleKeyboardInBrowser(t *testing.T) {
	base := demoConsoleServer(t)
	// A running experiment for the what-if box's variant list.
	req, _ := http.NewRequest("PUT", base+"/v1/experiments/kb-list", strings.NewReader(`{"status":"running","variants":[{"name":"control"},{"name":"popular","params":{"algorithm":"popular"}}]}`))
	req.Header.Set("Content-Type", "application/json")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("create experiment: %v %v", err, res)
	}
	b := newBrowser(t, base)
	b.open("/", "#counts[data-ready]")
	b.title("Overview")

	// The skip link is the first stop and shows when focused; Enter puts
	// the focus on the content without leaving the page.
	checkKeyboardSkipLink(t, b)

	// Products: search with the form, open the first match.
	checkKeyboardProductSearch(b)

	// Customers: look one up, then the what-if box with a context product
	// and a variant picked with the arrow keys, sent with Space.
	checkKeyboardCustomerWhatIf(t, b)

	// Segments: name, rule (checked as typed), save with Enter on the button.
	checkKeyboardSegmentCreate(b)

	// Experiments: a draft with a third variant added with Space and its
	// algorithm picked with the arrow keys.
	checkKeyboardExperimentDraft(t, b, base)

	// On a phone: every Tab stop of the busiest page still shows its ring
	// and is scrolled into view.
	b.run("phone", chromedp.EmulateViewport(390, 844))
	b.open("/customers/17809", "#history[data-ready=ok]")
	stops := 0
	b.tabTo("the end of the customer page", false, 200, func(f focus) bool { stops++; return f.Text == "openapi.json" })
	if stops < 20 {
		t.Fatalf("only %d Tab stops on the customer page", stops)
	}
	var seg struct{ Rule string }
	apiGet(t, base, "/v1/segments/kb-segment", &seg)
	if seg.Rule != "frequency >= 3" {
		t.Fatalf("segment rule stored as %q", seg.Rule)
	}
}

// checkKeyboardSkipLink checks Enter on the skip link puts the focus on
// the content and stays on the page.
func checkKeyboardSkipLink(t *testing.T, b *browser) {
	t.Helper()
	b.tabTo("the skip link", true, 30, func(f focus) bool { return f.Text == "Skip to content" })
	b.press(kb.Enter)
	var hash string
	b.run("hash", chromedp.Evaluate(`location.hash`, &hash))
	if f := b.focused(); !f.Main || hash != "#/" {
		t.Fatalf("skip link: focus on %s %q, location %q", f.Tag, f.ID, hash)
	}
}

// checkKeyboardProductSearch searches products with the form and opens the first match.
func checkKeyboardProductSearch(b *browser) {
	b.t.Helper()
	b.navTo("Products", "#q")
	b.tabTo("the search field", false, 3, func(f focus) bool { return f.ID == "q" })
	b.press("mug", kb.Enter)
	b.wait("#product-results[data-ready=ok]")
	first := b.texts("#product-table tbody tr td:first-child a")[0]
	b.tabTo("the first product", false, 12, func(f focus) bool { return f.Tag == "a" && f.Text == first })
	b.press(kb.Enter)
	b.wait("#related-bought[data-ready=ok]")
	b.title("Product " + first)
}

// checkKeyboardCustomerWhatIf looks a customer up, opens an explanation
// and previews the what-if box.
func checkKeyboardCustomerWhatIf(t *testing.T, b *browser) {
	t.Helper()
	b.navTo("Customers", "#customer-sample[data-ready=ok]")
	b.tabTo("the customer field", false, 3, func(f focus) bool { return f.ID == "customer" })
	b.press("17809", kb.Enter)
	b.wait("#recs[data-ready=ok]")
	b.title("Customer 17809")
	// An item's explanation opens with Enter; its products are the next stops.
	b.tabTo("the first explanation", false, 40, func(f focus) bool { return f.Tag == "summary" })
	b.press(kb.Enter)
	var open bool
	b.run("open", chromedp.Evaluate(`document.activeElement.parentElement.open`, &open))
	if !open {
		t.Fatal("Enter on an explanation's summary did not open it")
	}
	if f := b.tabTo("a product in the explanation", false, 1, func(f focus) bool { return true }); f.Tag != "a" || !strings.HasPrefix(f.Href, "#/products/") {
		t.Fatalf("after an open explanation the focus is on %s %q", f.Tag, f.Href)
	}
	b.tabTo("the context field", false, 60, func(f focus) bool { return f.ID == "context" })
	b.press("22086")
	b.tabTo("the variant list", false, 1, func(f focus) bool { return f.ID == "variant" })
	var variant string
	for range 4 {
		b.press(kb.ArrowDown)
		b.run("variant", chromedp.Evaluate(`document.querySelector("#variant").selectedOptions[0].textContent`, &variant))
		if variant == "kb-list: popular" {
			break
		}
	}
	if variant != "kb-list: popular" {
		t.Fatalf("arrow keys picked %q", variant)
	}
	b.tabTo("the preview button", false, 1, func(f focus) bool { return f.Tag == "button" && f.Text == "Preview" })
	b.press(" ")
	b.wait("#recs-whatif[data-ready=ok]")
	if h := b.texts("#recs-whatif h3")[0]; !strings.Contains(h, "22086") || !strings.Contains(h, "kb-list/popular") {
		t.Fatalf("what-if heading %q", h)
	}
}

// checkKeyboardSegmentCreate creates a segment from the form.
func checkKeyboardSegmentCreate(b *browser) {
	b.t.Helper()
	b.navTo("Segments", "#segment-list[data-ready=ok]")
	b.tabTo("the segment name", false, 20, func(f focus) bool { return f.ID == "name" })
	b.press("kb-segment")
	b.tabTo("the rule", false, 1, func(f focus) bool { return f.ID == "rule" })
	b.press("frequency >= 3")
	b.wait(".rule-status.ok")
	b.tabTo("the create button", false, 3, func(f focus) bool { return f.Tag == "button" && f.Text == "Create segment" })
	b.press(kb.Enter)
	b.wait("#members[data-ready=ok]")
	b.title("Segment kb-segment")
}

// checkKeyboardExperimentDraft creates a three-variant draft and checks what was stored.
func checkKeyboardExperimentDraft(t *testing.T, b *browser, base string) {
	t.Helper()
	b.navTo("Experiments", "#experiment-list[data-ready=ok]")
	b.tabTo("the experiment id", false, 20, func(f focus) bool { return f.ID == "experiment_id" })
	b.press("kb-draft")
	b.tabTo("the first variant's name", false, 1, func(f focus) bool { return f.ID == "v0-name" })
	b.press("control")
	b.tabTo("the second variant's name", false, 4, func(f focus) bool { return f.ID == "v1-name" })
	b.press("more")
	b.tabTo("the add button", false, 4, func(f focus) bool { return f.Text == "Add a variant" })
	b.press(" ")
	b.tabTo("the third variant's name", true, 10, func(f focus) bool { return f.ID == "v2-name" })
	b.press("popular")
	b.tabTo("the third variant's algorithm", false, 2, func(f focus) bool { return f.ID == "v2-algorithm" })
	var algo string
	for range 5 {
		b.press(kb.ArrowDown)
		b.run("algorithm", chromedp.Evaluate(`document.querySelector("#v2-algorithm").value`, &algo))
		if algo == "popular" {
			break
		}
	}
	b.tabTo("the create button", false, 6, func(f focus) bool { return f.Text == "Create as draft" })
	b.press(kb.Enter)
	b.wait("#results[data-ready=ok]")
	b.title("Experiment kb-draft")
	var x struct {
		Status   string
		Variants []struct {
			Name   string
			Params struct{ Algorithm string }
		}
	}
	apiGet(t, base, "/v1/experiments/kb-draft", &x)
	if x.Status != "draft" || len(x.Variants) != 3 || x.Variants[2].Name != "popular" || x.Variants[2].Params.Algorithm != "popular" {
		t.Fatalf("experiment stored as %+v", x)
	}
}
