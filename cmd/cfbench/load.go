package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/cfbench/cfbench/bench"
	"github.com/cfbench/cfbench/load"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newLoadCmd) }

func newLoadCmd() *cobra.Command {
	var db dbFlags
	var (
		opts     load.Options
		arrivals string
		mix      string
		out      string
	)
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Run movr writes at an open-loop rate and print latency per op, like cockroach workload run",
		Long: `load runs movr's write mix (addUser, addVehicle, startRide, endRide, applyPromoCode,
createPromoCode, updateLocation; optionally readVehicles) against the database prepared by
` + "`cfbench init`" + `, alone, without a changefeed.

Ops start at their intended times (--rate ops/s, constant or Poisson arrivals, a linear --ramp)
whether or not the database keeps up: latency is measured from the intended start, so a slow
database shows as latency and schedule lag instead of a lower rate (no coordinated omission).
--rate 0 runs a closed loop, each connection as fast as it can.

Every second it prints, per op, the errors so far, ops/s in the second and cumulative, and
p50/p95/p99/max latency in ms; at the end, totals (ramp left out), service times, schedule lag
and errors by SQLSTATE class. Serialization failures (40001) and deadlocks (40P01) are retried
with exponential backoff and jitter.

Examples:
  cfbench load --rate 500 --concurrency 16 --duration 1m
  cfbench load --rate 0 --max-ops 100000 --mix default,readVehicles=0.5
  cfbench load --rate 2000 --arrivals poisson --ramp 10s --duration 2m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if opts.Arrivals, err = load.ParseArrivals(arrivals); err != nil {
				return &exitError{code: exitUsage, msg: "--arrivals: " + err.Error(), err: err}
			}
			if opts.Mix, err = load.ParseMix(mix); err != nil {
				return &exitError{code: exitUsage, msg: "--mix: " + err.Error(), err: err}
			}
			if opts.MaxRetries == 0 {
				opts.MaxRetries = -1 // load.Options reads 0 as its default
			}
			if opts.Concurrency < 1 {
				return &exitError{code: exitUsage, msg: fmt.Sprintf("--concurrency %d: want at least 1", opts.Concurrency)}
			}
			if opts.Rate < 0 {
				return &exitError{code: exitUsage, msg: fmt.Sprintf("--rate %v: want ops/s >= 0", opts.Rate)}
			}
			if opts.Ramp > 0 && opts.Rate == 0 {
				return &exitError{code: exitUsage, msg: "--ramp needs --rate above 0"}
			}
			u, err := db.resolve()
			if err != nil {
				return err
			}
			pool, err := load.Connect(cmd.Context(), u, opts.Concurrency)
			if err != nil {
				return err
			}
			defer pool.Close()
			p := load.NewPrinter(cmd.OutOrStdout())
			opts.OnInterval = p.Tick
			started := time.Now()
			st, err := load.Run(cmd.Context(), pool, opts)
			if st != nil {
				p.Summary(st)
			}
			if out != "" && st != nil {
				res := bench.LoadResult(bench.Standalone{
					Command: "load", Started: started, Ended: time.Now(), Interrupted: st.Interrupted,
					ToolVersion: version, GitCommit: commit(),
					Config: map[string]any{"workload": map[string]any{
						"rate": opts.Rate, "concurrency": opts.Concurrency, "duration": opts.Duration.String(),
						"max_ops": opts.MaxOps, "ramp": opts.Ramp.String(), "arrivals": arrivals, "mix": mix,
					}},
				}, st)
				if werr := bench.WriteResult(res, out); werr != nil {
					return werr
				}
				fmt.Fprintf(cmd.OutOrStdout(), "\nresult: %s\n", out)
			}
			if st != nil && st.Interrupted {
				fmt.Fprintln(cmd.ErrOrStderr(), "cfbench: load interrupted; the summary covers the run so far")
				return &exitError{code: exitInterrupted, err: err}
			}
			if err != nil {
				return fmt.Errorf("load: %w", err)
			}
			if st.Total.Count == 0 && st.Total.Errors > 0 {
				return errors.New("load: every op failed")
			}
			return nil
		},
	}
	db.register(cmd)
	f := cmd.Flags()
	f.StringVarP(&out, "out", "o", "", "write the write-side part of the result file (DESIGN.md §6) to this path, e.g. result.json")
	f.Float64Var(&opts.Rate, "rate", 0, "intended ops/s over all connections; 0 = as fast as possible (closed loop)")
	f.IntVar(&opts.Concurrency, "concurrency", 8, "connections, one worker each")
	f.DurationVar(&opts.Duration, "duration", 0, "how long to start ops, ramp included (0 = until --max-ops or interrupted)")
	f.Int64Var(&opts.MaxOps, "max-ops", 0, "stop after this many ops (0 = no limit)")
	f.DurationVar(&opts.Ramp, "ramp", 0, "grow the rate linearly from 0 over this long; left out of the totals")
	f.StringVar(&arrivals, "arrivals", "constant", "arrival process: constant or poisson")
	f.StringVar(&mix, "mix", load.DefaultMix().String(), `op weights, e.g. "addUser=0.3,startRide=0.4"; "default,readVehicles=0.5" adds to movr's mix`)
	f.Uint64Var(&opts.Seed, "seed", 0, "seed of the generated values (0 = random)")
	f.IntVar(&opts.MaxRetries, "max-retries", 10, "retries of an op after a 40001/40P01 error (0 = none)")
	return cmd
}
