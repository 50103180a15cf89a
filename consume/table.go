package consume

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// TableHeaderEvery is how many rows the live table prints between headers.
const TableHeaderEvery = 20

// IntervalTable prints one aligned row per second, like `cockroach workload`, repeating the
// header every TableHeaderEvery rows. Not safe for concurrent use; give its Row to OnInterval.
type IntervalTable struct {
	w    io.Writer
	rows int
}

// NewIntervalTable returns a table that writes to w.
func NewIntervalTable(w io.Writer) *IntervalTable { return &IntervalTable{w: w} }

const rowFormat = "%8s %9s %8s %9s %9s %9s %12s %9s %9s %7s\n"

// Row prints one interval; rates are per second of the interval's Elapsed.
func (t *IntervalTable) Row(iv Interval) {
	if t.rows%TableHeaderEvery == 0 {
		fmt.Fprintf(t.w, rowFormat, "elapsed", "events/s", "MB/s", "p50(ms)", "p99(ms)", "max(ms)", "res-lag(ms)", "lag(msgs)", "refreshes", "errors")
	}
	t.rows++
	secs := iv.Elapsed.Seconds()
	if secs <= 0 {
		secs = 1
	}
	fmt.Fprintf(t.w, rowFormat,
		strconv.Itoa(iv.T+1)+"s", sig3(float64(iv.Events)/secs), sig3(float64(iv.Bytes)/secs/1e6),
		ms(iv.E2EP50US), ms(iv.E2EP99US), ms(iv.E2EMaxUS), ms(iv.ResolvedLagUS), lagMsgs(iv.LagMsgs),
		strconv.FormatInt(iv.TokenRefreshes, 10), strconv.FormatInt(iv.Errors, 10))
}

// lagMsgs prints Interval.LagMsgs, "-" when unknown.
func lagMsgs(n int64) string {
	if n < 0 {
		return "-"
	}
	return strconv.FormatInt(n, 10)
}

// WriteSummary prints the end-of-run summary of s for humans: latencies in ms with three
// significant figures, counts, verification, token refreshes and errors.
func WriteSummary(w io.Writer, s Stats) {
	elapsed := s.End.Sub(s.Start)
	o := s.Overall
	fmt.Fprintf(w, "\n_elapsed  %s   rows %d   resolved %d   %s MB   %s rows/s\n", elapsed.Round(time.Millisecond), o.Rows, o.Resolved,
		sig3(float64(o.Bytes)/1e6), sig3(float64(o.Rows)/max(elapsed.Seconds(), 1e-9)))
	fmt.Fprintf(w, "\n%-22s %8s %9s %9s %9s %9s %9s\n", "latency", "count", "p50(ms)", "p90(ms)", "p99(ms)", "p99.9(ms)", "max(ms)")
	line := func(name string, h *hdrhistogram.Histogram) {
		if h == nil || h.TotalCount() == 0 {
			fmt.Fprintf(w, "%-22s %8d %9s %9s %9s %9s %9s\n", name, 0, "-", "-", "-", "-", "-")
			return
		}
		fmt.Fprintf(w, "%-22s %8d %9s %9s %9s %9s %9s\n", name, h.TotalCount(), ms(h.ValueAtQuantile(50)), ms(h.ValueAtQuantile(90)),
			ms(h.ValueAtQuantile(99)), ms(h.ValueAtQuantile(99.9)), ms(h.Max()))
	}
	line("e2e_commit", o.E2ECommit)
	line("commit_to_kafka", o.CommitToKafka)
	line("kafka_to_consumer", o.KafkaToConsumer)
	line("e2e_ack", o.E2EAck)
	line("resolved_lag", o.ResolvedLag)
	win := s.RefreshImpact.Window.String()
	line("e2e near refresh ±"+win, s.RefreshImpact.Inside)
	line("e2e away from refresh", s.RefreshImpact.Outside)
	if len(o.TimestampTypes) > 0 {
		fmt.Fprintf(w, "record timestamps: %s\n", kv(o.TimestampTypes))
	}
	if o.NegativeE2E > 0 {
		fmt.Fprintf(w, "warning: %d rows arrived before their updated timestamp (clock skew?); recorded as 1 µs\n", o.NegativeE2E)
	}

	v := s.Verify
	missing := "unknown (no ledger)"
	if s.Missing >= 0 {
		missing = strconv.FormatInt(s.Missing, 10)
	}
	fmt.Fprintf(w, "\ndelivery: received %d (keys %d)  missing %s  duplicates %d  order violations %d  partition violations %d  resolved violations %d  resolved regressions %d  decode errors %d\n",
		v.Rows, v.Keys, missing, v.Duplicates, v.OrderViolations, v.PartitionViolations, v.ResolvedViolations, v.ResolvedRegressions, s.DecodeErrors)
	if s.DecodeErrors > 0 {
		fmt.Fprintf(w, "decode errors by reason: %s\n", kv(s.DecodeErrorsByReason))
		for _, d := range s.DecodeSamples {
			fmt.Fprintf(w, "  %s %s[%d]@%d: %q\n", d.Reason, d.Topic, d.Partition, d.Offset, d.Value)
		}
	}
	t := s.Token
	var took time.Duration
	for _, e := range t.Events {
		took = max(took, e.Took)
	}
	fmt.Fprintf(w, "token: %d refresh requests, %d tokens set, %d failures, slowest %s\n", t.Requests, t.Refreshes, t.Failures, took.Round(time.Microsecond))
	for _, e := range t.Events {
		if !e.OK {
			fmt.Fprintf(w, "  %s failed after %s: %s\n", e.At.UTC().Format(time.RFC3339), e.Took.Round(time.Millisecond), e.Error)
		}
	}
	if len(s.Errors) > 0 {
		fmt.Fprintf(w, "consumer errors: %s\n", kv(s.Errors))
	}
}

func kv(m map[string]int64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// ms formats microseconds as milliseconds with about three significant figures.
func ms(us int64) string { return sig3(float64(us) / 1000) }

// sig3 formats v with about three significant figures (benchunit style): 0.0123, 1.23, 12.3, 123, 1234.
func sig3(v float64) string {
	switch a := max(v, -v); {
	case a == 0:
		return "0"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}
