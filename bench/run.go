package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/oauth2"

	"github.com/cfbench/cfbench/changefeed"
	"github.com/cfbench/cfbench/consume"
	"github.com/cfbench/cfbench/load"
	"github.com/cfbench/cfbench/metrics"
	"github.com/cfbench/cfbench/oauth"
	"github.com/cfbench/cfbench/pgfeed"
	"github.com/cfbench/cfbench/profiles"
	"github.com/cfbench/cfbench/report"
)

// Errors Run returns (wrapped) so the command can pick its exit code.
var (
	// ErrInterrupted: the context was cancelled (SIGINT) during the run; a partial result,
	// marked interrupted, was written.
	ErrInterrupted = errors.New("run interrupted")
	// ErrDelivery: the run completed but delivery verification failed (missing events or a
	// violated guarantee); the result was written.
	ErrDelivery = errors.New("delivery verification failed")
	// ErrUsage: the options or the profile do not make a run (e.g. several workers with a
	// changefeed each); nothing was started.
	ErrUsage = errors.New("invalid run")
	// ErrPreflight: the run never started measuring: a database, IdP, Kafka or changefeed check
	// failed. No result is written.
	ErrPreflight = errors.New("preflight failed")
)

// Options configure one run. Profile is required; the rest have defaults.
type Options struct {
	Profile *profiles.Profile
	// OutDir receives result.json; created if missing. Default results/<profile>-<UTC time>.
	OutDir string
	// Worker and Workers identify this worker ("i/n"); default 1/1.
	Worker, Workers int
	// RunID is shared by the n workers of one run (n > 1): it names their consumer group
	// ("cfbench-<RunID>", unless kafka.group_id is set) and their rows in the coordination
	// table (see workers.go). Default: kafka.group_id; required with n > 1.
	RunID string
	// Variant and Repetition label a matrix run in the result.
	Variant    string
	Repetition int
	// Progress receives the live per-second table; nil prints nothing. Terminal adds a progress
	// bar redrawn in place (for a TTY).
	Progress io.Writer
	Terminal bool
	// Log receives diagnostics (phases, warnings); nil discards them.
	Log *slog.Logger
	// ToolVersion and GitCommit are recorded in the result.
	ToolVersion, GitCommit string
	// InterruptDrain bounds the drain after an interrupt; default 5s.
	InterruptDrain time.Duration
	// MaxTokenLifetime, when > 0, makes the consumer treat each token as expiring after at most
	// this long, so librdkafka refreshes (at 80% of it) more often than the IdP's TTL requires:
	// a way to measure refresh cost in a short run. 0 uses the IdP's expiry.
	MaxTokenLifetime time.Duration
	// Hooks inject faults at known points (tests).
	Hooks Hooks
	// Metrics, when set, receives the run's live figures once a second (Prometheus exposition;
	// see package metrics); nil records nothing.
	Metrics *metrics.Run
}

// Outcome is what Run produced: the result (nil when the run never measured) and where it
// was written.
type Outcome struct {
	Result *report.Result
	Path   string
	Plan   *Plan
	// DrainTimedOut is set when the drain timeout passed with ledger entries outstanding.
	DrainTimedOut bool
}

// defaultTopicPartitions is the partition count pgfeed gives the topics it creates locally.
const defaultTopicPartitions = 6

// Run executes one benchmark run of o.Profile: preflight (database, IdP token, Kafka accepts the
// token, topics) → consumer assigned → changefeed started (pgfeed in-process for mode pgfeed) →
// warm-up → measurement → drain → teardown, then writes <OutDir>/result.json.
//
// Cancelling ctx (SIGINT) stops the writes, drains for at most InterruptDrain, writes the partial
// result marked interrupted, cancels a changefeed cfbench created, and returns ErrInterrupted.
// A completed run whose verification failed returns ErrDelivery with the result written.
func Run(ctx context.Context, o Options) (*Outcome, error) {
	r, err := newRunner(o)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	return r.run(ctx)
}

type runner struct {
	o    Options
	p    *profiles.Profile
	log  *slog.Logger
	plan *Plan
	out  Outcome

	pool       *pgxpool.Pool
	dialect    load.Dialect
	tokens     *oauth.Source
	clock      changefeed.ClockOffset
	clockEnd   *changefeed.ClockOffset // probed again after the drain; nil if that failed
	ledger     *load.Ledger
	consumer   *consume.Consumer
	feed       *pgfeed.Feed
	feedCfg    pgfeed.Config
	feedMu     sync.Mutex
	feedCancel context.CancelCauseFunc
	feedDone   chan struct{}
	jobID      int64 // changefeed job cfbench created (mode create); 0 otherwise

	// Group runs (Workers > 1, see workers.go).
	group   string                // the consumer group
	coord   *coord                // the coordination table
	grp     groupState            // the assignment, from the rebalance callback
	sidecar *report.SidecarWriter // verify.tsv.gz: foreign rows, then unreconciled writes

	// background work: consumer and pgfeed run on their own context, so an interrupt stops the
	// writes at once but lets the drain still receive what was written.
	bgCtx    context.Context
	bgCancel context.CancelFunc
	bg       sync.WaitGroup
	bgMu     sync.Mutex
	bgErrs   []report.ErrorCount

	progress  *progress
	intervals chan consume.Interval // poll goroutine → report
	reported  chan struct{}         // closed when report has returned
	started   time.Time

	// Phase boundaries and snapshots, written by the load's interval callback.
	measureStart atomic.Pointer[time.Time]
	measureEnd   time.Time // when the writes stopped
	warmLoad     *loadSnapshot
	warmConsume  *consume.Stats
	lastLoad     atomic.Pointer[load.Stats]
	lastWrites   atomic.Int64
	loadSeries   []load.Second
	loadStart    time.Time
	loadIntended float64
}

func newRunner(o Options) (*runner, error) {
	if o.Profile == nil {
		return nil, errors.New("bench: no profile")
	}
	if err := o.Profile.Validate(); err != nil {
		return nil, err
	}
	if o.Worker == 0 {
		o.Worker, o.Workers = 1, 1
	}
	if o.Worker < 1 || o.Workers < 1 || o.Worker > o.Workers {
		return nil, fmt.Errorf("worker %d/%d: want i/n with 1 ≤ i ≤ n", o.Worker, o.Workers)
	}
	if o.RunID == "" {
		o.RunID = o.Profile.Kafka.GroupID
	}
	if err := checkWorkers(o.Worker, o.Workers, o.RunID, o.Profile.Changefeed.Mode, o.Profile.Changefeed.Options.Resolved); err != nil {
		return nil, err
	}
	if o.InterruptDrain <= 0 {
		o.InterruptDrain = 5 * time.Second
	}
	if o.OutDir == "" {
		o.OutDir = filepath.Join("results", o.Profile.Name+"-"+time.Now().UTC().Format("20060102T150405Z"))
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	plan, err := NewPlan(o.Profile)
	if err != nil {
		return nil, err
	}
	return &runner{o: o, p: o.Profile, log: log, plan: plan, out: Outcome{Plan: plan}}, nil
}

func (r *runner) run(ctx context.Context) (*Outcome, error) {
	r.started = time.Now()
	r.progress = newProgress(r.o.Progress, r.o.Terminal, r.p.Workload.Warmup, r.p.Workload.Duration)
	r.intervals, r.reported = make(chan consume.Interval, 16), make(chan struct{})
	go r.report()
	defer func() { close(r.intervals); <-r.reported; r.progress.finish() }()
	r.bgCtx, r.bgCancel = context.WithCancel(context.WithoutCancel(ctx))
	defer r.bgCancel()
	defer r.teardown()

	if err := r.preflight(ctx); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w before measuring: %w", ErrInterrupted, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrPreflight, err)
	}

	loadStats, loadErr := r.runLoad(ctx)
	r.measureEnd = time.Now()
	interrupted := ctx.Err() != nil
	drain := r.p.Workload.DrainTimeout
	if interrupted {
		drain = min(drain, r.o.InterruptDrain)
	}
	r.phase("drain", "outstanding", r.ledger.Outstanding(), "timeout", drain)
	r.callHook(r.o.Hooks.Draining)
	if r.coord != nil {
		r.out.DrainTimedOut = !r.drainGroup(ctx, time.Now().Add(drain))
	} else {
		r.out.DrainTimedOut = !r.drain(ctx, drain)
	}
	interrupted = interrupted || ctx.Err() != nil
	if r.coord == nil {
		for _, e := range r.ledger.Missing(10) {
			r.log.Warn("missing: acknowledged write never consumed", "table", e.Table, "key", e.Key, "ack", e.Ack.UTC().Format(time.RFC3339Nano))
		}
	}
	r.probeClockAgain(ctx)
	r.bgCancel()
	r.bg.Wait()
	if err := r.writeSidecar(); err != nil {
		r.noteBackground("consume", err)
	}
	r.o.Metrics.SetPhase("done")

	res := r.result(loadStats, interrupted)
	if loadErr != nil && !interrupted {
		res.Errors = append(res.Errors, report.ErrorCount{At: time.Now(), Where: "load", Count: 1, Message: loadErr.Error()})
	}
	if err := os.MkdirAll(r.o.OutDir, 0o755); err != nil {
		return &r.out, fmt.Errorf("creating --out directory: %w", err)
	}
	r.out.Result = res
	r.out.Path = filepath.Join(r.o.OutDir, "result.json")
	if err := res.WriteFile(r.out.Path); err != nil {
		return &r.out, fmt.Errorf("writing the result: %w", err)
	}
	switch {
	case interrupted:
		return &r.out, ErrInterrupted
	case loadErr != nil:
		return &r.out, fmt.Errorf("load: %w", loadErr)
	case !res.Delivery.Passed():
		return &r.out, fmt.Errorf("%w: %s", ErrDelivery, deliverySummary(res.Delivery))
	}
	return &r.out, nil
}

func deliverySummary(d report.Delivery) string {
	var parts []string
	add := func(n int64, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(d.Missing, "missing")
	add(d.OrderViolations, "per-key order violations")
	add(d.PartitionViolations, "keys on two partitions")
	add(d.ResolvedViolations, "rows at or below a resolved timestamp")
	add(d.DecodeErrors, "undecodable messages")
	return strings.Join(parts, ", ")
}

func (r *runner) phase(name string, args ...any) {
	r.o.Metrics.SetPhase(name)
	r.log.Info("phase "+name, args...)
	if r.progress != nil {
		r.progress.phase(name)
	}
}

// preflight checks every external part and starts the consumer and the changefeed. Errors name
// the part and what to do.
func (r *runner) preflight(ctx context.Context) error {
	p := r.p
	r.o.Metrics.SetPhase("preflight")
	r.log.Info("phase preflight", "profile", p.Name)
	// Database.
	var err error
	r.pool, err = load.Connect(ctx, p.Database.ConnString(), p.Workload.Concurrency+4)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("database: %w: is the database running, and are database.url's host and port right?", err)
		}
		return fmt.Errorf("database: %w", err)
	}
	d, version, err := load.DetectDialect(ctx, r.pool)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	r.dialect = d
	r.log.Info("database", "version", version)
	switch {
	case p.Changefeed.Mode == profiles.ModePgfeed && d != load.PostgreSQL:
		return fmt.Errorf("database: changefeed.mode pgfeed needs PostgreSQL, but the database is %s: use mode create", version)
	case p.Changefeed.Mode != profiles.ModePgfeed && d == load.PostgreSQL:
		return fmt.Errorf("database: changefeed.mode %s needs CockroachDB, but the database is PostgreSQL: use mode pgfeed", p.Changefeed.Mode)
	}

	// IdP: one token now, so a refusal is reported before anything starts.
	r.tokens, err = oauth.New(oauth.Config{
		TokenURL:     p.IdP.TokenURL,
		ClientID:     p.IdP.ClientID,
		ClientSecret: p.IdP.ClientSecret.Reveal(),
		Scopes:       p.IdP.Scopes,
		Audience:     p.IdP.Audience,
		AuthStyle:    authStyle(p.IdP.AuthStyle),
		Timeout:      p.IdP.Timeout,
		CAFile:       p.IdP.CAFile,
	})
	if err != nil {
		return fmt.Errorf("idp: %w", err)
	}
	if _, err := r.tokens.Fetch(ctx); err != nil {
		return fmt.Errorf("idp: %w", withCAFix(err, "idp.ca_file", "the IdP's certificate"))
	}

	// Schema and seed rows, then the clock offset.
	if _, err := load.Init(ctx, r.pool, load.InitOptions{
		UsersPerCity: p.Workload.Seed.Users, VehiclesPerCity: p.Workload.Seed.Vehicles, RidesPerCity: p.Workload.Seed.Rides,
	}); err != nil {
		return fmt.Errorf("database: creating the movr schema: %w", err)
	}
	r.clock, err = changefeed.ProbeClock(ctx, r.pool, p.Measure.ClockSamples)
	if err != nil {
		return fmt.Errorf("database: clock offset: %w", err)
	}
	r.log.Info("clock offset", "offset", r.clock.Offset, "uncertainty", r.clock.Uncertainty, "samples", r.clock.Samples)

	// Changefeed: pgfeed in-process, or CockroachDB's.
	if err := r.startChangefeed(ctx); err != nil {
		return err
	}

	// Consumer: Kafka accepts the token and the topics exist.
	r.ledger = load.NewLedger()
	if r.p.Changefeed.Sink.TopicName != "" {
		r.ledger = load.NewKeyOnlyLedger() // one topic for every table: rows say no table
	}
	if r.o.Workers > 1 {
		if err := r.startGroup(ctx); err != nil {
			return err
		}
	}
	if err := r.startConsumer(ctx); err != nil {
		return err
	}
	if r.coord != nil {
		// Start barrier: no worker writes before every partition has its owner, positioned.
		if err := r.formGroup(ctx); err != nil {
			return err
		}
	}
	return nil
}

// tokenSource is the consumer's token source: the instrumented IdP client, with expiries capped
// at MaxTokenLifetime when set.
func (r *runner) tokenSource() consume.TokenSource {
	if r.o.MaxTokenLifetime <= 0 {
		return r.tokens
	}
	return cappedTokens{r.tokens, r.o.MaxTokenLifetime}
}

// cappedTokens shortens the expiry librdkafka sees; the token itself is unchanged.
type cappedTokens struct {
	src consume.TokenSource
	max time.Duration
}

func (c cappedTokens) Fetch(ctx context.Context) (*oauth2.Token, error) {
	t, err := c.src.Fetch(ctx)
	if err != nil {
		return nil, err
	}
	if limit := time.Now().Add(c.max); t.Expiry.IsZero() || t.Expiry.After(limit) {
		cp := *t
		cp.Expiry = limit
		t = &cp
	}
	return t, nil
}

func authStyle(s string) oauth2.AuthStyle {
	if s == profiles.AuthStyleParams {
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleInHeader
}

func (r *runner) startChangefeed(ctx context.Context) error {
	p := r.p
	switch p.Changefeed.Mode {
	case profiles.ModePgfeed:
		if r.o.Workers > 1 {
			r.log.Info("several workers: the changefeed comes from one shared pgfeed started apart (cfbench pgfeed)")
			return nil
		}
		var b [4]byte
		_, _ = rand.Read(b[:])
		r.feedCfg = pgfeed.Config{
			Source:          p.Database.ConnString(),
			Tables:          r.plan.Tables,
			Sink:            r.plan.Sink.String(),
			With:            r.plan.With,
			Name:            "cfbench_" + hex.EncodeToString(b[:]),
			TokenAudience:   p.Changefeed.Sink.Audience,
			TokenCAFile:     p.Changefeed.Sink.TokenCAFile,
			TopicPartitions: defaultTopicPartitions,
			Logger:          r.log.With("component", "pgfeed"),
		}
		if err := checkSinkTLS(ctx, p.Changefeed.Sink); err != nil {
			return err
		}
		if err := r.startFeed(); err != nil {
			return err
		}
		r.log.Info("pgfeed started", "slot", r.feed.SlotName(), "sink", r.plan.Sink.Redacted())
	case profiles.ModeCreate:
		if st := r.plan.ExternalConnection; st != nil {
			if _, err := r.pool.Exec(ctx, st.SQL); err != nil {
				return fmt.Errorf("changefeed: %s: %w", st.Display, err)
			}
		}
		var id int64
		if err := r.pool.QueryRow(ctx, r.plan.Create.SQL).Scan(&id); err != nil {
			return fmt.Errorf("changefeed: %s: %w", r.plan.Create.Display, err)
		}
		r.jobID = id
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if _, err := changefeed.WaitRunning(wctx, r.pool, id, 500*time.Millisecond); err != nil {
			return fmt.Errorf("changefeed job %d: %w", id, err)
		}
		r.log.Info("changefeed created", "job", id, "statement", r.plan.Create.Display)
	case profiles.ModeExisting:
		st, err := changefeed.Attach(ctx, r.pool, p.Changefeed.JobID)
		if err != nil {
			return fmt.Errorf("changefeed job %d: %w", p.Changefeed.JobID, err)
		}
		r.log.Info("attached to changefeed", "job", p.Changefeed.JobID, "status", st.Status)
	}
	return nil
}

// startFeed runs the in-process pgfeed in the background until the run's background context
// ends or stopFeed is called; the first call creates it from r.feedCfg. A restarted feed is the
// same pgfeed.Feed run again: it resumes from its replication slot and gives what it replays the
// timestamps it had (duplicates, as after a CockroachDB changefeed restart).
func (r *runner) startFeed() error {
	r.feedMu.Lock()
	feed := r.feed
	r.feedMu.Unlock()
	if feed == nil {
		var err error
		if feed, err = pgfeed.New(r.feedCfg); err != nil {
			return fmt.Errorf("pgfeed: %w", err)
		}
	}
	ctx, cancel := context.WithCancelCause(r.bgCtx)
	done := make(chan struct{})
	r.feedMu.Lock()
	r.feed, r.feedCancel, r.feedDone = feed, cancel, done
	r.feedMu.Unlock()
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		defer close(done)
		r.runFeed(ctx, feed)
	}()
	return nil
}

// Feed restart backoff: the first retry waits feedRetryMin, doubling up to feedRetryMax; a feed
// that streamed for feedRetryReset before failing starts again at feedRetryMin.
const (
	feedRetryMin   = 250 * time.Millisecond
	feedRetryMax   = 5 * time.Second
	feedRetryReset = 30 * time.Second
)

// runFeed runs feed until ctx ends. When Run fails (the database restarted, the replication
// connection dropped, a delivery failed), the error is recorded and the feed is started again
// after a backoff: it resumes from its replication slot, so nothing is lost (duplicates are
// possible), as CockroachDB retries a changefeed after a transient error.
func (r *runner) runFeed(ctx context.Context, feed *pgfeed.Feed) {
	wait := feedRetryMin
	for {
		began := time.Now()
		err := feed.Run(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		r.noteBackground("changefeed", fmt.Errorf("pgfeed: %w (restarting from its replication slot)", err))
		if time.Since(began) > feedRetryReset {
			wait = feedRetryMin
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, feedRetryMax)
	}
}

// hasFeed reports whether the run has an in-process pgfeed.
func (r *runner) hasFeed() bool {
	r.feedMu.Lock()
	defer r.feedMu.Unlock()
	return r.feed != nil
}

// stopFeed cancels the running pgfeed without cleaning up its slot, and waits for it to stop.
// cause nil stops it cleanly (what was produced is flushed and confirmed); pgfeed.ErrAbandoned
// stops it as a crash would.
func (r *runner) stopFeed(cause error) {
	r.feedMu.Lock()
	cancel, done := r.feedCancel, r.feedDone
	r.feedMu.Unlock()
	if cancel != nil {
		cancel(cause)
		<-done
	}
}

// startConsumer creates the consumer and assigns it. With pgfeed the topics appear once the
// feed has started, so a missing topic is retried for a few seconds.
func (r *runner) startConsumer(ctx context.Context) error {
	p := r.p
	opts := []consume.Opt{
		consume.Brokers(strings.Join(p.Kafka.Brokers, ",")),
		consume.Topics(r.plan.Topics...),
		consume.SecurityProtocol(p.Kafka.SecurityProtocol),
		consume.Token(r.tokenSource()),
		consume.Principal(p.IdP.ClientID),
		consume.ClockOffset(r.clock.Offset),
		consume.RecordTimestampOffset(r.recordClockOffset()),
		consume.RefreshWindow(p.Measure.RefreshWindow),
		consume.WithLedger(r.consumerLedger()),
		consume.TableOf(r.tableOf),
		consume.OnInterval(r.onConsumeInterval),
		consume.Logger(r.log.With("component", "consume")),
	}
	if p.Measure.Start == profiles.StartBeginning {
		opts = append(opts, consume.StartAtBeginning())
	} else {
		opts = append(opts, consume.StartAtEnd())
	}
	switch {
	case r.group != "":
		opts = append(opts, consume.GroupID(r.group), consume.OnRebalance(r.onRebalance))
	case p.Kafka.GroupID != "":
		opts = append(opts, consume.GroupID(p.Kafka.GroupID))
	}
	if p.Kafka.CAFile != "" {
		opts = append(opts, consume.Property("ssl.ca.location", p.Kafka.CAFile))
	}
	for k, v := range p.Kafka.Consumer {
		opts = append(opts, consume.Property(k, fmt.Sprint(v)))
	}
	// Waiting for a missing topic only makes sense when pgfeed creates it.
	waitForFeed := r.feed != nil && feedCreates(p, r.plan.Topics)
	deadline := time.Now().Add(30 * time.Second)
	for {
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		c, err := consume.New(sctx, opts...)
		cancel()
		if err == nil {
			r.consumer = c
			break
		}
		notFound := errors.Is(err, consume.ErrTopicNotFound)
		if !waitForFeed || !notFound || time.Now().After(deadline) || ctx.Err() != nil {
			if notFound {
				return fmt.Errorf("kafka: %w: check kafka.topics (or the changefeed's topic_prefix/topic_name) and that the changefeed writes to that topic", err)
			}
			return fmt.Errorf("kafka: %w", kafkaTLSDiagnosis(ctx, p.Kafka, err))
		}
		if bgErr := r.backgroundError(); bgErr != "" {
			return fmt.Errorf("changefeed: %s", bgErr)
		}
		time.Sleep(250 * time.Millisecond)
	}
	r.log.Info("consumer assigned", "topics", r.consumer.Topics(), "partitions", len(r.consumer.Assignment()))
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		if err := r.consumer.Run(r.bgCtx); err != nil && r.bgCtx.Err() == nil {
			r.noteBackground("consume", err)
		}
	}()
	return nil
}

// feedCreates reports whether every topic is one the in-process pgfeed writes to (and so
// creates): the topics derived from changefeed.tables and the sink's topic naming.
func feedCreates(p *profiles.Profile, topics []string) bool {
	q := *p
	q.Kafka.Topics, q.Kafka.TopicPrefix = nil, ""
	feed := q.ConsumeTopics()
	for _, t := range topics {
		if !slices.Contains(feed, t) {
			return false
		}
	}
	return true
}

// consumerLedger is what the consumer matches rows against: the run's ledger, restricted to
// this worker's cities when there are several workers.
func (r *runner) consumerLedger() consume.Ledger {
	if r.o.Workers > 1 {
		return newOwnLedger(r.ledger, workerCities(r.o.Worker, r.o.Workers), r.sidecar)
	}
	return r.ledger
}

// recordClockOffset is the offset of the clock that stamps Kafka record timestamps (CreateTime):
// pgfeed produces from this host; CockroachDB's changefeed from the database nodes.
func (r *runner) recordClockOffset() time.Duration {
	if r.p.Changefeed.Mode == profiles.ModePgfeed {
		return 0
	}
	return r.clock.Offset
}

// tableOf maps a topic to its table: the topic without the prefix; with topic_name every table
// shares one topic and the table is unknown ("").
func (r *runner) tableOf(topic string) string {
	s := r.p.Changefeed.Sink
	if s.TopicName != "" {
		return ""
	}
	prefix := r.p.Kafka.TopicPrefix
	if prefix == "" {
		prefix = s.TopicPrefix
	}
	return strings.TrimPrefix(topic, prefix)
}

// noteBackground records a background component's failure; a repeat of the same message adds
// to the first occurrence's count.
func (r *runner) noteBackground(where string, err error) {
	r.log.Error(where+" failed", "err", err)
	msg := err.Error()
	r.bgMu.Lock()
	defer r.bgMu.Unlock()
	for i := range r.bgErrs {
		if e := &r.bgErrs[i]; e.Where == where && e.Message == msg {
			e.Count++
			return
		}
	}
	r.bgErrs = append(r.bgErrs, report.ErrorCount{At: time.Now(), Where: where, Count: 1, Message: msg})
}

func (r *runner) backgroundError() string {
	r.bgMu.Lock()
	defer r.bgMu.Unlock()
	if len(r.bgErrs) == 0 {
		return ""
	}
	return r.bgErrs[len(r.bgErrs)-1].Message
}

// loadSnapshot is a copy of the cumulative load histograms at the end of the warm-up.
type loadSnapshot struct {
	at      time.Time
	ops     map[string]opSnap
	lag     *hdrhistogram.Histogram
	count   int64
	elapsed time.Duration
}

type opSnap struct {
	count, errors, retries, rows int64
	latency, service             *hdrhistogram.Histogram
}

func copyHist(h *hdrhistogram.Histogram) *hdrhistogram.Histogram {
	if h == nil {
		return nil
	}
	return hdrhistogram.Import(h.Export())
}

// runLoad runs the workload for warm-up + duration; the interval callback marks the start of
// the measurement and feeds the live table.
func (r *runner) runLoad(ctx context.Context) (*load.Stats, error) {
	p := r.p
	w := p.Workload
	mix, err := mixOf(w)
	if err != nil {
		return nil, err
	}
	arr := load.Poisson
	if w.Arrivals == profiles.ArrivalsConstant {
		arr = load.Constant
	}
	total := w.Warmup + w.Duration
	r.loadIntended = w.Rate
	if w.Warmup == 0 {
		now := time.Now()
		r.measureStart.Store(&now)
		r.warmConsume = ptr(r.consumer.Stats())
		r.callHook(r.o.Hooks.Measuring)
	}
	r.phase("warmup")
	st, err := load.Run(ctx, r.pool, load.Options{
		Rate:        w.Rate,
		Concurrency: w.Concurrency,
		Arrivals:    arr,
		Ramp:        w.Ramp,
		Duration:    total,
		MaxOps:      w.MaxOps,
		Mix:         mix,
		Ledger:      r.ledger,
		OnInterval:  r.onLoadInterval,
		Cities:      workerCities(r.o.Worker, r.o.Workers),
	})
	if st != nil {
		r.loadSeries = append([]load.Second(nil), st.Series...)
		r.loadStart = st.Start
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		err = nil // interrupted: reported as such by the caller
	}
	return st, err
}

func ptr[T any](v T) *T { return &v }

// onLoadInterval runs on the load's aggregating goroutine once a second.
func (r *runner) onLoadInterval(st *load.Stats) {
	r.o.Metrics.ObserveLoad(st)
	var writes int64
	if n := len(st.Series); n > 0 {
		writes = st.Series[n-1].Writes
	}
	r.lastWrites.Store(writes)
	r.loadStart = st.Start
	if r.measureStart.Load() == nil && st.Elapsed >= r.p.Workload.Warmup {
		now := time.Now()
		snap := &loadSnapshot{at: now, ops: map[string]opSnap{}, lag: copyHist(st.Lag), count: st.Total.Count, elapsed: st.Elapsed}
		for _, op := range st.Ops {
			snap.ops[op.Op] = opSnap{op.Count, op.Errors, op.Retries, op.Rows, copyHist(op.Latency), copyHist(op.Service)}
		}
		snap.ops[st.Total.Op] = opSnap{st.Total.Count, st.Total.Errors, st.Total.Retries, st.Total.Rows, copyHist(st.Total.Latency), copyHist(st.Total.Service)}
		r.warmLoad = snap
		r.warmConsume = ptr(r.consumer.Stats())
		r.measureStart.Store(&now)
		r.phase("measure")
		r.callHook(r.o.Hooks.Measuring)
	}
}

// onConsumeInterval runs on the consumer's poll goroutine once a second: it only hands the
// interval over, never blocking, so a slow terminal or metrics scrape cannot delay Poll and the
// receive stamps. If the reporter is behind, the row is dropped.
func (r *runner) onConsumeInterval(iv consume.Interval) {
	select {
	case r.intervals <- iv:
	default:
	}
}

// clockProbeAgainTimeout bounds the end-of-run clock probe (a database that went away must not
// hold the result up).
const clockProbeAgainTimeout = 5 * time.Second

// probeClockAgain measures the clock offset again after the drain, so the result says how far
// it moved while e2e_commit was corrected by the first probe (report.Clock.DriftUS). It runs
// even after SIGINT (briefly: ~50 round trips); a failure is logged, not fatal.
func (r *runner) probeClockAgain(ctx context.Context) {
	if r.pool == nil {
		return
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), clockProbeAgainTimeout)
	defer cancel()
	end, err := changefeed.ProbeClock(pctx, r.pool, r.p.Measure.ClockSamples)
	if err != nil {
		r.log.Warn("clock offset at the end of the run: not measured", "err", err)
		return
	}
	r.clockEnd = &end
	r.log.Info("clock offset at the end", "offset", end.Offset, "uncertainty", end.Uncertainty, "drift", end.Offset-r.clock.Offset)
}

// report prints each interval's row and feeds the metrics, off the poll goroutine, until
// intervals is closed. It warns once each time the consumer falls behind (report.LagBehind for
// report.LagCheckSeconds seconds in a row), so a user can stop a run that measures cfbench.
func (r *runner) report() {
	defer close(r.reported)
	behind, peak := 0, int64(0)
	for iv := range r.intervals {
		if iv.LagMsgs >= 0 && report.LagBehind(iv.LagMsgs, iv.Events) {
			behind++
			peak = max(peak, iv.LagMsgs)
			if behind == report.LagCheckSeconds {
				r.log.Warn("the consumer is falling behind: e2e latencies now include waiting for cfbench's own consumer (give it more CPU, or split it with --worker i/n)",
					"seconds", behind, "not_polled_msgs", iv.LagMsgs, "events_per_s", iv.Events)
			}
		} else {
			if behind >= report.LagCheckSeconds {
				r.log.Info("the consumer caught up", "behind_s", behind, "peak_not_polled_msgs", peak)
			}
			behind, peak = 0, 0
		}
		if m := r.o.Metrics; m != nil {
			m.ObserveConsume(iv)
			m.ObserveTokens(r.tokens.Stats())
			if r.o.Workers <= 1 { // with several, other workers consume some of our writes
				m.SetConsumerLag(r.ledger.Outstanding())
			}
		}
		r.progress.row(iv, r.lastWrites.Load())
	}
}

// drain waits until every ledger entry has been consumed or timeout passes; it reports whether
// the ledger emptied. When ctx is cancelled during the drain (SIGINT), at most InterruptDrain
// of it is left.
func (r *runner) drain(ctx context.Context, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	cut := ctx.Err() != nil
	for r.ledger.Outstanding() > 0 {
		if !cut && ctx.Err() != nil {
			cut = true
			if d := time.Now().Add(r.o.InterruptDrain); d.Before(deadline) {
				deadline = d
			}
			r.log.Warn("interrupted during the drain", "outstanding", r.ledger.Outstanding(), "left", time.Until(deadline).Round(time.Millisecond))
		}
		if time.Now().After(deadline) {
			r.log.Warn("drain timed out", "outstanding", r.ledger.Outstanding(), "timeout", timeout)
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// teardown stops what preflight started, in reverse order. It runs on every path out of run.
func (r *runner) teardown() {
	r.bgCancel()
	r.bg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if r.consumer != nil {
		_ = r.consumer.Close()
	}
	if r.sidecar != nil {
		_ = r.sidecar.Close()
	}
	if r.feed != nil {
		if err := r.feed.Cleanup(ctx); err != nil {
			r.log.Warn("pgfeed cleanup", "err", err)
		}
	}
	if r.jobID != 0 && r.p.Changefeed.CancelOnExit && r.pool != nil {
		if err := changefeed.Cancel(ctx, r.pool, r.jobID); err != nil {
			r.log.Warn("cancelling the changefeed", "job", r.jobID, "err", err)
		} else {
			r.log.Info("changefeed cancelled", "job", r.jobID)
		}
	}
	if r.pool != nil {
		r.pool.Close()
	}
}

// mixOf converts the profile's op weights into load's Mix.
func mixOf(w profiles.Workload) (load.Mix, error) {
	if len(w.Mix) == 0 && w.ReadVehicles == 0 {
		return load.Mix{}, nil
	}
	var parts []string
	for name, v := range w.Mix {
		parts = append(parts, fmt.Sprintf("%s=%g", name, v))
	}
	if w.ReadVehicles > 0 {
		parts = append(parts, fmt.Sprintf("readVehicles=%g", w.ReadVehicles))
	}
	m, err := load.ParseMix(strings.Join(parts, ","))
	if err != nil {
		return load.Mix{}, fmt.Errorf("workload.mix: %w", err)
	}
	return m, nil
}
