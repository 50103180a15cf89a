package bench

import (
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/cfbench/cfbench/consume"
	"github.com/cfbench/cfbench/load"
	"github.com/cfbench/cfbench/oauth"
	"github.com/cfbench/cfbench/report"
)

// result assembles the result file from the load, consumer, token source and clock: the
// measured phase in Metrics, the warm-up apart in Warmup, delivery over the whole run.
func (r *runner) result(ls *load.Stats, interrupted bool) *report.Result {
	end := time.Now()
	host, _ := os.Hostname()
	res := &report.Result{
		Schema: report.Schema,
		Run: report.Run{
			Profile:     r.p.Name,
			Started:     r.started.UTC(),
			Ended:       end.UTC(),
			Interrupted: interrupted,
			ToolVersion: r.o.ToolVersion,
			GitCommit:   r.o.GitCommit,
			Host:        host,
			Worker:      fmt.Sprintf("%d/%d", r.o.Worker, r.o.Workers),
			Variant:     r.o.Variant,
			Repetition:  r.o.Repetition,
			Config:      r.p.Redacted(),
		},
		Metrics: map[string]report.Metric{},
		Warmup:  map[string]report.Metric{},
	}
	var measureStart time.Time
	if t := r.measureStart.Load(); t != nil {
		measureStart = *t
	}

	cs := r.consumer.Stats()
	var base *consume.TopicStats
	if r.warmConsume != nil {
		base = &r.warmConsume.Overall
	}
	addConsumeMetrics(res, cs, base)
	var warmOps map[string]opSnap
	var warmLag *hdrhistogram.Histogram
	if r.warmLoad != nil {
		warmOps, warmLag = r.warmLoad.ops, r.warmLoad.lag
	}
	addLoadMetrics(res, ls, warmOps, warmLag)
	if measureStart.IsZero() {
		// The run ended (interrupted, or max_ops reached) before the warm-up did: nothing was
		// measured, so everything recorded belongs to the warm-up.
		for name, m := range res.Metrics {
			res.Warmup[name] = m
		}
		res.Metrics = map[string]report.Metric{}
	}
	addTokenSection(res, r.tokens.Stats(), cs.Token.Refreshes, r.started)

	// Delivery over the whole run (warm-up writes must arrive too).
	res.Delivery = report.Delivery{
		Written:             r.ledger.Written(),
		Received:            cs.Verify.Rows,
		Missing:             int64(r.ledger.Outstanding()),
		Duplicates:          cs.Verify.Duplicates,
		OrderViolations:     cs.Verify.OrderViolations,
		PartitionViolations: cs.Verify.PartitionViolations,
		ResolvedViolations:  cs.Verify.ResolvedViolations + cs.Verify.ResolvedRegressions,
		DecodeErrors:        cs.DecodeErrors,
	}
	if r.o.Workers > 1 {
		// Other workers' changes arrive too, and some of this worker's went to partitions other
		// workers own (see workers.go): count the own writes received here; the rest are
		// unreconciled (in the sidecar) until cfbench merge settles them.
		res.Delivery.Received = r.ledger.Written() - int64(r.ledger.Outstanding())
		res.Delivery.Missing = 0
		res.Delivery.Unreconciled = int64(r.ledger.Outstanding())
		res.Run.Group, res.Run.RunID = r.group, r.o.RunID
		res.Run.Partitions, _, _ = r.grp.snapshot()
	}
	res.Delivery.AckedAfterReceive = r.ledger.Early() - r.ledger.Unmatched()
	if r.o.Workers <= 1 {
		res.Delivery.Unexpected = r.ledger.Unmatched() // with workers, the others' changes are expected
	}
	switch {
	case r.out.DrainTimedOut && r.coord != nil:
		res.Errors = append(res.Errors, report.ErrorCount{At: end.UTC(), Where: "consume", Count: 1,
			Message: fmt.Sprintf("drain timeout (%s) passed before the resolved timestamps of this worker's partitions reached the workers' fence", r.p.Workload.DrainTimeout)})
	case r.out.DrainTimedOut:
		res.Errors = append(res.Errors, report.ErrorCount{At: end.UTC(), Where: "consume", Count: int64(r.ledger.Outstanding()),
			Message: fmt.Sprintf("drain timeout (%s) passed with ledger entries outstanding", r.p.Workload.DrainTimeout)})
	}
	r.bgMu.Lock()
	res.Errors = append(res.Errors, r.bgErrs...)
	r.bgMu.Unlock()
	sort.SliceStable(res.Errors, func(i, j int) bool { return res.Errors[i].At.Before(res.Errors[j].At) })

	res.Clock = report.Clock{OffsetUS: r.clock.Offset.Microseconds(), UncertaintyUS: r.clock.Uncertainty.Microseconds(), Samples: r.clock.Samples}
	if e := r.clockEnd; e != nil {
		res.Clock.DriftUS = ptr((e.Offset - r.clock.Offset).Microseconds())
		res.Clock.EndUncertaintyUS = e.Uncertainty.Microseconds()
	}

	// Rates and the per-second series over the measured phase.
	res.Series, res.Rates = r.measured(cs, measureStart)
	if !measureStart.IsZero() {
		res.Run.MeasuredFrom = measureStart.UTC()
		for _, iv := range cs.Series {
			if !r.inMeasurement(iv.Start, measureStart) || len(iv.E2ECommitHDR) == 0 {
				continue
			}
			t := secondOf(iv.Start, measureStart)
			if res.Intervals == nil {
				res.Intervals = map[string][]report.Interval{}
			}
			res.Intervals[report.MetricE2ECommit] = append(res.Intervals[report.MetricE2ECommit], report.Interval{T: t, HDR: string(iv.E2ECommitHDR)})
		}
	}
	return res
}

// secondOf is the series second (t) of a consumer interval starting at start.
func secondOf(start, measureStart time.Time) int64 {
	return int64(start.Sub(measureStart).Round(time.Second) / time.Second)
}

// inMeasurement reports whether the consumer interval starting at start belongs to the measured
// phase (one rule for the series, the intervals and the byte rate).
func (r *runner) inMeasurement(start, measureStart time.Time) bool {
	return !measureStart.IsZero() && secondOf(start, measureStart) >= 0 && start.Before(r.measureEnd)
}

// measured joins the consumer's per-second rows with the load's over the measured phase (t
// counts seconds from measureStart) and computes the rates. Each side's rate is over the time
// its rows cover: the writes over the rows that have a load second (the last consumer row may
// start just before the load stopped, and hold none: dividing by every row made an 8 s run at
// 200 writes/s report 181), the events and bytes over the consumer intervals' Elapsed (the
// last one may be partial).
func (r *runner) measured(cs consume.Stats, measureStart time.Time) (out []report.Second, rates report.Rates) {
	rates.IntendedWritesPerS = r.loadIntended
	if measureStart.IsZero() {
		return nil, rates
	}
	var loadSecs int
	var nWrites, events, bytes int64
	var consumeSecs float64
	writes := map[int64]int64{}
	errs := map[int64]int64{}
	for _, s := range r.loadSeries {
		// A load second T covers (Start+T−1 s, Start+T s].
		at := r.loadStart.Add(time.Duration(s.T-1) * time.Second)
		t := secondOf(at, measureStart)
		if t < 0 {
			continue
		}
		writes[t] += s.Writes
		errs[t] += s.Errors
	}
	for _, iv := range cs.Series {
		if !r.inMeasurement(iv.Start, measureStart) {
			continue // warm-up or drain
		}
		t := secondOf(iv.Start, measureStart)
		if _, ok := writes[t]; ok {
			loadSecs++
			nWrites += writes[t]
		}
		consumeSecs += iv.Elapsed.Seconds()
		events += iv.Events
		bytes += iv.Bytes
		out = append(out, report.Second{
			T: t, Writes: writes[t], Events: iv.Events,
			E2EP50US: iv.E2EP50US, E2EP99US: iv.E2EP99US, E2EMaxUS: iv.E2EMaxUS,
			ResolvedLagUS: iv.ResolvedLagUS, TokenRefreshes: iv.TokenRefreshes, Errors: iv.Errors + errs[t],
			ConsumerLagMsgs: lagOf(iv),
		})
	}
	if loadSecs > 0 {
		rates.AchievedWritesPerS = float64(nWrites) / float64(loadSecs)
	}
	if consumeSecs > 0 {
		rates.EventsPerS = float64(events) / consumeSecs
		rates.BytesPerS = float64(bytes) / consumeSecs
	}
	return out, rates
}

// lagOf returns iv's consumer lag for the result's series, nil when it was not known.
func lagOf(iv consume.Interval) *int64 {
	if iv.LagMsgs < 0 {
		return nil
	}
	return ptr(iv.LagMsgs)
}

// addConsumeMetrics adds the consumer's latency metrics to res: cs minus the warm-up snapshot
// base (nil: no warm-up) in Metrics, base itself in Warmup, and the refresh impact.
func addConsumeMetrics(res *report.Result, cs consume.Stats, base *consume.TopicStats) {
	o := cs.Overall
	pairs := []struct {
		name string
		cur  func(*consume.TopicStats) *hdrhistogram.Histogram
	}{
		{report.MetricE2ECommit, func(t *consume.TopicStats) *hdrhistogram.Histogram { return t.E2ECommit }},
		{report.MetricE2EAck, func(t *consume.TopicStats) *hdrhistogram.Histogram { return t.E2EAck }},
		{report.MetricCommitToKafka, func(t *consume.TopicStats) *hdrhistogram.Histogram { return t.CommitToKafka }},
		{report.MetricKafkaToConsumer, func(t *consume.TopicStats) *hdrhistogram.Histogram { return t.KafkaToConsumer }},
		{report.MetricResolvedLag, func(t *consume.TopicStats) *hdrhistogram.Histogram { return t.ResolvedLag }},
	}
	for _, pr := range pairs {
		cur := pr.cur(&o)
		if cur == nil {
			continue
		}
		var b *hdrhistogram.Histogram
		if base != nil {
			b = pr.cur(base)
		}
		res.Metrics[pr.name] = report.MetricFromHistogram(since(cur, b))
		if b != nil {
			res.Warmup[pr.name] = report.MetricFromHistogram(b)
		}
	}
	// Refresh impact: e2e_commit inside ±window of a token refresh vs outside (whole run:
	// refreshes are rare, so the warm-up's are kept).
	if ri := cs.RefreshImpact; ri.Inside != nil && ri.Outside != nil {
		res.Metrics[report.MetricRefreshInside] = report.MetricFromHistogram(ri.Inside)
		res.Metrics[report.MetricRefreshOutside] = report.MetricFromHistogram(ri.Outside)
	}
	for class, n := range cs.Errors {
		res.Errors = append(res.Errors, report.ErrorCount{At: cs.Start.UTC(), Where: "consume", Count: n, Message: "Kafka consumer error " + class})
	}
	for reason, n := range cs.DecodeErrorsByReason {
		res.Errors = append(res.Errors, report.ErrorCount{At: cs.Start.UTC(), Where: "consume", Count: n, Message: "malformed message: " + reason})
	}
}

// addLoadMetrics adds the write latencies of ls to res, minus the warm-up snapshot (nil maps:
// no warm-up), and the load's errors.
func addLoadMetrics(res *report.Result, ls *load.Stats, warmOps map[string]opSnap, warmLag *hdrhistogram.Histogram) {
	if ls == nil {
		return
	}
	for _, op := range append(append([]load.OpStats(nil), ls.Ops...), ls.Total) {
		s := warmOps[op.Op]
		name := op.Op
		if name == "__total" {
			name = "total"
		}
		if op.Latency != nil {
			res.Metrics[report.WriteLatencyPrefix+name] = report.MetricFromHistogram(since(op.Latency, s.latency))
			if s.latency != nil {
				res.Warmup[report.WriteLatencyPrefix+name] = report.MetricFromHistogram(s.latency)
			}
		}
		if op.Service != nil {
			res.Metrics["write_service."+name] = report.MetricFromHistogram(since(op.Service, s.service))
		}
	}
	if ls.Lag != nil {
		res.Metrics["schedule_lag"] = report.MetricFromHistogram(since(ls.Lag, warmLag))
	}
	for class, n := range ls.Errors {
		res.Errors = append(res.Errors, report.ErrorCount{At: ls.Start.UTC(), Where: "load", Count: n,
			Message: fmt.Sprintf("SQL errors of class %s: %s", class, ls.ErrorExamples[class])})
	}
	if ls.Retries > 0 {
		res.Errors = append(res.Errors, report.ErrorCount{At: ls.Start.UTC(), Where: "load", Count: ls.Retries,
			Message: "transaction retries after 40001/40P01 (retried, not failed)"})
	}
}

// addTokenSection fills res.Token and the token_fetch metric from the token source's stats.
func addTokenSection(res *report.Result, ts oauth.Stats, refreshes int64, started time.Time) {
	res.Metrics[report.MetricTokenFetch] = report.MetricFromHistogram(ts.TokenFetch)
	res.Token = report.Token{
		Fetches:      ts.Fetches,
		Failures:     ts.Failures,
		Refreshes:    refreshes,
		FirstTokenUS: ts.FirstToken.Microseconds(),
		LifetimeS:    ts.LastLifetime.Seconds(),
	}
	for _, ev := range ts.Events {
		res.Token.Events = append(res.Token.Events, report.TokenEvent{At: ev.At.UTC(), TookUS: ev.Took.Microseconds(), OK: ev.OK, Error: ev.Error})
	}
	for class, n := range ts.ByClass {
		res.Errors = append(res.Errors, report.ErrorCount{At: started.UTC(), Where: "oauth", Count: n, Message: "token fetch failed: " + string(class)})
	}
}
