package report

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// lognormal records n values of a log-normal distribution with the given median (µs) into h,
// clamped into cfbench's range, using a deterministic generator.
func recordLognormal(h *hdrhistogram.Histogram, rng *rand.Rand, n int, medianUS float64, sigma float64) {
	for range n {
		v := int64(medianUS * math.Exp(rng.NormFloat64()*sigma))
		if v < LowestUS {
			v = LowestUS
		}
		if v > HighestUS {
			v = HighestUS
		}
		if err := h.RecordValue(v); err != nil {
			panic(err)
		}
	}
}

// synth builds a deterministic result from real histograms: e2e latencies log-normal around
// medianUS, secs seconds of series and intervals, worker "1/1".
func synth(seed uint64, medianUS float64, secs int) *Result {
	rng := rand.New(rand.NewPCG(seed, 42))
	started := time.Date(2026, 12, 4, 20, 0, 0, 250_000_000, time.UTC)
	r := &Result{
		Schema: Schema,
		Run: Run{
			Profile: "local", Started: started, Ended: started.Add(time.Duration(secs) * time.Second),
			ToolVersion: "v0.1.0", GitCommit: "abc1234", Host: "bench-1", Worker: "1/1",
			Config: map[string]any{
				"workload": map[string]any{"rate": 100.0, "duration": "60s", "concurrency": 4.0},
				"kafka":    map[string]any{"brokers": "127.0.0.1:29093"},
			},
		},
		Metrics:   map[string]Metric{},
		Intervals: map[string][]Interval{},
	}
	total := NewHistogram()
	var events int64
	for s := range secs {
		h := NewHistogram()
		n := 90 + rng.IntN(20)
		recordLognormal(h, rng, n, medianUS, 0.5)
		total.Merge(h)
		events += int64(n)
		r.Intervals[MetricE2ECommit] = append(r.Intervals[MetricE2ECommit], Interval{T: int64(s), HDR: MetricFromHistogram(h).HDR})
		refresh := int64(0)
		if s%20 == 10 {
			refresh = 1
		}
		lag := int64(s%7)*3 + 1 // no rng draw: the other fixture values stay as they were
		r.Series = append(r.Series, Second{T: int64(s), Writes: int64(n), Events: int64(n),
			E2EP50US: h.ValueAtQuantile(50), E2EP99US: h.ValueAtQuantile(99), E2EMaxUS: h.Max(),
			ResolvedLagUS: 1_000_000 + int64(rng.IntN(200_000)), TokenRefreshes: refresh, ConsumerLagMsgs: &lag})
	}
	r.Metrics[MetricE2ECommit] = MetricFromHistogram(total)
	ack := NewHistogram()
	recordLognormal(ack, rng, int(events), medianUS*0.9, 0.5)
	r.Metrics[MetricE2EAck] = MetricFromHistogram(ack)
	tf := NewHistogram()
	recordLognormal(tf, rng, 4, 15_000, 0.3)
	r.Metrics[MetricTokenFetch] = MetricFromHistogram(tf)
	wl := NewHistogram()
	recordLognormal(wl, rng, int(events), 2_000, 0.8)
	r.Metrics[WriteLatencyPrefix+"addVehicle"] = MetricFromHistogram(wl)
	wu := NewHistogram()
	recordLognormal(wu, rng, 200, medianUS*3, 0.5)
	r.Warmup = map[string]Metric{MetricE2ECommit: MetricFromHistogram(wu)}

	r.Delivery = Delivery{Written: events, Received: events + 3, Duplicates: 3}
	r.Token = Token{Fetches: 4, Refreshes: 3, FirstTokenUS: 15_300, LifetimeS: 60,
		Events: []TokenEvent{{At: started, TookUS: 15_300, OK: true}}}
	drift := int64(120)
	r.Clock = Clock{OffsetUS: -1_234, UncertaintyUS: 450, Samples: 12, DriftUS: &drift, EndUncertaintyUS: 380}
	d := float64(secs)
	r.Rates = Rates{IntendedWritesPerS: 100, AchievedWritesPerS: float64(events) / d, EventsPerS: float64(events) / d,
		BytesPerS: float64(events) * 512 / d}
	r.Errors = []ErrorCount{{At: started.Add(5 * time.Second), Where: "consume", Count: 2,
		Message: "kafka: Local: Broker transport failure"}}
	return r
}
