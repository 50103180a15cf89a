package report

import (
	"strings"
	"testing"
)

// lagSeries returns one second per lag value, each with events events; a negative lag is a
// second without consumer_lag_msgs.
func lagSeries(events int64, lags ...int64) []Second {
	out := make([]Second, len(lags))
	for i, l := range lags {
		out[i] = Second{T: int64(i), Events: events}
		if l >= 0 {
			out[i].ConsumerLagMsgs = &l
		}
	}
	return out
}

// writeRows returns n seconds of writes each (no consumer lag recorded), then one row after the
// load stopped, which the load check must not count.
func writeRows(n int, writes int64) []Second {
	out := make([]Second, n, n+1)
	for i := range out {
		out[i] = Second{T: int64(i), Writes: writes}
	}
	return append(out, Second{T: int64(n)})
}

func TestCheckRun(t *testing.T) {
	e2e := Metric{Count: 100, P50US: 10_000}
	tests := []struct {
		name string
		r    Result
		want map[string]bool // check name → OK; absent: not run
		text map[string]string
	}{
		{
			name: "nothing to check",
			r:    Result{},
			want: map[string]bool{},
		},
		{
			name: "consumer kept up, one-second bursts allowed",
			r:    Result{Series: lagSeries(500, 10, 5000, 20, 5000, 5000, 3)},
			want: map[string]bool{"consumer": true},
			text: map[string]string{"consumer": "at most 5000 messages"},
		},
		{
			name: "consumer behind for three seconds",
			r:    Result{Series: lagSeries(500, 10, 2000, 4000, 8000, 30)},
			want: map[string]bool{"consumer": false},
			text: map[string]string{"consumer": "fell behind for 3 s (t=1–4s; peak 8000 messages not polled, as second t=3 ended)"},
		},
		{
			name: "a high-rate consumer a second behind is not flagged",
			r:    Result{Series: lagSeries(50_000, 40_000, 45_000, 49_000, 30_000)},
			want: map[string]bool{"consumer": true},
		},
		{
			name: "lag under the floor is not flagged",
			r:    Result{Series: lagSeries(10, 900, 900, 900, 900)},
			want: map[string]bool{"consumer": true},
		},
		{
			name: "unknown seconds break a streak",
			r:    Result{Series: lagSeries(10, 2000, 2000, -1, 2000, 2000)},
			want: map[string]bool{"consumer": true},
		},
		{
			name: "no lag recorded (an older result): not checked",
			r:    Result{Series: lagSeries(10, -1, -1, -1, -1)},
			want: map[string]bool{},
		},
		{
			name: "load on schedule",
			r:    Result{Rates: Rates{IntendedWritesPerS: 100, AchievedWritesPerS: 96}},
			want: map[string]bool{"load": true},
			text: map[string]string{"load": "96 of the intended 100 writes/s (96%)"},
		},
		{
			name: "load behind schedule",
			r:    Result{Rates: Rates{IntendedWritesPerS: 1000, AchievedWritesPerS: 700}},
			want: map[string]bool{"load": false},
			text: map[string]string{"load": "achieved 700 of the intended 1000 writes/s (70%)"},
		},
		{
			name: "a Poisson load 10% short over 60 s at 10/s: chance (3σ = 73 writes)",
			r:    Result{Rates: Rates{IntendedWritesPerS: 10, AchievedWritesPerS: 9}, Series: writeRows(60, 9)},
			want: map[string]bool{"load": true},
		},
		{
			name: "20% short over 60 s at 10/s: behind",
			r:    Result{Rates: Rates{IntendedWritesPerS: 10, AchievedWritesPerS: 8}, Series: writeRows(60, 8)},
			want: map[string]bool{"load": false},
		},
		{
			name: "7% short over 300 s at 1000/s: behind",
			r:    Result{Rates: Rates{IntendedWritesPerS: 1000, AchievedWritesPerS: 930}, Series: writeRows(300, 930)},
			want: map[string]bool{"load": false},
		},
		{
			name: "unthrottled load",
			r:    Result{Rates: Rates{AchievedWritesPerS: 12000}},
			want: map[string]bool{"load": true},
			text: map[string]string{"load": "unthrottled"},
		},
		{
			name: "clock good",
			r:    Result{Clock: Clock{UncertaintyUS: 500, Samples: 12}, Metrics: map[string]Metric{MetricE2ECommit: e2e}},
			want: map[string]bool{"clock": true},
			text: map[string]string{"clock": "±500µs, 5.0% of the e2e_commit median (10.0ms)"},
		},
		{
			name: "clock too uncertain",
			r:    Result{Clock: Clock{UncertaintyUS: 2000, Samples: 12}, Metrics: map[string]Metric{MetricE2ECommit: e2e}},
			want: map[string]bool{"clock": false},
			text: map[string]string{"clock": "±2.00ms is 20% of the e2e_commit median"},
		},
		{
			name: "clock drifted beyond both bounds",
			r: Result{Clock: Clock{UncertaintyUS: 200, Samples: 12, DriftUS: ptr(int64(-1500)), EndUncertaintyUS: 300},
				Metrics: map[string]Metric{MetricE2ECommit: e2e}},
			want: map[string]bool{"clock": false},
			text: map[string]string{"clock": "offset known to ±1.70ms (±200µs at the start, moved −1.50ms by the end) is 17% of the e2e_commit median"},
		},
		{
			name: "clock drift within the probes' bounds",
			r: Result{Clock: Clock{UncertaintyUS: 200, Samples: 12, DriftUS: ptr(int64(400)), EndUncertaintyUS: 300},
				Metrics: map[string]Metric{MetricE2ECommit: e2e}},
			want: map[string]bool{"clock": true},
			text: map[string]string{"clock": "offset known to ±200µs (±200µs at the start, moved +400µs by the end), 2.0%"},
		},
		{
			name: "clock offset given, not measured",
			r:    Result{Clock: Clock{OffsetUS: 3000}, Metrics: map[string]Metric{MetricE2ECommit: e2e}},
			want: map[string]bool{"clock": false},
			text: map[string]string{"clock": "are as good as the offset given"},
		},
		{
			name: "clock not measured",
			r:    Result{Metrics: map[string]Metric{MetricE2ECommit: e2e}},
			want: map[string]bool{"clock": false},
			text: map[string]string{"clock": "offset not measured"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]bool{}
			for _, c := range CheckRun(&tt.r) {
				got[c.Name] = c.OK
				if want, ok := tt.text[c.Name]; ok && !strings.Contains(c.Detail, want) {
					t.Errorf("%s: %q does not contain %q", c.Name, c.Detail, want)
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("checks %v, want %v", got, tt.want)
			}
			for name, ok := range tt.want {
				if g, ran := got[name]; !ran || g != ok {
					t.Errorf("%s: ran %v ok %v, want ok %v", name, ran, g, ok)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
