// Package changefeed is cfbench's CockroachDB control plane: it parses and builds Kafka sink URIs
// and CREATE CHANGEFEED WITH options by CockroachDB's own rules, renders the SQL statements that
// create and cancel a changefeed (with a redacted display form for each), drives the changefeed
// job through pgx (create, wait until running, poll the high-water mark, cancel, attach to an
// existing job), and estimates this host's clock offset from a database node.
//
// The rules and error messages follow CockroachDB's source (pkg/ccl/changefeedccl:
// changefeedbase/options.go, changefeedbase/sink_url.go, kafkaauth/*.go, sink_kafka.go,
// sink_kafka_v2.go, sink.go) so that pgfeed, which stands in for CockroachDB locally, rejects
// exactly what CockroachDB rejects, with the same words. Where cfbench is stricter than
// CockroachDB (for example unknown kafka_sink_config fields), the doc comment says so.
//
// The package never consumes Kafka messages and imports no Kafka client.
//
// Secrets: a SinkURI holds the decoded OAuth client secret and passwords. Its String method
// returns the full URI because that is what CockroachDB and pgfeed need; every other rendering
// (fmt verbs, slog, Redacted, the display form of statements, errors) hides them.
package changefeed
