package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cfbench/cfbench/internal/stacktest"
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

func TestConsumeUsageErrors(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tok := []string{"--token-url", "http://127.0.0.1:1/oauth2/token", "--client-id", "c", "--client-secret-file", secret}
	args := func(a ...string) []string { return append(append([]string{"consume"}, tok...), a...) }
	tests := []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"consume", "--brokers", "b", "--topics", "t"}, "", "--token-url and --client-id are required"},
		{[]string{"consume", "--brokers", "b", "--topics", "t", "--token-url", "http://x", "--client-id", "c"}, "", "no client secret: give --client-secret-file or set CFBENCH_CLIENT_SECRET"},
		{args("--topics", "t"), "", "brokers: required"},
		{args("--brokers", "b"), "", "topics: give a topic list or a topic prefix"},
		{args("--brokers", "b", "--topics", "t", "--topic-prefix", "p"), "", "not both"},
		{args("--brokers", "b", "--topics", "t", "-X", "group.id=g"), "", "librdkafka property group.id: set by cfbench; use GroupID (--group)"},
		{args("--brokers", "b", "--topics", "t", "-X", "sasl.oauthbearer.client.secret=hunter2"), "", "property sasl.oauthbearer.client.secret: set by cfbench"},
		{args("--brokers", "b", "--topics", "t", "-X", "novalue"), "", "-X novalue: want key=value"},
		{args("--brokers", "b", "--topics", "t", "--start", "yesterday"), "", `--start "yesterday": want end, beginning, time or offsets`},
		{args("--brokers", "b", "--topics", "t", "--start", "time", "--start-time", "noon"), "", `--start-time "noon"`},
		{args("--brokers", "b", "--topics", "t", "--start", "offsets", "--start-offsets", "t=1"), "", "--start-offsets: \"t=1\": want topic:partition=offset"},
		{args("--brokers", "b", "--topics", "t", "--start-time", "2026-01-02T03:04:05Z"), "", "--start-time goes with --start time"},
		{args("--brokers", "b", "--topics", "t", "--security-protocol", "PLAINTEXT"), "", "want SASL_PLAINTEXT or SASL_SSL"},
		{[]string{"consume", "--brokers", "b", "--topics", "t", "--token-url", "ftp://x", "--client-id", "c"}, "hunter2", "token options"},
	}
	for _, tt := range tests {
		t.Setenv("CFBENCH_CLIENT_SECRET", tt.env)
		checkUsageError(t, tt.args, tt.want, "hunter2")
	}
}

// TestConsumeOnStack runs `cfbench consume` for 3 s against a fresh topic that a PLAINTEXT
// producer fills with changefeed rows; the table, the summary and the counts must show them.
func TestConsumeOnStack(t *testing.T) {
	s := stacktest.Require(t)
	var b [4]byte
	_, _ = rand.Read(b[:])
	topic := "cfbench-cmd-consume-" + hex.EncodeToString(b[:])
	ac, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": s.KafkaAdminBrokers})
	if err != nil {
		t.Fatal(err)
	}
	defer ac.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	if res, err := ac.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: topic, NumPartitions: 2, ReplicationFactor: 1}}); err != nil || res[0].Error.Code() != kafka.ErrNoError {
		t.Fatalf("creating topic: %v %v", err, res)
	}
	defer ac.DeleteTopics(context.Background(), []string{topic})
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": s.KafkaAdminBrokers, "linger.ms": 0})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const n = 20
	dc := make(chan kafka.Event, n)
	for i := range n {
		v := fmt.Sprintf(`{"after": {"id": %d}, "updated": "%d.0000000000"}`, i, time.Now().Add(-time.Second).UnixNano())
		if err := p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: int32(i % 2)}, Key: []byte(fmt.Sprintf("[%d]", i)), Value: []byte(v)}, dc); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		if m := (<-dc).(*kafka.Message); m.TopicPartition.Error != nil {
			t.Fatalf("delivery: %v", m.TopicPartition.Error)
		}
	}
	var out, errb bytes.Buffer
	err = run(ctx, []string{"consume", "--brokers", s.KafkaBrokers, "--topic-prefix", topic, "--duration", "3s", "--start", "beginning",
		"--token-url", s.TokenURL, "--client-id", s.ClientID, "--client-secret-file", s.ClientSecretFile,
		"--audience", s.Audience, "--scope", "kafka", "-X", "fetch.wait.max.ms=50"}, &out, &errb)
	if err != nil {
		t.Fatalf("consume: %v\nstderr:\n%s", err, errb.String())
	}
	got := out.String()
	for _, want := range []string{"events/s", "p99(ms)", "e2e_commit                   20", fmt.Sprintf("received %d (keys %d)", n, n), "duplicates 0", "1 tokens set, 0 failures"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if secret := stacktest.Secret(t, s.ClientSecretFile); strings.Contains(got+errb.String(), secret) {
		t.Error("the client secret appears in the output")
	}
}
