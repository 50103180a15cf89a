package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cfbench/cfbench/consume"
	"github.com/cfbench/cfbench/report"
)

// coordTable is the coordination table of the workers of group runs (see workers.go). It lives
// in the benchmarked database but is not one of the changefeed's tables.
const coordTable = "cfbench_workers"

// Phases a worker records in coordTable.
const (
	phaseAssigned = "assigned" // info: its partitions, comma-separated; rewritten on every change
	phaseReady    = "ready"    // positioned, waiting for the others to start writing
	phaseDone     = "done"     // value: database clock (Unix ns) after its last write
	phaseDrained  = "drained"  // value: 1 when its drain reached the fence, 0 when it timed out
)

// coord reads and writes one worker's rows of coordTable. Works on PostgreSQL and CockroachDB.
type coord struct {
	pool      *pgxpool.Pool
	run       string
	worker, n int
}

type coordRow struct {
	value int64
	info  string
}

// setup creates coordTable if missing and forgets this worker's rows of an earlier attempt.
// Workers starting together race on CREATE TABLE IF NOT EXISTS (PostgreSQL can then fail with
// a unique violation in its catalog), so it is tried a few times.
func (c *coord) setup(ctx context.Context) error {
	var err error
	for try := range 3 {
		if err = c.create(ctx); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(100*(try+1)) * time.Millisecond):
		}
	}
	if err != nil {
		return err
	}
	if _, err := c.pool.Exec(ctx, `DELETE FROM `+coordTable+` WHERE run_id = $1 AND worker = $2`, c.run, c.worker); err != nil {
		return fmt.Errorf("clearing worker %d's rows of run %s in %s: %w", c.worker, c.run, coordTable, err)
	}
	return nil
}

func (c *coord) create(ctx context.Context) error {
	if _, err := c.pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+coordTable+` (
	run_id TEXT NOT NULL,
	worker INT8 NOT NULL,
	phase TEXT NOT NULL,
	at TIMESTAMPTZ NOT NULL DEFAULT now(),
	value INT8 NOT NULL DEFAULT 0,
	info TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (run_id, worker, phase))`); err != nil {
		return fmt.Errorf("creating the workers' coordination table %s: %w", coordTable, err)
	}
	return nil
}

// put records (or replaces) this worker's row for phase.
func (c *coord) put(ctx context.Context, phase string, value int64, info string) error {
	_, err := c.pool.Exec(ctx, `INSERT INTO `+coordTable+` (run_id, worker, phase, at, value, info) VALUES ($1, $2, $3, now(), $4, $5)
ON CONFLICT (run_id, worker, phase) DO UPDATE SET at = excluded.at, value = excluded.value, info = excluded.info`,
		c.run, c.worker, phase, value, info)
	if err != nil {
		return fmt.Errorf("recording worker %d/%d %s in %s: %w", c.worker, c.n, phase, coordTable, err)
	}
	return nil
}

// rows returns every worker's row for phase.
func (c *coord) rows(ctx context.Context, phase string) (map[int]coordRow, error) {
	rows, err := c.pool.Query(ctx, `SELECT worker, value, info FROM `+coordTable+` WHERE run_id = $1 AND phase = $2`, c.run, phase)
	if err != nil {
		return nil, fmt.Errorf("reading the workers' %s rows in %s: %w", phase, coordTable, err)
	}
	defer rows.Close()
	out := map[int]coordRow{}
	for rows.Next() {
		var w int64
		var r coordRow
		if err := rows.Scan(&w, &r.value, &r.info); err != nil {
			return nil, fmt.Errorf("reading %s: %w", coordTable, err)
		}
		out[int(w)] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", coordTable, err)
	}
	return out, nil
}

// now reads the database clock, Unix ns (the clock pgfeed's and CockroachDB's timestamps use).
func (c *coord) now(ctx context.Context) (int64, error) {
	var ns int64
	if err := c.pool.QueryRow(ctx, `SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::INT8 * 1000`).Scan(&ns); err != nil {
		return 0, fmt.Errorf("reading the database clock: %w", err)
	}
	return ns, nil
}

// waitAll polls phase until every worker has a row or until deadline; it returns the rows it
// has and, on timeout, an error naming the missing workers.
func (c *coord) waitAll(ctx context.Context, phase string, deadline time.Time) (map[int]coordRow, error) {
	for {
		got, err := c.rows(ctx, phase)
		if err != nil {
			return nil, err
		}
		if len(got) >= c.n && missingWorkers(c.n, got) == "" {
			return got, nil
		}
		if !time.Now().Before(deadline) {
			return got, fmt.Errorf("workers %s of run %s never reached %q", missingWorkers(c.n, got), c.run, phase)
		}
		select {
		case <-ctx.Done():
			return got, fmt.Errorf("waiting for workers %s to reach %q: %w", missingWorkers(c.n, got), phase, ctx.Err())
		case <-time.After(groupPoll):
		}
	}
}

// fencePoll is how often the drain compares the owned partitions' resolved timestamps with the
// fence (each comparison takes a consumer Stats snapshot).
const fencePoll = 250 * time.Millisecond

// startGroup prepares a group run before the consumer starts: the consumer group's name, the
// coordination table, and the sidecar (flushed every sidecarFlush until the run's background
// context ends).
func (r *runner) startGroup(ctx context.Context) error {
	r.group = groupOf(r.p, r.o.RunID)
	r.coord = &coord{pool: r.pool, run: r.o.RunID, worker: r.o.Worker, n: r.o.Workers}
	if err := r.coord.setup(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if err := os.MkdirAll(r.o.OutDir, 0o755); err != nil {
		return fmt.Errorf("creating --out directory: %w", err)
	}
	sc, err := report.CreateSidecar(filepath.Join(r.o.OutDir, report.SidecarName),
		fmt.Sprintf("worker=%d/%d run=%s group=%s", r.o.Worker, r.o.Workers, r.o.RunID, r.group))
	if err != nil {
		return err
	}
	r.sidecar = sc
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		t := time.NewTicker(sidecarFlush)
		defer t.Stop()
		for {
			select {
			case <-r.bgCtx.Done():
				return
			case <-t.C:
				if err := sc.Flush(); err != nil {
					r.noteBackground("consume", err)
					return
				}
			}
		}
	}()
	r.log.Info("worker of a group run", "run", r.o.RunID, "group", r.group, "worker", fmt.Sprintf("%d/%d", r.o.Worker, r.o.Workers))
	return nil
}

// sidecarFlush is how often the sidecar's buffered lines are compressed and written.
const sidecarFlush = 250 * time.Millisecond

// groupState is what the consumer's rebalance callback tells the runner (on the poll goroutine).
type groupState struct {
	mu       sync.Mutex
	assigned []string // this worker's partitions now, sorted
	seen     bool     // an assignment arrived (even an empty one)
	version  int      // bumped by every assignment and revocation
	released bool     // the start barrier passed: a rebalance now is recorded as an error
	closing  bool     // drained: rebalances at the end (workers leaving) are expected
}

func (g *groupState) snapshot() (assigned []string, seen bool, version int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.assigned), g.seen, g.version
}

// onRebalance is the consumer's OnRebalance callback.
func (r *runner) onRebalance(rb consume.Rebalance) {
	g := &r.grp
	g.mu.Lock()
	now := partitionNames(r.consumer.Assignment())
	g.assigned, g.seen = now, true
	g.version++
	record := g.released && !g.closing
	g.mu.Unlock()
	what := "revoked"
	if rb.Assigned {
		what = "assigned"
	}
	r.log.Info("consumer group "+what, "partitions", len(rb.Partitions), "now", now)
	if rb.Err != nil {
		r.noteBackground("consume", fmt.Errorf("group %s: %w", r.group, rb.Err))
	}
	if record {
		r.noteBackground("consume", fmt.Errorf("group %s rebalanced during the run: %d partitions %s (positions committed/explicit, so nothing is skipped; some changes may arrive twice)", r.group, len(rb.Partitions), what))
	}
}

// formGroup is the start barrier (see workers.go): it returns once all n workers have a
// consistent assignment and are ready, or an error naming who is missing.
func (r *runner) formGroup(ctx context.Context) error {
	c := r.coord
	all := make([]string, 0)
	for _, tp := range r.consumer.GroupPartitions() {
		all = append(all, partitionName(*tp.Topic, tp.Partition))
	}
	deadline := time.Now().Add(groupFormTimeout)
	recorded, stable := -1, ""
	for {
		mine, seen, version := r.grp.snapshot()
		if seen && version != recorded {
			if err := c.put(ctx, phaseAssigned, int64(version), strings.Join(mine, ",")); err != nil {
				return err
			}
			recorded = version
		}
		rows, err := c.rows(ctx, phaseAssigned)
		if err != nil {
			return err
		}
		assigned := map[int][]string{}
		var key []string
		for w, row := range rows {
			if row.info == "" {
				assigned[w] = nil
			} else {
				assigned[w] = strings.Split(row.info, ",")
			}
			key = append(key, fmt.Sprintf("%d=%s", w, row.info))
		}
		slices.Sort(key)
		ok, why := groupFormed(c.n, all, assigned)
		if ok && seen && version == recorded {
			snap := strings.Join(key, ";")
			if snap == stable {
				break // the same consistent assignment twice in a row
			}
			stable = snap
		} else {
			stable = ""
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("consumer group %s did not form within %s: %s (start every worker of the run with the same --run-id; is each one's consumer running?)", r.group, groupFormTimeout, why)
		}
		if err := r.groupWait(ctx); err != nil {
			return fmt.Errorf("forming consumer group %s: %w", r.group, err)
		}
	}
	mine, _, version := r.grp.snapshot()
	if err := c.put(ctx, phaseReady, int64(version), strings.Join(mine, ",")); err != nil {
		return err
	}
	if _, err := c.waitAll(ctx, phaseReady, deadline); err != nil {
		return fmt.Errorf("consumer group %s: %w within %s", r.group, err, groupFormTimeout)
	}
	r.grp.mu.Lock()
	r.grp.released = true
	moved := r.grp.version != version
	r.grp.mu.Unlock()
	if moved {
		r.noteBackground("consume", fmt.Errorf("group %s rebalanced while the workers got ready (positions explicit, so nothing is skipped)", r.group))
	}
	r.log.Info("consumer group formed", "group", r.group, "partitions", mine, "of", len(all))
	return nil
}

// groupWait sleeps one coordination poll, failing early if a background part failed.
func (r *runner) groupWait(ctx context.Context) error {
	if msg := r.backgroundError(); msg != "" && strings.HasPrefix(msg, "Kafka consumer") {
		return errors.New(msg)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(groupPoll):
		return nil
	}
}

// drainGroup is the drain of a group worker (see workers.go): record "done", wait for the
// others' (until deadline), then consume until the resolved timestamp of every owned partition
// reaches the fence, then record "drained" and wait (bounded) for the others to drain too. It
// reports whether the fence was reached. ctx cancelled (SIGINT) cuts the waits short.
func (r *runner) drainGroup(ctx context.Context, deadline time.Time) bool {
	c := r.coord
	// The coordination queries must work after an interrupt too.
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Until(deadline)+drainedWait)
	defer cancel()
	note := func(err error) { r.noteBackground("consume", err) }
	ns, err := c.now(qctx)
	if err != nil {
		note(err)
		return false
	}
	if err := c.put(qctx, phaseDone, ns, ""); err != nil {
		note(err)
	}
	done := map[int]int64{c.worker: ns}
	if ctx.Err() == nil {
		rows, err := c.waitAll(ctx, phaseDone, deadline)
		if err != nil {
			note(fmt.Errorf("drain: %w (the fence covers the workers that finished)", err))
		}
		for w, row := range rows {
			done[w] = row.value
		}
	}
	fence := fenceOf(done)
	r.log.Info("drain fence", "fence", time.Unix(0, fence).UTC().Format(time.RFC3339Nano), "workers_done", len(done))
	reached := false
	for {
		owned, _, _ := r.grp.snapshot()
		resolved := map[string]int64{}
		for _, ps := range r.consumer.Stats().Partitions {
			resolved[partitionName(ps.Topic, ps.Partition)] = ps.LastResolved.WallNanos
		}
		behind := lagging(owned, resolved, fence)
		if len(behind) == 0 {
			reached = true
			break
		}
		if !time.Now().Before(deadline) {
			var never []string
			for _, p := range behind {
				if resolved[p] == 0 {
					never = append(never, p)
				}
			}
			r.log.Warn("drain timed out: resolved timestamps below the fence", "partitions", behind, "fence", time.Unix(0, fence).UTC().Format(time.RFC3339Nano))
			if len(never) > 0 {
				r.noteBackground("consume", fmt.Errorf("no resolved timestamp ever arrived on %s: is the changefeed created WITH resolved? the workers' drain needs it", strings.Join(never, ", ")))
			}
			break
		}
		if ctx.Err() != nil && time.Until(deadline) > r.o.InterruptDrain {
			deadline = time.Now().Add(r.o.InterruptDrain)
		}
		time.Sleep(fencePoll)
	}
	r.grp.mu.Lock()
	r.grp.closing = true
	r.grp.mu.Unlock()
	var v int64
	if reached {
		v = 1
	}
	if err := c.put(qctx, phaseDrained, v, ""); err != nil {
		note(err)
	}
	if ctx.Err() == nil {
		// Stay in the group until every worker has drained: leaving moves partitions.
		// The others' drains end by about the same deadline as this one.
		until := time.Now().Add(drainedWait)
		if d := deadline.Add(5 * time.Second); d.After(until) {
			until = d
		}
		if _, err := c.waitAll(ctx, phaseDrained, until); err != nil {
			r.log.Warn("leaving the group before every worker drained", "err", err)
		}
	}
	return reached
}

// writeSidecar appends this worker's outstanding writes (A lines) to the sidecar and closes it.
func (r *runner) writeSidecar() error {
	if r.sidecar == nil {
		return nil
	}
	r.ledger.EachOutstanding(r.sidecar.Acked)
	err := r.sidecar.Close()
	r.sidecar = nil
	return err
}

// partitionNames names tps "topic[p]", sorted.
func partitionNames(tps []kafka.TopicPartition) []string {
	out := make([]string, 0, len(tps))
	for _, tp := range tps {
		out = append(out, partitionName(*tp.Topic, tp.Partition))
	}
	slices.Sort(out)
	return out
}
