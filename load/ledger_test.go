package load

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestLedgerOldestFirst(t *testing.T) {
	l := NewLedger()
	t0 := time.Unix(1700000000, 0)
	key := []byte(`["paris", "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f"]`)
	for i := range 5 {
		l.Record("vehicles", key, t0.Add(time.Duration(i)*time.Second), t0.Add(time.Duration(i)*time.Second))
	}
	l.Record("users", key, t0.Add(time.Hour), t0.Add(time.Hour)) // same key, other table: separate
	if got := l.Outstanding(); got != 6 {
		t.Fatalf("Outstanding = %d, want 6", got)
	}
	for i := range 5 {
		ack, ok := l.Take("vehicles", key)
		if !ok || !ack.Equal(t0.Add(time.Duration(i)*time.Second)) {
			t.Fatalf("take %d: got %v %v, want %v", i, ack, ok, t0.Add(time.Duration(i)*time.Second))
		}
		if i == 1 { // interleave a record with takes: still FIFO
			l.Record("vehicles", key, t0.Add(10*time.Second), t0.Add(10*time.Second))
		}
	}
	if ack, ok := l.Take("vehicles", key); !ok || !ack.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("take after interleaved record: %v %v", ack, ok)
	}
	if _, ok := l.Take("vehicles", key); ok {
		t.Fatal("take of a drained key succeeded")
	}
	if ack, ok := l.Take("users", key); !ok || !ack.Equal(t0.Add(time.Hour)) {
		t.Fatalf("users take: %v %v", ack, ok)
	}
	if l.Outstanding() != 0 || l.Written() != 7 {
		t.Fatalf("Outstanding=%d Written=%d, want 0 and 7", l.Outstanding(), l.Written())
	}
}

func TestLedgerMissing(t *testing.T) {
	l := NewLedger()
	t0 := time.Unix(1700000000, 0)
	for i := range 100 {
		l.Record("users", fmt.Appendf(nil, `["rome", "%d"]`, i), t0.Add(time.Duration(i)*time.Millisecond), t0.Add(time.Duration(i)*time.Millisecond))
	}
	for i := range 90 {
		if _, ok := l.Take("users", fmt.Appendf(nil, `["rome", "%d"]`, i)); !ok {
			t.Fatalf("take %d failed", i)
		}
	}
	got := l.Missing(5)
	if len(got) != 5 {
		t.Fatalf("Missing(5) returned %d entries", len(got))
	}
	for i, e := range got {
		if e.Table != "users" || e.Key != fmt.Sprintf(`["rome", "%d"]`, 90+i) {
			t.Errorf("Missing[%d] = %+v, want key %d oldest first", i, e, 90+i)
		}
	}
}

func TestLedgerConcurrent(t *testing.T) {
	l := NewLedger()
	var wg sync.WaitGroup
	const writers, per = 4, 2000
	for w := range writers {
		wg.Go(func() {
			for i := range per {
				l.Record("rides", fmt.Appendf(nil, `["boston", "%d-%d"]`, w, i), time.Now(), time.Now())
			}
		})
	}
	wg.Wait()
	var taken sync.WaitGroup
	for w := range writers {
		taken.Go(func() {
			for i := range per {
				if _, ok := l.Take("rides", fmt.Appendf(nil, `["boston", "%d-%d"]`, w, i)); !ok {
					t.Errorf("take %d-%d failed", w, i)
				}
			}
		})
	}
	taken.Wait()
	if l.Outstanding() != 0 || l.Written() != writers*per {
		t.Fatalf("Outstanding=%d Written=%d", l.Outstanding(), l.Written())
	}
}

func TestCompactKeyRoundTrip(t *testing.T) {
	tests := []struct {
		key     string
		compact bool
	}{
		{`["paris", "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f"]`, true},
		{`["new york", "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f", "2026-12-04T20:09:18.12345"]`, true},
		{`["rome", "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f", "2026-12-04T20:09:18"]`, true},
		{`["2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f"]`, true},
		{`["paris","2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f"]`, false},                            // no space
		{`["paris", "2C28A231-8B1E-4E83-9BFA-6C4CDB0A3A4F"]`, false},                           // upper case
		{`["paris", "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f", "2026-12-04T20:09:18.10"]`, false}, // trailing zero
		{`["paris", "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f", "2026-02-30T20:09:18"]`, false},    // no such day
		{`["summer_ride_free_x1"]`, false},
		{`["paris", "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f", "summer_ride_free_x1"]`, false},
		{`[]`, false},
		{`["pa\"ris"]`, false},
	}
	for _, tt := range tests {
		var k compactKey
		got := k.encode([]byte(tt.key))
		if got != tt.compact {
			t.Errorf("encode(%s) = %v, want %v", tt.key, got, tt.compact)
			continue
		}
		if got {
			if back := string(k.decode(nil)); back != tt.key {
				t.Errorf("decode(encode(%s)) = %s", tt.key, back)
			}
		}
	}
}

func FuzzCompactKey(f *testing.F) {
	for _, s := range []string{`["paris", "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f"]`, `["rome", "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f", "2026-12-04T20:09:18.5"]`, `["x"]`, `[`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var k compactKey
		if k.encode([]byte(s)) {
			if back := string(k.decode(nil)); back != s {
				t.Fatalf("decode(encode(%q)) = %q: two keys would share a compact key", s, back)
			}
		}
	})
}

// BenchmarkLedgerTake proves Take does not allocate (run with -benchmem).
func BenchmarkLedgerTake(b *testing.B) {
	for _, acks := range []int{1, 3} {
		b.Run(fmt.Sprintf("acks=%d", acks), func(b *testing.B) {
			l := NewLedger()
			keys := make([][]byte, 4096)
			for i := range keys {
				keys[i] = fmt.Appendf(nil, `["new york", "2c28a231-8b1e-4e83-9bfa-%012d"]`, i)
			}
			now := time.Now()
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				for _, k := range keys {
					for range acks {
						l.Record("vehicles", k, now, now)
					}
				}
				b.StartTimer()
				for _, k := range keys {
					for range acks {
						if _, ok := l.Take("vehicles", k); !ok {
							b.Fatal("missing key")
						}
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(keys)*acks), "ns/take")
		})
	}
}

// BenchmarkLedgerMemory reports the heap held per outstanding entry with 1M entries of movr's
// largest common key shape (city + UUID).
func BenchmarkLedgerMemory(b *testing.B) {
	for _, shape := range []string{"city+uuid", "city+uuid+code"} {
		b.Run("key="+shape, func(b *testing.B) { benchLedgerMemory(b, shape != "city+uuid") })
	}
}

func benchLedgerMemory(b *testing.B, withCode bool) {
	const n = 1_000_000
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		l := NewLedger()
		now := time.Now()
		var k keyBuf
		for i := range n {
			u := [16]byte{byte(i), byte(i >> 8), byte(i >> 16), 0x4e, 5, 6, 0x40, 8, 0x80, 10, 11, 12, 13, 14, 15, 16}
			k.reset().str("san francisco").uuid(u)
			if withCode {
				k.str("summer_ride_free_1x2y3z")
			}
			key := k.done()
			l.Record("vehicles", key, now, now)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if l.Outstanding() != n {
			b.Fatalf("Outstanding = %d", l.Outstanding())
		}
		heap := float64(after.HeapAlloc) - float64(before.HeapAlloc)
		b.ReportMetric(heap/1e6, "MB/1M-entries")
		b.ReportMetric(heap/n, "B/entry")
		runtime.KeepAlive(l)
	}
}

func TestLedgerTakeDoesNotAllocate(t *testing.T) {
	for _, acks := range []int{1, 3} {
		l := NewLedger()
		keys := make([][]byte, 1000)
		for i := range keys {
			if i%2 == 0 {
				keys[i] = fmt.Appendf(nil, `["new york", "2c28a231-8b1e-4e83-9bfa-%012d"]`, i) // compact
			} else {
				keys[i] = fmt.Appendf(nil, `["promo_%d"]`, i) // string key
			}
		}
		const runs = 5
		for range (runs + 1) * acks {
			for _, k := range keys {
				l.Record("t", k, time.Now(), time.Now())
			}
		}
		allocs := testing.AllocsPerRun(runs, func() {
			for range acks {
				for _, k := range keys {
					if _, ok := l.Take("t", k); !ok {
						t.Fatal("missing key")
					}
				}
			}
		})
		if allocs != 0 {
			t.Errorf("acks=%d: Take allocated %.1f times per %d takes", acks, allocs, acks*len(keys))
		}
	}
}

// TestLedgerEarlyArrival: the consumer may take a change before the writer's goroutine records
// it; that write must not then count as outstanding (missing). An arrival from before the write
// was sent is another change of the row and must not match it.
func TestLedgerEarlyArrival(t *testing.T) {
	l := NewLedger()
	k := AppendKey(nil, "paris", "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f")
	sent := time.Now()
	if _, ok := l.Take("users", k); ok {
		t.Fatal("Take found a write never recorded")
	}
	l.Record("users", k, sent, time.Now())
	if n := l.Outstanding(); n != 0 {
		t.Fatalf("Outstanding = %d after an early arrival was recorded, want 0", n)
	}
	if l.Written() != 1 || l.Early() != 1 || l.Unmatched() != 0 {
		t.Fatalf("Written %d Early %d Unmatched %d, want 1 1 0", l.Written(), l.Early(), l.Unmatched())
	}
	// A second write of the same row is outstanding as usual.
	l.Record("users", k, time.Now(), time.Now())
	if n := l.Outstanding(); n != 1 {
		t.Fatalf("Outstanding = %d, want 1", n)
	}
	if _, ok := l.Take("users", k); !ok || l.Outstanding() != 0 {
		t.Fatal("the second write was not taken")
	}
	// A change nobody wrote stays unmatched.
	l.Take("users", AppendKey(nil, "rome", "00000000-0000-0000-0000-000000000001"))
	if l.Unmatched() != 1 {
		t.Fatalf("Unmatched = %d, want 1", l.Unmatched())
	}
}

// TestLedgerStaleEarlyArrival: a change that arrived before a write was even sent cannot be that
// write's change; the write stays outstanding (a missing change is not hidden) and the arrival
// counts as unmatched.
func TestLedgerStaleEarlyArrival(t *testing.T) {
	l := NewLedger()
	k := AppendKey(nil, "paris", "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f")
	l.Take("users", k) // a change of the row no writer of this ledger made
	l.Take("users", k) // and another
	time.Sleep(time.Millisecond)
	sent := time.Now()
	l.Record("users", k, sent, sent.Add(time.Millisecond))
	if l.Outstanding() != 1 || l.Unmatched() != 2 || l.Early() != 2 {
		t.Fatalf("Outstanding %d Unmatched %d Early %d, want 1 2 2", l.Outstanding(), l.Unmatched(), l.Early())
	}
	// The stale arrivals are gone: a later early arrival matches the next write.
	before := time.Now()
	l.Take("users", k) // takes the outstanding write
	l.Take("users", k) // early: the next write's change
	l.Record("users", k, before, time.Now())
	if l.Outstanding() != 0 || l.Unmatched() != 2 {
		t.Fatalf("Outstanding %d Unmatched %d, want 0 2", l.Outstanding(), l.Unmatched())
	}
}

// TestKeyOnlyLedger: with topic_name the consumer cannot name the table; a key-only ledger
// still matches the write by its key.
func TestKeyOnlyLedger(t *testing.T) {
	l := NewKeyOnlyLedger()
	k := AppendKey(nil, "paris", "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f")
	l.Record("users", k, time.Now(), time.Now())
	if _, ok := l.Take("", k); !ok || l.Outstanding() != 0 || l.Early() != 0 {
		t.Fatalf("key-only take: outstanding %d, early %d", l.Outstanding(), l.Early())
	}
	// A table-aware ledger would miss it: the reason the key-only one exists.
	m := NewLedger()
	m.Record("users", k, time.Now(), time.Now())
	if _, ok := m.Take("", k); ok {
		t.Fatal("a table-aware ledger matched a row of an unknown table")
	}
}

// TestLedgerTakeRecordedAndEachOutstanding: TakeRecorded forgets a miss (no early credit);
// EachOutstanding lists every outstanding ack, a row changed twice twice, compact and full keys.
func TestLedgerTakeRecordedAndEachOutstanding(t *testing.T) {
	l := NewLedger()
	code := AppendKey(nil, "night_free_ride_dg0unz89")
	if _, ok := l.TakeRecorded("promo_codes", code); ok || l.Early() != 0 {
		t.Fatalf("a miss of TakeRecorded: early %d, want 0 (forgotten)", l.Early())
	}
	l.Record("promo_codes", code, time.Unix(0, 10), time.Unix(0, 10))
	if l.Outstanding() != 1 {
		t.Fatal("the write was matched against a forgotten miss")
	}
	ride := AppendKey(nil, Cities[0], "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f")
	l.Record("rides", ride, time.Unix(0, 20), time.Unix(0, 20))
	l.Record("rides", ride, time.Unix(0, 30), time.Unix(0, 30))
	l.Record("users", AppendKey(nil, Cities[1], "3c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f"), time.Unix(0, 40), time.Unix(0, 40))
	if ack, ok := l.TakeRecorded("users", AppendKey(nil, Cities[1], "3c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f")); !ok || ack.UnixNano() != 40 {
		t.Fatalf("TakeRecorded of a recorded write = %v, %v", ack, ok)
	}
	var got []string
	l.EachOutstanding(func(table string, key []byte, ack time.Time) {
		got = append(got, fmt.Sprintf("%s %s %d", table, key, ack.UnixNano()))
	})
	slices.Sort(got)
	want := []string{
		`promo_codes ["night_free_ride_dg0unz89"] 10`,
		`rides ["new york", "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f"] 20`,
		`rides ["new york", "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f"] 30`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("EachOutstanding:\n%q\nwant\n%q", got, want)
	}
}
