package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strconv"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// HgrmTicksPerHalfDistance is the number of percentile rows per halving of the distance to 100%,
// HdrHistogram's default for .hgrm output.
const HgrmTicksPerHalfDistance = 5

// UnitMS is the value scale that makes .hgrm values milliseconds (the histograms hold µs).
const UnitMS = 1000.0

// WriteHgrm writes m's percentile distribution in HdrHistogram's text format (the .hgrm files its
// plotter reads): Value, Percentile, TotalCount, 1/(1-Percentile) rows and the Mean/StdDeviation/
// Max/Total count footer, via hdrhistogram-go's PercentilesPrint. valueScale divides the recorded
// µs: [UnitMS] (1000) for milliseconds, 1 for microseconds; 0 means [UnitMS].
func WriteHgrm(w io.Writer, m Metric, valueScale float64) error {
	if valueScale == 0 {
		valueScale = UnitMS
	}
	if valueScale < 0 {
		return fmt.Errorf("hgrm value scale %v: want a positive number of µs per unit", valueScale)
	}
	h, err := m.Histogram()
	if err != nil {
		return err
	}
	if _, err := h.PercentilesPrint(w, HgrmTicksPerHalfDistance, valueScale); err != nil {
		return fmt.Errorf("writing hgrm: %w", err)
	}
	return nil
}

// WriteHlog writes r's per-second interval histograms (r.Intervals) as an HdrHistogram interval
// log (format 1.3, hdrhistogram-go's HistogramLogWriter), one line per metric and second, tagged
// with the metric name ("Tag=e2e_commit,..."), ordered by time then name. Only the named metrics
// are written; none named means all.
//
// Interval start times are origin + t seconds ([Run.Origin]), written relative to a
// "#[BaseTime:" line (run.started truncated to the second), so readers recover absolute times.
//
// Note: the interval max column is the µs maximum divided by 1e6 (seconds): hdrhistogram-go
// fixes that ratio for its public API (the Java default for ns histograms).
func WriteHlog(w io.Writer, r *Result, metrics ...string) error {
	if len(r.Intervals) == 0 {
		return fmt.Errorf("this result has no per-second histograms (\"intervals\"): an .hlog needs them")
	}
	names := metrics
	if len(names) == 0 {
		for name := range r.Intervals {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	type line struct {
		t    int64
		name string
		hdr  string
	}
	var lines []line
	for _, name := range names {
		ivs, ok := r.Intervals[name]
		if !ok {
			return fmt.Errorf("no per-second histograms for metric %q in this result", name)
		}
		for _, iv := range ivs {
			lines = append(lines, line{iv.T, name, iv.HDR})
		}
	}
	sort.SliceStable(lines, func(i, j int) bool {
		if lines[i].t != lines[j].t {
			return lines[i].t < lines[j].t
		}
		return lines[i].name < lines[j].name
	})

	base := r.Run.Started.Unix() * 1000
	started := r.Run.Started.UnixMilli()
	origin := r.Run.Origin().UnixMilli()
	lw := hdrhistogram.NewHistogramLogWriter(w)
	lw.SetBaseTime(base)
	steps := []func() error{
		lw.OutputLogFormatVersion,
		func() error {
			return lw.OutputComment("[cfbench " + r.Run.Profile + " worker " + r.Run.Worker + ", values in µs]")
		},
		func() error { return lw.OutputStartTime(started) },
		func() error { return lw.OutputBaseTime(base) },
		lw.OutputLegend,
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return fmt.Errorf("writing hlog: %w", err)
		}
	}
	for _, l := range lines {
		h, err := (Metric{HDR: l.hdr, Count: 1}).Histogram()
		if err != nil {
			return fmt.Errorf("intervals.%s t=%d: %w", l.name, l.t, err)
		}
		h.SetTag(l.name)
		h.SetStartTimeMs(origin + l.t*1000)
		h.SetEndTimeMs(origin + (l.t+1)*1000)
		if err := lw.OutputIntervalHistogram(h); err != nil {
			return fmt.Errorf("writing hlog: %w", err)
		}
	}
	return nil
}

// CSVHeader is the header row of [WriteCSV]; the names are the JSON names of [Second].
var CSVHeader = []string{"t", "writes", "events", "e2e_p50_us", "e2e_p99_us", "e2e_max_us",
	"resolved_lag_us", "token_refreshes", "errors", "consumer_lag_msgs"}

// WriteCSV writes r's per-second series as CSV: a header row ([CSVHeader]) then one row per
// second, values unscaled (counts, µs); consumer_lag_msgs is empty where it was not measured.
func WriteCSV(w io.Writer, r *Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return fmt.Errorf("writing csv: %w", err)
	}
	for _, s := range r.Series {
		row := []int64{s.T, s.Writes, s.Events, s.E2EP50US, s.E2EP99US, s.E2EMaxUS, s.ResolvedLagUS,
			s.TokenRefreshes, s.Errors}
		rec := make([]string, len(row), len(row)+1)
		for i, v := range row {
			rec[i] = strconv.FormatInt(v, 10)
		}
		lag := ""
		if s.ConsumerLagMsgs != nil {
			lag = strconv.FormatInt(*s.ConsumerLagMsgs, 10)
		}
		rec = append(rec, lag)
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("writing csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing csv: %w", err)
	}
	return nil
}
