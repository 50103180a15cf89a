package changefeed

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// RowQuerier is the one method ProbeClock needs; *pgx.Conn, *pgxpool.Pool and pgx.Tx satisfy it.
type RowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// ClockOffset is an estimate of a database node's clock relative to this host's:
// node clock ≈ local clock + Offset, within ±Uncertainty.
type ClockOffset struct {
	Offset      time.Duration // server time − local time at the moment the server read its clock
	Uncertainty time.Duration // half the best round trip, plus the server clock's 1µs resolution
	Samples     int           // round trips measured (after the warm-up query)
	BestRTT     time.Duration // the round trip of the sample the estimate comes from
}

// DefaultClockSamples is the number of round trips ProbeClock makes when asked for 0.
const DefaultClockSamples = 32

// clockResolution is the resolution of clock_timestamp() on PostgreSQL and CockroachDB.
const clockResolution = time.Microsecond

// clockQuery works on PostgreSQL and CockroachDB; clock_timestamp() is the current time, not the
// transaction's start.
const clockQuery = "SELECT clock_timestamp()"

// ProbeClock estimates this host's clock offset from the database node behind q, NTP-style: it
// runs SELECT clock_timestamp() samples times (after one discarded warm-up that pays for
// statement preparation), and for each round trip computes
// offset = server_time − (t_send + rtt/2). The sample with the smallest round trip wins (it has
// the least room for asymmetric delay), and the uncertainty is its rtt/2 (plus the server clock's
// 1µs resolution). Through a pool, samples may come from different connections; behind a load
// balancer, from different nodes, so probe a single node's connection to measure that node.
//
// Not safe for concurrent use of the same connection; ctx bounds the whole probe.
func ProbeClock(ctx context.Context, q RowQuerier, samples int) (ClockOffset, error) {
	if samples <= 0 {
		samples = DefaultClockSamples
	}
	if _, _, err := clockSample(ctx, q); err != nil {
		return ClockOffset{}, err
	}
	best := ClockOffset{Samples: samples}
	bestRTT := time.Duration(-1)
	for range samples {
		offset, rtt, err := clockSample(ctx, q)
		if err != nil {
			return ClockOffset{}, err
		}
		if bestRTT < 0 || rtt < bestRTT {
			bestRTT = rtt
			best.Offset = offset
		}
	}
	best.BestRTT = bestRTT
	best.Uncertainty = bestRTT/2 + clockResolution
	return best, nil
}

// clockSample makes one round trip and returns the offset estimate and the round-trip time. The
// round trip is measured on the monotonic clock; the offset compares the server's time with the
// local wall clock at the middle of the round trip.
func clockSample(ctx context.Context, q RowQuerier) (offset, rtt time.Duration, err error) {
	var server time.Time
	sent := time.Now()
	if err := q.QueryRow(ctx, clockQuery).Scan(&server); err != nil {
		return 0, 0, fmt.Errorf("clock probe (%s): %w", clockQuery, err)
	}
	rtt = time.Since(sent)
	if server.IsZero() {
		return 0, 0, errors.New("clock probe: the server returned a zero time")
	}
	mid := sent.Round(0).Add(rtt / 2) // Round(0) strips the monotonic reading: compare wall clocks
	return server.Sub(mid), rtt, nil
}

// String formats the estimate as "offset ±uncertainty (n samples, best rtt …)".
func (c ClockOffset) String() string {
	return fmt.Sprintf("%v ±%v (%d samples, best rtt %v)", c.Offset, c.Uncertainty, c.Samples, c.BestRTT)
}
