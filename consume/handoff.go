package consume

import (
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// The poll loop and the recorder run on two goroutines: the poll loop only polls librdkafka,
// stamps each message's receive time the moment Poll returns it, and appends it to a batch; the
// recorder goroutine decodes, verifies and records the batches in order. With librdkafka's own
// threads that is up to three busy threads, and the per-message cgo Poll (most of the poll
// loop's time) no longer waits for decoding and recording. A handful of batches cycle between
// the two goroutines, so nothing is allocated per message and a recorder that falls behind
// holds up the poll loop (at most batchPool × batchSize messages in flight), as before.
//
// A batch is handed over when it is full, when an event arrives batchAge or more after its
// first one, or as soon as librdkafka has nothing more queued (Run then polls without waiting
// while a batch is pending), so a message waits for the recorder only while more messages are
// arriving right behind it.
const (
	batchSize = 256                  // messages (and other events) per batch
	batchAge  = 5 * time.Millisecond // see above
	batchPool = 4                    // batches cycling between the goroutines
)

// eventKind says what a handed-over event is.
type eventKind uint8

const (
	evMessage eventKind = iota // m is a received message
	evRefresh                  // an OAuthBearerTokenRefresh
	evError                    // a consumer error of class
	evTick                     // nothing happened (an empty Poll)
)

// event is one thing the poll loop saw, in the order it saw it, stamped at (read right after
// Poll returned; see stamper).
type event struct {
	at    stamp
	m     *kafka.Message // evMessage
	hash  uint64         // evMessage: the row's key hash (recordBatch), 0 if not computed
	kind  eventKind
	class string // evError
}

// batch is a run of events from the poll loop. When snap is set, the recorder answers it with a
// snapshot taken at snapAt once the events are recorded.
type batch struct {
	events []event
	snap   chan Stats
	snapAt stamp
}

// anchorEvery is how often, in monotonic time, the stamper reads the wall clock again.
const anchorEvery = 100 * time.Microsecond

// stamp is when the poll loop saw an event, on both clocks, each as the time since the
// stamper's base: mono orders events and times the run (its seconds, StopAfter, batch age),
// wall is what latencies compare with the database's and the writers' timestamps.
type stamp struct {
	mono, wall time.Duration
}

// stamper reads stamps. The wall clock is read at most every anchorEvery of monotonic time;
// in between the monotonic time elapsed is added, so the two clocks need not agree for longer
// than that. Some VMs step the wall clock away from the monotonic one all the time (5 ms every
// second was seen: wall times extrapolated from the start of a run were 3 s early after 10
// minutes); NTP may step it once. Owned by the poll goroutine.
type stamper struct {
	baseWall   int64         // base's wall clock, Unix ns
	base       time.Time     // with its monotonic reading
	anchorMono time.Duration // monotonic time since base at the last wall-clock read
	anchorWall time.Duration // wall-clock time since base then
	// A test's clocks: the wall clock (else time.Now) and the monotonic time since base (else
	// time.Since(base)).
	wall func() time.Time
	mono func() time.Duration
}

func newStamper(base time.Time) stamper {
	return stamper{baseWall: base.UnixNano(), base: base, anchorMono: -anchorEvery}
}

// now returns the monotonic time since base and the wall-clock time since base, the latter
// within anchorEvery of the last wall-clock read.
func (s *stamper) now() stamp {
	var m time.Duration
	if s.mono != nil {
		m = s.mono()
	} else {
		m = time.Since(s.base)
	}
	if m-s.anchorMono < anchorEvery {
		return stamp{mono: m, wall: s.anchorWall + m - s.anchorMono}
	}
	var w time.Time
	if s.wall != nil {
		w = s.wall()
	} else {
		w = time.Now()
	}
	s.anchorMono, s.anchorWall = m, time.Duration(w.UnixNano()-s.baseWall)
	return stamp{mono: m, wall: s.anchorWall}
}

// time converts a stamp's monotonic part to a time.Time on the run's timeline (base plus the
// monotonic time: wall and monotonic readings).
func (s *stamper) time(at stamp) time.Time { return s.base.Add(at.mono) }

// wallNs converts a stamp's wall-clock part to Unix ns.
func (s *stamper) wallNs(at stamp) int64 { return s.baseWall + int64(at.wall) }

// handoff connects the poll loop (the send side) and the recorder goroutine (record).
type handoff struct {
	clock stamper       // reads the event stamps
	full  chan *batch   // poll loop → recorder
	free  chan *batch   // recorder → poll loop
	cur   *batch        // the batch the poll loop is filling
	done  chan struct{} // closed when the recorder goroutine has recorded everything
}

func newHandoff(base time.Time) *handoff {
	h := &handoff{clock: newStamper(base), full: make(chan *batch, batchPool), free: make(chan *batch, batchPool), done: make(chan struct{})}
	for range batchPool - 1 {
		h.free <- &batch{events: make([]event, 0, batchSize)}
	}
	h.cur = &batch{events: make([]event, 0, batchSize)}
	return h
}

// now stamps the current time. Poll goroutine only.
func (h *handoff) now() stamp { return h.clock.now() }

// time converts a stamp to a time on the run's timeline.
func (h *handoff) time(at stamp) time.Time { return h.clock.time(at) }

// pending reports whether the current batch holds events not yet handed over.
func (h *handoff) pending() bool { return len(h.cur.events) > 0 }

// add appends an event other than a message (class: an evError's class) and hands the batch
// over: refreshes, errors and empty polls are rare, and they may close a second or a refresh
// window, so the recorder sees them at once.
func (h *handoff) add(kind eventKind, at stamp, class string) {
	h.cur.events = append(h.cur.events, event{at: at, kind: kind, class: class})
	h.send()
}

// addMessage appends a received message and hands the batch over when it is full or its first
// message has waited batchAge.
func (h *handoff) addMessage(m *kafka.Message, at stamp) {
	b := h.cur
	b.events = append(b.events, event{at: at, m: m})
	if len(b.events) >= batchSize || at.mono-b.events[0].at.mono >= batchAge {
		h.send()
	}
}

// snapshot hands the current batch over with a snapshot request: req gets the Stats taken at
// `at` once everything received so far is recorded.
func (h *handoff) snapshot(req chan Stats, at stamp) {
	h.cur.snap, h.cur.snapAt = req, at
	h.send()
}

// send hands the current batch to the recorder (if it holds anything) and takes a free one,
// waiting for the recorder if every batch is in flight.
func (h *handoff) send() {
	if len(h.cur.events) == 0 && h.cur.snap == nil {
		return
	}
	h.full <- h.cur
	h.cur = <-h.free
}

// close hands over the last batch and waits until the recorder goroutine has recorded it.
func (h *handoff) close() {
	h.send()
	close(h.full)
	<-h.done
}

// record is the recorder goroutine: it records every batch in order and returns it to the free
// list. snapshot takes the Stats of a request.
func (h *handoff) record(r *recorder, snapshot func(end time.Time) Stats) {
	defer close(h.done)
	for b := range h.full {
		h.recordBatch(r, b)
		if b.snap != nil {
			b.snap <- snapshot(h.time(b.snapAt))
			b.snap = nil
		}
		b.events = b.events[:0]
		h.free <- b
	}
}

// recordBatch records the events of one batch, in order.
//
// Rows of many keys miss the CPU caches in the verifier's table, one cache miss per message in
// turn; so a first pass hashes every row's key and a second, tight one touches their slots, and
// the misses of the whole batch overlap (BenchmarkHandoffRecord).
func (h *handoff) recordBatch(r *recorder, b *batch) {
	for i := range b.events {
		if e := &b.events[i]; e.kind == evMessage && len(e.m.Key) > 0 && e.m.TopicPartition.Topic != nil {
			e.hash = r.rowHash(r.topic(*e.m.TopicPartition.Topic), e.m.Key)
		}
	}
	var sum uint64
	for i := range b.events {
		if h := b.events[i].hash; h != 0 {
			sum += r.ver.touch(h)
		}
	}
	r.touched += sum
	var rec message
	for i := range b.events {
		e := &b.events[i]
		at := h.time(e.at)
		switch e.kind {
		case evMessage:
			m := e.m
			rec = message{
				Partition: m.TopicPartition.Partition, Offset: int64(m.TopicPartition.Offset),
				Key: m.Key, Value: m.Value, Timestamp: m.Timestamp, TimestampType: m.TimestampType, Received: at,
				ReceivedWallNs: h.clock.wallNs(e.at), keyHash: e.hash,
			}
			if m.TopicPartition.Topic != nil {
				rec.Topic = *m.TopicPartition.Topic
			}
			r.observe(&rec)
			e.m = nil
		case evRefresh:
			r.noteRefresh(at)
		case evError:
			r.noteError(at, e.class)
		case evTick:
			r.roll(at)
		}
	}
}
