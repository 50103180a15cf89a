package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/cfbench/cfbench/internal/stacktest"
	"github.com/cfbench/cfbench/load"
	"github.com/cfbench/cfbench/pgfeed"
	"github.com/cfbench/cfbench/profiles"
	"github.com/cfbench/cfbench/report"
)

// TestTwoWorkers runs workers 1/2 and 2/2 of the local profile at the same time, in one
// consumer group, and merges their results: Kafka split the partitions between them (each got
// some, none twice, together all), each worker's own writes went partly to the other, and after
// merge (sidecars reconciled) the delivery counts equal the writes acknowledged, nothing
// missing. One pgfeed, started apart as `cfbench pgfeed` would be, serves both.
func TestTwoWorkers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st := stacktest.Require(t)
	all := startSharedFeed(t, ctx, st)
	runID := fmt.Sprintf("test-two-workers-%d", time.Now().UnixNano())
	var (
		wg      sync.WaitGroup
		results [2]*report.Result
		paths   [2]string
		errs    [2]error
	)
	for i := range 2 {
		p, err := profiles.Load("local", os.Getenv)
		if err != nil {
			t.Fatal(err)
		}
		p.Workload.Warmup = 1 * time.Second
		p.Workload.Duration = 6 * time.Second
		p.Workload.Rate = 60
		p.Workload.Concurrency = 4
		p.Workload.DrainTimeout = 30 * time.Second
		out := t.TempDir()
		wg.Add(1)
		go func() {
			defer wg.Done()
			oc, err := Run(ctx, Options{
				Profile: p, OutDir: out, Worker: i + 1, Workers: 2, RunID: runID,
				Log: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})).With("worker", i+1),
			})
			if err != nil {
				errs[i] = err
				return
			}
			paths[i] = oc.Path
			results[i], errs[i] = report.ReadFile(oc.Path)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("worker %d/2: %v", i+1, err)
		}
	}
	owner := map[string]string{}
	for i, r := range results {
		d := r.Delivery
		t.Logf("worker %s partitions %v delivery %+v", r.Run.Worker, r.Run.Partitions, d)
		if r.Run.Worker != []string{"1/2", "2/2"}[i] || r.Run.Group != "cfbench-"+runID {
			t.Errorf("worker %d: result says worker %q group %q", i+1, r.Run.Worker, r.Run.Group)
		}
		if len(r.Run.Partitions) == 0 {
			t.Errorf("worker %s: no partition: the group did not spread them", r.Run.Worker)
		}
		for _, p := range r.Run.Partitions {
			if o, dup := owner[p]; dup {
				t.Errorf("%s consumed by workers %s and %s", p, o, r.Run.Worker)
			}
			owner[p] = r.Run.Worker
		}
		if d.Written < 100 || d.Missing != 0 || d.Received+d.Unreconciled != d.Written {
			t.Errorf("worker %s: written %d, received %d, unreconciled %d, missing %d: want ≥ 100 written, each received here or unreconciled",
				r.Run.Worker, d.Written, d.Received, d.Unreconciled, d.Missing)
		}
		if d.Unreconciled == 0 {
			t.Errorf("worker %s: every write landed on its own partitions: the partitions were not shared", r.Run.Worker)
		}
	}
	if len(owner) != len(all) {
		t.Errorf("the workers consumed %d partitions, the topics have %d: %v", len(owner), len(all), all)
	}
	for _, p := range all {
		if owner[p] == "" {
			t.Errorf("%s: no worker consumed it", p)
		}
	}
	merged, err := report.MergeFiles(paths[:])
	if err != nil {
		t.Fatal(err)
	}
	d := merged.Delivery
	t.Logf("merged delivery %+v", d)
	if want := results[0].Delivery.Written + results[1].Delivery.Written; d.Written != want {
		t.Errorf("merged written %d, want %d (the sum)", d.Written, want)
	}
	if d.Received != d.Written || d.Missing != 0 || d.Unreconciled != 0 {
		t.Errorf("merged: received %d of %d written, %d missing, %d unreconciled: want every acknowledged write received", d.Received, d.Written, d.Missing, d.Unreconciled)
	}
	if d.CrossWorker == 0 || !d.CrossWorkerE2EAck {
		t.Errorf("merged: %d writes matched across workers (e2e_ack across workers: %v): want some, measured (one host)", d.CrossWorker, d.CrossWorkerE2EAck)
	}
	if d.OrderViolations != 0 || d.PartitionViolations != 0 || d.ResolvedViolations != 0 || d.DecodeErrors != 0 {
		t.Errorf("merged delivery not clean: %+v", d)
	}
	for _, e := range merged.Errors {
		t.Errorf("merged result error: %+v", e)
	}
}

// TestWorkerAloneNamesTheMissing: a worker whose partner never comes gives up after the start
// barrier's timeout, before writing anything, with an error naming the missing worker.
func TestWorkerAloneNamesTheMissing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st := stacktest.Require(t)
	startSharedFeed(t, ctx, st)
	defer func(d time.Duration) { groupFormTimeout = d }(groupFormTimeout)
	groupFormTimeout = 8 * time.Second
	p, err := profiles.Load("local", os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	oc, err := Run(ctx, Options{Profile: p, OutDir: t.TempDir(), Worker: 1, Workers: 2, RunID: fmt.Sprintf("test-alone-%d", time.Now().UnixNano()),
		Log: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if !errors.Is(err, ErrPreflight) || !strings.Contains(err.Error(), "no assignment yet from worker 2/2") {
		t.Fatalf("worker 1/2 alone: %v, want a preflight error naming worker 2/2", err)
	}
	if oc != nil && oc.Result != nil {
		t.Error("a result was written, though nothing was measured")
	}
	if took := time.Since(began); took > time.Minute {
		t.Errorf("gave up after %s, want about the barrier's timeout", took)
	}
}

// startSharedFeed runs the one pgfeed both workers share (as `cfbench pgfeed` would) until the
// test ends, waits until it has created the topics, and returns their partitions, "topic[p]".
func startSharedFeed(t *testing.T, ctx context.Context, st stacktest.Stack) []string {
	t.Helper()
	p, err := profiles.Load("local", os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := NewPlan(p)
	if err != nil {
		t.Fatal(err)
	}
	// The feed needs the movr tables; the workers create them too, idempotently.
	pool, err := load.Connect(ctx, p.Database.ConnString(), 2)
	if err != nil {
		t.Fatal(err)
	}
	_, err = load.Init(ctx, pool, load.InitOptions{UsersPerCity: p.Workload.Seed.Users, VehiclesPerCity: p.Workload.Seed.Vehicles, RidesPerCity: p.Workload.Seed.Rides})
	pool.Close()
	if err != nil {
		t.Fatalf("creating the movr schema: %v", err)
	}
	feed, err := pgfeed.New(pgfeed.Config{
		Source: p.Database.ConnString(), Tables: plan.Tables, Sink: plan.Sink.String(), With: plan.With,
		Name: fmt.Sprintf("cfbench_workers_%d", time.Now().UnixNano()%1_000_000), TokenAudience: p.Changefeed.Sink.Audience,
		TopicPartitions: defaultTopicPartitions,
		Logger:          slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	fctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- feed.Run(fctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("pgfeed: %v", err)
		}
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := feed.Cleanup(cctx); err != nil {
			t.Errorf("pgfeed cleanup: %v", err)
		}
	})
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": st.KafkaAdminBrokers})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		md, err := admin.GetMetadata(nil, true, 2000)
		ready := err == nil
		for _, topic := range plan.Topics {
			if ready {
				tm, ok := md.Topics[topic]
				ready = ok && len(tm.Partitions) > 0
			}
		}
		if ready {
			// The slot exists before the topics are created; give the feed a moment to
			// start streaming.
			time.Sleep(500 * time.Millisecond)
			var all []string
			for _, topic := range plan.Topics {
				for _, p := range md.Topics[topic].Partitions {
					all = append(all, partitionName(topic, p.ID))
				}
			}
			return all
		}
		select {
		case err := <-done:
			t.Fatalf("pgfeed stopped: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the shared pgfeed created no topics %v within 30 s", plan.Topics)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
