package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// exportProgress draws `affinity export`'s progress bar on stderr when it
// is a terminal (redrawn at most ten times a second); elsewhere (a log, a
// pipe) it stays quiet and only the summary line is printed.
type exportProgress struct {
	w     io.Writer // nil: not a terminal
	start time.Time
	last  time.Time
	drawn bool
}

func newExportProgress(stderr io.Writer) *exportProgress {
	p := &exportProgress{start: time.Now()}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.w = f
	}
	return p
}

// show redraws the bar for done of total customers (total < 0: unknown).
func (p *exportProgress) show(done, total int) {
	if p.w == nil {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond && done != total {
		return
	}
	p.last, p.drawn = now, true
	rate := float64(done) / max(now.Sub(p.start).Seconds(), 1e-9)
	if total <= 0 {
		fmt.Fprintf(p.w, "\r\033[K%d customers  %.0f/s", done, rate)
		return
	}
	const width = 30
	frac := min(float64(done)/float64(total), 1)
	bar := make([]byte, width)
	for i := range bar {
		bar[i] = ' '
		if float64(i) < frac*width {
			bar[i] = '='
		}
	}
	fmt.Fprintf(p.w, "\r\033[K[%s] %3.0f%%  %d/%d customers  %.0f/s", bar, frac*100, done, total, rate)
}

// finish ends the bar's line.
func (p *exportProgress) finish() {
	if p.w != nil && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
