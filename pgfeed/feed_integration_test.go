package pgfeed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cfbench/cfbench/changefeed"
	"github.com/cfbench/cfbench/internal/stacktest"
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cfbench/cfbench/internal/golden"
)

// itest is one integration test's environment: its own tables, topics, slot and publication
// (all prefixed pgf_<id>), on the real local stack.
type itest struct {
	t      testing.TB
	st     stacktest.Stack
	id     string
	prefix string // topic prefix
	pool   *pgxpool.Pool
}

func newITest(t testing.TB, id string) *itest {
	t.Helper()
	st := stacktest.Require(t)
	id = fmt.Sprintf("pgf_%s_%d", id, time.Now().UnixNano()%1_000_000)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, st.PGURL)
	if err != nil {
		t.Fatal(err)
	}
	it := &itest{t: t, st: st, id: id, prefix: id + "_", pool: pool}
	for _, ddl := range []string{
		`CREATE TABLE ` + id + `_vehicles (id UUID NOT NULL, city TEXT NOT NULL, type TEXT, owner_id UUID,
			creation_time TIMESTAMP, status TEXT, current_location TEXT, ext JSONB, price DECIMAL(10,2),
			lat FLOAT8, seats INT, PRIMARY KEY (city, id))`,
		`CREATE TABLE ` + id + `_rides (id UUID NOT NULL, city TEXT NOT NULL, vehicle_id UUID, revenue DECIMAL(10,2),
			start_time TIMESTAMP, end_time TIMESTAMP, PRIMARY KEY (city, id))`,
	} {
		if _, err := pool.Exec(ctx, ddl); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_, _ = pool.Exec(ctx, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE $1 AND NOT active`, "pgfeed_"+id+"%")
		_, _ = pool.Exec(ctx, `DROP TABLE IF EXISTS `+id+`_vehicles, `+id+`_rides`)
		if admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": st.KafkaAdminBrokers}); err == nil {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, _ = admin.DeleteTopics(cctx, []string{it.prefix + id + "_vehicles", it.prefix + id + "_rides"})
			cancel()
			admin.Close()
		}
		pool.Close()
	})
	return it
}

func (it *itest) sinkURI(topicName string) string {
	it.t.Helper()
	o := changefeed.OAuthSink{
		Brokers:      []string{it.st.KafkaBrokers},
		TopicPrefix:  it.prefix,
		TopicName:    topicName,
		ClientID:     it.st.ProducerClientID,
		ClientSecret: stacktest.Secret(it.t, it.st.ProducerClientSecretFile),
		TokenURL:     it.st.TokenURL,
	}
	if s := os.Getenv("CFBENCH_TOKEN_SCOPE"); s != "" {
		o.Scopes = []string{s}
	}
	u, err := o.SinkURI()
	if err != nil {
		it.t.Fatal(err)
	}
	return u.String()
}

func (it *itest) feed(name, with string, partitions int) *Feed {
	it.t.Helper()
	f, err := New(Config{
		Source:          it.st.PGURL,
		Tables:          []string{it.id + "_vehicles", it.id + "_rides"},
		Sink:            it.sinkURI(""),
		With:            with,
		Name:            it.id + name,
		TokenAudience:   it.st.Audience,
		TopicPartitions: partitions,
		StatusInterval:  200 * time.Millisecond,
		Logger:          slog.New(slog.NewTextHandler(tWriter{it.t}, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	if err != nil {
		it.t.Fatal(err)
	}
	return f
}

// start runs f in the background; the returned stop cancels it and returns Run's error.
func (it *itest) start(f *Feed) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		err := f.Run(ctx)
		if err != nil {
			it.t.Logf("Run: %v", err)
		}
		done <- err
	}()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				err = errors.New("Run did not return within 30s of cancel")
			}
		})
		return err
	}
	it.t.Cleanup(func() { _ = stop() })
	// Wait until the slot exists and streams (Run creates it before streaming).
	deadline := time.Now().Add(30 * time.Second)
	for {
		var active bool
		err := it.pool.QueryRow(context.Background(), `SELECT active FROM pg_replication_slots WHERE slot_name = $1`, f.SlotName()).Scan(&active)
		if err == nil && active {
			return stop
		}
		select {
		case err := <-done:
			it.t.Fatalf("Run returned before streaming: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			it.t.Fatalf("slot %s not active after 30s", f.SlotName())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (it *itest) exec(sql string, args ...any) {
	it.t.Helper()
	if _, err := it.pool.Exec(context.Background(), sql, args...); err != nil {
		it.t.Fatalf("%s: %v", sql, err)
	}
}

// tWriter sends log lines to the test log.
type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// msg is a consumed Kafka message.
type msg struct {
	topic     string
	partition int32
	offset    int64
	key       string
	value     string
}

// consumeUntil reads the topics from the beginning over PLAINTEXT until done(msgs) or timeout.
func (it *itest) consumeUntil(topics []string, timeout time.Duration, done func([]msg) bool) []msg {
	it.t.Helper()
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers":  it.st.KafkaAdminBrokers,
		"group.id":           it.id + "_check",
		"enable.auto.commit": false,
	})
	if err != nil {
		it.t.Fatal(err)
	}
	defer c.Close()
	var tps []kafka.TopicPartition
	for _, topic := range topics {
		tp := topic
		var parts []kafka.PartitionMetadata
		for wait := time.Now().Add(20 * time.Second); ; {
			md, err := c.GetMetadata(&tp, false, 10000)
			if err != nil {
				it.t.Fatal(err)
			}
			tm := md.Topics[topic]
			parts = tm.Partitions
			if tm.Error.Code() == kafka.ErrNoError && len(parts) > 0 && !slices.ContainsFunc(parts, func(p kafka.PartitionMetadata) bool { return p.Leader < 0 }) {
				break
			}
			if time.Now().After(wait) {
				it.t.Fatalf("topic %s has no partitions: %v", topic, tm.Error)
			}
			time.Sleep(100 * time.Millisecond)
		}
		for _, p := range parts {
			tps = append(tps, kafka.TopicPartition{Topic: &tp, Partition: p.ID, Offset: kafka.OffsetBeginning})
		}
	}
	if err := c.Assign(tps); err != nil {
		it.t.Fatal(err)
	}
	var out []msg
	deadline := time.Now().Add(timeout)
	for !done(out) {
		if time.Now().After(deadline) {
			it.t.Fatalf("timed out after %s with %d messages", timeout, len(out))
		}
		ev := c.Poll(100)
		if m, ok := ev.(*kafka.Message); ok {
			if m.TopicPartition.Error != nil {
				it.t.Fatal(m.TopicPartition.Error)
			}
			out = append(out, msg{*m.TopicPartition.Topic, m.TopicPartition.Partition, int64(m.TopicPartition.Offset), string(m.Key), string(m.Value)})
		}
	}
	return out
}

var hlcRE = regexp.MustCompile(`"(updated|mvcc_timestamp)": "(\d+\.\d{10})"`)

// TestGoldenMessages checks the exact bytes of inserts, updates, deletes (and a primary-key
// change) for several option sets against golden files, timestamps masked.
func TestGoldenMessages(t *testing.T) {
	for _, tc := range []struct{ name, with string }{
		{"plain", ""},
		{"updated", "updated"},
		{"diff", "updated, diff"},
		{"all", "updated, diff, mvcc_timestamp, key_in_value, topic_in_value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			it := newITest(t, "g"+tc.name)
			f := it.feed("", tc.with, 2)
			it.start(f)
			v, r := it.id+"_vehicles", it.id+"_rides"
			it.exec(`INSERT INTO ` + v + ` VALUES ('2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f', 'new york', 'skateboard', NULL,
				'2019-01-02 03:04:05.123456', 'available', '64110 Richard Crescent', '{"color": "red", "brand": "Kona", "n": 1.50}', 25.5, 40.7128, 1)`)
			it.exec(`INSERT INTO ` + r + ` VALUES ('5ebfedcc-a8c9-4ae6-9cd4-3c2a57d5a8a6', 'paris', '2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f', NULL, '2019-01-02 03:04:05', NULL)`)
			it.exec(`UPDATE ` + v + ` SET status = 'in_use', ext = ext || '{"z": [true, null, "<&>"]}' WHERE city = 'new york'`)
			it.exec(`UPDATE ` + r + ` SET end_time = '2019-01-02 04:00:00.5', revenue = 12.30 WHERE city = 'paris'`)
			it.exec(`UPDATE ` + r + ` SET city = 'rome' WHERE city = 'paris'`) // primary-key change
			it.exec(`DELETE FROM ` + v)
			want := 7
			msgs := it.consumeUntil([]string{it.prefix + v, it.prefix + r}, 45*time.Second, func(m []msg) bool { return len(m) >= want })
			var b strings.Builder
			// Per key, in offset order (one partition per key); keys in a fixed order.
			slices.SortStableFunc(msgs, func(a, b msg) int {
				if c := strings.Compare(a.topic, b.topic); c != 0 {
					return c
				}
				if c := strings.Compare(a.key, b.key); c != 0 {
					return c
				}
				return int(a.offset - b.offset)
			})
			now := time.Now()
			for _, m := range msgs {
				for _, sm := range hlcRE.FindAllStringSubmatch(m.value, -1) {
					h, err := ParseHLC(sm[2])
					if err != nil {
						t.Fatal(err)
					}
					if d := now.Sub(time.Unix(0, h.WallTime)); d < 0 || d > time.Minute {
						t.Errorf("%s %s is %s from now", sm[1], sm[2], d)
					}
				}
				if u := hlcRE.FindAllStringSubmatch(m.value, -1); len(u) == 2 && u[0][2] != u[1][2] {
					t.Errorf("mvcc_timestamp %s != updated %s", u[0][2], u[1][2])
				}
				val := hlcRE.ReplaceAllString(m.value, `"$1": "<HLC>"`)
				fmt.Fprintf(&b, "%s\n  key:   %s\n  value: %s\n", strings.TrimPrefix(m.topic, it.prefix+it.id), m.key, strings.ReplaceAll(val, it.id, "<T>"))
			}
			if !golden.Check(t, filepath.Join("testdata", "messages_"+tc.name+".golden"), []byte(b.String())) {
				t.FailNow()
			}
		})
	}
}

// writer inserts rides (one transaction each) and updates earlier ones until stop is closed,
// recording every inserted key as the feed must print it.
func (it *itest) writer(ctx context.Context, n int, keys *sync.Map) error {
	r := it.id + "_rides"
	for i := 0; ctx.Err() == nil; i++ {
		city := []string{"paris", "rome", "boston", "seattle"}[i%4]
		var id string
		err := it.pool.QueryRow(ctx, `INSERT INTO `+r+` (id, city, revenue, start_time) VALUES (gen_random_uuid(), $1, $2, now()) RETURNING id::text`,
			city, fmt.Sprintf("%d.%02d", i, n)).Scan(&id)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		keys.Store(fmt.Sprintf(`["%s", "%s"]`, city, id), true)
		if i%3 == 0 {
			if _, err := it.pool.Exec(ctx, `UPDATE `+r+` SET end_time = now() WHERE city = $1 AND id = $2`, city, id); err != nil && ctx.Err() == nil {
				return err
			}
		}
	}
	return nil
}

func hlcOf(t *testing.T, value, field string) (HLC, bool) {
	t.Helper()
	i := strings.Index(value, `"`+field+`":`)
	if i < 0 {
		return HLC{}, false
	}
	rest := value[i+len(field)+3:]
	rest = strings.TrimLeft(rest, ` "`)
	j := strings.IndexByte(rest, '"')
	h, err := ParseHLC(rest[:j])
	if err != nil {
		t.Fatalf("%s in %s: %v", field, value, err)
	}
	return h, true
}

// TestResolvedInvariantConcurrent runs concurrent writers and checks, per partition, that no
// row at or below a resolved timestamp follows it, that resolved timestamps only move
// forward, that every key stays on one partition, and that nothing is missing.
func TestResolvedInvariantConcurrent(t *testing.T) {
	it := newITest(t, "res")
	f := it.feed("", "updated, resolved='200ms', min_checkpoint_frequency='200ms'", 3)
	stop := it.start(f)
	var keys sync.Map
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- it.writer(ctx, w, &keys) }()
	}
	wg.Wait()
	cancel()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var endNs int64
	if err := it.pool.QueryRow(context.Background(), `SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::int8 * 1000`).Scan(&endNs); err != nil {
		t.Fatal(err)
	}
	want := 0
	keys.Range(func(any, any) bool { want++; return true })
	topic := it.prefix + it.id + "_rides"
	seen := map[string]bool{}
	resolvedAfterEnd := map[int32]bool{}
	msgs := it.consumeUntil([]string{topic}, 45*time.Second, func(ms []msg) bool {
		for _, m := range ms[len(seen)*0:] {
			if m.key != "" {
				seen[m.key] = true
			} else if h, ok := hlcOf(t, m.value, "resolved"); ok && h.WallTime > endNs {
				resolvedAfterEnd[m.partition] = true
			}
		}
		return len(seen) >= want && len(resolvedAfterEnd) == 3
	})
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	slices.SortStableFunc(msgs, func(a, b msg) int {
		if a.partition != b.partition {
			return int(a.partition - b.partition)
		}
		return int(a.offset - b.offset)
	})
	lastResolved := map[int32]HLC{}
	partOf := map[string]int32{}
	rows, resolved := 0, 0
	for _, m := range msgs {
		if m.key == "" {
			h, ok := hlcOf(t, m.value, "resolved")
			if !ok {
				t.Fatalf("keyless message without resolved: %s", m.value)
			}
			if want := `{"resolved":"` + h.String() + `"}`; m.value != want {
				t.Fatalf("resolved message %s, want %s", m.value, want)
			}
			if !lastResolved[m.partition].Less(h) {
				t.Errorf("partition %d: resolved %s does not advance past %s", m.partition, h, lastResolved[m.partition])
			}
			lastResolved[m.partition] = h
			resolved++
			continue
		}
		rows++
		u, ok := hlcOf(t, m.value, "updated")
		if !ok {
			t.Fatalf("row without updated: %s", m.value)
		}
		if lr := lastResolved[m.partition]; !lr.Less(u) {
			t.Errorf("partition %d offset %d: row updated %s at or below resolved %s", m.partition, m.offset, u, lr)
		}
		if p, ok := partOf[m.key]; ok && p != m.partition {
			t.Errorf("key %s on partitions %d and %d", m.key, p, m.partition)
		}
		partOf[m.key] = m.partition
	}
	missing := 0
	keys.Range(func(k, _ any) bool {
		if _, ok := partOf[k.(string)]; !ok {
			missing++
		}
		return true
	})
	if missing > 0 {
		t.Errorf("%d of %d inserted keys missing", missing, want)
	}
	if len(lastResolved) != 3 {
		t.Errorf("resolved messages on %d partitions, want all 3 of the topic pgfeed created", len(lastResolved))
	}
	if resolved < 6 {
		t.Errorf("only %d resolved messages", resolved)
	}
	st := f.Stats()
	t.Logf("%d keys written, %d row messages, %d resolved; stats %+v", want, rows, resolved, st)
	if st.Messages < int64(want) || st.ResolvedMessages == 0 {
		t.Errorf("stats %+v: want ≥ %d messages and some resolved", st, want)
	}
	// The producer authenticated with a token from the sink URI's client credentials.
	if ts, ok := f.TokenStats(); !ok || ts.Fetches < 1 || ts.Failures != 0 || ts.FirstToken <= 0 {
		t.Errorf("token stats %+v (ok %v): want ≥ 1 successful fetch", ts, ok)
	}
	if rs, ok := f.TokenRefreshStats(); !ok || rs.Refreshes < 1 || rs.Failures != 0 {
		t.Errorf("token refresh stats %+v (ok %v): want ≥ 1 token handed to librdkafka", rs, ok)
	}
}

// TestRestartLosesNothing cancels Run mid-stream and starts a new Feed on the same slot;
// every row written before, during and after the gap must arrive (duplicates allowed).
func TestRestartLosesNothing(t *testing.T) {
	it := newITest(t, "rst")
	f1 := it.feed("", "updated", 2)
	stop1 := it.start(f1)
	var keys sync.Map
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	werr := make(chan error, 1)
	go func() { werr <- it.writer(ctx, 1, &keys) }()
	time.Sleep(1500 * time.Millisecond)
	if err := stop1(); err != nil {
		t.Fatalf("first Run: %v", err)
	}
	before := f1.Stats()
	time.Sleep(500 * time.Millisecond) // rows committed while no feed runs
	f2 := it.feed("", "updated", 2)
	it.start(f2)
	time.Sleep(1500 * time.Millisecond)
	cancel()
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	want := 0
	keys.Range(func(any, any) bool { want++; return true })
	topic := it.prefix + it.id + "_rides"
	got := map[string]int{}
	it.consumeUntil([]string{topic}, 45*time.Second, func(ms []msg) bool {
		clear(got)
		for _, m := range ms {
			got[m.key]++
		}
		n := 0
		keys.Range(func(k, _ any) bool {
			if got[k.(string)] > 0 {
				n++
			}
			return true
		})
		return n >= want
	})
	if before.Messages == 0 || f2.Stats().Messages == 0 {
		t.Fatalf("both runs should have delivered: first %+v, second %+v", before, f2.Stats())
	}
	t.Logf("%d keys written; first run delivered %d messages, second %d", want, before.Messages, f2.Stats().Messages)
}

// TestRunAgainReplaysAsDuplicates abandons a Run as a crash would (ErrAbandoned: no final
// flush or standby status), with no status sent since the rows were written, then runs the same
// Feed again: every row is replayed from the slot, and each replay must carry the timestamp it
// had, so a consumer counts it as a duplicate (as after a CockroachDB changefeed restart), not as
// a new change.
func TestRunAgainReplaysAsDuplicates(t *testing.T) {
	it := newITest(t, "dup")
	f, err := New(Config{
		Source: it.st.PGURL, Tables: []string{it.id + "_rides"}, Sink: it.sinkURI(""), With: "updated",
		Name: it.id, TokenAudience: it.st.Audience, TopicPartitions: 2,
		StatusInterval: time.Hour, // no standby status after the first: nothing gets confirmed
		Logger:         slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	if err != nil {
		t.Fatal(err)
	}
	const rows = 20
	written := false
	runUntil := func(want int64) {
		t.Helper()
		ctx, cancel := context.WithCancelCause(context.Background())
		done := make(chan error, 1)
		from := f.Stats().Messages
		go func() { done <- f.Run(ctx) }()
		deadline := time.Now().Add(30 * time.Second)
		for f.Stats().Messages-from < want {
			if time.Now().After(deadline) {
				cancel(nil)
				t.Fatalf("%d of %d messages acknowledged after 30s: %v", f.Stats().Messages-from, want, <-done)
			}
			if from == 0 && f.Stats().Messages == 0 {
				// First Run: write once the slot streams.
				var active bool
				if err := it.pool.QueryRow(context.Background(), `SELECT active FROM pg_replication_slots WHERE slot_name = $1`, f.SlotName()).Scan(&active); err == nil && active && !written {
					for i := range rows {
						it.exec(`INSERT INTO `+it.id+`_rides (id, city, revenue) VALUES (gen_random_uuid(), $1, $2)`, "paris", i)
					}
					written = true
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		cancel(ErrAbandoned)
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
	}
	runUntil(rows)
	runUntil(rows) // the same rows again, from the slot

	byKey := map[string][]string{}
	it.consumeUntil([]string{it.prefix + it.id + "_rides"}, 30*time.Second, func(ms []msg) bool {
		clear(byKey)
		for _, m := range ms {
			byKey[m.key] = append(byKey[m.key], m.value)
		}
		return len(ms) >= 2*rows
	})
	if len(byKey) != rows {
		t.Fatalf("%d keys, want %d", len(byKey), rows)
	}
	for k, vs := range byKey {
		if len(vs) != 2 || vs[0] != vs[1] {
			t.Errorf("key %s: messages %q, want the same message twice (the replay keeps its updated timestamp)", k, vs)
		}
	}
}

// BenchmarkEndToEnd measures the rate pgfeed sustains on the local stack: rows inserted in
// transactions of 500 (INSERT … SELECT generate_series), decoded by the walsender, encoded,
// produced with OAUTHBEARER over SASL_PLAINTEXT and acknowledged by Kafka (3 partitions,
// acks=1). msgs/s counts acknowledged row messages.
//   - mode=live: the feed runs while the rows are written (bounded by the insert rate, also
//     reported as inserts/s);
//   - mode=backlog: the rows are written while the feed is stopped, then the restarted feed
//     drains them: pgfeed's own ceiling (walsender + decode + encode + produce + acks).
func BenchmarkEndToEnd(b *testing.B) {
	for _, mode := range []string{"live", "backlog"} {
		b.Run("mode="+mode, func(b *testing.B) {
			it := newITest(b, "e2e"+mode)
			f := it.feed("", "updated", 3)
			f.cfg.Logger = nil
			stop := it.start(f)
			if mode == "backlog" {
				if err := stop(); err != nil {
					b.Fatal(err)
				}
			}
			r := it.id + "_rides"
			b.ResetTimer()
			start := time.Now()
			const batch = 500
			for done := 0; done < b.N; done += batch {
				n := min(batch, b.N-done)
				it.exec(`INSERT INTO `+r+` (id, city, revenue, start_time)
					SELECT gen_random_uuid(), (ARRAY['paris','rome','boston'])[1 + g % 3], g / 100.0, now() FROM generate_series(1, $1) g`, n)
			}
			inserted := time.Since(start)
			if mode == "backlog" {
				f = it.feed("", "updated", 3)
				f.cfg.Logger = nil
				start = time.Now()
				it.start(f)
			}
			for f.Stats().Messages < int64(b.N) {
				if err := f.failed(); err != nil {
					b.Fatal(err)
				}
				time.Sleep(time.Millisecond)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
			b.ReportMetric(float64(f.Stats().Bytes)/float64(b.N), "B/msg")
			b.ReportMetric(float64(b.N)/inserted.Seconds(), "inserts/s")
		})
	}
}
