package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cfbench/cfbench/consume"
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// fidelityDelays are the known ages D of the rows produced in item 5.
var fidelityDelays = []time.Duration{0, 5 * time.Millisecond, 100 * time.Millisecond}

// benchFidelity is item 5: one producer writes, at -fidelity-rate rows/s (below what the
// consumer sustains, so no backlog builds up and every partition sees the same delay), rows whose updated timestamp
// is now − D into one topic per D (interleaved, so every topic sees the same pipeline delay),
// while consume.Consumer reads all three. p50(e2e_commit of D) − p50(e2e_commit of 0) must be D
// within 1 ms: the pipeline's own delay cancels out, what remains is the recording error.
func benchFidelity(ctx context.Context, o options, env stack, t *table, log *slog.Logger) error {
	stamp := time.Now().UnixNano()
	var topics []string
	for _, d := range fidelityDelays {
		topics = append(topics, fmt.Sprintf("cfbench-perf-fidelity-%dms-%d", d.Milliseconds(), stamp))
	}
	ac, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": env.adminBrokers})
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	defer ac.Close()
	var specs []kafka.TopicSpecification
	for _, tp := range topics {
		specs = append(specs, kafka.TopicSpecification{Topic: tp, NumPartitions: 1, ReplicationFactor: 1})
	}
	if _, err := ac.CreateTopics(ctx, specs); err != nil {
		return fmt.Errorf("creating %s: %w", strings.Join(topics, ","), err)
	}
	if err := waitReady(ctx, env, topics); err != nil {
		return err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, _ = ac.DeleteTopics(dctx, topics)
	}()
	src, err := env.tokenSource()
	if err != nil {
		return err
	}
	// A fourth topic warms the pipeline up: measured rows are produced only once the consumer
	// receives (its first fetch can take seconds after New), so they all cross a live pipeline.
	warm := fmt.Sprintf("cfbench-perf-fidelity-warmup-%d", stamp)
	if _, err := ac.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: warm, NumPartitions: 1, ReplicationFactor: 1}}); err != nil {
		return fmt.Errorf("creating %s: %w", warm, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, _ = ac.DeleteTopics(dctx, []string{warm})
	}()
	if err := waitReady(ctx, env, []string{warm}); err != nil {
		return err
	}
	c, err := consume.New(ctx, consume.Brokers(env.brokers), consume.Topics(append(slices.Clone(topics), warm)...), consume.Token(src),
		consume.StartAtEnd(), consume.StopAfter(o.fidelity+time.Minute))
	if err != nil {
		return err
	}
	defer c.Close()
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": env.adminBrokers, "linger.ms": 1, "acks": 1})
	if err != nil {
		return fmt.Errorf("producer: %w", err)
	}
	defer p.Close()
	go func() {
		for range p.Events() {
		}
	}()
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	var produced int64
	var prodErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		defer stopRun()
		var k, v []byte
		warmUntil := time.Now().Add(30 * time.Second)
		for i := 0; ; i++ {
			if time.Now().After(warmUntil) || runCtx.Err() != nil {
				prodErr = fmt.Errorf("the consumer received nothing from %s within 30 s", warm)
				return
			}
			k, v = vehicleKey(k, i), vehicleValue(v, i, time.Now().UnixNano())
			_ = p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &warm, Partition: kafka.PartitionAny},
				Key: append([]byte(nil), k...), Value: append([]byte(nil), v...)}, nil)
			time.Sleep(50 * time.Millisecond)
			if st := c.Stats(); st.Topics[warm].Rows > 0 {
				break
			}
		}
		time.Sleep(500 * time.Millisecond) // every partition's fetch is live by now
		begin := time.Now()
		end := begin.Add(o.fidelity)
		for i := 0; time.Now().Before(end) && runCtx.Err() == nil; i++ {
			if ahead := time.Duration(float64(i)/o.fidelityRate*float64(time.Second)) - time.Since(begin); ahead > time.Millisecond {
				time.Sleep(ahead)
			}
			j := i % len(topics)
			k = vehicleKey(k, i)
			v = vehicleValue(v, i, time.Now().Add(-fidelityDelays[j]).UnixNano())
			err := p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topics[j], Partition: kafka.PartitionAny},
				Key: append([]byte(nil), k...), Value: append([]byte(nil), v...)}, nil)
			if err != nil {
				p.Flush(10)
				continue
			}
			produced++
		}
		p.Flush(5000)
		// Let the consumer drain what is in flight.
		for range 50 {
			time.Sleep(100 * time.Millisecond)
			st := c.Stats()
			var got int64
			for _, tp := range topics {
				got += st.Topics[tp].Rows
			}
			if got >= produced {
				return
			}
		}
	})
	runErr := c.Run(runCtx)
	wg.Wait()
	if runErr != nil {
		return runErr
	}
	if prodErr != nil {
		return prodErr
	}
	st := c.Stats()
	p50 := make([]float64, len(topics))
	c2k := make([]float64, len(topics))
	var rows int64
	for i, tp := range topics {
		ts := st.Topics[tp]
		if ts.E2ECommit == nil || ts.E2ECommit.TotalCount() == 0 || ts.CommitToKafka.TotalCount() == 0 {
			return fmt.Errorf("no e2e_commit recorded for %s", tp)
		}
		p50[i] = float64(ts.E2ECommit.ValueAtQuantile(50)) / 1e3 // ms
		c2k[i] = float64(ts.CommitToKafka.ValueAtQuantile(50)) / 1e3
		rows += ts.Rows
	}
	log.Info("fidelity", "produced", produced, "rows", rows, "e2e_p50_ms", p50, "commit_to_kafka_p50_ms", c2k)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for i, d := range fidelityDelays {
		dms := float64(d.Microseconds()) / 1e3
		errMs := p50[i] - p50[0] - dms
		if i == 0 {
			t.add(row{item: "5", what: "fidelity D=0: p50 e2e_commit (the pipeline's own delay)", ours: fmt.Sprintf("%.2f ms", p50[0]),
				theirs: "0 ms", target: "(baseline)", met: true})
		} else {
			t.add(row{item: "5", what: fmt.Sprintf("fidelity D=%gms: p50 e2e_commit(D) − p50 e2e_commit(0)", dms),
				ours: fmt.Sprintf("%.2f ms", p50[i]-p50[0]), theirs: fmt.Sprintf("%g ms", dms),
				ratio: fmt.Sprintf("err %+.2f ms", errMs), target: "|err| ≤ 1 ms", met: math.Abs(errMs) <= 1})
		}
		if i == 0 {
			continue // commit_to_kafka of D=0 is ≤ 0 (ms-truncated timestamp), recorded as 1 µs
		}
		// commit_to_kafka = record timestamp (CreateTime, set by the producer when it produced the
		// row, truncated to the ms) − updated: D − [0, 1) ms, so D − 0.5 ms at p50.
		e2 := c2k[i] + 0.5 - dms
		t.add(row{item: "5", what: fmt.Sprintf("fidelity D=%gms: p50 commit_to_kafka + 0.5 ms (ms timestamps)", dms),
			ours: fmt.Sprintf("%.2f ms", c2k[i]+0.5), theirs: fmt.Sprintf("%g ms", dms),
			ratio: fmt.Sprintf("err %+.2f ms", e2), target: "|err| ≤ 1 ms", met: math.Abs(e2) <= 1})
	}
	t.note("item 5: %d rows interleaved over 3 one-partition topics (D = 0, 5, 100 ms) in %s after a warm-up, produced at %.0fk rows/s (paced) "+
		"and consumed by an unthrottled consumer as they arrived; p50 e2e_commit per D: %.2f, %.2f, %.2f ms; p50 commit_to_kafka per D: %.2f, %.2f, %.2f ms",
		rows, o.fidelity, o.fidelityRate/1e3, p50[0], p50[1], p50[2], c2k[0], c2k[1], c2k[2])
	return nil
}

// waitReady waits (up to 30 s) until every partition of the new topics has a leader that
// answers a watermark query.
func waitReady(ctx context.Context, env stack, topics []string) error {
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": env.adminBrokers, "group.id": "cfbench-perf-meta"})
	if err != nil {
		return fmt.Errorf("metadata consumer: %w", err)
	}
	defer c.Close()
	deadline := time.Now().Add(30 * time.Second)
	for _, tp := range topics {
		for p := int32(0); p < 1; {
			_, _, err := c.QueryWatermarkOffsets(tp, p, 2000)
			if err == nil {
				p++
				continue
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("topic %s[%d] not ready: %w", tp, p, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return nil
}
