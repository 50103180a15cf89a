package main

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cfbench/cfbench/internal/stacktest"
)

// scrape returns the samples of a text-format /metrics page, keyed by the series name and its
// labels as printed.
func scrape(url string) (map[string]float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		name := line[:i]
		if j := strings.IndexByte(name, '{'); j >= 0 {
			// Keep the series name and the labels that are not the constant ones.
			name = name[:j] + stripConst(name[j:])
		}
		out[name] = v
	}
	return out, sc.Err()
}

func stripConst(labels string) string {
	var keep []string
	for _, l := range strings.Split(strings.Trim(labels, "{}"), ",") {
		if !strings.HasPrefix(l, "profile=") && !strings.HasPrefix(l, "worker=") {
			keep = append(keep, l)
		}
	}
	if len(keep) == 0 {
		return ""
	}
	return "{" + strings.Join(keep, ",") + "}"
}

// TestRunMetrics scrapes /metrics during a short local run: the series are there, the counters
// move during the measurement, and the phase gauge follows the run.
func TestRunMetrics(t *testing.T) {
	stacktest.Require(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"run", "--profile", "local", "--duration", "6s", "--warmup", "1s", "--rate", "100",
			"--quiet", "--out", t.TempDir(), "--metrics-addr", addr}, &stdout, &stderr)
	}()
	url := "http://" + addr + "/metrics"
	var samples []map[string]float64
	var runErr error
	measuring := false
loop:
	for {
		select {
		case runErr = <-done:
			break loop
		case <-time.After(500 * time.Millisecond):
		}
		m, err := scrape(url)
		if err != nil {
			continue // not listening yet, or already shut down
		}
		if m[`cfbench_run_phase{phase="measure"}`] == 1 {
			measuring = true
			samples = append(samples, m)
		}
	}
	if runErr != nil {
		t.Fatalf("run: %v\n%s\n%s", runErr, stdout.String(), stderr.String())
	}
	if !measuring || len(samples) < 3 {
		t.Fatalf("%d scrapes during the measurement, want ≥ 3", len(samples))
	}
	first, last := samples[0], samples[len(samples)-1]
	for _, name := range []string{"cfbench_writes_total", "cfbench_events_total", "cfbench_e2e_commit_seconds_count", "cfbench_consumed_bytes_total"} {
		if last[name] <= first[name] {
			t.Errorf("%s did not move during the measurement: %g → %g", name, first[name], last[name])
		}
	}
	for _, name := range []string{"cfbench_token_fetches_total", "cfbench_token_fetch_seconds_count", "cfbench_resolved_lag_seconds",
		"cfbench_consumer_lag_writes", "cfbench_consumer_lag_messages", "cfbench_write_errors_total", "cfbench_token_fetch_failures_total", "cfbench_consume_errors_total"} {
		if _, ok := last[name]; !ok {
			t.Errorf("no series %s", name)
		}
	}
	if last["cfbench_token_fetches_total"] < 1 || last["cfbench_resolved_lag_seconds"] <= 0 {
		t.Errorf("token fetches %g, resolved lag %g s: want > 0", last["cfbench_token_fetches_total"], last["cfbench_resolved_lag_seconds"])
	}
}

func TestRunMetricsAddrRefused(t *testing.T) {
	stacktest.Require(t) // the local profile needs the stack's variables
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"run", "--profile", "local", "--metrics-addr", "0.0.0.0:9464"}, &stdout, &stderr)
	if code := exitCode(err); code != exitUsage || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("non-loopback --metrics-addr: exit %d (%v), want %d naming loopback", code, err, exitUsage)
	}
}
