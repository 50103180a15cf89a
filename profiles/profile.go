package profiles

import (
	"encoding/json"
	"fmt"
	"time"
)

// Profile is one benchmark configuration: where the database, the IdP and Kafka are, how the
// changefeed is made, and what load to apply. Load returns it with defaults applied, environment
// variables expanded, secrets read and every rule checked; fields are plain values afterwards.
//
// A Profile is not safe for concurrent mutation; treat a loaded one as read-only and Clone it to
// change it. The yaml tags are the profile file's keys; the `want` tags word type errors and the
// `enum` tags list the allowed values.
type Profile struct {
	// Name identifies the profile in result files and directory names; default: the file name
	// without its extension (for an embedded example, its name).
	Name string `yaml:"name" want:"a name made of letters, digits, '.', '_' and '-'"`
	// Extends names the profile this one starts from (an embedded example's name, or a path
	// relative to this file); its keys are applied first, then this file's. Lists replace the
	// inherited list; maps (kafka.consumer, workload.mix, matrix) are overlaid key by key.
	Extends string `yaml:"extends" want:"the name of an embedded example or a path to a profile"`
	// Description is one line for `cfbench profiles`.
	Description string `yaml:"description"`

	Database   Database   `yaml:"database"`
	IdP        IdP        `yaml:"idp"`
	Kafka      Kafka      `yaml:"kafka"`
	Changefeed Changefeed `yaml:"changefeed"`
	Workload   Workload   `yaml:"workload"`
	Measure    Measure    `yaml:"measure"`
	// Matrix expands the profile into variants (see Variants); empty means a single run.
	Matrix Matrix `yaml:"matrix"`

	// Source is where the profile was loaded from: a path, or "embedded:<name>.yaml".
	Source string `yaml:"-"`

	pos map[string]pos // field path → where it was set; nil for a profile built in code
}

// Database kinds (Database.Kind).
const (
	KindAuto        = "auto"        // detect from SELECT version()
	KindPostgres    = "postgres"    // PostgreSQL: changefeed.mode must be pgfeed
	KindCockroachDB = "cockroachdb" // CockroachDB: changefeed.mode create or existing
)

// Database says where load writes and, for CockroachDB, where the changefeed is created.
type Database struct {
	// URL is a PostgreSQL connection URL (postgres://user@host:port/db?sslmode=…), ${VAR}
	// expanded. It must not contain a password: use URLFile, or PGPASSFILE (libpq's password
	// file, which pgx reads too).
	URL string `yaml:"url" want:"a postgres:// or postgresql:// URL"`
	// URLFile names a file holding the connection URL, which may contain a password; read at
	// Load, trimmed. Exactly one of URL and URLFile is set.
	URLFile string `yaml:"url_file" want:"a path to a file holding the connection URL"`
	// Kind is auto (default), postgres or cockroachdb.
	Kind string `yaml:"kind" enum:"auto|postgres|cockroachdb"`

	// URLFromFile is the content of URLFile, read at Load.
	URLFromFile Secret `yaml:"-"`
}

// databaseFields is Database without its methods, for Format and MarshalJSON.
type databaseFields Database

// Format prints d as fmt would, with a password in URL (possible only in a profile built in
// code: Load refuses one) replaced by "redacted".
func (d Database) Format(f fmt.State, verb rune) {
	d.URL = redactURL(d.URL)
	fmt.Fprintf(f, fmt.FormatString(f, verb), databaseFields(d))
}

// MarshalJSON encodes d with a password in URL replaced by "redacted".
func (d Database) MarshalJSON() ([]byte, error) {
	d.URL = redactURL(d.URL)
	return json.Marshal(databaseFields(d))
}

// ConnString returns the connection URL to hand to pgx: URL, or the content of URLFile. It may
// contain a password: never log it.
func (d Database) ConnString() string {
	if d.URLFile != "" {
		return d.URLFromFile.Reveal()
	}
	return d.URL
}

// OAuth 2.0 client authentication styles (IdP.AuthStyle), as golang.org/x/oauth2 names them.
const (
	AuthStyleHeader = "header" // client_secret_basic: HTTP Basic auth (oauth2.AuthStyleInHeader)
	AuthStyleParams = "params" // client_secret_post: form parameters (oauth2.AuthStyleInParams)
)

// IdP is the OAuth 2.0 authorization server cfbench's consumer gets its tokens from
// (client credentials grant), and the client it authenticates as.
type IdP struct {
	// TokenURL is the token endpoint, e.g. https://<okta-domain>/oauth2/default/v1/token.
	// http:// is allowed only for loopback hosts (the client secret would travel in clear).
	TokenURL string `yaml:"token_url" want:"an http(s) URL of the token endpoint"`
	// ClientID is the OAuth client id.
	ClientID string `yaml:"client_id"`
	// ClientSecretFile names a file holding the client secret (trimmed); read at Load.
	ClientSecretFile string `yaml:"client_secret_file" want:"a path to a file holding the client secret"`
	// ClientSecretEnv names the environment variable holding the client secret (its name, not
	// its value); read at Load. Exactly one of ClientSecretFile and ClientSecretEnv is set.
	ClientSecretEnv string `yaml:"client_secret_env" want:"the name of an environment variable"`
	// Scopes are requested in the token request's scope parameter; default none.
	Scopes []string `yaml:"scopes"`
	// Audience is sent as the "audience" form parameter when set. Hydra needs it for the aud
	// claim Kafka checks; Okta's default authorization server sets aud by itself.
	Audience string `yaml:"audience"`
	// AuthStyle is how the client authenticates to the token endpoint: header (default,
	// client_secret_basic) or params (client_secret_post). Never auto-detected.
	AuthStyle string `yaml:"auth_style" enum:"header|params"`
	// Timeout bounds each token request; default 10s.
	Timeout time.Duration `yaml:"timeout"`
	// CAFile is a PEM file of the CA certificates trusted for an https token_url, instead of the
	// system's roots (as kafka.ca_file replaces them for librdkafka, and curl's --cacert does);
	// empty means the system's roots. Checked at Load: it must hold at least one certificate.
	CAFile string `yaml:"ca_file" want:"a path to a PEM file"`

	// ClientSecret is the secret read from ClientSecretFile or ClientSecretEnv.
	ClientSecret Secret `yaml:"-"`
}

// Kafka security protocols (Kafka.SecurityProtocol), librdkafka's security.protocol.
const (
	SASLPlaintext = "SASL_PLAINTEXT"
	SASLSSL       = "SASL_SSL"
)

// Kafka is how cfbench's consumer reaches Kafka: always SASL/OAUTHBEARER with tokens from IdP.
type Kafka struct {
	// Brokers are host:port bootstrap servers (librdkafka's bootstrap.servers). An entry holding
	// a comma-separated list, such as an expanded ${CFBENCH_KAFKA_BROKERS}, is split.
	Brokers []string `yaml:"brokers" split:"," want:"a list of host:port"`
	// SecurityProtocol is SASL_SSL (default) or SASL_PLAINTEXT (librdkafka's security.protocol).
	SecurityProtocol string `yaml:"security_protocol" enum:"SASL_PLAINTEXT|SASL_SSL"`
	// CAFile is a PEM file of CA certificates for SASL_SSL (librdkafka's ssl.ca.location);
	// empty means the system's roots. Checked at Load: it must hold at least one certificate.
	CAFile string `yaml:"ca_file" want:"a path to a PEM file"`
	// Topics to consume. Default: derived from changefeed.tables and the sink's topic_prefix or
	// topic_name (see ConsumeTopics).
	Topics []string `yaml:"topics"`
	// TopicPrefix overrides changefeed.sink.topic_prefix when deriving topics (for an existing
	// changefeed whose sink cfbench does not know).
	TopicPrefix string `yaml:"topic_prefix"`
	// Consumer holds librdkafka consumer properties passed through unchanged, e.g.
	// fetch.wait.max.ms: 100. Values are strings, int64s, float64s or bools. Keys cfbench owns
	// (bootstrap.servers, security.protocol, sasl.*, ssl.ca.location, group.id,
	// auto.offset.reset) are rejected, naming the profile key to use instead.
	Consumer map[string]any `yaml:"consumer" want:"a map of librdkafka consumer properties"`
	// GroupID is the consumer group (group.id). Default "": a single worker assigns every
	// partition itself under a random "cfbench-consume-…" group that never joins and never
	// commits; the workers of one run (--worker i/n) join the group "cfbench-<run id>" unless
	// this names another one.
	GroupID string `yaml:"group_id"`
}

// Changefeed modes (Changefeed.Mode).
const (
	ModeCreate   = "create"   // CREATE CHANGEFEED on CockroachDB, cancelled at the end
	ModeExisting = "existing" // attach to the running changefeed JobID
	ModePgfeed   = "pgfeed"   // local PostgreSQL: cfbench's pgfeed produces the changefeed
)

// Changefeed is where the row changes come from and how they reach Kafka.
type Changefeed struct {
	// Mode is create (default), existing or pgfeed.
	Mode string `yaml:"mode" enum:"create|existing|pgfeed"`
	// JobID is the changefeed job to attach to in mode existing.
	JobID int64 `yaml:"job_id" want:"a changefeed job id (an integer)"`
	// Tables are the movr tables watched (and loaded); default all six.
	Tables []string `yaml:"tables"`
	// Options are the CREATE CHANGEFEED WITH options cfbench supports.
	Options ChangefeedOptions `yaml:"options"`
	// KafkaSinkConfig is CockroachDB's kafka_sink_config option (pgfeed honours it too).
	KafkaSinkConfig KafkaSinkConfig `yaml:"kafka_sink_config"`
	// Sink is how the changefeed (CockroachDB's or pgfeed's) reaches Kafka.
	Sink Sink `yaml:"sink"`
	// CancelOnExit cancels the changefeed cfbench created (mode create) when the run ends;
	// default true.
	CancelOnExit bool `yaml:"cancel_on_exit"`
}

// ChangefeedOptions are the CREATE CHANGEFEED WITH options that shape the messages.
type ChangefeedOptions struct {
	// Updated adds the "updated" timestamp e2e_commit is measured from; default true.
	Updated bool `yaml:"updated"`
	// Resolved is the resolved-timestamp interval (resolved='1s'); default 1s; 0 leaves the
	// option out, which disables resolved_lag and the resolved checks.
	Resolved time.Duration `yaml:"resolved"`
	// MinCheckpointFrequency is min_checkpoint_frequency; default 1s (CockroachDB's own default
	// is 30s, which would make resolved messages rare); 0 leaves the option out.
	MinCheckpointFrequency time.Duration `yaml:"min_checkpoint_frequency"`
	Diff                   bool          `yaml:"diff"`           // diff: "before" in each message
	MVCCTimestamp          bool          `yaml:"mvcc_timestamp"` // mvcc_timestamp field
	KeyInValue             bool          `yaml:"key_in_value"`   // key_in_value: "key" field
	TopicInValue           bool          `yaml:"topic_in_value"` // topic_in_value: "topic" field
}

// KafkaSinkConfig is CockroachDB's kafka_sink_config, field names spelled as CockroachDB spells
// them. Zero values are left out of the JSON, so CockroachDB's defaults apply.
type KafkaSinkConfig struct {
	Flush KafkaFlush `yaml:"Flush"`
	// RequiredAcks is NONE, ONE (CockroachDB's default) or ALL (also 0, 1, -1); "" for the default.
	RequiredAcks string `yaml:"RequiredAcks" enum:"|NONE|ONE|ALL|0|1|-1"`
	// Compression is NONE, GZIP, SNAPPY, LZ4 or ZSTD; "" for the default (NONE).
	Compression string `yaml:"Compression" enum:"|NONE|GZIP|SNAPPY|LZ4|ZSTD"`
	// CompressionLevel is the codec's level; 0 leaves it out (the codec's default).
	CompressionLevel int `yaml:"CompressionLevel"`
	// ClientID is the producer's client.id; "" for CockroachDB's default ("CockroachDB").
	ClientID string `yaml:"ClientID"`
	// Version is the Kafka protocol version, e.g. "2.7.0"; "" to negotiate.
	Version string     `yaml:"Version"`
	Retry   KafkaRetry `yaml:"Retry"`
}

// KafkaFlush is kafka_sink_config's Flush. All zero: each message is sent as soon as possible.
type KafkaFlush struct {
	Messages int `yaml:"Messages" want:"a number of messages"` // flush after this many messages
	// Bytes flushes after this many bytes are buffered (1 MiB = 1048576).
	Bytes int `yaml:"Bytes" want:"a number of bytes"`
	// Frequency flushes at least this often; must be > 0 when Bytes > 0 or Messages > 1.
	Frequency time.Duration `yaml:"Frequency"`
	// MaxMessages caps a batch; 0 for CockroachDB's default (1000).
	MaxMessages int `yaml:"MaxMessages" want:"a number of messages"`
}

// KafkaRetry is kafka_sink_config's Retry.
type KafkaRetry struct {
	// Max is the number of retries; 0 for CockroachDB's default (3).
	Max int `yaml:"Max" want:"a number of retries"`
	// Backoff is the initial backoff; 0 for CockroachDB's default (500ms).
	Backoff time.Duration `yaml:"Backoff"`
}

// Sink is how the changefeed reaches Kafka: the parts of CockroachDB's kafka:// sink URI.
type Sink struct {
	// Brokers are the host:port of the kafka:// URI (comma-joined there); an entry holding a
	// comma-separated list is split.
	Brokers []string `yaml:"brokers" split:"," want:"a list of host:port"`
	// TopicPrefix is the sink URI's topic_prefix.
	TopicPrefix string `yaml:"topic_prefix"`
	// TopicName is the sink URI's topic_name: every table into this one topic.
	TopicName string `yaml:"topic_name"`
	// TLSEnabled is tls_enabled=true: SASL_SSL rather than SASL_PLAINTEXT.
	TLSEnabled bool `yaml:"tls_enabled"`
	// CAFile is a PEM file sent base64-encoded as the sink URI's ca_cert: the CA the changefeed
	// trusts for the brokers' certificates (CockroachDB replaces its roots with it); empty for
	// the system's roots. Needs tls_enabled. It is not used for token_url: CockroachDB's token
	// requests trust the node's system roots (see TokenCAFile).
	CAFile string `yaml:"ca_file" want:"a path to a PEM file"`
	// SASLMechanism is OAUTHBEARER (default); "" is not allowed: cfbench measures OAuth.
	SASLMechanism string `yaml:"sasl_mechanism" enum:"OAUTHBEARER"`
	// ClientID is sasl_client_id: the producer's OAuth client.
	ClientID string `yaml:"client_id"`
	// ClientSecretFile names a file holding the producer's client secret; read at Load.
	ClientSecretFile string `yaml:"client_secret_file" want:"a path to a file holding the client secret"`
	// ClientSecretEnv names the environment variable holding it (its name, not its value).
	ClientSecretEnv string `yaml:"client_secret_env" want:"the name of an environment variable"`
	// TokenURL is sasl_token_url.
	TokenURL string `yaml:"token_url" want:"an http(s) URL of the token endpoint"`
	// TokenCAFile is a PEM file of the CA certificates pgfeed trusts for an https token_url,
	// instead of the system's roots; mode pgfeed only. CockroachDB fetches the sink's tokens with
	// the node's system roots (ca_cert is for the brokers only), and its sink URI has no such
	// parameter, so it lives outside the URI, like audience.
	TokenCAFile string `yaml:"token_ca_file" want:"a path to a PEM file"`
	// Scopes are sasl_scopes, one per scope.
	Scopes []string `yaml:"scopes"`
	// Audience is sent by pgfeed as the token request's audience parameter; mode pgfeed only
	// (CockroachDB's sink URI has no audience parameter).
	Audience string `yaml:"audience"`
	// ExternalConnection, when set in mode create, makes cfbench run CREATE EXTERNAL CONNECTION
	// with this name and the sink URI, then CREATE CHANGEFEED … INTO 'external://<name>'.
	ExternalConnection string `yaml:"external_connection" want:"an SQL identifier"`

	// ClientSecret is the secret read from ClientSecretFile or ClientSecretEnv.
	ClientSecret Secret `yaml:"-"`
}

// Arrival processes (Workload.Arrivals).
const (
	ArrivalsPoisson  = "poisson"  // exponential gaps with mean 1/rate
	ArrivalsConstant = "constant" // fixed gaps of 1/rate
)

// Workload is the movr load applied during the run.
type Workload struct {
	// Rate is the intended rate in ops/s across all workers (open loop); 0 = as fast as
	// possible (closed loop). Default 200.
	Rate float64 `yaml:"rate" want:"a number of ops/s"`
	// Concurrency is the number of workers (database connections); default 8.
	Concurrency int `yaml:"concurrency" want:"a number of workers"`
	// Arrivals is poisson (default) or constant.
	Arrivals string `yaml:"arrivals" enum:"poisson|constant"`
	// Duration is the measured phase; default 60s.
	Duration time.Duration `yaml:"duration"`
	// Warmup runs before the measurement and is reported apart; default 10s.
	Warmup time.Duration `yaml:"warmup"`
	// Ramp raises the rate linearly from 0 at the start of the warm-up; default 0s.
	Ramp time.Duration `yaml:"ramp"`
	// DrainTimeout bounds the wait for outstanding changes after writes stop; default 30s.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
	// MaxOps stops the measurement after this many ops; 0 (default) = no limit.
	MaxOps int64 `yaml:"max_ops" want:"a number of ops"`
	// Repetitions is how many times each variant runs (cfbench run --matrix); default 1.
	Repetitions int `yaml:"repetitions" want:"a number of repetitions"`
	// Mix is the relative weight of each write op (need not sum to 1): addUser, addVehicle,
	// startRide, endRide, applyPromoCode, createPromoCode, updateLocation. Default movr's:
	// .3, .1, .4, .07, .1, .03, plus updateLocation .2. A mix in a file replaces the default
	// (ops it leaves out get 0); a profile that extends another overlays the inherited mix key
	// by key (set a weight to 0 to drop an op).
	Mix map[string]float64 `yaml:"mix" want:"a map of op name to weight"`
	// ReadVehicles is the weight of the optional read op (readVehicles); default 0.
	ReadVehicles float64 `yaml:"read_vehicles" want:"a weight (a number >= 0)"`
	// Seed is the initial data, per city.
	Seed Seed `yaml:"seed"`
}

// Seed is how many rows load inserts per city before the run.
type Seed struct {
	Users    int `yaml:"users" want:"a number of rows per city"`    // default 50
	Vehicles int `yaml:"vehicles" want:"a number of rows per city"` // default 15
	Rides    int `yaml:"rides" want:"a number of rows per city"`    // default 5
}

// Consumer start positions (Measure.Start).
const (
	StartEnd       = "end"       // only messages produced after the consumer is assigned
	StartBeginning = "beginning" // the topics' earliest offsets
)

// Measure tunes what is measured.
type Measure struct {
	// RefreshWindow: an e2e_commit sample within ±RefreshWindow of a token refresh counts as
	// "during refresh"; default 2s.
	RefreshWindow time.Duration `yaml:"refresh_window"`
	// ClockSamples is the number of clock_timestamp() round trips of the clock-offset probe;
	// default 50.
	ClockSamples int `yaml:"clock_samples" want:"a number of samples"`
	// Start is where the consumer starts: end (default) or beginning.
	Start string `yaml:"start" enum:"end|beginning"`
}

// MovrTables are the tables of CockroachDB's movr workload, in the order load creates them.
var MovrTables = []string{"users", "vehicles", "rides", "vehicle_location_histories", "promo_codes", "user_promo_codes"}

// MixOps are the op names Workload.Mix accepts (load's names).
var MixOps = []string{"addUser", "addVehicle", "startRide", "endRide", "applyPromoCode", "createPromoCode", "updateLocation"}

// DefaultMix returns movr's write mix plus updateLocation .2, as load.DefaultMix.
func DefaultMix() map[string]float64 {
	return map[string]float64{"addUser": 0.3, "addVehicle": 0.1, "startRide": 0.4, "endRide": 0.07,
		"applyPromoCode": 0.1, "createPromoCode": 0.03, "updateLocation": 0.2}
}

// defaults returns the profile every file is decoded onto. Lists and maps with defaults
// (tables, mix) are filled in by applyDefaults after decoding, so a list in a file replaces
// rather than extends them.
func defaults() *Profile {
	return &Profile{
		Database: Database{Kind: KindAuto},
		IdP:      IdP{AuthStyle: AuthStyleHeader, Timeout: 10 * time.Second},
		Kafka:    Kafka{SecurityProtocol: SASLSSL},
		Changefeed: Changefeed{
			Mode:         ModeCreate,
			Options:      ChangefeedOptions{Updated: true, Resolved: time.Second, MinCheckpointFrequency: time.Second},
			Sink:         Sink{SASLMechanism: "OAUTHBEARER"},
			CancelOnExit: true,
		},
		Workload: Workload{
			Rate: 200, Concurrency: 8, Arrivals: ArrivalsPoisson, Duration: 60 * time.Second,
			Warmup: 10 * time.Second, DrainTimeout: 30 * time.Second, Repetitions: 1,
			Seed: Seed{Users: 50, Vehicles: 15, Rides: 5},
		},
		Measure: Measure{RefreshWindow: 2 * time.Second, ClockSamples: 50, Start: StartEnd},
	}
}

// applyDefaults fills in the list and map defaults left empty by the files.
func (p *Profile) applyDefaults() {
	if len(p.Changefeed.Tables) == 0 {
		p.Changefeed.Tables = append([]string(nil), MovrTables...)
	}
	if p.Workload.Mix == nil {
		p.Workload.Mix = DefaultMix()
	}
}
