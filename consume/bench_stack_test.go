package consume_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cfbench/cfbench/consume"
	"github.com/cfbench/cfbench/internal/stacktest"
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// BenchmarkStackConsume compares consuming a pre-filled topic (messages=N 450-byte vehicles rows,
// OAUTHBEARER) with consume.Consumer against a bare confluent-kafka-go loop that only counts the
// messages. Both report msgs/s; the target is cfbench ≥ 90% of bare. Run it with
//
//	CFBENCH_INTEGRATION=1 go test ./consume -run '^$' -bench StackConsume -benchtime 3x
func BenchmarkStackConsume(b *testing.B) {
	s := stacktest.Require(b)
	const n = 100_000
	topic := newTopicB(b, s)
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": s.KafkaAdminBrokers, "linger.ms": 5, "batch.num.messages": 10000})
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		for range p.Events() {
		}
	}()
	upd := time.Now().UnixNano()
	for i := range n {
		v := fmt.Sprintf(`{"after": {"city": "paris", "creation_time": "2019-01-02T03:04:05.123456", "current_location": "64110 Richard Crescent", "dead": false, "ext": {"brand": "Merida", "color": "red"}, "id": "2c28a231-8b1e-4e83-9bfa-%012d", "owner_id": "f7f0c3e4-8b9a-4c1e-9a55-0f8c2d7b6a11", "status": "available", "type": "bike"}, "mvcc_timestamp": "%d.0000000000", "updated": "%d.0000000000"}`, i, upd+int64(i), upd+int64(i))
		k := fmt.Sprintf(`["paris", "2c28a231-8b1e-4e83-9bfa-%012d"]`, i)
		for {
			err := p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny}, Key: []byte(k), Value: []byte(v)}, nil)
			if err == nil {
				break
			}
			p.Flush(100)
		}
	}
	for p.Flush(1000) > 0 {
	}
	p.Close()
	src := tokenSource(b, s)
	ctx := context.Background()

	b.Run(fmt.Sprintf("loop=bare/messages=%d", n), func(b *testing.B) {
		for b.Loop() {
			kc, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": s.KafkaBrokers, "security.protocol": "SASL_PLAINTEXT",
				"sasl.mechanisms": "OAUTHBEARER", "group.id": "cfbench-bench-bare", "enable.auto.commit": false})
			if err != nil {
				b.Fatal(err)
			}
			r := consume.NewTokenRefresher(kc, src, "", nil)
			if err := kc.Assign([]kafka.TopicPartition{{Topic: &topic, Partition: 0, Offset: kafka.OffsetBeginning}}); err != nil {
				b.Fatal(err)
			}
			var got int
			var start time.Time
			for got < n {
				switch kc.Poll(100).(type) {
				case *kafka.Message:
					if got == 0 {
						start = time.Now()
					}
					got++
				case kafka.OAuthBearerTokenRefresh:
					r.Refresh(ctx)
				}
			}
			b.ReportMetric(float64(n-1)/time.Since(start).Seconds(), "msgs/s")
			r.Close()
			kc.Close()
		}
	})
	b.Run(fmt.Sprintf("loop=cfbench/messages=%d", n), func(b *testing.B) {
		for b.Loop() {
			c, err := consume.New(ctx, consume.Brokers(s.KafkaBrokers), consume.Topics(topic), consume.Token(src),
				consume.StartAtBeginning(), consume.StopAfterMessages(n))
			if err != nil {
				b.Fatal(err)
			}
			if err := c.Run(ctx); err != nil {
				b.Fatal(err)
			}
			st := c.Stats()
			if st.Overall.Rows != n {
				b.Fatalf("rows %d", st.Overall.Rows)
			}
			b.ReportMetric(float64(n-1)/st.LastMessage.Sub(st.FirstMessage).Seconds(), "msgs/s")
			_ = c.Close()
		}
	})
}

func newTopicB(b *testing.B, s stacktest.Stack) string {
	ac, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": s.KafkaAdminBrokers})
	if err != nil {
		b.Fatal(err)
	}
	defer ac.Close()
	name := fmt.Sprintf("cfbench-consume-bench-%d", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := ac.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: name, NumPartitions: 1, ReplicationFactor: 1}})
	if err != nil || res[0].Error.Code() != kafka.ErrNoError {
		b.Fatalf("creating topic %s: %v %v", name, err, res)
	}
	b.Cleanup(func() {
		ac, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": s.KafkaAdminBrokers})
		if err == nil {
			_, _ = ac.DeleteTopics(context.Background(), []string{name})
			ac.Close()
		}
	})
	return name
}
