package bench

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/cfbench/cfbench/load"
	"github.com/cfbench/cfbench/profiles"
)

// Many workers (cfbench run --worker i/n): each worker writes only the movr cities whose index
// modulo n is i−1 (so no two workers ever write the same key), consumes every partition of the
// topics itself, and verifies its own writes against its own ledger. There is one changefeed
// for all workers, started apart: on CockroachDB changefeed.mode existing (one CREATE
// CHANGEFEED), locally one `cfbench pgfeed` (in mode pgfeed with n > 1 workers, no worker
// starts its own feed: n feeds would deliver every change n times with interleaved resolved
// timestamps, which the checks rightly flag). Other workers' changes
// arrive too and are counted as unmatched (never as missing). `cfbench merge` sums the
// workers' written/received/missing counts.
//
// Note: joining one consumer group so Kafka spreads the partitions across workers was
// rejected for verification: a worker's changes land on partitions another worker owns, so
// no worker could tell on its own when its writes had all arrived (the drain would always time
// out), and a rebalance while a worker joins can skip messages when no offsets are committed.
// Consuming everything costs n× the consumer traffic, which is what a benchmark of the
// changefeed (not of the consumer) can afford.

// checkWorkers validates the worker split against the keyspace, the consumer settings and the
// changefeed mode.
func checkWorkers(worker, workers int, groupID, mode string) error {
	if workers == 1 {
		return nil
	}
	if mode == profiles.ModeCreate {
		return fmt.Errorf("worker %d/%d: changefeed.mode create would make every worker create its own changefeed (each change delivered n times, resolved timestamps interleaved): create it once (cfbench changefeed create) and use changefeed.mode existing with its job_id", worker, workers)
	}
	if workers > len(load.Cities) {
		return fmt.Errorf("worker %d/%d: at most %d workers (the write keyspace is split by movr city)", worker, workers, len(load.Cities))
	}
	if groupID != "" {
		return fmt.Errorf("worker %d/%d: kafka.group_id %q: with several workers every worker consumes every partition (to verify its own writes), so leave kafka.group_id empty", worker, workers, groupID)
	}
	return nil
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
// write, so it is passed over before it reaches the ledger, which would otherwise remember it as
// an early arrival. Keys without a city go to the ledger. Take allocates nothing.
type ownLedger struct {
	*load.Ledger
	others [][]byte // `["<city>"` of each city another worker writes
}

func newOwnLedger(l *load.Ledger, cities []int) *ownLedger {
	o := &ownLedger{Ledger: l}
	for c, name := range load.Cities {
		if !slices.Contains(cities, c) {
			o.others = append(o.others, load.AppendKey(nil, name)[:len(name)+3])
		}
	}
	return o
}

// Take is load.Ledger.Take, except for keys of another worker's cities.
func (o *ownLedger) Take(table string, key []byte) (time.Time, bool) {
	for _, p := range o.others {
		if bytes.HasPrefix(key, p) {
			return time.Time{}, false
		}
	}
	return o.Ledger.Take(table, key)
}
