package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/cfbench/cfbench/internal/stacktest"
	"github.com/cfbench/cfbench/pgfeed"
	"github.com/cfbench/cfbench/profiles"
	"github.com/cfbench/cfbench/report"
)

// TestTwoWorkers runs workers 1/2 and 2/2 of the local profile at the same time and merges
// their results: the merged delivery counts equal the writes acknowledged, nothing missing.
// One pgfeed, started apart as `cfbench pgfeed` would be, serves both.
func TestTwoWorkers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st := stacktest.Require(t)
	startSharedFeed(t, ctx, st)
	var (
		wg      sync.WaitGroup
		results [2]*report.Result
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
				Profile: p, OutDir: out, Worker: i + 1, Workers: 2,
				Log: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})).With("worker", i+1),
			})
			if err != nil {
				errs[i] = err
				return
			}
			results[i], errs[i] = report.ReadFile(oc.Path)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("worker %d/2: %v", i+1, err)
		}
	}
	for i, r := range results {
		d := r.Delivery
		t.Logf("worker %s delivery %+v", r.Run.Worker, d)
		if r.Run.Worker != []string{"1/2", "2/2"}[i] {
			t.Errorf("worker %d: result says worker %q", i+1, r.Run.Worker)
		}
		if d.Written < 100 || d.Missing != 0 || d.Received != d.Written {
			t.Errorf("worker %s: written %d, received %d, missing %d: want ≥ 100 written, all received", r.Run.Worker, d.Written, d.Received, d.Missing)
		}
	}
	merged, err := report.Merge(results[:])
	if err != nil {
		t.Fatal(err)
	}
	d := merged.Delivery
	t.Logf("merged delivery %+v", d)
	if want := results[0].Delivery.Written + results[1].Delivery.Written; d.Written != want {
		t.Errorf("merged written %d, want %d (the sum)", d.Written, want)
	}
	if d.Received != d.Written || d.Missing != 0 {
		t.Errorf("merged: received %d of %d written, %d missing: want every acknowledged write received", d.Received, d.Written, d.Missing)
	}
	if d.OrderViolations != 0 || d.PartitionViolations != 0 || d.ResolvedViolations != 0 || d.DecodeErrors != 0 {
		t.Errorf("merged delivery not clean: %+v", d)
	}
}

// startSharedFeed runs the one pgfeed both workers share (as `cfbench pgfeed` would) until the
// test ends, and waits until it has created the topics.
func startSharedFeed(t *testing.T, ctx context.Context, st stacktest.Stack) {
	t.Helper()
	p, err := profiles.Load("local", os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := NewPlan(p)
	if err != nil {
		t.Fatal(err)
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
			return
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
