package load

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the result as one indented JSON object: the `bench
// --json` output.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("cannot write bench result: %w", err)
	}
	return nil
}

// modeText describes the load model in words.
func (r *Result) modeText() string {
	if r.Mode == "open" {
		lanes := ""
		if w, _ := scenarioWeights(r.Scenario); splitsLanes(w, r.TargetRPS) {
			lanes = " per lane (reads, events)"
		}
		return fmt.Sprintf("open loop at %s req/s, up to %d in flight%s", fmtFloat(r.TargetRPS), r.Concurrency, lanes)
	}
	return fmt.Sprintf("closed loop, %d workers", r.Concurrency)
}

func (r *Result) idsText() string {
	s := fmt.Sprintf("%s: %s, %s", r.IDs.Source, plural(r.IDs.Products, "product"), plural(r.IDs.Customers, "customer"))
	if r.IDs.Synthetic {
		s += " (made up)"
	}
	return s
}

// WriteTable writes the human summary: counts, throughput, percentiles,
// errors by kind and, for a mixed scenario, each request kind.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format, a...) }
	p("scenario\t%s (%s)\n", r.Scenario, r.modeText())
	p("target\t%s\n", r.URL)
	p("ids\t%s\n", r.idsText())
	p("duration\t%ss (measured %ss)\n", fmtFloat(r.DurationS), fmtFloat(r.ElapsedS))
	p("requests\t%s\tok %s\terrors %s (%s)\n", fmtInt(r.Requests), fmtInt(r.OK), fmtInt(r.Errors), pct(r.Errors, r.Requests))
	if r.Mode == "open" {
		p("late\t%s\t(%s sent after their intended start)\n", fmtInt(r.Late), pct(r.Late, r.Requests))
	}
	p("throughput\t%s req/s\n", fmtFloat(r.RPS))
	if m := r.ServerMemory; m != nil {
		p("server RSS\t%s MB at the start, %s MB peak, %s MB at the end\n", fmtInt(m.StartBytes>>20), fmtInt(m.PeakBytes>>20), fmtInt(m.EndBytes>>20))
	}
	p("\n")
	p("latency ms\tp50\tp90\tp99\tp99.9\tmax\tmean\n")
	row := func(name string, l Latency) {
		p("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, fmtMs(l.P50Ms), fmtMs(l.P90Ms), fmtMs(l.P99Ms),
			fmtMs(l.P999Ms), fmtMs(l.MaxMs), fmtMs(l.MeanMs))
	}
	if r.Service != nil {
		row("  from intended start", r.Latency)
		row("  from send (service)", *r.Service)
	} else {
		row("  response", r.Latency)
	}
	if len(r.ErrorsByKind) > 0 {
		p("\n")
		p("errors\tcount\tshare\tsample\n")
		for _, k := range sortedKinds(r.ErrorsByKind) {
			p("  %s\t%s\t%s\t%s\n", k, fmtInt(r.ErrorsByKind[k]), pct(r.ErrorsByKind[k], r.Requests), clip(r.ErrorSamples[k], 60))
		}
	}
	if len(r.Kinds) > 1 {
		p("\n")
		p("by kind\trequests\terrors\treq/s\tp50\tp99\tmax\n")
		for _, k := range r.Kinds {
			p("  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.Kind, fmtInt(k.Requests), fmtInt(k.Errors), fmtFloat(k.RPS),
				fmtMs(k.P50Ms), fmtMs(k.P99Ms), fmtMs(k.MaxMs))
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

// fmtInt writes n with thousands separators: 1234567 -> 1,234,567.
func fmtInt(n int64) string {
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

// fmtFloat writes a count-like float: thousands separators and one
// decimal below 100.
func fmtFloat(v float64) string {
	if math.Abs(v) >= 100 {
		return fmtInt(int64(math.Round(v)))
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// fmtMs writes milliseconds with three significant digits or whole ms.
func fmtMs(ms float64) string {
	switch {
	case ms >= 100:
		return fmtInt(int64(math.Round(ms)))
	case ms >= 10:
		return strconv.FormatFloat(ms, 'f', 1, 64)
	case ms >= 1:
		return strconv.FormatFloat(ms, 'f', 2, 64)
	default:
		return strconv.FormatFloat(ms, 'f', 3, 64)
	}
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmtInt(int64(n)) + " " + noun + "s"
}

func pct(n, of int64) string {
	if of == 0 {
		return "0%"
	}
	v := 100 * float64(n) / float64(of)
	if v > 0 && v < 0.01 {
		return "<0.01%"
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + "%"
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
