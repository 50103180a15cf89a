package load

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestArrivalOffset(t *testing.T) {
	tests := []struct {
		s    float64
		rate float64
		ramp time.Duration
		want time.Duration
	}{
		{0, 100, 0, 0},
		{1, 100, 0, 10 * time.Millisecond},
		{250, 500, 0, 500 * time.Millisecond},
		{100, 100, 2 * time.Second, 2 * time.Second}, // Λ(ramp) = rate·ramp/2
		{25, 100, 2 * time.Second, time.Second},      // √(2·2·25/100)
		{200, 100, 2 * time.Second, 3 * time.Second}, // after the ramp: full rate
	}
	for _, tt := range tests {
		got := arrivalOffset(tt.s, tt.rate, tt.ramp)
		if d := got - tt.want; d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("arrivalOffset(%v, %v, %v) = %v, want %v", tt.s, tt.rate, tt.ramp, got, tt.want)
		}
	}
}

func TestSchedulePoisson(t *testing.T) {
	o := Options{Rate: 1000, Arrivals: Poisson, Seed: 3}
	sc := newSchedule(o)
	const n = 20000
	var last time.Duration
	var gaps []float64
	for i := range int64(n) {
		off, ok := sc.next(i)
		if !ok || off < last {
			t.Fatalf("next(%d) = %v, %v after %v", i, off, ok, last)
		}
		gaps = append(gaps, (off - last).Seconds())
		last = off
	}
	mean, sd := meanSD(gaps)
	// Exponential gaps: mean = sd = 1/rate. With 20000 draws the mean's standard error is 0.7%.
	if math.Abs(mean-0.001)/0.001 > 0.03 || math.Abs(sd-0.001)/0.001 > 0.05 {
		t.Fatalf("poisson gaps: mean %.6fs sd %.6fs, want both ~0.001s", mean, sd)
	}
}

func TestScheduleLimits(t *testing.T) {
	count := func(o Options) int {
		sc := newSchedule(o)
		n := int64(0)
		for ; ; n++ {
			if _, ok := sc.next(n); !ok || n > 1e6 {
				break
			}
		}
		return int(n)
	}
	if got := count(Options{Rate: 500, Duration: 2 * time.Second}); got != 1000 {
		t.Errorf("rate 500 for 2s: %d arrivals, want 1000", got)
	}
	if got := count(Options{Rate: 500, MaxOps: 7}); got != 7 {
		t.Errorf("max ops 7: %d arrivals", got)
	}
	// Ramp 1s then full rate for 1s: half the ops of the ramp second, rate·1s after it.
	if got := count(Options{Rate: 1000, Ramp: time.Second, Duration: 2 * time.Second}); got < 1499 || got > 1501 {
		t.Errorf("ramp 1s + 1s at 1000/s: %d arrivals, want 1500", got)
	}
}

func meanSD(xs []float64) (float64, float64) {
	var sum, sq float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(len(xs))
	for _, x := range xs {
		sq += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sq / float64(len(xs)))
}

// fakeRun runs the scheduler with exec instead of a database.
func fakeRun(t *testing.T, o Options, exec execFunc) *Stats {
	t.Helper()
	o, err := o.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	k := newKnown()
	k.active.push(activeRide{city: 1}) // so endRide and updateLocation run as themselves
	r := &runner{opts: o, exec: exec}
	st, err := r.run(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestRunOpenLoopRate(t *testing.T) {
	var n atomic.Int64
	st := fakeRun(t, Options{Rate: 1000, Duration: time.Second, Concurrency: 4, Mix: Mix{AddUser: 1}},
		func(context.Context, *worker, Op) (int, error) { n.Add(1); return 1, nil })
	if n.Load() != 1000 || st.Total.Count != 1000 {
		t.Fatalf("rate 1000/s for 1s: executed %d, counted %d, want 1000", n.Load(), st.Total.Count)
	}
	if st.Lag.TotalCount() != 1000 {
		t.Fatalf("schedule lag has %d samples, want one per op", st.Lag.TotalCount())
	}
	// The run lasts a little over 1s (the last op is intended at 999ms), more on a busy machine.
	if got := st.AchievedRate; got < 500 || got > 1001 {
		t.Fatalf("achieved rate %.0f, want about 1000 and never above", got)
	}
	var sum int64
	for _, s := range st.Series {
		sum += s.Ops
	}
	if sum != 1000 {
		t.Fatalf("per-second series sums to %d ops, want 1000: %+v", sum, st.Series)
	}
}

// TestRunNoCoordinatedOmission: the "database" serves 2 ops per 20ms (100/s) but 200/s are
// intended, so the backlog grows; latency from the intended start must show it while the
// service time stays at 20ms.
func TestRunNoCoordinatedOmission(t *testing.T) {
	st := fakeRun(t, Options{Rate: 200, Duration: 500 * time.Millisecond, Concurrency: 2, Mix: Mix{AddUser: 1}},
		func(ctx context.Context, _ *worker, _ Op) (int, error) {
			time.Sleep(20 * time.Millisecond)
			return 1, nil
		})
	if st.Total.Count != 100 {
		t.Fatalf("count %d, want all 100 intended ops", st.Total.Count)
	}
	svc := time.Duration(st.Total.Service.ValueAtQuantile(50)) * time.Microsecond
	lat := time.Duration(st.Total.Latency.Max()) * time.Microsecond
	lag := time.Duration(st.Lag.Max()) * time.Microsecond
	if svc < 15*time.Millisecond || svc > 200*time.Millisecond {
		t.Errorf("service p50 %v, want ~20ms", svc)
	}
	// The last op is intended at 495ms and, at 100 ops/s, cannot start before ~1s.
	if lat < 400*time.Millisecond || lag < 350*time.Millisecond {
		t.Errorf("latency max %v, lag max %v: the backlog (~500ms) is hidden", lat, lag)
	}
}

func TestRunClosedLoopMaxOps(t *testing.T) {
	st := fakeRun(t, Options{MaxOps: 1000, Concurrency: 4, Mix: Mix{AddUser: 1}},
		func(context.Context, *worker, Op) (int, error) { return 1, nil })
	if st.Total.Count != 1000 || st.Total.Rows != 1000 {
		t.Fatalf("count %d rows %d, want 1000", st.Total.Count, st.Total.Rows)
	}
	if st.Lag.TotalCount() != 0 {
		t.Fatalf("closed loop recorded %d schedule lags", st.Lag.TotalCount())
	}
}

func TestRunRetries(t *testing.T) {
	serialization := &pgconn.PgError{Code: "40001", Message: "restart transaction"}
	tests := []struct {
		name       string
		maxRetries int
		failures   int // per op
		wantCount  int64
		wantErrors int64
		wantRetry  int64
	}{
		{"retried", 0, 2, 10, 0, 20},
		{"no retries", -1, 100, 0, 10, 0},
		{"exhausted", 3, 100, 0, 10, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fails := map[*worker]int{}
			st := fakeRun(t, Options{MaxOps: 10, Concurrency: 1, MaxRetries: tt.maxRetries, RetryBackoff: time.Microsecond, Mix: Mix{AddUser: 1}},
				func(_ context.Context, w *worker, _ Op) (int, error) {
					if fails[w] < tt.failures {
						fails[w]++
						return 0, serialization
					}
					fails[w] = 0
					return 1, nil
				})
			if st.Total.Count != tt.wantCount || st.Total.Errors != tt.wantErrors || st.Retries != tt.wantRetry {
				t.Fatalf("count %d errors %d retries %d, want %d %d %d", st.Total.Count, st.Total.Errors, st.Retries, tt.wantCount, tt.wantErrors, tt.wantRetry)
			}
			if tt.wantErrors > 0 && st.Errors["40"] != tt.wantErrors {
				t.Fatalf("errors by class %v, want 40: %d", st.Errors, tt.wantErrors)
			}
		})
	}
}

// TestMixTolerance: over 20000 ops each op's share is within 0.015 of its weight (the standard
// error of a share p over n ops is √(p(1−p)/n) ≤ 0.0036, so 0.015 is over 4 standard errors).
func TestMixTolerance(t *testing.T) {
	mix := DefaultMix()
	mix[ReadVehicles] = 0.1
	const n = 20000
	st := fakeRun(t, Options{MaxOps: n, Concurrency: 2, Mix: mix},
		func(context.Context, *worker, Op) (int, error) { return 1, nil })
	want := mix.Fractions()
	for _, op := range sortedOps(mix) {
		got := float64(st.Op(op).Count) / n
		if math.Abs(got-want[op]) > 0.015 {
			t.Errorf("%s: share %.4f, want %.4f ± 0.015", op, got, want[op])
		}
	}
}

func TestParseMix(t *testing.T) {
	tests := []struct {
		in      string
		want    Mix
		wantErr bool
	}{
		{"addUser=0.3,startRide=0.4", Mix{AddUser: 0.3, StartRide: 0.4}, false},
		{" readvehicles = 1 ", Mix{ReadVehicles: 1}, false},
		{"default,readVehicles=0.5", func() Mix { m := DefaultMix(); m[ReadVehicles] = 0.5; return m }(), false},
		{"default,addUser=0", func() Mix { m := DefaultMix(); m[AddUser] = 0; return m }(), false},
		{"addUser", Mix{}, true},
		{"flyDrone=1", Mix{}, true},
		{"addUser=-1", Mix{}, true},
		{"addUser=NaN", Mix{}, true},
		{"addUser=0", Mix{}, true},
	}
	for _, tt := range tests {
		got, err := ParseMix(tt.in)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("ParseMix(%q) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	if m, err := ParseMix(DefaultMix().String()); err != nil || m != DefaultMix() {
		t.Errorf("ParseMix(DefaultMix().String()) = %v, %v", m, err)
	}
}

func TestPickerOnlyWeightedOps(t *testing.T) {
	p := newPicker(Mix{EndRide: 1, CreatePromoCode: 3})
	rng := rand.New(rand.NewPCG(1, 2))
	var counts [NumOps]int
	for range 40000 {
		counts[p.pick(rng)]++
	}
	for op, c := range counts {
		if c > 0 && op != int(EndRide) && op != int(CreatePromoCode) {
			t.Fatalf("picked %s, which has weight 0", Op(op))
		}
	}
	if share := float64(counts[CreatePromoCode]) / 40000; math.Abs(share-0.75) > 0.01 {
		t.Fatalf("createPromoCode share %.3f, want 0.75", share)
	}
}

func TestErrorClass(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&pgconn.PgError{Code: "40001"}, "40"},
		{&pgconn.PgError{Code: "23505"}, "23"},
		{context.DeadlineExceeded, "timeout"},
		{context.Canceled, "canceled"},
		{errAny("boom"), "other"},
	}
	for _, tt := range tests {
		if got := ErrorClass(tt.err); got != tt.want {
			t.Errorf("ErrorClass(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

type errAny string

func (e errAny) Error() string { return string(e) }

func TestRunRampLeftOutOfTotals(t *testing.T) {
	// 1000 ops/s reached over a 500ms ramp (250 ops), then 500ms at full rate (500 ops).
	st := fakeRun(t, Options{Rate: 1000, Ramp: 500 * time.Millisecond, Duration: time.Second, Concurrency: 2, Mix: Mix{AddUser: 1}},
		func(context.Context, *worker, Op) (int, error) { return 1, nil })
	var all int64
	for _, s := range st.Series {
		all += s.Ops
	}
	if all != 750 || st.Total.Count != 500 || st.Total.Latency.TotalCount() != 500 {
		t.Fatalf("series %d ops, totals %d (hdr %d); want 750 in the series and the 500 after the ramp in the totals",
			all, st.Total.Count, st.Total.Latency.TotalCount())
	}
}

func TestRunCancelled(t *testing.T) {
	o, err := Options{Rate: 1000, Concurrency: 1, Mix: Mix{AddUser: 1}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{opts: o, exec: func(ctx context.Context, _ *worker, _ Op) (int, error) {
		time.Sleep(10 * time.Millisecond)
		return 1, nil
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	st, err := r.run(ctx, newKnown())
	if !errors.Is(err, context.DeadlineExceeded) || st == nil || !st.Interrupted {
		t.Fatalf("run = %v, %v; want the stats so far, interrupted, and ctx's error", st, err)
	}
	// ~300 ops were due, one connection serves at most ~30 in 300ms.
	if st.Dropped < 200 || st.Total.Count > 40 || st.Total.Count == 0 {
		t.Fatalf("dropped %d, count %d: want most of the ~300 due ops dropped", st.Dropped, st.Total.Count)
	}
}
