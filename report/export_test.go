package report

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/cfbench/cfbench/internal/golden"
)

func TestWriteTextGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteText(&buf, synth(1, 50_000, 60)); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "summary.txt"), buf.Bytes())
}

func TestWriteTextVerdict(t *testing.T) {
	r := synth(1, 50_000, 5)
	var buf bytes.Buffer
	WriteText(&buf, r)
	if !strings.Contains(buf.String(), "delivery  PASS") {
		t.Errorf("clean delivery: want PASS in\n%s", buf.String())
	}
	r.Delivery.Missing = 1
	buf.Reset()
	WriteText(&buf, r)
	if !strings.Contains(buf.String(), "delivery  FAIL") {
		t.Errorf("missing row: want FAIL in\n%s", buf.String())
	}
}

func TestWriteCSVGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteCSV(&buf, synth(1, 50_000, 10)); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "series.csv"), buf.Bytes())
}

func TestWriteHgrmGolden(t *testing.T) {
	r := synth(1, 50_000, 10)
	var buf bytes.Buffer
	if err := WriteHgrm(&buf, r.Metrics[MetricE2ECommit], UnitMS); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "e2e_commit.hgrm"), buf.Bytes())
	// The footer's max is the histogram's, in ms.
	h, _ := r.Metrics[MetricE2ECommit].Histogram()
	want := strings.TrimSpace(strings.Split(strings.Split(buf.String(), "#[Max     =")[1], ",")[0])
	if got := float64(h.Max()) / 1000; want != strings.TrimSpace(fmtFloat3(got)) {
		t.Errorf("hgrm max = %s, want %s", want, fmtFloat3(got))
	}
}

func fmtFloat3(v float64) string {
	return strings.TrimSpace(strings.TrimLeft(fmt.Sprintf("%12.3f", v), " "))
}

func TestWriteHlogRoundTrip(t *testing.T) {
	r := synth(7, 20_000, 5)
	ack := []Interval{}
	for i := range 5 {
		h := NewHistogram()
		h.RecordValues(int64(1000*(i+1)), int64(10+i))
		ack = append(ack, Interval{T: int64(i), HDR: MetricFromHistogram(h).HDR})
	}
	r.Intervals[MetricE2EAck] = ack
	var buf bytes.Buffer
	if err := WriteHlog(&buf, r); err != nil {
		t.Fatal(err)
	}
	rd := hdrhistogram.NewHistogramLogReader(&buf)
	type key struct {
		tag string
		t   int64
	}
	seen := map[key]bool{}
	for {
		h, err := rd.NextIntervalHistogram()
		if err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if h == nil {
			break
		}
		tsec := (h.StartTimeMs() - r.Run.Started.UnixMilli() + 500) / 1000
		ivs := r.Intervals[h.Tag()]
		if tsec < 0 || int(tsec) >= len(ivs) {
			t.Fatalf("interval %q at %d ms: no such interval in the result", h.Tag(), h.StartTimeMs())
		}
		want, _ := (Metric{HDR: ivs[tsec].HDR, Count: 1}).Histogram()
		if !h.Equals(want) {
			t.Errorf("%s t=%d: histogram read back differs", h.Tag(), tsec)
		}
		if d := h.EndTimeMs() - h.StartTimeMs(); d < 999 || d > 1001 {
			t.Errorf("%s t=%d: interval length %d ms, want 1000", h.Tag(), tsec, d)
		}
		seen[key{h.Tag(), tsec}] = true
	}
	if len(seen) != 10 {
		t.Errorf("read %d distinct intervals, want 10 (5 s × 2 metrics)", len(seen))
	}
	if err := WriteHlog(io.Discard, r, "nope"); err == nil {
		t.Error("unknown metric: want an error")
	}
}

func TestWriteTextRefreshImpact(t *testing.T) {
	r := synth(1, 50_000, 30)
	var buf bytes.Buffer
	WriteText(&buf, r)
	if !strings.Contains(buf.String(), "e2e_commit within ±2s of a token refresh") {
		t.Errorf("no refresh split derived from the intervals:\n%s", buf.String())
	}
	in, out := NewHistogram(), NewHistogram()
	in.RecordValues(700_000, 10)
	out.RecordValues(3_000, 10)
	r.Metrics[MetricRefreshInside] = MetricFromHistogram(in)
	r.Metrics[MetricRefreshOutside] = MetricFromHistogram(out)
	buf.Reset()
	WriteText(&buf, r)
	line := lineWith(buf.String(), "refresh   ")
	if !strings.Contains(line, "near a token refresh") || !strings.Contains(line, "p50 "+duration(float64(in.ValueAtQuantile(50)))) {
		t.Errorf("recorded split not preferred: %q", line)
	}
}
