package changefeed

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Defaults CockroachDB applies when kafka_sink_config leaves a field out (sink_kafka.go
// defaultSaramaConfig and sink.go defaultRetryConfig).
const (
	DefaultKafkaClientID    = "CockroachDB"          // ClientID
	DefaultFlushMaxMessages = 1000                   // Flush.MaxMessages
	DefaultRetryMax         = 3                      // Retry.Max
	DefaultRetryBackoff     = 500 * time.Millisecond // Retry.Backoff
	defaultCompressionLevel = -1000                  // sarama.CompressionLevelDefault
)

// Compression codecs of kafka_sink_config's Compression field.
const (
	CompressionNone   = "NONE"
	CompressionGZIP   = "GZIP"
	CompressionSnappy = "SNAPPY"
	CompressionLZ4    = "LZ4"
	CompressionZSTD   = "ZSTD"
)

// Canonical RequiredAcks values (CockroachDB also accepts "0", "1" and "-1", in any case).
const (
	AcksNone = "NONE" // 0: no acknowledgement
	AcksOne  = "ONE"  // 1: the leader (CockroachDB's default)
	AcksAll  = "ALL"  // -1: all in-sync replicas
)

// KafkaFlush is kafka_sink_config's Flush object. Zero values mean "not set": with everything
// zero CockroachDB sends each message as soon as it can.
type KafkaFlush struct {
	Bytes       int           // flush once this many bytes are buffered
	Messages    int           // flush once this many messages are buffered
	Frequency   time.Duration // flush at least this often; required when Bytes or Messages is set
	MaxMessages int           // hard cap on a batch; 0 means CockroachDB's default (1000)
}

// KafkaRetry is kafka_sink_config's Retry object.
type KafkaRetry struct {
	Max      int           // retries; 0 means CockroachDB's default (3) unless Infinite
	Infinite bool          // "inf" (or "0" given as a string, which CockroachDB also reads as infinite)
	Backoff  time.Duration // initial backoff; 0 means CockroachDB's default (500ms)
}

// KafkaSinkConfig is the value of the kafka_sink_config option. Durations are Go duration strings
// in the JSON ("50ms"), as CockroachDB's jsonDuration reads them.
type KafkaSinkConfig struct {
	ClientID         string // client.id; "" means CockroachDB's default, "CockroachDB"
	Flush            KafkaFlush
	Compression      string // one of CompressionNone…CompressionZSTD, upper case; "" means NONE
	CompressionLevel *int   // nil means the codec's default
	RequiredAcks     string // AcksNone, AcksOne or AcksAll; "" means ONE
	Version          string // Kafka protocol version, e.g. "2.7.0"; "" means negotiate
	Retry            KafkaRetry
}

// kafkaSinkConfigJSON is the wire form. encoding/json matches field names case-insensitively, as
// it does inside CockroachDB.
type kafkaSinkConfigJSON struct {
	ClientID string `json:",omitempty"`
	Flush    *struct {
		Bytes       int          `json:",omitempty"`
		Messages    int          `json:",omitempty"`
		Frequency   jsonDuration `json:",omitempty"`
		MaxMessages int          `json:",omitempty"`
	} `json:",omitempty"`
	Compression      *string `json:",omitempty"`
	CompressionLevel *int    `json:",omitempty"`
	RequiredAcks     string  `json:",omitempty"`
	Version          string  `json:",omitempty"`
	Retry            *struct {
		Max     *jsonMaxRetries `json:",omitempty"`
		Backoff jsonDuration    `json:",omitempty"`
	} `json:",omitempty"`
}

// jsonDuration is CockroachDB's jsonDuration: a JSON string parsed by time.ParseDuration.
type jsonDuration time.Duration

func (j *jsonDuration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*j = jsonDuration(d)
	return nil
}

func (j jsonDuration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(j).String())
}

// jsonMaxRetries is CockroachDB's jsonMaxRetries: a positive integer, "inf", or an integer string.
// infinite is represented as -1 here (CockroachDB uses 0, which retry.Options reads as infinite).
type jsonMaxRetries int

const infiniteRetries jsonMaxRetries = -1 << 31

func (j *jsonMaxRetries) UnmarshalJSON(b []byte) error {
	if i, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		if i <= 0 {
			return errors.New("Retry.Max must be a positive integer. use 'inf' for infinite retries.")
		}
		*j = jsonMaxRetries(i)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("Retry.Max must be either a positive int or 'inf' for infinite retries.")
	}
	if strings.ToLower(s) == "inf" {
		*j = infiniteRetries
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("Retry.Max must be either a positive int or 'inf' for infinite retries.")
	}
	if n == 0 {
		*j = infiniteRetries
		return nil
	}
	*j = jsonMaxRetries(n)
	return nil
}

func (j jsonMaxRetries) MarshalJSON() ([]byte, error) {
	if j == infiniteRetries {
		return []byte(`"inf"`), nil
	}
	return []byte(strconv.Itoa(int(j))), nil
}

var kafkaVersionRE = regexp.MustCompile(`^v?[0-9]+\.[0-9]+(\.[0-9]+){0,2}$`)

// ParseKafkaSinkConfig parses and validates the JSON of the kafka_sink_config option with
// CockroachDB's rules and messages (sink.go getSinkConfigFromJson, sink_kafka.go, sink_kafka_v2.go):
//
//   - malformed JSON or a bad duration: "error unmarshalling json: …"
//   - negative values: "invalid sink config, all values must be non-negative"
//   - Flush.Bytes > 0 or Flush.Messages > 1 without Flush.Frequency: "Flush.Frequency must be > 0
//     when Flush.Bytes > 0 or Flush.Messages > 1" (the v1 sink's message); Flush.Messages = 1
//     without Frequency is rejected only by the v2 sink (the default since 24.x), with "invalid
//     sink config, Flush.Frequency is not set, messages may never be sent"
//   - Retry.Max: "Retry.Max must be a positive integer. use 'inf' for infinite retries."
//   - RequiredAcks: "unknown required acks value: …"; Version: "unknown kafka version: …"
//   - compression levels: "invalid gzip compression level: …", "snappy does not support
//     compression levels", "invalid zstd compression level: …"
//
// Stricter than CockroachDB: unknown fields are rejected (CockroachDB ignores them silently, so a
// typo such as "Frequncy" would go unnoticed). Field names match case-insensitively, as in
// CockroachDB. An empty string is the empty config.
func ParseKafkaSinkConfig(js string) (KafkaSinkConfig, error) {
	var cfg KafkaSinkConfig
	if strings.TrimSpace(js) == "" {
		return cfg, nil
	}
	var w kafkaSinkConfigJSON
	dec := json.NewDecoder(strings.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			return cfg, fmt.Errorf("kafka_sink_config: %s (CockroachDB would silently ignore it; cfbench rejects it so a typo cannot pass unnoticed)",
				strings.TrimPrefix(err.Error(), "json: "))
		}
		return cfg, fmt.Errorf("error unmarshalling json: %w", err)
	}
	var rest json.RawMessage
	if err := dec.Decode(&rest); err != io.EOF {
		return cfg, errors.New("error unmarshalling json: invalid character after top-level value")
	}

	cfg.ClientID = w.ClientID
	if w.Flush != nil {
		cfg.Flush = KafkaFlush{
			Bytes: w.Flush.Bytes, Messages: w.Flush.Messages,
			Frequency: time.Duration(w.Flush.Frequency), MaxMessages: w.Flush.MaxMessages,
		}
	}
	if w.Retry != nil {
		if w.Retry.Max != nil {
			if *w.Retry.Max == infiniteRetries {
				cfg.Retry.Infinite = true
			} else {
				cfg.Retry.Max = int(*w.Retry.Max)
			}
		}
		cfg.Retry.Backoff = time.Duration(w.Retry.Backoff)
	}
	f := cfg.Flush
	if f.Messages < 0 || f.Bytes < 0 || f.Frequency < 0 || cfg.Retry.Max < 0 || cfg.Retry.Backoff < 0 {
		return KafkaSinkConfig{}, errors.New("invalid sink config, all values must be non-negative")
	}
	if (f.Bytes > 0 || f.Messages > 1) && f.Frequency == 0 {
		return KafkaSinkConfig{}, errors.New("Flush.Frequency must be > 0 when Flush.Bytes > 0 or Flush.Messages > 1")
	}
	if f.Messages > 0 && f.Frequency == 0 {
		return KafkaSinkConfig{}, errors.New("invalid sink config, Flush.Frequency is not set, messages may never be sent")
	}
	if f.MaxMessages < 0 {
		return KafkaSinkConfig{}, errors.New("invalid sink config, all values must be non-negative")
	}

	const parseCtx = "failed to parse sink config; check kafka_sink_config option"
	if w.Compression != nil {
		c := strings.ToUpper(*w.Compression)
		switch c {
		case CompressionNone, CompressionGZIP, CompressionSnappy, CompressionLZ4, CompressionZSTD:
			cfg.Compression = c
		default:
			return KafkaSinkConfig{}, fmt.Errorf("%s: cannot parse %q as a compression codec (supported compression codecs are NONE, GZIP, SNAPPY, LZ4, ZSTD)", parseCtx, *w.Compression)
		}
	}
	switch strings.ToUpper(w.RequiredAcks) {
	case "":
	case "0", AcksNone:
		cfg.RequiredAcks = AcksNone
	case "1", AcksOne:
		cfg.RequiredAcks = AcksOne
	case "-1", AcksAll:
		cfg.RequiredAcks = AcksAll
	default:
		return KafkaSinkConfig{}, fmt.Errorf("unknown required acks value: %s (want NONE/0, ONE/1 or ALL/-1)", w.RequiredAcks)
	}
	if w.CompressionLevel != nil && *w.CompressionLevel != defaultCompressionLevel {
		lvl := *w.CompressionLevel
		switch cfg.Compression {
		case CompressionGZIP:
			if lvl < 0 || lvl > 9 {
				return KafkaSinkConfig{}, fmt.Errorf("invalid gzip compression level: %d", lvl)
			}
		case CompressionSnappy:
			return KafkaSinkConfig{}, errors.New("snappy does not support compression levels")
		case CompressionZSTD:
			if lvl < 1 || lvl > 4 {
				return KafkaSinkConfig{}, fmt.Errorf("invalid zstd compression level: %d", lvl)
			}
		}
		cfg.CompressionLevel = &lvl
	}
	if w.Version != "" {
		if !kafkaVersionRE.MatchString(w.Version) {
			return KafkaSinkConfig{}, fmt.Errorf("unknown kafka version: v%s", strings.TrimPrefix(w.Version, "v"))
		}
		cfg.Version = w.Version
	}
	return cfg, nil
}

// JSON renders the config back as compact JSON accepted by CockroachDB, with only the fields
// that are set, in a fixed order; ParseKafkaSinkConfig(c.JSON()) returns c. The empty config
// renders as "".
func (c KafkaSinkConfig) JSON() string {
	var w kafkaSinkConfigJSON
	w.ClientID = c.ClientID
	if c.Flush != (KafkaFlush{}) {
		w.Flush = &struct {
			Bytes       int          `json:",omitempty"`
			Messages    int          `json:",omitempty"`
			Frequency   jsonDuration `json:",omitempty"`
			MaxMessages int          `json:",omitempty"`
		}{c.Flush.Bytes, c.Flush.Messages, jsonDuration(c.Flush.Frequency), c.Flush.MaxMessages}
	}
	if c.Compression != "" {
		s := c.Compression
		w.Compression = &s
	}
	w.CompressionLevel = c.CompressionLevel
	w.RequiredAcks = c.RequiredAcks
	w.Version = c.Version
	if c.Retry != (KafkaRetry{}) {
		w.Retry = &struct {
			Max     *jsonMaxRetries `json:",omitempty"`
			Backoff jsonDuration    `json:",omitempty"`
		}{Backoff: jsonDuration(c.Retry.Backoff)}
		switch {
		case c.Retry.Infinite:
			m := infiniteRetries
			w.Retry.Max = &m
		case c.Retry.Max != 0:
			m := jsonMaxRetries(c.Retry.Max)
			w.Retry.Max = &m
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		panic(fmt.Sprintf("changefeed: encoding KafkaSinkConfig: %v", err)) // only plain types: cannot fail
	}
	out := strings.TrimSuffix(buf.String(), "\n")
	if out == "{}" {
		return ""
	}
	return out
}

// EffectiveRequiredAcks returns RequiredAcks with CockroachDB's default (ONE) applied.
func (c KafkaSinkConfig) EffectiveRequiredAcks() string {
	if c.RequiredAcks == "" {
		return AcksOne
	}
	return c.RequiredAcks
}

// EffectiveClientID returns ClientID with CockroachDB's default ("CockroachDB") applied.
func (c KafkaSinkConfig) EffectiveClientID() string {
	if c.ClientID == "" {
		return DefaultKafkaClientID
	}
	return c.ClientID
}
