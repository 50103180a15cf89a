package bench

import (
	"slices"
	"testing"

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
