// Package doctor checks, step by step, everything a cfbench run depends on, and says for each
// step whether it passed and, when it did not, the likely fix: DNS and TCP to each Kafka broker;
// a token request to the IdP (showing the token's claims, never the token); the SASL/OAUTHBEARER
// handshake with that token; the topics and their partition counts; the changefeed's own client
// credentials; database connectivity and version; on CockroachDB kv.rangefeed.enabled, the
// CHANGEFEED privilege, the licence and (changefeed.mode existing) the job's status; on
// PostgreSQL wal_level and the REPLICATION attribute pgfeed needs; and the clock offset between
// this host and the database.
//
// The CockroachDB steps (SHOW CLUSTER SETTING kv.rangefeed.enabled and enterprise.license,
// crdb_internal.is_admin(), SHOW GRANTS ON TABLE, changefeed.Attach) follow CockroachDB's
// documentation and are not exercised by the tests: the local stack runs PostgreSQL.
//
// librdkafka reports a refused token only as the broker's "invalid_token"; doctor decodes the
// token's claims (oauth.ParseClaims) and compares them with what the profile expects, so it can
// say why: "broker rejected the token: audience [] does not match 'cfbench-kafka'".
//
// doctor composes oauth, changefeed and load; it never imports bench, report or cmd.
package doctor
