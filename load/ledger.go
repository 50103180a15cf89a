package load

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// ledgerShards is the number of independently locked parts of a Ledger. A power of two.
const ledgerShards = 64

// Ledger remembers every acknowledged write that changed a row — table, primary key and the
// time the writer saw the commit acknowledged — until the consumer takes it. It is the source of
// e2e_ack (DESIGN.md §4) and of the "missing" count.
//
// Keys are exactly the changefeed message key CockroachDB publishes: a JSON array of the
// primary-key values in PK order, `["paris", "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f"]` (see
// AppendKey). A row changed n times holds n acks, taken oldest first.
//
// A Ledger is safe for concurrent use: it is split into 64 shards by a hash of the key, each
// with its own mutex, so writers and the consumer rarely meet.
//
// Memory: keys made only of movr cities, UUIDs and timestamps (users, vehicles, rides,
// vehicle_location_histories) are stored in a fixed 32-byte binary form inside the map, with no
// pointer for the garbage collector to chase; other keys (promo codes) as strings.
// BenchmarkLedgerMemory measures both. Entries leave once taken, but Go maps keep their
// high-water size, so memory stays at the peak outstanding count until the Ledger is dropped.
type Ledger struct {
	seed    maphash.Seed
	shards  [ledgerShards]ledgerShard
	written atomic.Int64
	out     atomic.Int64
	keyOnly bool         // tables are ignored: see NewKeyOnlyLedger
	early   atomic.Int64 // changes consumed before their write was recorded (see Take)
	credits atomic.Int64 // early arrivals remembered, not yet matched by a Record
	stale   atomic.Int64 // early arrivals dropped: they came before the next write was sent
}

// maxEarlyCredits bounds the early arrivals a Ledger remembers (see Take): changes nobody
// recorded (another writer's, say) would otherwise accumulate.
const maxEarlyCredits = 1 << 20

type ledgerShard struct {
	mu     sync.Mutex
	tables map[string]*tableAcks
	lists  []ackList // acks of rows changed more than once; ackQueue.more-1 indexes it
	free   []int32   // unused entries of lists
	// early holds, per table + "\x00" + key, the arrival times (Unix ns, oldest first) of
	// changes the consumer took before the writer recorded them; a Record of that key whose
	// write was sent before the oldest arrival is matched against it at once.
	early map[string][]int64
	_     [16]byte
}

type tableAcks struct {
	compact map[compactKey]ackQueue
	full    map[string]ackQueue
}

// ackQueue holds the acks of one (table, key): a single ack inline as Unix nanoseconds (the
// common case; >= 0), or, once a row changed more than once, -(i+1) where the shard's lists[i]
// holds all of them (FIFO), so Take never writes the map entry back. 8 bytes a map slot.
type ackQueue int64

func (q ackQueue) list() int { return int(-q - 1) }

type ackList struct {
	acks []int64
	head int
}

// LedgerEntry is one outstanding write, as returned by Missing.
type LedgerEntry struct {
	Table string
	Key   string    // the changefeed message key, see AppendKey
	Ack   time.Time // when the writer saw the commit acknowledged
}

// NewKeyOnlyLedger returns an empty Ledger that matches writes by key alone, ignoring the table
// given to Record and Take: for a changefeed with topic_name, whose single topic does not say
// which table a row belongs to. movr's keys never repeat across tables (each holds a UUID of
// its own row, or a promo code in a key shape no other table has).
func NewKeyOnlyLedger() *Ledger {
	l := NewLedger()
	l.keyOnly = true
	return l
}

// NewLedger returns an empty Ledger.
func NewLedger() *Ledger {
	l := &Ledger{seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].tables = make(map[string]*tableAcks)
		l.shards[i].early = make(map[string][]int64)
	}
	return l
}

func (l *Ledger) shard(key []byte) *ledgerShard {
	return &l.shards[maphash.Bytes(l.seed, key)&(ledgerShards-1)]
}

func (s *ledgerShard) push(q ackQueue, ns int64) ackQueue {
	if q >= 0 {
		var i int32
		if n := len(s.free); n > 0 {
			i = s.free[n-1]
			s.free = s.free[:n-1]
		} else {
			s.lists = append(s.lists, ackList{})
			i = int32(len(s.lists) - 1)
			if cap(s.free) < len(s.lists) {
				// Room for every list, so that pop (in Take) never grows free.
				s.free = append(make([]int32, 0, cap(s.lists)), s.free...)
			}
		}
		s.lists[i].acks = append(s.lists[i].acks[:0], int64(q), ns)
		s.lists[i].head = 0
		return ackQueue(-int64(i) - 1)
	}
	a := &s.lists[q.list()]
	if a.head > 0 && a.head >= len(a.acks)/2 {
		n := copy(a.acks, a.acks[a.head:])
		a.acks, a.head = a.acks[:n], 0
	}
	a.acks = append(a.acks, ns)
	return q
}

// pop removes the oldest ack of q; empty reports whether q has no ack left.
func (s *ledgerShard) pop(q ackQueue) (ns int64, empty bool) {
	if q >= 0 {
		return int64(q), true
	}
	a := &s.lists[q.list()]
	ns = a.acks[a.head]
	a.head++
	if a.head < len(a.acks) {
		return ns, false
	}
	if cap(a.acks) > 64 {
		a.acks = nil
	}
	a.acks, a.head = a.acks[:0], 0
	s.free = append(s.free, int32(q.list()))
	return ns, true
}

func (s *ledgerShard) oldest(q ackQueue) int64 {
	if q >= 0 {
		return int64(q)
	}
	a := &s.lists[q.list()]
	return a.acks[a.head]
}

// Record adds one acknowledged change of the row with the given changefeed key in table: the
// write was sent at sent (its last attempt's start) and acknowledged at ack. Call it once per
// changed row (never for a write whose RowsAffected is 0). key is copied.
func (l *Ledger) Record(table string, key []byte, sent, ack time.Time) {
	if l.keyOnly {
		table = ""
	}
	ns := max(ack.UnixNano(), 0)
	var ck compactKey
	isCompact := ck.encode(key)
	s := l.shard(key)
	s.mu.Lock()
	if len(s.early) > 0 && l.takeEarly(s, table, key, sent.UnixNano()) {
		// The consumer already received this change (it raced ahead of the writer's
		// goroutine): the write is delivered, not outstanding.
		s.mu.Unlock()
		l.written.Add(1)
		return
	}
	t := s.tables[table]
	if t == nil {
		t = &tableAcks{compact: make(map[compactKey]ackQueue), full: make(map[string]ackQueue)}
		s.tables[table] = t
	}
	if isCompact {
		if q, ok := t.compact[ck]; ok {
			t.compact[ck] = s.push(q, ns)
		} else {
			t.compact[ck] = ackQueue(ns)
		}
	} else {
		if q, ok := t.full[string(key)]; ok {
			t.full[string(key)] = s.push(q, ns)
		} else {
			t.full[string(key)] = ackQueue(ns)
		}
	}
	s.mu.Unlock()
	l.written.Add(1)
	l.out.Add(1)
}

// earlyKey is the key of ledgerShard.early.
func earlyKey(table string, key []byte) string { return table + "\x00" + string(key) }

// takeEarly consumes one early arrival of (table, key) that can be the change of a write sent
// at sentNs, if any. An arrival before sentNs cannot: it was another change of the row (one no
// writer of this ledger made, or one already matched), and no later write can match it either,
// so it is dropped (counted in Unmatched). Callers hold s.mu.
func (l *Ledger) takeEarly(s *ledgerShard, table string, key []byte, sentNs int64) bool {
	k := earlyKey(table, key)
	arrivals, ok := s.early[k]
	if !ok {
		return false
	}
	i := 0
	for i < len(arrivals) && arrivals[i] < sentNs {
		i++
	}
	if i > 0 {
		l.credits.Add(int64(-i))
		l.stale.Add(int64(i))
	}
	found := i < len(arrivals)
	if found {
		i++
		l.credits.Add(-1)
	}
	if i == len(arrivals) {
		delete(s.early, k)
	} else {
		s.early[k] = arrivals[i:]
	}
	return found
}

// Take removes and returns the oldest outstanding ack of (table, key). ok is false when none
// is outstanding: the row was never written, every change was already taken, or the consumer
// is ahead of the writer — the change reached it before the writer's goroutine recorded the
// acknowledged write. That last race is real on a busy machine, so a miss is remembered as an
// early arrival, with the time of the Take: the next Record of (table, key) whose write was sent
// before that time matches it instead of becoming outstanding (Early counts those; Unmatched
// those never matched). Take does not allocate when it finds the
// ack (BenchmarkLedgerTake); a miss allocates its key.
func (l *Ledger) Take(table string, key []byte) (ack time.Time, ok bool) {
	return l.take(table, key, true)
}

// TakeRecorded is Take without the early-arrival memory: a miss is forgotten. For changes that
// may be another ledger's (workers sharing a consumer group: a key that does not say which
// worker wrote it), where remembering every miss would credit the wrong writer.
func (l *Ledger) TakeRecorded(table string, key []byte) (ack time.Time, ok bool) {
	return l.take(table, key, false)
}

func (l *Ledger) take(table string, key []byte, early bool) (ack time.Time, ok bool) {
	if l.keyOnly {
		table = ""
	}
	var ck compactKey
	isCompact := ck.encode(key)
	s := l.shard(key)
	s.mu.Lock()
	t := s.tables[table]
	if t == nil {
		if early {
			l.noteEarly(s, table, key)
		}
		s.mu.Unlock()
		return time.Time{}, false
	}
	var ns int64
	if isCompact {
		q, found := t.compact[ck]
		if !found {
			if early {
				l.noteEarly(s, table, key)
			}
			s.mu.Unlock()
			return time.Time{}, false
		}
		var empty bool
		if ns, empty = s.pop(q); empty {
			delete(t.compact, ck)
		}
	} else {
		q, found := t.full[string(key)]
		if !found {
			if early {
				l.noteEarly(s, table, key)
			}
			s.mu.Unlock()
			return time.Time{}, false
		}
		var empty bool
		if ns, empty = s.pop(q); empty {
			delete(t.full, string(key))
		}
	}
	s.mu.Unlock()
	l.out.Add(-1)
	return time.Unix(0, ns), true
}

// noteEarly remembers a change taken before its write was recorded. Callers hold s.mu.
func (l *Ledger) noteEarly(s *ledgerShard, table string, key []byte) {
	if l.credits.Load() >= maxEarlyCredits {
		return
	}
	k := earlyKey(table, key)
	s.early[k] = append(s.early[k], time.Now().UnixNano())
	l.credits.Add(1)
	l.early.Add(1)
}

// Early returns how many changes reached the consumer before their write was recorded (misses
// of Take, including changes no writer of this ledger made).
func (l *Ledger) Early() int64 { return l.early.Load() }

// Unmatched returns the early arrivals no Record has matched (yet): at the end of a run, the
// changes the consumer received that no writer of this ledger made.
func (l *Ledger) Unmatched() int64 { return l.credits.Load() + l.stale.Load() }

// Outstanding returns the number of recorded acks not yet taken.
func (l *Ledger) Outstanding() int { return int(l.out.Load()) }

// Written returns the number of acks ever recorded.
func (l *Ledger) Written() int64 { return l.written.Load() }

// Missing returns up to max outstanding entries (the oldest ack of each key it samples), oldest
// first among those sampled: up to max keys from each shard. It is meant for the end of a run
// (what never arrived), not for a hot path.
func (l *Ledger) Missing(max int) []LedgerEntry {
	if max <= 0 {
		return nil
	}
	var out []LedgerEntry
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n := 0
		for table, t := range s.tables {
			for k, q := range t.compact {
				if n >= max {
					break
				}
				out = append(out, LedgerEntry{Table: table, Key: string(k.decode(nil)), Ack: time.Unix(0, s.oldest(q))})
				n++
			}
			for k, q := range t.full {
				if n >= max {
					break
				}
				out = append(out, LedgerEntry{Table: table, Key: k, Ack: time.Unix(0, s.oldest(q))})
				n++
			}
		}
		s.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ack.Before(out[j].Ack) })
	if len(out) > max {
		out = out[:max]
	}
	return out
}

// EachOutstanding calls fn with every outstanding ack (a row changed n times and never taken:
// n calls), shard by shard, in no particular order; key is only valid during the call. fn must
// not use the Ledger. Meant for the end of a run (a worker's sidecar, see bench), not a hot path.
func (l *Ledger) EachOutstanding(fn func(table string, key []byte, ack time.Time)) {
	var buf []byte
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		each := func(table string, key []byte, q ackQueue) {
			if q >= 0 {
				fn(table, key, time.Unix(0, int64(q)))
				return
			}
			a := &s.lists[q.list()]
			for _, ns := range a.acks[a.head:] {
				fn(table, key, time.Unix(0, ns))
			}
		}
		for table, t := range s.tables {
			for k, q := range t.compact {
				buf = k.decode(buf[:0])
				each(table, buf, q)
			}
			for k, q := range t.full {
				each(table, []byte(k), q)
			}
		}
		s.mu.Unlock()
	}
}

// compactKey is a changefeed key whose values are all movr cities, canonical lowercase UUIDs
// or canonical timestamps, in binary: per value a tag ('c' + city index, 'u' + 16 bytes,
// 't' + 8 bytes of Unix nanoseconds), zero padded. encode accepts only the exact bytes decode
// gives back, so two different keys never share a compactKey.
type compactKey [32]byte

const (
	tagCity = 'c'
	tagUUID = 'u'
	tagTime = 't'
)

// encode sets k from key and reports whether key has the compact form.
func (k *compactKey) encode(key []byte) bool {
	if len(key) < 4 || key[0] != '[' || key[len(key)-1] != ']' {
		return false
	}
	rest := key[1 : len(key)-1]
	n := 0
	for first := true; len(rest) > 0; first = false {
		if !first {
			if len(rest) < 2 || rest[0] != ',' || rest[1] != ' ' {
				return false
			}
			rest = rest[2:]
		}
		if len(rest) < 2 || rest[0] != '"' {
			return false
		}
		end := bytes.IndexByte(rest[1:], '"')
		if end < 0 {
			return false
		}
		v := rest[1 : 1+end]
		rest = rest[2+end:]
		switch {
		case len(v) == 36:
			u, ok := parseUUID(v)
			if !ok || n+17 > len(k) {
				return false
			}
			k[n] = tagUUID
			copy(k[n+1:], u[:])
			n += 17
		case len(v) >= 19 && len(v) <= 29 && v[4] == '-':
			ns, ok := parseTimestamp(v)
			if !ok || n+9 > len(k) {
				return false
			}
			k[n] = tagTime
			binary.LittleEndian.PutUint64(k[n+1:], uint64(ns))
			n += 9
		default:
			c := cityIndex(v)
			if c < 0 || n+2 > len(k) {
				return false
			}
			k[n], k[n+1] = tagCity, byte(c)
			n += 2
		}
	}
	return n > 0
}

// decode appends the changefeed key k stands for.
func (k *compactKey) decode(dst []byte) []byte {
	dst = append(dst, '[')
	for n := 0; n < len(k) && k[n] != 0; {
		if n > 0 {
			dst = append(dst, ", "...)
		}
		dst = append(dst, '"')
		switch k[n] {
		case tagCity:
			dst = append(dst, Cities[k[n+1]]...)
			n += 2
		case tagUUID:
			dst = appendUUID(dst, [16]byte(k[n+1:n+17]))
			n += 17
		case tagTime:
			dst = appendTimestamp(dst, time.Unix(0, int64(binary.LittleEndian.Uint64(k[n+1:]))))
			n += 9
		}
		dst = append(dst, '"')
	}
	return append(dst, ']')
}

func cityIndex(v []byte) int {
	for i, c := range Cities {
		if string(v) == c {
			return i
		}
	}
	return -1
}

// parseUUID parses the canonical lowercase 8-4-4-4-12 form only.
func parseUUID(v []byte) (u [16]byte, ok bool) {
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if v[i] != '-' {
				return u, false
			}
			i++
			continue
		}
		hi, lo := unhex(v[i]), unhex(v[i+1])
		if hi < 0 || lo < 0 {
			return u, false
		}
		u[j] = byte(hi<<4 | lo)
		j++
		i += 2
	}
	return u, true
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	}
	return -1
}

// parseTimestamp parses v in TimestampKeyLayout and accepts it only if appendTimestamp gives
// the same bytes back (canonical: valid date, no trailing zeros).
func parseTimestamp(v []byte) (int64, bool) {
	num := func(b []byte) int {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	if v[7] != '-' || v[10] != 'T' || v[13] != ':' || v[16] != ':' {
		return 0, false
	}
	year, month, day := num(v[0:4]), num(v[5:7]), num(v[8:10])
	hour, min, sec := num(v[11:13]), num(v[14:16]), num(v[17:19])
	nsec := 0
	if len(v) > 19 {
		if v[19] != '.' || len(v) == 20 {
			return 0, false
		}
		nsec = num(v[20:])
		for range 9 - (len(v) - 20) {
			nsec *= 10
		}
	}
	if year < 0 || month < 0 || day < 0 || hour < 0 || min < 0 || sec < 0 || nsec < 0 {
		return 0, false
	}
	// UnixNano only represents 1678-09-21 … 2262-04-11; anything else keeps its full string
	// form (found by FuzzCompactKey: year 0 wrapped around into 1753).
	if year < 1679 || year > 2261 {
		return 0, false
	}
	t := time.Date(year, time.Month(month), day, hour, min, sec, nsec, time.UTC)
	var buf [32]byte
	if !bytes.Equal(appendTimestamp(buf[:0], t), v) {
		return 0, false
	}
	return t.UnixNano(), true
}
