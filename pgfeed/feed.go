package pgfeed

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cfbench/cfbench/changefeed"
	"github.com/cfbench/cfbench/consume"
	"github.com/cfbench/cfbench/oauth"
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5/pgconn"
)

// DefaultName is the feed name when Config.Name is empty.
const DefaultName = "cfbench"

// DefaultStatusInterval is how often standby status updates are sent when Config leaves it 0.
const DefaultStatusInterval = time.Second

// Config configures a Feed. Source and Sink carry secrets: Feed never logs them, and its
// errors and String show only the redacted sink URI.
type Config struct {
	// Source is the PostgreSQL connection URL (its role needs REPLICATION and must own the
	// tables, which pgfeed switches to REPLICA IDENTITY FULL). Required.
	Source string
	// Tables are the tables to watch, "name" (search_path) or "schema.name". Required.
	Tables []string
	// Sink is a CockroachDB Kafka sink URI (kafka://host:port?…), parsed with CockroachDB's
	// rules by changefeed.ParseSinkURI. Required.
	Sink string
	// With is the body of a CREATE CHANGEFEED WITH clause ("updated, resolved='1s', diff"),
	// parsed by changefeed.ParseOptions. Optional.
	With string
	// Name names the feed: the replication slot and the publication are "pgfeed_<Name>".
	// Lower-case letters, digits and underscores, at most 40 bytes. Default DefaultName.
	Name string
	// TokenAudience is sent as the "audience" parameter of every token request (Ory Hydra puts
	// it into the token's aud claim only when asked). CockroachDB's sink URI has no such
	// parameter, so it lives here. Optional.
	TokenAudience string
	// TokenCAFile is a PEM file of the CA certificates trusted for an https sasl_token_url,
	// instead of the system's roots. CockroachDB fetches the sink's tokens with the node's system
	// roots (the URI's ca_cert is for the brokers only) and its URI has no such parameter, so it
	// lives here. Optional.
	TokenCAFile string
	// TopicPartitions, when > 0, makes pgfeed create missing topics with this many partitions
	// (replication factor 1) through the producer's admin client. When 0, topics must exist or
	// be auto-created by the broker, as with CockroachDB.
	TopicPartitions int
	// StatusInterval is how often a standby status update (the flush LSN) is sent to
	// PostgreSQL; it also bounds how stale the server time behind an idle resolved timestamp
	// is. Default DefaultStatusInterval (1 s).
	StatusInterval time.Duration
	// Logger receives progress and librdkafka log lines; nil discards them.
	Logger *slog.Logger
}

var nameRE = regexp.MustCompile(`^[a-z0-9_]{1,40}$`)

// Feed is a local changefeed: PostgreSQL logical replication (pgoutput) in, CockroachDB's
// changefeed messages out to Kafka. Create it with New; Run it once at a time; Stats and
// Warnings are safe to call concurrently with Run.
type Feed struct {
	cfg      Config
	log      *slog.Logger
	sink     changefeed.SinkURI
	opts     changefeed.Options
	env      EnvelopeOptions
	resolved time.Duration // 0: resolved messages off
	kconf    kafka.ConfigMap
	oauthCfg *oauth.Config
	slot     string // replication slot and publication name
	warnings []string

	running atomic.Bool
	failure atomic.Pointer[error]
	// resume is the HLC floor the next Run starts from: the larger of the last resolved
	// timestamp published and the HLC of the last transaction confirmed to PostgreSQL. Only
	// Run reads and writes it (one Run at a time).
	resume HLC

	rows          atomic.Int64
	messages      atomic.Int64
	resolvedMsgs  atomic.Int64
	bytes         atomic.Int64
	oldestPending atomic.Int64 // commit time (Unix ns) of the oldest unacknowledged change; 0: none
	lastResolved  atomic.Int64 // wall time (Unix ns) of the last published resolved timestamp
	flushLSN      atomic.Uint64
	tokenMu       sync.Mutex
	tokenSource   *oauth.Source
	refresher     *consume.TokenRefresher
}

// Stats is a snapshot of a Feed's progress.
type Stats struct {
	Rows             int64         // row changes decoded from the replication stream
	Messages         int64         // row messages acknowledged by Kafka
	ResolvedMessages int64         // resolved messages acknowledged (one per partition per tick)
	Bytes            int64         // key+value bytes of acknowledged row messages
	Lag              time.Duration // now − commit time of the oldest unacknowledged change; 0 when caught up
	Resolved         time.Time     // the last published resolved timestamp (wall time); zero if none
	FlushLSN         string        // the LSN confirmed to PostgreSQL (WAL before it is released)
}

// New validates cfg, parsing the sink URI and the WITH clause with CockroachDB's rules. It
// contacts nothing.
func New(cfg Config) (*Feed, error) {
	if cfg.Source == "" {
		return nil, errors.New("pgfeed: no source: want a PostgreSQL URL")
	}
	if _, err := pgconn.ParseConfig(cfg.Source); err != nil {
		return nil, fmt.Errorf("pgfeed: source URL: %w", redactErr(err, cfg.Source))
	}
	if len(cfg.Tables) == 0 {
		return nil, errors.New("pgfeed: no tables to watch")
	}
	for _, t := range cfg.Tables {
		if t == "" || strings.Count(t, ".") > 1 {
			return nil, fmt.Errorf("pgfeed: table %q: want name or schema.name", t)
		}
	}
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if !nameRE.MatchString(cfg.Name) {
		return nil, fmt.Errorf("pgfeed: feed name %q: want 1-40 lower-case letters, digits or underscores", cfg.Name)
	}
	if cfg.StatusInterval <= 0 {
		cfg.StatusInterval = DefaultStatusInterval
	}
	if cfg.TopicPartitions < 0 {
		return nil, fmt.Errorf("pgfeed: topic partitions %d: want ≥ 0", cfg.TopicPartitions)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sink, err := changefeed.ParseSinkURI(cfg.Sink)
	if err != nil {
		return nil, fmt.Errorf("pgfeed: sink URI: %w", err)
	}
	opts, err := changefeed.ParseOptions(cfg.With)
	if err != nil {
		return nil, fmt.Errorf("pgfeed: WITH options: %w", err)
	}
	f := &Feed{cfg: cfg, log: log, sink: sink, opts: opts, slot: "pgfeed_" + cfg.Name}
	if err := f.checkOptions(); err != nil {
		return nil, err
	}
	var ksc changefeed.KafkaSinkConfig
	if opts.KafkaSinkConfig != nil {
		ksc = *opts.KafkaSinkConfig
	}
	if f.kconf, err = producerConfig(sink, ksc); err != nil {
		return nil, fmt.Errorf("pgfeed: %w", err)
	}
	if cfg.TopicPartitions > 0 {
		// Otherwise the producer's first metadata request would let the broker auto-create the
		// topic with its default partition count before pgfeed creates it.
		f.kconf["allow.auto.create.topics"] = false
	}
	if sink.SASLEnabled && sink.SASLMechanism == changefeed.MechanismOAuthBearer {
		if sink.GrantType != "" && sink.GrantType != "client_credentials" {
			return nil, fmt.Errorf("pgfeed: sasl_grant_type %q: only client_credentials is supported", sink.GrantType)
		}
		oc := oauth.Config{
			TokenURL:     sink.TokenURL,
			ClientID:     sink.ClientID,
			ClientSecret: sink.ClientSecret,
			Scopes:       sink.Scopes,
			Audience:     cfg.TokenAudience,
			CAFile:       cfg.TokenCAFile,
		}
		if _, err := oauth.New(oc); err != nil {
			return nil, fmt.Errorf("pgfeed: OAuth settings from the sink URI: %w", err)
		}
		f.oauthCfg = &oc
	}
	return f, nil
}

// checkOptions maps the parsed WITH options onto what pgfeed supports.
func (f *Feed) checkOptions() error {
	o := f.opts
	if o.Envelope != "" && o.Envelope != "wrapped" {
		return fmt.Errorf("pgfeed: envelope=%s is not supported (only wrapped)", o.Envelope)
	}
	if o.Format != "" && o.Format != "json" {
		return fmt.Errorf("pgfeed: format=%s is not supported (only json)", o.Format)
	}
	switch o.InitialScan {
	case "", changefeed.InitialScanNo:
	default:
		return fmt.Errorf("pgfeed: initial_scan=%s is not supported: pgfeed streams changes from the moment its slot is created", o.InitialScan)
	}
	if o.Cursor != "" {
		return errors.New("pgfeed: cursor is not supported: pgfeed resumes from its replication slot")
	}
	if o.FullTableName {
		return errors.New("pgfeed: full_table_name is not supported")
	}
	f.env = EnvelopeOptions{
		Updated:       o.Updated,
		MVCCTimestamp: o.MVCCTimestamp,
		Diff:          o.Diff,
		KeyInValue:    o.KeyInValue,
		TopicInValue:  o.TopicInValue,
	}
	if d, ok := o.ResolvedInterval(); ok {
		f.resolved = max(d, time.Millisecond)
	}
	if o.InitialScan == "" {
		f.warnings = append(f.warnings, "pgfeed does no initial scan (CockroachDB's default is initial_scan='yes'): only changes committed after the replication slot was created are emitted")
	}
	for _, ex := range o.Extra {
		f.warnings = append(f.warnings, fmt.Sprintf("option %s is ignored by pgfeed", ex.Name))
	}
	f.warnings = append(f.warnings, o.Warnings()...)
	return nil
}

// Warnings returns notices about options pgfeed accepts but treats differently from CockroachDB.
func (f *Feed) Warnings() []string { return append([]string(nil), f.warnings...) }

// SlotName returns the replication slot (and publication) name, "pgfeed_<Name>".
func (f *Feed) SlotName() string { return f.slot }

// Sink returns the parsed sink URI (print it with Redacted).
func (f *Feed) Sink() changefeed.SinkURI { return f.sink }

// ResolvedInterval returns how often resolved messages are published; 0 when off.
func (f *Feed) ResolvedInterval() time.Duration { return f.resolved }

// String describes the feed without secrets.
func (f *Feed) String() string {
	return fmt.Sprintf("pgfeed %s: tables %s → %s", f.slot, strings.Join(f.cfg.Tables, ","), f.sink.Redacted())
}

// Stats returns a snapshot of the feed's counters.
func (f *Feed) Stats() Stats {
	s := Stats{
		Rows:             f.rows.Load(),
		Messages:         f.messages.Load(),
		ResolvedMessages: f.resolvedMsgs.Load(),
		Bytes:            f.bytes.Load(),
		FlushLSN:         lsnString(f.flushLSN.Load()),
	}
	if p := f.oldestPending.Load(); p > 0 {
		s.Lag = max(time.Since(time.Unix(0, p)), 0)
	}
	if r := f.lastResolved.Load(); r > 0 {
		s.Resolved = time.Unix(0, r).UTC()
	}
	return s
}

// TokenStats returns the OAuth token source's statistics (fetches, failures, token_fetch
// histogram), ok false when the sink does not use OAUTHBEARER or Run has not started.
func (f *Feed) TokenStats() (oauth.Stats, bool) {
	f.tokenMu.Lock()
	src := f.tokenSource
	f.tokenMu.Unlock()
	if src == nil {
		return oauth.Stats{}, false
	}
	return src.Stats(), true
}

// TokenRefreshStats returns the producer's OAUTHBEARER refresh statistics (librdkafka's
// requests and the tokens handed over), ok false when the sink does not use OAUTHBEARER or Run
// has not started. After Run returns it describes that Run.
func (f *Feed) TokenRefreshStats() (consume.RefreshStats, bool) {
	f.tokenMu.Lock()
	r := f.refresher
	f.tokenMu.Unlock()
	if r == nil {
		return consume.RefreshStats{}, false
	}
	return r.Stats(), true
}

func (f *Feed) fail(err error) {
	f.failure.CompareAndSwap(nil, &err)
}

func (f *Feed) failed() error {
	if p := f.failure.Load(); p != nil {
		return *p
	}
	return nil
}

func lsnString(l uint64) string { return fmt.Sprintf("%X/%X", uint32(l>>32), uint32(l)) }

// redactErr removes a URL's password from an error message.
func redactErr(err error, rawURL string) error {
	cfg, perr := pgconn.ParseConfig(rawURL)
	if perr != nil || cfg.Password == "" {
		if perr != nil {
			return errors.New("malformed connection string")
		}
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), cfg.Password, "xxxxx"))
}
