package report

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// latencyHeader is the header row of latency tables; every value column is in milliseconds.
var latencyHeader = []string{"metric", "count", "min(ms)", "mean(ms)", "p50(ms)", "p90(ms)",
	"p99(ms)", "p99.9(ms)", "p99.99(ms)", "max(ms)"}

func latencyRow(name string, m Metric) []string {
	return []string{name, fmt.Sprint(m.Count), ms(float64(m.MinUS)), ms(m.MeanUS), ms(float64(m.P50US)),
		ms(float64(m.P90US)), ms(float64(m.P99US)), ms(float64(m.P999US)), ms(float64(m.P9999US)),
		ms(float64(m.MaxUS))}
}

// WriteText writes the human summary of r: run line, latency table (ms, ~3 significant
// figures), warm-up table when present, delivery verdict, token, clock, rates, the self-checks
// ([CheckRun]) and errors.
// The summary values come from the metrics' summary fields, not from re-decoding.
func WriteText(w io.Writer, r *Result) error {
	ew := &errWriter{w: w}
	run := r.Run
	ew.printf("run       %s", orDash(run.Profile))
	if run.Variant != "" {
		ew.printf(" [%s]", run.Variant)
	}
	if run.Repetition > 0 {
		ew.printf(" rep %d", run.Repetition)
	}
	ew.printf("  worker %s", orDash(run.Worker))
	if !run.Started.IsZero() {
		ew.printf("  started %s", run.Started.UTC().Format(time.RFC3339))
	}
	if d := run.Duration(); d > 0 {
		ew.printf("  duration %s", d.Round(time.Millisecond))
	}
	if run.Interrupted {
		ew.printf("  INTERRUPTED (partial)")
	}
	ew.printf("\n")
	if run.ToolVersion != "" || run.Host != "" {
		ew.printf("tool      cfbench %s (%s) on %s\n", orDash(run.ToolVersion), orDash(run.GitCommit), orDash(run.Host))
	}
	ew.printf("\n")
	if ew.err != nil {
		return ew.err
	}

	if len(r.Metrics) > 0 {
		t := &table{}
		t.add(latencyHeader...)
		for _, name := range MetricNames(r.Metrics) {
			t.add(latencyRow(name, r.Metrics[name])...)
		}
		if err := t.write(w, ""); err != nil {
			return err
		}
		ew.printf("\n")
	}
	if len(r.Warmup) > 0 {
		ew.printf("warm-up (left out of everything above)\n")
		t := &table{}
		t.add(latencyHeader...)
		for _, name := range MetricNames(r.Warmup) {
			t.add(latencyRow(name, r.Warmup[name])...)
		}
		if err := t.write(w, "  "); err != nil {
			return err
		}
		ew.printf("\n")
	}

	d := r.Delivery
	verdict := "PASS"
	if !d.Passed() {
		verdict = "FAIL"
	}
	ew.printf("delivery  %s  written %d  received %d  missing %d  duplicates %d\n", verdict,
		d.Written, d.Received, d.Missing, d.Duplicates)
	ew.printf("          order violations %d  partition violations %d  resolved violations %d  decode errors %d\n",
		d.OrderViolations, d.PartitionViolations, d.ResolvedViolations, d.DecodeErrors)
	if d.AckedAfterReceive > 0 || d.Unexpected > 0 {
		ew.printf("          acked after receive %d (no e2e_ack)  unexpected %d (written by no writer of this run)\n",
			d.AckedAfterReceive, d.Unexpected)
	}
	if d.Unreconciled > 0 {
		ew.printf("          unreconciled %d (on other workers' partitions: cfbench merge with their results settles them)\n", d.Unreconciled)
	}
	if d.CrossWorker > 0 {
		how := "in e2e_ack"
		if !d.CrossWorkerE2EAck {
			how = "not in e2e_ack: clock offsets too uncertain"
		}
		ew.printf("          received across workers %d (%s)\n", d.CrossWorker, how)
	}

	tk := r.Token
	ew.printf("token     fetches %d  failures %d  refreshes %d", tk.Fetches, tk.Failures, tk.Refreshes)
	if m, ok := r.Metrics[MetricTokenFetch]; ok && m.Count > 0 {
		ew.printf("  fetch p50 %s  p99 %s  max %s", duration(float64(m.P50US)), duration(float64(m.P99US)),
			duration(float64(m.MaxUS)))
	}
	ew.printf("  first token %s  lifetime %s\n", duration(float64(tk.FirstTokenUS)),
		duration(tk.LifetimeS*1e6))

	// Refresh impact: the consumer's exact split when recorded, else one derived from the
	// per-second histograms.
	near, nearOK := r.Metrics[MetricRefreshInside]
	away, awayOK := r.Metrics[MetricRefreshOutside]
	ok := nearOK && awayOK
	nearLabel := "e2e_commit near a token refresh"
	if !ok {
		var err error
		near, away, ok, err = RefreshImpact(r, RefreshWindowS)
		if err != nil {
			return err
		}
		nearLabel = fmt.Sprintf("e2e_commit within ±%ds of a token refresh", RefreshWindowS)
	}
	if ok {
		t := &table{left: map[int]bool{1: true, 2: true, 3: true, 4: true}}
		for _, side := range []struct {
			label string
			m     Metric
		}{{nearLabel, near}, {"e2e_commit elsewhere", away}} {
			t.add(side.label, "p50 "+duration(float64(side.m.P50US)), "p99 "+duration(float64(side.m.P99US)),
				"max "+duration(float64(side.m.MaxUS)), fmt.Sprintf("n=%d", side.m.Count))
		}
		var b strings.Builder
		t.write(&b, "")
		for i, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
			prefix := "refresh   "
			if i > 0 {
				prefix = "          "
			}
			ew.printf("%s%s\n", prefix, line)
		}
	}

	c := r.Clock
	ew.printf("clock     offset %s ± %s (%d samples)", signedDuration(c.OffsetUS), duration(float64(c.UncertaintyUS)), c.Samples)
	if c.DriftUS != nil {
		ew.printf("; at the end %s (± %s)", signedDuration(*c.DriftUS), duration(float64(c.EndUncertaintyUS)))
	}
	ew.printf("\n")

	rt := r.Rates
	ew.printf("rates     intended %s writes/s  achieved %s writes/s  events %s/s", count(rt.IntendedWritesPerS),
		count(rt.AchievedWritesPerS), count(rt.EventsPerS))
	if rt.BytesPerS > 0 {
		ew.printf("  %s", bytesRate(rt.BytesPerS))
	}
	ew.printf("\n")

	if ew.err != nil {
		return ew.err
	}
	if err := WriteChecks(w, r); err != nil {
		return err
	}

	var total int64
	for _, e := range r.Errors {
		total += e.Count
	}
	ew.printf("errors    %d\n", total)
	if ew.err != nil {
		return ew.err
	}
	if len(r.Errors) > 0 {
		t := &table{left: map[int]bool{3: true}}
		for _, e := range r.Errors {
			at := "-"
			if !e.At.IsZero() {
				at = e.At.UTC().Format(time.RFC3339)
			}
			t.add(e.Where, fmt.Sprintf("×%d", e.Count), at, oneLine(e.Message))
		}
		return t.write(w, "          ")
	}
	return nil
}

// WriteChecks writes r's self-checks ([CheckRun]), one line each, as in [WriteText]:
//
//	checks    ok    load     kept its schedule: 98.3 of the intended 100 writes/s (98%)
//	          WARN  clock    offset not measured: …
func WriteChecks(w io.Writer, r *Result) error {
	ew := &errWriter{w: w}
	for i, c := range CheckRun(r) {
		prefix := "checks    "
		if i > 0 {
			prefix = "          "
		}
		verdict := "ok  "
		if !c.OK {
			verdict = "WARN"
		}
		ew.printf("%s%s  %-9s%s\n", prefix, verdict, c.Name, c.Detail)
	}
	return ew.err
}

// signedDuration formats µs with a sign, "+" for zero: "+0µs", "−1.23ms".
func signedDuration(us int64) string {
	if us < 0 {
		return "−" + duration(float64(-us))
	}
	return "+" + duration(float64(us))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// oneLine keeps the first line of s, capped at 160 runes.
func oneLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i] + " …"
	}
	if r := []rune(s); len(r) > 160 {
		s = string(r[:160]) + "…"
	}
	return s
}
