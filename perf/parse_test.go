package main

import (
	"strings"
	"testing"
)

func TestBenchLine(t *testing.T) {
	out := `goos: linux
BenchmarkDecodeRecord/size=480B/ledger=false-2         	 1344691	      1605 ns/op	 299.02 MB/s	       1 B/op	       0 allocs/op
BenchmarkUnmarshal/size=480B                         	   56752	     25926 ns/op	  18.51 MB/s	     840 B/op	      11 allocs/op
BenchmarkDecodeRecord/size=480B/ledger=false-2         	 1344691	      1500.5 ns/op	 299.02 MB/s	       1 B/op	       0 allocs/op
PASS`
	res := map[string][]string{}
	for _, m := range benchLine.FindAllStringSubmatch(out, -1) {
		res[m[1]] = append(res[m[1]], m[2]+"/"+m[4])
	}
	want := map[string]string{
		"BenchmarkDecodeRecord/size=480B/ledger=false": "1605/0 1500.5/0",
		"BenchmarkUnmarshal/size=480B":                 "25926/11",
	}
	for k, v := range want {
		if got := strings.Join(res[k], " "); got != v {
			t.Errorf("%s: got %q, want %q", k, got, v)
		}
	}
}

func TestParseConsumerPerf(t *testing.T) {
	tests := []struct {
		out  string
		n    int64
		want float64
		ok   bool
	}{
		{"start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n" +
			"2026-12-04 20:52:07:197, 2026-12-04 20:52:16:494, 95.3674, 10.2578, 200000, 21512.3159, 3412, 5885, 16.2052, 33984.7069", 200000, 33984.7069, true},
		{"WARN something\n2026-12-04 20:52:07:197, 2026-12-04 20:52:16:494, 95.3674, 10.2578, 150000, 21512.3159, 3412, 5885, 16.2052, 33984.7069", 200000, 0, false},
		{"Exception in thread main", 1, 0, false},
	}
	for _, tt := range tests {
		got, err := parseConsumerPerf(tt.out, tt.n)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseConsumerPerf(%q) = %v, %v; want %v, ok=%v", tt.out, got, err, tt.want, tt.ok)
		}
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{nil, 0}, {[]float64{3}, 3}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestVehicleValueIsCockroachFormat(t *testing.T) {
	v := string(vehicleValue(nil, 42, 1681240149199419939))
	if n := len(v); n < 400 || n > 520 {
		t.Errorf("vehicles value is %d bytes, want about 450", n)
	}
	if !strings.HasSuffix(v, `"mvcc_timestamp": "1681240149199419939.0000000000", "updated": "1681240149199419939.0000000000"}`) {
		t.Errorf("value does not end with the sorted timestamps: %s", v)
	}
	if k := string(vehicleKey(nil, 42)); k != `["paris", "2c28a231-8b1e-4e83-9bfa-000000000042"]` {
		t.Errorf("key = %s", k)
	}
}

func TestMarkdownEscapesPipes(t *testing.T) {
	var tb table
	tb.add(row{item: "5", what: "w", ours: "1", theirs: "2", ratio: "err", target: "|err| ≤ 1 ms", met: true})
	md := tb.markdown(machineDesc{}, 0)
	if !strings.Contains(md, `| 5 | w | 1 | 2 | err | \|err\| ≤ 1 ms | yes |`) {
		t.Errorf("markdown row not escaped:\n%s", md)
	}
}
