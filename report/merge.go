package report

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Merge combines the results of several workers of one run into one result:
//   - histograms (metrics, warmup, intervals) merge exactly: decoded, merged, re-encoded, and
//     the summary fields recomputed;
//   - run: the earliest start, the latest end, interrupted if any worker was, worker "merged k/n";
//   - delivery counts, token fetches/failures/refreshes, rates and clock samples add up; token
//     events and errors are concatenated in time order; first_token_us and lifetime_s are the
//     largest; the clock offset is the worker's whose |offset| is largest, with the largest
//     uncertainty;
//   - series rows are aligned on wall time (each worker's t shifted by the offset of its
//     [Run.Origin] from the earliest one, rounded to the second) and summed; e2e_p50/p99/max are recomputed from the merged e2e_commit
//     intervals when the workers recorded them, otherwise they are the largest worker value (an
//     upper bound); resolved_lag_us is the largest.
//
// All results must share profile and variant, and no worker may appear twice. The inputs are not
// modified.
func Merge(rs []*Result) (*Result, error) {
	if len(rs) == 0 {
		return nil, fmt.Errorf("merge needs at least one result")
	}
	first := rs[0]
	seen := map[string]bool{}
	total := ""
	for i, r := range rs {
		if r.Run.Profile != first.Run.Profile || r.Run.Variant != first.Run.Variant {
			return nil, fmt.Errorf("result %d is profile %q variant %q, result 1 is profile %q variant %q: not workers of one run",
				i+1, r.Run.Profile, r.Run.Variant, first.Run.Profile, first.Run.Variant)
		}
		if r.Run.Worker != "" {
			if seen[r.Run.Worker] {
				return nil, fmt.Errorf("worker %s appears twice: merging it twice would count it twice", r.Run.Worker)
			}
			seen[r.Run.Worker] = true
		}
		if _, n, ok := parseWorker(r.Run.Worker); ok {
			if total != "" && total != n {
				return nil, fmt.Errorf("worker %s belongs to a run of %s workers, others to %s", r.Run.Worker, n, total)
			}
			total = n
		}
	}
	if total == "" {
		total = strconv.Itoa(len(rs))
	}

	out := &Result{Schema: Schema, Run: first.Run}
	out.Run.Config = first.Run.Config
	out.Run.Partitions = nil // every worker's, below
	out.Run.Worker = fmt.Sprintf("merged %d/%s", len(rs), total)
	for _, r := range rs {
		if !r.Run.Started.IsZero() && (out.Run.Started.IsZero() || r.Run.Started.Before(out.Run.Started)) {
			out.Run.Started = r.Run.Started
		}
		if r.Run.Ended.After(out.Run.Ended) {
			out.Run.Ended = r.Run.Ended
		}
		out.Run.Interrupted = out.Run.Interrupted || r.Run.Interrupted
	}

	var err error
	if out.Metrics, err = mergeMetricSets(rs, func(r *Result) map[string]Metric { return r.Metrics }); err != nil {
		return nil, fmt.Errorf("merging metrics: %w", err)
	}
	if out.Warmup, err = mergeMetricSets(rs, func(r *Result) map[string]Metric { return r.Warmup }); err != nil {
		return nil, fmt.Errorf("merging warmup: %w", err)
	}
	if len(out.Warmup) == 0 {
		out.Warmup = nil
	}

	// Align the workers' seconds on the earliest origin (start of the measured phase).
	var origin time.Time
	for _, r := range rs {
		if o := r.Run.Origin(); !o.IsZero() && (origin.IsZero() || o.Before(origin)) {
			origin = o
		}
	}
	out.Run.MeasuredFrom = time.Time{}
	for _, r := range rs {
		if !r.Run.MeasuredFrom.IsZero() {
			out.Run.MeasuredFrom = origin
			break
		}
	}
	shift := make([]int64, len(rs))
	for i, r := range rs {
		if o := r.Run.Origin(); !o.IsZero() && !origin.IsZero() {
			shift[i] = int64((o.Sub(origin) + 500*time.Millisecond) / time.Second)
		}
	}
	ivs, err := mergeIntervals(rs, shift)
	if err != nil {
		return nil, err
	}
	if len(ivs) > 0 {
		out.Intervals = make(map[string][]Interval, len(ivs))
		for name, byT := range ivs {
			ts := make([]int64, 0, len(byT))
			for t := range byT {
				ts = append(ts, t)
			}
			sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
			for _, t := range ts {
				out.Intervals[name] = append(out.Intervals[name], Interval{T: t, HDR: encodeHDR(byT[t])})
			}
		}
	}
	out.Series = mergeSeries(rs, shift, ivs[MetricE2ECommit])

	for _, r := range rs {
		d, o := r.Delivery, &out.Delivery
		o.Written += d.Written
		o.Received += d.Received
		o.Missing += d.Missing
		o.Duplicates += d.Duplicates
		o.OrderViolations += d.OrderViolations
		o.PartitionViolations += d.PartitionViolations
		o.ResolvedViolations += d.ResolvedViolations
		o.DecodeErrors += d.DecodeErrors
		o.AckedAfterReceive += d.AckedAfterReceive
		o.Unexpected += d.Unexpected
		o.Unreconciled += d.Unreconciled
		o.CrossWorker += d.CrossWorker
		o.CrossWorkerE2EAck = o.CrossWorkerE2EAck || d.CrossWorkerE2EAck
		out.Run.Partitions = append(out.Run.Partitions, r.Run.Partitions...)

		t, ot := r.Token, &out.Token
		ot.Fetches += t.Fetches
		ot.Failures += t.Failures
		ot.Refreshes += t.Refreshes
		ot.FirstTokenUS = max(ot.FirstTokenUS, t.FirstTokenUS)
		ot.LifetimeS = max(ot.LifetimeS, t.LifetimeS)
		ot.Events = append(ot.Events, t.Events...)

		c, oc := r.Clock, &out.Clock
		if abs(c.OffsetUS) > abs(oc.OffsetUS) {
			oc.OffsetUS = c.OffsetUS
		}
		oc.UncertaintyUS = max(oc.UncertaintyUS, c.UncertaintyUS)
		oc.Samples += c.Samples
		if c.DriftUS != nil && (oc.DriftUS == nil || abs(*c.DriftUS) > abs(*oc.DriftUS)) {
			d := *c.DriftUS
			oc.DriftUS = &d
		}
		oc.EndUncertaintyUS = max(oc.EndUncertaintyUS, c.EndUncertaintyUS)

		out.Rates.IntendedWritesPerS += r.Rates.IntendedWritesPerS
		out.Rates.AchievedWritesPerS += r.Rates.AchievedWritesPerS
		out.Rates.EventsPerS += r.Rates.EventsPerS
		out.Rates.BytesPerS += r.Rates.BytesPerS

		out.Errors = append(out.Errors, r.Errors...)
	}
	sort.Strings(out.Run.Partitions)
	sort.SliceStable(out.Token.Events, func(i, j int) bool { return out.Token.Events[i].At.Before(out.Token.Events[j].At) })
	sort.SliceStable(out.Errors, func(i, j int) bool { return out.Errors[i].At.Before(out.Errors[j].At) })
	return out, nil
}

// parseWorker splits "i/n".
func parseWorker(s string) (i, n string, ok bool) {
	i, n, ok = strings.Cut(s, "/")
	if !ok {
		return "", "", false
	}
	if _, err := strconv.Atoi(i); err != nil {
		return "", "", false
	}
	if _, err := strconv.Atoi(n); err != nil {
		return "", "", false
	}
	return i, n, true
}

func mergeMetricSets(rs []*Result, set func(*Result) map[string]Metric) (map[string]Metric, error) {
	hs := map[string]*hdrhistogram.Histogram{}
	for i, r := range rs {
		for name, m := range set(r) {
			h, err := mergeHDR(hs[name], m.HDR, m.Count)
			if err != nil {
				return nil, fmt.Errorf("result %d, %s: %w", i+1, name, err)
			}
			hs[name] = h
		}
	}
	out := make(map[string]Metric, len(hs))
	for name, h := range hs {
		out[name] = MetricFromHistogram(h)
	}
	return out, nil
}

// mergeHDR decodes hdr and merges it into acc (nil: none yet), failing if any value would be
// dropped. It returns the accumulator.
func mergeHDR(acc *hdrhistogram.Histogram, hdr string, count int64) (*hdrhistogram.Histogram, error) {
	h, err := (Metric{HDR: hdr, Count: count}).Histogram()
	if err != nil {
		return nil, err
	}
	if acc == nil {
		return h, nil
	}
	if dropped := acc.Merge(h); dropped > 0 {
		return nil, fmt.Errorf("%d values out of the histogram's range (%d..%d)", dropped,
			acc.LowestTrackableValue(), acc.HighestTrackableValue())
	}
	return acc, nil
}

// mergeIntervals merges the per-second histograms of every worker, per metric and shifted
// second.
func mergeIntervals(rs []*Result, shift []int64) (map[string]map[int64]*hdrhistogram.Histogram, error) {
	hs := map[string]map[int64]*hdrhistogram.Histogram{}
	for i, r := range rs {
		for name, ivs := range r.Intervals {
			if hs[name] == nil {
				hs[name] = map[int64]*hdrhistogram.Histogram{}
			}
			for _, iv := range ivs {
				t := iv.T + shift[i]
				h, err := mergeHDR(hs[name][t], iv.HDR, 1)
				if err != nil {
					return nil, fmt.Errorf("merging intervals: result %d, %s t=%d: %w", i+1, name, iv.T, err)
				}
				hs[name][t] = h
			}
		}
	}
	return hs, nil
}

func mergeSeries(rs []*Result, shift []int64, e2e map[int64]*hdrhistogram.Histogram) []Second {
	byT := map[int64]*Second{}
	for i, r := range rs {
		for _, s := range r.Series {
			t := s.T + shift[i]
			o, ok := byT[t]
			if !ok {
				o = &Second{T: t}
				byT[t] = o
			}
			o.Writes += s.Writes
			o.Events += s.Events
			o.TokenRefreshes += s.TokenRefreshes
			o.Errors += s.Errors
			o.E2EP50US = max(o.E2EP50US, s.E2EP50US)
			o.E2EP99US = max(o.E2EP99US, s.E2EP99US)
			o.E2EMaxUS = max(o.E2EMaxUS, s.E2EMaxUS)
			o.ResolvedLagUS = max(o.ResolvedLagUS, s.ResolvedLagUS)
			if s.ConsumerLagMsgs != nil { // the workers' partitions are disjoint: lags add up
				sum := *s.ConsumerLagMsgs
				if o.ConsumerLagMsgs != nil {
					sum += *o.ConsumerLagMsgs
				}
				o.ConsumerLagMsgs = &sum
				o.ConsumerBehind = o.ConsumerBehind || LagBehind(*s.ConsumerLagMsgs, s.Events)
			}
			o.ConsumerBehind = o.ConsumerBehind || s.ConsumerBehind
		}
	}
	for t, h := range e2e {
		o, ok := byT[t]
		if !ok || h.TotalCount() == 0 {
			continue // an empty second keeps the worker values
		}
		o.E2EP50US = h.ValueAtQuantile(50)
		o.E2EP99US = h.ValueAtQuantile(99)
		o.E2EMaxUS = h.Max()
	}
	out := make([]Second, 0, len(byT))
	for _, s := range byT {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].T < out[j].T })
	return out
}
