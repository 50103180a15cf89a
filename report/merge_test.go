package report

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestMerge(t *testing.T) {
	w1 := synth(1, 50_000, 10)
	w1.Run.Worker = "1/2"
	w2 := synth(2, 20_000, 10)
	w2.Run.Worker = "2/2"
	w2.Run.Started = w1.Run.Started.Add(time.Second) // starts one second later
	w2.Run.Ended = w1.Run.Ended.Add(time.Second)
	w2.Run.Interrupted = true
	w2.Delivery.Missing = 4
	w2.Clock.DriftUS, w2.Clock.EndUncertaintyUS = ptr(int64(-300)), 900 // w1's: +120 ± 380 µs

	m, err := Merge([]*Result{w1, w2})
	if err != nil {
		t.Fatal(err)
	}
	if c := m.Clock; c.DriftUS == nil || *c.DriftUS != -300 || c.EndUncertaintyUS != 900 {
		t.Errorf("merged clock %+v, want the larger drift −300 µs and end uncertainty 900 µs", c)
	}
	if m.Run.Worker != "merged 2/2" || !m.Run.Started.Equal(w1.Run.Started) || !m.Run.Ended.Equal(w2.Run.Ended) || !m.Run.Interrupted {
		t.Errorf("run = %+v", m.Run)
	}
	for _, name := range []string{MetricE2ECommit, MetricTokenFetch, WriteLatencyPrefix + "addVehicle"} {
		h1, _ := w1.Metrics[name].Histogram()
		h2, _ := w2.Metrics[name].Histogram()
		h1.Merge(h2)
		got, err := m.Metrics[name].Histogram()
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equals(h1) {
			t.Errorf("%s: merged histogram differs from the two merged by hand", name)
		}
		if want := MetricFromHistogram(h1); m.Metrics[name].P99US != want.P99US || m.Metrics[name].Count != want.Count {
			t.Errorf("%s: summary p99=%d n=%d, want p99=%d n=%d", name, m.Metrics[name].P99US, m.Metrics[name].Count, want.P99US, want.Count)
		}
	}
	if m.Delivery.Written != w1.Delivery.Written+w2.Delivery.Written || m.Delivery.Missing != 4 ||
		m.Delivery.Duplicates != 6 {
		t.Errorf("delivery = %+v", m.Delivery)
	}
	if m.Token.Fetches != 8 || len(m.Token.Events) != 2 || len(m.Errors) != 2 {
		t.Errorf("token fetches=%d events=%d errors=%d, want 8, 2, 2", m.Token.Fetches, len(m.Token.Events), len(m.Errors))
	}
	if m.Rates.EventsPerS != w1.Rates.EventsPerS+w2.Rates.EventsPerS {
		t.Errorf("events/s = %v, want the sum", m.Rates.EventsPerS)
	}
	// w2's second 0 is w1's second 1: 11 merged seconds.
	if len(m.Series) != 11 {
		t.Fatalf("series has %d seconds, want 11", len(m.Series))
	}
	s1 := m.Series[1]
	if s1.T != 1 || s1.Writes != w1.Series[1].Writes+w2.Series[0].Writes {
		t.Errorf("second 1 = %+v, want writes %d+%d", s1, w1.Series[1].Writes, w2.Series[0].Writes)
	}
	a, _ := (Metric{HDR: w1.Intervals[MetricE2ECommit][1].HDR, Count: 1}).Histogram()
	b, _ := (Metric{HDR: w2.Intervals[MetricE2ECommit][0].HDR, Count: 1}).Histogram()
	a.Merge(b)
	if s1.E2EP99US != a.ValueAtQuantile(99) || s1.E2EMaxUS != a.Max() {
		t.Errorf("second 1 p99/max = %d/%d, want %d/%d from the merged interval", s1.E2EP99US, s1.E2EMaxUS, a.ValueAtQuantile(99), a.Max())
	}
	if got, want := *s1.ConsumerLagMsgs, *w1.Series[1].ConsumerLagMsgs+*w2.Series[0].ConsumerLagMsgs; got != want {
		t.Errorf("second 1 consumer lag = %d, want the workers' sum %d", got, want)
	}
	if !reflect.DeepEqual(m.Series[0], w1.Series[0]) {
		t.Errorf("second 0 = %+v, want worker 1's alone %+v", m.Series[0], w1.Series[0])
	}
	if w1.Run.Worker != "1/2" || w1.Delivery.Duplicates != 3 {
		t.Error("Merge modified its inputs")
	}
}

func TestMergeRejects(t *testing.T) {
	a, b := synth(1, 1000, 2), synth(2, 1000, 2)
	a.Run.Worker, b.Run.Worker = "1/2", "1/2"
	if _, err := Merge([]*Result{a, b}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("same worker twice: err = %v", err)
	}
	b.Run.Worker, b.Run.Profile = "2/2", "other"
	if _, err := Merge([]*Result{a, b}); err == nil || !strings.Contains(err.Error(), "not workers of one run") {
		t.Errorf("different profiles: err = %v", err)
	}
	b.Run.Profile, b.Run.Worker = a.Run.Profile, "2/3"
	if _, err := Merge([]*Result{a, b}); err == nil {
		t.Error("workers of runs of 2 and 3: want an error")
	}
	if _, err := Merge(nil); err == nil {
		t.Error("nothing to merge: want an error")
	}
}

func TestRefreshImpact(t *testing.T) {
	r := synth(4, 10_000, 30) // synth refreshes the token at second 10 (and 30, 50, ...)
	// Make the seconds around the refresh at t=10 slow, by replacing their histograms.
	for i, iv := range r.Intervals[MetricE2ECommit] {
		if iv.T >= 8 && iv.T <= 12 {
			h := NewHistogram()
			h.RecordValues(500_000, 100)
			r.Intervals[MetricE2ECommit][i].HDR = MetricFromHistogram(h).HDR
		}
	}
	near, away, ok, err := RefreshImpact(r, 2)
	if err != nil || !ok {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
	if near.Count != 500 || near.P50US < 499_000 || near.P50US > 501_000 {
		t.Errorf("near: n=%d p50=%d, want the 5 slow seconds (500 values of 500ms)", near.Count, near.P50US)
	}
	if away.P99US > 100_000 {
		t.Errorf("away: p99=%d µs, want the fast seconds only", away.P99US)
	}
	r.Series = nil
	if _, _, ok, _ := RefreshImpact(r, 2); ok {
		t.Error("no refresh: want ok=false")
	}
}

func TestMergeAlignsMeasuredPhase(t *testing.T) {
	w1, w2 := synth(1, 1000, 10), synth(2, 1000, 10)
	w1.Run.Worker, w2.Run.Worker = "1/2", "2/2"
	// Same start, but worker 2's warm-up ended 2 s later.
	w1.Run.MeasuredFrom = w1.Run.Started.Add(5 * time.Second)
	w2.Run.MeasuredFrom = w1.Run.Started.Add(7 * time.Second)
	m, err := Merge([]*Result{w1, w2})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Run.MeasuredFrom.Equal(w1.Run.MeasuredFrom) {
		t.Errorf("measured_from = %v, want the earliest %v", m.Run.MeasuredFrom, w1.Run.MeasuredFrom)
	}
	if len(m.Series) != 12 || m.Series[2].Writes != w1.Series[2].Writes+w2.Series[0].Writes {
		t.Errorf("series: %d seconds (want 12), second 2 writes %d (want %d)", len(m.Series), m.Series[2].Writes,
			w1.Series[2].Writes+w2.Series[0].Writes)
	}
	if got := m.Intervals[MetricE2ECommit]; len(got) != 12 || got[11].T != 11 {
		t.Errorf("intervals: %d, want 12 ending at t=11", len(got))
	}
}

// TestMergeKeepsAWorkerBehind: worker 1 (500 rows/s) is 1500 messages behind for 4 s, worker 2
// (5000 rows/s) keeps up. Summed, 1500 < 5500 rows would look fine; the merged result must
// still fail the consumer check.
func TestMergeKeepsAWorkerBehind(t *testing.T) {
	w1, w2 := synth(1, 50_000, 6), synth(2, 50_000, 6)
	w1.Run.Worker, w2.Run.Worker = "1/2", "2/2"
	for i := range w1.Series {
		lag1, lag2 := int64(0), int64(0)
		if i >= 1 && i <= 4 {
			lag1 = 1500
		}
		w1.Series[i].Events, w1.Series[i].ConsumerLagMsgs = 500, &lag1
		w2.Series[i].Events, w2.Series[i].ConsumerLagMsgs = 5000, &lag2
	}
	for _, w := range []*Result{w1, w2} {
		if c := CheckRun(w)[0]; c.Name != "consumer" {
			t.Fatalf("first check %q", c.Name)
		}
	}
	if CheckRun(w1)[0].OK || !CheckRun(w2)[0].OK {
		t.Fatal("the workers' own checks: want worker 1 behind, worker 2 not")
	}
	m, err := Merge([]*Result{w1, w2})
	if err != nil {
		t.Fatal(err)
	}
	if c := CheckRun(m)[0]; c.Name != "consumer" || c.OK {
		t.Errorf("merged consumer check %+v, want it failed as worker 1's did", c)
	}
}
