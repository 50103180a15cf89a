package load

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// fakeConn answers every statement as if it changed one row.
type fakeConn struct{ sqls map[string]int }

func (f *fakeConn) Exec(_ context.Context, sql string, _ ...any) (pgconn.CommandTag, error) {
	if f.sqls != nil {
		f.sqls[sql]++
	}
	return pgconn.NewCommandTag("INSERT 0 1"), nil
}
func (f *fakeConn) Query(context.Context, string, ...any) (pgx.Rows, error) {
	return nil, fmt.Errorf("not supported")
}
func (f *fakeConn) QueryRow(_ context.Context, sql string, _ ...any) pgx.Row {
	if f.sqls != nil {
		f.sqls[sql]++
	}
	return oneOneRow{}
}

type oneOneRow struct{}

func (oneOneRow) Scan(dest ...any) error {
	for _, d := range dest {
		*d.(*int64) = 1
	}
	return nil
}

func testKnown() *known {
	k := newKnown()
	rng := rand.New(rand.NewPCG(9, 9))
	for c := range numCities {
		k.users[c].add(rng, randUUID(rng))
		k.vehicles[c].add(rng, randUUID(rng))
	}
	k.promo.add(rng, "summer_ride_free_1")
	return k
}

// TestOpsRecordInLedger: each write op records the rows it changed under the right table and
// a key of the right shape.
func TestOpsRecordInLedger(t *testing.T) {
	want := map[Op][]string{
		AddUser:         {TableUsers},
		AddVehicle:      {TableVehicles},
		StartRide:       {TableRides, TableVehicles},
		EndRide:         {TableRides},
		ApplyPromoCode:  {TableUserPromoCodes},
		CreatePromoCode: {TablePromoCodes},
		UpdateLocation:  {TableLocationHistory},
	}
	for op, tables := range want {
		l := NewLedger()
		r := opRunner{rng: rand.New(rand.NewPCG(1, 2)), known: testKnown(), ledger: l}
		r.known.active.push(activeRide{city: 7, id: [16]byte{1}})
		n, err := r.run(context.Background(), &fakeConn{}, op)
		if err != nil || n != len(tables) {
			t.Fatalf("%s: %d rows, %v; want %d", op, n, err, len(tables))
		}
		got := l.Missing(10)
		if len(got) != len(tables) {
			t.Fatalf("%s: ledger %v, want tables %v", op, got, tables)
		}
		for _, e := range got {
			if !strings.HasPrefix(e.Key, `["`) || !strings.HasSuffix(e.Key, `"]`) {
				t.Errorf("%s: key %s is not a JSON array of strings", op, e.Key)
			}
			if e.Table == TableLocationHistory && strings.Count(e.Key, `", "`) != 2 {
				t.Errorf("%s: key %s should have 3 values", op, e.Key)
			}
		}
	}
}

// BenchmarkOpGeneration measures what generating an op's values and key costs, against a
// connection that does nothing (pgx's own costs excluded).
func BenchmarkOpGeneration(b *testing.B) {
	for _, op := range []Op{AddUser, StartRide, UpdateLocation} {
		b.Run("op="+op.String(), func(b *testing.B) {
			r := opRunner{rng: rand.New(rand.NewPCG(1, 2)), known: testKnown()}
			r.known.active.push(activeRide{city: 7, id: [16]byte{1}})
			c := &fakeConn{}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.run(context.Background(), c, op); err != nil {
					b.Fatal(err)
				}
				if r.known.active.len() > 10 {
					r.known.active = rideQueue{items: r.known.active.items[:1]}
				}
			}
		})
	}
}

func TestRideQueue(t *testing.T) {
	var q rideQueue
	for i := range 2000 {
		q.push(activeRide{id: [16]byte{byte(i), byte(i >> 8)}})
	}
	if q.len() != maxActiveRides {
		t.Fatalf("len %d, want the bound %d", q.len(), maxActiveRides)
	}
	for i := 2000 - maxActiveRides; i < 2000; i++ {
		if got := q.pop().id; got != ([16]byte{byte(i), byte(i >> 8)}) {
			t.Fatalf("pop: got ride %v, want %d (oldest first)", got[:2], i)
		}
	}
	if q.len() != 0 || cap(q.items) > 4*maxActiveRides {
		t.Fatalf("len %d cap %d after draining", q.len(), cap(q.items))
	}
}
