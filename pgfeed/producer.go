package pgfeed

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cfbench/cfbench/changefeed"
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// producerConfig maps a CockroachDB Kafka sink URI and kafka_sink_config onto librdkafka
// producer settings, the way CockroachDB's sink would behave:
//
//	URI host                      → bootstrap.servers
//	sasl_enabled + tls_enabled    → security.protocol SASL_SSL | SASL_PLAINTEXT | SSL | PLAINTEXT
//	sasl_mechanism                → sasl.mechanisms (OAUTHBEARER tokens come from
//	                                OAuthBearerTokenRefresh events answered by consume.TokenRefresher)
//	sasl_user / sasl_password     → sasl.username / sasl.password (PLAIN, SCRAM-SHA-256/512)
//	ca_cert, client_cert/key      → ssl.ca.pem, ssl.certificate.pem / ssl.key.pem
//	insecure_tls_skip_verify      → enable.ssl.certificate.verification=false
//	ClientID                      → client.id (CockroachDB's default "CockroachDB")
//	Flush.Frequency               → linger.ms (0 when unset: send at once, like CockroachDB)
//	Flush.Messages                → batch.num.messages (librdkafka has no separate "flush after N"
//	                                trigger; a full batch is sent at once), capped by Flush.MaxMessages
//	Flush.MaxMessages             → batch.num.messages when Flush.Messages is unset (default 1000)
//	Flush.Bytes                   → batch.size
//	RequiredAcks                  → acks (NONE 0, ONE 1 = CockroachDB's default, ALL -1)
//	Compression/CompressionLevel  → compression.codec / compression.level
//	Retry.Max / Retry.Backoff     → message.send.max.retries / retry.backoff.ms (3 / 500 ms;
//	                                "inf" → 2147483647)
//	Version                       → not mapped: librdkafka negotiates the protocol version.
//
// Per-partition order (needed for the resolved guarantee) is kept with enable.idempotence=true
// when acks=ALL, else with max.in.flight.requests.per.connection=1 (idempotence requires
// acks=all). Partitions are chosen by pgfeed (murmur2 of the key), never by librdkafka.
func producerConfig(u changefeed.SinkURI, k changefeed.KafkaSinkConfig) (kafka.ConfigMap, error) {
	if u.Scheme != changefeed.SchemeKafka {
		return nil, fmt.Errorf("sink URI scheme %q: pgfeed needs a kafka:// URI", u.Scheme)
	}
	if len(u.Brokers) == 0 {
		return nil, fmt.Errorf("sink URI has no broker address (kafka://host:port)")
	}
	cm := kafka.ConfigMap{
		"bootstrap.servers":         strings.Join(u.Brokers, ","),
		"client.id":                 k.EffectiveClientID(),
		"go.logs.channel.enable":    true,
		"go.delivery.report.fields": "none",
		"socket.keepalive.enable":   true,
	}
	switch {
	case u.SASLEnabled && u.TLSEnabled:
		cm["security.protocol"] = "SASL_SSL"
	case u.SASLEnabled:
		cm["security.protocol"] = "SASL_PLAINTEXT"
	case u.TLSEnabled:
		cm["security.protocol"] = "SSL"
	default:
		cm["security.protocol"] = "PLAINTEXT"
	}
	if u.TLSEnabled {
		if len(u.CACert) > 0 {
			cm["ssl.ca.pem"] = string(u.CACert)
		}
		if len(u.ClientCert) > 0 {
			cm["ssl.certificate.pem"] = string(u.ClientCert)
			cm["ssl.key.pem"] = string(u.ClientKey)
		}
		if u.InsecureTLSSkipVerify {
			cm["enable.ssl.certificate.verification"] = false
		}
	}
	if u.SASLEnabled {
		switch mech := u.SASLMechanism; mech {
		case changefeed.MechanismOAuthBearer:
			cm["sasl.mechanisms"] = "OAUTHBEARER"
		case changefeed.MechanismPlain, "SCRAM-SHA-256", "SCRAM-SHA-512":
			cm["sasl.mechanisms"] = mech
			cm["sasl.username"] = u.SASLUser
			cm["sasl.password"] = u.SASLPassword
		default:
			return nil, fmt.Errorf("sasl_mechanism %s is not supported by pgfeed (librdkafka): use OAUTHBEARER, PLAIN or SCRAM", mech)
		}
	}

	acks := k.EffectiveRequiredAcks()
	switch acks {
	case changefeed.AcksNone:
		cm["acks"] = 0
	case changefeed.AcksOne:
		cm["acks"] = 1
	case changefeed.AcksAll:
		cm["acks"] = -1
	default:
		return nil, fmt.Errorf("kafka_sink_config RequiredAcks %q: want NONE, ONE or ALL", acks)
	}
	if acks == changefeed.AcksAll {
		cm["enable.idempotence"] = true
	} else {
		cm["max.in.flight.requests.per.connection"] = 1
	}

	cm["linger.ms"] = int(k.Flush.Frequency.Milliseconds())
	maxMsgs := k.Flush.MaxMessages
	if maxMsgs <= 0 {
		maxMsgs = changefeed.DefaultFlushMaxMessages
	}
	batch := maxMsgs
	if k.Flush.Messages > 0 && k.Flush.Messages < batch {
		batch = k.Flush.Messages
	}
	cm["batch.num.messages"] = batch
	if k.Flush.Bytes > 0 {
		cm["batch.size"] = k.Flush.Bytes
	}

	switch c := strings.ToUpper(k.Compression); c {
	case "", changefeed.CompressionNone:
		cm["compression.codec"] = "none"
	case changefeed.CompressionGZIP, changefeed.CompressionSnappy, changefeed.CompressionLZ4, changefeed.CompressionZSTD:
		cm["compression.codec"] = strings.ToLower(c)
	default:
		return nil, fmt.Errorf("kafka_sink_config Compression %q: want NONE, GZIP, SNAPPY, LZ4 or ZSTD", k.Compression)
	}
	if k.CompressionLevel != nil {
		cm["compression.level"] = *k.CompressionLevel
	}

	retries := changefeed.DefaultRetryMax
	if k.Retry.Infinite {
		retries = 2147483647
	} else if k.Retry.Max > 0 {
		retries = k.Retry.Max
	}
	backoff := changefeed.DefaultRetryBackoff
	if k.Retry.Backoff > 0 {
		backoff = k.Retry.Backoff
	}
	cm["message.send.max.retries"] = retries
	cm["retry.backoff.ms"] = int(backoff.Milliseconds())
	return cm, nil
}

// redactedConfig renders a ConfigMap for logs with secret values hidden.
func redactedConfig(cm kafka.ConfigMap) string {
	var b strings.Builder
	keys := make([]string, 0, len(cm))
	for k := range cm {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := fmt.Sprint(cm[k])
		switch k {
		case "sasl.password", "ssl.key.pem", "ssl.certificate.pem", "ssl.ca.pem":
			v = "<redacted>"
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k + "=" + strconv.Quote(v))
	}
	return b.String()
}
