// Package pgfeed is a local changefeed for PostgreSQL: it turns logical replication (pgoutput)
// into exactly the Kafka messages a CockroachDB changefeed publishes, through the same sink URI
// and the same authentication (SASL/OAUTHBEARER with the URI's client credentials, tokens from
// oauth.Source handed to librdkafka by consume.TokenRefresher). CockroachDB cannot be installed
// here, so pgfeed lets cfbench exercise its consumer, verification and reports locally on the
// real message format. It is never used against CockroachDB.
//
//	f, err := pgfeed.New(pgfeed.Config{
//		Source: os.Getenv("CFBENCH_PG_URL"),
//		Tables: []string{"vehicles", "rides"},
//		Sink:   sinkURI, // kafka://…?sasl_enabled=true&sasl_mechanism=OAUTHBEARER&…
//		With:   "updated, resolved='1s', min_checkpoint_frequency='1s', diff",
//		TokenAudience: "cfbench-kafka",
//	})
//	…
//	err = f.Run(ctx) // until ctx is done
//
// # Messages
//
// Per committed row change: key = JSON array of the primary-key values in key order (from the
// catalog), value = the wrapped envelope (after, before with diff, key with key_in_value,
// mvcc_timestamp, topic with topic_in_value, updated), byte for byte as CockroachDB's JSON
// encoder prints them (encode.go lists the rules and where they come from). A primary-key
// update becomes a delete of the old key and an insert of the new one, as in CockroachDB.
// Topic: the table name, topic_prefix+table, or topic_name for every table. Partition:
// murmur2(key) mod the partition count (Kafka's default partitioner), set on every message.
//
// # Timestamps
//
// `updated` is the transaction's commit time as an HLC "<ns>.<10-digit logical>". HLCs
// increase strictly in commit order: a commit whose wall time is not above the previous one's
// (same microsecond, or a slightly earlier commit timestamp) gets the previous HLC's next
// logical value. mvcc_timestamp equals updated.
//
// # Resolved timestamps
//
// With resolved, every max(resolved, min_checkpoint_frequency) (30 s default, as in
// CockroachDB) pgfeed publishes {"resolved":"T"} with no key to every partition of every topic.
// T is the HLC of the latest transaction all of whose messages (and all earlier ones') Kafka
// has acknowledged; when nothing is pending, T is the server clock from the latest replication
// keepalive (pgfeed asks for one with each idle status update). T becomes a floor: any
// transaction decoded later gets an HLC above T, even if its commit timestamp is a little lower
// (it took its timestamp before the keepalive but wrote its commit record after), exactly like
// CockroachDB pushing a write above a closed timestamp. Messages to a partition stay in order
// (idempotent producer with acks=ALL, one request in flight otherwise), so no row at or below a
// resolved timestamp ever follows it.
//
// # Delivery
//
// The standby status (flush LSN) only moves past a transaction once Kafka has acknowledged all
// its messages, so WAL is released as delivery progresses and a restarted Feed resumes from its
// slot: duplicates are possible, loss is not.
//
// A Feed remembers where its last Run left off: the larger of the last resolved timestamp it
// published and the HLC of the last transaction it confirmed to PostgreSQL. Before publishing a
// resolved timestamp T it confirms every transaction at or below T, so the transactions a later
// Run replays all lie above T; starting that Run's HLC floor at the remembered point gives each
// of them the HLC it had before (the assignment depends only on the floor, the previous HLC and
// the commit times), and a consumer counts them as duplicates, exactly as after a CockroachDB
// changefeed restarts from its persisted high-water mark. This is what happens when Run returns
// after an error (the database restarted) and Run is called again, as cfbench run does.
//
// Note: a new Feed (a new process) does not know what an earlier one published; its first Run
// starts its floor at the server's clock, which keeps it above any resolved timestamp published
// before, but stamps replayed transactions anew (a consumer then sees them as new changes).
// Persisting the remembered point (e.g. in a table) was left out to keep pgfeed from writing to
// the source database.

// # Differences from CockroachDB
//
// No initial scan (only changes after the slot was created); wrapped JSON envelope only;
// values of types other than BOOL, INT, FLOAT, DECIMAL, TIMESTAMP(TZ), JSON(B) are printed as
// their PostgreSQL text (UUID, DATE, TEXT and BYTEA match CockroachDB's output; INTERVAL,
// arrays and others may not). The tables are switched to REPLICA IDENTITY FULL so updates and
// deletes carry the whole old row.
package pgfeed
