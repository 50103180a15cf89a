package profiles

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// ConsumeTopics returns the Kafka topics cfbench consumes: Kafka.Topics when set; otherwise
// the topics the changefeed writes to, as CockroachDB names them: the prefix (Kafka.TopicPrefix,
// else Sink.TopicPrefix) followed by Sink.TopicName, or by each table's name.
func (p *Profile) ConsumeTopics() []string {
	if len(p.Kafka.Topics) > 0 {
		return append([]string(nil), p.Kafka.Topics...)
	}
	prefix := p.Kafka.TopicPrefix
	if prefix == "" {
		prefix = p.Changefeed.Sink.TopicPrefix
	}
	if n := p.Changefeed.Sink.TopicName; n != "" {
		return []string{prefix + n}
	}
	out := make([]string, 0, len(p.Changefeed.Tables))
	for _, t := range p.Changefeed.Tables {
		out = append(out, prefix+t)
	}
	return out
}

// JSON renders the kafka_sink_config option's value as CockroachDB reads it, with only the
// fields that are set, durations as Go duration strings ("50ms"); "" when nothing is set.
func (c KafkaSinkConfig) JSON() string {
	type flush struct {
		Messages    int    `json:",omitempty"`
		Bytes       int    `json:",omitempty"`
		Frequency   string `json:",omitempty"`
		MaxMessages int    `json:",omitempty"`
	}
	type retry struct {
		Max     int    `json:",omitempty"`
		Backoff string `json:",omitempty"`
	}
	var w struct {
		ClientID         string `json:",omitempty"`
		Flush            *flush `json:",omitempty"`
		RequiredAcks     string `json:",omitempty"`
		Compression      string `json:",omitempty"`
		CompressionLevel int    `json:",omitempty"`
		Version          string `json:",omitempty"`
		Retry            *retry `json:",omitempty"`
	}
	dur := func(d time.Duration) string {
		if d == 0 {
			return ""
		}
		return d.String()
	}
	w.ClientID, w.RequiredAcks, w.Compression = c.ClientID, c.RequiredAcks, c.Compression
	w.CompressionLevel, w.Version = c.CompressionLevel, c.Version
	if c.Flush != (KafkaFlush{}) {
		w.Flush = &flush{c.Flush.Messages, c.Flush.Bytes, dur(c.Flush.Frequency), c.Flush.MaxMessages}
	}
	if c.Retry != (KafkaRetry{}) {
		w.Retry = &retry{c.Retry.Max, dur(c.Retry.Backoff)}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(w) // plain types only: cannot fail
	out := strings.TrimSpace(buf.String())
	if out == "{}" {
		return ""
	}
	return out
}

// WithClause renders the changefeed options and kafka_sink_config as the text of a CREATE
// CHANGEFEED WITH clause (without WITH), in the form changefeed.ParseOptions reads; in mode
// create it adds initial_scan='no' (cfbench measures changes, not the backfill):
//
//	updated, resolved='1s', min_checkpoint_frequency='1s', kafka_sink_config='{"Flush":{"Frequency":"50ms"}}'
func (c Changefeed) WithClause() string {
	var opts []string
	o := c.Options
	if o.Updated {
		opts = append(opts, "updated")
	}
	if o.Resolved > 0 {
		opts = append(opts, "resolved="+sqlString(o.Resolved.String()))
	}
	if o.MinCheckpointFrequency > 0 {
		opts = append(opts, "min_checkpoint_frequency="+sqlString(o.MinCheckpointFrequency.String()))
	}
	for _, f := range []struct {
		on   bool
		name string
	}{{o.Diff, "diff"}, {o.MVCCTimestamp, "mvcc_timestamp"}, {o.KeyInValue, "key_in_value"}, {o.TopicInValue, "topic_in_value"}} {
		if f.on {
			opts = append(opts, f.name)
		}
	}
	if c.Mode == ModeCreate {
		// Without it CockroachDB first emits every existing row (the seed rows and earlier runs'
		// writes) with the scan's timestamp, which would pollute the latencies measured.
		opts = append(opts, "initial_scan='no'")
	}
	if js := c.KafkaSinkConfig.JSON(); js != "" {
		opts = append(opts, "kafka_sink_config="+sqlString(js))
	}
	return strings.Join(opts, ", ")
}

// sqlString quotes s as an SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// fmtFloat formats a weight or rate compactly.
func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
