package consume

import (
	"testing"
	"unsafe"
)

func TestVerifier(t *testing.T) {
	type step struct {
		resolved  bool // a resolved message for partition part at ts
		key       uint64
		part      int32
		ts        HLC
		want      rowVerdict
		wantStats VerifyStats // cumulative, Rows and Keys ignored
	}
	h := func(w int64) HLC { return HLC{WallNanos: w} }
	tests := []struct {
		name  string
		steps []step
	}{
		{"in order", []step{
			{key: 1, ts: h(10), want: verdictNew},
			{key: 1, ts: h(11), want: verdictNew},
			{key: 2, ts: h(5), want: verdictNew},
		}},
		{"duplicate of newest and of an older version", []step{
			{key: 1, ts: h(10), want: verdictNew},
			{key: 1, ts: h(11), want: verdictNew},
			{key: 1, ts: h(11), want: verdictDuplicate, wantStats: VerifyStats{Duplicates: 1}},
			{key: 1, ts: h(10), want: verdictDuplicate, wantStats: VerifyStats{Duplicates: 2}},
		}},
		{"order violation", []step{
			{key: 1, ts: h(10), want: verdictNew},
			{key: 1, ts: h(9), want: verdictViolation, wantStats: VerifyStats{OrderViolations: 1}},
			{key: 1, ts: h(12), want: verdictNew, wantStats: VerifyStats{OrderViolations: 1}},
		}},
		{"logical breaks ties", []step{
			{key: 1, ts: HLC{10, 2}, want: verdictNew},
			{key: 1, ts: HLC{10, 1}, want: verdictViolation, wantStats: VerifyStats{OrderViolations: 1}},
		}},
		{"old duplicate beyond the remembered versions", []step{
			{key: 1, ts: h(1), want: verdictNew},
			{key: 1, ts: h(2), want: verdictNew},
			{key: 1, ts: h(3), want: verdictNew},
			{key: 1, ts: h(4), want: verdictNew},
			{key: 1, ts: h(5), want: verdictNew},
			{key: 1, ts: h(2), want: verdictDuplicate, wantStats: VerifyStats{Duplicates: 1}},
			{key: 1, ts: h(1), want: verdictViolation, wantStats: VerifyStats{Duplicates: 1, OrderViolations: 1}},
		}},
		{"key on two partitions", []step{
			{key: 1, part: 0, ts: h(10), want: verdictNew},
			{key: 1, part: 1, ts: h(11), want: verdictViolation, wantStats: VerifyStats{PartitionViolations: 1}},
		}},
		{"row at or below resolved", []step{
			{resolved: true, part: 0, ts: h(10)},
			{key: 1, ts: h(10), want: verdictNew, wantStats: VerifyStats{ResolvedViolations: 1}},
			{key: 2, ts: h(11), want: verdictNew, wantStats: VerifyStats{ResolvedViolations: 1}},
			{key: 3, part: 1, ts: h(5), want: verdictNew, wantStats: VerifyStats{ResolvedViolations: 1}}, // other partition
			{key: 2, ts: h(11), want: verdictDuplicate, wantStats: VerifyStats{ResolvedViolations: 1, Duplicates: 1}},
		}},
		{"resolved going back", []step{
			{resolved: true, part: 0, ts: h(10)},
			{resolved: true, part: 0, ts: h(10)},
			{resolved: true, part: 0, ts: h(9), wantStats: VerifyStats{ResolvedRegressions: 1}},
			{key: 1, ts: h(10), want: verdictNew, wantStats: VerifyStats{ResolvedRegressions: 1, ResolvedViolations: 1}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v verifier
			resolved := map[int32]HLC{}
			for i, s := range tt.steps {
				if s.resolved {
					resolved[s.part] = v.noteResolved(resolved[s.part], s.ts)
				} else if got := v.noteRow(s.key, s.part, s.ts, resolved[s.part]); got != s.want {
					t.Fatalf("step %d: verdict %d, want %d", i, got, s.want)
				}
				got := v.stats
				got.Rows, got.Keys = 0, 0
				if got != s.wantStats {
					t.Fatalf("step %d: stats %+v, want %+v", i, got, s.wantStats)
				}
			}
		})
	}
}

func TestVerifierGrows(t *testing.T) {
	var v verifier
	const n = 100_000
	for i := uint64(1); i <= n; i++ {
		v.noteRow(i*0x9E3779B97F4A7C15|1, 0, HLC{WallNanos: int64(i)}, HLC{})
	}
	for i := uint64(1); i <= n; i++ {
		if got := v.noteRow(i*0x9E3779B97F4A7C15|1, 0, HLC{WallNanos: int64(i)}, HLC{}); got != verdictDuplicate {
			t.Fatalf("key %d: verdict %d after growth, want duplicate", i, got)
		}
	}
	if v.stats.Keys != n || v.stats.Duplicates != n {
		t.Errorf("stats %+v", v.stats)
	}
}

// TestKeyStateSize pins the verifier's memory per key (RSS grows with distinct keys).
func TestKeyStateSize(t *testing.T) {
	if n := unsafe.Sizeof(keyState{}); n > 64 {
		t.Errorf("keyState is %d bytes, want at most 64 (one cache line)", n)
	}
}
