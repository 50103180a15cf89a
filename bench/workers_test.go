package bench

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cfbench/cfbench/load"
	"github.com/cfbench/cfbench/profiles"
	"github.com/cfbench/cfbench/report"
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
		name      string
		i, n      int
		run, mode string
		resolved  time.Duration
		ok        bool
	}{
		{"one worker needs nothing", 1, 1, "", profiles.ModeCreate, 0, true},
		{"pgfeed shared", 1, 2, "r1", profiles.ModePgfeed, time.Second, true},
		{"existing job", 2, 9, "r1", profiles.ModeExisting, time.Second, true},
		{"more workers than cities", 1, 10, "r1", profiles.ModeExisting, time.Second, false},
		{"no run id", 1, 2, "", profiles.ModeExisting, time.Second, false},
		{"run id with a slash", 1, 2, "a/b", profiles.ModeExisting, time.Second, false},
		{"one changefeed per worker", 1, 2, "r1", profiles.ModeCreate, time.Second, false},
		{"no resolved timestamps for the fence", 1, 2, "r1", profiles.ModeExisting, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := checkWorkers(tc.i, tc.n, tc.run, tc.mode, tc.resolved); (err == nil) != tc.ok {
				t.Errorf("checkWorkers(%d, %d, %q, %q, %v) = %v, want ok=%v", tc.i, tc.n, tc.run, tc.mode, tc.resolved, err, tc.ok)
			}
		})
	}
}

func TestGroupFormed(t *testing.T) {
	all := []string{"t[0]", "t[1]", "t[2]"}
	tests := []struct {
		name     string
		n        int
		assigned map[int][]string
		ok       bool
		why      string
	}{
		{"split", 2, map[int][]string{1: {"t[0]", "t[2]"}, 2: {"t[1]"}}, true, ""},
		{"a worker with none (more workers than partitions)", 4, map[int][]string{1: {"t[0]"}, 2: {"t[1]"}, 3: {"t[2]"}, 4: nil}, true, ""},
		{"a worker not registered", 2, map[int][]string{1: {"t[0]", "t[1]", "t[2]"}}, false, "no assignment yet from worker 2/2"},
		{"stale generation overlaps", 2, map[int][]string{1: {"t[0]", "t[1]", "t[2]"}, 2: {"t[1]"}}, false, "t[1] assigned to workers 1 and 2"},
		{"revoked, not yet reassigned", 2, map[int][]string{1: nil, 2: {"t[1]"}}, false, "no worker has t[0], t[2]"},
		{"unknown partition", 1, map[int][]string{1: {"t[0]", "t[1]", "t[2]", "u[0]"}}, false, "not a partition"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, why := groupFormed(tc.n, all, tc.assigned)
			if ok != tc.ok || !strings.Contains(why, tc.why) {
				t.Errorf("groupFormed = %v, %q; want %v, %q", ok, why, tc.ok, tc.why)
			}
		})
	}
}

func TestFence(t *testing.T) {
	if f := fenceOf(nil); f != 0 {
		t.Errorf("fence of nothing = %d, want 0", f)
	}
	done := map[int]int64{1: 1_000, 2: 5_000, 3: 2_000}
	fence := fenceOf(done)
	if want := 5_000 + int64(fenceMargin); fence != want {
		t.Fatalf("fence = %d, want the latest done + margin %d", fence, want)
	}
	owned := []string{"t[0]", "t[1]", "t[2]"}
	tests := []struct {
		name     string
		resolved map[string]int64
		want     []string
	}{
		{"all past the fence", map[string]int64{"t[0]": fence, "t[1]": fence + 1, "t[2]": fence + 9}, nil},
		{"one behind", map[string]int64{"t[0]": fence, "t[1]": fence - 1, "t[2]": fence}, []string{"t[1]"}},
		{"one never resolved", map[string]int64{"t[0]": fence, "t[1]": fence}, []string{"t[2]"}},
		{"resolved of a partition not owned does not count", map[string]int64{"t[0]": fence, "t[1]": fence, "u[0]": fence, "t[2]": 0}, []string{"t[2]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := lagging(owned, tc.resolved, fence); !slices.Equal(got, tc.want) {
				t.Errorf("lagging = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestOwnLedgerPassesOverOtherCities: another worker's row must not reach the ledger (where a
// miss would be remembered as an early arrival) but the sidecar, this worker's must reach the
// ledger; a cityless key is taken when the ledger holds it, else spilled without an early credit.
func TestOwnLedgerPassesOverOtherCities(t *testing.T) {
	path := filepath.Join(t.TempDir(), report.SidecarName)
	spill, err := report.CreateSidecar(path, "test")
	if err != nil {
		t.Fatal(err)
	}
	l := load.NewLedger()
	own := newOwnLedger(l, workerCities(1, 2), spill) // cities 0, 2, 4, …: new york, washington dc, …
	mine := load.AppendKey(nil, load.Cities[0], "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f")
	theirs := load.AppendKey(nil, load.Cities[1], "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f")
	l.Record("users", mine, time.Now(), time.Now())
	recvAt := time.Now().Add(-3 * time.Millisecond) // as Poll stamped it, before the recorder saw it
	if _, ok := own.TakeReceived("users", theirs, recvAt); ok || l.Early() != 0 {
		t.Fatalf("another worker's row reached the ledger (early %d)", l.Early())
	}
	if _, ok := own.Take("users", mine); !ok || l.Outstanding() != 0 {
		t.Fatal("this worker's row was not taken")
	}
	// An own-city row ahead of its Record is an early arrival, as with one worker.
	early := load.AppendKey(nil, load.Cities[2], "3c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f")
	if _, ok := own.Take("users", early); ok || l.Early() != 1 {
		t.Fatalf("an own row ahead of its write: early %d, want 1", l.Early())
	}
	// promo_codes keys carry no city: taken when recorded, spilled otherwise.
	code := load.AppendKey(nil, "night_free_ride_dg0unz89")
	l.Record("promo_codes", code, time.Now(), time.Now())
	if _, ok := own.Take("promo_codes", code); !ok {
		t.Fatal("a recorded promo code (no city in its key) was passed over")
	}
	other := load.AppendKey(nil, "day_free_ride_aaaa1111")
	if _, ok := own.Take("promo_codes", other); ok || l.Early() != 1 {
		t.Fatalf("an unrecorded promo code: early %d, want it spilled, not credited", l.Early())
	}
	if err := spill.Close(); err != nil {
		t.Fatal(err)
	}
	var got []string
	var at []int64
	if _, err := report.ReadSidecar(path, func(rec report.SidecarRecord) error {
		got = append(got, string(rec.Kind)+" "+rec.Table+" "+rec.Key)
		at = append(at, rec.At)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(at) > 0 && at[0] != recvAt.UnixNano() {
		t.Errorf("another worker's row spilled with receive time %d, want the stamped %d", at[0], recvAt.UnixNano())
	}
	want := []string{"R users " + string(theirs), "R promo_codes " + string(other)}
	if !slices.Equal(got, want) {
		t.Errorf("sidecar:\n%q\nwant\n%q", got, want)
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
	local, err := profiles.Load("local", planEnv(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), Options{Profile: local, Worker: 2, Workers: 2})
	if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "--run-id") {
		t.Fatalf("2 workers without a run id: %v, want ErrUsage naming --run-id", err)
	}
}
