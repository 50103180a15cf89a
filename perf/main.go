// Command perf is cfbench's side-by-side performance harness (`make bench`). In one invocation,
// on the local stack named by `deploy/local/stack env`, it measures:
//
//  1. decode+record vs encoding/json (go test -bench in ./consume),
//  2. consuming a pre-filled topic: cfbench's consumer vs a bare confluent-kafka-go loop vs
//     Kafka's ConsumerPerformance, alternating order, several rounds,
//  3. `cfbench load --rate 0` vs pgbench (go test -bench VsPgbench in ./load),
//  4. peak RSS of the `cfbench consume` binary over 1M and 5M messages,
//  5. measurement fidelity: rows produced with updated = now − D are recorded as D,
//
// prints a table of absolute figures and ratios and writes it, with the machine description, to
// -out (bench/RESULTS.md). Pre-filled topics are produced once over the PLAINTEXT listener and
// reused while their message count matches.
//
// Example:
//
//	eval "$(deploy/local/stack env)" && go run ./perf -cfbench bin/cfbench -out bench/RESULTS.md
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "perf:", err)
		os.Exit(1)
	}
}

// options are the harness's flags.
type options struct {
	cfbench      string        // path of the cfbench binary (item 4)
	out          string        // where the Markdown table goes
	profileDir   string        // where CPU profiles go
	messages     int64         // messages in the consume topic (item 2)
	bigN         int64         // messages in the RSS topic (item 4)
	keys         int           // distinct row keys in the pre-filled topics
	rounds       int           // alternating rounds of item 2
	only         string        // comma-separated subset of items to run: decode,consume,load,rss,fidelity
	fidelity     time.Duration // production time of item 5
	fidelityRate float64       // rows/s produced in item 5
	props        propFlag      // extra librdkafka properties for cfbench's consumer
	loops        string        // comma-separated loops of item 2: bare,bare+same,cfbench,java
}

// propFlag collects repeated -X key=value flags.
type propFlag [][2]string

func (p *propFlag) String() string { return fmt.Sprint(*p) }

func (p *propFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	*p = append(*p, [2]string{k, v})
	return nil
}

func run(ctx context.Context, args []string) error {
	var o options
	fs := flag.NewFlagSet("perf", flag.ContinueOnError)
	fs.StringVar(&o.cfbench, "cfbench", "bin/cfbench", "cfbench binary for the RSS measurement")
	fs.StringVar(&o.out, "out", "bench/RESULTS.md", "Markdown file the results table is written to")
	fs.StringVar(&o.profileDir, "profile-dir", "perf/profiles", "directory for CPU profiles of the consumer and the decoder")
	fs.Int64Var(&o.messages, "messages", 1_000_000, "messages in the pre-filled consume topic (6 partitions)")
	fs.Int64Var(&o.bigN, "big-messages", 5_000_000, "messages in the second topic of the RSS comparison")
	fs.IntVar(&o.keys, "keys", 100_000, "distinct row keys (vehicles) the pre-filled topics update in turn")
	fs.IntVar(&o.rounds, "rounds", 5, "alternating rounds of the consume comparison")
	fs.StringVar(&o.only, "only", "decode,consume,load,rss,fidelity", "items to run, comma-separated")
	fs.DurationVar(&o.fidelity, "fidelity-duration", 6*time.Second, "how long item 5 produces")
	fs.Float64Var(&o.fidelityRate, "fidelity-rate", 5_000, "rows/s produced in item 5")
	fs.StringVar(&o.loops, "loops", "bare,bare+same,cfbench,java", "loops item 2 compares, comma-separated (cfbench and at least one other)")
	fs.Var(&o.props, "X", "librdkafka property key=value for cfbench's consumer in item 2 (repeat)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	env, err := stackEnv()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
		return fmt.Errorf("-profile-dir: %w", err)
	}
	want := map[string]bool{}
	for _, s := range strings.Split(o.only, ",") {
		want[strings.TrimSpace(s)] = true
	}
	started := time.Now()
	var t table
	if want["decode"] {
		log.Info("1/5 decode+record vs encoding/json")
		if err := benchDecode(ctx, o, &t); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
	}
	if want["consume"] {
		log.Info("2/5 consume vs bare loop vs ConsumerPerformance", "messages", o.messages)
		if err := benchConsume(ctx, o, env, &t, log); err != nil {
			return fmt.Errorf("consume: %w", err)
		}
	}
	if want["load"] {
		log.Info("3/5 load vs pgbench")
		if err := benchLoad(ctx, env, &t); err != nil {
			return fmt.Errorf("load: %w", err)
		}
	}
	if want["rss"] {
		log.Info("4/5 peak RSS of cfbench consume", "small", o.messages, "big", o.bigN)
		if err := benchRSS(ctx, o, env, &t, log); err != nil {
			return fmt.Errorf("rss: %w", err)
		}
	}
	if want["fidelity"] {
		log.Info("5/5 measurement fidelity")
		if err := benchFidelity(ctx, o, env, &t, log); err != nil {
			return fmt.Errorf("fidelity: %w", err)
		}
	}
	md := machine(ctx, env)
	took := time.Since(started).Round(time.Second)
	fmt.Print(t.text())
	fmt.Printf("\n(%s, %s)\n", md.oneLine(), took)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(t.markdown(md, took)), 0o644); err != nil {
			return fmt.Errorf("-out: %w", err)
		}
		log.Info("wrote", "file", o.out)
	}
	return nil
}
