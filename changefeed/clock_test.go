package changefeed

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cfbench/cfbench/internal/stacktest"
	"github.com/jackc/pgx/v5"
)

// skewedDB is a database whose clock runs offset ahead of ours, with out/back network delays.
type skewedDB struct {
	offset    time.Duration
	out, back time.Duration
	calls     int
	err       error
}

type delayedRow struct {
	t    time.Time
	back time.Duration
	err  error
}

func (r delayedRow) Scan(dest ...any) error {
	time.Sleep(r.back)
	if r.err != nil {
		return r.err
	}
	*dest[0].(*time.Time) = r.t
	return nil
}

func (d *skewedDB) QueryRow(_ context.Context, sql string, _ ...any) pgx.Row {
	d.calls++
	if sql != "SELECT clock_timestamp()" {
		return delayedRow{err: errors.New("unexpected query " + sql)}
	}
	time.Sleep(d.out)
	return delayedRow{t: time.Now().Add(d.offset).Round(time.Microsecond), back: d.back, err: d.err}
}

func TestProbeClock(t *testing.T) {
	for _, tc := range []struct {
		name      string
		offset    time.Duration
		out, back time.Duration
	}{
		{"ahead, symmetric", 250 * time.Millisecond, time.Millisecond, time.Millisecond},
		{"behind, symmetric", -3 * time.Second, time.Millisecond, time.Millisecond},
		{"asymmetric delay stays inside the bound", 40 * time.Millisecond, 3 * time.Millisecond, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := &skewedDB{offset: tc.offset, out: tc.out, back: tc.back}
			got, err := ProbeClock(context.Background(), db, 8)
			if err != nil {
				t.Fatal(err)
			}
			if got.Samples != 8 || db.calls != 9 {
				t.Fatalf("Samples = %d after %d queries, want 8 after 9 (one warm-up)", got.Samples, db.calls)
			}
			if minRTT := tc.out + tc.back; got.BestRTT < minRTT || got.Uncertainty < minRTT/2 {
				t.Fatalf("BestRTT %v / Uncertainty %v below the simulated delay %v", got.BestRTT, got.Uncertainty, minRTT)
			}
			if diff := (got.Offset - tc.offset).Abs(); diff > got.Uncertainty {
				t.Fatalf("Offset %v is %v from the true %v, outside ±%v", got.Offset, diff, tc.offset, got.Uncertainty)
			}
		})
	}
}

func TestProbeClockError(t *testing.T) {
	_, err := ProbeClock(context.Background(), &skewedDB{err: errors.New("connection reset")}, 4)
	if err == nil || err.Error() != "clock probe (SELECT clock_timestamp()): connection reset" {
		t.Fatalf("error = %v", err)
	}
}

// TestProbeClockPostgres measures the offset from the local PostgreSQL, which runs on this
// host's clock: the estimate must be 0 within its uncertainty plus a few ms.
func TestProbeClockPostgres(t *testing.T) {
	st := stacktest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, st.PGURL)
	if err != nil {
		t.Fatalf("connecting to PostgreSQL: %v", err)
	}
	defer conn.Close(context.Background())
	got, err := ProbeClock(ctx, conn, 32)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("local PostgreSQL clock offset: %v", got)
	const slack = 3 * time.Millisecond
	if got.Offset.Abs() > got.Uncertainty+slack {
		t.Fatalf("offset %v from a same-host database exceeds its uncertainty %v + %v", got.Offset, got.Uncertainty, slack)
	}
	if got.Uncertainty > 50*time.Millisecond || !strings.Contains(got.String(), "32 samples") {
		t.Fatalf("implausible estimate over loopback: %v", got)
	}
}
