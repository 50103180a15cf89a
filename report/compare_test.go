package report

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// reps returns n synthetic runs with e2e medians around medianUS, seeds from seed0.
func reps(seed0 uint64, n int, medianUS float64) Group {
	g := Group{Name: fmt.Sprintf("median=%v", medianUS)}
	for i := range n {
		g.Results = append(g.Results, synth(seed0+uint64(i), medianUS, 20))
		g.Files = append(g.Files, fmt.Sprintf("run%d.json", int(seed0)+i))
	}
	return g
}

func findRow(t *testing.T, c *Comparison, metric, stat string) CompareRow {
	t.Helper()
	for _, r := range c.Rows {
		if r.Metric == metric && r.Stat == stat {
			return r
		}
	}
	t.Fatalf("no row %s %s", metric, stat)
	return CompareRow{}
}

func TestCompareSignificance(t *testing.T) {
	tests := []struct {
		name        string
		a, b        Group
		significant bool
		pctLo       float64
		pctHi       float64
	}{
		// Halving the median of a log-normal halves every percentile: about −50%.
		{"known difference", reps(1, 5, 50_000), reps(101, 5, 25_000), true, -55, -45},
		{"no difference", reps(1, 5, 50_000), reps(101, 5, 50_000), false, -10, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Compare([]Group{tt.a, tt.b}, CompareOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, stat := range []string{"p50", "p90"} {
				row := findRow(t, c, MetricE2ECommit, stat)
				d := row.Deltas[1]
				if !d.Tested || d.N1 != 5 || d.N2 != 5 {
					t.Errorf("%s: tested=%v n=%d+%d, want tested 5+5", stat, d.Tested, d.N1, d.N2)
				}
				if d.Significant != tt.significant {
					t.Errorf("%s: significant=%v (p=%v), want %v", stat, d.Significant, d.P, tt.significant)
				}
				if d.Pct < tt.pctLo || d.Pct > tt.pctHi {
					t.Errorf("%s: change %.1f%%, want within [%v, %v]", stat, d.Pct, tt.pctLo, tt.pctHi)
				}
				if tt.significant {
					// 5 vs 5 fully separated samples: the exact two-sided U-test p is 2/252.
					if math.Abs(d.P-2.0/252) > 1e-9 {
						t.Errorf("%s: p=%v, want %v", stat, d.P, 2.0/252)
					}
				}
			}
			var buf bytes.Buffer
			if err := c.WriteText(&buf); err != nil {
				t.Fatal(err)
			}
			line := lineWith(buf.String(), "e2e_commit p50 ")
			if tt.significant {
				if !strings.Contains(line, "−") || !strings.Contains(line, "(p=0.008 n=5)") {
					t.Errorf("want a negative change with (p=0.008 n=5), got %q", line)
				}
			} else if !strings.Contains(line, " ~ ") {
				t.Errorf("want ~, got %q", line)
			}
		})
	}
}

func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

func TestCompareSingleRuns(t *testing.T) {
	c, err := Compare([]Group{reps(1, 1, 50_000), reps(2, 1, 25_000)}, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := findRow(t, c, MetricE2ECommit, "p99").Deltas[1]
	if d.Tested || d.Significant {
		t.Errorf("single runs: tested=%v significant=%v, want neither", d.Tested, d.Significant)
	}
	var buf bytes.Buffer
	c.WriteText(&buf)
	if !strings.Contains(lineWith(buf.String(), "e2e_commit p99 "), "(n=1, untested)") ||
		!strings.Contains(buf.String(), "note: single runs") {
		t.Errorf("single runs must be marked untested:\n%s", buf.String())
	}
}

func TestCompareWorkloadMismatch(t *testing.T) {
	a, b := reps(1, 2, 50_000), reps(5, 2, 50_000)
	b.Results[1].Run.Config = Redact(b.Results[1].Run.Config) // deep copy
	b.Results[1].Run.Config["workload"].(map[string]any)["rate"] = 200.0
	_, err := Compare([]Group{a, b}, CompareOptions{})
	var we *WorkloadError
	if !errors.As(err, &we) {
		t.Fatalf("err = %v, want a *WorkloadError", err)
	}
	if len(we.Diffs) != 1 || !strings.Contains(we.Diffs[0], "run6.json: workload.rate=200") ||
		!strings.Contains(we.Diffs[0], "run1.json: workload.rate=100") {
		t.Errorf("diffs = %q, want the rate of run6.json against run1.json", we.Diffs)
	}
	if _, err := Compare([]Group{a, b}, CompareOptions{Force: true}); err != nil {
		t.Errorf("--force: %v", err)
	}
}

func TestCompareArgs(t *testing.T) {
	if _, err := Compare([]Group{reps(1, 1, 1000)}, CompareOptions{}); err == nil {
		t.Error("one group: want an error")
	}
	if _, err := Compare([]Group{reps(1, 1, 1000), reps(2, 1, 1000)}, CompareOptions{Alpha: 2}); err == nil {
		t.Error("alpha 2: want an error")
	}
}

func TestGroupByVariant(t *testing.T) {
	var rs []*Result
	var files []string
	for i, v := range []string{"f=0s", "f=50ms", "f=0s", "f=50ms"} {
		r := synth(uint64(i), 1000, 2)
		r.Run.Variant = v
		rs = append(rs, r)
		files = append(files, fmt.Sprint(i))
	}
	gs := GroupByVariant(files, rs)
	if len(gs) != 2 || gs[0].Name != "f=0s" || strings.Join(gs[0].Files, ",") != "0,2" || strings.Join(gs[1].Files, ",") != "1,3" {
		t.Errorf("groups = %+v", gs)
	}
}

func TestCompareHTML(t *testing.T) {
	c, err := Compare([]Group{reps(1, 3, 50_000), reps(101, 3, 25_000)}, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	i := strings.Index(page, `<figure id="spectrum-e2e_commit">`)
	if i < 0 || !strings.Contains(page[i:], "<svg") {
		t.Fatal("no e2e_commit spectrum chart")
	}
	for _, g := range c.Groups {
		if !strings.Contains(page, g.Name+" (3 runs)") {
			t.Errorf("spectrum legend lacks group %s", g.Name)
		}
	}
	if !strings.Contains(page, "e2e_commit p50") {
		t.Error("page lacks the comparison table")
	}
}

func TestCompareFilter(t *testing.T) {
	tests := []struct {
		name           string
		metrics, stats []string
		want           []string // "metric stat" of every kept row, in order
		wantErr        string
	}{
		{name: "exact metric and stats", metrics: []string{MetricE2ECommit}, stats: []string{"p50", "p99"},
			want: []string{"e2e_commit p50", "e2e_commit p99"}},
		{name: "scalar group", metrics: []string{"delivery"}, stats: []string{"missing"},
			want: []string{"delivery missing"}},
		{name: "pattern", metrics: []string{"e2e_*"}, stats: []string{"max"},
			want: []string{"e2e_commit max", "e2e_ack max"}},
		{name: "unknown metric", metrics: []string{"e2e_comit"}, wantErr: `metric pattern "e2e_comit" matches no metric of these runs; they have: e2e_commit`},
		{name: "bad pattern", metrics: []string{"["}, wantErr: `metric pattern "["`},
		{name: "unknown stat", stats: []string{"p42"}, wantErr: `statistic "p42" is not among the compared ones; they are: p50, p90`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Compare([]Group{reps(1, 2, 50_000), reps(3, 2, 25_000)}, CompareOptions{Metrics: tt.metrics, Stats: tt.stats})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range c.Rows {
				got = append(got, r.Metric+" "+r.Stat)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("rows = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestCompareNamesFailedChecks: a run whose self-check failed is named under the table, and a
// comparison of healthy runs has no such line.
func TestCompareNamesFailedChecks(t *testing.T) {
	base, slow := reps(1, 2, 50_000), reps(3, 2, 25_000)
	var buf bytes.Buffer
	c, err := Compare([]Group{base, slow}, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "check:") {
		t.Fatalf("healthy runs reported a failed check:\n%s", buf.String())
	}
	behind := *slow.Results[1]
	behind.Rates.AchievedWritesPerS = behind.Rates.IntendedWritesPerS / 2
	slow.Results[1] = &behind
	c, err = Compare([]Group{base, slow}, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := c.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	want := "check: " + slow.Files[1] + ": load fell behind its schedule"
	if n := strings.Count(buf.String(), "check:"); n != 1 || !strings.Contains(buf.String(), want) {
		t.Errorf("want one line %q, got %d check lines:\n%s", want, n, buf.String())
	}
}
