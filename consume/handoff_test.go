package consume

import (
	"fmt"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// st is a stamp whose wall clock agrees with the monotonic one.
func st(d time.Duration) stamp { return stamp{mono: d, wall: d} }

func kafkaRow(topic string, key string, offset int64, updated time.Time) *kafka.Message {
	return &kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &topic, Offset: kafka.Offset(offset)},
		Key:            []byte(key), Value: rowValue(updated, 0),
		Timestamp: updated, TimestampType: kafka.TimestampCreateTime,
	}
}

// TestHandoffBatches checks when the poll loop hands a batch over: when it is full, when its
// first message has waited batchAge, and at once for anything that is not a message.
func TestHandoffBatches(t *testing.T) {
	tests := []struct {
		name     string
		messages []time.Duration // event times of the messages added
		other    eventKind       // then one other event, unless evMessage
		want     []int           // sizes of the batches handed over
	}{
		{"below size and age", []time.Duration{0, time.Millisecond, 4 * time.Millisecond}, evMessage, nil},
		{"age", []time.Duration{time.Millisecond, 2 * time.Millisecond, time.Millisecond + batchAge}, evMessage, []int{3}},
		{"size", make([]time.Duration, batchSize+1), evMessage, []int{batchSize}},
		{"a refresh goes at once", []time.Duration{0}, evRefresh, []int{2}},
		{"an empty poll goes at once", nil, evTick, []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHandoff(t0)
			for i, at := range tt.messages {
				h.addMessage(kafkaRow("t", "[1]", int64(i), t0), st(at))
			}
			if tt.other != evMessage {
				h.add(tt.other, st(time.Second), "")
			}
			var got []int
			for len(h.full) > 0 {
				got = append(got, len((<-h.full).events))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("batches handed over %v, want %v", got, tt.want)
			}
		})
	}
}

// TestHandoffRecordsInOrder runs the recorder goroutine on more messages than the batches in
// flight hold, with a refresh, an error, an empty poll and a snapshot among them: everything is
// recorded once and in order (one key, each version newer: a reordering would be an order
// violation), and the snapshot sees exactly what was received before it. The wall clock is 50 ms
// ahead of the monotonic one: latencies follow the wall clock, the run's timeline the monotonic.
func TestHandoffRecordsInOrder(t *testing.T) {
	const n = 3*batchPool*batchSize + 7
	r := newRecorder(t0, 0, time.Second, nil, nil, nil)
	h := newHandoff(t0)
	go h.record(r, func(end time.Time) Stats {
		var s Stats
		r.snapshot(&s)
		s.End = end
		return s
	})
	req := make(chan Stats, 1)
	for i := range n {
		mono := time.Duration(i) * 10 * time.Microsecond
		at := stamp{mono: mono, wall: mono + 50*time.Millisecond}
		h.addMessage(kafkaRow("t", "[1]", int64(i), t0.Add(at.wall-time.Millisecond)), at)
		switch i {
		case 100:
			h.add(evRefresh, at, "")
		case 200:
			h.add(evError, at, "_TRANSPORT")
		case 300:
			h.add(evTick, at, "")
		case 500:
			h.snapshot(req, at)
		}
	}
	mid := <-req
	h.close()
	s := snap(r)
	if mid.Overall.Rows != 501 || !mid.End.Equal(t0.Add(5000*time.Microsecond)) {
		t.Errorf("snapshot after 501 messages: rows %d at %v", mid.Overall.Rows, mid.End.Sub(t0))
	}
	if s.Overall.Rows != n || s.Verify.OrderViolations != 0 || s.Verify.Duplicates != 0 || s.Overall.E2ECommit.TotalCount() != n {
		t.Errorf("rows %d, verify %+v, e2e count %d; want %d rows in order", s.Overall.Rows, s.Verify, s.Overall.E2ECommit.TotalCount(), n)
	}
	if s.TokenRefreshes != 1 || s.Errors["_TRANSPORT"] != 1 {
		t.Errorf("refreshes %d, errors %v", s.TokenRefreshes, s.Errors)
	}
	if p50 := s.Overall.E2ECommit.ValueAtQuantile(50); p50 < 999 || p50 > 1001 {
		t.Errorf("e2e_commit p50 %d µs, want 1000 (wall-clock receive stamps kept through the handoff)", p50)
	}
	if got := len(h.free); got != batchPool-1 {
		t.Errorf("%d batches back in the free list, want %d", got, batchPool-1)
	}
}

// BenchmarkHandoffRecord measures the recorder goroutine's work per message as Run feeds it:
// batches of 450-byte vehicles rows over 100,000 keys (the verifier's table outgrows the CPU
// caches, as in make bench's pre-filled topic), every message a new version.
func BenchmarkHandoffRecord(b *testing.B) {
	const keys = 100_000
	r := newRecorder(time.Now(), 0, 2*time.Second, nil, nil, nil)
	h := newHandoff(time.Now())
	topic := "vehicles"
	bt := &batch{events: make([]event, batchSize)}
	msgs := make([]kafka.Message, batchSize)
	pos := len(vehiclesValue) - len(`1681240149199419939.0000000001"}`)
	base := uint64(time.Now().Add(-50 * time.Millisecond).UnixNano())
	for i := range msgs {
		msgs[i] = kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic}, Value: []byte(vehiclesValue),
			Timestamp: time.Now(), TimestampType: kafka.TimestampCreateTime}
		putDigits(msgs[i].Value[pos:pos+19], base+uint64(i))
	}
	keyOf := make([][]byte, keys)
	for i := range keyOf {
		keyOf[i] = []byte(fmt.Sprintf(`["paris", "2c28a231-8b1e-4e83-9bfa-%012d"]`, i))
	}
	b.SetBytes(int64(len(vehiclesValue)))
	b.ReportAllocs()
	k := 0
	for b.Loop() {
		if k%batchSize == 0 && k > 0 {
			h.recordBatch(r, bt)
		}
		m := &msgs[k%batchSize]
		for range batchSize / 64 { // the next version, newer than any in the batch
			incDigits(m.Value[pos : pos+19])
		}
		m.Key = keyOf[k%keys]
		bt.events[k%batchSize] = event{at: st(time.Duration(k) * time.Microsecond), m: m}
		k++
	}
	if s := snap(r); s.Verify.OrderViolations != 0 || s.DecodeErrors != 0 {
		b.Fatalf("verify %+v, decode errors %d", s.Verify, s.DecodeErrors)
	}
}

// TestStamperFollowsWallClock: receive stamps follow the wall clock even when it runs 0.5% fast
// against the monotonic clock and is stepped 20 ms forward then 7 ms back (both seen on VMs):
// every stamp is within the drift of one anchorEvery (plus a step's first anchorEvery) of the
// wall clock, where extrapolating the monotonic clock from the start is off by 63 ms after 10 s.
func TestStamperFollowsWallClock(t *testing.T) {
	var mono time.Duration
	wallAt := func(m time.Duration) time.Duration {
		w := m + m/200 // 0.5% fast
		if m >= 3*time.Second {
			w += 20 * time.Millisecond
		}
		if m >= 6*time.Second {
			w -= 7 * time.Millisecond
		}
		return w
	}
	s := newStamper(t0)
	s.mono = func() time.Duration { return mono }
	s.wall = func() time.Time { return t0.Add(wallAt(mono)) }
	var worst, worstStep time.Duration
	for mono = 0; mono <= 10*time.Second; mono += 7 * time.Microsecond {
		got := s.now()
		if got.mono != mono {
			t.Fatalf("monotonic stamp %v, want %v", got.mono, mono)
		}
		err := got.wall - wallAt(mono)
		if err < 0 {
			err = -err
		}
		nearStep := (mono >= 3*time.Second && mono < 3*time.Second+anchorEvery) || (mono >= 6*time.Second && mono < 6*time.Second+anchorEvery)
		if nearStep {
			worstStep = max(worstStep, err)
		} else {
			worst = max(worst, err)
		}
		if at := s.wallNs(got); at != t0.Add(got.wall).UnixNano() {
			t.Fatalf("wallNs(%v) = %v, want base + %v", got, at, got.wall)
		}
	}
	if limit := anchorEvery / 200; worst > limit {
		t.Errorf("stamps up to %v from the wall clock, want ≤ %v (0.5%% of anchorEvery)", worst, limit)
	}
	if worstStep > 20*time.Millisecond+anchorEvery {
		t.Errorf("within anchorEvery of a step: %v off, want at most the step", worstStep)
	}
}
