package load

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Printer writes a run's progress as `cockroach workload run` does: one row per op and
// interval (elapsed, errors, ops/s in the interval and cumulative, p50/p95/p99/pMax in ms from
// the intended start), the header repeated every 20 rows, and a final summary. Not safe for
// concurrent use; feed it from Options.OnInterval.
type Printer struct {
	w    io.Writer
	rows int
	cum  map[string]*printerCum
}

type printerCum struct{ count, errors int64 }

// NewPrinter returns a Printer writing to w.
func NewPrinter(w io.Writer) *Printer { return &Printer{w: w, cum: map[string]*printerCum{}} }

const (
	tickHeader  = "_elapsed___errors__ops/sec(inst)___ops/sec(cum)__p50(ms)__p95(ms)__p99(ms)_pMax(ms)"
	totalHeader = "_elapsed___errors_____ops(total)___ops/sec(cum)__avg(ms)__p50(ms)__p95(ms)__p99(ms)_pMax(ms)"
)

func ms(us int64) float64 { return float64(us) / 1000 }

// Tick writes the rows of the interval that just ended (st.Interval long).
func (p *Printer) Tick(st *Stats) {
	interval := st.Interval
	if interval <= 0 {
		interval = time.Second
	}
	for _, o := range st.Ops {
		c := p.cum[o.Op]
		if c == nil {
			c = &printerCum{}
			p.cum[o.Op] = c
		}
		c.count += o.IntervalCount
		c.errors += o.IntervalErrors
		if p.rows%20 == 0 {
			fmt.Fprintln(p.w, tickHeader)
		}
		p.rows++
		h := o.IntervalLatency
		fmt.Fprintf(p.w, "%7.1fs %8d %14.1f %14.1f %8.1f %8.1f %8.1f %8.1f %s\n",
			st.Elapsed.Seconds(), c.errors,
			float64(o.IntervalCount)/interval.Seconds(), float64(c.count)/st.Elapsed.Seconds(),
			ms(h.ValueAtQuantile(50)), ms(h.ValueAtQuantile(95)), ms(h.ValueAtQuantile(99)), ms(h.Max()), o.Op)
	}
}

// Summary writes the final blocks: per op and in total, latency from the intended start
// (__total, __result), then service time (__service), then schedule lag, rates, retries and
// errors by class. The cumulative figures leave the ramp out.
func (p *Printer) Summary(st *Stats) {
	el := st.Measured
	row := func(errors, count int64, h *hdrhistogram.Histogram, name string) {
		if count == 0 && errors == 0 {
			return
		}
		fmt.Fprintf(p.w, "%7.1fs %8d %14d %14.1f %8.1f %8.1f %8.1f %8.1f %8.1f  %s\n",
			el.Seconds(), errors, count, float64(count)/el.Seconds(),
			h.Mean()/1000, ms(h.ValueAtQuantile(50)), ms(h.ValueAtQuantile(95)), ms(h.ValueAtQuantile(99)), ms(h.Max()), name)
	}
	fmt.Fprintln(p.w, "\n"+totalHeader+"__total")
	for _, o := range st.Ops {
		row(o.Errors, o.Count, o.Latency, o.Op)
	}
	fmt.Fprintln(p.w, "\n"+totalHeader+"__result")
	row(st.Total.Errors, st.Total.Count, st.Total.Latency, "")
	fmt.Fprintln(p.w, "\n"+totalHeader+"__service")
	for _, o := range st.Ops {
		row(o.Errors, o.Count, o.Service, o.Op)
	}
	fmt.Fprintln(p.w)
	if st.IntendedRate > 0 {
		fmt.Fprintf(p.w, "rate: intended %.1f ops/s, achieved %.1f ops/s\n", st.IntendedRate, st.AchievedRate)
		l := st.Lag
		fmt.Fprintf(p.w, "schedule lag (ms): p50 %.1f  p95 %.1f  p99 %.1f  max %.1f\n",
			ms(l.ValueAtQuantile(50)), ms(l.ValueAtQuantile(95)), ms(l.ValueAtQuantile(99)), ms(l.Max()))
	} else {
		fmt.Fprintf(p.w, "rate: as fast as possible, achieved %.1f ops/s\n", st.AchievedRate)
	}
	fmt.Fprintf(p.w, "rows changed: %d, retries: %d", st.Total.Rows, st.Retries)
	if st.Dropped > 0 {
		fmt.Fprintf(p.w, ", dropped (never started): %d", st.Dropped)
	}
	fmt.Fprintln(p.w)
	if len(st.Errors) > 0 {
		classes := make([]string, 0, len(st.Errors))
		for c := range st.Errors {
			classes = append(classes, c)
		}
		sort.Strings(classes)
		var parts []string
		for _, c := range classes {
			parts = append(parts, fmt.Sprintf("%s=%d", c, st.Errors[c]))
		}
		fmt.Fprintf(p.w, "errors by class: %s\n", strings.Join(parts, " "))
		for _, c := range classes {
			fmt.Fprintf(p.w, "  %s: %s\n", c, st.ErrorExamples[c])
		}
	}
}
