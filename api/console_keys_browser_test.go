//go:build browser

package api

import (
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// With API keys configured the console asks for one, keeps it in the
// tab's session storage only, and with a read key disables every edit
// form with a note naming the scope it needs.
func TestConsoleReadKeyInBrowser(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, eng := seededStore(t, nil, purchases(20, 5, 10, func(c, p int) bool { return (c+p)%3 != 0 }))
	ao := DefaultOptions()
	ao.Logger = quiet
	ao.Keys = []Key{{Scope: ScopeRead, Key: "reader-key-1"}, {Scope: ScopeAdmin, Key: "admin-key-1"}}
	srv, err := New(Deps{Store: st, Engine: eng, CRM: crmOf(t, st)}, ao)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.App().Listener(ln)
	t.Cleanup(func() { srv.App().Shutdown() })
	b := newBrowser(t, "http://"+ln.Addr().String())
	// The first whoami has no key: its 401 is what asks for one.
	b.w.setExpect(func(u string, status int64) bool { return status == 401 && strings.HasSuffix(u, "/v1/whoami") })
	b.open("/segments", "#api-key")
	b.run("sign in", chromedp.SendKeys("#api-key", "reader-key-1\r", chromedp.ByQuery),
		chromedp.WaitVisible("#segment-list[data-ready=ok]", chromedp.ByQuery))
	b.w.setExpect(nil)
	note := b.texts("#segment-form .notice")
	if len(note) != 1 || !strings.Contains(note[0], "read scope") || !strings.Contains(note[0], "admin scope") {
		t.Fatalf("read-only note: %q", note)
	}
	var disabled bool
	var stored, local string
	b.run("state", chromedp.Evaluate(`[...document.querySelectorAll("#segment-form textarea, #segment-form button")].every(e => e.disabled)`, &disabled),
		chromedp.Evaluate(`sessionStorage.getItem("affinity-console-key")`, &stored),
		chromedp.Evaluate(`JSON.stringify(localStorage)`, &local))
	if !disabled || stored != "reader-key-1" || strings.Contains(local, "reader-key-1") {
		t.Fatalf("disabled %v, session storage %q, local storage %s", disabled, stored, local)
	}
	b.open("/customers", "#customer-sample[data-ready=ok]")
	if got := b.texts("#customer-sample")[0]; !strings.Contains(got, "needs an admin key") {
		t.Fatalf("customers page for a read key: %q", got)
	}
	// Audiences list people: admin only, so the panel says why it is empty
	// and asks nothing the key would be refused.
	// The products have no catalogue records here: their 404s are expected.
	b.w.setExpect(func(u string, status int64) bool { return status == 404 && strings.Contains(u, "/v1/products/p") })
	b.open("/products/p1", "#audience[data-ready=ok]")
	b.run("lists", chromedp.WaitVisible("#related-any[data-ready]", chromedp.ByQuery), chromedp.WaitVisible("#related-bought[data-ready]", chromedp.ByQuery),
		chromedp.WaitVisible("#related-viewed[data-ready]", chromedp.ByQuery))
	b.w.setExpect(nil)
	if got := b.texts("#audience")[0]; !strings.Contains(got, "admin scope") || !strings.Contains(got, "read scope") {
		t.Fatalf("product audience for a read key: %q", got)
	}
	b.open("/rules", "#rule-list[data-ready=ok]")
	if note := b.texts("#rule-form .notice"); len(note) != 1 || !strings.Contains(note[0], "admin scope") {
		t.Fatalf("rules form for a read key: %q", note)
	}
	if who := b.texts("#who")[0]; !strings.HasPrefix(who, "read key") {
		t.Fatalf("header says %q", who)
	}
}
