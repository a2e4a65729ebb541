package bench

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/term"
)

// loadProgressPlainEvery is the period of the plain progress lines; a
// variable so that tests can see lines within a short run.
var loadProgressPlainEvery = 5 * time.Second

// startLoadProgress prints the status of a running phase to w until the
// returned stop is called. On a terminal the line is redrawn twice a second;
// anywhere else (a CI log) a plain line is written every five seconds, so a
// long run shows it is alive without flooding the log.
func startLoadProgress(w io.Writer, r *loadRun, label string, d time.Duration) (stop func()) {
	if w == nil {
		return func() {}
	}
	tty := false
	if f, ok := w.(interface{ Fd() uintptr }); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	every := loadProgressPlainEvery
	if tty {
		every = 500 * time.Millisecond
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		var prev int64
		prevAt := time.Now()
		for {
			select {
			case <-done:
				if tty {
					fmt.Fprint(w, "\r\x1b[2K")
				}
				return
			case now := <-t.C:
				fin := r.finished.Load()
				rate := float64(fin-prev) / now.Sub(prevAt).Seconds()
				prev, prevAt = fin, now
				line := fmt.Sprintf("%s %5.1fs/%v  requests %s  %s req/s  errors %s",
					label, min(now.Sub(r.start), d).Seconds(), d, loadFmtInt(fin),
					loadFmtInt(int64(math.Round(rate))), loadFmtInt(r.failed.Load()))
				if r.o.Rate > 0 {
					line += "  late " + loadFmtInt(r.late.Load())
				}
				if h := r.mergedHist(); h.TotalCount() > 0 {
					line += fmt.Sprintf("  p99 %s ms", loadFmtMs(float64(h.ValueAtQuantile(99))/1000))
				}
				if tty {
					fmt.Fprint(w, "\r\x1b[2K"+line)
				} else {
					fmt.Fprintln(w, line)
				}
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// WriteJSON writes the result as one indented JSON object: the `bench
// --json` output.
func (r *LoadResult) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("cannot write bench result: %w", err)
	}
	return nil
}

// loadModeText describes the load model in words.
func (r *LoadResult) loadModeText() string {
	if r.Mode == "open" {
		return fmt.Sprintf("open loop at %s req/s, up to %d in flight", loadFmtFloat(r.TargetRPS), r.Concurrency)
	}
	return fmt.Sprintf("closed loop, %d workers", r.Concurrency)
}

func (r *LoadResult) idsText() string {
	s := fmt.Sprintf("%s: %s, %s", r.IDs.Source, loadPlural(r.IDs.Products, "product"), loadPlural(r.IDs.Customers, "customer"))
	if r.IDs.Synthetic {
		s += " (made up)"
	}
	return s
}

// WriteTable writes the human summary: counts, throughput, percentiles,
// errors by kind and, for a mixed scenario, each request kind.
func (r *LoadResult) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format, a...) }
	p("scenario\t%s (%s)\n", r.Scenario, r.loadModeText())
	p("target\t%s\n", r.URL)
	p("ids\t%s\n", r.idsText())
	p("duration\t%ss (measured %ss)\n", loadFmtFloat(r.DurationS), loadFmtFloat(r.ElapsedS))
	p("requests\t%s\tok %s\terrors %s (%s)\n", loadFmtInt(r.Requests), loadFmtInt(r.OK), loadFmtInt(r.Errors), loadPct(r.Errors, r.Requests))
	if r.Mode == "open" {
		p("late\t%s\t(%s sent after their intended start)\n", loadFmtInt(r.Late), loadPct(r.Late, r.Requests))
	}
	p("throughput\t%s req/s\n", loadFmtFloat(r.RPS))
	if m := r.ServerMemory; m != nil {
		p("server RSS\t%s MB at the start, %s MB peak, %s MB at the end\n", loadFmtInt(m.StartBytes>>20), loadFmtInt(m.PeakBytes>>20), loadFmtInt(m.EndBytes>>20))
	}
	p("\n")
	p("latency ms\tp50\tp90\tp99\tp99.9\tmax\tmean\n")
	row := func(name string, l LoadLatency) {
		p("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, loadFmtMs(l.P50Ms), loadFmtMs(l.P90Ms), loadFmtMs(l.P99Ms),
			loadFmtMs(l.P999Ms), loadFmtMs(l.MaxMs), loadFmtMs(l.MeanMs))
	}
	if r.Service != nil {
		row("  from intended start", r.LoadLatency)
		row("  from send (service)", *r.Service)
	} else {
		row("  response", r.LoadLatency)
	}
	if len(r.ErrorsByKind) > 0 {
		p("\n")
		p("errors\tcount\tshare\tsample\n")
		for _, k := range loadSortedKinds(r.ErrorsByKind) {
			p("  %s\t%s\t%s\t%s\n", k, loadFmtInt(r.ErrorsByKind[k]), loadPct(r.ErrorsByKind[k], r.Requests), loadClip(r.ErrorSamples[k], 60))
		}
	}
	if len(r.Kinds) > 1 {
		p("\n")
		p("by kind\trequests\terrors\treq/s\tp50\tp99\tmax\n")
		for _, k := range r.Kinds {
			p("  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.Kind, loadFmtInt(k.Requests), loadFmtInt(k.Errors), loadFmtFloat(k.RPS),
				loadFmtMs(k.P50Ms), loadFmtMs(k.P99Ms), loadFmtMs(k.MaxMs))
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("cannot write bench table: %w", err)
	}
	for _, warn := range r.Warnings {
		if _, err := fmt.Fprintf(w, "note: %s\n", warn); err != nil {
			return fmt.Errorf("cannot write bench table: %w", err)
		}
	}
	if r.Interrupted {
		if _, err := fmt.Fprintln(w, "note: interrupted before the end; figures cover the part that ran"); err != nil {
			return fmt.Errorf("cannot write bench table: %w", err)
		}
	}
	return nil
}

// loadFmtInt writes n with thousands separators: 1234567 -> 1,234,567.
func loadFmtInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// loadFmtFloat writes a count-like float: thousands separators and one
// decimal below 100.
func loadFmtFloat(v float64) string {
	if math.Abs(v) >= 100 {
		return loadFmtInt(int64(math.Round(v)))
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// loadFmtMs writes milliseconds with three significant digits or whole ms.
func loadFmtMs(ms float64) string {
	switch {
	case ms >= 100:
		return loadFmtInt(int64(math.Round(ms)))
	case ms >= 10:
		return strconv.FormatFloat(ms, 'f', 1, 64)
	case ms >= 1:
		return strconv.FormatFloat(ms, 'f', 2, 64)
	default:
		return strconv.FormatFloat(ms, 'f', 3, 64)
	}
}

func loadPlural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return loadFmtInt(int64(n)) + " " + noun + "s"
}

func loadPct(n, of int64) string {
	if of == 0 {
		return "0%"
	}
	v := 100 * float64(n) / float64(of)
	if v > 0 && v < 0.01 {
		return "<0.01%"
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + "%"
}

func loadClip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// ---- HTML report ----

// WriteHTML writes a self-contained HTML page (no script, no external
// resource, charts as inline SVG): the summary, the latency percentile curve
// on HdrHistogram's "nines" axis, throughput and latency over time, errors
// and, for a mixed scenario, each request kind.
func (r *LoadResult) WriteHTML(w io.Writer) error {
	data := loadHTMLData{
		R:          r,
		Mode:       r.loadModeText(),
		IDs:        r.idsText(),
		Started:    r.StartedAt.Format(time.RFC1123),
		Percentile: template.HTML(loadSVGPercentiles(r)),
		Throughput: template.HTML(loadSVGThroughput(r)),
		OverTime:   template.HTML(loadSVGLatencyOverTime(r)),
	}
	for _, k := range loadSortedKinds(r.ErrorsByKind) {
		data.Errors = append(data.Errors, loadHTMLError{Kind: k, Count: loadFmtInt(r.ErrorsByKind[k]),
			Share: loadPct(r.ErrorsByKind[k], r.Requests), Sample: r.ErrorSamples[k]})
	}
	if err := loadHTMLTemplate.Execute(w, data); err != nil {
		return fmt.Errorf("cannot write bench report: %w", err)
	}
	return nil
}

type loadHTMLData struct {
	R          *LoadResult
	Mode, IDs  string
	Started    string
	Percentile template.HTML
	Throughput template.HTML
	OverTime   template.HTML
	Errors     []loadHTMLError
}

type loadHTMLError struct{ Kind, Count, Share, Sample string }

var loadHTMLTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"int":   loadFmtInt,
	"float": loadFmtFloat,
	"ms":    loadFmtMs,
	"pct":   loadPct,
}).Parse(loadHTMLPage))

// Colours are CSS variables so that the SVG follows the page's light or dark
// scheme; nothing is fetched, so the file can be mailed or archived as is.
const loadHTMLPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>affinity bench · {{.R.Scenario}} · {{float .R.RPS}} req/s</title>
<style>
:root{--bg:#f6f7fb;--card:#fff;--ink:#1b1f2a;--muted:#667085;--line:#e4e7ec;--grid:#eef0f4;
--accent:#4f46e5;--accent-soft:rgba(79,70,229,.12);--second:#0d9488;--warn:#d97706;--err:#dc2626;--ok:#16a34a}
@media (prefers-color-scheme:dark){:root{--bg:#0f1117;--card:#171a23;--ink:#e6e8ee;--muted:#98a2b3;--line:#2a2f3c;
--grid:#222633;--accent:#818cf8;--accent-soft:rgba(129,140,248,.15);--second:#2dd4bf;--warn:#fbbf24;--err:#f87171;--ok:#4ade80}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1040px;margin:0 auto;padding:32px 24px 48px}
header h1{font-size:22px;margin:0 0 4px;font-weight:650;letter-spacing:-.01em}
header p{margin:0;color:var(--muted)}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;background:var(--accent-soft);color:var(--accent);font-weight:600;font-size:12px;vertical-align:2px;margin-left:6px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:12px;margin:24px 0}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:14px 16px}
.card .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.06em}
.card .v{font-size:24px;font-weight:650;font-variant-numeric:tabular-nums;margin-top:2px}
.card .v small{font-size:13px;color:var(--muted);font-weight:500;margin-left:3px}
.card.bad .v{color:var(--err)}
section{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:18px 20px;margin:16px 0}
section h2{font-size:15px;margin:0 0 2px;font-weight:650}
section p.sub{margin:0 0 12px;color:var(--muted);font-size:13px}
svg{width:100%;height:auto;display:block}
svg text{fill:var(--muted);font-size:11px;font-family:inherit}
svg .grid{stroke:var(--grid);stroke-width:1}
svg .axis{stroke:var(--line);stroke-width:1}
svg .main{stroke:var(--accent);fill:none;stroke-width:2}
svg .area{fill:var(--accent-soft);stroke:none}
svg .second{stroke:var(--second);fill:none;stroke-width:1.6;stroke-dasharray:5 4}
svg .warnl{stroke:var(--warn);fill:none;stroke-width:1.6}
svg .target{stroke:var(--ink);stroke-opacity:.5;stroke-width:1;stroke-dasharray:4 4}
svg .bar{fill:var(--accent)}
svg .barerr{fill:var(--err)}
svg .dot{fill:var(--card);stroke:var(--accent);stroke-width:2}
svg .dotwarn{fill:var(--warn)}
svg .lbl{fill:var(--ink);font-weight:600}
.legend{display:flex;gap:16px;flex-wrap:wrap;color:var(--muted);font-size:12px;margin-top:6px}
.legend i{display:inline-block;width:14px;height:3px;border-radius:2px;vertical-align:middle;margin-right:6px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:right;padding:6px 10px;border-bottom:1px solid var(--line);white-space:nowrap}
th:first-child,td:first-child{text-align:left}
th{color:var(--muted);font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
td.sample{text-align:left;white-space:normal;color:var(--muted);font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
tr:last-child td{border-bottom:none}
.notes{border-color:var(--warn)}
.notes li{margin:2px 0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;margin:0}
dt{color:var(--muted)}dd{margin:0}
footer{color:var(--muted);font-size:12px;margin-top:24px}
</style>
</head>
<body>
<main>
<header>
<h1>affinity bench <span class="badge">{{.R.Scenario}}</span>{{if .R.Interrupted}}<span class="badge">interrupted</span>{{end}}</h1>
<p>{{.Mode}} · {{float .R.DurationS}} s against {{.R.URL}} · {{.Started}}</p>
</header>

<div class="cards">
<div class="card"><div class="k">Throughput</div><div class="v">{{float .R.RPS}}<small>req/s</small></div></div>
<div class="card"><div class="k">p50</div><div class="v">{{ms .R.P50Ms}}<small>ms</small></div></div>
<div class="card"><div class="k">p99</div><div class="v">{{ms .R.P99Ms}}<small>ms</small></div></div>
<div class="card"><div class="k">p99.9</div><div class="v">{{ms .R.P999Ms}}<small>ms</small></div></div>
<div class="card"><div class="k">Max</div><div class="v">{{ms .R.MaxMs}}<small>ms</small></div></div>
<div class="card{{if .R.Errors}} bad{{end}}"><div class="k">Errors</div><div class="v">{{int .R.Errors}}<small>{{pct .R.Errors .R.Requests}}</small></div></div>
</div>

{{if or .R.Warnings .R.Interrupted}}<section class="notes"><h2>Notes</h2><ul>
{{range .R.Warnings}}<li>{{.}}</li>{{end}}
{{if .R.Interrupted}}<li>Interrupted before the end: the figures cover the part that ran.</li>{{end}}
</ul></section>{{end}}

<section>
<h2>Latency by percentile</h2>
<p class="sub">{{if eq .R.Mode "open"}}Measured from each request's intended start on the fixed schedule, so time spent queued behind a stall counts (coordinated omission corrected). The dashed curve is the time from the actual send: what a closed-loop tool would have shown.{{else}}Measured from each request's send (closed loop: a stall slows the load down, so use --rate to see its full cost).{{end}} The x axis stretches the tail: each step is one more nine.</p>
{{.Percentile}}
</section>

<section>
<h2>Throughput over time</h2>
<p class="sub">Requests finished per second{{if eq .R.Mode "open"}}; the dashed line is the scheduled rate{{end}}. Errors stack in red.</p>
{{.Throughput}}
</section>

<section>
<h2>Latency over time</h2>
<p class="sub">Mean and maximum latency of the requests finished in each second: a stall shows as a spike in the maximum.</p>
{{.OverTime}}
</section>

<section>
<h2>Summary</h2>
<table>
<tr><th></th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>mean</th></tr>
<tr><td>{{if .R.Service}}from intended start{{else}}response{{end}} (ms)</td><td>{{ms .R.P50Ms}}</td><td>{{ms .R.P90Ms}}</td><td>{{ms .R.P99Ms}}</td><td>{{ms .R.P999Ms}}</td><td>{{ms .R.MaxMs}}</td><td>{{ms .R.MeanMs}}</td></tr>
{{with .R.Service}}<tr><td>from send (ms)</td><td>{{ms .P50Ms}}</td><td>{{ms .P90Ms}}</td><td>{{ms .P99Ms}}</td><td>{{ms .P999Ms}}</td><td>{{ms .MaxMs}}</td><td>{{ms .MeanMs}}</td></tr>{{end}}
</table>
<table style="margin-top:14px">
<tr><th>requests</th><th>ok</th><th>errors</th>{{if eq .R.Mode "open"}}<th>late</th><th>target req/s</th>{{end}}<th>req/s</th><th>measured s</th></tr>
<tr><td>{{int .R.Requests}}</td><td>{{int .R.OK}}</td><td>{{int .R.Errors}}</td>{{if eq .R.Mode "open"}}<td>{{int .R.Late}}</td><td>{{float .R.TargetRPS}}</td>{{end}}<td>{{float .R.RPS}}</td><td>{{float .R.ElapsedS}}</td></tr>
</table>
</section>

{{if gt (len .R.Kinds) 1}}<section>
<h2>By request kind</h2>
<table>
<tr><th>kind</th><th>requests</th><th>errors</th><th>req/s</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th></tr>
{{range .R.Kinds}}<tr><td>{{.Kind}}</td><td>{{int .Requests}}</td><td>{{int .Errors}}</td><td>{{float .RPS}}</td><td>{{ms .P50Ms}}</td><td>{{ms .P90Ms}}</td><td>{{ms .P99Ms}}</td><td>{{ms .P999Ms}}</td><td>{{ms .MaxMs}}</td></tr>
{{end}}</table>
</section>{{end}}

{{if .Errors}}<section>
<h2>Errors</h2>
<table>
<tr><th>kind</th><th>count</th><th>share</th><th style="text-align:left">sample</th></tr>
{{range .Errors}}<tr><td>{{.Kind}}</td><td>{{.Count}}</td><td>{{.Share}}</td><td class="sample">{{.Sample}}</td></tr>
{{end}}</table>
</section>{{end}}

<section>
<h2>Run</h2>
<dl>
<dt>target</dt><dd>{{.R.URL}}</dd>
<dt>scenario</dt><dd>{{.R.Scenario}}</dd>
<dt>load</dt><dd>{{.Mode}}</dd>
<dt>ids</dt><dd>{{.IDs}}</dd>
<dt>started</dt><dd>{{.Started}}</dd>
</dl>
</section>

<footer>Generated by <code>affinity bench</code>. Percentiles from an HdrHistogram (1 µs resolution, 3 significant digits).</footer>
</main>
</body>
</html>
`

// loadChart maps data to an SVG viewport with margins for the axes.
type loadChart struct {
	w, h                     float64
	left, right, top, bottom float64
	xMin, xMax, yMax         float64
}

func (c loadChart) x(v float64) float64 {
	if c.xMax == c.xMin {
		return c.left
	}
	return c.left + (v-c.xMin)/(c.xMax-c.xMin)*(c.w-c.left-c.right)
}

func (c loadChart) y(v float64) float64 {
	return c.h - c.bottom - v/c.yMax*(c.h-c.top-c.bottom)
}

func (c loadChart) open(b *strings.Builder, label string) {
	fmt.Fprintf(b, `<svg viewBox="0 0 %g %g" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`,
		c.w, c.h, template.HTMLEscapeString(label))
}

// yAxis draws horizontal grid lines and their labels.
func (c loadChart) yAxis(b *strings.Builder, unit string) {
	step := c.yMax / 5
	for i := 0; i <= 5; i++ {
		v := step * float64(i)
		y := c.y(v)
		fmt.Fprintf(b, `<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, c.left, y, c.w-c.right, y)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`,
			c.left-8, y, loadAxisNum(v))
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="start">%s</text>`, 4.0, c.top-8, unit)
	fmt.Fprintf(b, `<line class="axis" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`,
		c.left, c.y(0), c.w-c.right, c.y(0))
}

// loadNiceCeil rounds v up to 1, 2, 2.5 or 5 times a power of ten, so axis
// ticks (fifths of it) are round numbers.
func loadNiceCeil(v float64) float64 {
	if v <= 0 || math.IsNaN(v) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p*1.0000001 {
			return m * p
		}
	}
	return 10 * p
}

func loadAxisNum(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 10000:
		return strconv.FormatFloat(v/1000, 'f', -1, 64) + "k"
	case v >= 1:
		return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
	default:
		return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
	}
}

// loadNinesLabel names a point of the nines axis: 0 -> "0%", 1 -> "90%",
// 2 -> "99%", 3 -> "99.9%".
func loadNinesLabel(n int) string {
	if n == 0 {
		return "0%"
	}
	return strconv.FormatFloat(100*(1-math.Pow(10, -float64(n))), 'f', max(n-2, 0), 64) + "%"
}

// loadCurve samples a histogram along the nines axis: x = log10(1/(1-q)),
// so 90% sits at 1, 99% at 2 and so on, as HdrHistogram's plots do.
func loadCurve(h *hdrhistogram.Histogram, nines float64, n int) [][2]float64 {
	qs := make([]float64, n+1)
	for i := range qs {
		x := nines * float64(i) / float64(n)
		qs[i] = 100 * (1 - math.Pow(10, -x))
	}
	vals := h.ValueAtPercentilesSlice(qs) // one pass over the counts, not n+1
	pts := make([][2]float64, len(qs))
	for i, v := range vals {
		pts[i] = [2]float64{nines * float64(i) / float64(n), float64(v) / 1000}
	}
	return pts
}

func loadSVGPercentiles(r *LoadResult) string {
	var b strings.Builder
	c := loadChart{w: 960, h: 340, left: 64, right: 24, top: 28, bottom: 40}
	if r.hist == nil || r.hist.TotalCount() == 0 {
		c.open(&b, "no latency recorded")
		fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle">no latency recorded</text></svg>`, c.w/2, c.h/2)
		return b.String()
	}
	// Show as many nines as the sample supports: with 10^n requests the
	// 1-in-10^n tail is the last point that is more than a single request.
	nines := math.Ceil(math.Log10(float64(r.hist.TotalCount())))
	nines = min(max(nines, 2), 6)
	main := loadCurve(r.hist, nines, 240)
	var second [][2]float64
	top := float64(r.hist.Max()) / 1000
	if r.service != nil && r.service.TotalCount() > 0 {
		second = loadCurve(r.service, nines, 240)
	}
	for _, p := range main {
		top = max(top, p[1])
	}
	c.xMin, c.xMax, c.yMax = 0, nines, loadNiceCeil(top*1.05)
	c.open(&b, "latency by percentile")
	c.yAxis(&b, "ms")
	for n := 0; n <= int(nines); n++ {
		x := c.x(float64(n))
		fmt.Fprintf(&b, `<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, x, c.top, x, c.y(0))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x, c.h-c.bottom+18, loadNinesLabel(n))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">percentile</text>`, (c.left+c.w-c.right)/2, c.h-4)

	path := func(pts [][2]float64) string {
		var p strings.Builder
		for i, pt := range pts {
			cmd := "L"
			if i == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&p, "%s%.1f %.1f", cmd, c.x(pt[0]), c.y(pt[1]))
		}
		return p.String()
	}
	mainPath := path(main)
	fmt.Fprintf(&b, `<path class="area" d="%sL%.1f %.1fL%.1f %.1fZ"/>`, mainPath, c.x(nines), c.y(0), c.x(0), c.y(0))
	if second != nil {
		fmt.Fprintf(&b, `<path class="second" d="%s"/>`, path(second))
	}
	fmt.Fprintf(&b, `<path class="main" d="%s"/>`, mainPath)
	marks := []struct {
		label string
		q     float64
	}{{"p50", 50}, {"p90", 90}, {"p99", 99}, {"p99.9", 99.9}, {"p99.99", 99.99}}
	for _, m := range marks {
		x := math.Log10(1 / (1 - m.q/100))
		if x > nines+1e-9 {
			continue
		}
		v := float64(r.hist.ValueAtQuantile(m.q)) / 1000
		fmt.Fprintf(&b, `<circle class="dot" cx="%.1f" cy="%.1f" r="4"><title>%s: %s ms</title></circle>`,
			c.x(x), c.y(v), m.label, loadFmtMs(v))
		fmt.Fprintf(&b, `<text class="lbl" x="%.1f" y="%.1f" text-anchor="end">%s %s ms</text>`,
			c.x(x)-7, c.y(v)-8, m.label, loadFmtMs(v))
	}
	fmt.Fprintf(&b, `<circle class="dotwarn" cx="%.1f" cy="%.1f" r="4"><title>max: %s ms</title></circle>`,
		c.x(nines), c.y(float64(r.hist.Max())/1000), loadFmtMs(float64(r.hist.Max())/1000))
	b.WriteString(`</svg>`)
	b.WriteString(`<div class="legend"><span><i style="background:var(--accent)"></i>`)
	if second != nil {
		b.WriteString(`from intended start</span><span><i style="background:var(--second)"></i>from send (service time)</span>`)
	} else {
		b.WriteString(`response time</span>`)
	}
	b.WriteString(`<span><i style="background:var(--warn)"></i>max</span></div>`)
	return b.String()
}

// loadXTicks picks about eight round second labels for a time axis.
func loadXTicks(n int) int {
	for _, s := range []int{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600} {
		if n/s <= 10 {
			return s
		}
	}
	return 3600
}

func loadSVGThroughput(r *LoadResult) string {
	var b strings.Builder
	c := loadChart{w: 960, h: 260, left: 64, right: 24, top: 28, bottom: 36}
	top := r.TargetRPS
	for _, s := range r.PerSecond {
		top = max(top, s.RPS)
	}
	n := len(r.PerSecond)
	c.xMin, c.xMax, c.yMax = 0, float64(max(n, 1)), loadNiceCeil(top*1.05)
	c.open(&b, "throughput over time")
	c.yAxis(&b, "req/s")
	slot := (c.w - c.left - c.right) / float64(max(n, 1))
	gap := min(slot*0.2, 4)
	for i, s := range r.PerSecond {
		x := c.x(float64(i)) + gap/2
		errRate := 0.0
		if s.Width > 0 {
			errRate = float64(s.Errors) / s.Width
		}
		okRate := s.RPS - errRate
		title := fmt.Sprintf("%gs–%gs: %s req/s (ok %s, errors %s)", s.T, s.T+s.Width,
			loadFmtFloat(s.RPS), loadFmtInt(s.OK), loadFmtInt(s.Errors))
		fmt.Fprintf(&b, `<g><title>%s</title>`, template.HTMLEscapeString(title))
		fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="1.5"/>`,
			x, c.y(okRate), slot-gap, c.y(0)-c.y(okRate))
		if errRate > 0 {
			fmt.Fprintf(&b, `<rect class="barerr" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`,
				x, c.y(s.RPS), slot-gap, c.y(okRate)-c.y(s.RPS))
		}
		b.WriteString(`</g>`)
	}
	if r.TargetRPS > 0 {
		fmt.Fprintf(&b, `<line class="target" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`,
			c.left, c.y(r.TargetRPS), c.w-c.right, c.y(r.TargetRPS))
	}
	loadTimeAxis(&b, c, n)
	b.WriteString(`</svg>`)
	return b.String()
}

func loadTimeAxis(b *strings.Builder, c loadChart, n int) {
	step := loadXTicks(n)
	for i := 0; i <= n; i += step {
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%ds</text>`, c.x(float64(i)), c.h-c.bottom+18, i)
	}
}

func loadSVGLatencyOverTime(r *LoadResult) string {
	var b strings.Builder
	c := loadChart{w: 960, h: 240, left: 64, right: 24, top: 28, bottom: 36}
	top := 0.0
	for _, s := range r.PerSecond {
		top = max(top, s.MaxMs)
	}
	n := len(r.PerSecond)
	c.xMin, c.xMax, c.yMax = 0, float64(max(n, 1)), loadNiceCeil(top*1.05)
	c.open(&b, "latency over time")
	c.yAxis(&b, "ms")
	line := func(class, color string, val func(LoadSecond) float64, name string) {
		var p strings.Builder
		first := true
		for i, s := range r.PerSecond {
			if s.OK+s.Errors == 0 {
				continue
			}
			cmd := "L"
			if first {
				cmd, first = "M", false
			}
			fmt.Fprintf(&p, "%s%.1f %.1f", cmd, c.x(float64(i)+0.5), c.y(val(s)))
		}
		if p.Len() > 0 {
			fmt.Fprintf(&b, `<path class="%s" d="%s"/>`, class, p.String())
		}
		for i, s := range r.PerSecond {
			if s.OK+s.Errors == 0 {
				continue
			}
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2.5" style="fill:var(--card);stroke:var(%s);stroke-width:1.5"><title>%gs: %s %s ms</title></circle>`,
				c.x(float64(i)+0.5), c.y(val(s)), color, s.T, name, loadFmtMs(val(s)))
		}
	}
	line("warnl", "--warn", func(s LoadSecond) float64 { return s.MaxMs }, "max")
	line("main", "--accent", func(s LoadSecond) float64 { return s.MeanMs }, "mean")
	loadTimeAxis(&b, c, n)
	b.WriteString(`</svg>`)
	b.WriteString(`<div class="legend"><span><i style="background:var(--accent)"></i>mean</span><span><i style="background:var(--warn)"></i>max</span></div>`)
	return b.String()
}
