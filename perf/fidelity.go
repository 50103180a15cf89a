package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/cfbench/cfbench/consume"
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// fidelityDelays are the known ages D of the rows produced in item 5.
var fidelityDelays = []time.Duration{0, 5 * time.Millisecond, 100 * time.Millisecond}

// benchFidelity is item 5: one producer writes, as fast as it can, rows whose updated timestamp
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
		specs = append(specs, kafka.TopicSpecification{Topic: tp, NumPartitions: 2, ReplicationFactor: 1})
	}
	if _, err := ac.CreateTopics(ctx, specs); err != nil {
		return fmt.Errorf("creating %s: %w", strings.Join(topics, ","), err)
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
	c, err := consume.New(ctx, consume.Brokers(env.brokers), consume.Topics(topics...), consume.Token(src),
		consume.StartAtEnd(), consume.StopAfter(o.fidelity+3*time.Second))
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
	var produced int64
	var wg sync.WaitGroup
	wg.Go(func() {
		var k, v []byte
		end := time.Now().Add(o.fidelity)
		for i := 0; time.Now().Before(end) && ctx.Err() == nil; i++ {
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
	})
	runErr := c.Run(ctx)
	wg.Wait()
	if runErr != nil {
		return runErr
	}
	st := c.Stats()
	p50 := make([]float64, len(topics))
	for i, tp := range topics {
		h := st.Topics[tp].E2ECommit
		if h == nil || h.TotalCount() == 0 {
			return fmt.Errorf("no e2e_commit recorded for %s", tp)
		}
		p50[i] = float64(h.ValueAtQuantile(50)) / 1e3 // ms
	}
	rate := float64(st.Overall.Rows) / st.LastMessage.Sub(st.FirstMessage).Seconds()
	log.Info("fidelity", "produced", produced, "rows", st.Overall.Rows, "p50_ms", p50)
	for i, d := range fidelityDelays {
		dms := float64(d.Microseconds()) / 1e3
		errMs := p50[i] - p50[0] - dms
		r := row{item: "5", what: fmt.Sprintf("fidelity D=%gms: p50(D) − p50(0)", dms),
			ours: fmt.Sprintf("%.2f ms", p50[i]-p50[0]), theirs: fmt.Sprintf("%g ms", dms),
			ratio: fmt.Sprintf("err %+.2f ms", errMs), target: "|err| ≤ 1 ms", met: math.Abs(errMs) <= 1}
		if i == 0 {
			r.what, r.ours, r.theirs, r.ratio, r.target, r.met = "fidelity D=0: p50 e2e_commit (pipeline delay)",
				fmt.Sprintf("%.2f ms", p50[0]), "0 ms", "", "(baseline)", true
		}
		t.add(r)
	}
	t.note("item 5: %d rows interleaved over 3 topics (D = 0, 5, 100 ms) in %s, consumed at %.0fk rows/s while produced; p50 e2e_commit per D: %.2f, %.2f, %.2f ms",
		st.Overall.Rows, o.fidelity, rate/1e3, p50[0], p50[1], p50[2])
	return nil
}
