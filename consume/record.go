package consume

import (
	"hash/maphash"
	"slices"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Histogram geometry shared by every latency in cfbench: microseconds, 1 µs .. 1 h, 3
// significant figures. Values outside the range are clamped into it.
const (
	HistMinUS   = 1
	HistMaxUS   = 3_600_000_000
	HistSigFigs = 3
)

// NewHistogram returns an empty latency histogram with cfbench's geometry (µs, 1 µs..1 h, 3 sig figs).
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(HistMinUS, HistMaxUS, HistSigFigs)
}

// recordUS records d (nanoseconds) in microseconds, clamped to [HistMinUS, HistMaxUS]. It
// returns false when the value was below the range (negative or zero latency, a clock problem).
func recordUS(h *hdrhistogram.Histogram, ns int64) bool {
	us := ns / 1000
	ok := us >= HistMinUS
	if !ok {
		us = HistMinUS
	} else if us > HistMaxUS {
		us = HistMaxUS
	}
	_ = h.RecordValue(us) // in range: never fails
	return ok
}

// message is one consumed Kafka record as the recorder sees it. The consumer fills it from a
// kafka.Message; tests and benchmarks fill it directly.
type message struct {
	Topic         string
	Partition     int32
	Offset        int64
	Key, Value    []byte
	Timestamp     time.Time           // the Kafka record timestamp (millisecond precision)
	TimestampType kafka.TimestampType // CreateTime (producer clock) or LogAppendTime (broker clock)
	Received      time.Time           // stamped when the message left librdkafka, on the run's timeline
	// ReceivedWallNs is the same moment read from the wall clock (Unix ns), what latencies
	// compare with the database's and the writers' timestamps; 0: Received's wall time.
	ReceivedWallNs int64
	keyHash        uint64 // rowHash of (topic, Key) if already computed, else 0
}

// Interval is one second of a run, one row of the live table and of the result's "series".
type Interval struct {
	T              int           // seconds since the start of the run; the row covers [T, T+1)
	Start          time.Time     // wall time of the start of the second
	Events         int64         // row messages (duplicates included)
	Resolved       int64         // resolved messages
	Bytes          int64         // key + value bytes of every message
	E2EP50US       int64         // e2e_commit median of the second, µs (0 when no rows)
	E2EP99US       int64         // e2e_commit 99th percentile, µs
	E2EMaxUS       int64         // e2e_commit maximum, µs
	ResolvedLagUS  int64         // end of the second − the oldest partition's last resolved timestamp, µs (0 before any)
	TokenRefreshes int64         // OAuthBearerTokenRefresh events received
	Errors         int64         // malformed messages + consumer errors
	Elapsed        time.Duration // always one second except for the last, partial row
	// LagMsgs is the number of messages in the partitions assigned to this consumer that it had
	// not polled yet as the second closed (Consumer's lag: high watermark − position); -1 when
	// unknown. A consumer that keeps up stays near the messages of one fetch.
	LagMsgs int64
	// E2ECommitHDR is the second's e2e_commit histogram (µs) in HdrHistogram's V2 compressed
	// encoding, base64 (hdrhistogram.Histogram.Encode), for interval logs; nil when no rows.
	E2ECommitHDR []byte
}

// TopicStats holds one topic's histograms (µs) and counters. Duplicates are counted but not timed.
type TopicStats struct {
	Rows            int64                   // row messages
	Resolved        int64                   // resolved messages
	Bytes           int64                   // key + value bytes of every message, malformed included
	Malformed       int64                   // messages Decode rejected
	NegativeE2E     int64                   // rows whose e2e_commit was below 1 µs (clock skew): recorded as 1 µs
	TimestampTypes  map[string]int64        // rows by Kafka timestamp type: "CreateTime", "LogAppendTime", "NotAvailable"
	E2ECommit       *hdrhistogram.Histogram // receive − updated (+ clock offset), new versions only
	CommitToKafka   *hdrhistogram.Histogram // record timestamp − updated, both moved onto this host's clock (ClockOffset, RecordTimestampOffset)
	KafkaToConsumer *hdrhistogram.Histogram // receive − record timestamp on this host's clock (ms-precision timestamp)
	E2EAck          *hdrhistogram.Histogram // receive − the writer's ack time from the ledger (same clock)
	ResolvedLag     *hdrhistogram.Histogram // receive − resolved (+ clock offset), every resolved message
}

// PartitionStats holds one partition's counters and resolved lag.
type PartitionStats struct {
	Topic        string
	Partition    int32
	Rows         int64
	Resolved     int64
	Bytes        int64
	LastOffset   int64                   // offset of the last message seen, -1 if none
	LastResolved HLC                     // the highest resolved timestamp seen (zero if none)
	ResolvedLag  *hdrhistogram.Histogram // µs; nil if the partition never got a resolved message
}

// RefreshImpact splits e2e_commit (µs) by distance to a token refresh: Inside holds rows received
// within ±Window of an OAuthBearerTokenRefresh event, Outside the rest. Rows are classified in
// 100 ms slots by the slot's midpoint; the last Window of a run is classified at Flush.
type RefreshImpact struct {
	Window  time.Duration
	Inside  *hdrhistogram.Histogram
	Outside *hdrhistogram.Histogram
}

// slotDur is the refresh-impact classification granularity.
const slotDur = 100 * time.Millisecond

type slot struct {
	idx int64 // slot number since the start; -1 = empty
	h   *hdrhistogram.Histogram
}

type topicRec struct {
	name  string
	table string
	salt  uint64
	parts []*partRec
	s     TopicStats
	ts    [3]int64 // by kafka.TimestampType
}

type partRec struct {
	topic        *topicRec
	id           int32
	rows, res    int64
	bytes        int64
	lastOffset   int64
	lastResolved HLC
	resolvedLag  *hdrhistogram.Histogram
}

// recorder turns records into histograms, counters, intervals and verification results. It is
// owned by one goroutine (the recorder, see handoff.go): no locks, no allocation per message once
// every topic, partition and key has been seen. See BenchmarkDecodeRecord.
type recorder struct {
	offsetNs   int64 // clock offset (database − consumer), ns, added to every e2e measured against a database timestamp
	tsOffsetNs int64 // clock offset (record timestamps' clock − consumer), ns; see RecordTimestampOffset
	window     time.Duration
	ledger     Ledger
	recvLedger ReceiveLedger // ledger, when it is one
	tableOf    func(topic string) string
	onInterval func(Interval)
	lag        func() int64 // the consumer's lag in messages, -1 unknown; nil: not measured (-1)

	firstRecv, lastRecv time.Time // receive times of the first and the last message

	seed    maphash.Seed
	touched uint64 // sum of the slots recordBatch touched, so that the reads are not optimised away
	env     Envelope
	topics  map[string]*topicRec
	last    *topicRec
	order   []*topicRec // topics in first-seen order
	ver     verifier
	bad     Malformed
	errs    map[string]int64

	start    time.Time
	startNs  int64
	nextTick time.Time
	cur      Interval
	curHist  *hdrhistogram.Histogram
	series   []Interval

	slots       []slot
	pendingSlot int64 // the oldest slot not yet classified
	refreshes   []time.Time
	refreshN    int64
	impact      RefreshImpact
}

func newRecorder(start time.Time, offset, window time.Duration, ledger Ledger, tableOf func(string) string, onInterval func(Interval)) *recorder {
	if tableOf == nil {
		tableOf = func(t string) string { return t }
	}
	r := &recorder{
		offsetNs: int64(offset), window: window, ledger: ledger, tableOf: tableOf, onInterval: onInterval,
		seed: maphash.MakeSeed(), topics: make(map[string]*topicRec), errs: make(map[string]int64),
		start: start, startNs: start.UnixNano(), nextTick: start.Add(time.Second),
		curHist: NewHistogram(),
		impact:  RefreshImpact{Window: window, Inside: NewHistogram(), Outside: NewHistogram()},
	}
	r.recvLedger, _ = ledger.(ReceiveLedger)
	r.cur.Start = start
	r.slots = make([]slot, int(window/slotDur)+3)
	for i := range r.slots {
		r.slots[i] = slot{idx: -1, h: NewHistogram()}
	}
	return r
}

func (r *recorder) topic(name string) *topicRec {
	if r.last != nil && r.last.name == name {
		return r.last
	}
	t := r.topics[name]
	if t == nil {
		table := r.tableOf(name)
		t = &topicRec{name: name, table: table, salt: maphash.String(r.seed, table) | 1, s: TopicStats{
			E2ECommit: NewHistogram(), CommitToKafka: NewHistogram(), KafkaToConsumer: NewHistogram(),
			E2EAck: NewHistogram(), ResolvedLag: NewHistogram(),
		}}
		r.topics[name] = t
		r.order = append(r.order, t)
	}
	r.last = t
	return t
}

func (t *topicRec) part(id int32) *partRec {
	if id < 0 {
		id = 0
	}
	if int(id) >= len(t.parts) {
		t.parts = append(t.parts, make([]*partRec, int(id)+1-len(t.parts))...)
	}
	p := t.parts[id]
	if p == nil {
		p = &partRec{topic: t, id: id, lastOffset: -1}
		t.parts[id] = p
	}
	return p
}

// observe decodes, verifies and records one message. It does not allocate once the topic,
// partition and key have been seen (BenchmarkDecodeRecord).
func (r *recorder) observe(rec *message) {
	r.roll(rec.Received)
	if r.firstRecv.IsZero() {
		r.firstRecv = rec.Received
	}
	r.lastRecv = rec.Received
	t := r.topic(rec.Topic)
	p := t.part(rec.Partition)
	n := int64(len(rec.Key) + len(rec.Value))
	t.s.Bytes += n
	p.bytes += n
	r.cur.Bytes += n
	p.lastOffset = rec.Offset
	env := &r.env
	if reason := Decode(rec.Key, rec.Value, env); reason != ReasonNone {
		r.bad.Note(reason, rec.Topic, rec.Partition, rec.Offset, rec.Value)
		t.s.Malformed++
		r.cur.Errors++
		return
	}
	recvNs := rec.ReceivedWallNs // for latencies
	if recvNs == 0 {
		recvNs = rec.Received.UnixNano()
	}
	if !env.HasUpdated { // resolved
		t.s.Resolved++
		p.res++
		r.cur.Resolved++
		lag := recvNs - env.Resolved.WallNanos + r.offsetNs
		if p.resolvedLag == nil {
			p.resolvedLag = NewHistogram()
		}
		recordUS(p.resolvedLag, lag)
		recordUS(t.s.ResolvedLag, lag)
		p.lastResolved = r.ver.noteResolved(p.lastResolved, env.Resolved)
		return
	}
	t.s.Rows++
	p.rows++
	r.cur.Events++
	h := rec.keyHash // env.Key is rec.Key
	if h == 0 {
		h = r.rowHash(t, env.Key)
	}
	if r.ver.noteRow(h, rec.Partition, env.Updated, p.lastResolved) != verdictNew {
		return
	}
	commitNs := env.Updated.WallNanos - r.offsetNs // the commit time on the consumer's clock
	e2e := recvNs - commitNs
	if !recordUS(t.s.E2ECommit, e2e) {
		t.s.NegativeE2E++
	}
	recordUS(r.curHist, e2e)
	idx := max(r.pendingSlot, (rec.Received.UnixNano()-r.startNs)/int64(slotDur)) // on the timeline; late rows join the oldest open slot
	s := &r.slots[idx%int64(len(r.slots))]
	s.idx = idx // roll has already classified any previous occupant
	recordUS(s.h, e2e)
	tt := rec.TimestampType
	if tt < 0 || int(tt) >= len(t.ts) {
		tt = kafka.TimestampNotAvailable
	}
	t.ts[tt]++
	if tt != kafka.TimestampNotAvailable && !rec.Timestamp.IsZero() {
		tsNs := rec.Timestamp.UnixNano() - r.tsOffsetNs // on the consumer's clock
		recordUS(t.s.CommitToKafka, tsNs-commitNs)
		recordUS(t.s.KafkaToConsumer, recvNs-tsNs)
	}
	if r.ledger != nil {
		var ack time.Time
		var ok bool
		if r.recvLedger != nil {
			ack, ok = r.recvLedger.TakeReceived(t.table, env.Key, time.Unix(0, recvNs))
		} else {
			ack, ok = r.ledger.Take(t.table, env.Key)
		}
		if ok {
			recordUS(t.s.E2EAck, recvNs-ack.UnixNano())
		}
	}
}

// rowHash is the verifier's hash of a row's key in topic t's table; never 0.
func (r *recorder) rowHash(t *topicRec, key []byte) uint64 {
	h := (maphash.Bytes(r.seed, key) ^ t.salt) * 0x9E3779B97F4A7C15
	if h == 0 {
		h = 1
	}
	return h
}

// noteRefresh records that librdkafka asked for a token at time at.
func (r *recorder) noteRefresh(at time.Time) {
	r.roll(at)
	r.refreshN++
	r.cur.TokenRefreshes++
	r.refreshes = append(r.refreshes, at)
}

// noteError counts a consumer error of the given class.
func (r *recorder) noteError(at time.Time, class string) {
	r.roll(at)
	r.errs[class]++
	r.cur.Errors++
}

// roll closes finished seconds and classifies refresh-impact slots older than the window. It is
// cheap when nothing is due (two comparisons).
func (r *recorder) roll(now time.Time) {
	nowNs := now.UnixNano()
	due := (nowNs - r.startNs - int64(r.window)) / int64(slotDur) // slots ending before now−window are final
	if due > r.pendingSlot {
		r.classify(due)
	}
	for !now.Before(r.nextTick) {
		r.closeInterval(r.nextTick)
	}
}

// classify merges every slot before slot number `upto` into Inside or Outside.
func (r *recorder) classify(upto int64) {
	if upto-r.pendingSlot > int64(len(r.slots)) {
		r.pendingSlot = upto - int64(len(r.slots)) // older slots were empty (they would have been flushed)
	}
	for ; r.pendingSlot < upto; r.pendingSlot++ {
		s := &r.slots[r.pendingSlot%int64(len(r.slots))]
		if s.idx != r.pendingSlot {
			continue
		}
		mid := r.start.Add(time.Duration(s.idx)*slotDur + slotDur/2)
		inside := false
		for _, at := range r.refreshes {
			if d := mid.Sub(at); d <= r.window && d >= -r.window {
				inside = true
				break
			}
		}
		if s.h.TotalCount() > 0 {
			if inside {
				r.impact.Inside.Merge(s.h)
			} else {
				r.impact.Outside.Merge(s.h)
			}
			s.h.Reset()
		}
		s.idx = -1
	}
	// Forget refreshes that can no longer matter.
	horizon := r.start.Add(time.Duration(r.pendingSlot)*slotDur - r.window)
	k := 0
	for k < len(r.refreshes) && r.refreshes[k].Before(horizon) {
		k++
	}
	if k > 0 {
		r.refreshes = append(r.refreshes[:0], r.refreshes[k:]...)
	}
}

// closeInterval finishes the current interval at end and starts the next one.
func (r *recorder) closeInterval(end time.Time) {
	iv := r.cur
	iv.Elapsed = end.Sub(iv.Start)
	if r.curHist.TotalCount() > 0 {
		iv.E2EP50US = r.curHist.ValueAtQuantile(50)
		iv.E2EP99US = r.curHist.ValueAtQuantile(99)
		iv.E2EMaxUS = r.curHist.Max()
		if enc, err := r.curHist.Encode(hdrhistogram.V2CompressedEncodingCookieBase); err == nil {
			iv.E2ECommitHDR = enc
		}
		r.curHist.Reset()
	}
	iv.ResolvedLagUS = r.resolvedLagAt(end)
	iv.LagMsgs = -1
	if r.lag != nil {
		iv.LagMsgs = r.lag()
	}
	r.series = append(r.series, iv)
	if r.onInterval != nil {
		r.onInterval(iv)
	}
	r.cur = Interval{T: iv.T + 1, Start: end}
	r.nextTick = end.Add(time.Second)
}

// resolvedLagAt returns at − the oldest last-resolved timestamp over all partitions that have
// one (+ clock offset), in µs; 0 if none has.
func (r *recorder) resolvedLagAt(at time.Time) int64 {
	var oldest int64
	found := false
	for _, t := range r.order {
		for _, p := range t.parts {
			if p != nil && !p.lastResolved.IsZero() && (!found || p.lastResolved.WallNanos < oldest) {
				oldest, found = p.lastResolved.WallNanos, true
			}
		}
	}
	if !found {
		return 0
	}
	return max(0, (at.UnixNano()-oldest+r.offsetNs)/1000)
}

// flush closes the last, partial interval at end and classifies every pending refresh-impact
// slot. After flush the recorder may keep recording.
func (r *recorder) flush(end time.Time) {
	r.roll(end)
	if end.After(r.cur.Start) && (r.cur.Events > 0 || r.cur.Resolved > 0 || r.cur.Errors > 0 || r.cur.TokenRefreshes > 0 || r.cur.Bytes > 0) {
		r.closeInterval(end)
		r.nextTick = r.cur.Start.Add(time.Second)
	}
	r.classify((end.UnixNano()-r.startNs)/int64(slotDur) + 1)
}

// snapshot copies everything the recorder knows. It allocates; call it at most every second.
func (r *recorder) snapshot(s *Stats) {
	s.Start = r.start
	s.FirstMessage, s.LastMessage = r.firstRecv, r.lastRecv
	s.Topics = make(map[string]TopicStats, len(r.order))
	s.Overall = TopicStats{
		TimestampTypes: map[string]int64{},
		E2ECommit:      NewHistogram(), CommitToKafka: NewHistogram(), KafkaToConsumer: NewHistogram(),
		E2EAck: NewHistogram(), ResolvedLag: NewHistogram(),
	}
	s.Partitions = s.Partitions[:0]
	o := &s.Overall
	for _, t := range r.order {
		ts := t.s
		ts.TimestampTypes = map[string]int64{}
		for i, c := range t.ts {
			if c > 0 {
				ts.TimestampTypes[kafka.TimestampType(i).String()] = c
				o.TimestampTypes[kafka.TimestampType(i).String()] += c
			}
		}
		ts.E2ECommit, ts.CommitToKafka, ts.KafkaToConsumer = t.s.E2ECommit.Clone(), t.s.CommitToKafka.Clone(), t.s.KafkaToConsumer.Clone()
		ts.E2EAck, ts.ResolvedLag = t.s.E2EAck.Clone(), t.s.ResolvedLag.Clone()
		s.Topics[t.name] = ts
		o.Rows += ts.Rows
		o.Resolved += ts.Resolved
		o.Bytes += ts.Bytes
		o.Malformed += ts.Malformed
		o.NegativeE2E += ts.NegativeE2E
		o.E2ECommit.Merge(ts.E2ECommit)
		o.CommitToKafka.Merge(ts.CommitToKafka)
		o.KafkaToConsumer.Merge(ts.KafkaToConsumer)
		o.E2EAck.Merge(ts.E2EAck)
		o.ResolvedLag.Merge(ts.ResolvedLag)
		for _, p := range t.parts {
			if p == nil {
				continue
			}
			ps := PartitionStats{Topic: t.name, Partition: p.id, Rows: p.rows, Resolved: p.res, Bytes: p.bytes,
				LastOffset: p.lastOffset, LastResolved: p.lastResolved}
			if p.resolvedLag != nil {
				ps.ResolvedLag = p.resolvedLag.Clone()
			}
			s.Partitions = append(s.Partitions, ps)
		}
	}
	s.Series = slices.Clone(r.series)
	s.Verify = r.ver.stats
	s.DecodeErrors = r.bad.Total()
	s.DecodeErrorsByReason = r.bad.ByReason()
	s.DecodeSamples = r.bad.Samples()
	s.Errors = make(map[string]int64, len(r.errs))
	for k, v := range r.errs {
		s.Errors[k] = v
	}
	s.TokenRefreshes = r.refreshN
	s.RefreshImpact = RefreshImpact{Window: r.window, Inside: r.impact.Inside.Clone(), Outside: r.impact.Outside.Clone()}
}

// restart moves the start of the run (intervals, refresh-impact slots) to start; what was
// recorded before (during New) stays.
func (r *recorder) restart(start time.Time) {
	r.start, r.startNs, r.nextTick = start, start.UnixNano(), start.Add(time.Second)
	r.cur = Interval{Start: start, Errors: r.cur.Errors, TokenRefreshes: r.cur.TokenRefreshes}
	r.series = r.series[:0]
	r.pendingSlot = 0
	for i := range r.slots {
		r.slots[i].idx = -1
		r.slots[i].h.Reset()
	}
}
