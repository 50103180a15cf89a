package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	dto "github.com/prometheus/client_model/go"

	"github.com/cfbench/cfbench/consume"
	"github.com/cfbench/cfbench/load"
	"github.com/cfbench/cfbench/oauth"
)

func gather(t *testing.T, m *Run) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

func value(t *testing.T, mfs map[string]*dto.MetricFamily, name string) float64 {
	t.Helper()
	mf, ok := mfs[name]
	if !ok {
		t.Fatalf("no series %s", name)
	}
	m := mf.GetMetric()[0]
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	t.Fatalf("%s: unexpected type", name)
	return 0
}

func TestRunObserve(t *testing.T) {
	m := New("local", "1/2")
	m.SetPhase("measure")
	m.ObserveLoad(&load.Stats{Series: []load.Second{{Writes: 10, Errors: 1}}})
	m.ObserveLoad(&load.Stats{Series: []load.Second{{Writes: 10, Errors: 1}, {Writes: 5}}})

	h := hdrhistogram.New(1, 3_600_000_000, 3)
	for _, v := range []int64{1000, 2000, 2000, 50_000} {
		_ = h.RecordValue(v)
	}
	enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	m.ObserveConsume(consume.Interval{Events: 4, Resolved: 6, Bytes: 400, Errors: 2, TokenRefreshes: 1, ResolvedLagUS: 1_500_000, LagMsgs: 12, E2ECommitHDR: enc})
	m.ObserveConsume(consume.Interval{LagMsgs: -1}) // unknown: the gauge keeps 12
	m.ObserveTokens(oauth.Stats{Fetches: 3, Failures: 1, Events: []oauth.Event{{OK: true, Took: 20 * time.Millisecond}, {OK: false}, {OK: true, Took: 30 * time.Millisecond}}})
	m.ObserveTokens(oauth.Stats{Fetches: 3, Failures: 1, Events: []oauth.Event{{OK: true, Took: 20 * time.Millisecond}, {OK: false}, {OK: true, Took: 30 * time.Millisecond}}})
	if _, ok := gather(t, m)["cfbench_consumer_lag_writes"]; ok {
		t.Error("cfbench_consumer_lag_writes exported before SetConsumerLag (with several workers it would read 0)")
	}
	m.SetConsumerLag(7)

	mfs := gather(t, m)
	for name, want := range map[string]float64{
		"cfbench_writes_total": 15, "cfbench_write_errors_total": 1,
		"cfbench_events_total": 4, "cfbench_resolved_total": 6, "cfbench_consumed_bytes_total": 400,
		"cfbench_consume_errors_total": 2, "cfbench_token_refresh_events_total": 1,
		"cfbench_e2e_commit_seconds": 4, "cfbench_token_fetch_seconds": 2,
		"cfbench_token_fetches_total": 3, "cfbench_token_fetch_failures_total": 1,
		"cfbench_resolved_lag_seconds": 1.5, "cfbench_consumer_lag_writes": 7,
		"cfbench_consumer_lag_messages": 12,
	} {
		if got := value(t, mfs, name); got != want {
			t.Errorf("%s = %g, want %g", name, got, want)
		}
	}
	// e2e: the sum is the values in seconds, within HDR's 3 significant figures.
	e2e := mfs["cfbench_e2e_commit_seconds"].GetMetric()[0].GetHistogram()
	if s := e2e.GetSampleSum(); s < 0.0549 || s > 0.0551 {
		t.Errorf("e2e sum %g s, want ≈ 0.055", s)
	}
	if e2e.GetSchema() == 0 && len(e2e.GetPositiveSpan()) == 0 {
		t.Error("e2e_commit is not a native histogram")
	}
	for _, l := range mfs["cfbench_events_total"].GetMetric()[0].GetLabel() {
		if l.GetName() == "worker" && l.GetValue() != "1/2" {
			t.Errorf("worker label %q", l.GetValue())
		}
	}
	phases := map[string]float64{}
	for _, pm := range mfs["cfbench_run_phase"].GetMetric() {
		for _, l := range pm.GetLabel() {
			if l.GetName() == "phase" {
				phases[l.GetValue()] = pm.GetGauge().GetValue()
			}
		}
	}
	if phases["measure"] != 1 || phases["warmup"] != 0 || len(phases) != len(Phases) {
		t.Errorf("phases %v", phases)
	}
}

func TestNilRun(t *testing.T) {
	var m *Run
	m.SetPhase("measure")
	m.ObserveLoad(&load.Stats{})
	m.ObserveConsume(consume.Interval{Events: 1})
	m.ObserveTokens(oauth.Stats{})
	m.SetConsumerLag(1)
}

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		addr   string
		remote bool
		ok     bool
	}{
		{"127.0.0.1:9464", false, true},
		{"localhost:9464", false, true},
		{"[::1]:9464", false, true},
		{":9464", false, false},
		{"0.0.0.0:9464", false, false},
		{"10.0.0.5:9464", false, false},
		{"0.0.0.0:9464", true, true},
		{"9464", false, false},
	}
	for _, tc := range tests {
		err := CheckAddr(tc.addr, tc.remote)
		if (err == nil) != tc.ok {
			t.Errorf("CheckAddr(%q, %v) = %v, want ok=%v", tc.addr, tc.remote, err, tc.ok)
		}
		if tc.addr == "0.0.0.0:9464" && !tc.remote && !errors.Is(err, ErrNotLoopback) {
			t.Errorf("CheckAddr(%q): %v, want ErrNotLoopback", tc.addr, err)
		}
	}
}

func TestServe(t *testing.T) {
	m := New("p", "1/1")
	m.ObserveConsume(consume.Interval{Events: 3})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := m.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `cfbench_events_total{profile="p",worker="1/1"} 3`) {
		t.Errorf("scrape lacks the events counter:\n%s", body)
	}
}

// BenchmarkObserveConsume feeds one second of 10 000 e2e samples.
func BenchmarkObserveConsume(b *testing.B) {
	h := hdrhistogram.New(1, 3_600_000_000, 3)
	for i := range int64(10_000) {
		_ = h.RecordValue(1000 + i*7)
	}
	enc, _ := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	m := New("p", "1/1")
	iv := consume.Interval{Events: 10_000, E2ECommitHDR: enc}
	b.Run("events=10000", func(b *testing.B) {
		for b.Loop() {
			m.ObserveConsume(iv)
		}
	})
}
