package consume

import (
	"time"
)

// Ledger is the write ledger the consumer matches rows against (satisfied by *load.Ledger).
// Take removes and returns the oldest outstanding acknowledgement time of a write to (table,
// key); key is the changefeed message key exactly as received. It must be safe for concurrent
// use and should not allocate: the recorder goroutine calls it once per new row version.
//
// A Ledger that is also a [ReceiveLedger] gets TakeReceived instead of Take.
type Ledger interface {
	Take(table string, key []byte) (ack time.Time, ok bool)
}

// ReceiveLedger is a Ledger that also wants each row's receive time (the moment Poll returned
// it, on this host's clock), e.g. to pass rows it does not hold on to another process: the
// recorder runs up to a batch (≤ 5 ms) behind Poll, so its own clock would be late by that.
type ReceiveLedger interface {
	Ledger
	TakeReceived(table string, key []byte, received time.Time) (ack time.Time, ok bool)
}

// outstandinger is the optional part of a Ledger that lets Stats report missing rows
// (satisfied by *load.Ledger): the number of acknowledged writes never consumed.
type outstandinger interface {
	Outstanding() int
}

// Stats is a snapshot of a consumer: copies, safe to keep and to read from any goroutine.
// Latencies are HDR histograms of microseconds (1 µs..1 h, 3 significant figures, clamped),
// counts are messages, sizes are bytes. Field names follow the result file (DESIGN.md §6):
// Overall.E2ECommit → metrics.e2e_commit, Verify + Missing + DecodeErrors → delivery, Series →
// series, Token → token.
type Stats struct {
	Start time.Time // when Run started (or New, before Run)
	End   time.Time // when the snapshot was taken, or when Run returned

	FirstMessage time.Time // receive time of the first message (zero if none)
	LastMessage  time.Time // receive time of the last message

	Overall    TopicStats            // all topics merged
	Topics     map[string]TopicStats // by Kafka topic
	Partitions []PartitionStats      // every partition that delivered a message, by topic then partition
	Series     []Interval            // one per second since Start; the last may be partial (see Elapsed)

	Verify  VerifyStats // delivery-guarantee checks
	Missing int64       // ledger entries still outstanding (written, never consumed); -1 without a ledger that counts

	DecodeErrors         int64            // malformed messages, all reasons
	DecodeErrorsByReason map[string]int64 // by Reason.String(): "not_json", "bad_hlc", ...
	DecodeSamples        []DecodeSample   // the first few malformed messages (bounded, truncated)

	Errors map[string]int64 // consumer errors by class: librdkafka's description of the error code, e.g. "Local: Broker transport failure"

	TokenRefreshes int64         // OAuthBearerTokenRefresh events librdkafka raised
	RefreshImpact  RefreshImpact // e2e_commit inside vs outside ±Window of a refresh
	Token          RefreshStats  // the answers to those events: count, failures, each one's duration
	// TokenSource is the source tokens came from, for its own statistics (type-assert it to
	// *oauth.Source and call Stats for token_fetch, lifetime and time to first token).
	TokenSource TokenSource
}
