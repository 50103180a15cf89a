// Package consume is cfbench's Kafka consumer: it reads CockroachDB changefeed topics (JSON
// wrapped envelope) over SASL/OAUTHBEARER with confluent-kafka-go (librdkafka), answers token
// refreshes from a goroutine, decodes each message without allocating, records latency
// histograms and checks the changefeed's delivery guarantees.
//
// Typical use:
//
//	src, _ := oauth.New(oauth.Config{...})
//	c, err := consume.New(ctx,
//		consume.Brokers("127.0.0.1:29093"),
//		consume.TopicPrefix("cf_"),
//		consume.Token(src),
//		consume.WithLedger(ledger),       // e2e_ack and missing rows
//		consume.ClockOffset(offset),      // database clock − this host's clock
//		consume.StopAfter(time.Minute))
//	if err != nil { ... }
//	defer c.Close()
//	err = c.Run(ctx)
//	st := c.Stats()                      // histograms (µs), counters, series, verification
//
// # Concurrency
//
// Run's goroutine only polls librdkafka: it stamps the receive time as soon as Poll returns and
// appends the message to a batch. A second goroutine, the recorder, takes the batches in order
// and decodes, verifies and records every message (handoff.go): no lock and no allocation per
// message, and the per-message cgo Poll, most of the poll loop's time, does not wait for
// decoding. Histograms are kept per topic (resolved lag also per partition) and merged when
// Stats is called; Stats may be called from any goroutine and is answered by the recorder once
// it has recorded every message received before the call.
//
// # Metrics
//
// All latencies are HDR histograms of microseconds, 1 µs..1 h, 3 significant figures, values
// clamped into range (see NewHistogram):
//
//   - e2e_commit: receive − updated + ClockOffset, for each new (key, updated) version.
//   - commit_to_kafka / kafka_to_consumer: e2e_commit split at the Kafka record timestamp
//     (CreateTime from the producer's clock or LogAppendTime from the broker's; counted in
//     TopicStats.TimestampTypes). The timestamp has millisecond precision.
//   - resolved_lag: receive − resolved + ClockOffset for every resolved message, per partition,
//     per topic and overall; the per-second series reports the oldest partition's lag.
//   - e2e_ack: receive − the writer's acknowledgement time taken from the Ledger.
//   - refresh impact: e2e_commit of rows received within ±RefreshWindow of an
//     OAuthBearerTokenRefresh event vs the others.
//
// # Verification
//
// The checks of CockroachDB's cdctest order validator (see verify.go), with bounded memory per
// key; missing rows are the ledger's outstanding entries.
package consume
