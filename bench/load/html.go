package load

import (
	"fmt"
	"html/template"
	"io"
	"time"
)

// WriteHTML writes a self-contained HTML page (no script, no external
// resource, charts as inline SVG): the summary, the latency percentile curve
// on HdrHistogram's "nines" axis, throughput and latency over time, errors
// and, for a mixed scenario, each request kind.
func (r *Result) WriteHTML(w io.Writer) error {
	data := htmlData{
		R:          r,
		Mode:       r.modeText(),
		IDs:        r.idsText(),
		Started:    r.StartedAt.Format(time.RFC1123),
		Percentile: template.HTML(svgPercentiles(r)),
		Throughput: template.HTML(svgThroughput(r)),
		OverTime:   template.HTML(svgLatencyOverTime(r)),
	}
	for _, k := range sortedKinds(r.ErrorsByKind) {
		data.Errors = append(data.Errors, htmlError{Kind: k, Count: fmtInt(r.ErrorsByKind[k]),
			Share: pct(r.ErrorsByKind[k], r.Requests), Sample: r.ErrorSamples[k]})
	}
	if err := htmlTemplate.Execute(w, data); err != nil {
		return fmt.Errorf("cannot write bench report: %w", err)
	}
	return nil
}

type htmlData struct {
	R          *Result
	Mode, IDs  string
	Started    string
	Percentile template.HTML
	Throughput template.HTML
	OverTime   template.HTML
	Errors     []htmlError
}

type htmlError struct{ Kind, Count, Share, Sample string }

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"int":   fmtInt,
	"float": fmtFloat,
	"ms":    fmtMs,
	"pct":   pct,
}).Parse(htmlPage))

// Colours are CSS variables so that the SVG follows the page's light or dark
// scheme; nothing is fetched, so the file can be mailed or archived as is.
const htmlPage = `<!doctype html>
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
