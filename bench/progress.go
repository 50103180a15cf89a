package bench

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cfbench/cfbench/consume"
)

// progress prints the live per-second table of a run, in the style of `cockroach workload`:
// one row a second, the header repeated every 20 rows. On a terminal a progress bar
// (phase, elapsed/remaining) is kept on the last line and redrawn in place.
//
// Safe for concurrent use: rows come from the consumer's goroutine, phases from the runner.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	warmup   time.Duration
	duration time.Duration
	start    time.Time
	phaseNow string
	rows     int
	barShown bool
}

func newProgress(w io.Writer, tty bool, warmup, duration time.Duration) *progress {
	return &progress{w: w, tty: tty, warmup: warmup, duration: duration, start: time.Now(), phaseNow: "warmup"}
}

const progressHeader = "_elapsed  phase    writes/s  events/s  e2e-p50(ms)  e2e-p99(ms)  e2e-max(ms)  resolved-lag(ms)  lag(msgs)  refreshes  errors"

func (p *progress) phase(name string) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phaseNow = name
	p.clearBar()
	if !p.tty {
		fmt.Fprintf(p.w, "%8s  -- %s --\n", fmtElapsed(time.Since(p.start)), name)
	}
	p.drawBar()
}

func (p *progress) row(iv consume.Interval, writes int64) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearBar()
	if p.rows%20 == 0 {
		fmt.Fprintln(p.w, progressHeader)
	}
	p.rows++
	phase := p.phaseNow
	lag := "-"
	if iv.LagMsgs >= 0 {
		lag = strconv.FormatInt(iv.LagMsgs, 10)
	}
	fmt.Fprintf(p.w, "%8s  %-7s %9d %9d %12s %12s %12s %17s %10s %10d %7d\n",
		fmtElapsed(time.Since(p.start)), phase, writes, iv.Events,
		ms(iv.E2EP50US), ms(iv.E2EP99US), ms(iv.E2EMaxUS), ms(iv.ResolvedLagUS), lag, iv.TokenRefreshes, iv.Errors)
	p.drawBar()
}

func (p *progress) finish() {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearBar()
}

// clearBar erases the bar line (terminal only). Callers hold mu.
func (p *progress) clearBar() {
	if p.tty && p.barShown {
		fmt.Fprint(p.w, "\r\033[K")
		p.barShown = false
	}
}

// drawBar draws "[=====>     ] measure 23s/60s, 37s left". Callers hold mu.
func (p *progress) drawBar() {
	if !p.tty {
		return
	}
	total := p.warmup + p.duration
	el := time.Since(p.start)
	const width = 30
	frac := 1.0
	if total > 0 {
		frac = min(float64(el)/float64(total), 1)
	}
	n := int(frac * width)
	bar := strings.Repeat("=", n)
	if n < width {
		bar += ">" + strings.Repeat(" ", width-n-1)
	}
	left := max(total-el, 0).Round(time.Second)
	fmt.Fprintf(p.w, "[%s] %s %s/%s, %s left", bar, p.phaseNow, fmtElapsed(el), total, left)
	p.barShown = true
}

func fmtElapsed(d time.Duration) string { return d.Truncate(time.Second).String() }

// ms formats microseconds as milliseconds with about 3 significant figures.
func ms(us int64) string {
	v := float64(us) / 1000
	switch {
	case us == 0:
		return "0"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}
