package load

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/jackc/pgx/v5/pgconn"
)

// Histogram range: microseconds from 1 µs to 1 h, 3 significant figures (DESIGN.md §4).
const (
	histMinUs  = 1
	histMaxUs  = 3_600_000_000
	histDigits = 3
)

// NewHistogram returns an empty latency histogram in load's unit and range: microseconds,
// 1 µs to 1 h, 3 significant figures.
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histMinUs, histMaxUs, histDigits)
}

// recordUs records d in microseconds, clamped into the histogram's range.
func recordUs(h *hdrhistogram.Histogram, us int64) {
	_ = h.RecordValue(min(max(us, histMinUs), histMaxUs))
}

// OpStats are the figures of one op (or of all ops, for Stats.Total).
type OpStats struct {
	Op string // op name, "__total" for Stats.Total
	// Cumulative since the end of the ramp.
	Count   int64                   // ops completed without error
	Errors  int64                   // ops that failed after their retries
	Retries int64                   // attempts retried after a retryable error
	Rows    int64                   // rows changed (and recorded in the ledger)
	Latency *hdrhistogram.Histogram // µs from the intended start to the end (no coordinated omission)
	Service *hdrhistogram.Histogram // µs from the actual start to the end, retries included

	// The last interval only (ramp included).
	IntervalCount   int64
	IntervalErrors  int64
	IntervalLatency *hdrhistogram.Histogram
	IntervalService *hdrhistogram.Histogram
}

// Second is one point of the per-interval series.
type Second struct {
	T      int   // seconds since Start at the end of the interval
	Ops    int64 // ops completed
	Writes int64 // write ops completed (all ops but readVehicles)
	Rows   int64 // rows changed
	Errors int64 // failed ops
}

// Stats is a snapshot of a load run. The histograms hold microseconds (see NewHistogram).
type Stats struct {
	Start    time.Time
	Elapsed  time.Duration // since Start
	Measured time.Duration // Elapsed minus the ramp: the window of the cumulative figures
	Ramp     time.Duration
	Mix      Mix

	IntendedRate float64 // ops/s asked for after the ramp; 0 = as fast as possible
	// AchievedRate is the ops/s completed (with or without error) in the measured window: with a
	// Duration, the ops that ended between the end of the ramp and Duration (an overloaded
	// database finishes the backlog after it, which this leaves out); else all ops over Measured.
	AchievedRate float64

	Ops   []OpStats // ops of the mix with a weight, in Op order
	Total OpStats   // all ops together

	Interval time.Duration // length of the last interval (the Interval* figures)

	Lag         *hdrhistogram.Histogram // µs from intended to actual start, cumulative (open loop only)
	IntervalLag *hdrhistogram.Histogram // the same for the last interval

	Errors        map[string]int64  // failed ops by ErrorClass, whole run (ramp included)
	ErrorExamples map[string]string // one error message per class
	Retries       int64             // retried attempts, whole run
	Dropped       int64             // arrivals due before the run was cancelled that never started
	Interrupted   bool              // the run ended because its context was cancelled

	Series []Second
}

// Op returns the stats of op, or nil when op is not in the mix.
func (s *Stats) Op(op Op) *OpStats {
	for i := range s.Ops {
		if s.Ops[i].Op == op.String() {
			return &s.Ops[i]
		}
	}
	return nil
}

// ErrorClass returns the class an error is counted under: the two-character SQLSTATE class
// ("40" for serialization failures and deadlocks, "23" for constraint violations, "08" for
// connection exceptions, ...), or "timeout", "canceled", "network" or "other".
func ErrorClass(err error) string {
	var pgErr *pgconn.PgError
	var netErr net.Error
	switch {
	case errors.As(err, &pgErr) && len(pgErr.Code) >= 2:
		return pgErr.Code[:2]
	case errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &netErr):
		return "network"
	}
	return "other"
}

// retryable reports whether err is a serialization failure (40001) or a deadlock (40P01): the
// transaction did nothing and CockroachDB asks clients to retry it.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}
