package changefeed

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseKafkaSinkConfig(t *testing.T) {
	level := 3
	for _, tc := range []struct {
		name, js string
		want     KafkaSinkConfig
	}{
		{"empty", ``, KafkaSinkConfig{}},
		{"flush frequency only", `{"Flush":{"Frequency":"50ms"}}`, KafkaSinkConfig{Flush: KafkaFlush{Frequency: 50 * time.Millisecond}}},
		{"everything", `{"ClientID":"cf","Flush":{"Messages":100,"Bytes":1048576,"Frequency":"1s","MaxMessages":500},` +
			`"Compression":"zstd","CompressionLevel":3,"RequiredAcks":"-1","Version":"2.7.0","Retry":{"Max":"inf","Backoff":"250ms"}}`,
			KafkaSinkConfig{ClientID: "cf", Flush: KafkaFlush{Messages: 100, Bytes: 1 << 20, Frequency: time.Second, MaxMessages: 500},
				Compression: CompressionZSTD, CompressionLevel: &level, RequiredAcks: AcksAll, Version: "2.7.0",
				Retry: KafkaRetry{Infinite: true, Backoff: 250 * time.Millisecond}}},
		{"field names are case-insensitive, as in CockroachDB", `{"flush":{"frequency":"10ms"},"requiredacks":"one"}`,
			KafkaSinkConfig{Flush: KafkaFlush{Frequency: 10 * time.Millisecond}, RequiredAcks: AcksOne}},
		{"acks 0", `{"RequiredAcks":"0"}`, KafkaSinkConfig{RequiredAcks: AcksNone}},
		{"retry max int", `{"Retry":{"Max":5}}`, KafkaSinkConfig{Retry: KafkaRetry{Max: 5}}},
		{"retry max numeric string", `{"Retry":{"Max":"7"}}`, KafkaSinkConfig{Retry: KafkaRetry{Max: 7}}},
		{"messages 1 with frequency", `{"Flush":{"Messages":1,"Frequency":"1ms"}}`, KafkaSinkConfig{Flush: KafkaFlush{Messages: 1, Frequency: time.Millisecond}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseKafkaSinkConfig(tc.js)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
			back, err := ParseKafkaSinkConfig(got.JSON())
			if err != nil || !reflect.DeepEqual(back, got) {
				t.Fatalf("JSON() %s does not round-trip: %+v, %v", got.JSON(), back, err)
			}
		})
	}
}

// TestParseKafkaSinkConfigErrors checks the messages against CockroachDB's (sink.go,
// sink_kafka.go, sink_kafka_v2.go and changefeed_test.go).
func TestParseKafkaSinkConfigErrors(t *testing.T) {
	for _, tc := range []struct{ name, js, want string }{
		{"v1 rule: bytes without frequency", `{"Flush":{"Bytes":100}}`, "Flush.Frequency must be > 0 when Flush.Bytes > 0 or Flush.Messages > 1"},
		{"v1 rule: messages > 1 without frequency", `{"Flush":{"Messages":100}}`, "Flush.Frequency must be > 0 when Flush.Bytes > 0 or Flush.Messages > 1"},
		{"v2 rule: messages = 1 without frequency", `{"Flush":{"Messages":1}}`, "invalid sink config, Flush.Frequency is not set, messages may never be sent"},
		{"negative messages", `{"Flush": {"Messages": -100, "Frequency": "1s"}}`, "invalid sink config, all values must be non-negative"},
		{"negative frequency", `{"Flush": {"Messages": 100, "Frequency": "-1s"}}`, "invalid sink config, all values must be non-negative"},
		{"bad duration", `{"Flush": {"Frequency": "Zm9v"}}`, `error unmarshalling json: time: invalid duration "Zm9v"`},
		{"duration as number", `{"Flush": {"Frequency": 50}}`, `error unmarshalling json`},
		{"not json", `not json`, "error unmarshalling json: invalid character"},
		{"trailing garbage", `{} {}`, "error unmarshalling json"},
		{"retry max string", `{"Retry": {"Max": "not valid"}}`, "Retry.Max must be either a positive int or 'inf' for infinite retries."},
		{"retry max zero", `{"Retry": {"Max": 0}}`, "Retry.Max must be a positive integer. use 'inf' for infinite retries."},
		{"negative backoff", `{"Retry": {"Backoff": "-1s"}}`, "invalid sink config, all values must be non-negative"},
		{"acks", `{"RequiredAcks":"TWO"}`, "unknown required acks value: TWO"},
		{"compression", `{"Compression":"BROTLI"}`, `cannot parse "BROTLI" as a compression codec`},
		{"gzip level", `{"Compression":"GZIP","CompressionLevel":11}`, "invalid gzip compression level: 11"},
		{"snappy level", `{"Compression":"SNAPPY","CompressionLevel":1}`, "snappy does not support compression levels"},
		{"zstd level", `{"Compression":"ZSTD","CompressionLevel":9}`, "invalid zstd compression level: 9"},
		{"version", `{"Version":"latest"}`, "unknown kafka version: vlatest"},
		{"unknown field (stricter than CockroachDB)", `{"Flush":{"Frequncy":"1s"}}`, `kafka_sink_config: unknown field "Frequncy"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseKafkaSinkConfig(tc.js)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseKafkaSinkConfig(%s)\n error %v\n want  %q", tc.js, err, tc.want)
			}
		})
	}
}

func TestKafkaSinkConfigEffective(t *testing.T) {
	var c KafkaSinkConfig
	if c.EffectiveClientID() != "CockroachDB" || c.EffectiveRequiredAcks() != AcksOne {
		t.Fatalf("defaults: %q %q", c.EffectiveClientID(), c.EffectiveRequiredAcks())
	}
	c = KafkaSinkConfig{ClientID: "x", RequiredAcks: AcksAll}
	if c.EffectiveClientID() != "x" || c.EffectiveRequiredAcks() != AcksAll {
		t.Fatalf("set: %q %q", c.EffectiveClientID(), c.EffectiveRequiredAcks())
	}
	if (KafkaSinkConfig{}).JSON() != "" {
		t.Fatalf("empty config renders %q", (KafkaSinkConfig{}).JSON())
	}
}
