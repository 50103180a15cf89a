// Package metrics exposes a running benchmark to Prometheus (prometheus/client_golang): writes,
// events, errors, e2e_commit latency (a native histogram, with classic buckets for scrapers that
// read the text format), token fetch durations and failures, resolved lag, the consumer's lag
// (messages not polled yet; with one worker also the writes not consumed yet) and the run phase.
// bench feeds a *Run from its once-a-second callbacks; `cfbench run --metrics-addr
// 127.0.0.1:9464` serves it.
//
// Every series is prefixed cfbench_ and carries the constant labels profile and worker ("i/n").
// A nil *Run is valid and does nothing, so callers need no conditionals.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cfbench/cfbench/consume"
	"github.com/cfbench/cfbench/load"
	"github.com/cfbench/cfbench/oauth"
)

// Phases of a run, the values of the phase label of cfbench_run_phase.
var Phases = []string{"preflight", "warmup", "measure", "drain", "done"}

// Run holds one run's collectors and its own registry. Its Observe methods are called once a
// second from different goroutines (the load's and the consumer's); each is safe for concurrent
// use with the others and with scrapes.
type Run struct {
	reg *prometheus.Registry

	writes, writeErrors       prometheus.Counter
	events, resolved, bytes   prometheus.Counter
	consumeErrors, refreshes  prometheus.Counter
	e2e                       prometheus.Histogram
	tokenFetch                prometheus.Histogram
	tokenFetches, tokenFailed prometheus.Counter
	resolvedLag, lagMsgs      prometheus.Gauge
	backlog                   prometheus.Gauge // registered by the first SetConsumerLag
	phase                     *prometheus.GaugeVec

	mu         sync.Mutex
	lastWrites int64 // cumulative writes seen by ObserveLoad
	lastErrors int64
	tokenSeen  int   // oauth.Stats.Events already observed
	tokenCount int64 // oauth.Stats.Fetches already counted
	tokenFails int64
	backlogOn  bool // backlog is registered
}

// New returns a Run whose series carry the constant labels profile and worker.
func New(profile, worker string) *Run {
	labels := prometheus.Labels{"profile": profile, "worker": worker}
	m := &Run{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "cfbench", Name: name, Help: help, ConstLabels: labels})
		f(c)
		return c
	}
	gauge := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "cfbench", Name: name, Help: help, ConstLabels: labels})
		f(g)
		return g
	}
	hist := func(name, help string, start float64) prometheus.Histogram {
		h := prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "cfbench", Name: name, Help: help, ConstLabels: labels,
			Buckets:                         prometheus.ExponentialBuckets(start, 2, 20),
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  160,
			NativeHistogramMinResetDuration: time.Hour,
		})
		f(h)
		return h
	}
	m.writes = counter("writes_total", "Write ops completed by the load (acknowledged or failed).")
	m.writeErrors = counter("write_errors_total", "Write ops that failed.")
	m.events = counter("events_total", "Changefeed row messages consumed (duplicates included).")
	m.resolved = counter("resolved_total", "Resolved-timestamp messages consumed.")
	m.bytes = counter("consumed_bytes_total", "Key and value bytes of every message consumed.")
	m.consumeErrors = counter("consume_errors_total", "Malformed messages and consumer errors.")
	m.refreshes = counter("token_refresh_events_total", "OAuthBearerTokenRefresh events librdkafka raised in the consumer.")
	m.e2e = hist("e2e_commit_seconds", "Consumer receive time minus the row's updated timestamp (clock-offset corrected).", 0.0005)
	m.tokenFetch = hist("token_fetch_seconds", "Duration of each successful token request to the IdP.", 0.001)
	m.tokenFetches = counter("token_fetches_total", "Token requests to the IdP (successful, failed and canceled).")
	m.tokenFailed = counter("token_fetch_failures_total", "Token requests that failed (canceled ones excluded).")
	m.resolvedLag = gauge("resolved_lag_seconds", "End of the last second minus the oldest partition's last resolved timestamp.")
	m.lagMsgs = gauge("consumer_lag_messages", "Messages in this worker's partitions not polled yet (librdkafka's cached high watermark − position), as the last second closed.")
	m.backlog = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "cfbench", Name: "consumer_lag_writes",
		Help: "Acknowledged writes not consumed yet (the write ledger's outstanding entries).", ConstLabels: labels})
	m.phase = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "cfbench", Name: "run_phase",
		Help: "1 for the run's current phase, 0 for the others.", ConstLabels: labels}, []string{"phase"})
	f(m.phase)
	for _, p := range Phases {
		m.phase.WithLabelValues(p).Set(0)
	}
	return m
}

// Handler serves the registry in the Prometheus exposition formats (text and, when the scraper
// asks, protobuf with native histograms).
func (m *Run) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, EnableOpenMetrics: true})
}

// Registry returns the registry (for tests and for gathering in-process).
func (m *Run) Registry() *prometheus.Registry { return m.reg }

// SetPhase marks name as the current phase.
func (m *Run) SetPhase(name string) {
	if m == nil {
		return
	}
	for _, p := range Phases {
		v := 0.0
		if p == name {
			v = 1
		}
		m.phase.WithLabelValues(p).Set(v)
	}
}

// ObserveLoad takes a load.Stats snapshot (load's OnInterval): it adds the writes and errors
// completed since the previous call.
func (m *Run) ObserveLoad(st *load.Stats) {
	if m == nil || st == nil {
		return
	}
	var writes, errs int64
	for _, s := range st.Series {
		writes += s.Writes
		errs += s.Errors
	}
	m.mu.Lock()
	if writes < m.lastWrites || errs < m.lastErrors {
		m.lastWrites, m.lastErrors = 0, 0 // a new load run (the next variant of a matrix)
	}
	dw, de := writes-m.lastWrites, errs-m.lastErrors
	m.lastWrites, m.lastErrors = writes, errs
	m.mu.Unlock()
	if dw > 0 {
		m.writes.Add(float64(dw))
	}
	if de > 0 {
		m.writeErrors.Add(float64(de))
	}
}

// ObserveConsume takes one consumer interval (consume's OnInterval): events, bytes, errors,
// refresh events, resolved lag, and the second's e2e_commit histogram.
func (m *Run) ObserveConsume(iv consume.Interval) {
	if m == nil {
		return
	}
	m.events.Add(float64(iv.Events))
	m.resolved.Add(float64(iv.Resolved))
	m.bytes.Add(float64(iv.Bytes))
	m.consumeErrors.Add(float64(iv.Errors))
	m.refreshes.Add(float64(iv.TokenRefreshes))
	if iv.ResolvedLagUS > 0 {
		m.resolvedLag.Set(float64(iv.ResolvedLagUS) / 1e6)
	}
	if iv.LagMsgs >= 0 {
		m.lagMsgs.Set(float64(iv.LagMsgs))
	}
	if len(iv.E2ECommitHDR) > 0 {
		if h, err := hdrhistogram.Decode(iv.E2ECommitHDR); err == nil {
			observeHDR(m.e2e, h)
		}
	}
}

// observeHDR adds every value of h (µs) to p (seconds), at the upper edge of each HDR bucket.
// Note: one Observe per recorded value costs ~20 ns each, well below a second's budget at
// the event rates cfbench reaches; NewConstNativeHistogram would avoid it but loses the
// cumulative counts a Histogram keeps.
func observeHDR(p prometheus.Histogram, h *hdrhistogram.Histogram) {
	for _, b := range h.Distribution() {
		v := float64(b.To) / 1e6
		for range b.Count {
			p.Observe(v)
		}
	}
}

// ObserveTokens takes a snapshot of the consumer's token source: fetches and failures since
// the previous call, and the duration of each new successful fetch.
func (m *Run) ObserveTokens(st oauth.Stats) {
	if m == nil {
		return
	}
	m.mu.Lock()
	var df, dfail int64
	if st.Fetches < m.tokenCount {
		m.tokenCount, m.tokenFails, m.tokenSeen = 0, 0, 0 // a new token source (a new run)
	}
	df, dfail = st.Fetches-m.tokenCount, st.Failures-m.tokenFails
	m.tokenCount, m.tokenFails = st.Fetches, st.Failures
	var fresh []oauth.Event
	if m.tokenSeen < len(st.Events) {
		fresh = st.Events[m.tokenSeen:]
		m.tokenSeen = len(st.Events)
	}
	m.mu.Unlock()
	if df > 0 {
		m.tokenFetches.Add(float64(df))
	}
	if dfail > 0 {
		m.tokenFailed.Add(float64(dfail))
	}
	for _, e := range fresh {
		if e.OK {
			m.tokenFetch.Observe(e.Took.Seconds())
		}
	}
}

// SetConsumerLag sets the number of acknowledged writes not consumed yet; the series
// cfbench_consumer_lag_writes exists from the first call. Call it only when one process both
// writes and consumes every partition: with several workers, other workers consume some of this
// worker's writes, and cfbench_consumer_lag_messages is the lag to watch.
func (m *Run) SetConsumerLag(outstanding int) {
	if m == nil {
		return
	}
	m.mu.Lock()
	if !m.backlogOn {
		m.backlogOn = true
		m.reg.MustRegister(m.backlog)
	}
	m.mu.Unlock()
	m.backlog.Set(float64(outstanding))
}

// ErrNotLoopback is returned by CheckAddr for an address other processes on the network could
// reach.
var ErrNotLoopback = errors.New("not a loopback address")

// CheckAddr checks a --metrics-addr host:port: the host must be a loopback IP or "localhost"
// unless allowRemote (e.g. in a Kubernetes pod, where Prometheus scrapes the pod IP).
func CheckAddr(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want host:port, e.g. 127.0.0.1:9464: %w", err)
	}
	if allowRemote {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%q: %w (the metrics carry the profile's names and rates); use 127.0.0.1:PORT, or allow it explicitly", host, ErrNotLoopback)
}

// Serve listens on addr and serves /metrics until ctx ends. It returns the bound address
// (useful with port 0) once listening; serving errors after that are dropped, since the run
// must not stop because a scraper misbehaves.
func (m *Run) Serve(ctx context.Context, addr string) (string, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("listening on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	return ln.Addr().String(), nil
}
