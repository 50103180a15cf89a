package consume

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cfbench/cfbench/internal/golden"
)

func TestSig3(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 0.012345: "0.0123", 1.2345: "1.23", 12.345: "12.3", 123.45: "123", 12345.6: "12346", -1.5: "-1.50"} {
		if got := sig3(in); got != want {
			t.Errorf("sig3(%v) = %q, want %q", in, got, want)
		}
	}
}

// TestTableGolden renders 22 intervals (the header comes back after 20 rows) and a summary.
func TestTableGolden(t *testing.T) {
	var b bytes.Buffer
	var got []Interval
	r := newRecorder(t0, 0, 2*time.Second, fakeLedger{}, nil, func(iv Interval) { got = append(got, iv) })
	calls := 0
	r.lag = func() int64 { // unknown at first ("-"), then 7 more messages behind each second
		calls++
		if calls == 1 {
			return -1
		}
		return int64(7 * (calls - 1))
	}
	for i := 0; i < 22*10; i++ {
		recv := t0.Add(time.Duration(i) * 100 * time.Millisecond)
		if i == 105 {
			r.noteRefresh(recv)
		}
		r.observe(&message{Topic: "vehicles", Key: []byte(`["k` + string(rune('a'+i%26)) + `"]`), Value: rowValue(recv.Add(-time.Duration(1+i%7)*time.Millisecond), i), Received: recv})
		if i%10 == 9 {
			r.observe(&message{Topic: "vehicles", Value: resolvedValue(recv.Add(-400 * time.Millisecond)), Received: recv})
		}
	}
	r.observe(&message{Topic: "vehicles", Value: []byte(`{"after": 1}`), Offset: 7, Received: t0.Add(22 * time.Second)})
	r.flush(t0.Add(22*time.Second + 500*time.Millisecond))
	tab := NewIntervalTable(&b)
	for _, iv := range got {
		tab.Row(iv)
	}
	var s Stats
	r.snapshot(&s)
	s.End = t0.Add(22*time.Second + 500*time.Millisecond)
	s.Missing = 0
	WriteSummary(&b, s)
	if n := strings.Count(b.String(), "events/s"); n != 2 {
		t.Errorf("header printed %d times for %d rows, want 2", n, len(got))
	}
	golden.Check(t, filepath.Join("testdata", "table.golden"), b.Bytes())
}
