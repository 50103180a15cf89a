package pgfeed

import (
	"strings"
	"testing"

	"github.com/cfbench/cfbench/changefeed"
)

func TestProducerConfig(t *testing.T) {
	base := "kafka://127.0.0.1:29093,127.0.0.1:29094?sasl_enabled=true&sasl_mechanism=OAUTHBEARER&sasl_client_id=c&sasl_client_secret=czNjcjN0&sasl_token_url=http%3A%2F%2F127.0.0.1%3A1%2Ftoken"
	tests := []struct {
		name string
		uri  string
		ksc  string
		want map[string]any
	}{
		{"defaults like CockroachDB", base, "", map[string]any{
			"bootstrap.servers": "127.0.0.1:29093,127.0.0.1:29094", "security.protocol": "SASL_PLAINTEXT",
			"sasl.mechanisms": "OAUTHBEARER", "client.id": "CockroachDB", "acks": 1, "linger.ms": 0,
			"batch.num.messages": 1000, "compression.codec": "none", "message.send.max.retries": 3,
			"retry.backoff.ms": 500, "max.in.flight.requests.per.connection": 1,
		}},
		{"flush, acks all, compression, retry", base + "&tls_enabled=true",
			`{"ClientID": "pgf", "Flush": {"Messages": 100, "Bytes": 65536, "Frequency": "10ms", "MaxMessages": 500}, "RequiredAcks": "ALL", "Compression": "ZSTD", "Retry": {"Max": 7, "Backoff": "1s"}}`,
			map[string]any{
				"security.protocol": "SASL_SSL", "client.id": "pgf", "acks": -1, "enable.idempotence": true,
				"linger.ms": 10, "batch.num.messages": 100, "batch.size": 65536, "compression.codec": "zstd",
				"message.send.max.retries": 7, "retry.backoff.ms": 1000,
			}},
		{"plain", "kafka://h:1?sasl_enabled=true&sasl_mechanism=PLAIN&sasl_user=u&sasl_password=p", `{"RequiredAcks": "NONE"}`,
			map[string]any{"sasl.mechanisms": "PLAIN", "sasl.username": "u", "sasl.password": "p", "acks": 0}},
		{"no auth", "kafka://h:1", "", map[string]any{"security.protocol": "PLAINTEXT"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := changefeed.ParseSinkURI(tc.uri)
			if err != nil {
				t.Fatal(err)
			}
			var k changefeed.KafkaSinkConfig
			if tc.ksc != "" {
				if k, err = changefeed.ParseKafkaSinkConfig(tc.ksc); err != nil {
					t.Fatal(err)
				}
			}
			cm, err := producerConfig(u, k)
			if err != nil {
				t.Fatal(err)
			}
			for key, want := range tc.want {
				if got := cm[key]; got != want {
					t.Errorf("%s = %v (%T), want %v", key, got, got, want)
				}
			}
			if strings.Contains(redactedConfig(cm), `sasl.password="p"`) {
				t.Error("redactedConfig shows the password")
			}
		})
	}
}
