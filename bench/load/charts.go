package load

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// chart maps data to an SVG viewport with margins for the axes.
type chart struct {
	w, h                     float64
	left, right, top, bottom float64
	xMin, xMax, yMax         float64
}

func (c chart) x(v float64) float64 {
	if c.xMax == c.xMin {
		return c.left
	}
	return c.left + (v-c.xMin)/(c.xMax-c.xMin)*(c.w-c.left-c.right)
}

func (c chart) y(v float64) float64 {
	return c.h - c.bottom - v/c.yMax*(c.h-c.top-c.bottom)
}

func (c chart) open(b *strings.Builder, label string) {
	fmt.Fprintf(b, `<svg viewBox="0 0 %g %g" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`,
		c.w, c.h, template.HTMLEscapeString(label))
}

// yAxis draws horizontal grid lines and their labels.
func (c chart) yAxis(b *strings.Builder, unit string) {
	step := c.yMax / 5
	for i := 0; i <= 5; i++ {
		v := step * float64(i)
		y := c.y(v)
		fmt.Fprintf(b, `<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, c.left, y, c.w-c.right, y)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`,
			c.left-8, y, axisNum(v))
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="start">%s</text>`, 4.0, c.top-8, unit)
	fmt.Fprintf(b, `<line class="axis" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`,
		c.left, c.y(0), c.w-c.right, c.y(0))
}

// niceCeil rounds v up to 1, 2, 2.5 or 5 times a power of ten, so axis
// ticks (fifths of it) are round numbers.
func niceCeil(v float64) float64 {
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

func axisNum(v float64) string {
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

// ninesLabel names a point of the nines axis: 0 -> "0%", 1 -> "90%",
// 2 -> "99%", 3 -> "99.9%".
func ninesLabel(n int) string {
	if n == 0 {
		return "0%"
	}
	return strconv.FormatFloat(100*(1-math.Pow(10, -float64(n))), 'f', max(n-2, 0), 64) + "%"
}

// curve samples a histogram along the nines axis: x = log10(1/(1-q)),
// so 90% sits at 1, 99% at 2 and so on, as HdrHistogram's plots do.
func curve(h *hdrhistogram.Histogram, nines float64, n int) [][2]float64 {
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

func svgPercentiles(r *Result) string {
	var b strings.Builder
	c := chart{w: 960, h: 340, left: 64, right: 24, top: 28, bottom: 40}
	if r.hist == nil || r.hist.TotalCount() == 0 {
		c.open(&b, "no latency recorded")
		fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle">no latency recorded</text></svg>`, c.w/2, c.h/2)
		return b.String()
	}
	// Show as many nines as the sample supports: with 10^n requests the
	// 1-in-10^n tail is the last point that is more than a single request.
	nines := math.Ceil(math.Log10(float64(r.hist.TotalCount())))
	nines = min(max(nines, 2), 6)
	main := curve(r.hist, nines, 240)
	var second [][2]float64
	top := float64(r.hist.Max()) / 1000
	if r.service != nil && r.service.TotalCount() > 0 {
		second = curve(r.service, nines, 240)
	}
	for _, p := range main {
		top = max(top, p[1])
	}
	c.xMin, c.xMax, c.yMax = 0, nines, niceCeil(top*1.05)
	c.open(&b, "latency by percentile")
	c.yAxis(&b, "ms")
	for n := 0; n <= int(nines); n++ {
		x := c.x(float64(n))
		fmt.Fprintf(&b, `<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, x, c.top, x, c.y(0))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x, c.h-c.bottom+18, ninesLabel(n))
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
			c.x(x), c.y(v), m.label, fmtMs(v))
		fmt.Fprintf(&b, `<text class="lbl" x="%.1f" y="%.1f" text-anchor="end">%s %s ms</text>`,
			c.x(x)-7, c.y(v)-8, m.label, fmtMs(v))
	}
	fmt.Fprintf(&b, `<circle class="dotwarn" cx="%.1f" cy="%.1f" r="4"><title>max: %s ms</title></circle>`,
		c.x(nines), c.y(float64(r.hist.Max())/1000), fmtMs(float64(r.hist.Max())/1000))
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

// xTicks picks about eight round second labels for a time axis.
func xTicks(n int) int {
	for _, s := range []int{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600} {
		if n/s <= 10 {
			return s
		}
	}
	return 3600
}

func svgThroughput(r *Result) string {
	var b strings.Builder
	c := chart{w: 960, h: 260, left: 64, right: 24, top: 28, bottom: 36}
	top := r.TargetRPS
	for _, s := range r.PerSecond {
		top = max(top, s.RPS)
	}
	n := len(r.PerSecond)
	c.xMin, c.xMax, c.yMax = 0, float64(max(n, 1)), niceCeil(top*1.05)
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
			fmtFloat(s.RPS), fmtInt(s.OK), fmtInt(s.Errors))
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
	timeAxis(&b, c, n)
	b.WriteString(`</svg>`)
	return b.String()
}

func timeAxis(b *strings.Builder, c chart, n int) {
	step := xTicks(n)
	for i := 0; i <= n; i += step {
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%ds</text>`, c.x(float64(i)), c.h-c.bottom+18, i)
	}
}

func svgLatencyOverTime(r *Result) string {
	var b strings.Builder
	c := chart{w: 960, h: 240, left: 64, right: 24, top: 28, bottom: 36}
	top := 0.0
	for _, s := range r.PerSecond {
		top = max(top, s.MaxMs)
	}
	n := len(r.PerSecond)
	c.xMin, c.xMax, c.yMax = 0, float64(max(n, 1)), niceCeil(top*1.05)
	c.open(&b, "latency over time")
	c.yAxis(&b, "ms")
	line := func(class, color string, val func(Second) float64, name string) {
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
				c.x(float64(i)+0.5), c.y(val(s)), color, s.T, name, fmtMs(val(s)))
		}
	}
	line("warnl", "--warn", func(s Second) float64 { return s.MaxMs }, "max")
	line("main", "--accent", func(s Second) float64 { return s.MeanMs }, "mean")
	timeAxis(&b, c, n)
	b.WriteString(`</svg>`)
	b.WriteString(`<div class="legend"><span><i style="background:var(--accent)"></i>mean</span><span><i style="background:var(--warn)"></i>max</span></div>`)
	return b.String()
}
