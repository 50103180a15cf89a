package consume

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Consumer consumes changefeed topics over SASL/OAUTHBEARER and measures them. Create it with
// New, call Run once, read Stats at any time (from any goroutine), then Close.
type Consumer struct {
	cfg       config
	kc        *kafka.Consumer
	refresher *TokenRefresher
	rec       *recorder
	topics    []string
	assigned  []kafka.TopicPartition
	asgMu     sync.Mutex                      // guards assigned (the group changes it while Run polls)
	groupFrom map[topicPartition]kafka.Offset // with GroupID: the start offset of each partition, taken in New

	snapReq chan chan Stats
	mu      sync.Mutex // guards running, ran; held by Stats when reading the recorder directly
	running bool
	ran     bool
	end     time.Time
	runDone chan struct{}
}

// DefaultProperties returns the librdkafka properties New sets unless Property overrides them
// (a fresh map each call). librdkafka queues up to 64 MB of fetched messages
// (queued.max.messages.kbytes) and, once over that, postpones the next fetch by
// fetch.queue.backoff.ms (1 s): a consumer that falls behind for a moment would add a second of
// latency. 16 MB is still ~0.3 s of 450-byte rows at 100k/s. Peak RSS and throughput with these
// defaults are in bench/RESULTS.md (make bench).
func DefaultProperties() map[string]string {
	return map[string]string{"queued.max.messages.kbytes": "16384", "fetch.queue.backoff.ms": "10"}
}

// New checks the options, creates the librdkafka consumer, hands it its first token (fetched in
// a goroutine while New polls), resolves the topics and assigns every partition at the start
// position (or subscribes, with GroupID). ctx bounds the setup and the first token fetch; so does
// SetupTimeout.
func New(ctx context.Context, opts ...Opt) (*Consumer, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	group := cfg.groupID
	if group == "" {
		// librdkafka's consumer needs a group.id even when partitions are assigned directly;
		// this one never joins (no Subscribe) and never commits.
		var b [6]byte
		_, _ = rand.Read(b[:])
		group = "cfbench-consume-" + hex.EncodeToString(b[:])
	}
	cm := kafka.ConfigMap{
		"bootstrap.servers": cfg.brokers,
		"security.protocol": cfg.securityProtocol,
		"sasl.mechanisms":   "OAUTHBEARER",
		"group.id":          group,
		"auto.offset.reset": "latest",
	}
	if cfg.start == StartBeginning {
		cm["auto.offset.reset"] = "earliest"
	}
	if cfg.groupID == "" {
		cm["enable.auto.commit"] = false
	}
	for k, v := range DefaultProperties() {
		cm[k] = v
	}
	for k, v := range cfg.props {
		cm[k] = v
	}
	// librdkafka's own log lines go to the Logger instead of stderr.
	cm["go.logs.channel.enable"] = true
	kc, err := kafka.NewConsumer(&cm)
	if err != nil {
		return nil, fmt.Errorf("creating the Kafka consumer for %s: %w", cfg.brokers, err)
	}
	go forwardLogs(kc.Logs(), cfg.log)
	c := &Consumer{
		cfg: cfg, kc: kc,
		refresher: NewTokenRefresher(kc, cfg.token, cfg.principal, cfg.log),
		rec:       newRecorder(time.Now(), cfg.clockOffset, cfg.refreshWindow, cfg.ledger, cfg.tableOf, cfg.onInterval),
		snapReq:   make(chan chan Stats),
		runDone:   make(chan struct{}),
	}
	c.rec.tsOffsetNs = int64(cfg.tsOffset)
	c.rec.lag = c.lagMsgs
	if err := c.setup(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Consumer) setup(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.setupTimeout)
	defer cancel()
	if err := c.waitForToken(ctx); err != nil {
		return err
	}
	topics, parts, err := c.resolveTopics(ctx)
	if err != nil {
		return err
	}
	c.topics = topics
	if c.cfg.groupID != "" {
		// The start offsets (the end resolved to explicit offsets, see startOffsets) are taken
		// now, before subscribing: a partition the group assigns starts at its committed offset
		// or here, whichever is later (see rebalanced), never at a "latest" resolved later.
		tps, err := c.startOffsets(ctx, parts)
		if err != nil {
			return err
		}
		c.groupFrom = make(map[topicPartition]kafka.Offset, len(tps))
		for _, tp := range tps {
			c.groupFrom[topicPartition{*tp.Topic, tp.Partition}] = tp.Offset
		}
		if err := c.kc.SubscribeTopics(topics, c.rebalanced); err != nil {
			return fmt.Errorf("subscribing group %s to %s: %w", c.cfg.groupID, strings.Join(topics, ","), err)
		}
		return nil
	}
	tps, err := c.startOffsets(ctx, parts)
	if err != nil {
		return err
	}
	if err := c.kc.Assign(tps); err != nil {
		return fmt.Errorf("assigning %d partitions of %s: %w", len(tps), strings.Join(topics, ","), err)
	}
	c.setAssigned(tps)
	return nil
}

// waitForToken polls until the first token has been handed to librdkafka: metadata requests
// block until the client can authenticate, and nothing answers refresh events while they do.
func (c *Consumer) waitForToken(ctx context.Context) error {
	for {
		select {
		case <-c.refresher.FirstToken():
			return nil
		default:
		}
		if ctx.Err() != nil {
			st := c.refresher.Stats()
			if n := len(st.Events); n > 0 && !st.Events[n-1].OK {
				return fmt.Errorf("no OAUTHBEARER token for %s: %w (last failure: %s)", c.cfg.brokers, ctx.Err(), st.Events[n-1].Error)
			}
			return fmt.Errorf("no OAUTHBEARER token for %s: %w", c.cfg.brokers, ctx.Err())
		}
		ev := c.kc.Poll(50)
		now := time.Now()
		switch e := ev.(type) {
		case kafka.OAuthBearerTokenRefresh:
			c.rec.noteRefresh(now)
			c.refresher.Refresh(ctx)
		case kafka.Error:
			c.rec.noteError(now, e.Code().String())
			if e.IsFatal() {
				return fmt.Errorf("Kafka consumer for %s: %w", c.cfg.brokers, e)
			}
		}
	}
}

// metadataRetry is how long New keeps asking for metadata while a topic is missing or has no
// leader yet (a topic created a moment ago may not be in every broker's cache).
const metadataRetry = 5 * time.Second

func (c *Consumer) resolveTopics(ctx context.Context) ([]string, map[string][]int32, error) {
	until := time.Now().Add(metadataRetry)
	for {
		topics, parts, err := c.resolveTopicsOnce(ctx)
		if err == nil || time.Now().After(until) || ctx.Err() != nil {
			return topics, parts, err
		}
		select {
		case <-ctx.Done():
			return nil, nil, err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// metadataTimeout bounds one metadata request, so an unreachable broker is reported within
// seconds rather than at the end of the setup timeout.
const metadataTimeout = 5 * time.Second

func (c *Consumer) resolveTopicsOnce(ctx context.Context) ([]string, map[string][]int32, error) {
	timeoutMs := int(min(time.Until(deadline(ctx)), metadataTimeout).Milliseconds())
	md, err := c.kc.GetMetadata(nil, true, max(timeoutMs, 1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading topic metadata from %s: %w: is Kafka running there, and does that listener speak %s?",
			c.cfg.brokers, err, c.cfg.securityProtocol)
	}
	parts := map[string][]int32{}
	var topics []string
	add := func(tm kafka.TopicMetadata) error {
		if tm.Error.Code() != kafka.ErrNoError {
			return fmt.Errorf("topic %s: %w", tm.Topic, tm.Error)
		}
		for _, p := range tm.Partitions {
			parts[tm.Topic] = append(parts[tm.Topic], p.ID)
		}
		slices.Sort(parts[tm.Topic])
		topics = append(topics, tm.Topic)
		return nil
	}
	if c.cfg.topicPrefix != "" {
		for name, tm := range md.Topics {
			if strings.HasPrefix(name, c.cfg.topicPrefix) && !strings.HasPrefix(name, "__") {
				if err := add(tm); err != nil {
					return nil, nil, err
				}
			}
		}
		if len(topics) == 0 {
			return nil, nil, fmt.Errorf("%w: no topic on %s starts with %q", ErrTopicNotFound, c.cfg.brokers, c.cfg.topicPrefix)
		}
	} else {
		for _, name := range c.cfg.topics {
			tm, ok := md.Topics[name]
			if !ok {
				return nil, nil, fmt.Errorf("topic %s: %w on %s", name, ErrTopicNotFound, c.cfg.brokers)
			}
			if err := add(tm); err != nil {
				return nil, nil, err
			}
		}
	}
	slices.Sort(topics)
	return topics, parts, nil
}

func deadline(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(30 * time.Second)
}

// startOffsets builds the assignment for the configured start position.
func (c *Consumer) startOffsets(ctx context.Context, parts map[string][]int32) ([]kafka.TopicPartition, error) {
	var tps []kafka.TopicPartition
	for _, t := range slices.Sorted(func(yield func(string) bool) {
		for t := range parts {
			if !yield(t) {
				return
			}
		}
	}) {
		for _, p := range parts[t] {
			tps = append(tps, kafka.TopicPartition{Topic: &t, Partition: p, Offset: kafka.OffsetEnd})
		}
	}
	switch c.cfg.start {
	case StartEnd:
		// Resolve "the end" now, to explicit offsets: librdkafka resolves OffsetEnd only at its
		// first fetch, and a message produced before that (the load starts as soon as New
		// returns) would be skipped and count as missing.
		for i := range tps {
			high, err := c.endOffset(ctx, *tps[i].Topic, tps[i].Partition)
			if err != nil {
				return nil, fmt.Errorf("reading the end offset of %s[%d]: %w", *tps[i].Topic, tps[i].Partition, err)
			}
			tps[i].Offset = kafka.Offset(high)
		}
	case StartBeginning:
		for i := range tps {
			tps[i].Offset = kafka.OffsetBeginning
		}
	case StartOffsets:
		for t, m := range c.cfg.startOffsets {
			for p := range m {
				if !slices.Contains(parts[t], p) {
					return nil, fmt.Errorf("start offsets: %s[%d]: no such topic partition among the consumed ones", t, p)
				}
			}
		}
		for i := range tps {
			if off, ok := c.cfg.startOffsets[*tps[i].Topic][tps[i].Partition]; ok {
				tps[i].Offset = kafka.Offset(off)
			}
		}
	case StartTime:
		q := slices.Clone(tps)
		for i := range q {
			q[i].Offset = kafka.Offset(c.cfg.startTime.UnixMilli())
		}
		timeoutMs := int(time.Until(deadline(ctx)).Milliseconds())
		res, err := c.kc.OffsetsForTimes(q, max(timeoutMs, 1))
		if err != nil {
			return nil, fmt.Errorf("looking up offsets for %s: %w", c.cfg.startTime.Format(time.RFC3339), err)
		}
		for i, r := range res {
			if r.Error != nil {
				return nil, fmt.Errorf("looking up offsets for %s in %s[%d]: %w", c.cfg.startTime.Format(time.RFC3339), *r.Topic, r.Partition, r.Error)
			}
			if r.Offset >= 0 {
				tps[i].Offset = r.Offset
			} // -1: no message at or after the time: start at the end
		}
	}
	return tps, nil
}

// endOffset returns the high watermark of a partition. A topic created a moment ago (pgfeed
// creates its topics as it starts) may not have a partition leader yet: that is retried until
// ctx's deadline.
func (c *Consumer) endOffset(ctx context.Context, topic string, partition int32) (int64, error) {
	for {
		timeoutMs := int(time.Until(deadline(ctx)).Milliseconds())
		_, high, err := c.kc.QueryWatermarkOffsets(topic, partition, max(timeoutMs, 1))
		var kerr kafka.Error
		notReady := errors.As(err, &kerr) && (kerr.Code() == kafka.ErrNotLeaderForPartition || kerr.Code() == kafka.ErrLeaderNotAvailable)
		if !notReady || time.Until(deadline(ctx)) < 200*time.Millisecond {
			return high, err
		}
		select {
		case <-ctx.Done():
			return high, err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Topics returns the topics being consumed, sorted.
func (c *Consumer) Topics() []string { return slices.Clone(c.topics) }

// Assignment returns the partitions assigned at their start offsets; with a group, the
// partitions the group assigns this consumer now (nil before the first assignment).
func (c *Consumer) Assignment() []kafka.TopicPartition {
	c.asgMu.Lock()
	defer c.asgMu.Unlock()
	return slices.Clone(c.assigned)
}

// lagMsgs returns the number of messages in the partitions assigned now that Run has not polled
// yet: per partition, the high watermark librdkafka cached from its last fetch response (no
// request to the broker) minus the position (the offset after the last message polled; before
// any, the start offset: for "beginning", the low watermark when librdkafka has it, else the
// partition is left out). Messages librdkafka has fetched but Run has not polled count as lag.
// It returns -1 when no partition could be counted. While librdkafka's queue is full it stops
// fetching, so the watermark ages and the lag is underestimated by what arrived since. The
// recorder calls it as each second closes (on the recorder goroutine while Run goes; on New's
// or Run's goroutine before and after), never after Close: one cgo call for the positions and
// one per partition.
func (c *Consumer) lagMsgs() int64 {
	parts := c.Assignment() // start offsets; the group's assignment as of the last rebalance
	if len(parts) == 0 {
		return -1
	}
	pos, err := c.kc.Position(parts)
	if err != nil || len(pos) != len(parts) {
		return -1
	}
	var lag int64
	known := false
	for i, p := range pos {
		if p.Topic == nil {
			continue
		}
		lo, hi, err := c.kc.GetWatermarkOffsets(*p.Topic, p.Partition)
		if err != nil || hi < 0 {
			continue
		}
		at := int64(p.Offset)
		if at < 0 { // nothing polled from it yet
			switch start := parts[i].Offset; {
			case start >= 0:
				at = int64(start)
			case start == kafka.OffsetEnd:
				at = hi
			case start == kafka.OffsetBeginning && lo >= 0:
				at = lo
			default:
				continue // not known
			}
		}
		known = true
		lag += max(0, hi-at)
	}
	if !known {
		return -1
	}
	return lag
}

func (c *Consumer) setAssigned(tps []kafka.TopicPartition) {
	c.asgMu.Lock()
	c.assigned = tps
	c.asgMu.Unlock()
}

// ErrInvalidOptions wraps every error New returns for options that do not validate.
var ErrInvalidOptions = errors.New("invalid consumer options")

// ErrStopped is returned by Run when it is called a second time.
var ErrStopped = errors.New("consume: Run already called")

// ErrTopicNotFound is wrapped by New's error when a topic named by Topics is not on the cluster,
// or no topic starts with TopicPrefix (the changefeed may not have written to it yet).
var ErrTopicNotFound = errors.New("not found")

// Run consumes until ctx is done or a stop condition (StopAfter, StopAfterMessages) is met, and
// returns nil in those cases. Transient errors (broker down, authentication failed while the
// token is refreshed) are counted in Stats.Errors and consumption goes on; a fatal librdkafka
// error ends Run with it. The receive time of each message is stamped right after Poll returns;
// the message is then decoded and recorded on a second goroutine, fed in batches (handoff.go).
func (c *Consumer) Run(ctx context.Context) error {
	c.mu.Lock()
	if c.ran {
		c.mu.Unlock()
		return ErrStopped
	}
	c.ran, c.running = true, true
	start := time.Now()
	c.rec.restart(start)
	c.mu.Unlock()

	var stopAt time.Time
	if c.cfg.stopAfter > 0 {
		stopAt = start.Add(c.cfg.stopAfter)
	}
	pollMs := int(c.cfg.pollTimeout.Milliseconds())
	var n int64
	var runErr error
	h := newHandoff(start)
	go h.record(c.rec, c.snapshotLocked)
	stopIn := time.Duration(1<<63 - 1) // StopAfter as an event time
	if c.cfg.stopAfter > 0 {
		stopIn = c.cfg.stopAfter
	}
	for ctx.Err() == nil {
		timeout := pollMs
		if h.pending() {
			timeout = 0 // do not wait: if nothing more is queued, the empty Poll hands the batch over
		}
		ev := c.kc.Poll(timeout)
		now := h.now() // the receive time: before any queueing in Go
		switch e := ev.(type) {
		case *kafka.Message:
			if e.TopicPartition.Error != nil {
				h.add(evError, now, errClass(e.TopicPartition.Error))
				break
			}
			h.addMessage(e, now)
			n++
		case kafka.OAuthBearerTokenRefresh:
			h.add(evRefresh, now, "")
			c.refresher.Refresh(ctx)
		case kafka.Error:
			h.add(evError, now, e.Code().String())
			if e.IsFatal() {
				runErr = fmt.Errorf("Kafka consumer for %s: fatal error: %w", c.cfg.brokers, e)
			}
		case nil:
			h.add(evTick, now, "")
		}
		select {
		case req := <-c.snapReq:
			h.snapshot(req, now)
		default:
		}
		if runErr != nil || (c.cfg.stopAfterN > 0 && n >= c.cfg.stopAfterN) || now.mono >= stopIn {
			break
		}
	}
	h.close()
	end := time.Now()
	if !stopAt.IsZero() && end.After(stopAt) && ctx.Err() == nil && runErr == nil && c.cfg.stopAfterN == 0 {
		end = stopAt
	}
	c.mu.Lock()
	c.rec.flush(end)
	c.end = end
	c.running = false
	c.mu.Unlock()
	close(c.runDone)
	return runErr
}

// forwardLogs sends librdkafka's log lines to log until the consumer is closed. librdkafka's
// syslog levels map to slog: ≤3 error, 4 warning, 5–6 info, 7 debug.
func forwardLogs(ch chan kafka.LogEvent, log *slog.Logger) {
	for ev := range ch {
		lvl := slog.LevelDebug
		switch {
		case ev.Level <= 3:
			lvl = slog.LevelError
		case ev.Level == 4:
			lvl = slog.LevelWarn
		case ev.Level <= 6:
			lvl = slog.LevelInfo
		}
		log.Log(context.Background(), lvl, ev.Message, "librdkafka", ev.Name, "tag", ev.Tag)
	}
}

func errClass(err error) string {
	var ke kafka.Error
	if errors.As(err, &ke) {
		return ke.Code().String()
	}
	return "other"
}

// Stats returns a snapshot; safe to call from any goroutine at any time. While Run is going,
// the poll loop passes the request on after its current Poll (so Stats waits up to
// PollTimeout), and the recorder answers once it has recorded every message received before.
func (c *Consumer) Stats() Stats {
	for {
		c.mu.Lock()
		if !c.running {
			end := c.end
			if end.IsZero() {
				end = time.Now()
			}
			s := c.snapshotLocked(end)
			c.mu.Unlock()
			return s
		}
		c.mu.Unlock()
		req := make(chan Stats, 1)
		select {
		case c.snapReq <- req:
			return <-req
		case <-c.runDone:
		}
	}
}

// snapshotLocked is called by the goroutine that owns the recorder.
func (c *Consumer) snapshotLocked(end time.Time) Stats {
	var s Stats
	c.rec.snapshot(&s)
	s.End = end
	s.Missing = -1
	if o, ok := c.cfg.ledger.(outstandinger); ok {
		s.Missing = int64(o.Outstanding())
	}
	s.Token = c.refresher.Stats()
	s.TokenSource = c.cfg.token
	return s
}

// Close waits for a token fetch in flight and closes the Kafka consumer. Call it after Run has
// returned.
func (c *Consumer) Close() error {
	c.refresher.Close()
	if c.cfg.groupID != "" {
		c.leaveGroup()
	}
	if err := c.kc.Close(); err != nil {
		return fmt.Errorf("closing the Kafka consumer: %w", err)
	}
	return nil
}
