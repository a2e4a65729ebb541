//go:build browser

package api

// The report page in a real browser: headless Chromium (Debian's chromium
// package) loads it from a loopback server; the test checks the DOM it
// built and the pixels it painted. Run with `make test-browser`
// (scripts/test-browser.sh installs chromium when missing).

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
)

func findChromium(t *testing.T) string {
	for _, name := range []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium found: run scripts/test-browser.sh (apt-get install chromium) or set CHROMIUM")
	return ""
}

// runChromium runs one headless Chromium command against url.
func runChromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--hide-scrollbars", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.Bytes()
}

func TestReportInBrowser(t *testing.T) {
	bin := findChromium(t)
	s := newExpServer(t)
	s.do(t, "PUT", "/v1/experiments/checkout", `{"status":"running","variants":[
		{"name":"control"},{"name":"bigger-list","params":{"limit":20}},{"name":"popular","params":{"algorithm":"popular"}}]}`).want(t, 200)

	// A few thousand simulated visits with different true rates per arm.
	simulateReportVisits(t, s)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.srv.App().Listener(ln)
	t.Cleanup(func() { _ = s.srv.App().ShutdownWithTimeout(5 * time.Second) })
	url := "http://" + ln.Addr().String() + "/v1/experiments/checkout/report"

	// 1. The DOM Chromium built: four charts, a dot and an interval bar per
	// variant row, all with real coordinates.
	checkReportDOM(t, bin, url)

	// 2. The pixels it painted: the variants' colours must show up in the
	// screenshot (dots are 12 px across, one per chart row).
	checkReportPixels(t, bin, url)
}

// simulateReportVisits enrols and exposes 3000 visits to the checkout
// experiment and ingests their clicks and purchases.
func simulateReportVisits(t *testing.T, s *expServer) {
	t.Helper()
	truth := map[string][2]float64{"control": {0.10, 0.04}, "bigger-list": {0.14, 0.06}, "popular": {0.08, 0.03}}
	rng := rand.New(rand.NewPCG(1, 2))
	var evs []features.Event
	ctx := context.Background()
	for i := range 3000 {
		unit := fmt.Sprint("v", i)
		v, _, err := s.x.Enrol(ctx, "checkout", "", unit)
		if err != nil {
			t.Fatal(err)
		}
		rec := "rec-" + unit
		s.x.Expose("checkout", v, rec, unit, false, []string{"p1", "p2", "p3"})
		if rng.Float64() < truth[v][0] {
			evs = append(evs, features.Event{CustomerID: unit, ProductID: "p1", Type: "click", RecommendationID: rec})
		}
		if rng.Float64() < truth[v][1] {
			evs = append(evs, features.Event{CustomerID: unit, ProductID: "p2", Type: "purchase", Value: 20 + 60*rng.Float64(), RecommendationID: rec})
		}
	}
	if _, err := s.store.Ingest(ctx, evs, features.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
}

// checkReportDOM checks the report's DOM as Chromium built it.
func checkReportDOM(t *testing.T, bin, url string) {
	t.Helper()
	dom := string(runChromium(t, bin, "--dump-dom", url))
	if !strings.Contains(dom, "checkout") || strings.Contains(dom, "ZgotmplZ") {
		t.Fatalf("unexpected page:\n%.1000s", dom)
	}
	charts := regexp.MustCompile(`(?s)<svg id="chart-(\w+)".*?</svg>`).FindAllStringSubmatch(dom, -1)
	if len(charts) != 4 {
		t.Fatalf("want 4 charts (ctr, conversion, revenue, lift), got %d", len(charts))
	}
	widthRe := regexp.MustCompile(`<rect class="ci"[^>]* width="([0-9.]+)"`)
	for _, c := range charts {
		rows := 3
		if c[1] == "lift" {
			rows = 2 // the control is the baseline
		}
		if n := strings.Count(c[0], `<circle class="point"`); n != rows {
			t.Errorf("chart %s: %d points, want %d", c[1], n, rows)
		}
		ws := widthRe.FindAllStringSubmatch(c[0], -1)
		if len(ws) != rows {
			t.Errorf("chart %s: %d interval bars, want %d", c[1], len(ws), rows)
		}
		for _, w := range ws {
			if f, err := strconv.ParseFloat(w[1], 64); err != nil || f < 1 || f > 720 {
				t.Errorf("chart %s: interval bar width %q", c[1], w[1])
			}
		}
	}
}

// checkReportPixels checks the report's screenshot shows each variant's colour.
func checkReportPixels(t *testing.T, bin, url string) {
	t.Helper()
	shot := filepath.Join(t.TempDir(), "report.png")
	if keep := os.Getenv("AFFINITY_REPORT_SCREENSHOT"); keep != "" {
		shot = keep
	}
	runChromium(t, bin, "--screenshot="+shot, "--window-size=1200,2000", url)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	for name, rgb := range map[string][3]uint8{"control": {0x47, 0x55, 0x69}, "first treatment": {0x00, 0x72, 0xB2}, "second treatment": {0xD5, 0x5E, 0x00}} {
		if n := countColour(img, rgb, 12); n < 200 {
			t.Errorf("%s colour #%02x%02x%02x: %d pixels in the screenshot, want the dots drawn (>= 200)", name, rgb[0], rgb[1], rgb[2], n)
		} else {
			t.Logf("%s colour: %d pixels", name, n)
		}
	}
}

// countColour counts pixels within tol of rgb on every channel.
func countColour(img image.Image, rgb [3]uint8, tol int) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if near(r>>8, rgb[0], tol) && near(g>>8, rgb[1], tol) && near(bl>>8, rgb[2], tol) {
				n++
			}
		}
	}
	return n
}

func near(v uint32, want uint8, tol int) bool {
	d := int(v) - int(want)
	return d >= -tol && d <= tol
}
