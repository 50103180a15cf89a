package load

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Note: each worker appends finished ops to a plain slice it owns (no lock, no atomic) and hands
// the slice over at interval boundaries; one aggregating goroutine records them into the
// histograms. Per-worker HDR histograms were rejected: one histogram of this range is ~180 KB,
// and a worker would need two per op, so 64 workers would hold ~300 MB.

// flushGrace is how long the aggregator waits for busy workers to hand over their samples
// before it closes an interval; a worker stuck in a long op hands its samples over later and
// they count in the interval that is open then.
const flushGrace = 50 * time.Millisecond

type opAgg struct {
	count, errors, retries, rows int64
	icount, ierrors              int64
	lat, svc, ilat, isvc         *hdrhistogram.Histogram
}

func newOpAgg() *opAgg {
	return &opAgg{lat: NewHistogram(), svc: NewHistogram(), ilat: NewHistogram(), isvc: NewHistogram()}
}

type aggregator struct {
	o        Options
	start    time.Time
	workers  []*worker
	ops      [NumOps]*opAgg
	total    *opAgg
	lag      *hdrhistogram.Histogram
	ilag     *hdrhistogram.Histogram
	errs     map[string]int64
	examples map[string]string
	retries  int64
	series   []Second
	cur      Second
	awaiting []bool
	lastTick time.Time // end of the previous interval
	inWindow int64     // measured ops that ended by Options.Duration
}

func newAggregator(o Options, start time.Time, workers []*worker) *aggregator {
	a := &aggregator{
		o: o, start: start, workers: workers, total: newOpAgg(),
		lag: NewHistogram(), ilag: NewHistogram(),
		errs: map[string]int64{}, examples: map[string]string{},
		awaiting: make([]bool, len(workers)), lastTick: start,
	}
	for _, op := range sortedOps(o.Mix) {
		a.ops[op] = newOpAgg()
	}
	return a
}

func (a *aggregator) add(b batch) {
	for i := range b.samples {
		s := &b.samples[i]
		oa := a.ops[s.op]
		if oa == nil { // a fallback op outside the mix (startRide for endRide)
			oa = newOpAgg()
			a.ops[s.op] = oa
		}
		measured := s.intended >= a.o.Ramp
		if measured && a.o.Duration > 0 && s.intended+time.Duration(s.latUs)*time.Microsecond <= a.o.Duration {
			a.inWindow++
		}
		a.retries += int64(s.retries)
		for _, x := range []*opAgg{oa, a.total} {
			if measured {
				x.retries += int64(s.retries)
			}
			if s.err != nil {
				x.ierrors++
				if measured {
					x.errors++
				}
				continue
			}
			x.icount++
			recordUs(x.ilat, s.latUs)
			recordUs(x.isvc, s.svcUs)
			if measured {
				x.count++
				x.rows += int64(s.rows)
				recordUs(x.lat, s.latUs)
				recordUs(x.svc, s.svcUs)
			}
		}
		if s.err != nil {
			c := ErrorClass(s.err)
			a.errs[c]++
			if _, ok := a.examples[c]; !ok {
				a.examples[c] = s.err.Error()
			}
			a.cur.Errors++
		} else {
			a.cur.Ops++
			if s.op.Writes() {
				a.cur.Writes++
			}
			a.cur.Rows += int64(s.rows)
		}
		if s.lagUs >= 0 {
			recordUs(a.ilag, s.lagUs)
			if measured {
				recordUs(a.lag, s.lagUs)
			}
		}
	}
	a.awaiting[b.worker] = false
}

func (a *aggregator) pending() bool {
	for _, w := range a.awaiting {
		if w {
			return true
		}
	}
	return false
}

// loop merges batches until workersDone is closed and every batch is in, closing an interval
// at each tick, and returns the final stats.
func (a *aggregator) loop(batches chan batch, free chan []sample, workersDone <-chan struct{}) *Stats {
	recycle := func(b batch) {
		a.add(b)
		select {
		case free <- b.samples[:0]:
		default:
		}
	}
	ticker := time.NewTicker(a.o.Interval)
	defer ticker.Stop()
	var grace <-chan time.Time
	closing := false
	for {
		select {
		case b := <-batches:
			recycle(b)
			if closing && !a.pending() {
				a.closeInterval()
				closing, grace = false, nil
			}
		case <-ticker.C:
			if closing { // the previous interval is still waiting: close it now
				a.closeInterval()
			}
			for i, w := range a.workers {
				select {
				case w.flushReq <- struct{}{}:
					a.awaiting[i] = true
				default:
				}
			}
			closing, grace = true, time.After(flushGrace)
		case <-grace:
			a.closeInterval()
			closing, grace = false, nil
		case <-workersDone:
			for {
				select {
				case b := <-batches:
					recycle(b)
					continue
				default:
				}
				break
			}
			a.closeInterval()
			return a.snapshot()
		}
	}
}

// closeInterval appends the interval to the series, reports it and resets the interval state.
func (a *aggregator) closeInterval() {
	now := time.Now()
	a.cur.T = int((now.Sub(a.start) + time.Second/2) / time.Second)
	a.series = append(a.series, a.cur)
	if a.o.OnInterval != nil {
		st := a.snapshot()
		st.Interval = now.Sub(a.lastTick)
		a.o.OnInterval(st)
	}
	a.lastTick = now
	a.cur = Second{}
	a.ilag.Reset()
	for _, x := range append(a.ops[:], a.total) {
		if x != nil {
			x.icount, x.ierrors = 0, 0
			x.ilat.Reset()
			x.isvc.Reset()
		}
	}
	for i := range a.awaiting {
		a.awaiting[i] = false
	}
}

// snapshot builds Stats around the aggregator's histograms (not copies).
func (a *aggregator) snapshot() *Stats {
	el := time.Since(a.start)
	st := &Stats{
		Start: a.start, Elapsed: el, Ramp: a.o.Ramp, Mix: a.o.Mix,
		Measured: max(el-a.o.Ramp, 0), IntendedRate: a.o.Rate,
		Lag: a.lag, IntervalLag: a.ilag,
		Errors: a.errs, ErrorExamples: a.examples, Retries: a.retries,
		Series: a.series,
	}
	conv := func(name string, x *opAgg) OpStats {
		return OpStats{
			Op: name, Count: x.count, Errors: x.errors, Retries: x.retries, Rows: x.rows,
			Latency: x.lat, Service: x.svc,
			IntervalCount: x.icount, IntervalErrors: x.ierrors, IntervalLatency: x.ilat, IntervalService: x.isvc,
		}
	}
	for op, x := range a.ops {
		if x != nil {
			st.Ops = append(st.Ops, conv(Op(op).String(), x))
		}
	}
	st.Total = conv("__total", a.total)
	switch {
	case a.o.Duration > 0 && el >= a.o.Duration:
		st.AchievedRate = float64(a.inWindow) / (a.o.Duration - a.o.Ramp).Seconds()
	case st.Measured > 0:
		st.AchievedRate = float64(a.total.count+a.total.errors) / st.Measured.Seconds()
	}
	return st
}
