package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/cfbench/cfbench/bench"
	"github.com/cfbench/cfbench/profiles"
	"github.com/cfbench/cfbench/report"
)

func init() { subcommands = append(subcommands, newRunCmd) }

// runFlags are the profile fields `cfbench run` lets a flag override.
type runFlags struct {
	profile     string
	out         string
	quiet       bool
	duration    time.Duration
	warmup      time.Duration
	rate        float64
	concurrency int
	worker      string
	runID       string
	logLevel    string
	showSQL     bool
	tokenLife   time.Duration
	metricsAddr string
	metricsAny  bool
	matrix      bool
}

func newRunCmd() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run --profile NAME|PATH",
		Short: "Run one benchmark: load → changefeed → Kafka → OAUTHBEARER consumer, then write result.json",
		Long: `Run one benchmark of a profile end to end.

Phases: preflight (database, IdP token, Kafka accepts the token, topics) → consumer assigned →
changefeed started (pgfeed in-process for the local profile; CREATE CHANGEFEED on CockroachDB) →
warm-up (reported apart) → measurement → drain (writes stop; wait until every acknowledged write
has been consumed, or the drain timeout) → teardown (a changefeed cfbench created is cancelled).

With --worker i/n (n > 1) the n workers split the writes by city and join one consumer group
(--run-id, the same for all); they wait for each other before writing, and each drains until
the resolved timestamps of the partitions it owns pass the moment the last worker stopped
writing. Each also writes <out>/verify.tsv.gz, which cfbench merge needs to settle delivery
across workers.

The result goes to <out>/result.json (default results/<profile>-<UTC time>/), with the run's log
in <out>/run.log; the summary is printed at the end. Ctrl-C stops the writes, drains briefly,
writes the partial result marked interrupted and exits 130 (a second Ctrl-C exits at once).

Exit codes: 0 ok, 1 failure, 2 bad usage or profile, 3 delivery verification failed (events
missing or a guarantee violated; the result is written), 4 preflight failed (the database, IdP,
Kafka or changefeed check failed; nothing was measured), 130 interrupted.

Examples:
  eval "$(deploy/local/stack env)"; cfbench run --profile local
  cfbench run --profile local --duration 30s --rate 500 --out results/rate500
  CFBENCH_CLIENT_SECRET=… cfbench run --profile okta-staging --show-sql
  cfbench profiles   # the embedded profiles`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBench(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.profile, "profile", "p", "", "profile: an embedded example's name (see `cfbench profiles`) or a YAML file (required)")
	fl.StringVarP(&f.out, "out", "o", "", "directory for result.json and run.log (default results/<profile>-<UTC time>)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print no live progress, only the summary")
	fl.DurationVar(&f.duration, "duration", 0, "measured phase, overrides workload.duration (e.g. 60s)")
	fl.DurationVar(&f.warmup, "warmup", -1, "warm-up before measuring, overrides workload.warmup (0 for none)")
	fl.Float64Var(&f.rate, "rate", -1, "intended write rate in ops/s, overrides workload.rate (0 = as fast as possible)")
	fl.IntVar(&f.concurrency, "concurrency", 0, "workers (database connections), overrides workload.concurrency")
	fl.StringVar(&f.worker, "worker", "1/1", "this worker's place among n workers, i/n: writes are split by city, all n join one consumer group (see --run-id) and share one changefeed (mode existing, or one separately started cfbench pgfeed in mode pgfeed)")
	fl.StringVar(&f.runID, "run-id", "", "with --worker i/n, n > 1: the id every worker of the run shares (names the consumer group cfbench-<id> and the workers' rows in cfbench_workers); default $CFBENCH_RUN_ID, else kafka.group_id")
	fl.StringVar(&f.logLevel, "log-level", "info", "run.log level: debug, info, warn or error")
	fl.DurationVar(&f.tokenLife, "max-token-lifetime", 0, "treat consumer tokens as expiring after at most this long, so refreshes happen more often than the IdP's TTL (e.g. 10s)")
	fl.BoolVar(&f.matrix, "matrix", false, "run every variant of the profile's matrix, interleaved across workload.repetitions, then compare them")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "serve live Prometheus metrics at http://ADDR/metrics during the run, e.g. 127.0.0.1:9464 (loopback only unless --metrics-allow-remote)")
	fl.BoolVar(&f.metricsAny, "metrics-allow-remote", false, "let --metrics-addr listen on a non-loopback address (e.g. :9464 in a Kubernetes pod)")
	fl.BoolVar(&f.showSQL, "show-sql", false, "print the changefeed statements (secrets redacted) and exit")
	_ = cmd.MarkFlagRequired("profile")
	return cmd
}

func runBench(cmd *cobra.Command, f runFlags) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	p, err := profiles.Load(f.profile, os.Getenv)
	if err != nil {
		return &exitError{code: exitUsage, msg: err.Error(), err: err}
	}
	if err := applyRunFlags(p, f); err != nil {
		return &exitError{code: exitUsage, msg: err.Error(), err: err}
	}
	worker, workers, err := parseWorker(f.worker)
	if err != nil {
		return &exitError{code: exitUsage, msg: err.Error(), err: err}
	}
	if f.showSQL {
		plan, err := bench.NewPlan(p)
		if err != nil {
			return &exitError{code: exitUsage, msg: err.Error(), err: err}
		}
		if s := plan.SQL(); s != "" {
			fmt.Fprint(stdout, s)
		} else {
			fmt.Fprintf(stdout, "-- changefeed.mode %s runs no changefeed statement; WITH %s\n", p.Changefeed.Mode, plan.With)
		}
		return nil
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return &exitError{code: exitUsage, msg: fmt.Sprintf("--log-level %q: want debug, info, warn or error", f.logLevel)}
	}
	live, err := startMetrics(cmd, f, p.Name)
	if err != nil {
		return err
	}
	out := f.out
	if out == "" {
		out = filepath.Join("results", p.Name+"-"+time.Now().UTC().Format("20060102T150405Z"))
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("--out %s: %w", out, err)
	}
	logFile, err := os.OpenFile(filepath.Join(out, "run.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("--out %s: %w", out, err)
	}
	defer logFile.Close()
	// The log file gets everything at --log-level; the terminal only warnings and errors.
	log := slog.New(teeHandler{
		slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: level}),
		terminalHandler{slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})},
	})
	var progress io.Writer
	tty := false
	if !f.quiet {
		progress = stdout
		if fd, ok := stdout.(interface{ Fd() uintptr }); ok && term.IsTerminal(int(fd.Fd())) {
			tty = true
		}
	}
	opts := bench.Options{
		Profile: p, OutDir: out, Worker: worker, Workers: workers, RunID: runIDOf(f.runID, os.Getenv),
		Progress: progress, Terminal: tty, Log: log,
		ToolVersion: version, GitCommit: commit(), MaxTokenLifetime: f.tokenLife,
		Metrics: live,
	}
	if f.matrix {
		return runMatrix(cmd, opts)
	}
	if len(p.Matrix) > 0 {
		fmt.Fprintf(stderr, "note: profile %s has a matrix; running the base profile once (add --matrix to run every variant)\n", p.Name)
	}
	fmt.Fprintf(stdout, "cfbench run: profile %s (%s), warm-up %s, measure %s, rate %s ops/s, %d workers → %s\n",
		p.Name, p.Changefeed.Mode, p.Workload.Warmup, p.Workload.Duration, rateString(p.Workload.Rate), p.Workload.Concurrency, out)
	oc, runErr := bench.Run(cmd.Context(), opts)
	if oc != nil && oc.Result != nil {
		fmt.Fprintln(stdout)
		if err := report.WriteText(stdout, oc.Result); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nresult: %s\nlog:    %s\nreport: cfbench report --format html --out %s %s\n",
			oc.Path, filepath.Join(out, "run.log"), out, oc.Path)
	}
	switch {
	case runErr == nil:
		return nil
	case errors.Is(runErr, bench.ErrInterrupted):
		if oc == nil || oc.Result == nil {
			return &exitError{code: exitInterrupted, msg: "interrupted before measuring: no result written", err: runErr}
		}
		return &exitError{code: exitInterrupted, msg: "interrupted: partial result written", err: runErr}
	case errors.Is(runErr, bench.ErrUsage):
		return &exitError{code: exitUsage, msg: runErr.Error(), err: runErr}
	case errors.Is(runErr, bench.ErrDelivery):
		return &exitError{code: exitDelivery, msg: runErr.Error(), err: runErr}
	case errors.Is(runErr, bench.ErrPreflight):
		return &exitError{code: exitPreflight, msg: runErr.Error(), err: runErr}
	}
	return runErr
}

// runMatrix runs the matrix of opts.Profile and prints the comparison of its variants.
func runMatrix(cmd *cobra.Command, opts bench.Options) error {
	stdout := cmd.OutOrStdout()
	p := opts.Profile
	if len(p.Matrix) == 0 {
		return &exitError{code: exitUsage, msg: fmt.Sprintf("--matrix: profile %s has no matrix: section", p.Name)}
	}
	runs, err := bench.RunMatrix(cmd.Context(), opts, func(i, n int, v profiles.Variant) {
		fmt.Fprintf(stdout, "\n=== run %d/%d: %s, repetition %d ===\n", i, n, v.Label, v.Repetition)
	})
	var files []string
	var results []*report.Result
	failed := 0
	for _, r := range runs {
		if r.Err != nil {
			failed++
			fmt.Fprintf(stdout, "%s rep %d: %v\n", r.Variant, r.Repetition, r.Err)
		}
		if r.Outcome != nil && r.Outcome.Result != nil {
			files = append(files, r.Outcome.Path)
			results = append(results, r.Outcome.Result)
		}
	}
	if len(results) > 0 {
		cmp, cerr := report.Compare(report.GroupByVariant(files, results), report.CompareOptions{})
		if cerr != nil {
			fmt.Fprintf(stdout, "\ncompare: %v\n", cerr)
		} else {
			fmt.Fprintln(stdout)
			if werr := cmp.WriteText(stdout); werr != nil {
				return werr
			}
		}
		fmt.Fprintf(stdout, "\nresults under %s; compare again with: cfbench compare --group-by variant %s/*/rep*/result.json\n", opts.OutDir, opts.OutDir)
	}
	switch {
	case errors.Is(err, bench.ErrInterrupted):
		return &exitError{code: exitInterrupted, msg: "interrupted: partial results written", err: err}
	case err != nil:
		return err
	case failed > 0:
		return &exitError{code: exitFailure, msg: fmt.Sprintf("%d of %d matrix runs failed", failed, len(runs))}
	}
	return nil
}

func rateString(r float64) string {
	if r == 0 {
		return "max"
	}
	return strconv.FormatFloat(r, 'g', -1, 64)
}

// applyRunFlags overrides profile fields with the flags that were given, then re-validates.
func applyRunFlags(p *profiles.Profile, f runFlags) error {
	w := &p.Workload
	if f.duration > 0 {
		w.Duration = f.duration
	}
	if f.warmup >= 0 {
		w.Warmup = f.warmup
	}
	if f.rate >= 0 {
		w.Rate = f.rate
	}
	if f.concurrency > 0 {
		w.Concurrency = f.concurrency
	}
	if f.duration < 0 {
		return fmt.Errorf("--duration %s: want a positive duration", f.duration)
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("profile %s with the flags given: %w", p.Name, err)
	}
	return nil
}

// runIDOf is the run id the workers of one run share: --run-id, else $CFBENCH_RUN_ID ("" when
// neither is set: bench falls back to kafka.group_id).
func runIDOf(flag string, getenv func(string) string) string {
	if flag != "" {
		return flag
	}
	return getenv("CFBENCH_RUN_ID")
}

func parseWorker(s string) (i, n int, err error) {
	a, b, ok := strings.Cut(s, "/")
	if ok {
		i, err = strconv.Atoi(a)
		if err == nil {
			n, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || i < 1 || n < 1 || i > n {
		return 0, 0, fmt.Errorf("--worker %q: want i/n with 1 ≤ i ≤ n, e.g. 1/3", s)
	}
	return i, n, nil
}
