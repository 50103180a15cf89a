package bench

import (
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"
)

func TestSinceSplitsWarmup(t *testing.T) {
	h := hdrhistogram.New(1, 3_600_000_000, 3)
	for v := int64(1); v <= 1000; v++ { // warm-up: 1..1000 µs
		_ = h.RecordValue(v)
	}
	base := hdrhistogram.Import(h.Export())
	for v := int64(5000); v < 6000; v++ { // measurement: 5000..5999 µs
		_ = h.RecordValue(v)
	}
	m := since(h, base)
	if m.TotalCount() != 1000 {
		t.Fatalf("count = %d, want 1000", m.TotalCount())
	}
	if min := m.Min(); min < 4990 || min > 5000 {
		t.Errorf("min = %d, want ≈5000 (warm-up values must be gone)", min)
	}
	if p50 := m.ValueAtQuantile(50); p50 < 5490 || p50 > 5510 {
		t.Errorf("p50 = %d, want ≈5500", p50)
	}
	if h.TotalCount() != 2000 {
		t.Errorf("since modified its input: count %d", h.TotalCount())
	}
	if c := since(h, nil); c.TotalCount() != 2000 {
		t.Errorf("since(h, nil) count = %d, want 2000", c.TotalCount())
	}
}
