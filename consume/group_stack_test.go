package consume_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cfbench/cfbench/consume"
	"github.com/cfbench/cfbench/internal/stacktest"
)

// seenKeys is a consume.Ledger that remembers every key it is asked for (never matching one).
type seenKeys struct {
	mu   sync.Mutex
	keys map[string]int
}

func (s *seenKeys) Take(_ string, key []byte) (time.Time, bool) {
	s.mu.Lock()
	s.keys[string(key)]++
	s.mu.Unlock()
	return time.Time{}, false
}

func (s *seenKeys) count(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[key]
}

// groupMember is one consumer of the group and what its rebalance callback saw.
type groupMember struct {
	c    *consume.Consumer
	seen *seenKeys
	mu   sync.Mutex
	rbs  []consume.Rebalance
	stop func()
}

func (m *groupMember) assigned() (n int, events int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.c.Assignment()), len(m.rbs)
}

func joinGroup(t *testing.T, ctx context.Context, s stacktest.Stack, topic, group string) *groupMember {
	t.Helper()
	m := &groupMember{seen: &seenKeys{keys: map[string]int{}}}
	c, err := consume.New(ctx, consume.Brokers(s.KafkaBrokers), consume.Token(tokenSource(t, s)), consume.Topics(topic),
		consume.GroupID(group), consume.WithLedger(m.seen), consume.StartAtEnd(),
		consume.OnRebalance(func(rb consume.Rebalance) {
			m.mu.Lock()
			m.rbs = append(m.rbs, rb)
			m.mu.Unlock()
		}))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	m.c = c
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(rctx) }()
	var once sync.Once
	m.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			if err := c.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	t.Cleanup(m.stop)
	return m
}

// waitFor polls cond every 100 ms until it holds or the timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(timeout); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestStackGroupRebalanceSkipsNothing: messages produced while a second member joins the group
// and while it leaves again all reach some member: every assigned partition starts at its
// committed offset (committed on revocation) or at the start offsets New took, never at a
// "latest" resolved after the message was produced. Each assignment is explicit, and the two
// members' partitions are disjoint while both are in.
func TestStackGroupRebalanceSkipsNothing(t *testing.T) {
	s := stacktest.Require(t)
	const parts = 4
	topic := newTopic(t, s, parts)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var b [4]byte
	_, _ = rand.Read(b[:])
	group := "cfbench-test-" + hex.EncodeToString(b[:])

	a := joinGroup(t, ctx, s, topic, group)
	waitFor(t, "member a assigned every partition", 30*time.Second, func() bool { n, _ := a.assigned(); return n == parts })

	p := newProducer(t, s)
	var keys []string
	produce := func(from, n int, pause time.Duration) {
		for i := from; i < from+n; i++ {
			k := fmt.Sprintf(`["k%d"]`, i)
			p.send(topic, int32(i%parts), k, row(hlc(time.Now(), 0)))
			keys = append(keys, k)
			time.Sleep(pause)
		}
	}
	members := []*groupMember{a}
	seenByAny := func() bool {
		for _, k := range keys {
			n := 0
			for _, m := range members {
				n += m.seen.count(k)
			}
			if n == 0 {
				return false
			}
		}
		return true
	}
	produce(0, 40, 0)

	// b joins while messages keep coming: a's partitions are revoked and shared.
	bm := joinGroup(t, ctx, s, topic, group)
	members = append(members, bm)
	produce(40, 200, 20*time.Millisecond)
	waitFor(t, "both members hold partitions", 30*time.Second, func() bool {
		na, _ := a.assigned()
		nb, _ := bm.assigned()
		return na > 0 && nb > 0 && na+nb == parts
	})
	owned := map[int32]string{}
	for name, m := range map[string]*groupMember{"a": a, "b": bm} {
		for _, tp := range m.c.Assignment() {
			if o, dup := owned[tp.Partition]; dup {
				t.Errorf("partition %d held by %s and %s", tp.Partition, o, name)
			}
			owned[tp.Partition] = name
		}
	}
	produce(240, 40, 0)
	waitFor(t, "every message produced so far reached a member", 20*time.Second, seenByAny)

	// b leaves while messages keep coming: its partitions go back to a, from b's commits.
	go bm.stop()
	produce(280, 150, 20*time.Millisecond)
	waitFor(t, "member a holds every partition again", 30*time.Second, func() bool { n, _ := a.assigned(); return n == parts })
	produce(430, 40, 0)
	waitFor(t, "every message reached a member", 20*time.Second, seenByAny)

	var dups int
	for _, k := range keys {
		if n := a.seen.count(k) + bm.seen.count(k); n > 1 {
			dups++
		}
	}
	t.Logf("%d messages, %d received twice; member a rebalances %d, b %d", len(keys), dups, len(a.rbs), len(bm.rbs))
	for name, m := range map[string]*groupMember{"a": a, "b": bm} {
		m.mu.Lock()
		for _, rb := range m.rbs {
			if rb.Err != nil {
				t.Errorf("member %s: rebalance error: %v", name, rb.Err)
			}
			if !rb.Assigned {
				continue
			}
			for _, tp := range rb.Partitions {
				if tp.Offset < 0 {
					t.Errorf("member %s: %s[%d] assigned at logical offset %v, want an explicit one", name, *tp.Topic, tp.Partition, tp.Offset)
				}
			}
		}
		m.mu.Unlock()
	}
	if len(a.rbs) < 3 {
		t.Errorf("member a saw %d rebalance events, want ≥ 3 (assigned, revoked, assigned…)", len(a.rbs))
	}
}
