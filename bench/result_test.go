package bench

import (
	"bytes"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cfbench/cfbench/consume"
	"github.com/cfbench/cfbench/load"
)

// TestMeasuredRates: 2 s of warm-up then 8.1 s measured at 200 writes/s, and consumer intervals
// that do not line up with the load's seconds. The consumer's row starting at 7.7 s belongs to
// the measurement but holds no load second: the write rate must not count it.
func TestMeasuredRates(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC)
	r := &runner{loadStart: t0.Add(-2 * time.Second), measureEnd: t0.Add(8100 * time.Millisecond), loadIntended: 200}
	for sec := 1; sec <= 10; sec++ { // second T covers (loadStart+T−1 s, loadStart+T s]
		r.loadSeries = append(r.loadSeries, load.Second{T: sec, Writes: 200})
	}
	var cs consume.Stats
	for k := range 12 {
		iv := consume.Interval{T: k, Start: t0.Add(-2300*time.Millisecond + time.Duration(k)*time.Second),
			Elapsed: time.Second, Events: 250, Bytes: 1000, LagMsgs: int64(k % 3)}
		if k == 11 {
			iv.Elapsed, iv.Events, iv.Bytes = 500*time.Millisecond, 125, 500
		}
		cs.Series = append(cs.Series, iv)
	}
	cs.Series[4].LagMsgs = -1

	series, rates := r.measured(cs, t0)
	if len(series) != 9 || series[0].T != 0 || series[8].T != 8 {
		t.Fatalf("series %+v, want t = 0..8 (intervals starting from −0.3 s up to 7.7 s)", series)
	}
	if series[8].Writes != 0 || series[7].Writes != 200 {
		t.Errorf("writes at t=7, 8: %d, %d; want 200, 0 (the load stopped at 8.1 s)", series[7].Writes, series[8].Writes)
	}
	want := map[string][2]float64{
		"intended": {rates.IntendedWritesPerS, 200},
		"achieved": {rates.AchievedWritesPerS, 200}, // 1600 writes over the 8 rows with a load second, not 9
		"events":   {rates.EventsPerS, 250},
		"bytes":    {rates.BytesPerS, 1000},
	}
	for name, v := range want {
		if math.Abs(v[0]-v[1]) > 1e-9 {
			t.Errorf("%s = %v /s, want %v", name, v[0], v[1])
		}
	}
	if l := series[0].ConsumerLagMsgs; l == nil || *l != 2 { // interval k=2 starts at −0.3 s
		t.Errorf("t=0 consumer lag %v, want 2", l)
	}
	if series[2].ConsumerLagMsgs != nil { // k=4: unknown
		t.Errorf("t=2 consumer lag %d, want none (unknown)", *series[2].ConsumerLagMsgs)
	}
}

// TestReportWarnsWhenConsumerFallsBehind: three seconds in a row over the line log one warning,
// a good second ends the streak (info), and a second streak warns again.
func TestReportWarnsWhenConsumerFallsBehind(t *testing.T) {
	var logs bytes.Buffer
	r := &runner{log: slog.New(slog.NewTextHandler(&logs, nil)),
		intervals: make(chan consume.Interval, 16), reported: make(chan struct{})}
	go r.report()
	for _, lag := range []int64{5, 2000, 3000, 4000, 5000, 10, -1, 2000, 2000, 2000} {
		r.intervals <- consume.Interval{Events: 500, LagMsgs: lag}
	}
	close(r.intervals)
	<-r.reported
	out := logs.String()
	if n := strings.Count(out, "level=WARN msg=\"the consumer is falling behind"); n != 2 {
		t.Errorf("%d warnings, want 2:\n%s", n, out)
	}
	if !strings.Contains(out, "not_polled_msgs=4000") || !strings.Contains(out, "the consumer caught up\" behind_s=4 peak_not_polled_msgs=5000") {
		t.Errorf("warning or catch-up line lacks its figures:\n%s", out)
	}
}

// TestConsumeResultKeepsTheGivenClockOffset: cfbench consume --clock-offset is in the result's
// clock (0 samples: given, not measured), so the clock check says so.
func TestConsumeResultKeepsTheGivenClockOffset(t *testing.T) {
	res := ConsumeResult(Standalone{Command: "consume", ClockOffset: 3 * time.Millisecond}, consume.Stats{}, nil)
	if c := res.Clock; c.OffsetUS != 3000 || c.Samples != 0 {
		t.Errorf("clock %+v, want offset 3000 µs with 0 samples", c)
	}
}
