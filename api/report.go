package api

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/affinity-rec/affinity/recommend/experiment"
	"github.com/affinity-rec/affinity/recommend/experiment/abtest"
)

// The report is drawn on the server as inline SVG: no script, no CDN, so it
// renders the same in a browser, a mail client or a saved file, and the
// page can forbid every external load in its Content-Security-Policy.

func (s *Server) experimentReport(c *fiber.Ctx) error {
	x, id, err := s.experimentByPath(c)
	if err != nil {
		return err
	}
	r, err := x.Results(c.UserContext(), id)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := reportTemplate.Execute(&buf, buildReport(r, time.Now().UTC())); err != nil {
		return fmt.Errorf("cannot render report: %w", err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	c.Set("Cache-Control", "no-store")
	return c.Send(buf.Bytes())
}

// palette: the control is slate, treatments take distinct hues that stay
// apart for the common colour-vision deficiencies (Okabe-Ito order).
var palette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"}

const controlColour = "#475569"

type reportView struct {
	Results   experiment.Results
	Generated string
	SRMText   string
	Rows      []reportRow
	Verdicts  []verdict
	Charts    []chart
	Empty     bool
}

type reportRow struct {
	Name, Colour                         string
	IsControl, Removed                   bool
	Weight, Exposures, Customers, Clicks string
	Conversions, Revenue, PValue         string
	CTR, Conv, RevPerEx, Lift            cell
	Significant                          bool
}

// cell is an estimate with its interval on a second, quieter line.
type cell struct{ Value, Interval string }

// verdict is the one-line reading of a treatment against the control.
type verdict struct {
	Name, Colour, Lift, Interval, PValue, Reading, Class string
}

type chart struct {
	ID, Title, Note string
	Width, Height   int
	Left, Right     float64 // plot area, in px
	Ticks           []tick
	Rows            []chartRow
	Zero            float64 // x of the zero line; <0: none
	AxisY           float64
}

type tick struct {
	X     float64
	Label string
}

type chartRow struct {
	Y, X0, X1, X float64
	Label, Text  string
	Colour       string
	Title        string
}

func buildReport(r experiment.Results, now time.Time) reportView {
	v := reportView{Results: r, Generated: now.Format("2006-01-02 15:04 UTC")}
	var exposures int64
	colours := make([]string, len(r.Variants))
	k := 0
	for i, vr := range r.Variants {
		exposures += vr.Exposures
		if vr.IsControl {
			colours[i] = controlColour
		} else {
			colours[i] = palette[k%len(palette)]
			k++
		}
	}
	v.Empty = exposures == 0
	if r.SRMFlag {
		v.SRMText = fmt.Sprintf("Sample ratio mismatch (p = %s): the customers assigned by hash do not split as the weights say. Look for a logging or assignment fault before trusting any result below.", fmtP(r.SRMPValue))
	} else {
		v.SRMText = fmt.Sprintf("Sample ratio check passed (p = %s): the hash-assigned customers split as the weights say.", fmtP(r.SRMPValue))
	}
	for i, vr := range r.Variants {
		row := reportRow{
			Name: vr.Name, Colour: colours[i], IsControl: vr.IsControl, Removed: !vr.Configured,
			Weight: fmtNum(vr.Weight), Exposures: fmtInt(vr.Exposures), Customers: fmtInt(vr.Customers),
			Clicks: fmtInt(vr.Clicks), Conversions: fmtInt(vr.Conversions), Revenue: fmtMoney(vr.Revenue),
			CTR: fmtCell(vr.CTR, pct), Conv: fmtCell(vr.ConversionRate, pct), RevPerEx: fmtCell(vr.RevenuePerExposure, fmtMoney),
			Lift: cell{Value: "baseline"}, PValue: "–",
		}
		if !vr.IsControl {
			row.Lift = fmtCell(vr.Lift, signedPct)
			row.PValue = fmtP(vr.PValue)
			row.Significant = vr.PValue < 0.05
			v.Verdicts = append(v.Verdicts, readVerdict(vr, colours[i], r.Control))
		}
		v.Rows = append(v.Rows, row)
	}
	get := func(f func(experiment.VariantResult) abtest.Rate) []abtest.Rate {
		out := make([]abtest.Rate, len(r.Variants))
		for i, vr := range r.Variants {
			out[i] = f(vr)
		}
		return out
	}
	names := make([]string, len(r.Variants))
	for i, vr := range r.Variants {
		names[i] = vr.Name
	}
	v.Charts = append(v.Charts,
		makeChart("ctr", "Click-through rate", "exposures with a click on a recommended product, 95% Wilson interval",
			names, colours, get(func(vr experiment.VariantResult) abtest.Rate { return vr.CTR }), nil, pct, true, false),
		makeChart("conversion", "Conversion rate", "customers who bought a recommended product, 95% Wilson interval",
			names, colours, get(func(vr experiment.VariantResult) abtest.Rate { return vr.ConversionRate }), nil, pct, true, false),
		makeChart("revenue", "Revenue per exposure", "mean attributed revenue per list shown, 95% normal interval",
			names, colours, get(func(vr experiment.VariantResult) abtest.Rate { return vr.RevenuePerExposure }), nil, fmtMoney, true, false),
	)
	skip := make([]bool, len(r.Variants))
	for i, vr := range r.Variants {
		skip[i] = vr.IsControl
	}
	if len(r.Variants) > 1 {
		v.Charts = append(v.Charts, makeChart("lift", "Conversion lift against "+r.Control,
			"relative change in conversion rate, 95% interval (Katz log method); crossing 0 means no clear effect",
			names, colours, get(func(vr experiment.VariantResult) abtest.Rate { return vr.Lift }), skip, signedPct, false, true))
	}
	return v
}

// makeChart lays out a forest plot: one row per variant, the interval as a
// bar and the estimate as a dot, on a shared axis with round ticks.
func makeChart(id, title, note string, names, colours []string, rates []abtest.Rate, skip []bool,
	format func(float64) string, fromZero, zeroLine bool) chart {
	// 480 user units is about the card's width in a two-column layout, so
	// text draws near its nominal size.
	const width, rowH, top, left, right = 480, 32, 10, 112, 400
	ch := chart{ID: id, Title: title, Note: note, Width: width, Left: left, Right: right, Zero: -1}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, r := range rates {
		if skip != nil && skip[i] {
			continue
		}
		lo, hi = math.Min(lo, r.Low), math.Max(hi, r.High)
	}
	if math.IsInf(lo, 1) {
		lo, hi = 0, 1
	}
	if fromZero || zeroLine {
		lo, hi = math.Min(lo, 0), math.Max(hi, 0)
	}
	if hi-lo < 1e-9 {
		hi = lo + 1
	}
	ticks := niceTicks(lo, hi, 5)
	lo, hi = math.Min(lo, ticks[0]), math.Max(hi, ticks[len(ticks)-1])
	scale := func(x float64) float64 { return left + (x-lo)/(hi-lo)*(right-left) }
	y := float64(top)
	for i, r := range rates {
		if skip != nil && skip[i] {
			continue
		}
		ch.Rows = append(ch.Rows, chartRow{
			Y: y + rowH/2, X0: scale(r.Low), X1: math.Max(scale(r.High), scale(r.Low)+1), X: scale(r.Value),
			Label: names[i], Text: format(r.Value), Colour: colours[i],
			Title: fmt.Sprintf("%s: %s (95%%: %s to %s)", names[i], format(r.Value), format(r.Low), format(r.High)),
		})
		y += rowH
	}
	ch.AxisY = y + 4
	for _, t := range ticks {
		ch.Ticks = append(ch.Ticks, tick{X: scale(t), Label: format(t)})
	}
	if zeroLine {
		ch.Zero = scale(0)
	}
	ch.Height = int(ch.AxisY) + 28
	return ch
}

// niceTicks returns about n round tick values covering [lo, hi]
// (1, 2 or 5 times a power of ten apart).
func niceTicks(lo, hi float64, n int) []float64 {
	span := hi - lo
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		step = m * mag
		if span/step <= float64(n) {
			break
		}
	}
	start := math.Floor(lo/step) * step
	var out []float64
	for t := start; t <= hi+step*1e-9; t += step {
		out = append(out, math.Round(t/step)*step)
		if len(out) > 20 {
			break
		}
	}
	if out[len(out)-1] < hi {
		out = append(out, out[len(out)-1]+step)
	}
	return out
}

func pct(f float64) string {
	a := math.Abs(f * 100)
	switch {
	case a == 0:
		return "0%"
	case a < 1:
		return strconv.FormatFloat(f*100, 'f', 2, 64) + "%"
	case a < 10:
		return strconv.FormatFloat(f*100, 'f', 1, 64) + "%"
	}
	return strconv.FormatFloat(f*100, 'f', 0, 64) + "%"
}

func signedPct(f float64) string {
	if f > 0 {
		return "+" + pct(f)
	}
	return pct(f)
}

func fmtMoney(f float64) string {
	if math.Abs(f) >= 1000 {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return strconv.FormatFloat(f, 'f', 2, 64)
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', 6, 64) }

func fmtInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	return string(b)
}

func fmtP(p float64) string {
	if p < 0.0001 {
		return "< 0.0001"
	}
	return strconv.FormatFloat(p, 'f', 4, 64)
}

func fmtCell(r abtest.Rate, f func(float64) string) cell {
	return cell{Value: f(r.Value), Interval: f(r.Low) + " to " + f(r.High)}
}

// readVerdict words the conversion comparison without overclaiming: only
// an interval that excludes 0 (equivalently p < 0.05) is called a
// difference, and the reader is reminded of the SRM check above it.
func readVerdict(vr experiment.VariantResult, colour, control string) verdict {
	v := verdict{Name: vr.Name, Colour: colour, Lift: signedPct(vr.Lift.Value),
		Interval: signedPct(vr.Lift.Low) + " to " + signedPct(vr.Lift.High), PValue: fmtP(vr.PValue)}
	switch {
	case vr.Customers == 0:
		v.Reading, v.Class = "no customers yet", "flat"
	case vr.PValue < 0.05 && vr.Lift.Low > 0:
		v.Reading, v.Class = "converts better than "+control, "up"
	case vr.PValue < 0.05 && vr.Lift.High < 0:
		v.Reading, v.Class = "converts worse than "+control, "down"
	default:
		v.Reading, v.Class = "no clear difference from "+control+" yet", "flat"
	}
	return v
}

var reportTemplate = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Experiment {{.Results.Experiment}} · Affinity</title>
<style>
  :root { --ink:#0f172a; --muted:#64748b; --line:#e2e8f0; --bg:#f8fafc; }
  * { box-sizing: border-box; }
  body { margin:0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--ink); background:var(--bg); }
  main { max-width: 1180px; margin: 0 auto; padding: 32px 24px 48px; }
  h1 { font-size: 26px; margin: 0 0 4px; }
  h2 { font-size: 17px; margin: 0 0 2px; }
  .sub { color: var(--muted); margin: 0 0 20px; }
  .badge { display:inline-block; padding: 2px 10px; border-radius: 999px; font-size: 13px; font-weight: 600; vertical-align: middle; margin-left: 8px; }
  .running { background:#dcfce7; color:#166534; } .draft { background:#e0e7ff; color:#3730a3; } .stopped { background:#f1f5f9; color:#334155; }
  .banner { border-radius: 10px; padding: 12px 16px; margin: 0 0 20px; }
  .ok { background:#ecfdf5; border:1px solid #a7f3d0; color:#065f46; }
  .bad { background:#fef2f2; border:1px solid #fecaca; color:#991b1b; font-weight:600; }
  .empty { background:#fffbeb; border:1px solid #fde68a; color:#92400e; }
  .card { background:#fff; border:1px solid var(--line); border-radius: 12px; padding: 18px 20px; margin: 0 0 18px; box-shadow: 0 1px 2px rgba(15,23,42,.04); }
  .note { color: var(--muted); font-size: 13px; margin: 0 0 8px; }
  .grid { display:grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 18px; }
  .verdicts { display:grid; grid-template-columns: repeat(auto-fit, minmax(240px, 1fr)); gap: 14px; margin: 0 0 18px; }
  .verdict { background:#fff; border:1px solid var(--line); border-left-width: 5px; border-radius: 12px; padding: 14px 16px; }
  .verdict.up { border-left-color:#16a34a; } .verdict.down { border-left-color:#dc2626; } .verdict.flat { border-left-color:#94a3b8; }
  .vname { font-weight: 600; } .vlift { font-size: 28px; font-weight: 700; letter-spacing: -.01em; margin: 2px 0; }
  .vsub { color: var(--muted); font-size: 13px; } .vread { margin-top: 6px; font-size: 14px; }
  .up .vread { color:#166534; } .down .vread { color:#991b1b; }
  td small { display:block; color: var(--muted); font-size: 12px; }
  .tag { font-size: 11px; color: var(--muted); border:1px solid var(--line); border-radius: 6px; padding: 0 5px; margin-left: 4px; }
  .grid .card { margin: 0; }
  svg { width: 100%; height: auto; display:block; }
  svg text { font: 13px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; fill: var(--ink); }
  svg .tick text { fill: var(--muted); font-size: 12px; }
  .scroll { overflow-x: auto; }
  table { border-collapse: collapse; width: 100%; font-size: 14px; }
  th, td { padding: 8px 7px; text-align: right; vertical-align: top; border-bottom: 1px solid var(--line); white-space: nowrap; }
  th { color: var(--muted); font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; white-space: normal; vertical-align: bottom; }
  th:first-child, td:first-child { text-align: left; }
  .swatch { display:inline-block; width:10px; height:10px; border-radius: 3px; margin-right: 8px; }
  .sig { color:#166534; font-weight:600; }
  footer { color: var(--muted); font-size: 13px; margin-top: 24px; }
</style>
</head>
<body>
<main>
<h1>{{.Results.Experiment}}<span class="badge {{.Results.Status}}">{{.Results.Status}}</span></h1>
<p class="sub">Control: <strong>{{.Results.Control}}</strong> · generated {{.Generated}}</p>
{{if .Empty}}<div class="banner empty" id="empty">No exposures yet. Requests that pass <code>experiment={{.Results.Experiment}}</code> while the experiment is running are counted here.</div>{{end}}
<div class="banner {{if .Results.SRMFlag}}bad{{else}}ok{{end}}" id="srm">{{.SRMText}}</div>
{{if not .Empty}}{{if .Verdicts}}<div class="verdicts">
{{range .Verdicts}}<div class="verdict {{.Class}}"><div class="vname"><span class="swatch" style="background:{{.Colour}}"></span>{{.Name}}</div>
<div class="vlift">{{.Lift}}</div><div class="vsub">conversion lift · 95% {{.Interval}} · p = {{.PValue}}</div><div class="vread">{{.Reading}}</div></div>
{{end}}</div>{{end}}
<div class="grid">
{{range .Charts}}<section class="card">
<h2>{{.Title}}</h2>
<p class="note">{{.Note}}</p>
<svg id="chart-{{.ID}}" class="chart" viewBox="0 0 {{.Width}} {{.Height}}" role="img" aria-label="{{.Title}}">
  {{$c := .}}{{range .Ticks}}<g class="tick"><line x1="{{.X}}" x2="{{.X}}" y1="4" y2="{{$c.AxisY}}" stroke="#e2e8f0"/><text x="{{.X}}" y="{{$c.AxisY}}" dy="18" text-anchor="middle">{{.Label}}</text></g>
  {{end}}{{if ge .Zero 0.0}}<line class="zero" x1="{{.Zero}}" x2="{{.Zero}}" y1="4" y2="{{.AxisY}}" stroke="#94a3b8" stroke-width="1.5" stroke-dasharray="4 3"/>
  {{end}}{{range .Rows}}<g class="row"><title>{{.Title}}</title>
    <text x="{{$c.Left}}" dx="-12" y="{{.Y}}" dy="4" text-anchor="end">{{.Label}}</text>
    <rect class="ci" x="{{.X0}}" y="{{.Y}}" transform="translate(0,-5)" width="{{.Width}}" height="10" rx="5" fill="{{.Colour}}" fill-opacity="0.28"/>
    <circle class="point" cx="{{.X}}" cy="{{.Y}}" r="6" fill="{{.Colour}}" stroke="#fff" stroke-width="2"/>
    <text x="{{$c.Right}}" dx="14" y="{{.Y}}" dy="4">{{.Text}}</text>
  </g>
  {{end}}
</svg>
</section>
{{end}}</div>{{end}}
<section class="card" style="margin-top:18px">
<h2>All figures</h2>
<p class="note">Intervals are 95%. Lift and p-value compare each variant's conversion rate with the control's (two-proportion z-test).</p>
<div class="scroll"><table id="figures">
<thead><tr><th>Variant</th><th>Exposures</th><th>Customers</th><th>Clicks</th><th>CTR</th><th>Conversions</th><th>Conversion rate</th><th>Revenue</th><th>Revenue / exposure</th><th>Lift</th><th>p&#8209;value</th></tr></thead>
<tbody>
{{range .Rows}}<tr><td><span class="swatch" style="background:{{.Colour}}"></span>{{.Name}}{{if .IsControl}} <span class="tag">control</span>{{end}}{{if .Removed}} <span class="tag">removed</span>{{end}}<small>weight {{.Weight}}</small></td><td>{{.Exposures}}</td><td>{{.Customers}}</td><td>{{.Clicks}}</td><td>{{.CTR.Value}}<small>{{.CTR.Interval}}</small></td><td>{{.Conversions}}</td><td>{{.Conv.Value}}<small>{{.Conv.Interval}}</small></td><td>{{.Revenue}}</td><td>{{.RevPerEx.Value}}<small>{{.RevPerEx.Interval}}</small></td><td>{{.Lift.Value}}<small>{{.Lift.Interval}}</small></td><td{{if .Significant}} class="sig"{{end}}>{{.PValue}}</td></tr>
{{end}}</tbody>
</table></div>
</section>
<footer>Click-through rate counts exposures (lists shown) with at least one attributed click or view of a listed product; conversion rate counts customers with at least one attributed purchase of a listed product, because customers are what the hash randomises. The sample ratio check is a chi-squared test of hash-assigned customers against the weights (forced variants excluded), flagged below p = 0.001. Affinity · <a href="results">results as JSON</a></footer>
</main>
</body>
</html>
`))

// Width is the interval bar's width in px.
func (r chartRow) Width() float64 { return math.Max(r.X1-r.X0, 1) }
