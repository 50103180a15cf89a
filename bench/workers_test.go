package bench

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cfbench/cfbench/load"
	"github.com/cfbench/cfbench/profiles"
)

func TestWorkerCities(t *testing.T) {
	if c := workerCities(1, 1); c != nil {
		t.Errorf("1/1: %v, want nil (all cities)", c)
	}
	for _, n := range []int{2, 3, 9} {
		var all []int
		for i := 1; i <= n; i++ {
			c := workerCities(i, n)
			if len(c) == 0 {
				t.Errorf("%d/%d: no city", i, n)
			}
			all = append(all, c...)
		}
		slices.Sort(all)
		if len(all) != len(load.Cities) || slices.Compact(all)[len(load.Cities)-1] != len(load.Cities)-1 {
			t.Errorf("n=%d: the shares %v do not cover every city exactly once", n, all)
		}
	}
}

func TestCheckWorkers(t *testing.T) {
	tests := []struct {
		i, n        int
		group, mode string
		ok          bool
	}{
		{1, 1, "g", profiles.ModeCreate, true},
		{1, 2, "", profiles.ModePgfeed, true},
		{2, 9, "", profiles.ModeExisting, true},
		{1, 10, "", profiles.ModeExisting, false},
		{1, 2, "g", profiles.ModeExisting, false},
		{1, 2, "", profiles.ModeCreate, false},
	}
	for _, tc := range tests {
		if err := checkWorkers(tc.i, tc.n, tc.group, tc.mode); (err == nil) != tc.ok {
			t.Errorf("checkWorkers(%d, %d, %q, %q) = %v, want ok=%v", tc.i, tc.n, tc.group, tc.mode, err, tc.ok)
		}
	}
}

// TestOwnLedgerPassesOverOtherCities: another worker's row must not reach the ledger (where a
// miss would be remembered as an early arrival), this worker's must.
func TestOwnLedgerPassesOverOtherCities(t *testing.T) {
	l := load.NewLedger()
	own := newOwnLedger(l, workerCities(1, 2)) // cities 0, 2, 4, …: new york, washington dc, …
	mine := load.AppendKey(nil, load.Cities[0], "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f")
	theirs := load.AppendKey(nil, load.Cities[1], "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f")
	l.Record("users", mine, time.Now())
	if _, ok := own.Take("users", theirs); ok || l.Early() != 0 {
		t.Fatalf("another worker's row reached the ledger (early %d)", l.Early())
	}
	if _, ok := own.Take("users", mine); !ok || l.Outstanding() != 0 {
		t.Fatal("this worker's row was not taken")
	}
	// promo_codes keys carry no city: they go to the ledger.
	code := load.AppendKey(nil, "night_free_ride_dg0unz89")
	l.Record("promo_codes", code, time.Now())
	if _, ok := own.Take("promo_codes", code); !ok {
		t.Fatal("a promo code (no city in its key) was passed over")
	}
}

// TestRunRejectsBadWorkersAsUsage: options that cannot make a run are ErrUsage (exit 2), before
// anything is contacted.
func TestRunRejectsBadWorkersAsUsage(t *testing.T) {
	p, err := profiles.Load("okta-staging", planEnv(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), Options{Profile: p, Worker: 1, Workers: 2})
	if !errors.Is(err, ErrUsage) {
		t.Fatalf("mode create with 2 workers: %v, want ErrUsage", err)
	}
}
