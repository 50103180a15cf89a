// Package bench runs one cfbench benchmark: it composes load (movr writes and the write ledger),
// changefeed (CockroachDB's control plane and the clock probe), pgfeed (the local changefeed),
// oauth (the instrumented token source) and consume (the OAUTHBEARER consumer), and turns what
// they measured into a report.Result.
//
// A run's lifecycle (Run):
//
//	preflight  database reachable and its kind matches changefeed.mode; one token from the IdP;
//	           movr schema created and seeded; clock offset probed; changefeed started (pgfeed
//	           in-process, or CREATE [EXTERNAL CONNECTION and] CHANGEFEED, or attached); consumer
//	           created, which proves Kafka accepts the token and the topics exist, and assigned
//	           at explicit end offsets
//	warm-up    writes at the profile's rate; everything recorded, kept apart in Result.Warmup
//	measure    the same, for workload.duration; Result.Metrics are cumulative minus the warm-up
//	           snapshot, bucket by bucket (no averaging of percentiles)
//	drain      writes stop; wait until every ledger entry was consumed or drain_timeout passes
//	teardown   consumer closed, pgfeed's slot dropped, a created changefeed cancelled
//
// Cancelling the context (SIGINT) stops the writes at once; the consumer and the changefeed run
// on a context of their own, so a short drain still receives what was written, and the partial
// result is written marked interrupted. Hooks let tests inject faults at the measure and drain
// boundaries; RunMatrix runs the variants of a profile's matrix interleaved.
//
// bench decides what is fatal: library packages return errors, bench records background
// failures (a pgfeed restart, a consumer error) in Result.Errors and carries on where the run
// can still measure.
package bench
