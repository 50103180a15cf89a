package consume

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"
)

// Opt configures a Consumer; options are checked once, in New.
type Opt func(*config)

// StartKind says where a consumer without a group starts reading.
type StartKind int

// Start positions.
const (
	StartEnd       StartKind = iota // the end of every partition: only messages produced after New (default)
	StartBeginning                  // the oldest retained message of every partition
	StartTime                       // the first message whose timestamp ≥ a time (librdkafka OffsetsForTimes)
	StartOffsets                    // given offsets; unlisted partitions start at the end
)

type config struct {
	brokers          string
	topics           []string
	topicPrefix      string
	securityProtocol string
	token            TokenSource
	principal        string
	groupID          string
	start            StartKind
	startTime        time.Time
	startOffsets     map[string]map[int32]int64
	props            map[string]string
	clockOffset      time.Duration
	tsOffset         time.Duration
	refreshWindow    time.Duration
	ledger           Ledger
	tableOf          func(string) string
	onInterval       func(Interval)
	onRebalance      func(Rebalance)
	stopAfter        time.Duration
	stopAfterN       int64
	pollTimeout      time.Duration
	setupTimeout     time.Duration
	log              *slog.Logger
}

// Brokers sets the bootstrap brokers, "host:port[,host:port...]" (librdkafka bootstrap.servers).
// Required.
func Brokers(list string) Opt { return func(c *config) { c.brokers = list } }

// Topics names the topics to consume. Exactly one of Topics and TopicPrefix is required.
func Topics(names ...string) Opt { return func(c *config) { c.topics = append(c.topics, names...) } }

// TopicPrefix consumes every topic whose name starts with prefix, as found in the cluster's
// metadata when New runs (internal "__" topics excluded). It matches CockroachDB's topic_prefix
// sink parameter, and by default the prefix is stripped to get the table name for the ledger.
func TopicPrefix(prefix string) Opt { return func(c *config) { c.topicPrefix = prefix } }

// SecurityProtocol sets librdkafka's security.protocol: "SASL_PLAINTEXT" (default) or
// "SASL_SSL". The SASL mechanism is always OAUTHBEARER (sasl.mechanisms).
func SecurityProtocol(p string) Opt { return func(c *config) { c.securityProtocol = p } }

// Token sets where OAUTHBEARER tokens come from (e.g. an *oauth.Source). Required.
func Token(src TokenSource) Opt { return func(c *config) { c.token = src } }

// Principal sets the principal name handed to librdkafka with each token; default: the token's
// JWT "sub" claim. The broker takes the principal from the validated token either way.
func Principal(name string) Opt { return func(c *config) { c.principal = name } }

// GroupID joins a consumer group (librdkafka group.id) and subscribes instead of assigning every
// partition directly; offsets are committed automatically and when a partition is revoked. With a
// group only StartEnd and StartBeginning are possible: New takes the start offsets then, and each
// partition the group assigns starts at its committed offset or there, whichever is later (see
// OnRebalance), so a rebalance never skips a message.
func GroupID(id string) Opt { return func(c *config) { c.groupID = id } }

// StartAtEnd starts at the end of every partition (the default).
func StartAtEnd() Opt { return func(c *config) { c.start = StartEnd } }

// StartAtBeginning starts at the oldest retained message of every partition.
func StartAtBeginning() Opt { return func(c *config) { c.start = StartBeginning } }

// StartAtTime starts every partition at the first message whose timestamp is at or after t
// (librdkafka OffsetsForTimes); partitions with none start at the end.
func StartAtTime(t time.Time) Opt {
	return func(c *config) { c.start, c.startTime = StartTime, t }
}

// StartAtOffsets starts the listed partitions at the given offsets (topic → partition → offset);
// partitions not listed start at the end.
func StartAtOffsets(offsets map[string]map[int32]int64) Opt {
	return func(c *config) { c.start, c.startOffsets = StartOffsets, offsets }
}

// Property passes a librdkafka property through verbatim (e.g. "fetch.wait.max.ms", "10" or
// "ssl.ca.location"). Properties cfbench sets itself are refused by New with the option to use
// instead. Later calls override earlier ones.
func Property(key, value string) Opt {
	return func(c *config) {
		if c.props == nil {
			c.props = map[string]string{}
		}
		c.props[key] = value
	}
}

// ClockOffset is the database's clock minus this host's clock (positive when the database is
// ahead), as measured by a clock probe; it is added to every latency measured against a
// database timestamp (e2e_commit, commit_to_kafka, resolved_lag). Default 0.
func ClockOffset(d time.Duration) Opt { return func(c *config) { c.clockOffset = d } }

// RecordTimestampOffset is the clock of the Kafka record timestamps minus this host's clock: the
// clock commit_to_kafka and kafka_to_consumer are split on. 0 (default) when the producer runs
// on this host (pgfeed); the database's ClockOffset when CockroachDB produces with CreateTime
// (the changefeed runs on the database nodes); the broker's offset with LogAppendTime.
func RecordTimestampOffset(d time.Duration) Opt { return func(c *config) { c.tsOffset = d } }

// RefreshWindow is N in "e2e_commit inside ±N of a token refresh vs outside". Default 2 s.
func RefreshWindow(d time.Duration) Opt { return func(c *config) { c.refreshWindow = d } }

// WithLedger matches every new row version with the write ledger to measure e2e_ack; if the
// ledger also has Outstanding() int, Stats reports missing rows. Default: none.
func WithLedger(l Ledger) Opt { return func(c *config) { c.ledger = l } }

// TableOf maps a topic name to the table name used with the ledger. Default: the topic minus
// the TopicPrefix (the topic itself without a prefix).
func TableOf(fn func(topic string) string) Opt { return func(c *config) { c.tableOf = fn } }

// OnInterval is called with every finished second on the goroutine that records messages (not
// the one that polls). It must return quickly: while it runs nothing is recorded, and once about
// a thousand received messages wait, nothing is polled either.
func OnInterval(fn func(Interval)) Opt { return func(c *config) { c.onInterval = fn } }

// OnRebalance is called, with GroupID, on the goroutine that polls (New's setup, Run, Close)
// after every partition assignment or revocation the group hands this consumer, once the
// consumer has positioned or committed the partitions. It must return quickly. Default: none.
func OnRebalance(fn func(Rebalance)) Opt { return func(c *config) { c.onRebalance = fn } }

// StopAfter makes Run return after d (measured from the start of Run). Default 0: until the
// context is done.
func StopAfter(d time.Duration) Opt { return func(c *config) { c.stopAfter = d } }

// StopAfterMessages makes Run return once n messages (rows, resolved and malformed) have been
// consumed. Default 0: no limit.
func StopAfterMessages(n int64) Opt { return func(c *config) { c.stopAfterN = n } }

// PollTimeout is how long one Poll waits for an event (librdkafka rd_kafka_consumer_poll
// timeout); it bounds how late Run notices a cancelled context. Default 100 ms.
func PollTimeout(d time.Duration) Opt { return func(c *config) { c.pollTimeout = d } }

// SetupTimeout bounds New's wait for the first token and for metadata. Default 30 s.
func SetupTimeout(d time.Duration) Opt { return func(c *config) { c.setupTimeout = d } }

// Logger sets where the consumer logs warnings (token refresh failures). Default: discard.
func Logger(l *slog.Logger) Opt { return func(c *config) { c.log = l } }

// ownedProperties are the librdkafka properties cfbench sets itself, with what to use instead.
var ownedProperties = map[string]string{
	"bootstrap.servers":                    "Brokers (--brokers)",
	"metadata.broker.list":                 "Brokers (--brokers)",
	"security.protocol":                    "SecurityProtocol (--security-protocol)",
	"sasl.mechanism":                       "nothing: the mechanism is always OAUTHBEARER",
	"sasl.mechanisms":                      "nothing: the mechanism is always OAUTHBEARER",
	"group.id":                             "GroupID (--group)",
	"auto.offset.reset":                    "the start position (--start)",
	"sasl.username":                        "nothing: cfbench authenticates with OAUTHBEARER only",
	"sasl.password":                        "nothing: cfbench authenticates with OAUTHBEARER only",
	"enable.sasl.oauthbearer.unsecure.jwt": "nothing: tokens come from the token URL",
	"go.events.channel.enable":             "nothing: the poll loop needs Poll",
	"go.application.rebalance.enable":      "nothing",
	"go.logs.channel.enable":               "Logger: librdkafka's logs go to it",
}

func ownedHint(key string) (string, bool) {
	if h, ok := ownedProperties[key]; ok {
		return h, true
	}
	if strings.HasPrefix(key, "sasl.oauthbearer.") {
		return "the token options (--token-url, --client-id, --client-secret-file, --scope, --audience): cfbench fetches and times the tokens itself", true
	}
	return "", false
}

func (c *config) validate() error {
	var errs []error
	if c.brokers == "" {
		errs = append(errs, errors.New("brokers: required"))
	}
	switch {
	case len(c.topics) == 0 && c.topicPrefix == "":
		errs = append(errs, errors.New("topics: give a topic list or a topic prefix"))
	case len(c.topics) > 0 && c.topicPrefix != "":
		errs = append(errs, errors.New("topics: give a topic list or a topic prefix, not both"))
	}
	for _, t := range c.topics {
		if t == "" {
			errs = append(errs, errors.New("topics: empty topic name"))
		}
	}
	if c.securityProtocol == "" {
		c.securityProtocol = "SASL_PLAINTEXT"
	}
	switch strings.ToUpper(c.securityProtocol) {
	case "SASL_PLAINTEXT", "SASL_SSL":
		c.securityProtocol = strings.ToUpper(c.securityProtocol)
	default:
		errs = append(errs, fmt.Errorf("security protocol: want SASL_PLAINTEXT or SASL_SSL, got %q", c.securityProtocol))
	}
	if c.token == nil {
		errs = append(errs, errors.New("token source: required (OAUTHBEARER needs tokens)"))
	}
	if c.groupID != "" && (c.start == StartTime || c.start == StartOffsets) {
		errs = append(errs, errors.New("start: a consumer group starts at the end or the beginning, not at a time or offsets"))
	}
	if c.start == StartTime && c.startTime.IsZero() {
		errs = append(errs, errors.New("start: time not set"))
	}
	for _, k := range slices.Sorted(maps.Keys(c.props)) {
		if hint, owned := ownedHint(k); owned {
			errs = append(errs, fmt.Errorf("librdkafka property %s: set by cfbench; use %s", k, hint))
		}
	}
	if c.refreshWindow == 0 {
		c.refreshWindow = 2 * time.Second
	}
	if c.refreshWindow < slotDur || c.refreshWindow > time.Hour {
		errs = append(errs, fmt.Errorf("refresh window: want 100ms..1h, got %v", c.refreshWindow))
	}
	if c.stopAfter < 0 || c.stopAfterN < 0 {
		errs = append(errs, errors.New("stop condition: negative"))
	}
	if c.pollTimeout == 0 {
		c.pollTimeout = 100 * time.Millisecond
	}
	if c.pollTimeout < time.Millisecond {
		errs = append(errs, fmt.Errorf("poll timeout: want ≥ 1ms, got %v", c.pollTimeout))
	}
	if c.setupTimeout <= 0 {
		c.setupTimeout = 30 * time.Second
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.tableOf == nil {
		prefix := c.topicPrefix
		c.tableOf = func(topic string) string { return strings.TrimPrefix(topic, prefix) }
	}
	return errors.Join(errs...)
}
