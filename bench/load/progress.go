package load

import (
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"golang.org/x/term"
)

// progressPlainEvery is the period of the plain progress lines; a
// variable so that tests can see lines within a short run.
var progressPlainEvery = 5 * time.Second

// startProgress prints the status of a running phase to w until the
// returned stop is called. On a terminal the line is redrawn twice a second;
// anywhere else (a CI log) a plain line is written every five seconds, so a
// long run shows it is alive without flooding the log.
func startProgress(w io.Writer, r *phase, label string, d time.Duration) (stop func()) {
	if w == nil {
		return func() {}
	}
	tty := false
	if f, ok := w.(interface{ Fd() uintptr }); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	every := progressPlainEvery
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
					label, min(now.Sub(r.start), d).Seconds(), d, fmtInt(fin),
					fmtInt(int64(math.Round(rate))), fmtInt(r.failed.Load()))
				if r.o.Rate > 0 {
					line += "  late " + fmtInt(r.lateCount())
				}
				if h := r.mergedHist(); h.TotalCount() > 0 {
					line += fmt.Sprintf("  p99 %s ms", fmtMs(float64(h.ValueAtQuantile(99))/1000))
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
