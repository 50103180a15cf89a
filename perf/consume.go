package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cfbench/cfbench/consume"
	"github.com/cfbench/cfbench/oauth"
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// partitions is the partition count of the pre-filled topics.
const partitions = 6

// topicName names a pre-filled topic by its message count, so a later run can reuse it.
func topicName(n int64) string { return fmt.Sprintf("cfbench-perf-vehicles-%d", n) }

// vehicleValue returns a ~450-byte vehicles row in CockroachDB's wrapped envelope (keys sorted,
// ": " and ", " separators), with updated and mvcc_timestamp = updatedNs.
func vehicleValue(dst []byte, id int, updatedNs int64) []byte {
	hlc := strconv.FormatInt(updatedNs, 10) + ".0000000000"
	return fmt.Appendf(dst[:0], `{"after": {"city": "paris", "creation_time": "2019-01-02T03:04:05.123456", "current_location": "64110 Richard Crescent, Apt. %d", "dead": false, `+
		`"ext": {"brand": "Merida", "color": "red", "tags": ["city", "ebike"]}, "id": "2c28a231-8b1e-4e83-9bfa-%012d", "owner_id": "f7f0c3e4-8b9a-4c1e-9a55-0f8c2d7b6a11", `+
		`"status": "available", "type": "bike"}, "mvcc_timestamp": "%s", "updated": "%s"}`, id%1000, id, hlc, hlc)
}

func vehicleKey(dst []byte, id int) []byte {
	return fmt.Appendf(dst[:0], `["paris", "2c28a231-8b1e-4e83-9bfa-%012d"]`, id)
}

// topicCount returns the number of messages in topic (sum of high − low watermarks), or -1 if
// the topic does not exist.
func topicCount(env stack, topic string) (int64, error) {
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": env.adminBrokers, "group.id": "cfbench-perf-meta"})
	if err != nil {
		return 0, fmt.Errorf("metadata consumer: %w", err)
	}
	defer c.Close()
	md, err := c.GetMetadata(&topic, false, 10_000)
	if err != nil {
		return 0, fmt.Errorf("metadata of %s: %w", topic, err)
	}
	tm, ok := md.Topics[topic]
	if !ok || tm.Error.Code() == kafka.ErrUnknownTopicOrPart || len(tm.Partitions) == 0 {
		return -1, nil
	}
	if len(tm.Partitions) != partitions {
		return 0, nil
	}
	var n int64
	for _, p := range tm.Partitions {
		lo, hi, err := c.QueryWatermarkOffsets(topic, p.ID, 10_000)
		if err != nil {
			return 0, fmt.Errorf("watermarks of %s[%d]: %w", topic, p.ID, err)
		}
		n += hi - lo
	}
	return n, nil
}

// ensureTopic makes sure topic holds exactly n vehicles rows in 6 partitions, producing them
// over the PLAINTEXT listener if not (keys cycle over `keys` vehicles, each update newer).
func ensureTopic(ctx context.Context, env stack, topic string, n int64, keys int, log *slog.Logger) error {
	have, err := topicCount(env, topic)
	if err != nil {
		return err
	}
	if have == n {
		log.Info("reusing pre-filled topic", "topic", topic, "messages", n)
		return nil
	}
	ac, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": env.adminBrokers})
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	defer ac.Close()
	if have >= 0 {
		if _, err := ac.DeleteTopics(ctx, []string{topic}); err != nil {
			return fmt.Errorf("deleting %s (it holds %d messages, not %d): %w", topic, have, n, err)
		}
		time.Sleep(2 * time.Second)
	}
	res, err := ac.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: topic, NumPartitions: partitions, ReplicationFactor: 1}})
	if err != nil {
		return fmt.Errorf("creating %s: %w", topic, err)
	}
	if c := res[0].Error.Code(); c != kafka.ErrNoError && c != kafka.ErrTopicAlreadyExists {
		return fmt.Errorf("creating %s: %w", topic, res[0].Error)
	}
	log.Info("pre-filling topic", "topic", topic, "messages", n)
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": env.adminBrokers, "linger.ms": 20,
		"batch.num.messages": 10000, "batch.size": 1 << 20, "queue.buffering.max.messages": 500_000, "acks": 1})
	if err != nil {
		return fmt.Errorf("producer: %w", err)
	}
	defer p.Close()
	var failed error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range p.Events() {
			if m, ok := ev.(*kafka.Message); ok && m.TopicPartition.Error != nil && failed == nil {
				failed = m.TopicPartition.Error
			}
		}
	}()
	var k, v []byte
	for i := range n {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		id := int(i % int64(keys))
		k, v = vehicleKey(k, id), vehicleValue(v, id, time.Now().UnixNano())
		for {
			err := p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
				Key: append([]byte(nil), k...), Value: append([]byte(nil), v...)}, nil)
			if err == nil {
				break
			}
			var ke kafka.Error
			if !errors.As(err, &ke) || ke.Code() != kafka.ErrQueueFull {
				return fmt.Errorf("producing to %s: %w", topic, err)
			}
			p.Flush(100)
		}
	}
	for p.Flush(1000) > 0 {
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if failed != nil {
		return fmt.Errorf("producing to %s: %w", topic, failed)
	}
	if have, err := topicCount(env, topic); err != nil || have != n {
		return fmt.Errorf("%s holds %d messages after producing %d (%v)", topic, have, n, err)
	}
	return nil
}

// bareLoop consumes n messages from every partition of topic with a bare confluent-kafka-go
// loop that only counts (plus answering token refreshes) and returns msgs/s between the first
// and the last message. props are librdkafka properties on top of librdkafka's defaults.
//
// The "bare+same" loop gets consume.DefaultProperties too, so its ratio isolates what decoding
// and recording cost.

func bareLoop(ctx context.Context, env stack, src *oauth.Source, topic string, n int64, props map[string]string) (float64, error) {
	cm := kafka.ConfigMap{"bootstrap.servers": env.brokers, "security.protocol": "SASL_PLAINTEXT",
		"sasl.mechanisms": "OAUTHBEARER", "group.id": fmt.Sprintf("cfbench-perf-bare-%d", time.Now().UnixNano()), "enable.auto.commit": false}
	for k, v := range props {
		cm[k] = v
	}
	kc, err := kafka.NewConsumer(&cm)
	if err != nil {
		return 0, fmt.Errorf("bare consumer: %w", err)
	}
	defer kc.Close()
	r := consume.NewTokenRefresher(kc, src, "", nil)
	defer r.Close()
	var tps []kafka.TopicPartition
	for p := range int32(partitions) {
		tps = append(tps, kafka.TopicPartition{Topic: &topic, Partition: p, Offset: kafka.OffsetBeginning})
	}
	if err := kc.Assign(tps); err != nil {
		return 0, fmt.Errorf("bare assign: %w", err)
	}
	var got int64
	var first, last time.Time
	deadline := time.Now().Add(5 * time.Minute)
	for got < n {
		if ctx.Err() != nil || time.Now().After(deadline) {
			return 0, fmt.Errorf("bare loop: %d of %d messages: %w", got, n, context.Cause(ctx))
		}
		switch kc.Poll(100).(type) {
		case *kafka.Message:
			if got == 0 {
				first = time.Now()
			}
			got++
			if got == n {
				last = time.Now()
			}
		case kafka.OAuthBearerTokenRefresh:
			r.Refresh(ctx)
		}
	}
	return float64(n-1) / last.Sub(first).Seconds(), nil
}

// cfbenchLoop consumes n messages with consume.Consumer, exactly as `cfbench consume` does
// (decode, verify, record a latency per message), and returns msgs/s between the first and the
// last message.
func cfbenchLoop(ctx context.Context, env stack, src *oauth.Source, topic string, n int64, props propFlag) (float64, consume.Stats, error) {
	opts := []consume.Opt{consume.Brokers(env.brokers), consume.Topics(topic), consume.Token(src),
		consume.StartAtBeginning(), consume.StopAfterMessages(n), consume.StopAfter(5 * time.Minute)}
	for _, kv := range props {
		opts = append(opts, consume.Property(kv[0], kv[1]))
	}
	c, err := consume.New(ctx, opts...)
	if err != nil {
		return 0, consume.Stats{}, err
	}
	defer c.Close()
	if err := c.Run(ctx); err != nil {
		return 0, consume.Stats{}, err
	}
	st := c.Stats()
	if got := st.Overall.Rows + st.Overall.Resolved + st.DecodeErrors; got != n {
		return 0, st, fmt.Errorf("cfbench consumer: %d of %d messages", got, n)
	}
	if st.Overall.E2ECommit.TotalCount() == 0 {
		return 0, st, fmt.Errorf("cfbench consumer recorded no latency")
	}
	return float64(n-1) / st.LastMessage.Sub(st.FirstMessage).Seconds(), st, nil
}

// javaPerf runs Kafka's ConsumerPerformance from the stack's jars over the PLAINTEXT listener
// and returns its fetch.nMsg.sec (throughput excluding the group join).
func javaPerf(ctx context.Context, env stack, topic string, n int64) (float64, error) {
	cmd := exec.CommandContext(ctx, "java", "-Xms512m", "-Xmx1g", "-cp", env.kafkaLibs(), "org.apache.kafka.tools.ConsumerPerformance",
		"--bootstrap-server", env.adminBrokers, "--topic", topic, "--messages", strconv.FormatInt(n, 10),
		"--timeout", "60000", "--group", fmt.Sprintf("cfbench-perf-java-%d", time.Now().UnixNano()))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("ConsumerPerformance: %w\n%s", err, out)
	}
	return parseConsumerPerf(string(out), n)
}

// parseConsumerPerf reads ConsumerPerformance's result line (the last one) and returns its
// fetch.nMsg.sec, checking it consumed at least n messages. Columns: start.time, end.time,
// data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms,
// fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec.
func parseConsumerPerf(out string, n int64) (float64, error) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	f := strings.Split(lines[len(lines)-1], ",")
	if len(f) < 10 {
		return 0, fmt.Errorf("ConsumerPerformance output not understood:\n%s", out)
	}
	got, err := strconv.ParseInt(strings.TrimSpace(f[4]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("ConsumerPerformance output not understood:\n%s", out)
	}
	if got < n {
		return 0, fmt.Errorf("ConsumerPerformance read %d of %d messages", got, n)
	}
	return strconv.ParseFloat(strings.TrimSpace(f[9]), 64)
}

// benchConsume is item 2.
func benchConsume(ctx context.Context, o options, env stack, t *table, log *slog.Logger) error {
	topic := topicName(o.messages)
	if err := ensureTopic(ctx, env, topic, o.messages, o.keys, log); err != nil {
		return err
	}
	src, err := env.tokenSource()
	if err != nil {
		return err
	}
	var names []string
	for _, l := range strings.Split(o.loops, ",") {
		switch l = strings.TrimSpace(l); l {
		case "bare", "bare+same", "cfbench", "java":
			names = append(names, l)
		default:
			return fmt.Errorf("-loops: unknown loop %q (want bare, bare+same, cfbench, java)", l)
		}
	}
	if !slices.Contains(names, "cfbench") || len(names) < 2 {
		return fmt.Errorf("-loops %q: want cfbench and at least one other loop", o.loops)
	}
	// An uncounted warm-up pass, so that the first measured loop does not also pay for cold
	// page cache and broker.
	if _, err := bareLoop(ctx, env, src, topic, o.messages, consume.DefaultProperties()); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	rates := map[string][]float64{}
	ratios := map[string][]float64{} // cfbench ÷ the loop, per round
	for round := range o.rounds {
		got := map[string]float64{}
		for i := range names {
			name := names[(i+round)%len(names)]
			var rate float64
			var err error
			switch name {
			case "bare":
				rate, err = bareLoop(ctx, env, src, topic, o.messages, nil)
			case "bare+same":
				rate, err = bareLoop(ctx, env, src, topic, o.messages, consume.DefaultProperties())
			case "cfbench":
				rate, _, err = cfbenchLoop(ctx, env, src, topic, o.messages, o.props)
			case "java":
				rate, err = javaPerf(ctx, env, topic, o.messages)
			}
			if err != nil {
				return err
			}
			log.Info("consume round", "round", round+1, "loop", name, "msgs/s", int64(rate))
			got[name] = rate
			rates[name] = append(rates[name], rate)
		}
		for _, name := range names {
			if name != "cfbench" {
				ratios[name] = append(ratios[name], got["cfbench"]/got[name])
			}
		}
	}
	ours := median(rates["cfbench"])
	for _, c := range []struct{ loop, what, target string }{
		{"bare+same", fmt.Sprintf("consume %s msgs, 6 partitions: vs bare confluent-kafka-go loop, same prefetch settings", human(o.messages)), "≥ 0.9"},
		{"bare", "consume: vs bare loop, librdkafka defaults", "≥ 0.9"},
		{"java", "consume: vs Kafka ConsumerPerformance (PLAINTEXT, fetch.nMsg.sec)", "≥ 1.0"},
	} {
		if rates[c.loop] == nil {
			continue
		}
		want := 0.9
		if c.loop == "java" {
			want = 1.0
		}
		r := median(ratios[c.loop])
		t.add(row{item: "2", what: c.what, ours: fmt.Sprintf("%.0fk msgs/s", ours/1e3), theirs: fmt.Sprintf("%.0fk msgs/s", median(rates[c.loop])/1e3),
			ratio: fmt.Sprintf("%.3f", r), target: c.target, met: r >= want})
	}
	var per []string
	for _, name := range names {
		if name != "cfbench" {
			per = append(per, fmt.Sprintf("vs %s %s", name, fmtFloats(ratios[name])))
		}
	}
	t.note("item 2: one uncounted warm-up pass, then %d rounds in rotating order (%s); medians of the rates and of the per-round ratios; cfbench and the bare loops over SASL_PLAINTEXT/OAUTHBEARER, "+
		"rates between the first and the last message; cfbench decodes, verifies and records a latency for every message; "+
		"consume.New sets %v by default (bare+same uses them too, bare uses librdkafka's defaults); "+
		"per-round ratios %s",
		o.rounds, strings.Join(names, ", "), consume.DefaultProperties(), strings.Join(per, ", "))

	// One more, profiled, run of the cfbench consumer (not counted above).
	prof := filepath.Join(o.profileDir, "consume.cpu.pprof")
	f, err := os.Create(prof)
	if err != nil {
		return fmt.Errorf("-profile-dir: %w", err)
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	_, _, err = cfbenchLoop(ctx, env, src, topic, o.messages, o.props)
	pprof.StopCPUProfile()
	if err != nil {
		return err
	}
	t.note("item 2: CPU profile of one more cfbench consumer run in %s (go tool pprof -top %s)", prof, prof)
	return nil
}

func human(n int64) string {
	switch {
	case n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return strconv.FormatInt(n, 10)
}

func fmtFloats(xs []float64) string {
	var s []string
	for _, x := range xs {
		s = append(s, strconv.FormatFloat(x, 'f', 2, 64))
	}
	return strings.Join(s, " ")
}
