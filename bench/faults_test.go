package bench

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cfbench/cfbench/internal/stacktest"
	"github.com/cfbench/cfbench/profiles"
	"github.com/cfbench/cfbench/report"
)

// The fault tests run a short `local` profile on the real stack and break one component in the
// middle of the measurement. Each asserts that the run completes, that nothing acknowledged is
// missing, and that the fault shows in the result. They stop and restart stack components, so
// they leave every component running when they end (t.Cleanup runs `stack up`).
//
// Run them alone with:
//
//	eval "$(deploy/local/stack env)"; CFBENCH_INTEGRATION=1 go test -count=1 -run TestFault ./bench/

// stackCtl runs deploy/local/stack for the stack the test was given.
type stackCtl struct {
	t      *testing.T
	script string
	env    []string
}

// newStackCtl returns a controller for the stack st. The script reads its ports from
// CFBENCH_*_PORT, which `stack env` does not export, so they are derived from the addresses the
// test was given; the Hydra token TTL the stack runs with is kept.
func newStackCtl(t *testing.T, st stacktest.Stack) *stackCtl {
	t.Helper()
	if st.StackScript == "" || st.StateDir == "" {
		t.Fatal("CFBENCH_STACK or CFBENCH_STATE_DIR is empty: eval \"$(deploy/local/stack env)\" first")
	}
	env := append(os.Environ(), "CFBENCH_STATE_DIR="+st.StateDir)
	if u, err := url.Parse(st.PGURL); err == nil && u.Port() != "" {
		env = append(env, "CFBENCH_PG_PORT="+u.Port())
	}
	if u, err := url.Parse(st.TokenURL); err == nil && u.Port() != "" {
		env = append(env, "CFBENCH_HYDRA_PORT="+u.Port())
	}
	if _, port, err := net.SplitHostPort(strings.Split(st.KafkaAdminBrokers, ",")[0]); err == nil {
		env = append(env, "CFBENCH_KAFKA_PORT="+port)
	}
	if ttl, err := os.ReadFile(filepath.Join(st.StateDir, "run", "hydra.ttl")); err == nil {
		env = append(env, "CFBENCH_TOKEN_TTL="+strings.TrimSpace(string(ttl)))
	}
	return &stackCtl{t: t, script: st.StackScript, env: env}
}

// do runs `stack args...` and returns its error with the script's output. It never uses the
// run's context: a restart must complete even when the run ends first.
func (s *stackCtl) do(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.script, args...)
	cmd.Env = s.env
	out, err := cmd.CombinedOutput()
	s.t.Logf("%s stack %s: %s", time.Now().Format("15:04:05.000"), strings.Join(args, " "), strings.TrimSpace(string(out)))
	if err != nil {
		return fmt.Errorf("stack %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// up starts components, trying up to three times: a restarted component can fail to bind its
// port when a client socket took it as its ephemeral port meanwhile (ports above 32767).
func (s *stackCtl) up(components ...string) error {
	var err error
	for range 3 {
		if err = s.do(append([]string{"up"}, components...)...); err == nil {
			return nil
		}
	}
	return err
}

// ensureUp registers a clean-up that starts components again, whatever the test did.
func (s *stackCtl) ensureUp(components ...string) {
	s.t.Cleanup(func() {
		if err := s.up(components...); err != nil {
			s.t.Errorf("leaving the stack running: %v", err)
		}
		if err := s.do("status"); err != nil {
			s.t.Errorf("stack not healthy after the test: %v", err)
		}
	})
}

// faultRun shapes one fault test's run.
type faultRun struct {
	Measure time.Duration // measured phase (after a 2 s warm-up), at 100 ops/s
	Drain   time.Duration // drain timeout; default 60 s
	// Resumes: consumption must resume before the measurement ends (events in its last 5 s).
	// Off when the component's restart may take longer than the measurement on a loaded
	// machine; the drain still has to deliver everything.
	Resumes bool
	Options Options
	Fault   func(ctx context.Context, c *Control) // the Measuring hook
}

// runFault runs the embedded local profile shortened as f says, with f.Fault as the Measuring
// hook, checks what every fault test expects (the run completes without error, nothing is
// missing) and returns the result.
func runFault(t *testing.T, f faultRun) *report.Result {
	t.Helper()
	p, err := profiles.Load("local", os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	p.Workload.Warmup = 2 * time.Second
	p.Workload.Duration = f.Measure
	p.Workload.Rate = 100
	p.Workload.DrainTimeout = cmp.Or(f.Drain, 60*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	o := f.Options
	o.Profile = p
	o.OutDir = t.TempDir()
	o.Log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	o.Hooks.Measuring = f.Fault
	began := time.Now()
	oc, err := Run(ctx, o)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	res, err := report.ReadFile(oc.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("run took %v; delivery %+v; token fetches %d failures %d refreshes %d",
		time.Since(began).Round(time.Millisecond), res.Delivery, res.Token.Fetches, res.Token.Failures, res.Token.Refreshes)
	for _, e := range res.Errors {
		t.Logf("error: %s ×%d: %s", e.Where, e.Count, e.Message)
	}
	dl := res.Delivery
	if dl.Missing != 0 {
		t.Errorf("delivery.missing = %d, want 0", dl.Missing)
	}
	if dl.Written < 1000 || dl.Received < dl.Written {
		t.Errorf("written %d, received %d: want ≥ 1000 written (100 ops/s for %v), all received", dl.Written, dl.Received, f.Measure+2*time.Second)
	}
	if oc.DrainTimedOut {
		t.Error("drain timed out")
	}
	if res.Run.Interrupted {
		t.Error("run marked interrupted")
	}
	if f.Resumes {
		var tail int64
		for _, s := range res.Series {
			if s.T >= int64(f.Measure/time.Second)-5 {
				tail += s.Events
			}
		}
		if tail == 0 {
			t.Errorf("no events in the last 5 s of the measurement: consumption did not resume\nseries: %+v", res.Series)
		}
	}
	return res
}

// sleepFor sleeps d or until ctx ends.
func sleepFor(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// spike returns the largest e2e_ack (consumer receive − the writer's acknowledgement, one
// clock) of the measurement, and the largest per-second e2e_commit maximum of the series with
// its second. e2e_ack shows an outage even when the changefeed re-stamps replayed rows.
func spike(t *testing.T, res *report.Result) (ackUS, commitUS, at int64) {
	for _, s := range res.Series {
		if s.E2EMaxUS > commitUS {
			commitUS, at = s.E2EMaxUS, s.T
		}
	}
	ackUS = res.Metrics[report.MetricE2EAck].MaxUS
	t.Logf("largest e2e_ack %d µs; largest per-second e2e_commit max %d µs at t=%d s", ackUS, commitUS, at)
	return ackUS, commitUS, at
}

// quietSeconds counts the measured seconds in which no event arrived.
func quietSeconds(res *report.Result) (n int) {
	for _, s := range res.Series {
		if s.Events == 0 {
			n++
		}
	}
	return n
}

func errorsWhere(res *report.Result, where string) (n int64) {
	for _, e := range res.Errors {
		if e.Where == where {
			n += e.Count
		}
	}
	return n
}

// TestFaultIdPDown stops Hydra for longer than a (capped) token lifetime mid-run, then starts
// it again: the consumer's refreshes fail during the outage (token failures in the result) and
// succeed after it, and consumption carries on. Hydra keeps its keys in memory, so the restarted
// IdP signs with new keys, which Kafka picks up from the JWKS (refreshed every 10 s).
func TestFaultIdPDown(t *testing.T) {
	st := stacktest.Require(t)
	sc := newStackCtl(t, st)
	sc.ensureUp("hydra")
	var downAt, upAt time.Time
	// The outage starts 1 s into the measurement and lasts 5 s (more than a capped lifetime);
	// Hydra may take 15 s to start on a loaded machine, and librdkafka retries a failed refresh
	// after 10 s, so 35 s leaves room for a successful refresh after the outage.
	res := runFault(t, faultRun{
		Measure: 35 * time.Second, Resumes: true,
		Options: Options{MaxTokenLifetime: 4 * time.Second},
		Fault: func(ctx context.Context, c *Control) {
			sleepFor(ctx, time.Second)
			downAt = time.Now()
			if err := sc.do("down", "hydra"); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(5 * time.Second)
			if err := sc.up("hydra"); err != nil {
				t.Error(err)
			}
			upAt = time.Now()
		},
	})
	if res.Token.Failures == 0 {
		t.Errorf("token.failures = 0, want ≥ 1: the IdP was down for %v with tokens capped at 4 s", upAt.Sub(downAt))
	}
	var failed, okAfter bool
	for _, e := range res.Token.Events {
		if !e.OK && !e.At.Before(downAt.Add(-time.Second)) && e.At.Before(upAt.Add(time.Second)) {
			failed = true
		}
		if e.OK && e.At.After(upAt) {
			okAfter = true
		}
	}
	if !failed {
		t.Error("no failed token event inside the outage window")
	}
	if !okAfter {
		t.Error("no successful token fetch after the IdP came back")
	}
}

// TestFaultKafkaKilled kills the broker with SIGKILL mid-run and starts it again: the
// changefeed and the consumer reconnect, the outage shows as a latency spike, and nothing
// acknowledged is lost.
func TestFaultKafkaKilled(t *testing.T) {
	st := stacktest.Require(t)
	sc := newStackCtl(t, st)
	sc.ensureUp("kafka")
	var downFor time.Duration
	// The outage is as long as the broker takes to start again: 20 s, or a minute on a loaded
	// machine (JVM start-up, log recovery, and the wait for the killed incarnation's
	// registration to expire: DUPLICATE_BROKER_REGISTRATION until broker.session.timeout.ms,
	// 9 s, has passed). So consumption may resume only in the drain, and the outage is judged
	// by e2e_ack (the drain included), the silent seconds and the consumer's errors.
	res := runFault(t, faultRun{
		Measure: 20 * time.Second, Drain: 120 * time.Second,
		Fault: func(ctx context.Context, c *Control) {
			sleepFor(ctx, time.Second)
			killed := time.Now()
			if err := sc.do("kill", "kafka"); err != nil {
				t.Error(err)
				return
			}
			if err := sc.up("kafka"); err != nil {
				t.Error(err)
			}
			downFor = time.Since(killed)
		},
	})
	t.Logf("broker down for %v", downFor.Round(time.Millisecond))
	if ack, _, _ := spike(t, res); ack < 2_000_000 {
		t.Errorf("largest e2e_ack %d µs, want ≥ 2 s: the broker outage (%v) does not show", ack, downFor)
	}
	if q := quietSeconds(res); q < 2 {
		t.Errorf("%d seconds without events, want ≥ 2 during the broker outage (%v)\nseries: %+v", q, downFor, res.Series)
	}
	var brokerErrs int64
	for _, e := range res.Errors {
		if e.Where == "consume" && strings.Contains(e.Message, "roker") {
			brokerErrs += e.Count
		}
	}
	if brokerErrs == 0 {
		t.Error("no consumer error about the broker recorded")
	}
}

// TestFaultPostgresRestarted restarts PostgreSQL mid-run: writes fail while it is down (counted
// as load errors), pgfeed's replication connection drops and the run restarts pgfeed, which
// resumes from its slot, so nothing acknowledged is lost.
func TestFaultPostgresRestarted(t *testing.T) {
	st := stacktest.Require(t)
	sc := newStackCtl(t, st)
	sc.ensureUp("postgres")
	res := runFault(t, faultRun{
		Measure: 25 * time.Second, Resumes: true,
		Fault: func(ctx context.Context, c *Control) {
			sleepFor(ctx, 2*time.Second)
			if err := sc.do("down", "postgres"); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(2 * time.Second)
			if err := sc.up("postgres"); err != nil {
				t.Error(err)
			}
		},
	})
	var seriesErrs int64
	for _, s := range res.Series {
		seriesErrs += s.Errors
	}
	if n := errorsWhere(res, "load"); n == 0 || seriesErrs == 0 {
		t.Errorf("load errors %d, series errors %d: want both > 0 while PostgreSQL was down", n, seriesErrs)
	}
	if n := errorsWhere(res, "changefeed"); n == 0 {
		t.Error("no changefeed error recorded: pgfeed's replication connection should have dropped and been restarted")
	}
}

// TestFaultPgfeedRestarted stops the in-process pgfeed mid-run as if it had crashed (no
// clean-up) and starts it again on the same slot: it resumes where its last standby status left
// the slot, so duplicates are possible and nothing is missing; the gap shows as a latency spike.
func TestFaultPgfeedRestarted(t *testing.T) {
	stacktest.Require(t)
	const gap = 4 * time.Second
	res := runFault(t, faultRun{
		Measure: 20 * time.Second, Resumes: true,
		Fault: func(ctx context.Context, c *Control) {
			sleepFor(ctx, 3*time.Second)
			if err := c.StopChangefeed(); err != nil {
				t.Error(err)
				return
			}
			sleepFor(ctx, gap)
			if err := c.StartChangefeed(); err != nil {
				t.Error(err)
			}
		},
	})
	t.Logf("duplicates %d unexpected %d", res.Delivery.Duplicates, res.Delivery.Unexpected)
	// The feed stopped as a crash would, so what it had not confirmed is replayed; the same Feed
	// gives the replays the timestamps they had: duplicates, never changes nobody wrote.
	if res.Delivery.Unexpected != 0 {
		t.Errorf("delivery.unexpected = %d, want 0: pgfeed's replays must keep their updated timestamps (counted as duplicates)", res.Delivery.Unexpected)
	}
	// Rows committed during the gap keep their commit times too, so e2e_commit shows the gap
	// as well as e2e_ack.
	ack, commit, _ := spike(t, res)
	if ack < int64(gap/time.Microsecond)/2 {
		t.Errorf("largest e2e_ack = %d µs, want ≥ %v: the %v pgfeed gap does not show", ack, gap/2, gap)
	}
	if commit < int64(gap/time.Microsecond)/2 {
		t.Errorf("largest per-second e2e_commit max = %d µs, want ≥ %v: the %v pgfeed gap does not show", commit, gap/2, gap)
	}
	if q := quietSeconds(res); q < 2 {
		t.Errorf("%d seconds without events, want ≥ 2 during the %v gap\nseries: %+v", q, gap, res.Series)
	}
}
