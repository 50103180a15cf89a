package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/cfbench/cfbench/report"

	"github.com/cfbench/cfbench/internal/golden"
)

func checkReportGolden(t *testing.T, dir, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join(dir, name), got)
}

// fixtureResult builds a result from real histograms: e2e latencies log-normal around medianUS,
// drawn from a deterministic generator.
func fixtureResult(seed uint64, medianUS float64, rate float64, variant, worker string) *report.Result {
	rng := rand.New(rand.NewPCG(seed, 7))
	record := func(h *hdrhistogram.Histogram, n int, median, sigma float64) {
		for range n {
			v := int64(median * math.Exp(rng.NormFloat64()*sigma))
			h.RecordValue(min(max(v, report.LowestUS), report.HighestUS))
		}
	}
	started := time.Date(2026, 12, 4, 21, 0, 0, 0, time.UTC)
	r := &report.Result{
		Schema: report.Schema,
		Run: report.Run{Profile: "local", Variant: variant, Worker: worker, Started: started,
			Ended: started.Add(10 * time.Second), ToolVersion: "test", GitCommit: "0000000", Host: "test",
			Config: map[string]any{"workload": map[string]any{"rate": rate, "duration": "10s"}}},
		Metrics:   map[string]report.Metric{},
		Intervals: map[string][]report.Interval{},
	}
	total := report.NewHistogram()
	var events int64
	for s := range 10 {
		h := report.NewHistogram()
		record(h, 100, medianUS, 0.5)
		total.Merge(h)
		events += 100
		r.Intervals[report.MetricE2ECommit] = append(r.Intervals[report.MetricE2ECommit],
			report.Interval{T: int64(s), HDR: report.MetricFromHistogram(h).HDR})
		r.Series = append(r.Series, report.Second{T: int64(s), Writes: 100, Events: 100,
			E2EP50US: h.ValueAtQuantile(50), E2EP99US: h.ValueAtQuantile(99), E2EMaxUS: h.Max(),
			ResolvedLagUS: 1_000_000})
	}
	r.Metrics[report.MetricE2ECommit] = report.MetricFromHistogram(total)
	tf := report.NewHistogram()
	record(tf, 2, 12_000, 0.2)
	r.Metrics[report.MetricTokenFetch] = report.MetricFromHistogram(tf)
	r.Delivery = report.Delivery{Written: events, Received: events}
	r.Token = report.Token{Fetches: 2, Refreshes: 1, FirstTokenUS: 12_000, LifetimeS: 60}
	r.Clock = report.Clock{OffsetUS: 250, UncertaintyUS: 80, Samples: 8}
	r.Rates = report.Rates{IntendedWritesPerS: 100, AchievedWritesPerS: float64(events) / 10, EventsPerS: float64(events) / 10}
	return r
}

// writeFixtures writes the result files the command tests use into the working directory:
// a1..a5 (median 40ms), b1..b5 (median 20ms), c1 (other workload), w1/w2 (two workers).
func writeFixtures(t *testing.T) {
	t.Helper()
	for i := range 5 {
		reportMust(t, fixtureResult(uint64(i+1), 40_000, 100, "flush=0s", "1/1").WriteFile(fmt.Sprintf("a%d.json", i+1)))
		reportMust(t, fixtureResult(uint64(i+11), 20_000, 100, "flush=50ms", "1/1").WriteFile(fmt.Sprintf("b%d.json", i+1)))
	}
	reportMust(t, fixtureResult(21, 20_000, 500, "", "1/1").WriteFile("c1.json"))
	reportMust(t, fixtureResult(31, 40_000, 100, "", "1/2").WriteFile("w1.json"))
	reportMust(t, fixtureResult(32, 20_000, 100, "", "2/2").WriteFile("w2.json"))
}

func reportMust(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestReportCompareMergeCommands(t *testing.T) {
	golden, err := filepath.Abs(filepath.Join("testdata", "report"))
	reportMust(t, err)
	t.Chdir(t.TempDir()) // the commands see short, stable file names
	writeFixtures(t)

	tests := []struct {
		name   string
		args   []string
		golden string // file under testdata/report; "" to skip
		code   int    // expected exit code
		want   []string
	}{
		{name: "text", args: []string{"report", "a1.json"}, golden: "report_text.golden"},
		{name: "csv", args: []string{"report", "--format", "csv", "a1.json"}, golden: "report_csv.golden"},
		{name: "hgrm", args: []string{"report", "--format", "hgrm", "--metric", "token_fetch", "a1.json"}, golden: "report_hgrm.golden"},
		{name: "hlog", args: []string{"report", "--format", "hlog", "a1.json"}, want: []string{"#[BaseTime: ", "Tag=e2e_commit,"}},
		{name: "files", args: []string{"report", "--format", "hgrm", "--out", "out", "a1.json"},
			want: []string{"out/a1.e2e_commit.hgrm", "out/a1.token_fetch.hgrm"}},
		{name: "html files", args: []string{"report", "--format", "html", "--out", "out", "a1.json", "b1.json"},
			want: []string{"out/a1.html", "out/b1.html"}},
		{name: "html stdout", args: []string{"report", "--format", "html", "a1.json"}, want: []string{`<figure id="chart-spectrum">`, "</html>"}},
		{name: "csv of two needs --out", args: []string{"report", "--format", "csv", "a1.json", "b1.json"}, code: exitUsage, want: []string{"add --out DIR"}},
		{name: "bad format", args: []string{"report", "--format", "pdf", "a1.json"}, code: exitUsage, want: []string{"--format pdf"}},
		{name: "unknown metric", args: []string{"report", "--format", "hgrm", "--metric", "nope", "a1.json"}, code: exitFailure, want: []string{`no metric "nope"`}},
		{name: "compare repeated", golden: "compare_repeated.golden",
			args: []string{"compare", "a1.json", "a2.json", "a3.json", "a4.json", "a5.json", "--", "b1.json", "b2.json", "b3.json", "b4.json", "b5.json"}},
		{name: "compare single", args: []string{"compare", "a1.json", "b1.json"}, golden: "compare_single.golden"},
		{name: "compare by variant", args: []string{"compare", "--group-by", "variant", "a1.json", "b1.json", "a2.json", "b2.json", "a3.json", "b3.json", "a4.json", "b4.json"},
			want: []string{"base  flush=0s: a1.json a2.json a3.json a4.json", "(p=0.029 n=4)"}},
		{name: "compare workloads differ", args: []string{"compare", "a1.json", "c1.json"}, code: exitUsage,
			want: []string{"different workloads", "c1.json: workload.rate=500, a1.json: workload.rate=100"}},
		{name: "compare html", args: []string{"compare", "--html", "cmp.html", "a1.json", "a2.json", "--", "b1.json", "b2.json"},
			want: []string{"e2e_commit p50"}},
		{name: "compare filtered", golden: "compare_filtered.golden",
			args: []string{"compare", "--metric", "e2e_commit", "--metric", "delivery", "--stat", "p50,p99,missing", "a1.json", "a2.json", "a3.json", "a4.json", "a5.json", "--", "b1.json", "b2.json", "b3.json", "b4.json", "b5.json"}},
		{name: "compare filter typo", args: []string{"compare", "--metric", "e2e_comit", "a1.json", "b1.json"}, code: exitUsage,
			want: []string{`metric pattern "e2e_comit" matches no metric of these runs; they have: e2e_commit`}},
		{name: "compare force", args: []string{"compare", "--force", "a1.json", "c1.json"}, want: []string{"e2e_commit p50"}},
		{name: "compare empty side", args: []string{"compare", "a1.json", "--"}, code: exitUsage, want: []string{"at least 2 result files"}},
		{name: "compare empty group", args: []string{"compare", "a1.json", "--", "--", "b1.json"}, code: exitUsage, want: []string{"group 2 between"}},
		{name: "merge", args: []string{"merge", "-o", "merged.json", "w1.json", "w2.json"}, want: []string{"merged 2 results (merged 2/2) into merged.json"}},
		{name: "merge needs -o", args: []string{"merge", "w1.json"}, code: exitUsage, want: []string{"-o MERGED.json is required"}},
		{name: "merged report", args: []string{"report", "merged.json"}, golden: "report_merged.golden"},
		{name: "not a result", args: []string{"report", "nope.json"}, code: exitFailure, want: []string{"nope.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, &stdout, &stderr)
			code := exitOK
			if err != nil {
				code = exitCode(err)
			}
			if code != tt.code {
				t.Fatalf("exit code %d (err %v), want %d", code, err, tt.code)
			}
			out := stdout.String()
			if err != nil {
				out += err.Error()
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if tt.golden != "" {
				checkReportGolden(t, golden, tt.golden, stdout.Bytes())
			}
		})
	}
	if b, err := os.ReadFile("cmp.html"); err != nil || !strings.Contains(string(b), `<figure id="spectrum-e2e_commit">`) {
		t.Errorf("compare --html: cmp.html missing or without the e2e_commit spectrum (%v)", err)
	}
	var we *report.WorkloadError
	err = run(context.Background(), []string{"compare", "a1.json", "c1.json"}, &bytes.Buffer{}, &bytes.Buffer{})
	if !errors.As(err, &we) {
		t.Errorf("workload mismatch: err %v does not carry a *report.WorkloadError", err)
	}
}
