package bench

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cfbench/cfbench/consume"
	"github.com/cfbench/cfbench/load"
	"github.com/cfbench/cfbench/profiles"
	"github.com/cfbench/cfbench/report"
)

// Many workers (cfbench run --worker i/n, n > 1): each worker writes only the movr cities whose
// index modulo n is i−1 (so no two workers ever write the same key), and all n join one Kafka
// consumer group, so Kafka spreads the partitions across them and each change is consumed once.
// There is one changefeed for all workers, started apart: on CockroachDB changefeed.mode
// existing (one CREATE CHANGEFEED), locally one `cfbench pgfeed` (n feeds would deliver every
// change n times with interleaved resolved timestamps, which the checks rightly flag).
//
// The workers of one run coordinate through the database they all write to, in the table
// cfbench_workers (run_id, worker, phase, at, value, info), created if missing and not part of
// the changefeed (workers_coord.go):
//
//   - Start barrier. Each worker takes the end offsets of every partition (consume.New, before
//     any worker writes), joins the group, records its assignment ("assigned"), and waits until
//     all n have recorded assignments that are disjoint and cover every partition, twice in a
//     row. It then marks itself "ready", and writes once all n are ready (bounded by
//     groupFormTimeout; the error names the missing workers). Every assigned partition starts
//     at max(committed offset, those end offsets) — see consume.OnRebalance — so neither the
//     group forming nor a later rebalance (a worker died) skips a message; a revocation commits
//     first. A rebalance after the barrier is recorded in the result's errors.
//   - Drain fence. A worker cannot see its own writes arrive (they land on partitions others
//     own). When done writing, each worker records the database clock ("done"); the fence is
//     the latest of the n plus fenceMargin, and each worker drains until the resolved timestamp
//     of every partition it owns has reached the fence (bounded by drain_timeout): every write
//     any worker acknowledged has then been delivered to its partition's owner. The workers
//     stay in the group until all n have drained ("drained"), so no partition moves at the end.
//   - Verification across workers. A worker's consumer matches rows of its own cities with its
//     ledger; rows of other cities, and cityless rows (promo_codes) its ledger does not hold,
//     go to its sidecar (report.SidecarName, next to result.json) as R lines, never into the
//     ledger's early-arrival credits; after the drain its ledger's outstanding writes go there
//     as A lines (Delivery.Unreconciled). `cfbench merge` matches A lines with R lines across
//     all workers (report.Reconcile): missing is what no worker received.
//
// Note: an earlier version had every worker consume every partition and verify only its own
// writes, because no worker could tell on its own when its writes had all arrived. The fence
// answers that, at the cost of needing resolved timestamps; the group saves n× the consumer
// traffic and makes the consumer side scale with the workers.

// groupFormTimeout bounds the start barrier: every worker joined, assigned and ready. A
// variable so that a test can shorten it.
var groupFormTimeout = 2 * time.Minute

// Coordination timing.
const (
	// groupPoll is how often the coordination table is read while waiting.
	groupPoll = 200 * time.Millisecond
	// fenceMargin is added to the latest "done" clock reading: on CockroachDB a write acked by
	// one node may carry a commit timestamp ahead of another node's clock by up to the maximum
	// clock offset (500 ms by default); on PostgreSQL it covers a commit record flushed just
	// after a replication keepalive's server time was read.
	fenceMargin = time.Second
	// drainedWait bounds the wait, after this worker's drain, for the others to finish theirs.
	drainedWait = 30 * time.Second
)

// checkWorkers validates the worker split against the keyspace, the coordination settings and
// the changefeed.
func checkWorkers(worker, workers int, runID, mode string, resolved time.Duration) error {
	if workers == 1 {
		return nil
	}
	if mode == profiles.ModeCreate {
		return fmt.Errorf("worker %d/%d: changefeed.mode create would make every worker create its own changefeed (each change delivered n times, resolved timestamps interleaved): create it once (cfbench changefeed create) and use changefeed.mode existing with its job_id", worker, workers)
	}
	if workers > len(load.Cities) {
		return fmt.Errorf("worker %d/%d: at most %d workers (the write keyspace is split by movr city)", worker, workers, len(load.Cities))
	}
	if runID == "" {
		return fmt.Errorf("worker %d/%d: no run id: give every worker of the run the same --run-id (or CFBENCH_RUN_ID, or kafka.group_id); the Indexed Job in deploy/k8s sets CFBENCH_RUN_ID to the Job's uid", worker, workers)
	}
	if len(runID) > 200 || strings.ContainsAny(runID, " \t\n/\\") {
		return fmt.Errorf("worker %d/%d: run id %q: want at most 200 characters, no spaces or slashes (it names the consumer group)", worker, workers, runID)
	}
	if resolved <= 0 {
		return fmt.Errorf("worker %d/%d: changefeed.options.resolved is off: several workers need resolved timestamps to know when every write has arrived (set it, e.g. 1s, and create the changefeed WITH resolved)", worker, workers)
	}
	return nil
}

// groupOf is the consumer group of a run: kafka.group_id when set (offsets committed there by
// an earlier run never make a worker skip or re-read this run's messages: partitions start at
// max(committed, the end offsets taken before any write)), else "cfbench-<run id>".
func groupOf(p *profiles.Profile, runID string) string {
	if p.Kafka.GroupID != "" {
		return p.Kafka.GroupID
	}
	return "cfbench-" + runID
}

// workerCities returns the city indexes worker i of n writes to; nil (all) for a single worker.
func workerCities(worker, workers int) []int {
	if workers <= 1 {
		return nil
	}
	var out []int
	for c := range load.Cities {
		if c%workers == worker-1 {
			out = append(out, c)
		}
	}
	return out
}

// ownLedger is the ledger a worker's consumer matches rows against: a row keyed by another
// worker's city (movr keys start with the city, except promo_codes') is not this worker's
// write, so it goes to the sidecar (an R line) before it reaches the ledger, which would
// otherwise remember it as an early arrival. A row of this worker's cities goes to the ledger.
// A key without a city is taken only if the ledger holds it (TakeRecorded), else it goes to the
// sidecar too: it may be another worker's, and cfbench merge sorts it out. Take allocates
// nothing for this worker's rows.
type ownLedger struct {
	*load.Ledger
	own, others [][]byte // `["<city>"` of each city this worker writes / another worker writes
	spill       *report.SidecarWriter
}

func newOwnLedger(l *load.Ledger, cities []int, spill *report.SidecarWriter) *ownLedger {
	o := &ownLedger{Ledger: l, spill: spill}
	for c, name := range load.Cities {
		prefix := load.AppendKey(nil, name)[:len(name)+3]
		if slices.Contains(cities, c) {
			o.own = append(o.own, prefix)
		} else {
			o.others = append(o.others, prefix)
		}
	}
	return o
}

// Take is TakeReceived at the time of the call.
func (o *ownLedger) Take(table string, key []byte) (time.Time, bool) {
	return o.TakeReceived(table, key, time.Now())
}

// TakeReceived is load.Ledger.Take for this worker's rows; another worker's row goes to the
// sidecar with its receive time (consume.ReceiveLedger). See ownLedger.
func (o *ownLedger) TakeReceived(table string, key []byte, received time.Time) (time.Time, bool) {
	for _, p := range o.others {
		if bytes.HasPrefix(key, p) {
			o.foreign(table, key, received)
			return time.Time{}, false
		}
	}
	for _, p := range o.own {
		if bytes.HasPrefix(key, p) {
			return o.Ledger.Take(table, key)
		}
	}
	if ack, ok := o.Ledger.TakeRecorded(table, key); ok {
		return ack, true
	}
	o.foreign(table, key, received)
	return time.Time{}, false
}

func (o *ownLedger) foreign(table string, key []byte, received time.Time) {
	if o.spill != nil {
		o.spill.Received(table, key, received)
	}
}

var _ consume.ReceiveLedger = (*ownLedger)(nil)

// partitionName is how results and the coordination table name a partition: "topic[p]".
func partitionName(topic string, partition int32) string {
	return fmt.Sprintf("%s[%d]", topic, partition)
}

// groupFormed reports whether the assignments the n workers recorded (worker → its partitions)
// are one consistent generation: every worker recorded one, they are disjoint, and together
// they cover all. why says what is still wrong.
func groupFormed(n int, all []string, assigned map[int][]string) (ok bool, why string) {
	var missing []string
	for w := 1; w <= n; w++ {
		if _, ok := assigned[w]; !ok {
			missing = append(missing, fmt.Sprintf("%d/%d", w, n))
		}
	}
	if len(missing) > 0 {
		return false, "no assignment yet from worker " + strings.Join(missing, ", ")
	}
	owner := map[string]int{}
	for w := 1; w <= n; w++ {
		for _, p := range assigned[w] {
			if o, dup := owner[p]; dup {
				return false, fmt.Sprintf("%s assigned to workers %d and %d (a rebalance is under way)", p, o, w)
			}
			if !slices.Contains(all, p) {
				return false, fmt.Sprintf("worker %d has %s, not a partition of the topics", w, p)
			}
			owner[p] = w
		}
	}
	var unowned []string
	for _, p := range all {
		if _, ok := owner[p]; !ok {
			unowned = append(unowned, p)
		}
	}
	if len(unowned) > 0 {
		return false, "no worker has " + strings.Join(unowned, ", ")
	}
	return true, ""
}

// fenceOf is the drain fence: the latest "done" clock reading (Unix ns, database clock) plus
// fenceMargin; 0 with no reading.
func fenceOf(done map[int]int64) int64 {
	var f int64
	for _, ns := range done {
		f = max(f, ns)
	}
	if f == 0 {
		return 0
	}
	return f + int64(fenceMargin)
}

// lagging returns the owned partitions whose last resolved timestamp (Unix ns; absent: none
// yet) is below fence.
func lagging(owned []string, resolved map[string]int64, fence int64) []string {
	var out []string
	for _, p := range owned {
		if resolved[p] < fence {
			out = append(out, p)
		}
	}
	return out
}

// missingWorkers lists, as "i/n", the workers 1..n without a row in got.
func missingWorkers[V any](n int, got map[int]V) string {
	var out []string
	for w := 1; w <= n; w++ {
		if _, ok := got[w]; !ok {
			out = append(out, fmt.Sprintf("%d/%d", w, n))
		}
	}
	return strings.Join(out, ", ")
}
