package load

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Arrivals is how the intended start times of ops are spaced.
type Arrivals int

// Arrival processes.
const (
	Constant Arrivals = iota // evenly spaced, 1/rate apart
	Poisson                  // exponential gaps with mean 1/rate
)

func (a Arrivals) String() string {
	if a == Poisson {
		return "poisson"
	}
	return "constant"
}

// ParseArrivals parses "constant" or "poisson".
func ParseArrivals(s string) (Arrivals, error) {
	switch s {
	case "constant", "":
		return Constant, nil
	case "poisson":
		return Poisson, nil
	}
	return 0, fmt.Errorf("arrivals %q: want constant or poisson", s)
}

// Options configure Run. Zero values take the documented defaults.
type Options struct {
	// Rate is the intended rate in ops/s over all connections (open loop: ops start at their
	// intended times whether or not earlier ones have finished). 0 runs a closed loop, each
	// connection issuing its next op as soon as the previous one ends.
	Rate float64
	// Concurrency is the number of workers, each with its own connection; default 8. The pool
	// needs at least this many connections.
	Concurrency int
	Arrivals    Arrivals      // default Constant
	Ramp        time.Duration // the rate grows linearly from 0 to Rate over Ramp; left out of the cumulative figures
	Duration    time.Duration // intended starts stop after Duration (ramp included); 0 = no limit
	MaxOps      int64         // stop after this many ops; 0 = no limit
	Mix         Mix           // zero value = DefaultMix
	Seed        uint64        // seeds the generators; 0 = random
	// MaxRetries bounds the retries of an op after a 40001/40P01 error; default 10, <0 none.
	MaxRetries int
	// RetryBackoff is the first retry's maximum wait, doubling per retry up to RetryBackoffMax,
	// each wait drawn uniformly below it ("full jitter"): the exponential backoff with jitter
	// CockroachDB recommends for transaction retries. Defaults 5ms and 1s.
	RetryBackoff, RetryBackoffMax time.Duration
	Interval                      time.Duration // length of an interval of the per-second figures; default 1s
	// OnInterval, if set, is called at the end of each interval with a snapshot from the
	// aggregating goroutine; the snapshot's histograms are only valid during the call.
	OnInterval func(*Stats)
	// BeforeAttempt, if set, runs before every attempt of an op on the worker's connection (nil
	// in tests without a database); an error it returns counts as the attempt's error (and is
	// retried if retryable). For tests.
	BeforeAttempt func(ctx context.Context, conn *pgx.Conn, op Op, attempt int) error
	// Ledger, if set, gets every acknowledged changed row.
	Ledger *Ledger
	// Cities restricts the rows ops write to these indexes into Cities (every table's key
	// starts with the city, except promo_codes whose codes are random); default all. Workers of
	// one multi-worker run take disjoint shares, so their writes never touch the same key.
	Cities []int
}

func (o Options) withDefaults() (Options, error) {
	for _, c := range o.Cities {
		if c < 0 || c >= numCities {
			return o, fmt.Errorf("city index %d: want 0..%d", c, numCities-1)
		}
	}
	if o.Concurrency == 0 {
		o.Concurrency = 8
	}
	if o.Mix == (Mix{}) {
		o.Mix = DefaultMix()
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = 10
	}
	if o.RetryBackoff == 0 {
		o.RetryBackoff = 5 * time.Millisecond
	}
	if o.RetryBackoffMax == 0 {
		o.RetryBackoffMax = time.Second
	}
	if o.Interval == 0 {
		o.Interval = time.Second
	}
	if o.Seed == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		o.Seed = binary.LittleEndian.Uint64(b[:])
	}
	switch {
	case o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0):
		return o, fmt.Errorf("rate %v: want ops/s >= 0", o.Rate)
	case o.Concurrency < 0:
		return o, fmt.Errorf("concurrency %d: want at least 1", o.Concurrency)
	case o.Ramp < 0 || o.Duration < 0 || o.MaxOps < 0:
		return o, errors.New("ramp, duration and max ops must not be negative")
	case o.Ramp > 0 && o.Rate == 0:
		return o, errors.New("a ramp needs a rate: --rate 0 runs as fast as possible from the start")
	case o.Duration > 0 && o.Ramp >= o.Duration:
		return o, fmt.Errorf("ramp %v must be shorter than duration %v", o.Ramp, o.Duration)
	}
	return o, o.Mix.validate()
}

// arrivalOffset returns when, after the start, the arrival at position s of a unit-rate
// process happens once mapped onto the intended rate with its linear ramp: the inverse of the
// cumulative intensity Λ(t) = rate·t²/(2·ramp) during the ramp, then rate per second. For
// constant arrivals s = n; for Poisson s is a sum of n Exp(1) draws.
func arrivalOffset(s, rate float64, ramp time.Duration) time.Duration {
	r := ramp.Seconds()
	var t float64
	if r > 0 && s < rate*r/2 {
		t = math.Sqrt(2 * r * s / rate)
	} else {
		t = r + (s-rate*r/2)/rate
	}
	return time.Duration(t * float64(time.Second))
}

// schedule yields the intended start offsets of a run's ops. Not safe for concurrent use.
type schedule struct {
	o   Options
	rng *mrand.Rand
	s   float64
}

func newSchedule(o Options) *schedule {
	return &schedule{o: o, rng: mrand.New(mrand.NewPCG(o.Seed, math.MaxUint64))}
}

// next returns the intended start of op n (counted from 0, called in order) since the start,
// or false when the run has no op n (MaxOps or Duration reached).
func (sc *schedule) next(n int64) (time.Duration, bool) {
	o := sc.o
	if o.MaxOps > 0 && n >= o.MaxOps {
		return 0, false
	}
	if o.Arrivals == Poisson {
		sc.s += sc.rng.ExpFloat64()
	} else {
		sc.s = float64(n)
	}
	off := arrivalOffset(sc.s, o.Rate, o.Ramp)
	if o.Duration > 0 && off >= o.Duration {
		return 0, false
	}
	return off, true
}

// sample is one finished op, as a worker hands it to the aggregator.
type sample struct {
	op       Op
	retries  uint16
	rows     int32
	intended time.Duration // intended start, since the run's start
	latUs    int64
	svcUs    int64
	lagUs    int64 // -1: closed loop, no schedule
	err      error
}

// execFunc runs one attempt of op for w and returns the rows changed.
type execFunc func(ctx context.Context, w *worker, op Op) (int, error)

type worker struct {
	id       int
	rng      *mrand.Rand
	picker   picker
	ops      opRunner
	conn     *pgxpool.Conn
	buf      []sample
	flushReq chan struct{}
}

type batch struct {
	worker  int
	samples []sample
}

type runner struct {
	opts    Options
	pool    *pgxpool.Pool // nil in tests with a fake exec
	exec    execFunc
	prepare func(ctx context.Context, w *worker) error // before the start, per worker; may be nil
	start   time.Time
	batches chan batch
	free    chan []sample
	issued  atomic.Int64 // closed loop: ops claimed
	started atomic.Int64 // ops started
}

// Run drives the op mix against pool until opts.Duration or opts.MaxOps is reached or ctx is
// cancelled, and returns what it measured. The stats are returned even with an error; when ctx
// is cancelled the error is ctx's and Stats.Interrupted is set. Run reads the users, vehicles
// and promo codes Init seeded so that its ops reference existing rows.
func Run(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Stats, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if mc := int(pool.Config().MaxConns); mc < opts.Concurrency {
		return nil, fmt.Errorf("concurrency %d needs a pool of at least %d connections, it has %d", opts.Concurrency, opts.Concurrency, mc)
	}
	k, err := loadKnown(ctx, pool, opts.Mix)
	if err != nil {
		return nil, err
	}
	r := &runner{opts: opts, pool: pool}
	// Connect and prepare the statements before the clock starts, so that the first ops do not
	// pay for connection setup.
	r.prepare = func(ctx context.Context, w *worker) error {
		c, err := pool.Acquire(ctx)
		if err != nil {
			return fmt.Errorf("opening connection %d of %d: %w", w.id+1, opts.Concurrency, err)
		}
		w.conn = c
		for _, sql := range opSQL {
			if _, err := c.Conn().Prepare(ctx, sql, sql); err != nil {
				return fmt.Errorf("preparing %.40q...: %w", sql, err)
			}
		}
		return nil
	}
	r.exec = func(ctx context.Context, w *worker, op Op) (int, error) {
		if w.conn == nil {
			c, err := pool.Acquire(ctx)
			if err != nil {
				return 0, fmt.Errorf("acquiring a connection: %w", err)
			}
			w.conn = c
		}
		n, err := w.ops.run(ctx, w.conn.Conn(), op)
		if err != nil && w.conn.Conn().IsClosed() {
			w.conn.Release()
			w.conn = nil
		}
		return n, err
	}
	return r.run(ctx, k)
}

func (r *runner) run(ctx context.Context, k *known) (*Stats, error) {
	o := r.opts
	r.batches = make(chan batch, o.Concurrency)
	r.free = make(chan []sample, 2*o.Concurrency)
	workers := make([]*worker, o.Concurrency)
	for i := range workers {
		rng := mrand.New(mrand.NewPCG(o.Seed, uint64(i)))
		workers[i] = &worker{
			id: i, rng: rng, picker: newPicker(o.Mix),
			ops:      opRunner{rng: rng, known: k.clone(), ledger: o.Ledger, cities: o.Cities},
			flushReq: make(chan struct{}, 1),
		}
	}
	if r.prepare != nil {
		for _, w := range workers {
			if err := r.prepare(ctx, w); err != nil {
				for _, w := range workers {
					if w.conn != nil {
						w.conn.Release()
					}
				}
				return nil, err
			}
		}
	}
	r.start = time.Now()
	agg := newAggregator(o, r.start, workers)
	aggDone := make(chan *Stats)
	workersDone := make(chan struct{})
	go func() { aggDone <- agg.loop(r.batches, r.free, workersDone) }()

	var arrivals chan time.Time
	var due atomic.Int64
	dispatchDone := make(chan struct{})
	if o.Rate > 0 {
		arrivals = make(chan time.Time, o.Concurrency)
		go func() { r.dispatch(ctx, arrivals, &due); close(dispatchDone) }()
	} else {
		close(dispatchDone)
	}
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() { r.work(ctx, w, arrivals) })
	}
	wg.Wait()
	<-dispatchDone
	close(workersDone)
	st := <-aggDone
	if ctx.Err() != nil {
		st.Interrupted = true
		if o.Rate > 0 {
			st.Dropped = max(due.Load()-r.started.Load(), 0)
		}
		return st, ctx.Err()
	}
	return st, nil
}

// dispatch sends intended start times at the schedule; it blocks when every worker is busy,
// but the times it sends keep their schedule, so the wait shows in the latency.
func (r *runner) dispatch(ctx context.Context, out chan<- time.Time, due *atomic.Int64) {
	defer close(out)
	o := r.opts
	sch := newSchedule(o)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	next := func(n int64) (time.Time, bool) {
		off, ok := sch.next(n)
		return r.start.Add(off), ok
	}
	for n := int64(0); ; n++ {
		t, ok := next(n)
		if !ok {
			return
		}
		if d := time.Until(t); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				due.Store(n)
				return
			}
		}
		select {
		case out <- t:
		case <-ctx.Done():
			// Count what was due by now and never started.
			now := time.Now()
			for ; ok && !t.After(now); n++ {
				t, ok = next(n + 1)
			}
			due.Store(n)
			return
		}
	}
}

func (r *runner) work(ctx context.Context, w *worker, arrivals <-chan time.Time) {
	defer func() {
		r.batches <- batch{worker: w.id, samples: w.buf}
		if w.conn != nil {
			w.conn.Release()
		}
	}()
	for {
		var intended time.Time
		if arrivals == nil {
			select {
			case <-w.flushReq:
				w.flush(r)
			case <-ctx.Done():
				return
			default:
			}
			if r.opts.MaxOps > 0 && r.issued.Add(1) > r.opts.MaxOps {
				return
			}
			intended = time.Now()
			if r.opts.Duration > 0 && intended.Sub(r.start) >= r.opts.Duration {
				return
			}
		} else {
			var ok bool
			select {
			case intended, ok = <-arrivals:
				if !ok {
					return
				}
			case <-w.flushReq:
				w.flush(r)
				continue
			case <-ctx.Done():
				return
			}
		}
		r.started.Add(1)
		r.runOp(ctx, w, intended, arrivals != nil)
	}
}

// flush hands the worker's samples to the aggregator and takes an empty buffer.
func (w *worker) flush(r *runner) {
	r.batches <- batch{worker: w.id, samples: w.buf}
	select {
	case w.buf = <-r.free:
	default:
		w.buf = make([]sample, 0, 256)
	}
}

func (r *runner) runOp(ctx context.Context, w *worker, intended time.Time, open bool) {
	begin := time.Now()
	op := w.ops.fallback(w.picker.pick(w.rng))
	var retries int
	var rows int
	var err error
	for attempt := 0; ; attempt++ {
		err = nil
		if h := r.opts.BeforeAttempt; h != nil {
			var c *pgx.Conn
			if w.conn != nil {
				c = w.conn.Conn()
			} else if r.pool != nil {
				if pc, aerr := r.pool.Acquire(ctx); aerr == nil {
					w.conn = pc
					c = pc.Conn()
				}
			}
			err = h(ctx, c, op, attempt)
		}
		if err == nil {
			rows, err = r.exec(ctx, w, op)
		}
		if err == nil || !retryable(err) || attempt >= r.opts.MaxRetries || r.opts.MaxRetries < 0 {
			break
		}
		retries++
		if !sleepCtx(ctx, backoff(w.rng, r.opts.RetryBackoff, r.opts.RetryBackoffMax, attempt)) {
			break
		}
	}
	end := time.Now()
	if ctx.Err() != nil && err != nil {
		return // cut short by the end of the run, not a database error
	}
	s := sample{
		op: op, retries: uint16(min(retries, math.MaxUint16)), rows: int32(rows),
		intended: intended.Sub(r.start),
		latUs:    end.Sub(intended).Microseconds(),
		svcUs:    end.Sub(begin).Microseconds(),
		lagUs:    -1,
		err:      err,
	}
	if open {
		s.lagUs = max(begin.Sub(intended).Microseconds(), 0)
	}
	w.buf = append(w.buf, s)
}

// backoff returns the wait before retry attempt+1: uniform in [0, min(max, base·2^attempt)).
func backoff(rng *mrand.Rand, base, maxWait time.Duration, attempt int) time.Duration {
	d := maxWait
	if attempt < 30 {
		d = min(base<<attempt, maxWait)
	}
	if d <= 0 {
		return 0
	}
	return time.Duration(rng.Int64N(int64(d)))
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
