package consume_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cfbench/cfbench/consume"
	"github.com/cfbench/cfbench/internal/stacktest"
	"github.com/cfbench/cfbench/oauth"
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"golang.org/x/oauth2"
)

// newTopic creates a fresh topic on the stack's PLAINTEXT admin listener and deletes it when the
// test ends.
func newTopic(t *testing.T, s stacktest.Stack, partitions int) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "cfbench-consume-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")) + "-" + hex.EncodeToString(b[:])
	ac, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": s.KafkaAdminBrokers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ac.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := ac.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: name, NumPartitions: partitions, ReplicationFactor: 1}})
	if err != nil || res[0].Error.Code() != kafka.ErrNoError {
		t.Fatalf("creating topic %s: %v %v", name, err, res)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = ac.DeleteTopics(ctx, []string{name})
	})
	// Wait until every partition has a leader, so producing right away works.
	for end := time.Now().Add(10 * time.Second); ; {
		md, err := ac.GetMetadata(&name, false, 1000)
		if err == nil && len(md.Topics[name].Partitions) == partitions && md.Topics[name].Error.Code() == kafka.ErrNoError {
			ok := true
			for _, p := range md.Topics[name].Partitions {
				ok = ok && p.Leader >= 0 && p.Error.Code() == kafka.ErrNoError
			}
			if ok {
				break
			}
		}
		if time.Now().After(end) {
			t.Fatalf("topic %s has no leader after 10 s: %v", name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return name
}

// producer produces synchronously over the PLAINTEXT admin listener (CreateTime timestamps).
type producer struct {
	t *testing.T
	p *kafka.Producer
}

func newProducer(t *testing.T, s stacktest.Stack) *producer {
	t.Helper()
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": s.KafkaAdminBrokers, "linger.ms": 0})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return &producer{t: t, p: p}
}

func (p *producer) send(topic string, partition int32, key, value string) {
	p.t.Helper()
	dc := make(chan kafka.Event, 1)
	m := &kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: partition}, Value: []byte(value)}
	if key != "" {
		m.Key = []byte(key)
	}
	if err := p.p.Produce(m, dc); err != nil {
		p.t.Fatalf("produce: %v", err)
	}
	select {
	case ev := <-dc:
		if m := ev.(*kafka.Message); m.TopicPartition.Error != nil {
			p.t.Fatalf("delivery: %v", m.TopicPartition.Error)
		}
	case <-time.After(10 * time.Second):
		p.t.Fatal("delivery timed out")
	}
}

func hlc(t time.Time, logical int) string { return fmt.Sprintf("%d.%010d", t.UnixNano(), logical) }

func row(updated string) string {
	return `{"after": {"city": "paris", "id": "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f", "s": "a \"quoted\" {brace}"}, "updated": "` + updated + `"}`
}

func tokenSource(t testing.TB, s stacktest.Stack) *oauth.Source {
	t.Helper()
	src, err := oauth.New(oauth.Config{TokenURL: s.TokenURL, ClientID: s.ClientID,
		ClientSecret: stacktest.Secret(t, s.ClientSecretFile), Scopes: []string{"kafka"}, Audience: s.Audience})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// runConsumer starts Run in a goroutine and returns a function that waits for it.
func runConsumer(t *testing.T, ctx context.Context, c *consume.Consumer) func() {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	return func() {
		t.Helper()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

func newConsumer(t *testing.T, ctx context.Context, s stacktest.Stack, src consume.TokenSource, opts ...consume.Opt) *consume.Consumer {
	t.Helper()
	c, err := consume.New(ctx, append([]consume.Opt{consume.Brokers(s.KafkaBrokers), consume.Token(src)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestStackE2ECommit produces rows whose updated is D before the produce call; the consumer,
// authenticated with OAUTHBEARER, must record e2e_commit ≈ D and commit_to_kafka ≈ D.
func TestStackE2ECommit(t *testing.T) {
	s := stacktest.Require(t)
	topic := newTopic(t, s, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	const n = 50
	const d = 300 * time.Millisecond
	c := newConsumer(t, ctx, s, tokenSource(t, s), consume.Topics(topic), consume.StartAtBeginning(), consume.StopAfterMessages(n))
	wait := runConsumer(t, ctx, c)
	time.Sleep(time.Second) // let the fetcher connect before the first message
	p := newProducer(t, s)
	for i := range n {
		p.send(topic, 0, fmt.Sprintf(`["k%d"]`, i), row(hlc(time.Now().Add(-d), 0)))
		time.Sleep(10 * time.Millisecond)
	}
	wait()
	st := c.Stats()
	o := st.Overall
	if o.Rows != n || o.E2ECommit.TotalCount() != n || st.DecodeErrors != 0 || st.Verify.Duplicates != 0 {
		t.Fatalf("rows %d, e2e count %d, decode errors %d, verify %+v", o.Rows, o.E2ECommit.TotalCount(), st.DecodeErrors, st.Verify)
	}
	minUS, p50US, maxUS := o.E2ECommit.Min(), o.E2ECommit.ValueAtQuantile(50), o.E2ECommit.Max()
	t.Logf("e2e_commit min %d µs p50 %d µs max %d µs; commit_to_kafka p50 %d µs; kafka_to_consumer p50 %d µs",
		minUS, p50US, maxUS, o.CommitToKafka.ValueAtQuantile(50), o.KafkaToConsumer.ValueAtQuantile(50))
	dUS := d.Microseconds()
	// The record timestamp (CreateTime, ms precision) is taken by the producer right after the
	// test took updated = now − D, so commit_to_kafka must be D within a few ms.
	c2k, k2c := o.CommitToKafka.ValueAtQuantile(50), o.KafkaToConsumer.ValueAtQuantile(50)
	if c2k < dUS-1000 || c2k > dUS+5000 {
		t.Errorf("commit_to_kafka p50 %d µs, want %d µs ± a few ms", c2k, dUS)
	}
	// e2e_commit is D plus the delivery time, which is kafka_to_consumer: nothing is lost or
	// added between the parts (±2 ms for the millisecond record timestamp and the percentiles).
	if minUS < dUS-dUS/500 || p50US > c2k+k2c+2000 || p50US < c2k+k2c-2000 || p50US > dUS+100_000 {
		t.Errorf("e2e_commit min %d µs p50 %d µs; want ≥ D=%d µs and ≈ commit_to_kafka+kafka_to_consumer = %d µs", minUS, p50US, dUS, c2k+k2c)
	}
	if o.TimestampTypes["CreateTime"] != n {
		t.Errorf("timestamp types %v, want %d CreateTime", o.TimestampTypes, n)
	}
	if st.Token.Refreshes < 1 || len(st.Token.Events) < 1 || !st.Token.Events[0].OK {
		t.Errorf("token stats %+v", st.Token)
	}
	if len(st.Series) == 0 {
		t.Error("no per-second series")
	}
}

// shortLived reports every token as expiring after ttl, so librdkafka refreshes it at 80% of ttl.
type shortLived struct {
	src consume.TokenSource
	ttl time.Duration
}

func (s shortLived) Fetch(ctx context.Context) (*oauth2.Token, error) {
	tok, err := s.src.Fetch(ctx)
	if err != nil {
		return nil, err
	}
	cp := *tok
	cp.Expiry = time.Now().Add(s.ttl)
	return &cp, nil
}

// TestStackTokenRefresh runs 11 s with 4 s tokens: librdkafka asks again at 80% of the lifetime
// (about every 3.2 s, checked on a 1 s timer, so 3.2–4.2 s), so besides
// the first token at least two refreshes happen, each answered, timed and listed; no message is
// lost meanwhile.
func TestStackTokenRefresh(t *testing.T) {
	s := stacktest.Require(t)
	topic := newTopic(t, s, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	c := newConsumer(t, ctx, s, shortLived{src: tokenSource(t, s), ttl: 4 * time.Second},
		consume.Topics(topic), consume.StartAtBeginning(), consume.StopAfter(11*time.Second), consume.RefreshWindow(time.Second))
	wait := runConsumer(t, ctx, c)
	p := newProducer(t, s)
	sent := 0
	var lastRows int64
	lastStats := time.Now()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); sent++ {
		p.send(topic, 0, fmt.Sprintf(`["k%d"]`, sent), row(hlc(time.Now(), 0)))
		time.Sleep(50 * time.Millisecond)
		if time.Since(lastStats) > time.Second { // Stats while Run goes: served by the poll loop
			st := c.Stats()
			if st.Overall.Rows < lastRows || st.Overall.Rows > int64(sent+1) {
				t.Errorf("mid-run Stats: rows %d after %d, sent %d", st.Overall.Rows, lastRows, sent+1)
			}
			lastRows, lastStats = st.Overall.Rows, time.Now()
		}
	}
	wait()
	if lastRows == 0 {
		t.Error("mid-run Stats never saw a row")
	}
	st := c.Stats()
	t.Logf("token: %d requests, %d refreshes, %d failures; events %+v", st.Token.Requests, st.Token.Refreshes, st.Token.Failures, st.Token.Events)
	if st.Token.Refreshes < 3 || st.TokenRefreshes < 3 {
		t.Errorf("%d tokens handed over, %d refresh events; want ≥ 3 (first + 2 refreshes)", st.Token.Refreshes, st.TokenRefreshes)
	}
	for i, ev := range st.Token.Events {
		if !ev.OK || ev.Took <= 0 || ev.Expiry.IsZero() {
			t.Errorf("event %d: %+v", i, ev)
		}
	}
	if st.Overall.Rows != int64(sent) {
		t.Errorf("received %d rows, sent %d", st.Overall.Rows, sent)
	}
	in, out := st.RefreshImpact.Inside.TotalCount(), st.RefreshImpact.Outside.TotalCount()
	if in == 0 || out == 0 || in+out != int64(sent) {
		t.Errorf("refresh impact inside %d outside %d, want both > 0 summing to %d", in, out, sent)
	}
}

// TestStackMalformed sends one message of every malformed kind, then a good one: each is counted
// by reason, a sample kept, and the consumer goes on.
func TestStackMalformed(t *testing.T) {
	s := stacktest.Require(t)
	topic := newTopic(t, s, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bad := []struct{ key, value, reason string }{
		{`["a"]`, `not json at all`, "not_json"},
		{`["a"]`, `{"after": {"a": "unterminated}`, "not_json"},
		{`["a"]`, `[1, 2, 3]`, "not_object"},
		{`["a"]`, `{"after": {"a": 1}}`, "no_timestamp"},
		{`["a"]`, `{"after": {}, "updated": "yesterday"}`, "bad_hlc"},
		{``, `{"after": {}, "updated": "1.0000000000"}`, "bad_key"},
		{`["a"]`, "\x00\xff\xfe{{{{", "not_json"},
	}
	p := newProducer(t, s)
	for _, b := range bad {
		p.send(topic, 0, b.key, b.value)
	}
	p.send(topic, 0, `["good"]`, row(hlc(time.Now(), 0)))
	c := newConsumer(t, ctx, s, tokenSource(t, s), consume.Topics(topic), consume.StartAtBeginning(), consume.StopAfterMessages(int64(len(bad)+1)))
	runConsumer(t, ctx, c)()
	st := c.Stats()
	want := map[string]int64{}
	for _, b := range bad {
		want[b.reason]++
	}
	if fmt.Sprint(st.DecodeErrorsByReason) != fmt.Sprint(want) || st.DecodeErrors != int64(len(bad)) {
		t.Errorf("decode errors %d by reason %v, want %v", st.DecodeErrors, st.DecodeErrorsByReason, want)
	}
	if len(st.DecodeSamples) != len(bad) || st.DecodeSamples[0].Topic != topic || st.DecodeSamples[0].Reason.String() != "not_json" {
		t.Errorf("samples %+v", st.DecodeSamples)
	}
	if st.Overall.Rows != 1 {
		t.Errorf("rows %d, want the good one", st.Overall.Rows)
	}
}

// TestStackVerification injects a duplicate, an order violation, a row at a resolved timestamp,
// a resolved timestamp going back and a key on two partitions.
func TestStackVerification(t *testing.T) {
	s := stacktest.Require(t)
	topic := newTopic(t, s, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	base := time.Now().Add(-time.Minute)
	at := func(ms int) string { return hlc(base.Add(time.Duration(ms)*time.Millisecond), 0) }
	p := newProducer(t, s)
	msgs := []struct {
		part       int32
		key, value string
	}{
		{0, `["a"]`, row(at(100))},
		{0, `["a"]`, row(at(100))}, // duplicate
		{0, `["a"]`, row(at(90))},  // order violation
		{0, ``, `{"resolved": "` + at(200) + `"}`},
		{0, `["b"]`, row(at(200))},                 // at the resolved timestamp
		{0, ``, `{"resolved": "` + at(150) + `"}`}, // resolved goes back
		{0, `["c"]`, row(at(300))},
		{1, `["c"]`, row(at(310))}, // same key on partition 1
		{1, `["d"]`, row(at(320))},
	}
	for _, m := range msgs {
		p.send(topic, m.part, m.key, m.value)
	}
	c := newConsumer(t, ctx, s, tokenSource(t, s), consume.TopicPrefix(topic), consume.StartAtBeginning(), consume.StopAfterMessages(int64(len(msgs))))
	if got := c.Topics(); len(got) != 1 || got[0] != topic || len(c.Assignment()) != 2 {
		t.Fatalf("topics %v assignment %v", got, c.Assignment())
	}
	runConsumer(t, ctx, c)()
	st := c.Stats()
	want := consume.VerifyStats{Rows: 7, Keys: 4, Duplicates: 1, OrderViolations: 1, PartitionViolations: 1, ResolvedViolations: 1, ResolvedRegressions: 1}
	if st.Verify != want {
		t.Errorf("verify %+v, want %+v", st.Verify, want)
	}
	if len(st.Partitions) != 2 || st.Partitions[0].LastResolved.String() != at(200) {
		t.Errorf("partitions %+v", st.Partitions)
	}
}

// TestStackStartPositions starts at given offsets and at a time.
func TestStackStartPositions(t *testing.T) {
	s := stacktest.Require(t)
	topic := newTopic(t, s, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := newProducer(t, s)
	var mid time.Time
	for i := range 10 {
		if i == 6 {
			time.Sleep(20 * time.Millisecond)
			mid = time.Now()
			time.Sleep(20 * time.Millisecond)
		}
		p.send(topic, 0, fmt.Sprintf(`[%d]`, i), row(hlc(time.Now(), 0)))
	}
	src := tokenSource(t, s)
	tests := []struct {
		name string
		opt  consume.Opt
		want int64
	}{
		{"offsets", consume.StartAtOffsets(map[string]map[int32]int64{topic: {0: 3}}), 7},
		{"time", consume.StartAtTime(mid), 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newConsumer(t, ctx, s, src, consume.Topics(topic), tt.opt, consume.StopAfter(3*time.Second))
			runConsumer(t, ctx, c)()
			if got := c.Stats().Overall.Rows; got != tt.want {
				t.Errorf("rows %d, want %d", got, tt.want)
			}
		})
	}
}

// flakyIdP fails every fetch while down is set, like an IdP that is unreachable.
type flakyIdP struct {
	src  consume.TokenSource
	down atomic.Bool
}

func (f *flakyIdP) Fetch(ctx context.Context) (*oauth2.Token, error) {
	if f.down.Load() {
		return nil, errors.New("token request to the IdP: network (connect): connection refused")
	}
	return f.src.Fetch(ctx)
}

// TestStackIdPOutage simulates the IdP being down for longer than a token's (reported) lifetime:
// the refresh fails and is counted, SetOAuthBearerTokenFailure makes librdkafka ask again 10 s
// later, the next fetch succeeds, and no message is lost meanwhile.
func TestStackIdPOutage(t *testing.T) {
	s := stacktest.Require(t)
	topic := newTopic(t, s, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	idp := &flakyIdP{src: shortLived{src: tokenSource(t, s), ttl: 4 * time.Second}}
	c := newConsumer(t, ctx, s, idp, consume.Topics(topic), consume.StartAtBeginning(), consume.StopAfter(17*time.Second))
	idp.down.Store(true) // the first token is set; the refresh at ~3.2 s fails
	wait := runConsumer(t, ctx, c)
	p := newProducer(t, s)
	sent := 0
	start := time.Now()
	for time.Since(start) < 16*time.Second {
		if time.Since(start) > 6*time.Second {
			idp.down.Store(false) // back before librdkafka's retry 10 s after the failure
		}
		p.send(topic, 0, fmt.Sprintf(`["k%d"]`, sent), row(hlc(time.Now(), 0)))
		sent++
		time.Sleep(100 * time.Millisecond)
	}
	wait()
	st := c.Stats()
	t.Logf("token: %d requests, %d refreshes, %d failures; consumer errors %v", st.Token.Requests, st.Token.Refreshes, st.Token.Failures, st.Errors)
	if st.Token.Failures < 1 {
		t.Errorf("no failed refresh counted")
	}
	var failedAt, recoveredAt time.Time
	for _, ev := range st.Token.Events {
		if !ev.OK && failedAt.IsZero() {
			failedAt = ev.At
			if !strings.Contains(ev.Error, "connection refused") {
				t.Errorf("failure reason %q", ev.Error)
			}
		}
		if ev.OK && !failedAt.IsZero() && recoveredAt.IsZero() {
			recoveredAt = ev.At
		}
	}
	if recoveredAt.IsZero() {
		t.Errorf("no successful refresh after the failure: %+v", st.Token.Events)
	}
	if st.Overall.Rows != int64(sent) || st.Verify.Duplicates != 0 {
		t.Errorf("received %d rows (%d duplicates), sent %d", st.Overall.Rows, st.Verify.Duplicates, sent)
	}
}

// TestStackConsumerLag holds the recorder for 3 s (a slow OnInterval) while 5000 rows arrive:
// the poll loop stops once the handed-over batches are full, so the seconds that close when the
// recorder resumes see thousands of messages not polled yet; once caught up the lag is 0.
func TestStackConsumerLag(t *testing.T) {
	s := stacktest.Require(t)
	topic := newTopic(t, s, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	const n = 5000
	var (
		mu     sync.Mutex
		lags   []int64
		hold   = make(chan struct{}) // closed when the recorder is held
		holdOn sync.Once
	)
	onInterval := func(iv consume.Interval) {
		mu.Lock()
		lags = append(lags, iv.LagMsgs)
		mu.Unlock()
		holdOn.Do(func() {
			close(hold)
			time.Sleep(3 * time.Second)
		})
	}
	c := newConsumer(t, ctx, s, tokenSource(t, s), consume.Topics(topic), consume.StartAtBeginning(),
		consume.StopAfterMessages(n), consume.OnInterval(onInterval))
	wait := runConsumer(t, ctx, c)
	<-hold
	p := newProducer(t, s)
	dc := make(chan kafka.Event, n)
	for i := range n {
		m := &kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: 0},
			Key: []byte(fmt.Sprintf(`["k%d"]`, i)), Value: []byte(row(hlc(time.Now(), 0)))}
		if err := p.p.Produce(m, dc); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
	for range n {
		select {
		case ev := <-dc:
			if m := ev.(*kafka.Message); m.TopicPartition.Error != nil {
				t.Fatalf("delivery: %v", m.TopicPartition.Error)
			}
		case <-ctx.Done():
			t.Fatal("deliveries timed out")
		}
	}
	wait()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("consumer lag per second: %v", lags)
	peak := slices.Max(lags)
	if peak < 1000 || peak > n {
		t.Errorf("peak lag %d messages while the recorder was held with %d produced, want 1000–%d", peak, n, n)
	}
	if last := lags[len(lags)-1]; last != 0 {
		t.Errorf("lag %d messages after every message was consumed, want 0", last)
	}
	for i, l := range lags[1:] {
		if l < 0 {
			t.Errorf("second %d: lag unknown after the first fetch", i+1)
		}
	}
}
