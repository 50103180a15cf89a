package report

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// line is one sidecar record of a test: kind, table, time (ms since base), key.
type line struct {
	kind  byte
	table string
	ms    int64
	key   string
}

func TestReconcile(t *testing.T) {
	base := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	type worker struct {
		host          string
		offsetUS      int64
		uncertaintyUS int64
		received      int64 // own writes its consumer received itself
		lines         []line
		noSidecar     bool
	}
	tests := []struct {
		name    string
		workers []worker
		want    Delivery
		e2e     []int64 // measured e2e_ack values, µs (ordered: min, max), nil: none added
		warm    int64   // warm-up e2e_ack count added
		err     string
	}{
		{
			name: "a write received by the other worker",
			workers: []worker{
				{host: "h", received: 3, lines: []line{{'A', "users", 100, `["paris", "u1"]`}}},
				{host: "h", received: 2, lines: []line{{'R', "users", 150, `["paris", "u1"]`}}},
			},
			want: Delivery{Written: 6, Received: 6, CrossWorker: 1, CrossWorkerE2EAck: true},
			e2e:  []int64{50_000, 50_000},
		},
		{
			name: "received by no one is missing",
			workers: []worker{
				{host: "h", received: 2, lines: []line{{'A', "users", 100, `["paris", "u1"]`}, {'A', "rides", 100, `["paris", "r1"]`}}},
				{host: "h", received: 1, lines: []line{{'R', "users", 130, `["paris", "u1"]`}}},
			},
			want: Delivery{Written: 5, Received: 4, Missing: 1, CrossWorker: 1, CrossWorkerE2EAck: true},
			e2e:  []int64{30_000, 30_000},
		},
		{
			name: "a table's key does not match another table's",
			workers: []worker{
				{host: "h", received: 0, lines: []line{{'A', "users", 100, `["paris", "u1"]`}}},
				{host: "h", received: 0, lines: []line{{'R', "rides", 130, `["paris", "u1"]`}}},
			},
			want: Delivery{Written: 1, Received: 0, Missing: 1, Unexpected: 1},
		},
		{
			name: "a change nobody acknowledged is unexpected",
			workers: []worker{
				{host: "h", received: 1},
				{host: "h", received: 1, lines: []line{{'R', "vehicles", 10, `["rome", "v9"]`}}},
			},
			want: Delivery{Written: 2, Received: 2, Unexpected: 1},
		},
		{
			name: "own cityless row received before the ack was recorded",
			workers: []worker{
				{host: "h", received: 1, lines: []line{{'R', "promo_codes", 99, `["free_ride_x"]`}, {'A', "promo_codes", 100, `["free_ride_x"]`}}},
				{host: "h", received: 1},
			},
			want: Delivery{Written: 3, Received: 3, AckedAfterReceive: 1},
		},
		{
			name: "two changes of one row match oldest first",
			workers: []worker{
				{host: "h", lines: []line{{'A', "rides", 200, `["paris", "r1"]`}, {'A', "rides", 100, `["paris", "r1"]`}}},
				{host: "h", lines: []line{{'R', "rides", 110, `["paris", "r1"]`}, {'R', "rides", 240, `["paris", "r1"]`}}},
			},
			want: Delivery{Written: 2, Received: 2, CrossWorker: 2, CrossWorkerE2EAck: true},
			e2e:  []int64{10_000, 40_000},
		},
		{
			name: "clock offsets move both ends onto the database clock",
			workers: []worker{
				// host 1 is 20 ms behind the database, host 2 on time: the ack at 100 on host 1 is
				// 120 on the database clock, the receive at 150 on host 2 is 150.
				{host: "h1", offsetUS: 20_000, uncertaintyUS: 300, lines: []line{{'A', "users", 100, `["paris", "u1"]`}}},
				{host: "h2", offsetUS: 0, uncertaintyUS: 300, lines: []line{{'R', "users", 150, `["paris", "u1"]`}}},
			},
			want: Delivery{Written: 1, Received: 1, CrossWorker: 1, CrossWorkerE2EAck: true},
			e2e:  []int64{30_000, 30_000},
		},
		{
			name: "uncertain clocks on two hosts: matched, but no cross-worker e2e_ack",
			workers: []worker{
				{host: "h1", uncertaintyUS: 5_000, lines: []line{{'A', "users", 100, `["paris", "u1"]`}}},
				{host: "h2", uncertaintyUS: 100, lines: []line{{'R', "users", 150, `["paris", "u1"]`}}},
			},
			want: Delivery{Written: 1, Received: 1, CrossWorker: 1},
		},
		{
			name: "a write acknowledged before the measured phase goes to warmup",
			workers: []worker{
				{host: "h", lines: []line{{'A', "users", -500, `["paris", "u1"]`}}},
				{host: "h", lines: []line{{'R', "users", -450, `["paris", "u1"]`}}},
			},
			want: Delivery{Written: 1, Received: 1, CrossWorker: 1, CrossWorkerE2EAck: true},
			warm: 1,
		},
		{
			name: "a worker without a sidecar keeps its unreconciled writes",
			workers: []worker{
				{host: "h", lines: []line{{'A', "users", 100, `["paris", "u1"]`}}, noSidecar: true},
				{host: "h", lines: []line{{'R', "users", 150, `["paris", "u1"]`}}},
			},
			want: Delivery{Written: 1, Received: 0, Unexpected: 1, Unreconciled: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var rs []*Result
			var sidecars []string
			for i, w := range tc.workers {
				r := &Result{Schema: Schema, Run: groupRun(i+1, len(tc.workers), w.host, base)}
				r.Clock = Clock{OffsetUS: w.offsetUS, UncertaintyUS: w.uncertaintyUS, Samples: 5}
				r.Delivery.Received = w.received
				r.Delivery.Written = w.received
				path := filepath.Join(dir, string(rune('a'+i))+"-"+SidecarName)
				sw, err := CreateSidecar(path, "test")
				if err != nil {
					t.Fatal(err)
				}
				for _, l := range w.lines {
					at := base.Add(time.Duration(l.ms) * time.Millisecond)
					if l.kind == 'A' {
						sw.Acked(l.table, []byte(l.key), at)
						r.Delivery.Written++
						r.Delivery.Unreconciled++
					} else {
						sw.Received(l.table, []byte(l.key), at)
					}
				}
				if err := sw.Close(); err != nil {
					t.Fatal(err)
				}
				if w.noSidecar {
					path = ""
				}
				rs = append(rs, r)
				sidecars = append(sidecars, path)
			}
			out, err := Merge(rs)
			if err != nil {
				t.Fatal(err)
			}
			err = Reconcile(out, rs, sidecars)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.Delivery != tc.want {
				t.Errorf("delivery\n got %+v\nwant %+v", out.Delivery, tc.want)
			}
			m, ok := out.Metrics[MetricE2EAck]
			switch {
			case tc.e2e == nil && ok && m.Count > 0:
				t.Errorf("e2e_ack has %d values, want none", m.Count)
			case tc.e2e != nil:
				h, err := m.Histogram()
				if err != nil {
					t.Fatal(err)
				}
				if lo, hi := h.Min(), h.Max(); !h.ValuesAreEquivalent(lo, tc.e2e[0]) || !h.ValuesAreEquivalent(hi, tc.e2e[1]) {
					t.Errorf("e2e_ack min %d max %d µs, want %v", lo, hi, tc.e2e)
				}
			}
			if got := out.Warmup[MetricE2EAck].Count; got != tc.warm {
				t.Errorf("warmup e2e_ack count %d, want %d", got, tc.warm)
			}
			if tc.want.Missing > 0 && (len(out.Errors) == 0 || !strings.Contains(out.Errors[len(out.Errors)-1].Message, "no worker received")) {
				t.Errorf("missing writes not named in the errors: %+v", out.Errors)
			}
		})
	}
}

// groupRun is the Run of worker i of n of a group run on host, measured from base.
func groupRun(i, n int, host string, base time.Time) Run {
	return Run{Profile: "local", Worker: strconv.Itoa(i) + "/" + strconv.Itoa(n), Host: host,
		Started: base.Add(-time.Second), Ended: base.Add(time.Second), MeasuredFrom: base, Group: "cfbench-r1", RunID: "r1"}
}

func TestReconcileRejectsAnotherResultsSidecar(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, SidecarName)
	sw, err := CreateSidecar(path, "test")
	if err != nil {
		t.Fatal(err)
	}
	sw.Acked("users", []byte(`["paris", "u1"]`), time.Now())
	if err := sw.Close(); err != nil {
		t.Fatal(err)
	}
	base := time.Now()
	r := &Result{Schema: Schema, Run: groupRun(1, 1, "h", base)}
	r.Delivery.Unreconciled = 7
	out, err := Merge([]*Result{r})
	if err != nil {
		t.Fatal(err)
	}
	if err := Reconcile(out, []*Result{r}, []string{path}); err == nil || !strings.Contains(err.Error(), "holds 1 unreconciled writes, its result says 7") {
		t.Fatalf("err = %v, want the count mismatch named", err)
	}
	if err := Reconcile(out, []*Result{r}, []string{filepath.Join(dir, "nope", SidecarName)}); err == nil || !strings.Contains(err.Error(), "copy each worker's "+SidecarName) {
		t.Fatalf("missing sidecar: err = %v, want what to do", err)
	}
}

// TestSidecarRoundTrip: keys that would break the tab-separated format are quoted and come back
// intact; a file that is not a sidecar is refused by name.
func TestSidecarRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), SidecarName)
	sw, err := CreateSidecar(path, "worker=1/2 run=r1")
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{`["paris", "u1"]`, "[\"tab\there\"]", "\"quoted\"", "[\"new\nline\"]", ""}
	at := time.Unix(0, 1_733_000_000_123_456_789)
	for i, k := range keys {
		if i%2 == 0 {
			sw.Acked("t", []byte(k), at)
		} else {
			sw.Received("", []byte(k), at)
		}
		if err := sw.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Close(); err != nil {
		t.Fatal(err)
	}
	var got []SidecarRecord
	about, err := ReadSidecar(path, func(r SidecarRecord) error { got = append(got, r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if about != "worker=1/2 run=r1" || len(got) != len(keys) {
		t.Fatalf("about %q, %d records; want the header and %d", about, len(got), len(keys))
	}
	for i, r := range got {
		wantKind, wantTable := byte('A'), "t"
		if i%2 == 1 {
			wantKind, wantTable = 'R', ""
		}
		if r.Key != keys[i] || r.Kind != wantKind || r.Table != wantTable || r.At != at.UnixNano() {
			t.Errorf("record %d = %+v, want %c %q %q %d", i, r, wantKind, wantTable, keys[i], at.UnixNano())
		}
	}
	if _, err := ReadSidecar(filepath.Join("testdata", "nonexistent.gz"), func(SidecarRecord) error { return nil }); err == nil {
		t.Error("a missing file read without error")
	}
}
