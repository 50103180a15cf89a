package report

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Schema is the value of the "schema" field this package reads and writes.
const Schema = "cfbench.result/v1"

// Histogram geometry shared by every cfbench latency: microseconds from 1 µs to 1 h,
// 3 significant figures. Values outside the range are clamped by the recorder.
const (
	LowestUS   = 1
	HighestUS  = 3_600_000_000
	SigFigures = 3
)

// Metric names written by cfbench (DESIGN.md §4). Per-op write latencies are named
// WriteLatencyPrefix + op, e.g. "write_latency.addVehicle". Other names are allowed.
const (
	MetricE2ECommit       = "e2e_commit"
	MetricE2EAck          = "e2e_ack"
	MetricCommitToKafka   = "commit_to_kafka"
	MetricKafkaToConsumer = "kafka_to_consumer"
	MetricResolvedLag     = "resolved_lag"
	MetricTokenFetch      = "token_fetch"
	WriteLatencyPrefix    = "write_latency."
	// MetricRefreshInside and MetricRefreshOutside split e2e_commit by distance to a token
	// refresh (DESIGN.md §4 "refresh impact"), recorded by the consumer per message.
	MetricRefreshInside  = "e2e_commit.refresh_inside"
	MetricRefreshOutside = "e2e_commit.refresh_outside"
)

// Result is one run of one worker: the document of DESIGN.md §6. The JSON field names are fixed;
// fields marked "cfbench extension" are additions a reader may rely on but older files may lack.
type Result struct {
	// Schema is always [Schema]; ReadFile rejects any other value.
	Schema string `json:"schema"`
	Run    Run    `json:"run"`
	// Metrics maps a metric name (see the Metric* constants) to its measured-phase histogram.
	// The warm-up is never included here.
	Metrics map[string]Metric `json:"metrics"`
	// Warmup holds the same metrics recorded during the warm-up, kept apart so totals leave the
	// ramp-up out (cfbench extension, optional).
	Warmup   map[string]Metric `json:"warmup,omitempty"`
	Delivery Delivery          `json:"delivery"`
	Token    Token             `json:"token"`
	Clock    Clock             `json:"clock"`
	Rates    Rates             `json:"rates"`
	// Series has one entry per second of the measured phase, in order of T.
	Series []Second `json:"series"`
	// Intervals holds, per metric name, one histogram per second of the measured phase, used
	// for the .hlog interval log and latency-over-time charts (cfbench extension, optional).
	// Example: "intervals": {"e2e_commit": [{"t": 0, "hdr": "HISTF..."}, ...]}.
	Intervals map[string][]Interval `json:"intervals,omitempty"`
	// Errors counts errors grouped by where they happened and their message.
	Errors []ErrorCount `json:"errors"`
}

// Run describes how and when a result was produced.
type Run struct {
	Profile     string    `json:"profile"`
	Started     time.Time `json:"started"` // RFC 3339
	Ended       time.Time `json:"ended"`   // RFC 3339
	Interrupted bool      `json:"interrupted"`
	ToolVersion string    `json:"tool_version"`
	GitCommit   string    `json:"git_commit"`
	Host        string    `json:"host"`
	// Worker is "i/n" for worker i of n, or "merged k/n" after [Merge].
	Worker string `json:"worker"`
	// Variant names the matrix variant this run belongs to, e.g.
	// "changefeed.kafka_sink_config.Flush.Frequency=50ms"; empty outside a matrix (cfbench
	// extension, optional). compare --group-by variant groups runs by it.
	Variant string `json:"variant,omitempty"`
	// Repetition is the 1-based repetition number of this run within its variant (cfbench
	// extension, optional; 0 when unknown).
	Repetition int `json:"repetition,omitempty"`
	// MeasuredFrom is when the measured phase (after the warm-up) started: the origin of the
	// series' and intervals' T (cfbench extension, optional; when absent, Started is the origin).
	MeasuredFrom time.Time `json:"measured_from,omitzero"`
	// Group is the Kafka consumer group the workers of one run shared, and RunID the run they
	// coordinated under (cfbench run --worker i/n, n > 1; cfbench extension, optional).
	Group string `json:"group,omitempty"`
	RunID string `json:"run_id,omitempty"`
	// Partitions are the "topic[partition]"s the group assigned this worker at the end of the
	// run (cfbench extension, optional).
	Partitions []string `json:"partitions,omitempty"`
	// Config is the effective profile with secrets redacted by the writer. Its "workload"
	// section is what compare checks for sameness.
	Config map[string]any `json:"config,omitempty"`
}

// Origin is the wall time of T=0 in the series and intervals: MeasuredFrom, else Started.
func (r Run) Origin() time.Time {
	if !r.MeasuredFrom.IsZero() {
		return r.MeasuredFrom
	}
	return r.Started
}

// Duration returns Ended − Started, or 0 if either is unset.
func (r Run) Duration() time.Duration {
	if r.Started.IsZero() || r.Ended.IsZero() {
		return 0
	}
	return r.Ended.Sub(r.Started)
}

// Metric is one latency distribution: summary values in microseconds and the lossless histogram.
// The summary fields are derived from HDR and are there for scripts (jq) and humans; every
// renderer here recomputes from HDR when it needs more than they hold.
type Metric struct {
	Count   int64   `json:"count"`
	MinUS   int64   `json:"min_us"`
	MeanUS  float64 `json:"mean_us"`
	P50US   int64   `json:"p50_us"`
	P90US   int64   `json:"p90_us"`
	P99US   int64   `json:"p99_us"`
	P999US  int64   `json:"p999_us"`
	P9999US int64   `json:"p9999_us"`
	MaxUS   int64   `json:"max_us"`
	// HDR is the HdrHistogram V2 compressed encoding, base64 (StdEncoding), of a histogram of
	// microseconds; readable by every HdrHistogram implementation.
	HDR string `json:"hdr"`
}

// NewHistogram returns an empty histogram with cfbench's geometry (µs, 1 µs .. 1 h, 3 figures).
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(LowestUS, HighestUS, SigFigures)
}

// MetricFromHistogram summarizes h and encodes it losslessly. h is not modified.
func MetricFromHistogram(h *hdrhistogram.Histogram) Metric {
	m := Metric{Count: h.TotalCount(), HDR: encodeHDR(h)}
	if m.Count == 0 {
		return m
	}
	m.MinUS = h.Min()
	m.MeanUS = h.Mean()
	m.MaxUS = h.Max()
	m.P50US = h.ValueAtQuantile(50)
	m.P90US = h.ValueAtQuantile(90)
	m.P99US = h.ValueAtQuantile(99)
	m.P999US = h.ValueAtQuantile(99.9)
	m.P9999US = h.ValueAtQuantile(99.99)
	return m
}

// encodeHDR returns the V2 compressed encoding of h, base64.
func encodeHDR(h *hdrhistogram.Histogram) string {
	enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		// Encoding writes to memory buffers only; failing means a broken histogram.
		panic(fmt.Sprintf("report: encoding histogram: %v", err))
	}
	return string(enc)
}

// Histogram decodes the lossless histogram. A metric without HDR yields an empty histogram of
// cfbench's geometry when Count is 0, and an error otherwise.
func (m Metric) Histogram() (*hdrhistogram.Histogram, error) {
	if m.HDR == "" {
		if m.Count == 0 {
			return NewHistogram(), nil
		}
		return nil, fmt.Errorf("metric has %d values but no hdr histogram", m.Count)
	}
	if err := checkGeometry(m.HDR); err != nil {
		return nil, err
	}
	h, err := hdrhistogram.Decode([]byte(m.HDR))
	if err != nil {
		return nil, fmt.Errorf("decoding hdr histogram: %w", err)
	}
	return h, nil
}

// checkGeometry reads the header of an encoded histogram and rejects any geometry but cfbench's
// (LowestUS..HighestUS at SigFigures) before Decode allocates its counts: a hostile header
// could otherwise ask for gigabytes, and histograms of other geometries would not merge exactly.
func checkGeometry(hdr string) error {
	raw, err := base64.StdEncoding.DecodeString(hdr)
	if err != nil {
		return fmt.Errorf("decoding hdr histogram: %w", err)
	}
	if len(raw) < 8 {
		return fmt.Errorf("decoding hdr histogram: %d bytes, too short", len(raw))
	}
	z, err := zlib.NewReader(bytes.NewReader(raw[8:]))
	if err != nil {
		return fmt.Errorf("decoding hdr histogram: %w", err)
	}
	defer z.Close()
	var head [40]byte
	if _, err := io.ReadFull(z, head[:]); err != nil {
		return fmt.Errorf("decoding hdr histogram header: %w", err)
	}
	sig := int32(binary.BigEndian.Uint32(head[12:]))
	lo := int64(binary.BigEndian.Uint64(head[16:]))
	hi := int64(binary.BigEndian.Uint64(head[24:]))
	if sig != SigFigures || lo != LowestUS || hi != HighestUS {
		return fmt.Errorf("hdr histogram covers %d..%d at %d significant figures; cfbench histograms cover %d..%d µs at %d",
			lo, hi, sig, LowestUS, HighestUS, SigFigures)
	}
	return nil
}

// Delivery is the verification of what the consumer received against the write ledger.
type Delivery struct {
	Written             int64 `json:"written"`
	Received            int64 `json:"received"`
	Missing             int64 `json:"missing"`
	Duplicates          int64 `json:"duplicates"`
	OrderViolations     int64 `json:"order_violations"`
	PartitionViolations int64 `json:"partition_violations"`
	ResolvedViolations  int64 `json:"resolved_violations"`
	DecodeErrors        int64 `json:"decode_errors"`
	// AckedAfterReceive counts changes the consumer received before their writer had recorded
	// the commit acknowledgement (the writer's goroutine ran late): delivered, but without an
	// e2e_ack (cfbench extension, optional).
	AckedAfterReceive int64 `json:"acked_after_receive,omitempty"`
	// Unexpected counts row changes received that no writer of this run made: another writer of
	// the tables, an ambiguous commit, or a changefeed replay with new timestamps (cfbench
	// extension, optional).
	Unexpected int64 `json:"unexpected,omitempty"`
	// Unreconciled counts acknowledged writes of a worker of a group run that its own consumer
	// did not receive: they went to partitions other workers own. Not missing: cfbench merge
	// reconciles them with the other workers' sidecars (verify.tsv.gz) and turns each into
	// received or missing (cfbench extension, optional; 0 after merge).
	Unreconciled int64 `json:"unreconciled,omitempty"`
	// CrossWorker counts writes one worker acknowledged and another received, matched by
	// cfbench merge; CrossWorkerE2EAck is set when their e2e_ack (clock offsets applied) is in
	// metrics.e2e_ack, otherwise e2e_ack covers same-worker matches only (cfbench extension,
	// optional).
	CrossWorker       int64 `json:"cross_worker,omitempty"`
	CrossWorkerE2EAck bool  `json:"cross_worker_e2e_ack,omitempty"`
}

// Passed reports whether delivery met the changefeed guarantees: nothing missing, no per-key
// order, partition or resolved violations, no undecodable message. Duplicates are allowed
// (at-least-once).
func (d Delivery) Passed() bool {
	return d.Missing == 0 && d.OrderViolations == 0 && d.PartitionViolations == 0 &&
		d.ResolvedViolations == 0 && d.DecodeErrors == 0
}

// Token describes the consumer's OAuth token fetches. Fetch durations are the "token_fetch" metric.
type Token struct {
	Fetches   int64 `json:"fetches"`
	Failures  int64 `json:"failures"`
	Refreshes int64 `json:"refreshes"`
	// FirstTokenUS is the time from start to the first usable token, in µs.
	FirstTokenUS int64 `json:"first_token_us"`
	// LifetimeS is the lifetime (expires_in) of the last token, in seconds.
	LifetimeS float64      `json:"lifetime_s"`
	Events    []TokenEvent `json:"events"`
}

// TokenEvent is one token fetch.
type TokenEvent struct {
	At     time.Time `json:"at"`
	TookUS int64     `json:"took_us"`
	OK     bool      `json:"ok"`
	Error  string    `json:"error"`
}

// Clock is the estimated offset of the database clock relative to the consumer's, with its bound.
type Clock struct {
	OffsetUS      int64 `json:"offset_us"`
	UncertaintyUS int64 `json:"uncertainty_us"`
	Samples       int   `json:"samples"`
	// DriftUS is the offset measured again when the run ended minus OffsetUS: how far the two
	// clocks moved apart while e2e_commit was corrected by OffsetUS; EndUncertaintyUS is that
	// second probe's bound. After a merge, the largest drift of the workers' (cfbench extension,
	// optional: nil when there was no second probe).
	DriftUS          *int64 `json:"drift_us,omitempty"`
	EndUncertaintyUS int64  `json:"end_uncertainty_us,omitempty"`
}

// Rates are whole-run averages over the measured phase.
type Rates struct {
	IntendedWritesPerS float64 `json:"intended_writes_per_s"`
	AchievedWritesPerS float64 `json:"achieved_writes_per_s"`
	EventsPerS         float64 `json:"events_per_s"`
	// BytesPerS is the consumed message bytes (key+value) per second (cfbench extension).
	BytesPerS float64 `json:"bytes_per_s,omitempty"`
}

// Second is one per-second row of the measured phase (the warm-up is left out). T counts whole
// seconds from the start of the measured phase ([Run.Origin]); the latency fields are µs.
type Second struct {
	T              int64 `json:"t"`
	Writes         int64 `json:"writes"`
	Events         int64 `json:"events"`
	E2EP50US       int64 `json:"e2e_p50_us"`
	E2EP99US       int64 `json:"e2e_p99_us"`
	E2EMaxUS       int64 `json:"e2e_max_us"`
	ResolvedLagUS  int64 `json:"resolved_lag_us"`
	TokenRefreshes int64 `json:"token_refreshes"`
	Errors         int64 `json:"errors"`
	// ConsumerLagMsgs is how many messages the consumer had not polled yet in its partitions as
	// the second closed (high watermark − position; summed over workers after a merge); nil when
	// not measured (cfbench extension, optional). See [CheckRun].
	ConsumerLagMsgs *int64 `json:"consumer_lag_msgs,omitempty"`
	// ConsumerBehind is set by [Merge] when a worker's consumer was behind in this second
	// ([LagBehind] on its own lag and events, which the sums can hide; cfbench extension,
	// optional).
	ConsumerBehind bool `json:"consumer_behind,omitempty"`
}

// Interval is the histogram of one metric over one second [T, T+1) of the measured phase, T as in
// [Second]; HDR is encoded like [Metric.HDR].
type Interval struct {
	T   int64  `json:"t"`
	HDR string `json:"hdr"`
}

// ErrorCount is a group of identical errors.
type ErrorCount struct {
	At      time.Time `json:"at"`    // first occurrence
	Where   string    `json:"where"` // load, consume, changefeed or oauth
	Count   int64     `json:"count"`
	Message string    `json:"message"`
}

// MetricNames returns the names in m in display order: the DESIGN.md §4 metrics first, in that
// order, then the rest sorted.
func MetricNames(m map[string]Metric) []string {
	known := []string{MetricE2ECommit, MetricE2EAck, MetricCommitToKafka, MetricKafkaToConsumer,
		MetricResolvedLag, MetricTokenFetch}
	var names []string
	for _, k := range known {
		if _, ok := m[k]; ok {
			names = append(names, k)
		}
	}
	var rest []string
	for k := range m {
		if !contains(known, k) {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	return append(names, rest...)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// ReadFile reads and validates a result file. It rejects documents whose schema is not [Schema]
// and metrics whose histogram does not decode, naming the file.
func ReadFile(path string) (*Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading result: %w", err)
	}
	r, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("reading result %s: %w", path, err)
	}
	return r, nil
}

// Parse decodes and validates a result document (see [ReadFile]).
func Parse(b []byte) (*Result, error) {
	var probe struct {
		Schema *string `json:"schema"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("not a JSON result: %w", err)
	}
	if probe.Schema == nil {
		return nil, fmt.Errorf("no \"schema\" field: not a cfbench result (want %q)", Schema)
	}
	if *probe.Schema != Schema {
		return nil, fmt.Errorf("schema %q is not supported: this cfbench reads %q", *probe.Schema, Schema)
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decoding result: %w", err)
	}
	for _, set := range []struct {
		field string
		m     map[string]Metric
	}{{"metrics", r.Metrics}, {"warmup", r.Warmup}} {
		for name, m := range set.m {
			if _, err := m.Histogram(); err != nil {
				return nil, fmt.Errorf("%s.%s: %w", set.field, name, err)
			}
		}
	}
	for name, ivs := range r.Intervals {
		for i, iv := range ivs {
			if _, err := (Metric{HDR: iv.HDR, Count: 1}).Histogram(); err != nil {
				return nil, fmt.Errorf("intervals.%s[%d]: %w", name, i, err)
			}
		}
	}
	return &r, nil
}

// Marshal encodes r as indented JSON with a trailing newline, after setting Schema and
// redacting run.config (see [Redact]). r itself is not modified.
func (r *Result) Marshal() ([]byte, error) {
	c := *r
	c.Schema = Schema
	c.Run.Config = Redact(r.Run.Config)
	// Readers get arrays and objects, never null, for the DESIGN.md §6 fields.
	if c.Metrics == nil {
		c.Metrics = map[string]Metric{}
	}
	if c.Series == nil {
		c.Series = []Second{}
	}
	if c.Errors == nil {
		c.Errors = []ErrorCount{}
	}
	if c.Token.Events == nil {
		c.Token.Events = []TokenEvent{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&c); err != nil {
		return nil, fmt.Errorf("encoding result: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteFile writes r to path atomically (a temporary file in the same folder, then rename), mode
// 0644. run.config goes through [Redact] as a safety net; the caller should redact it already.
func (r *Result) WriteFile(path string) error {
	b, err := r.Marshal()
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b)
}

// writeFileAtomic writes b to path through a temporary file in the same folder and a rename.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// Redacted is the value [Redact] puts in place of a secret.
const Redacted = "REDACTED"

// secretWords are the substrings (lower case) that mark a config key as secret.
var secretWords = []string{"secret", "password", "passwd", "token", "credential", "private_key", "api_key", "apikey"}

// secretExceptions are keys that contain a secret word but name no secret: their values are
// URLs, file paths or counts.
var secretExceptions = []string{"token_url", "sasl_token_url", "tokenurl", "secret_file", "client_secret_file",
	"secret_env", "client_secret_env", "password_file", "password_env", "token_audience"}

// Redact returns a deep copy of config in which the value of every key that names a secret
// (contains secret, password, token, credential, private_key or api_key, case-insensitive, except
// keys such as token_url or secret_file that name where a secret lives) is replaced by
// [Redacted], at every depth. Strings that look like URIs carrying a sasl_client_secret or
// sasl_password query parameter, or a password in their user info, have those values redacted.
func Redact(config map[string]any) map[string]any {
	if config == nil {
		return nil
	}
	out, _ := redactValue("", config).(map[string]any)
	return out
}

func isSecretKey(k string) bool {
	k = strings.ToLower(k)
	for _, e := range secretExceptions {
		if k == e {
			return false
		}
	}
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

func redactValue(key string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, vv := range x {
			if isSecretKey(k) && !isEmpty(vv) {
				out[k] = Redacted
				continue
			}
			out[k] = redactValue(k, vv)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, vv := range x {
			out[i] = redactValue(key, vv)
		}
		return out
	case string:
		return redactURI(x)
	default:
		return v
	}
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	}
	return false
}

// redactURI redacts the password of a URI's user info and the values of its secret query
// parameters (sasl_client_secret, sasl_password, ...). Other strings are returned unchanged.
func redactURI(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		// An unparsable URI may still hold a secret: keep only the scheme.
		if i := strings.Index(s, "://"); i > 0 {
			return s[:i+3] + Redacted
		}
		return Redacted
	}
	changed := false
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), Redacted)
		changed = true
	}
	q := u.Query()
	for k := range q {
		if isSecretKey(k) {
			q[k] = []string{Redacted}
			changed = true
		}
	}
	if !changed {
		return s
	}
	u.RawQuery = q.Encode()
	return u.String()
}
