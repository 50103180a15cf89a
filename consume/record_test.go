package consume

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func rowValue(updated time.Time, logical int) []byte {
	return []byte(fmt.Sprintf(`{"after": {"a": 1}, "updated": "%d.%010d"}`, updated.UnixNano(), logical))
}

func resolvedValue(ts time.Time) []byte {
	return []byte(fmt.Sprintf(`{"resolved": "%d.0000000000"}`, ts.UnixNano()))
}

type fakeLedger map[string][]time.Time

func (l fakeLedger) Take(table string, key []byte) (time.Time, bool) {
	k := table + "/" + string(key)
	q := l[k]
	if len(q) == 0 {
		return time.Time{}, false
	}
	l[k] = q[1:]
	return q[0], true
}
func (l fakeLedger) Outstanding() int {
	n := 0
	for _, q := range l {
		n += len(q)
	}
	return n
}

func snap(r *recorder) Stats {
	var s Stats
	r.snapshot(&s)
	return s
}

func TestRecorderLatencies(t *testing.T) {
	tests := []struct {
		name        string
		offset      time.Duration
		tsOffset    time.Duration // the record timestamps' clock − the consumer's
		updatedAgo  time.Duration // receive − updated on the database clock
		tsAgo       time.Duration // receive − record timestamp
		tsType      kafka.TimestampType
		wantE2E     time.Duration
		wantC2K     time.Duration // 0: no split expected
		wantK2C     time.Duration
		wantNeg     int64
		wantTSTypes map[string]int64
	}{
		{name: "create time", updatedAgo: 250 * time.Millisecond, tsAgo: 50 * time.Millisecond, tsType: kafka.TimestampCreateTime,
			wantE2E: 250 * time.Millisecond, wantC2K: 200 * time.Millisecond, wantK2C: 50 * time.Millisecond, wantTSTypes: map[string]int64{"CreateTime": 1}},
		{name: "log append time", updatedAgo: 30 * time.Millisecond, tsAgo: 10 * time.Millisecond, tsType: kafka.TimestampLogAppendTime,
			wantE2E: 30 * time.Millisecond, wantC2K: 20 * time.Millisecond, wantK2C: 10 * time.Millisecond, wantTSTypes: map[string]int64{"LogAppendTime": 1}},
		{name: "no timestamp", updatedAgo: 30 * time.Millisecond, tsType: kafka.TimestampNotAvailable,
			wantE2E: 30 * time.Millisecond, wantTSTypes: map[string]int64{"NotAvailable": 1}},
		// The database clock runs 100 ms ahead: updated looks 100 ms younger than it is.
		{name: "clock offset", offset: 100 * time.Millisecond, updatedAgo: 150 * time.Millisecond, tsAgo: 20 * time.Millisecond, tsType: kafka.TimestampCreateTime,
			wantE2E: 250 * time.Millisecond, wantC2K: 230 * time.Millisecond, wantK2C: 20 * time.Millisecond, wantTSTypes: map[string]int64{"CreateTime": 1}},
		// CockroachDB stamps CreateTime on the database's clock, 100 ms ahead: the timestamp looks
		// 100 ms younger too, and the split must move it back onto the consumer's clock.
		{name: "record clock offset", offset: 100 * time.Millisecond, tsOffset: 100 * time.Millisecond, updatedAgo: 150 * time.Millisecond, tsAgo: -80 * time.Millisecond, tsType: kafka.TimestampCreateTime,
			wantE2E: 250 * time.Millisecond, wantC2K: 230 * time.Millisecond, wantK2C: 20 * time.Millisecond, wantTSTypes: map[string]int64{"CreateTime": 1}},
		{name: "negative clamped", updatedAgo: -5 * time.Millisecond, tsType: kafka.TimestampNotAvailable,
			wantE2E: time.Microsecond, wantNeg: 1, wantTSTypes: map[string]int64{"NotAvailable": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorder(t0, tt.offset, 2*time.Second, nil, nil, nil)
			r.tsOffsetNs = int64(tt.tsOffset)
			recv := t0.Add(500 * time.Millisecond)
			r.observe(&message{Topic: "vehicles", Key: []byte(`[1]`), Value: rowValue(recv.Add(-tt.updatedAgo), 0),
				Timestamp: recv.Add(-tt.tsAgo), TimestampType: tt.tsType, Received: recv})
			s := snap(r)
			o := s.Overall
			if o.Rows != 1 || o.E2ECommit.TotalCount() != 1 {
				t.Fatalf("rows %d, e2e count %d", o.Rows, o.E2ECommit.TotalCount())
			}
			near := func(what string, got int64, want time.Duration) {
				t.Helper()
				w := want.Microseconds()
				if d := got - w; d > w/500+1 || d < -(w/500+1) { // 3 significant figures
					t.Errorf("%s = %d µs, want %d µs", what, got, w)
				}
			}
			near("e2e_commit", o.E2ECommit.Max(), tt.wantE2E)
			if tt.wantC2K == 0 {
				if o.CommitToKafka.TotalCount() != 0 {
					t.Errorf("commit_to_kafka recorded without a timestamp")
				}
			} else {
				near("commit_to_kafka", o.CommitToKafka.Max(), tt.wantC2K)
				near("kafka_to_consumer", o.KafkaToConsumer.Max(), tt.wantK2C)
			}
			if o.NegativeE2E != tt.wantNeg {
				t.Errorf("NegativeE2E = %d, want %d", o.NegativeE2E, tt.wantNeg)
			}
			if fmt.Sprint(o.TimestampTypes) != fmt.Sprint(tt.wantTSTypes) {
				t.Errorf("TimestampTypes = %v, want %v", o.TimestampTypes, tt.wantTSTypes)
			}
		})
	}
}

func TestRecorderResolvedAndVerify(t *testing.T) {
	r := newRecorder(t0, 0, 2*time.Second, nil, nil, nil)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	row := func(part int32, key string, upd time.Time, recv time.Time) {
		r.observe(&message{Topic: "users", Partition: part, Key: []byte(key), Value: rowValue(upd, 0), Received: recv})
	}
	res := func(part int32, ts, recv time.Time) {
		r.observe(&message{Topic: "users", Partition: part, Value: resolvedValue(ts), Received: recv})
	}
	row(0, `["a"]`, at(100), at(110))
	row(0, `["a"]`, at(100), at(120)) // duplicate: counted, not timed
	res(0, at(200), at(230))          // lag 30 ms
	res(1, at(150), at(250))          // lag 100 ms
	row(0, `["b"]`, at(190), at(260)) // at/below resolved 200 on partition 0
	row(1, `["a"]`, at(300), at(310)) // key on a second partition
	row(0, `["a"]`, at(90), at(320))  // order violation
	res(0, at(180), at(330))          // resolved goes back
	r.observe(&message{Topic: "users", Value: []byte("garbage"), Received: at(340)})
	s := snap(r)
	// The order violation at 90 is also below partition 0's resolved 200: both count, as in cdctest.
	want := VerifyStats{Rows: 5, Keys: 2, Duplicates: 1, OrderViolations: 1, PartitionViolations: 1, ResolvedViolations: 2, ResolvedRegressions: 1}
	if s.Verify != want {
		t.Errorf("Verify = %+v, want %+v", s.Verify, want)
	}
	if got := s.Overall.E2ECommit.TotalCount(); got != 2 {
		t.Errorf("e2e_commit count = %d, want 2 (new versions only)", got)
	}
	if got := s.Overall.ResolvedLag.TotalCount(); got != 3 {
		t.Errorf("resolved_lag count = %d, want 3", got)
	}
	if len(s.Partitions) != 2 || s.Partitions[1].ResolvedLag.TotalCount() != 1 ||
		s.Partitions[1].ResolvedLag.ValueAtQuantile(50)/1000 != 100 || s.Partitions[0].LastResolved.WallNanos != at(200).UnixNano() {
		t.Errorf("partitions = %+v", s.Partitions)
	}
	if s.DecodeErrors != 1 || s.DecodeErrorsByReason["not_json"] != 1 || len(s.DecodeSamples) != 1 {
		t.Errorf("decode errors %d %v %v", s.DecodeErrors, s.DecodeErrorsByReason, s.DecodeSamples)
	}
}

func TestRecorderE2EAck(t *testing.T) {
	l := fakeLedger{"vehicles/[1]": {t0.Add(-40 * time.Millisecond), t0.Add(-10 * time.Millisecond)}}
	r := newRecorder(t0, 0, time.Second, l, func(topic string) string { return topic[len("cf_"):] }, nil)
	recv := t0.Add(60 * time.Millisecond)
	for i, lg := range []int{0, 0, 1} { // the second is a duplicate and must not take from the ledger
		r.observe(&message{Topic: "cf_vehicles", Key: []byte(`[1]`), Value: rowValue(t0, lg), Received: recv.Add(time.Duration(i) * time.Millisecond)})
	}
	h := snap(r).Overall.E2EAck
	if h.TotalCount() != 2 || h.Min()/1000 != 72 || h.Max()/1000 != 100 {
		t.Errorf("e2e_ack count %d min %d max %d", h.TotalCount(), h.Min(), h.Max())
	}
	if l.Outstanding() != 0 {
		t.Errorf("ledger still holds %d", l.Outstanding())
	}
}

// recvLedger is a ReceiveLedger that remembers the receive times it was given.
type recvLedger struct {
	fakeLedger
	got []time.Time
}

func (l *recvLedger) TakeReceived(table string, key []byte, received time.Time) (time.Time, bool) {
	l.got = append(l.got, received)
	return l.fakeLedger.Take(table, key)
}

// TestRecorderReceiveLedger: a ReceiveLedger gets each new row's stamped receive time, not the
// recorder's clock.
func TestRecorderReceiveLedger(t *testing.T) {
	l := &recvLedger{fakeLedger: fakeLedger{"vehicles/[1]": {t0.Add(-40 * time.Millisecond)}}}
	r := newRecorder(t0, 0, time.Second, l, nil, nil)
	var want []time.Time
	for i := range 2 {
		recv := t0.Add(time.Duration(60+i) * time.Millisecond)
		want = append(want, recv)
		r.observe(&message{Topic: "vehicles", Key: []byte(`[` + string(rune('1'+i)) + `]`), Value: rowValue(t0, 0), Received: recv})
	}
	if !slices.EqualFunc(l.got, want, time.Time.Equal) {
		t.Errorf("TakeReceived got receive times %v, want %v", l.got, want)
	}
	if h := snap(r).Overall.E2EAck; h.TotalCount() != 1 || h.Max()/1000 != 100 {
		t.Errorf("e2e_ack count %d max %d µs, want 1 of 100 ms", h.TotalCount(), h.Max())
	}
}

func TestRecorderIntervals(t *testing.T) {
	var got []Interval
	r := newRecorder(t0, 0, time.Second, nil, nil, func(iv Interval) { got = append(got, iv) })
	// Second 0: 100 rows with e2e 1..100 ms. Second 1: nothing. Second 2: a refresh, a resolved
	// message, an error; the run ends at 2.5 s.
	for i := 1; i <= 100; i++ {
		recv := t0.Add(time.Duration(i) * 5 * time.Millisecond)
		r.observe(&message{Topic: "t", Key: []byte("[" + strconv.Itoa(i) + "]"), Value: rowValue(recv.Add(-time.Duration(i)*time.Millisecond), 0), Received: recv})
	}
	r.noteRefresh(t0.Add(2100 * time.Millisecond))
	r.observe(&message{Topic: "t", Value: resolvedValue(t0.Add(1500 * time.Millisecond)), Received: t0.Add(2200 * time.Millisecond)})
	r.noteError(t0.Add(2300*time.Millisecond), "_TRANSPORT")
	r.flush(t0.Add(2500 * time.Millisecond))
	if len(got) != 3 {
		t.Fatalf("got %d intervals, want 3: %+v", len(got), got)
	}
	if iv := got[0]; iv.T != 0 || iv.Events != 100 || iv.E2EP50US/1000 != 50 || iv.E2EP99US/1000 != 99 || iv.E2EMaxUS/1000 != 100 || iv.Elapsed != time.Second {
		t.Errorf("second 0 = %+v", iv)
	}
	if iv := got[1]; iv.T != 1 || iv.Events != 0 || iv.E2EMaxUS != 0 || !iv.Start.Equal(t0.Add(time.Second)) {
		t.Errorf("second 1 = %+v", iv)
	}
	if iv := got[2]; iv.T != 2 || iv.Resolved != 1 || iv.TokenRefreshes != 1 || iv.Errors != 1 ||
		iv.ResolvedLagUS != 1_000_000 || iv.Elapsed != 500*time.Millisecond {
		t.Errorf("second 2 = %+v", iv)
	}
	if s := snap(r); len(s.Series) != 3 || s.Errors["_TRANSPORT"] != 1 || s.TokenRefreshes != 1 {
		t.Errorf("snapshot series %d errors %v refreshes %d", len(s.Series), s.Errors, s.TokenRefreshes)
	}
}

func TestRecorderRefreshImpact(t *testing.T) {
	r := newRecorder(t0, 0, 2*time.Second, nil, nil, nil)
	// One row every 100 ms for 20 s, e2e 5 ms; the ones within ±2 s of t0+10s are inside.
	for i := 0; i < 200; i++ {
		if i == 100 {
			r.noteRefresh(t0.Add(10 * time.Second))
		}
		recv := t0.Add(time.Duration(i)*100*time.Millisecond + 50*time.Millisecond)
		r.observe(&message{Topic: "t", Key: []byte("[" + strconv.Itoa(i) + "]"), Value: rowValue(recv.Add(-5*time.Millisecond), 0), Received: recv})
	}
	r.flush(t0.Add(20 * time.Second))
	s := snap(r)
	in, out := s.RefreshImpact.Inside.TotalCount(), s.RefreshImpact.Outside.TotalCount()
	if in != 40 || out != 160 {
		t.Errorf("inside %d outside %d, want 40 and 160", in, out)
	}
	if s.RefreshImpact.Window != 2*time.Second {
		t.Errorf("window %v", s.RefreshImpact.Window)
	}
}

// BenchmarkDecodeRecord measures the per-message hot path: Decode of a 450-byte vehicles
// message, verification, and recording into the histograms, rotating over 4096 keys with a new
// updated timestamp each time (every message is a new version). Must report 0 allocs/op.
func BenchmarkDecodeRecord(b *testing.B) {
	for _, ledger := range []bool{false, true} {
		b.Run(fmt.Sprintf("size=%dB/ledger=%v", len(vehiclesValue), ledger), func(b *testing.B) {
			var l Ledger
			if ledger {
				l = emptyLedger{}
			}
			r := newRecorder(time.Now(), 0, 2*time.Second, l, nil, nil)
			keys := make([][]byte, 4096)
			for i := range keys {
				keys[i] = []byte(fmt.Sprintf(`["paris", "2c28a231-8b1e-4e83-9bfa-%012d"]`, i))
			}
			val := []byte(vehiclesValue)
			pos := len(val) - len(`1681240149199419939.0000000001"}`)
			rec := message{Topic: "vehicles", Value: val, TimestampType: kafka.TimestampCreateTime}
			now := time.Now()
			base := now.Add(-50 * time.Millisecond).UnixNano()
			b.SetBytes(int64(len(val)))
			b.ReportAllocs()
			b.ResetTimer()
			putDigits(val[pos:pos+19], uint64(base))
			for i := 0; b.Loop(); i++ {
				incDigits(val[pos : pos+19])
				rec.Key = keys[i&4095]
				rec.Received = now
				rec.Timestamp = now
				r.observe(&rec)
			}
			b.StopTimer()
			var s Stats
			r.snapshot(&s)
			if s.Verify.OrderViolations != 0 || s.DecodeErrors != 0 || s.Overall.E2ECommit.TotalCount() != s.Overall.Rows {
				b.Fatalf("unexpected verdicts: %+v decode errors %d", s.Verify, s.DecodeErrors)
			}
		})
	}
}

// BenchmarkUnmarshal is the baseline: encoding/json into a struct that holds the same fields.
func BenchmarkUnmarshal(b *testing.B) {
	b.Run(fmt.Sprintf("size=%dB", len(vehiclesValue)), func(b *testing.B) {
		val := []byte(vehiclesValue)
		b.SetBytes(int64(len(val)))
		b.ReportAllocs()
		for b.Loop() {
			var m struct {
				After         json.RawMessage `json:"after"`
				Updated       string          `json:"updated"`
				MVCCTimestamp string          `json:"mvcc_timestamp"`
			}
			if err := json.Unmarshal(val, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

type emptyLedger struct{}

func (emptyLedger) Take(string, []byte) (time.Time, bool) { return time.Time{}, false }

// incDigits adds one to the decimal number in dst (the next nanosecond, cheaper than putDigits).
func incDigits(dst []byte) {
	for i := len(dst) - 1; i >= 0; i-- {
		if dst[i] != '9' {
			dst[i]++
			return
		}
		dst[i] = '0'
	}
}

func putDigits(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
}
