package changefeed

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
)

// DefaultMinCheckpointFrequency is CockroachDB's min_checkpoint_frequency when the option is not
// given. Resolved messages are never emitted more often than the effective value.
const DefaultMinCheckpointFrequency = 30 * time.Second

// Initial scan modes (the initial_scan option; no_initial_scan and initial_scan_only map here).
const (
	InitialScanYes  = "yes"
	InitialScanNo   = "no"
	InitialScanOnly = "only"
)

// Options is a parsed CREATE CHANGEFEED WITH clause restricted to what cfbench can measure: the
// wrapped envelope, JSON format, into Kafka. Options that do not change the messages (on_error,
// metrics_label, gc_protect_expires_after, …) are validated with CockroachDB's rules and kept in
// Extra, to be passed through to CockroachDB; pgfeed ignores them.
//
// The zero value is "no options". Build one with ParseOptions or by setting fields; SQL renders it.
type Options struct {
	Updated                bool           // updated: "updated" field in every row message
	Resolved               *time.Duration // resolved[=interval]; nil: off; 0: as often as possible
	MinCheckpointFrequency *time.Duration // min_checkpoint_frequency; nil: CockroachDB's default (30s)
	Diff                   bool           // diff: "before" field
	MVCCTimestamp          bool           // mvcc_timestamp: "mvcc_timestamp" field
	KeyInValue             bool           // key_in_value: "key" field
	TopicInValue           bool           // topic_in_value: "topic" field
	FullTableName          bool           // full_table_name: topics named db.schema.table
	Envelope               string         // envelope; "" or "wrapped" (the only one cfbench supports)
	Format                 string         // format; "" or "json" (the only one cfbench supports)
	InitialScan            string         // "", InitialScanYes, InitialScanNo or InitialScanOnly
	Cursor                 string         // cursor: start timestamp (HLC decimal or timestamp string)
	KafkaSinkConfig        *KafkaSinkConfig
	Extra                  []Option // options passed through to CockroachDB unchanged
}

// Option is one raw WITH option: Name, and Value when HasValue.
type Option struct {
	Name     string
	Value    string
	HasValue bool
}

type optionType int

const (
	optFlag optionType = iota
	optString
	optTimestamp
	optDuration
	optEnum
	optJSON
	optCSV
)

type optionSpec struct {
	typ         optionType
	enum        []string // optEnum / optCSV values, in CockroachDB's order
	canBeEmpty  bool     // key alone or key=value
	canBeZero   bool     // an explicit 0 duration is allowed
	ifEmpty     string   // meaning of the key alone
	kafka       bool     // valid for the Kafka sink (CommonOptions ∪ KafkaValidOptions)
	unsupported string   // non-empty: CockroachDB accepts it, cfbench does not (the reason)
	lower       bool     // value is case-insensitive (CaseInsensitiveOpts)
}

// changefeedOptions mirrors changefeedbase.ChangefeedOptionExpectValues.
var changefeedOptions = map[string]optionSpec{
	"avro_schema_prefix":                    {typ: optString, kafka: true, unsupported: "it only applies to format=avro"},
	"confluent_schema_registry":             {typ: optString, kafka: true, unsupported: "it only applies to format=avro"},
	"cursor":                                {typ: optTimestamp, kafka: true},
	"key_column":                            {typ: optString, kafka: true, unsupported: "a custom message key breaks cfbench's per-key verification"},
	"end_time":                              {typ: optTimestamp, kafka: true},
	"envelope":                              {typ: optEnum, enum: []string{"row", "key_only", "wrapped", "deprecated_row", "bare", "enriched"}, kafka: true, lower: true},
	"format":                                {typ: optEnum, enum: []string{"json", "avro", "csv", "experimental_avro", "parquet"}, kafka: true, lower: true},
	"full_table_name":                       {typ: optFlag, kafka: true},
	"key_in_value":                          {typ: optFlag, kafka: true},
	"topic_in_value":                        {typ: optFlag, kafka: true},
	"resolved":                              {typ: optDuration, canBeZero: true, canBeEmpty: true, ifEmpty: "0", kafka: true},
	"min_checkpoint_frequency":              {typ: optDuration, canBeZero: true, kafka: true},
	"updated":                               {typ: optFlag, kafka: true},
	"mvcc_timestamp":                        {typ: optFlag, kafka: true},
	"diff":                                  {typ: optFlag, kafka: true},
	"compression":                           {typ: optEnum, enum: []string{"gzip", "zstd"}, lower: true},
	"schema_change_events":                  {typ: optEnum, enum: []string{"column_changes", "default"}, kafka: true, lower: true},
	"schema_change_policy":                  {typ: optEnum, enum: []string{"backfill", "nobackfill", "stop", "ignore"}, kafka: true, lower: true},
	"split_column_families":                 {typ: optFlag, kafka: true},
	"initial_scan":                          {typ: optEnum, enum: []string{"yes", "no", "only"}, canBeEmpty: true, ifEmpty: "yes", kafka: true, lower: true},
	"no_initial_scan":                       {typ: optFlag, kafka: true},
	"initial_scan_only":                     {typ: optFlag, kafka: true},
	"protect_data_from_gc_on_pause":         {typ: optFlag, kafka: true},
	"gc_protect_expires_after":              {typ: optDuration, canBeZero: true, kafka: true},
	"kafka_sink_config":                     {typ: optJSON, kafka: true},
	"pubsub_sink_config":                    {typ: optJSON},
	"webhook_sink_config":                   {typ: optJSON},
	"webhook_auth_header":                   {typ: optString},
	"webhook_client_timeout":                {typ: optDuration},
	"on_error":                              {typ: optEnum, enum: []string{"pause", "fail"}, kafka: true, lower: true},
	"metrics_label":                         {typ: optString, kafka: true},
	"unordered":                             {typ: optFlag, kafka: true, unsupported: "cfbench verifies per-key order"},
	"virtual_columns":                       {typ: optEnum, enum: []string{"omitted", "null"}, kafka: true},
	"execution_locality":                    {typ: optString, kafka: true},
	"lagging_ranges_threshold":              {typ: optDuration, kafka: true},
	"lagging_ranges_polling_interval":       {typ: optDuration, kafka: true},
	"ignore_disable_changefeed_replication": {typ: optFlag, kafka: true},
	"encode_json_value_null_as_object":      {typ: optFlag, kafka: true, unsupported: "it changes the delete message cfbench decodes"},
	"enriched_properties":                   {typ: optCSV, enum: []string{"source", "schema"}, kafka: true, unsupported: "it only applies to envelope=enriched"},
}

// describeEnum is changefeedbase.describeEnum, including its double space before "and" when
// there are three or more values ("valid values are 'yes', 'no',  and 'only'").
func describeEnum(strs []string) string {
	switch len(strs) {
	case 1:
		return fmt.Sprintf("the only valid value is '%s'", strs[0])
	case 2:
		return fmt.Sprintf("valid values are '%s' and '%s'", strs[0], strs[1])
	default:
		s := "valid values are "
		for i, v := range strs {
			if i > 0 {
				s += ", "
			}
			if i == len(strs)-1 {
				s += " and "
			}
			s += fmt.Sprintf("'%s'", v)
		}
		return s
	}
}

// ParseOptions parses the text of a CREATE CHANGEFEED WITH clause, e.g.
//
//	updated, resolved='1s', diff, min_checkpoint_frequency='1s', kafka_sink_config='{"Flush":{"Frequency":"50ms"}}'
//
// A leading WITH or WITH OPTIONS ( … ) is accepted. Values are SQL string literals ('…', with ”
// for a quote); as a convenience a value without spaces or commas may also be written unquoted
// (resolved=1s), which CockroachDB's grammar itself does not accept: SQL always renders quotes.
//
// Validation follows CockroachDB (changefeedbase.ValidateForCreateChangefeed, exprutil) with its
// messages: `invalid option "x"`, `option "diff" does not take a value`, `option
// "kafka_sink_config" requires a value`, "problem parsing option resolved: …", "negative
// durations are not accepted: resolved='-1s'", "unknown initial_scan: maybe, valid values are
// …", "cannot specify both initial_scan and no_initial_scan", "cannot specify both
// initial_scan='only' and resolved", "this sink is incompatible with option compression", and
// kafka_sink_config's rules (ParseKafkaSinkConfig). cfbench also rejects options it cannot measure
// (another envelope or format, unordered, key_column, …) and an option given twice.
//
// A resolved interval shorter than min_checkpoint_frequency is not an error: CockroachDB emits a
// notice, which Warnings reproduces.
func ParseOptions(with string) (Options, error) {
	raw, err := splitOptions(with)
	if err != nil {
		return Options{}, err
	}
	return optionsFromList(raw)
}

func optionsFromList(raw []Option) (Options, error) {
	var o Options
	seen := make(map[string]bool, len(raw))
	vals := make(map[string]string, len(raw))
	for _, opt := range raw {
		spec, ok := changefeedOptions[opt.Name]
		if !ok {
			return Options{}, fmt.Errorf("invalid option %q", opt.Name)
		}
		if seen[opt.Name] {
			return Options{}, fmt.Errorf("option %q is given twice; give it once", opt.Name)
		}
		seen[opt.Name] = true
		switch {
		case spec.typ == optFlag && opt.HasValue:
			return Options{}, fmt.Errorf("option %q does not take a value", opt.Name)
		case spec.typ != optFlag && !spec.canBeEmpty && !opt.HasValue:
			return Options{}, fmt.Errorf("option %q requires a value", opt.Name)
		}
		v := opt.Value
		if spec.lower {
			v = strings.ToLower(v)
		}
		vals[opt.Name] = v
	}

	// validateAgainst: durations and enums, in a fixed order.
	durations := map[string]*time.Duration{}
	for _, name := range sortedKeys(vals) {
		spec := changefeedOptions[name]
		v := vals[name]
		switch spec.typ {
		case optDuration:
			if v == "" {
				v = spec.ifEmpty
			}
			d, err := time.ParseDuration(v)
			switch {
			case err != nil:
				return Options{}, fmt.Errorf("problem parsing option %s: %w", name, err)
			case d < 0:
				return Options{}, fmt.Errorf("negative durations are not accepted: %s='%s'", name, v)
			case d == 0 && !spec.canBeZero:
				return Options{}, fmt.Errorf("option %s must be a duration greater than 0", name)
			}
			durations[name] = &d
		case optEnum:
			if v != "" && !slices.Contains(spec.enum, v) {
				return Options{}, fmt.Errorf("unknown %s: %s, %s", name, v, describeEnum(spec.enum))
			}
		case optCSV:
			for _, part := range strings.Split(v, ",") {
				if part = strings.TrimSpace(part); !slices.Contains(spec.enum, part) {
					return Options{}, fmt.Errorf("unknown %s: %s, valid values are: %s", name, part, strings.Join(spec.enum, ", "))
				}
			}
		}
	}

	// GetInitialScanType.
	_, initialScan := vals["initial_scan"]
	_, initialScanOnly := vals["initial_scan_only"]
	_, noInitialScan := vals["no_initial_scan"]
	switch {
	case initialScan && noInitialScan:
		return Options{}, errors.New("cannot specify both initial_scan and no_initial_scan")
	case initialScan && initialScanOnly:
		return Options{}, errors.New("cannot specify both initial_scan and initial_scan_only")
	case noInitialScan && initialScanOnly:
		return Options{}, errors.New("cannot specify both initial_scan='only' and no_initial_scan")
	case initialScan:
		o.InitialScan = vals["initial_scan"]
		if o.InitialScan == "" {
			o.InitialScan = InitialScanYes
		}
	case initialScanOnly:
		o.InitialScan = InitialScanOnly
	case noInitialScan:
		o.InitialScan = InitialScanNo
	}
	if o.InitialScan == InitialScanOnly {
		for _, name := range []string{"end_time", "resolved", "diff", "mvcc_timestamp", "updated"} {
			if _, ok := vals[name]; ok {
				return Options{}, fmt.Errorf("cannot specify both initial_scan='only' and %s", name)
			}
		}
	}

	// Sink compatibility (validateSink: "this sink is incompatible with option …").
	for _, name := range sortedKeys(vals) {
		if !changefeedOptions[name].kafka {
			return Options{}, fmt.Errorf("this sink is incompatible with option %s", name)
		}
	}
	if _, ok := vals["unordered"]; ok {
		if _, ok := vals["resolved"]; ok {
			return Options{}, errors.New("unordered is not usable with resolved because resolved timestamps cannot be guaranteed to be correct in unordered mode")
		}
	}

	// What cfbench can measure.
	for _, name := range sortedKeys(vals) {
		if why := changefeedOptions[name].unsupported; why != "" {
			return Options{}, fmt.Errorf("option %s is valid in CockroachDB but cfbench does not support it: %s", name, why)
		}
	}
	if e := vals["envelope"]; e != "" && e != "wrapped" {
		return Options{}, fmt.Errorf("envelope=%s is valid in CockroachDB but cfbench supports only envelope=wrapped, the envelope its consumer decodes", e)
	}
	if f := vals["format"]; f != "" && f != "json" {
		return Options{}, fmt.Errorf("format=%s is valid in CockroachDB but cfbench supports only format=json, the format its consumer decodes", f)
	}

	for _, opt := range raw {
		v := vals[opt.Name]
		switch opt.Name {
		case "updated":
			o.Updated = true
		case "resolved":
			o.Resolved = durations["resolved"]
		case "min_checkpoint_frequency":
			o.MinCheckpointFrequency = durations["min_checkpoint_frequency"]
		case "diff":
			o.Diff = true
		case "mvcc_timestamp":
			o.MVCCTimestamp = true
		case "key_in_value":
			o.KeyInValue = true
		case "topic_in_value":
			o.TopicInValue = true
		case "full_table_name":
			o.FullTableName = true
		case "envelope":
			o.Envelope = v
		case "format":
			o.Format = v
		case "cursor":
			o.Cursor = v
		case "kafka_sink_config":
			cfg, err := ParseKafkaSinkConfig(v)
			if err != nil {
				return Options{}, fmt.Errorf("option kafka_sink_config: %w", err)
			}
			o.KafkaSinkConfig = &cfg
		case "initial_scan", "initial_scan_only", "no_initial_scan":
			// Folded into o.InitialScan above.
		default:
			ex := Option{Name: opt.Name, Value: v, HasValue: opt.HasValue}
			o.Extra = append(o.Extra, ex)
		}
	}
	return o, nil
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Warnings returns the notices CockroachDB would print for these options: a resolved interval
// shorter than min_checkpoint_frequency (or its 30s default), and retired options.
func (o Options) Warnings() []string {
	var ws []string
	if o.Resolved != nil && *o.Resolved > 0 {
		if o.MinCheckpointFrequency != nil {
			if *o.Resolved < *o.MinCheckpointFrequency {
				ws = append(ws, fmt.Sprintf("resolved (%s) messages will not be emitted more frequently than the configured min_checkpoint_frequency (%s), but may be emitted less frequently",
					*o.Resolved, *o.MinCheckpointFrequency))
			}
		} else if *o.Resolved < DefaultMinCheckpointFrequency {
			ws = append(ws, fmt.Sprintf("resolved (%s) messages will not be emitted more frequently than the default min_checkpoint_frequency (%s), but may be emitted less frequently",
				*o.Resolved, DefaultMinCheckpointFrequency))
		}
	}
	for _, ex := range o.Extra {
		if ex.Name == "protect_data_from_gc_on_pause" {
			ws = append(ws, "protect_data_from_gc_on_pause option is no longer needed")
		}
	}
	return ws
}

// ResolvedInterval returns how often resolved messages can actually be expected: the resolved
// interval, but never less than the effective min_checkpoint_frequency. ok is false when resolved
// is off.
func (o Options) ResolvedInterval() (d time.Duration, ok bool) {
	if o.Resolved == nil {
		return 0, false
	}
	floor := DefaultMinCheckpointFrequency
	if o.MinCheckpointFrequency != nil {
		floor = *o.MinCheckpointFrequency
	}
	return max(*o.Resolved, floor), true
}

// SQL renders the options as the body of a WITH clause (without the WITH keyword), in a fixed
// order, every value a quoted SQL string: ParseOptions(o.SQL()) returns o. No options render as "".
func (o Options) SQL() string {
	var parts []string
	add := func(name string) { parts = append(parts, name) }
	addv := func(name, v string) { parts = append(parts, name+" = "+QuoteString(v)) }
	if o.Updated {
		add("updated")
	}
	if o.Resolved != nil {
		if *o.Resolved == 0 {
			add("resolved")
		} else {
			addv("resolved", o.Resolved.String())
		}
	}
	if o.MinCheckpointFrequency != nil {
		addv("min_checkpoint_frequency", o.MinCheckpointFrequency.String())
	}
	if o.Diff {
		add("diff")
	}
	if o.MVCCTimestamp {
		add("mvcc_timestamp")
	}
	if o.KeyInValue {
		add("key_in_value")
	}
	if o.TopicInValue {
		add("topic_in_value")
	}
	if o.FullTableName {
		add("full_table_name")
	}
	if o.Envelope != "" {
		addv("envelope", o.Envelope)
	}
	if o.Format != "" {
		addv("format", o.Format)
	}
	if o.InitialScan != "" {
		addv("initial_scan", o.InitialScan)
	}
	if o.Cursor != "" {
		addv("cursor", o.Cursor)
	}
	if o.KafkaSinkConfig != nil {
		addv("kafka_sink_config", o.KafkaSinkConfig.JSON())
	}
	for _, ex := range o.Extra {
		if ex.HasValue {
			addv(ex.Name, ex.Value)
		} else {
			add(ex.Name)
		}
	}
	return strings.Join(parts, ", ")
}

// Validate checks options built in code with ParseOptions's rules (it parses o.SQL()).
func (o Options) Validate() error {
	_, err := ParseOptions(o.SQL())
	return err
}

// splitOptions tokenizes a WITH clause into raw options. Keys are identifiers (lower-cased, as
// SQL folds them), "quoted identifiers" or 'string' keys; values are 'strings' or bare words.
func splitOptions(s string) ([]Option, error) {
	p := &optLexer{s: s}
	p.skipSpace()
	if p.keyword("with") {
		p.skipSpace()
		if p.keyword("options") {
			p.skipSpace()
		}
	}
	paren := false
	if p.peek() == '(' {
		paren = true
		p.i++
	}
	var out []Option
	for {
		p.skipSpace()
		if p.eof() || (paren && p.peek() == ')') {
			if len(out) > 0 {
				return nil, p.errorf("expected an option after ','")
			}
			break
		}
		name, err := p.key()
		if err != nil {
			return nil, err
		}
		opt := Option{Name: name}
		p.skipSpace()
		if p.peek() == '=' {
			p.i++
			p.skipSpace()
			v, err := p.value()
			if err != nil {
				return nil, fmt.Errorf("option %q: %w", name, err)
			}
			opt.Value, opt.HasValue = v, true
			p.skipSpace()
		}
		out = append(out, opt)
		if p.peek() == ',' {
			p.i++
			continue
		}
		break
	}
	p.skipSpace()
	if paren {
		if p.peek() != ')' {
			return nil, p.errorf("expected ')'")
		}
		p.i++
		p.skipSpace()
	}
	if !p.eof() {
		return nil, p.errorf("expected ',' between options")
	}
	return out, nil
}

type optLexer struct {
	s string
	i int
}

func (p *optLexer) eof() bool { return p.i >= len(p.s) }

func (p *optLexer) peek() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.i]
}

func (p *optLexer) skipSpace() {
	for !p.eof() && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

// errorf reports a syntax error at the current byte offset (1-based column).
func (p *optLexer) errorf(format string, args ...any) error {
	at := "end of input"
	if !p.eof() {
		at = fmt.Sprintf("column %d", p.i+1)
	}
	return fmt.Errorf("parsing WITH options at %s: %s", at, fmt.Sprintf(format, args...))
}

// keyword consumes kw (case-insensitive) when it is followed by a non-identifier byte.
func (p *optLexer) keyword(kw string) bool {
	end := p.i + len(kw)
	if end > len(p.s) || !strings.EqualFold(p.s[p.i:end], kw) {
		return false
	}
	if end < len(p.s) && isIdentByte(p.s[end]) {
		return false
	}
	p.i = end
	return true
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || c >= 0x80
}

func (p *optLexer) key() (string, error) {
	switch c := p.peek(); {
	case c == '\'':
		return p.quoted('\'')
	case c == '"':
		return p.quoted('"')
	case isIdentByte(c) && !('0' <= c && c <= '9') && c != '$':
		start := p.i
		for !p.eof() && isIdentByte(p.s[p.i]) {
			p.i++
		}
		return strings.ToLower(p.s[start:p.i]), nil
	default:
		return "", p.errorf("expected an option name")
	}
}

func (p *optLexer) value() (string, error) {
	switch c := p.peek(); {
	case c == '\'':
		return p.quoted('\'')
	case (c == 'e' || c == 'E') && p.i+1 < len(p.s) && p.s[p.i+1] == '\'':
		return "", p.errorf("escape strings (e'…') are not supported; use a plain '…' string")
	case c == 0 || c == ',' || c == ')' || c == '"':
		return "", p.errorf("expected a value")
	default:
		// Bare word: cfbench's convenience (resolved=1s).
		start := p.i
		for !p.eof() {
			c := p.s[p.i]
			if c == ',' || c == ')' || c == '\'' || c == '"' || unicode.IsSpace(rune(c)) {
				break
			}
			p.i++
		}
		return p.s[start:p.i], nil
	}
}

// quoted reads a q-quoted token in which qq stands for one q.
func (p *optLexer) quoted(q byte) (string, error) {
	start := p.i
	p.i++
	var b strings.Builder
	for {
		if p.eof() {
			p.i = start
			return "", p.errorf("unterminated %c-quoted string", q)
		}
		c := p.s[p.i]
		p.i++
		if c == q {
			if p.peek() == q {
				b.WriteByte(q)
				p.i++
				continue
			}
			return b.String(), nil
		}
		b.WriteByte(c)
	}
}
