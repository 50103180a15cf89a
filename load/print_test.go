package load

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/cfbench/cfbench/internal/golden"
)

func fixedStats() *Stats {
	st := &Stats{
		Start: time.Unix(0, 0), Elapsed: 2 * time.Second, Interval: time.Second, Measured: 2 * time.Second,
		IntendedRate: 100, AchievedRate: 99.5,
		Lag: NewHistogram(), IntervalLag: NewHistogram(),
		Errors: map[string]int64{"40": 2, "23": 1}, ErrorExamples: map[string]string{"40": "ERROR: restart transaction (SQLSTATE 40001)", "23": "ERROR: duplicate key (SQLSTATE 23505)"},
		Retries: 4, Dropped: 1,
	}
	mk := func(name string, n int64, base int64) OpStats {
		o := OpStats{Op: name, Count: n, IntervalCount: n / 2, Errors: 1, IntervalErrors: 1, Rows: n,
			Latency: NewHistogram(), Service: NewHistogram(), IntervalLatency: NewHistogram(), IntervalService: NewHistogram()}
		for i := range n {
			recordUs(o.Latency, base+i*100)
			recordUs(o.Service, base/2+i*10)
			recordUs(o.IntervalLatency, base+i*100)
		}
		return o
	}
	st.Ops = []OpStats{mk("addUser", 60, 1500), mk("startRide", 139, 3000)}
	st.Total = mk("__total", 199, 2000)
	for i := range int64(199) {
		recordUs(st.Lag, 50+i*3)
	}
	return st
}

func TestPrinterGolden(t *testing.T) {
	var b bytes.Buffer
	p := NewPrinter(&b)
	st := fixedStats()
	for range 11 { // 22 rows: the header comes back after 20
		p.Tick(st)
	}
	p.Summary(st)
	if !golden.Check(t, filepath.Join("testdata", "printer.golden"), b.Bytes()) {
		t.FailNow()
	}
}
