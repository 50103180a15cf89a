package profiles

import (
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cfbench/cfbench/changefeed"
	"github.com/cfbench/cfbench/load"
)

func TestExamplesLoad(t *testing.T) {
	ex := Examples()
	var names []string
	for _, e := range ex {
		names = append(names, e.Name)
		if e.Description == "" {
			t.Errorf("example %s has no description", e.Name)
		}
	}
	want := []string{"local", "local-acks-all", "local-compression-zstd", "local-fetch-wait-high", "local-fetch-wait-low",
		"local-flush-batched", "local-flush-immediate", "local-matrix-flush", "local-tls", "okta-staging"}
	if !slices.Equal(names, want) {
		t.Errorf("examples %v, want %v", names, want)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			p, err := Load(name, testGetenv)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Validate(); err != nil {
				t.Errorf("Validate after Load: %v", err)
			}
			if p.Name != name {
				t.Errorf("name %q", p.Name)
			}
			// The options render to a WITH clause CockroachDB's rules accept, with the same
			// kafka_sink_config.
			o, err := changefeed.ParseOptions(p.Changefeed.WithClause())
			if err != nil {
				t.Fatalf("WITH %s: %v", p.Changefeed.WithClause(), err)
			}
			if !o.Updated || o.Resolved == nil || *o.Resolved != time.Second {
				t.Errorf("options %+v", o)
			}
			k := p.Changefeed.KafkaSinkConfig
			if o.KafkaSinkConfig != nil && (o.KafkaSinkConfig.Flush.Frequency != k.Flush.Frequency ||
				o.KafkaSinkConfig.Flush.Messages != k.Flush.Messages || o.KafkaSinkConfig.Flush.Bytes != k.Flush.Bytes) {
				t.Errorf("kafka_sink_config %+v → %+v", k, *o.KafkaSinkConfig)
			}
			// What `profiles show` prints loads back to the same profile.
			y, err := p.RedactedYAML()
			if err != nil {
				t.Fatal(err)
			}
			back, err := Parse(name+".yaml", y, testGetenv)
			if err != nil {
				t.Fatalf("reloading the shown profile: %v\n%s", err, y)
			}
			if !reflect.DeepEqual(back.Redacted(), p.Redacted()) {
				t.Errorf("reloaded profile differs:\n%s", y)
			}
			if back.IdP.ClientSecret.Reveal() != p.IdP.ClientSecret.Reveal() {
				t.Error("reloaded profile has another secret")
			}
		})
	}
}

func TestExampleSettings(t *testing.T) {
	get := func(name string) *Profile {
		t.Helper()
		p, err := Load(name, testGetenv)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	l := get("local")
	if l.Changefeed.Mode != ModePgfeed || l.Database.Kind != KindPostgres || l.Kafka.SecurityProtocol != SASLPlaintext ||
		l.Workload.Rate != 200 || l.Workload.Duration != time.Minute || l.Workload.Warmup != 10*time.Second ||
		l.IdP.Audience != "cfbench-kafka" || l.Changefeed.Sink.Audience != "cfbench-kafka" ||
		l.IdP.TokenURL != "http://127.0.0.1:24444/oauth2/token" || l.Kafka.Brokers[0] != "127.0.0.1:29093" ||
		l.Changefeed.Sink.ClientID != "cfbench-producer" || l.IdP.ClientID != "cfbench-consumer" {
		t.Errorf("local: %+v", l)
	}

	// local-tls is local over the TLS instance: SASL_SSL and https, every client trusting the CA.
	tl := get("local-tls")
	ca := filepath.Join("testdata", "tls", "ca.pem")
	if tl.Kafka.SecurityProtocol != SASLSSL || tl.Kafka.CAFile != ca || tl.IdP.CAFile != ca ||
		tl.IdP.TokenURL != "https://127.0.0.1:24446/oauth2/token" || tl.Kafka.Brokers[0] != "127.0.0.1:29096" ||
		!tl.Changefeed.Sink.TLSEnabled || tl.Changefeed.Sink.CAFile != ca || tl.Changefeed.Sink.TokenCAFile != ca ||
		tl.Changefeed.Sink.TokenURL != tl.IdP.TokenURL || tl.Changefeed.Sink.Brokers[0] != "127.0.0.1:29096" ||
		tl.Changefeed.Mode != ModePgfeed || tl.Workload.Rate != l.Workload.Rate {
		t.Errorf("local-tls: %+v", tl)
	}

	o := get("okta-staging")
	const tokenURL = "https://dev-123456.okta.com/oauth2/default/v1/token"
	if o.Changefeed.Mode != ModeCreate || o.Database.Kind != KindCockroachDB || o.Kafka.SecurityProtocol != SASLSSL ||
		o.IdP.TokenURL != tokenURL || o.Changefeed.Sink.TokenURL != tokenURL || !o.Changefeed.Sink.TLSEnabled ||
		o.IdP.ClientSecretEnv != "CFBENCH_CLIENT_SECRET" || o.Changefeed.Sink.ClientSecretEnv != "CFBENCH_PRODUCER_CLIENT_SECRET" ||
		o.IdP.Audience != "" || o.Changefeed.Sink.Audience != "" || !slices.Equal(o.IdP.Scopes, []string{"kafka"}) ||
		o.Changefeed.Sink.ExternalConnection == "" || !o.Changefeed.CancelOnExit || o.Kafka.CAFile != "" {
		t.Errorf("okta-staging: %+v", o)
	}
	// The sink URI CockroachDB will get is valid by CockroachDB's rules.
	sink := o.Changefeed.Sink
	if _, err := (changefeed.OAuthSink{Brokers: sink.Brokers, TLSEnabled: sink.TLSEnabled, ClientID: sink.ClientID,
		ClientSecret: sink.ClientSecret.Reveal(), TokenURL: sink.TokenURL, Scopes: sink.Scopes}).SinkURI(); err != nil {
		t.Errorf("okta-staging sink URI: %v", err)
	}

	if f := get("local-flush-immediate").Changefeed.KafkaSinkConfig.Flush; f != (KafkaFlush{Messages: 1, Frequency: time.Millisecond}) {
		t.Errorf("flush-immediate: %+v", f)
	}
	if f := get("local-flush-batched").Changefeed.KafkaSinkConfig.Flush; f != (KafkaFlush{Messages: 1000, Bytes: 1 << 20, Frequency: 500 * time.Millisecond}) {
		t.Errorf("flush-batched: %+v", f)
	}
	if c := get("local-compression-zstd").Changefeed.KafkaSinkConfig.Compression; c != "ZSTD" {
		t.Errorf("compression %q", c)
	}
	if a := get("local-acks-all").Changefeed.KafkaSinkConfig.RequiredAcks; a != "ALL" {
		t.Errorf("acks %q", a)
	}
	for name, want := range map[string]int64{"local-fetch-wait-low": 5, "local-fetch-wait-high": 500} {
		c := get(name).Kafka.Consumer
		if c["fetch.wait.max.ms"] != want || c["fetch.min.bytes"] != int64(1) {
			t.Errorf("%s consumer %v", name, c)
		}
	}
	// Variants change only what they say: everything else is local's.
	base := l.Redacted()
	v := get("local-acks-all").Redacted()
	v["changefeed"].(map[string]any)["kafka_sink_config"].(map[string]any)["RequiredAcks"] = ""
	v["name"], v["description"] = base["name"], base["description"]
	delete(v, "extends")
	if !reflect.DeepEqual(v, base) {
		t.Errorf("local-acks-all differs from local beyond RequiredAcks:\n%v\n%v", v, base)
	}
}

func TestWithClause(t *testing.T) {
	c := Changefeed{
		Options: ChangefeedOptions{Updated: true, Resolved: 2 * time.Second, Diff: true, KeyInValue: true},
		KafkaSinkConfig: KafkaSinkConfig{Flush: KafkaFlush{Messages: 100, Frequency: 50 * time.Millisecond},
			RequiredAcks: "ALL", Compression: "GZIP", CompressionLevel: 5, Retry: KafkaRetry{Max: 4, Backoff: time.Second}},
	}
	want := `updated, resolved='2s', diff, key_in_value, kafka_sink_config='{"Flush":{"Messages":100,"Frequency":"50ms"},"RequiredAcks":"ALL","Compression":"GZIP","CompressionLevel":5,"Retry":{"Max":4,"Backoff":"1s"}}'`
	if got := c.WithClause(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	o, err := changefeed.ParseOptions(c.WithClause())
	if err != nil {
		t.Fatal(err)
	}
	if k := o.KafkaSinkConfig; k == nil || k.RequiredAcks != "ALL" || k.Retry.Max != 4 || k.Retry.Backoff != time.Second ||
		k.Compression != "GZIP" || *k.CompressionLevel != 5 || k.Flush.Frequency != 50*time.Millisecond {
		t.Errorf("parsed back: %+v", o.KafkaSinkConfig)
	}
	if got := (Changefeed{}).WithClause(); got != "" {
		t.Errorf("empty: %q", got)
	}
}

func TestConsumeTopics(t *testing.T) {
	p := &Profile{Changefeed: Changefeed{Tables: []string{"users", "rides"}, Sink: Sink{TopicPrefix: "bench_"}}}
	if got := strings.Join(p.ConsumeTopics(), ","); got != "bench_users,bench_rides" {
		t.Errorf("prefix: %s", got)
	}
	p.Changefeed.Sink.TopicName = "all"
	if got := strings.Join(p.ConsumeTopics(), ","); got != "bench_all" {
		t.Errorf("topic_name: %s (CockroachDB prefixes topic_name too)", got)
	}
	p.Kafka.TopicPrefix = "other_"
	if got := strings.Join(p.ConsumeTopics(), ","); got != "other_all" {
		t.Errorf("kafka.topic_prefix: %s", got)
	}
	p.Kafka.Topics = []string{"x"}
	if got := strings.Join(p.ConsumeTopics(), ","); got != "x" {
		t.Errorf("explicit: %s", got)
	}
}

// TestMixOpsMatchLoad: the op names a profile accepts are load's.
func TestMixOpsMatchLoad(t *testing.T) {
	for _, op := range append(slices.Clone(MixOps), "readVehicles") {
		o, err := load.ParseOp(op)
		if err != nil || o.String() != op {
			t.Errorf("op %s: load says %v, %v", op, o, err)
		}
	}
	dm := load.DefaultMix()
	for op, w := range DefaultMix() {
		o, _ := load.ParseOp(op)
		if dm[o] != w {
			t.Errorf("default weight of %s: %v here, %v in load", op, w, dm[o])
		}
	}
}
