package main

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"os"
	"strings"
	"time"

	"github.com/affinity-rec/affinity/bench/eval"
)

// curveK is the longest list the report's chart draws.
const curveK = 50

// The report is drawn as inline SVG, like the experiment report
// (api/report.go): no script, no CDN, so the file opens the same anywhere,
// offline, and can be mailed.

var evalPalette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"}

type evalView struct {
	Title, Source, Protocol, Generated string
	Rows                               []evalRow
	Charts                             []lineChart
	Tuning                             []kv
	K                                  int
}

type evalRow struct {
	Algo, Colour, Truth                          string
	MAP, NDCG, Precision, Recall, Coverage, Time string
}

type kv struct{ Key, Value string }

type lineChart struct {
	Title         string
	Width, Height int
	Left, Bottom  float64
	Right, Top    float64
	Lines         []chartLine
	YTicks        []tickMark
	XTicks        []tickMark
}

type chartLine struct {
	Name, Colour, Points string
	LabelX, LabelY       float64
	Last                 string
}

type tickMark struct {
	Pos   float64
	Label string
}

func writeEvalHTML(path string, rep evalReport, source string) error {
	var buf bytes.Buffer
	if err := evalTemplate.Execute(&buf, buildEvalView(rep, source, time.Now().UTC())); err != nil {
		return fmt.Errorf("cannot render the report: %w", err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("cannot write the report: %w", err)
	}
	return nil
}

func buildEvalView(rep evalReport, source string, now time.Time) evalView {
	all := append([]eval.Result{rep.Result}, rep.Baselines...)
	v := evalView{Title: "Affinity evaluation: " + source, Source: source, K: rep.K,
		Generated: now.Format("2006-01-02 15:04 UTC")}
	v.Protocol = fmt.Sprintf("%s (%s), %s split", source, rep.Format, rep.Split)
	if rep.Split != "given" {
		v.Protocol += fmt.Sprintf(", test ratio %g", rep.TestRatio)
		if rep.Split != eval.SplitTemporal {
			v.Protocol += fmt.Sprintf(", seed %d", rep.Seed)
		}
	}
	v.Protocol += fmt.Sprintf("; %d train events, %d test events, %d customers scored", rep.TrainEvents, rep.TestEvents, rep.Users)
	for i, r := range all {
		col := evalPalette[i%len(evalPalette)]
		v.Rows = append(v.Rows, evalRowOf(r, r.Metrics, col, "all"))
		if r.NewOnly != nil {
			v.Rows = append(v.Rows, evalRowOf(r, *r.NewOnly, col, "new only"))
		}
	}
	v.Charts = []lineChart{
		curveChart("nDCG@k", all, func(c *eval.Curve) []float64 { return c.NDCG }),
		curveChart("recall@k", all, func(c *eval.Curve) []float64 { return c.Recall }),
	}
	if t := rep.Tuning; t != nil {
		hl := "none"
		if t.HalfLifeDays > 0 {
			hl = fmt.Sprintf("%g days", t.HalfLifeDays)
		}
		kept := ""
		if t.KeptDefault {
			kept = " (no gain beyond noise: the default is kept)"
		}
		v.Tuning = []kv{
			{"model", string(t.Similarity)},
			{"lambda", fmt.Sprintf("%g", t.Lambda)},
			{"least customers of a product in the solve", fmt.Sprint(t.MinSupport)},
			{"neighbours per product", fmt.Sprint(t.K)},
			{"half-life", hl},
			{"repeat interactions", string(t.Repeat)},
			{"validation nDCG@10 (chosen / untuned default)", fmt.Sprintf("%.4f / %.4f%s", t.NDCG, t.DefaultNDCG, kept)},
			{"validation slice", fmt.Sprintf("%s holdout of the train events, %d customers, %d settings tried in %.1f s", t.Holdout, t.Users, t.Tried, t.Seconds)},
		}
	}
	return v
}

func evalRowOf(r eval.Result, m eval.Metrics, colour, truth string) evalRow {
	return evalRow{Algo: r.Algo, Colour: colour, Truth: truth, MAP: f4(m.MAP), NDCG: f4(m.NDCG),
		Precision: f4(m.Precision), Recall: f4(m.Recall), Coverage: fmt.Sprintf("%.3f", m.Coverage),
		Time: fmt.Sprintf("%.2f", r.TrainSeconds)}
}

func f4(x float64) string { return fmt.Sprintf("%.4f", x) }

// curveChart draws one metric against k for every result with a curve.
func curveChart(title string, rs []eval.Result, pick func(*eval.Curve) []float64) lineChart {
	c := lineChart{Title: title, Width: 640, Height: 320, Left: 56, Right: 520, Top: 16, Bottom: 284}
	maxY, maxK := 0.0, 1
	for _, r := range rs {
		if r.Curve != nil {
			for _, y := range pick(r.Curve) {
				maxY = math.Max(maxY, y)
			}
			maxK = max(maxK, len(pick(r.Curve)))
		}
	}
	step := niceStep(maxY / 5)
	top := math.Max(step, math.Ceil(maxY/step)*step)
	x := func(k int) float64 {
		if maxK == 1 {
			return c.Left
		}
		return c.Left + (c.Right-c.Left)*float64(k-1)/float64(maxK-1)
	}
	y := func(v float64) float64 { return c.Bottom - (c.Bottom-c.Top)*v/top }
	for t := 0.0; t <= top+step/2; t += step {
		c.YTicks = append(c.YTicks, tickMark{Pos: y(t), Label: fmt.Sprintf("%.2f", t)})
	}
	for _, k := range []int{1, 10, 20, 30, 40, 50} {
		if k <= maxK {
			c.XTicks = append(c.XTicks, tickMark{Pos: x(k), Label: fmt.Sprint(k)})
		}
	}
	for i, r := range rs {
		if r.Curve == nil {
			continue
		}
		ys := pick(r.Curve)
		var pts strings.Builder
		for k, v := range ys {
			fmt.Fprintf(&pts, "%.1f,%.1f ", x(k+1), y(v))
		}
		last := ys[len(ys)-1]
		c.Lines = append(c.Lines, chartLine{Name: r.Algo, Colour: evalPalette[i%len(evalPalette)],
			Points: pts.String(), LabelX: x(len(ys)) + 6, LabelY: y(last) + 4, Last: fmt.Sprintf("%.3f", last)})
	}
	return c
}

// niceStep rounds s up to 1, 2 or 5 times a power of ten.
func niceStep(s float64) float64 {
	if s <= 0 {
		return 0.1
	}
	p := math.Pow(10, math.Floor(math.Log10(s)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= s {
			return m * p
		}
	}
	return 10 * p
}

var evalTemplate = template.Must(template.New("eval").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{{.Title}}</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1e293b;max-width:980px;margin:2rem auto;padding:0 1rem}
h1{font-size:1.4rem;margin:0 0 .2rem}h2{font-size:1.1rem;margin:1.8rem 0 .5rem}
.sub{color:#64748b;margin:0 0 1rem}
table{border-collapse:collapse;width:100%}th,td{padding:.35rem .6rem;border-bottom:1px solid #e2e8f0;text-align:right}
th:first-child,td:first-child,td.l,th.l{text-align:left}th{font-weight:600;color:#475569}
.dot{display:inline-block;width:.7rem;height:.7rem;border-radius:50%;margin-right:.4rem;vertical-align:baseline}
.charts{display:flex;flex-wrap:wrap;gap:1rem}svg{max-width:100%;height:auto}
svg text{font:12px system-ui,sans-serif;fill:#475569}.grid{stroke:#e2e8f0}.axis{stroke:#94a3b8}
</style></head><body>
<h1>Recommendation quality</h1>
<p class="sub">{{.Protocol}}. Generated {{.Generated}}.</p>
<table><thead><tr><th>algorithm</th><th class="l">ground truth</th><th>MAP</th><th>nDCG@{{.K}}</th><th>P@{{.K}}</th><th>R@{{.K}}</th><th>coverage</th><th>train s</th></tr></thead><tbody>
{{range .Rows}}<tr><td><span class="dot" style="background:{{.Colour}}"></span>{{.Algo}}</td><td class="l">{{.Truth}}</td><td>{{.MAP}}</td><td>{{.NDCG}}</td><td>{{.Precision}}</td><td>{{.Recall}}</td><td>{{.Coverage}}</td><td>{{.Time}}</td></tr>
{{end}}</tbody></table>
<h2>Quality by list length</h2>
<div class="charts">{{range .Charts}}
<svg viewBox="0 0 {{.Width}} {{.Height}}" width="{{.Width}}" height="{{.Height}}" role="img" aria-label="{{.Title}} for k from 1 to 50">
<text x="{{.Left}}" y="12">{{.Title}}</text>
{{$c := .}}{{range .YTicks}}<line class="grid" x1="{{$c.Left}}" x2="{{$c.Right}}" y1="{{.Pos}}" y2="{{.Pos}}"/><text x="{{$c.Left}}" dx="-6" y="{{.Pos}}" dy="4" text-anchor="end">{{.Label}}</text>{{end}}
{{range .XTicks}}<text x="{{.Pos}}" y="{{$c.Bottom}}" dy="16" text-anchor="middle">{{.Label}}</text>{{end}}
<line class="axis" x1="{{.Left}}" x2="{{.Right}}" y1="{{.Bottom}}" y2="{{.Bottom}}"/>
<text x="{{.Right}}" y="{{.Bottom}}" dy="30" text-anchor="end">k (list length)</text>
{{range .Lines}}<polyline fill="none" stroke="{{.Colour}}" stroke-width="2" points="{{.Points}}"><title>{{.Name}}</title></polyline>
<text x="{{.LabelX}}" y="{{.LabelY}}" style="fill:{{.Colour}}">{{.Name}} {{.Last}}</text>{{end}}
</svg>{{end}}</div>
{{if .Tuning}}<h2>Settings the model chose</h2>
<p class="sub">Chosen on a slice held out of the train events only; the test split was never seen.</p>
<table><tbody>{{range .Tuning}}<tr><td>{{.Key}}</td><td class="l">{{.Value}}</td></tr>{{end}}</tbody></table>{{end}}
</body></html>
`))
