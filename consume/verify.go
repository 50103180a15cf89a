package consume

// verify.go checks the changefeed guarantees CockroachDB's own cdctest order validator checks
// (pkg/ccl/changefeedccl/cdctest/validator.go, orderValidator): a key stays on one partition,
// per-key updated timestamps never go back (duplicates allowed), no new row at or below its
// partition's last resolved timestamp, and resolved timestamps never go back per partition.
// Missing rows come from the write ledger at the end of a run.

// recentVersions is how many of a key's newest updated timestamps the verifier remembers.
// Note: cdctest keeps every timestamp of every key; that is unbounded, so the verifier keeps the
// newest four and a key costs 64 bytes (one cache line) whatever its length (keys are stored as
// 64-bit hashes), in a table kept between 3/8 and 3/4 full. A redelivered version older than
// the four newest is counted as an order violation.
const recentVersions = 4

// keyState is the verifier's memory of one key (table + key bytes, hashed): 64 bytes. The
// recent timestamps are split into walls and logicals so that no padding is needed.
type keyState struct {
	hash      uint64 // 0 = empty slot
	walls     [recentVersions]int64
	logicals  [recentVersions]int32
	partition int32
	n         uint8 // valid entries in walls/logicals
	head      uint8 // index of the newest entry
}

func (s *keyState) recent(i uint8) HLC { return HLC{WallNanos: s.walls[i], Logical: s.logicals[i]} }

func (s *keyState) set(i uint8, h HLC) { s.walls[i], s.logicals[i] = h.WallNanos, h.Logical }

// VerifyStats counts delivery-guarantee violations. All counts are messages.
type VerifyStats struct {
	Rows                int64 // row messages checked (duplicates included)
	Keys                int64 // distinct (table, key) seen
	Duplicates          int64 // a (key, updated) seen before: allowed (at-least-once), counted
	OrderViolations     int64 // a new updated lower than the newest one seen for its key
	PartitionViolations int64 // a key seen on a second partition
	ResolvedViolations  int64 // a new row at or below its partition's last resolved timestamp
	ResolvedRegressions int64 // a resolved timestamp lower than the partition's previous one
}

// verifier is an open-addressing hash table of keyState. Not safe for concurrent use: it belongs
// to the recorder goroutine.
type verifier struct {
	slots []keyState
	used  int
	stats VerifyStats
}

// rowVerdict is what noteRow decided about one row.
type rowVerdict uint8

const (
	verdictNew       rowVerdict = iota // a new version: time it, take it from the ledger
	verdictDuplicate                   // seen before
	verdictViolation                   // order or partition violation (counted)
)

func (v *verifier) find(h uint64) *keyState {
	if v.used*4 >= len(v.slots)*3 {
		v.grow()
	}
	mask := uint64(len(v.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &v.slots[i]
		if s.hash == h || s.hash == 0 {
			return s
		}
	}
}

// touch reads the first slot the key hashed h would probe, to bring it into the CPU cache.
func (v *verifier) touch(h uint64) uint64 {
	if len(v.slots) == 0 {
		return 0
	}
	return v.slots[h&uint64(len(v.slots)-1)].hash
}

func (v *verifier) grow() {
	old := v.slots
	n := 2 * len(old)
	if n == 0 {
		n = 1024
	}
	v.slots = make([]keyState, n)
	mask := uint64(n - 1)
	for i := range old {
		if old[i].hash == 0 {
			continue
		}
		for j := old[i].hash & mask; ; j = (j + 1) & mask {
			if v.slots[j].hash == 0 {
				v.slots[j] = old[i]
				break
			}
		}
	}
}

// noteRow checks one row message: h is the hash of (table, key), never 0; lastResolved is the
// partition's last resolved timestamp (zero if none yet).
func (v *verifier) noteRow(h uint64, partition int32, updated, lastResolved HLC) rowVerdict {
	v.stats.Rows++
	s := v.find(h)
	if s.hash == 0 {
		v.used++
		v.stats.Keys++
		*s = keyState{hash: h, partition: partition, n: 1}
		s.set(0, updated)
		if !lastResolved.IsZero() && updated.Compare(lastResolved) <= 0 {
			v.stats.ResolvedViolations++
		}
		return verdictNew
	}
	if s.partition != partition {
		v.stats.PartitionViolations++ // like cdctest: nothing more is checked for this row
		return verdictViolation
	}
	for i := uint8(0); i < s.n; i++ {
		if s.walls[i] == updated.WallNanos && s.logicals[i] == updated.Logical {
			v.stats.Duplicates++
			return verdictDuplicate
		}
	}
	verdict := verdictNew
	if updated.Compare(s.recent(s.head)) < 0 {
		v.stats.OrderViolations++
		verdict = verdictViolation
	} else {
		s.head = (s.head + 1) % recentVersions
		s.set(s.head, updated)
		if s.n < recentVersions {
			s.n++
		}
	}
	if !lastResolved.IsZero() && updated.Compare(lastResolved) <= 0 {
		v.stats.ResolvedViolations++
	}
	return verdict
}

// noteResolved checks a resolved timestamp against the partition's previous one and returns
// the partition's new last resolved timestamp.
func (v *verifier) noteResolved(prev, resolved HLC) HLC {
	if resolved.Compare(prev) < 0 {
		v.stats.ResolvedRegressions++
		return prev
	}
	return resolved
}
