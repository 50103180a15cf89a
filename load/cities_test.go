package load

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestOptionsCities checks that ops restricted to some cities write keys of those cities only
// (what keeps the workers of a multi-worker run apart).
func TestOptionsCities(t *testing.T) {
	share := []int{1, 4, 7}
	allowed := map[string]bool{}
	for _, c := range share {
		allowed[Cities[c]] = true
	}
	l := NewLedger()
	r := opRunner{rng: rand.New(rand.NewPCG(3, 4)), known: testKnown(), ledger: l, cities: share}
	seen := map[string]bool{}
	for range 300 {
		for _, op := range []Op{AddUser, AddVehicle, StartRide, ApplyPromoCode} {
			if _, err := r.run(context.Background(), &fakeConn{}, op); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, e := range l.Missing(1 << 20) {
		city, _, _ := strings.Cut(strings.TrimPrefix(e.Key, `["`), `"`)
		if !allowed[city] {
			t.Fatalf("%s key %s: city %q is not in the share %v", e.Table, e.Key, city, share)
		}
		seen[city] = true
	}
	if len(seen) != len(share) {
		t.Errorf("cities written %v, want every one of %v", seen, share)
	}
	if _, err := (Options{Cities: []int{numCities}}).withDefaults(); err == nil {
		t.Error("a city index out of range is accepted")
	}
}
