package bench

import (
	"fmt"
	"os"
	"time"

	"github.com/cfbench/cfbench/consume"
	"github.com/cfbench/cfbench/load"
	"github.com/cfbench/cfbench/oauth"
	"github.com/cfbench/cfbench/report"
)

// Standalone describes a `cfbench load` or `cfbench consume` run for its result file.
type Standalone struct {
	Command                string // "load" or "consume", recorded as run.profile "<command>"
	Started, Ended         time.Time
	Interrupted            bool
	ToolVersion, GitCommit string
	Config                 map[string]any // the flags that shaped the run, no secrets
	// ClockOffset is the database clock minus this host's as given by the user (consume
	// --clock-offset), not measured: the result's clock has it with 0 samples.
	ClockOffset time.Duration
}

func (s Standalone) result() *report.Result {
	host, _ := os.Hostname()
	return &report.Result{
		Schema: report.Schema,
		Run: report.Run{
			Profile: s.Command, Started: s.Started.UTC(), Ended: s.Ended.UTC(), Interrupted: s.Interrupted,
			ToolVersion: s.ToolVersion, GitCommit: s.GitCommit, Host: host, Worker: "1/1",
			Config: report.Redact(s.Config),
		},
		Metrics: map[string]report.Metric{},
		Warmup:  map[string]report.Metric{},
	}
}

// LoadResult is the write-side part of the result file (DESIGN.md §6) for `cfbench load`: write
// latencies per op, schedule lag, rates, per-second writes and errors. The ramp is left out of
// the cumulative histograms by load itself.
func LoadResult(s Standalone, st *load.Stats) *report.Result {
	res := s.result()
	addLoadMetrics(res, st, nil, nil)
	if st == nil {
		return res
	}
	res.Rates.IntendedWritesPerS = st.IntendedRate
	res.Rates.AchievedWritesPerS = st.AchievedRate
	for _, sec := range st.Series {
		res.Series = append(res.Series, report.Second{T: int64(sec.T - 1), Writes: sec.Writes, Errors: sec.Errors})
	}
	return res
}

// ConsumeResult is the consumer-side part of the result file for `cfbench consume`: latencies,
// delivery checks (without a ledger: nothing can be missing), token fetches and refreshes, and
// the per-second series. ts may be nil when the token source is not an *oauth.Source.
func ConsumeResult(s Standalone, cs consume.Stats, ts *oauth.Stats) *report.Result {
	res := s.result()
	res.Clock.OffsetUS = s.ClockOffset.Microseconds()
	addConsumeMetrics(res, cs, nil)
	if ts != nil {
		addTokenSection(res, *ts, cs.Token.Refreshes, s.Started)
	}
	res.Delivery = report.Delivery{
		Received:            cs.Verify.Rows,
		Duplicates:          cs.Verify.Duplicates,
		OrderViolations:     cs.Verify.OrderViolations,
		PartitionViolations: cs.Verify.PartitionViolations,
		ResolvedViolations:  cs.Verify.ResolvedViolations + cs.Verify.ResolvedRegressions,
		DecodeErrors:        cs.DecodeErrors,
	}
	var events, bytes int64
	for _, iv := range cs.Series {
		events += iv.Events
		bytes += iv.Bytes
		res.Series = append(res.Series, report.Second{
			T: int64(iv.T), Events: iv.Events, E2EP50US: iv.E2EP50US, E2EP99US: iv.E2EP99US, E2EMaxUS: iv.E2EMaxUS,
			ResolvedLagUS: iv.ResolvedLagUS, TokenRefreshes: iv.TokenRefreshes, Errors: iv.Errors,
			ConsumerLagMsgs: lagOf(iv),
		})
		if len(iv.E2ECommitHDR) > 0 {
			if res.Intervals == nil {
				res.Intervals = map[string][]report.Interval{}
			}
			res.Intervals[report.MetricE2ECommit] = append(res.Intervals[report.MetricE2ECommit], report.Interval{T: int64(iv.T), HDR: string(iv.E2ECommitHDR)})
		}
	}
	if secs := s.Ended.Sub(s.Started).Seconds(); secs > 0 {
		res.Rates.EventsPerS = float64(events) / secs
		res.Rates.BytesPerS = float64(bytes) / secs
	}
	return res
}

// WriteResult writes res to path (creating its directory) and says where.
func WriteResult(res *report.Result, path string) error {
	if err := res.WriteFile(path); err != nil {
		return fmt.Errorf("writing --out %s: %w", path, err)
	}
	return nil
}
