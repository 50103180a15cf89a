package report

import (
	"fmt"
	"math"
)

// Check is one self-check of a run: did cfbench deliver and observe what was asked without
// becoming part of what it measured? A failed check does not fail the run (delivery does); it
// says which numbers to distrust and why.
type Check struct {
	Name   string // "consumer", "load" or "clock"
	OK     bool
	Detail string // one line: what was seen and, when not OK, what it means for the numbers
}

// Thresholds of CheckRun.
const (
	// LagCheckMinMsgs and LagCheckSeconds: the consumer fell behind when its lag stayed above
	// both LagCheckMinMsgs messages and one second of the events it received, for at least
	// LagCheckSeconds consecutive seconds. A consumer that keeps up is behind by about one fetch.
	LagCheckMinMsgs = 1000
	LagCheckSeconds = 3
	// ScheduleCheckRatio: the load kept its schedule when it achieved at least this fraction of
	// the intended write rate, or fell short by no more than Poisson arrivals do by chance (three
	// standard deviations, √ of the intended writes).
	ScheduleCheckRatio = 0.95
	// ClockCheckRatio: the clock offset is good enough when its ± uncertainty is at most this
	// fraction of the e2e_commit median.
	ClockCheckRatio = 0.1
)

// CheckRun runs the self-checks on r, in this order, skipping those r has no data for:
//   - consumer: from the series' consumer_lag_msgs (not checked when they are absent);
//   - load: achieved vs intended writes/s (not checked for a run that wrote nothing);
//   - clock: the offset's ± uncertainty, widened by how far it moved by the end of the run
//     when a second probe saw it move beyond both probes' bounds, against the e2e_commit median
//     (not checked without e2e_commit).
func CheckRun(r *Result) []Check {
	var out []Check
	if c, ok := checkConsumer(r.Series); ok {
		out = append(out, c)
	}
	if c, ok := checkLoad(r.Rates, loadSeconds(r.Series)); ok {
		out = append(out, c)
	}
	if c, ok := checkClock(r.Clock, r.Metrics[MetricE2ECommit]); ok {
		out = append(out, c)
	}
	return out
}

// LagBehind reports whether a second that ended with lagMsgs messages not polled, after events
// row messages were received in it, counts towards the consumer falling behind: more than
// LagCheckMinMsgs messages and more than one second of traffic. LagCheckSeconds such seconds in
// a row fail the consumer check (and make cfbench run warn while it runs).
func LagBehind(lagMsgs, events int64) bool {
	return lagMsgs > LagCheckMinMsgs && lagMsgs > events
}

func checkConsumer(series []Second) (Check, bool) {
	c := Check{Name: "consumer", OK: true}
	measured := false
	var peak, peakT int64
	run, worst := 0, 0 // consecutive seconds behind: current and longest
	var worstFrom, worstTo, from int64
	for _, s := range series {
		if s.ConsumerLagMsgs == nil {
			run = 0
			continue
		}
		measured = true
		lag := *s.ConsumerLagMsgs
		if lag > peak {
			peak, peakT = lag, s.T
		}
		if s.ConsumerBehind || LagBehind(lag, s.Events) { // a merged row: any worker behind
			if run == 0 {
				from = s.T
			}
			run++
			if run > worst {
				worst, worstFrom, worstTo = run, from, s.T
			}
		} else {
			run = 0
		}
	}
	if !measured {
		return c, false
	}
	if worst >= LagCheckSeconds {
		c.OK = false
		c.Detail = fmt.Sprintf("fell behind for %d s (t=%d–%ds; peak %d messages not polled, as second t=%d ended): "+
			"e2e latencies of those seconds include waiting for cfbench's consumer (a catch-up after an outage "+
			"looks the same); give it more CPU or split it with --worker i/n", worst, worstFrom, worstTo+1, peak, peakT)
		return c, true
	}
	c.Detail = fmt.Sprintf("kept up: at most %d messages not polled as a second ended (t=%d)", peak, peakT)
	return c, true
}

// loadSeconds counts the series rows the load wrote (or failed) in: the seconds its achieved
// rate is over (a consumer row after the load stopped holds none).
func loadSeconds(series []Second) int {
	n := 0
	for _, s := range series {
		if s.Writes > 0 || s.Errors > 0 {
			n++
		}
	}
	return n
}

// checkLoad compares the achieved write rate with the intended one over secs seconds (0:
// unknown, then only the ratio counts).
func checkLoad(rt Rates, secs int) (Check, bool) {
	c := Check{Name: "load", OK: true}
	switch {
	case rt.IntendedWritesPerS > 0:
		ratio := rt.AchievedWritesPerS / rt.IntendedWritesPerS
		short := (rt.IntendedWritesPerS - rt.AchievedWritesPerS) * float64(secs) // writes
		chance := 3 * math.Sqrt(rt.IntendedWritesPerS*float64(secs))
		if ratio < ScheduleCheckRatio && (secs == 0 || short > chance) {
			c.OK = false
			c.Detail = fmt.Sprintf("fell behind its schedule: achieved %s of the intended %s writes/s (%.0f%%): "+
				"write latencies count from the intended start, but the changefeed carried less than asked; "+
				"compare runs at the same achieved rate (more workload.concurrency, or a lower rate)",
				count(rt.AchievedWritesPerS), count(rt.IntendedWritesPerS), ratio*100)
			return c, true
		}
		c.Detail = fmt.Sprintf("kept its schedule: %s of the intended %s writes/s (%.0f%%)",
			count(rt.AchievedWritesPerS), count(rt.IntendedWritesPerS), ratio*100)
	case rt.AchievedWritesPerS > 0:
		c.Detail = fmt.Sprintf("unthrottled (rate 0): %s writes/s", count(rt.AchievedWritesPerS))
	default:
		return c, false
	}
	return c, true
}

func checkClock(cl Clock, e2e Metric) (Check, bool) {
	c := Check{Name: "clock", OK: true}
	if e2e.Count == 0 || e2e.P50US <= 0 {
		return c, false
	}
	p50 := duration(float64(e2e.P50US))
	if cl.Samples == 0 {
		c.OK = false
		assumed := "assume this host's clock agrees with the database's"
		if cl.OffsetUS != 0 {
			assumed = "are as good as the offset given"
		}
		c.Detail = fmt.Sprintf("offset not measured: e2e_commit (p50 %s), commit_to_kafka and resolved_lag %s; "+
			"e2e_ack uses one clock", p50, assumed)
		return c, true
	}
	// The bound on the correction: the start probe's ±, plus how far the offset moved by the end
	// when the end probe saw it move beyond both probes' bounds.
	boundUS := cl.UncertaintyUS
	what := "offset uncertainty ±" + duration(float64(boundUS))
	if cl.DriftUS != nil {
		if d := abs(*cl.DriftUS); d > cl.UncertaintyUS+cl.EndUncertaintyUS {
			boundUS += d
		}
		what = fmt.Sprintf("offset known to ±%s (±%s at the start, moved %s by the end)", duration(float64(boundUS)),
			duration(float64(cl.UncertaintyUS)), signedDuration(*cl.DriftUS))
	}
	pct := float64(boundUS) / float64(e2e.P50US) * 100
	if float64(boundUS) > ClockCheckRatio*float64(e2e.P50US) {
		c.OK = false
		c.Detail = fmt.Sprintf("%s is %.0f%% of the e2e_commit median (%s): e2e_commit, commit_to_kafka and "+
			"resolved_lag are only good to ±%s; e2e_ack uses one clock", what, pct, p50, duration(float64(boundUS)))
		return c, true
	}
	c.Detail = fmt.Sprintf("%s, %.1f%% of the e2e_commit median (%s)", what, pct, p50)
	return c, true
}
