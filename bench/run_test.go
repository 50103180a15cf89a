package bench

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/cfbench/cfbench/internal/stacktest"
	"github.com/cfbench/cfbench/profiles"
	"github.com/cfbench/cfbench/report"
)

// TestLocalRun is a short full run on the local stack: pgfeed → Kafka → OAUTHBEARER consumer,
// with tokens capped at 5 s so librdkafka refreshes during the run. It asserts on the result file.
func TestLocalRun(t *testing.T) {
	stacktest.Require(t)
	p, err := profiles.Load("local", os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	p.Workload.Warmup = 3 * time.Second
	p.Workload.Duration = 12 * time.Second
	p.Workload.Rate = 100
	p.Workload.DrainTimeout = 30 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out := t.TempDir()
	oc, err := Run(ctx, Options{
		Profile: p, OutDir: out, MaxTokenLifetime: 5 * time.Second,
		Log: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	res, err := report.ReadFile(oc.Path)
	if err != nil {
		t.Fatal(err)
	}
	d := res.Delivery
	t.Logf("delivery %+v", d)
	if d.Written < 500 {
		t.Errorf("written = %d, want ≥ 500 (100 ops/s for 15 s)", d.Written)
	}
	if d.Received < d.Written {
		t.Errorf("received %d < written %d", d.Received, d.Written)
	}
	if d.Missing != 0 || d.OrderViolations != 0 || d.PartitionViolations != 0 || d.ResolvedViolations != 0 || d.DecodeErrors != 0 {
		t.Errorf("delivery not clean: %+v", d)
	}
	e2e := res.Metrics[report.MetricE2ECommit]
	if e2e.Count == 0 || e2e.P50US <= 0 || e2e.P50US > 10_000_000 {
		t.Errorf("e2e_commit p50 = %d µs over %d rows: want a positive, plausible (< 10 s) latency", e2e.P50US, e2e.Count)
	}
	if ack := res.Metrics[report.MetricE2EAck]; ack.Count == 0 {
		t.Error("no e2e_ack recorded")
	}
	if res.Token.Refreshes < 2 {
		t.Errorf("token refreshes = %d, want ≥ 2 with tokens capped at 5 s", res.Token.Refreshes)
	}
	if res.Metrics[report.MetricTokenFetch].Count < 2 {
		t.Errorf("token_fetch count = %d, want ≥ 2", res.Metrics[report.MetricTokenFetch].Count)
	}
	if c := res.Clock; c.Samples == 0 || abs(c.OffsetUS) > 5000 || c.UncertaintyUS <= 0 || c.UncertaintyUS > 5000 {
		t.Errorf("clock offset %d ± %d µs over %d samples: want near 0 with a small bound", c.OffsetUS, c.UncertaintyUS, c.Samples)
	}
	if c := res.Clock; c.DriftUS == nil || abs(*c.DriftUS) > 5000 || c.EndUncertaintyUS <= 0 {
		t.Errorf("clock probed again at the end: drift %v ± %d µs, want near 0 (one host) with a bound", c.DriftUS, c.EndUncertaintyUS)
	}
	if len(res.Series) < 8 {
		t.Errorf("series has %d seconds, want about 12", len(res.Series))
	}
	for _, s := range res.Series {
		if s.ConsumerLagMsgs == nil {
			t.Errorf("second %d has no consumer lag", s.T)
		}
	}
	// 100 writes/s on the local stack: cfbench keeps up, keeps its schedule and knows the clock.
	checks := report.CheckRun(res)
	if len(checks) != 3 {
		t.Errorf("self-checks %+v, want consumer, load and clock", checks)
	}
	for _, c := range checks {
		if !c.OK {
			t.Errorf("self-check %s failed: %s", c.Name, c.Detail)
		}
	}
	if _, ok := res.Warmup[report.MetricE2ECommit]; !ok {
		t.Error("the warm-up was not kept apart")
	}
	if res.Run.Interrupted {
		t.Error("run marked interrupted")
	}
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(string(b))
	return len(b), nil
}
