package report

import (
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/aclements/go-moremath/stats"
	"golang.org/x/perf/benchmath"
)

// Group is one side of a comparison: the repetitions of one configuration.
type Group struct {
	// Name labels the group in headers: a variant name, or the files joined.
	Name string
	// Files holds the path of each result, parallel to Results, for messages.
	Files   []string
	Results []*Result
}

// GroupByVariant groups results by run.variant (empty variants group by run.profile), in order
// of first appearance. files[i] names rs[i].
func GroupByVariant(files []string, rs []*Result) []Group {
	var groups []Group
	idx := map[string]int{}
	for i, r := range rs {
		key := r.Run.Variant
		if key == "" {
			key = r.Run.Profile
		}
		if key == "" {
			key = "(no variant)"
		}
		j, ok := idx[key]
		if !ok {
			j = len(groups)
			idx[key] = j
			groups = append(groups, Group{Name: key})
		}
		groups[j].Files = append(groups[j].Files, files[i])
		groups[j].Results = append(groups[j].Results, r)
	}
	return groups
}

// CompareOptions configures [Compare]. The zero value is usable.
type CompareOptions struct {
	// Alpha is the significance level of the Mann-Whitney U test; default 0.05.
	Alpha float64
	// Force compares runs even when their workloads differ.
	Force bool
	// Metrics, when set, keeps only the rows whose metric matches one of these path.Match
	// patterns ("e2e_commit", "write_latency.*", "delivery"). A pattern that matches no metric
	// of the runs is an error listing the metrics there are.
	Metrics []string
	// Stats, when set, keeps only these statistics ("p50", "p99", "max", "missing", "events/s").
	// A name that no kept row has is an error listing the statistics there are.
	Stats []string
}

// Comparison is every compared value of several groups; the first group is the baseline.
type Comparison struct {
	Groups []Group
	Alpha  float64
	Rows   []CompareRow
}

// CompareRow is one value (e.g. e2e_commit p99) across the groups.
type CompareRow struct {
	Metric string // e2e_commit, delivery, rates, token
	Stat   string // p50, p99, max, missing, events/s, ...
	// Kind says how to format values: "us" (latency in µs), "count" or "rate" (per second).
	Kind string
	// Centers[i] is the median of group i's per-run values; Ns[i] its number of runs.
	Centers []float64
	Ns      []int
	// Deltas[i] compares group i with group 0; Deltas[0] is unused.
	Deltas []Delta
}

// Delta is the change of one group's value against the baseline, with its significance.
type Delta struct {
	// Pct is (new/old − 1)·100 of the medians; NaN when old is 0 and new is not.
	Pct float64
	// Tested is false when both sides have a single run: no test is possible.
	Tested bool
	// P is the Mann-Whitney U test's p-value (benchmath.AssumeNothing); N1, N2 the run counts.
	P      float64
	N1, N2 int
	// Significant is P < alpha (or, untested, always false).
	Significant bool
	// Warnings come from benchmath (e.g. too few runs to ever reach alpha).
	Warnings []error
}

// WorkloadError reports that the compared runs have different workloads.
type WorkloadError struct {
	// Diffs lists each difference as "file: key=value, baseline file: key=value".
	Diffs []string
}

func (e *WorkloadError) Error() string {
	return "runs have different workloads (use --force to compare anyway):\n  " + strings.Join(e.Diffs, "\n  ")
}

// latencyStats are the statistics compared for every latency metric.
var latencyStats = []struct {
	name string
	get  func(Metric) float64
}{
	{"p50", func(m Metric) float64 { return float64(m.P50US) }},
	{"p90", func(m Metric) float64 { return float64(m.P90US) }},
	{"p99", func(m Metric) float64 { return float64(m.P99US) }},
	{"p99.9", func(m Metric) float64 { return float64(m.P999US) }},
	{"max", func(m Metric) float64 { return float64(m.MaxUS) }},
}

// scalarStats are the non-latency values compared.
var scalarStats = []struct {
	metric, stat, kind string
	get                func(*Result) float64
}{
	{"rates", "achieved writes/s", "rate", func(r *Result) float64 { return r.Rates.AchievedWritesPerS }},
	{"rates", "events/s", "rate", func(r *Result) float64 { return r.Rates.EventsPerS }},
	{"delivery", "missing", "count", func(r *Result) float64 { return float64(r.Delivery.Missing) }},
	{"delivery", "duplicates", "count", func(r *Result) float64 { return float64(r.Delivery.Duplicates) }},
	{"delivery", "violations", "count", func(r *Result) float64 {
		d := r.Delivery
		return float64(d.OrderViolations + d.PartitionViolations + d.ResolvedViolations + d.DecodeErrors)
	}},
	{"token", "fetches", "count", func(r *Result) float64 { return float64(r.Token.Fetches) }},
	{"token", "failures", "count", func(r *Result) float64 { return float64(r.Token.Failures) }},
}

// Compare compares every metric of groups[1:] with groups[0]. Each group needs at least one
// result. Unless opt.Force, it returns a *WorkloadError when run.config's "workload" sections
// differ. The summary of a group is the median over its runs; significance is benchmath's
// Mann-Whitney U test at opt.Alpha.
func Compare(groups []Group, opt CompareOptions) (*Comparison, error) {
	if len(groups) < 2 {
		return nil, fmt.Errorf("compare needs at least two groups of runs, got %d", len(groups))
	}
	for i, g := range groups {
		if len(g.Results) == 0 {
			return nil, fmt.Errorf("group %d (%s) has no runs", i+1, g.Name)
		}
	}
	if opt.Alpha == 0 {
		opt.Alpha = benchmath.DefaultThresholds.CompareAlpha
	}
	if opt.Alpha <= 0 || opt.Alpha >= 1 {
		return nil, fmt.Errorf("alpha %v: want a number between 0 and 1, e.g. 0.05", opt.Alpha)
	}
	if !opt.Force {
		if err := checkWorkloads(groups); err != nil {
			return nil, err
		}
	}
	thr := &benchmath.Thresholds{CompareAlpha: opt.Alpha}
	c := &Comparison{Groups: groups, Alpha: opt.Alpha}

	all := map[string]Metric{}
	for _, g := range groups {
		for _, r := range g.Results {
			for name, m := range r.Metrics {
				all[name] = m
			}
		}
	}
	for _, name := range MetricNames(all) {
		for _, st := range latencyStats {
			samples := make([][]float64, len(groups))
			for i, g := range groups {
				for _, r := range g.Results {
					if m, ok := r.Metrics[name]; ok && m.Count > 0 {
						samples[i] = append(samples[i], st.get(m))
					}
				}
			}
			if row, ok := compareRow(name, st.name, "us", samples, thr); ok {
				c.Rows = append(c.Rows, row)
			}
		}
	}
	for _, st := range scalarStats {
		samples := make([][]float64, len(groups))
		for i, g := range groups {
			for _, r := range g.Results {
				samples[i] = append(samples[i], st.get(r))
			}
		}
		if row, ok := compareRow(st.metric, st.stat, st.kind, samples, thr); ok {
			c.Rows = append(c.Rows, row)
		}
	}
	rows, err := filterRows(c.Rows, opt.Metrics, opt.Stats)
	if err != nil {
		return nil, err
	}
	c.Rows = rows
	return c, nil
}

// filterRows keeps the rows whose metric matches one of the patterns and whose stat is one of
// stats (either empty: no filter). Each pattern and stat must select something, so a typo is
// an error naming what there is rather than an empty table.
func filterRows(rows []CompareRow, patterns, stats []string) ([]CompareRow, error) {
	if len(patterns) == 0 && len(stats) == 0 {
		return rows, nil
	}
	var metricNames, statNames []string
	for _, r := range rows {
		if !slices.Contains(metricNames, r.Metric) {
			metricNames = append(metricNames, r.Metric)
		}
	}
	for _, pat := range patterns {
		if _, err := path.Match(pat, ""); err != nil {
			return nil, fmt.Errorf("metric pattern %q: %w", pat, err)
		}
		matched := false
		for _, m := range metricNames {
			if ok, _ := path.Match(pat, m); ok {
				matched = true
				break
			}
		}
		if !matched {
			return nil, fmt.Errorf("metric pattern %q matches no metric of these runs; they have: %s", pat, strings.Join(metricNames, ", "))
		}
	}
	var kept []CompareRow
	for _, r := range rows {
		if len(patterns) > 0 && !slices.ContainsFunc(patterns, func(p string) bool { ok, _ := path.Match(p, r.Metric); return ok }) {
			continue
		}
		if !slices.Contains(statNames, r.Stat) {
			statNames = append(statNames, r.Stat)
		}
		if len(stats) > 0 && !slices.Contains(stats, r.Stat) {
			continue
		}
		kept = append(kept, r)
	}
	for _, st := range stats {
		if !slices.Contains(statNames, st) {
			return nil, fmt.Errorf("statistic %q is not among the compared ones; they are: %s", st, strings.Join(statNames, ", "))
		}
	}
	return kept, nil
}

// compareRow builds one row; ok is false when the baseline or every other group has no value.
func compareRow(metric, stat, kind string, samples [][]float64, thr *benchmath.Thresholds) (CompareRow, bool) {
	row := CompareRow{Metric: metric, Stat: stat, Kind: kind}
	if len(samples[0]) == 0 {
		return row, false
	}
	base := benchmath.NewSample(samples[0], thr)
	baseCenter := benchmath.AssumeNothing.Summary(base, 0.95).Center
	row.Centers = []float64{baseCenter}
	row.Ns = []int{len(samples[0])}
	row.Deltas = []Delta{{}}
	some := false
	for _, vs := range samples[1:] {
		if len(vs) == 0 {
			row.Centers = append(row.Centers, math.NaN())
			row.Ns = append(row.Ns, 0)
			row.Deltas = append(row.Deltas, Delta{Pct: math.NaN()})
			continue
		}
		some = true
		s := benchmath.NewSample(vs, thr)
		center := benchmath.AssumeNothing.Summary(s, 0.95).Center
		d := Delta{N1: len(samples[0]), N2: len(vs)}
		switch {
		case center == baseCenter:
			d.Pct = 0
		case baseCenter == 0:
			d.Pct = math.NaN()
		default:
			d.Pct = (center/baseCenter - 1) * 100
		}
		if d.N1 > 1 || d.N2 > 1 {
			cmp := benchmath.AssumeNothing.Compare(base, s)
			d.Tested = true
			d.P = cmp.P
			d.Significant = cmp.P < cmp.Alpha
			d.Warnings = cmp.Warnings
		}
		row.Centers = append(row.Centers, center)
		row.Ns = append(row.Ns, len(vs))
		row.Deltas = append(row.Deltas, d)
	}
	return row, some
}

// WriteText writes the comparison in benchstat's style, one row per value:
//
//	e2e_commit p99  182ms → 97.0ms  −47%  (p=0.008 n=5+5)
//
// "~" replaces the change when it is not significant at Alpha. When both sides have a single run
// the change is shown with "(n=1, untested)" and a note says to repeat the runs. Each run whose
// self-checks ([CheckRun]) failed gets a "check:" line.
func (c *Comparison) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	for i, g := range c.Groups {
		label := "base"
		if i > 0 {
			label = fmt.Sprintf("new%d", i)
			if len(c.Groups) == 2 {
				label = "new"
			}
		}
		ew.printf("%-5s %s: %s\n", label, g.Name, strings.Join(g.Files, " "))
	}
	ew.printf("\n")
	if ew.err != nil {
		return ew.err
	}
	t := &table{left: map[int]bool{}}
	two := len(c.Groups) == 2
	head := []string{"", c.Groups[0].Name}
	if two {
		head = append(head, "", c.Groups[1].Name, "vs base", "")
		t.left[5] = true
	} else {
		for i := 1; i < len(c.Groups); i++ {
			head = append(head, c.Groups[i].Name, "vs base", "")
			t.left[1+3*i] = true
		}
	}
	t.add(head...)
	untested, warned := false, map[string]bool{}
	var warnings []string
	for _, r := range c.Rows {
		cells := []string{r.Metric + " " + r.Stat, formatValue(r.Kind, r.Centers[0])}
		for i := 1; i < len(r.Centers); i++ {
			d := r.Deltas[i]
			if two {
				cells = append(cells, "→")
			}
			cells = append(cells, formatValue(r.Kind, r.Centers[i]), formatDelta(d), formatTest(d))
			if r.Ns[i] > 0 && !d.Tested {
				untested = true
			}
			for _, w := range d.Warnings {
				// Identical values are shown as "~ (p=1.000 …)" already.
				if errors.Is(w, stats.ErrSamplesEqual) {
					continue
				}
				if !warned[w.Error()] {
					warned[w.Error()] = true
					warnings = append(warnings, w.Error())
				}
			}
		}
		t.add(cells...)
	}
	if err := t.write(w, ""); err != nil {
		return err
	}
	var checks []string // runs whose self-checks failed: their numbers need a second look
	for _, g := range c.Groups {
		for i, r := range g.Results {
			for _, ch := range CheckRun(r) {
				if !ch.OK {
					name := fmt.Sprintf("%s run %d", g.Name, i+1)
					if i < len(g.Files) {
						name = g.Files[i]
					}
					checks = append(checks, fmt.Sprintf("%s: %s %s", name, ch.Name, ch.Detail))
				}
			}
		}
	}
	if untested || len(warnings) > 0 || len(checks) > 0 {
		ew.printf("\n")
	}
	for _, s := range checks {
		ew.printf("check: %s\n", s)
	}
	if untested {
		ew.printf("note: single runs: changes are untested; repeat each side (≥4 runs each at alpha 0.05) for p-values\n")
	}
	sort.Strings(warnings)
	for _, s := range warnings {
		ew.printf("note: %s\n", s)
	}
	return ew.err
}

func formatValue(kind string, v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	switch kind {
	case "us":
		return duration(v)
	case "rate":
		return count(v) + "/s"
	default:
		return count(v)
	}
}

// formatDelta is "~" when tested and not significant, else the signed percentage (Unicode minus).
func formatDelta(d Delta) string {
	if d.N2 == 0 && d.N1 == 0 {
		return "-"
	}
	if d.Tested && !d.Significant {
		return "~"
	}
	if math.IsNaN(d.Pct) {
		return "?"
	}
	if d.Pct == 0 {
		return "0%"
	}
	prec := 0
	if math.Abs(d.Pct) < 9.95 {
		prec = 1
	}
	s := fmt.Sprintf("%+.*f%%", prec, d.Pct)
	return strings.Replace(s, "-", "−", 1)
}

func formatTest(d Delta) string {
	switch {
	case d.N1 == 0 && d.N2 == 0:
		return ""
	case !d.Tested:
		return "(n=1, untested)"
	}
	n := fmt.Sprintf("n=%d+%d", d.N1, d.N2)
	if d.N1 == d.N2 {
		n = fmt.Sprintf("n=%d", d.N1)
	}
	return fmt.Sprintf("(p=%.3f %s)", d.P, n)
}

// checkWorkloads returns a *WorkloadError when any run's config "workload" section differs from
// the first run's.
func checkWorkloads(groups []Group) error {
	var baseFile string
	var base map[string]string
	var baseHas bool
	var diffs []string
	for _, g := range groups {
		for i, r := range g.Results {
			file := g.Name
			if i < len(g.Files) {
				file = g.Files[i]
			}
			wl, has := r.Run.Config["workload"]
			flat := map[string]string{}
			flatten("workload", wl, flat)
			if baseFile == "" {
				baseFile, base, baseHas = file, flat, has
				continue
			}
			if has != baseHas {
				if has {
					diffs = append(diffs, fmt.Sprintf("%s has a workload section, %s has none", file, baseFile))
				} else {
					diffs = append(diffs, fmt.Sprintf("%s has no workload section, %s has one", file, baseFile))
				}
				continue
			}
			if reflect.DeepEqual(flat, base) {
				continue
			}
			keys := map[string]bool{}
			for k := range flat {
				keys[k] = true
			}
			for k := range base {
				keys[k] = true
			}
			var ks []string
			for k := range keys {
				if flat[k] != base[k] {
					ks = append(ks, k)
				}
			}
			sort.Strings(ks)
			for _, k := range ks {
				diffs = append(diffs, fmt.Sprintf("%s: %s=%s, %s: %s=%s", file, k, orUnset(flat, k), baseFile, k, orUnset(base, k)))
			}
		}
	}
	if len(diffs) > 0 {
		const maxDiffs = 20
		if len(diffs) > maxDiffs {
			diffs = append(diffs[:maxDiffs], fmt.Sprintf("... and %d more", len(diffs)-maxDiffs))
		}
		return &WorkloadError{Diffs: diffs}
	}
	return nil
}

func orUnset(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return "(unset)"
}

// flatten turns nested maps and lists into dotted keys with JSON-ish values.
func flatten(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, vv := range x {
			flatten(prefix+"."+k, vv, out)
		}
	case []any:
		for i, vv := range x {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), vv, out)
		}
	case nil:
	default:
		out[prefix] = fmt.Sprint(x)
	}
}
