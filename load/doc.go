// Package load drives movr-style writes (CockroachDB's example workload, pkg/workload/movr)
// into CockroachDB or PostgreSQL at a precise open-loop rate, measures their latency from the
// intended start (no coordinated omission), and keeps a ledger of every acknowledged write so
// the consumer can compute e2e_ack and find missing events.
//
//   - Init creates the movr schema (the same DDL on both databases) and seeds it.
//   - Run executes a Mix of Ops at Options.Rate over Options.Concurrency connections and returns
//     Stats: HDR histograms in microseconds (1 µs to 1 h, 3 significant figures) per op, the
//     schedule lag, counts, errors by SQLSTATE class, retries and a per-second series.
//   - Ledger records each changed row under its changefeed message key (see AppendKey).
//   - Printer renders progress and a summary in the style of `cockroach workload run`.
//
// load knows nothing about Kafka and never imports report, bench or cmd.
package load
