package changefeed

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func dur(d time.Duration) *time.Duration { return &d }

func TestParseOptions(t *testing.T) {
	for _, tc := range []struct {
		name, with string
		want       Options
		sql        string
	}{
		{"empty", ``, Options{}, ``},
		{"brief example",
			`updated, resolved='1s', diff, min_checkpoint_frequency='1s', kafka_sink_config='{"Flush":{"Frequency":"50ms"}}'`,
			Options{Updated: true, Resolved: dur(time.Second), Diff: true, MinCheckpointFrequency: dur(time.Second),
				KafkaSinkConfig: &KafkaSinkConfig{Flush: KafkaFlush{Frequency: 50 * time.Millisecond}}},
			`updated, resolved = '1s', min_checkpoint_frequency = '1s', diff, kafka_sink_config = '{"Flush":{"Frequency":"50ms"}}'`},
		{"unquoted values, WITH keyword, upper case", `WITH UPDATED, resolved=1s, min_checkpoint_frequency = 500ms`,
			Options{Updated: true, Resolved: dur(time.Second), MinCheckpointFrequency: dur(500 * time.Millisecond)},
			`updated, resolved = '1s', min_checkpoint_frequency = '500ms'`},
		{"WITH OPTIONS (…)", `WITH OPTIONS (diff, mvcc_timestamp, key_in_value, topic_in_value, full_table_name)`,
			Options{Diff: true, MVCCTimestamp: true, KeyInValue: true, TopicInValue: true, FullTableName: true},
			`diff, mvcc_timestamp, key_in_value, topic_in_value, full_table_name`},
		{"bare resolved means as often as possible", `resolved`, Options{Resolved: dur(0)}, `resolved`},
		{"resolved='0s' is the same", `resolved='0s'`, Options{Resolved: dur(0)}, `resolved`},
		{"envelope and format, case-insensitive", `envelope='WRAPPED', format=JSON`,
			Options{Envelope: "wrapped", Format: "json"}, `envelope = 'wrapped', format = 'json'`},
		{"initial_scan forms", `initial_scan`, Options{InitialScan: InitialScanYes}, `initial_scan = 'yes'`},
		{"no_initial_scan", `no_initial_scan`, Options{InitialScan: InitialScanNo}, `initial_scan = 'no'`},
		{"initial_scan='only'", `initial_scan='only'`, Options{InitialScan: InitialScanOnly}, `initial_scan = 'only'`},
		{"quotes in values", `cursor='it''s', metrics_label='a b'`,
			Options{Cursor: "it's", Extra: []Option{{Name: "metrics_label", Value: "a b", HasValue: true}}},
			`cursor = 'it''s', metrics_label = 'a b'`},
		{"passthrough options", `on_error='PAUSE', gc_protect_expires_after='24h', split_column_families`,
			Options{Extra: []Option{{"on_error", "pause", true}, {"gc_protect_expires_after", "24h", true}, {"split_column_families", "", false}}},
			`on_error = 'pause', gc_protect_expires_after = '24h', split_column_families`},
		{"quoted option names", `"updated", 'diff'`, Options{Updated: true, Diff: true}, `updated, diff`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseOptions(tc.with)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
			if s := got.SQL(); s != tc.sql {
				t.Fatalf("SQL() = %s\nwant    %s", s, tc.sql)
			}
			back, err := ParseOptions(got.SQL())
			if err != nil || !reflect.DeepEqual(back, got) {
				t.Fatalf("SQL() does not round-trip: %+v, %v", back, err)
			}
		})
	}
}

// TestParseOptionsErrors checks messages against CockroachDB's (changefeedbase/options.go,
// exprutil, changefeed_test.go TestChangefeedErrors).
func TestParseOptionsErrors(t *testing.T) {
	for _, tc := range []struct{ name, with, want string }{
		{"unknown option", `updated, topics='foo,bar'`, `invalid option "topics"`},
		{"flag with value", `diff='yes'`, `option "diff" does not take a value`},
		{"value option without value", `kafka_sink_config`, `option "kafka_sink_config" requires a value`},
		{"min_checkpoint_frequency without value", `min_checkpoint_frequency`, `option "min_checkpoint_frequency" requires a value`},
		{"bad duration", `resolved='soon'`, `problem parsing option resolved: time: invalid duration "soon"`},
		{"missing unit", `min_checkpoint_frequency='0.5'`, `problem parsing option min_checkpoint_frequency: time: missing unit in duration "0.5"`},
		{"negative duration", `resolved='-1s'`, `negative durations are not accepted: resolved='-1s'`},
		{"zero not allowed", `lagging_ranges_threshold='0s'`, `option lagging_ranges_threshold must be a duration greater than 0`},
		{"unknown initial_scan", `initial_scan = 'foo'`, `unknown initial_scan: foo, valid values are 'yes', 'no',  and 'only'`},
		{"initial_scan and no_initial_scan", `initial_scan, no_initial_scan`, `cannot specify both initial_scan and no_initial_scan`},
		{"initial_scan yes and no_initial_scan", `initial_scan = 'yes', no_initial_scan`, `cannot specify both initial_scan and no_initial_scan`},
		{"initial_scan_only and no_initial_scan", `no_initial_scan, initial_scan_only`, `cannot specify both initial_scan='only' and no_initial_scan`},
		{"initial_scan and initial_scan_only", `initial_scan = 'no', initial_scan_only`, `cannot specify both initial_scan and initial_scan_only`},
		{"only with resolved", `resolved, initial_scan = 'only'`, `cannot specify both initial_scan='only' and resolved`},
		{"only with diff", `diff, initial_scan = 'only'`, `cannot specify both initial_scan='only' and diff`},
		{"only with updated", `updated, initial_scan = 'only'`, `cannot specify both initial_scan='only' and updated`},
		{"webhook option", `webhook_client_timeout='1s'`, `this sink is incompatible with option webhook_client_timeout`},
		{"compression is cloud storage/webhook only", `compression='gzip'`, `this sink is incompatible with option compression`},
		{"unknown enum value", `on_error='retry'`, `unknown on_error: retry, valid values are 'pause' and 'fail'`},
		{"unordered with resolved", `unordered, resolved`, `unordered is not usable with resolved because resolved timestamps cannot be guaranteed to be correct in unordered mode`},
		{"envelope other than wrapped", `envelope='key_only'`, `envelope=key_only is valid in CockroachDB but cfbench supports only envelope=wrapped`},
		{"format other than json", `format='avro'`, `format=avro is valid in CockroachDB but cfbench supports only format=json`},
		{"unordered unsupported", `unordered`, `option unordered is valid in CockroachDB but cfbench does not support it`},
		{"kafka_sink_config rule", `kafka_sink_config='{"Flush":{"Messages":100}}'`,
			`option kafka_sink_config: Flush.Frequency must be > 0 when Flush.Bytes > 0 or Flush.Messages > 1`},
		{"twice", `updated, updated`, `option "updated" is given twice`},
		{"syntax: missing comma", `updated diff`, `parsing WITH options at column 9: expected ',' between options`},
		{"syntax: trailing comma", `updated,`, `expected an option after ','`},
		{"syntax: unterminated", `cursor='abc`, `unterminated '-quoted string`},
		{"syntax: missing value", `resolved=, diff`, `option "resolved": parsing WITH options at column 10: expected a value`},
		{"syntax: unclosed paren", `(updated`, `expected ')'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseOptions(tc.with)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseOptions(%s)\n error %v\n want  %q", tc.with, err, tc.want)
			}
		})
	}
}

// TestOptionsWarnings checks the notice CockroachDB prints (changefeed_test.go
// TestChangefeedResolvedNotice) and the effective resolved interval pgfeed must honour.
func TestOptionsWarnings(t *testing.T) {
	for _, tc := range []struct {
		with     string
		warnings []string
		interval time.Duration
	}{
		{`resolved='5s', min_checkpoint_frequency='10s'`,
			[]string{"resolved (5s) messages will not be emitted more frequently than the configured min_checkpoint_frequency (10s), but may be emitted less frequently"},
			10 * time.Second},
		{`resolved='5s'`,
			[]string{"resolved (5s) messages will not be emitted more frequently than the default min_checkpoint_frequency (30s), but may be emitted less frequently"},
			30 * time.Second},
		{`resolved='5s', min_checkpoint_frequency='5s'`, nil, 5 * time.Second},
		{`resolved='1s', min_checkpoint_frequency='0s'`, nil, time.Second},
		{`resolved='1m', protect_data_from_gc_on_pause`, []string{"protect_data_from_gc_on_pause option is no longer needed"}, time.Minute},
	} {
		o, err := ParseOptions(tc.with)
		if err != nil {
			t.Fatal(err)
		}
		if got := o.Warnings(); !reflect.DeepEqual(got, tc.warnings) {
			t.Errorf("Warnings(%s) = %q\nwant %q", tc.with, got, tc.warnings)
		}
		if got, ok := o.ResolvedInterval(); !ok || got != tc.interval {
			t.Errorf("ResolvedInterval(%s) = %v, %v; want %v", tc.with, got, ok, tc.interval)
		}
	}
	if _, ok := (Options{}).ResolvedInterval(); ok {
		t.Error("ResolvedInterval without resolved reports ok")
	}
}
