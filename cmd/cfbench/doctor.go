package main

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/cfbench/cfbench/doctor"
	"github.com/cfbench/cfbench/profiles"
)

func init() { subcommands = append(subcommands, newDoctorCmd) }

func newDoctorCmd() *cobra.Command {
	var (
		profile string
		timeout time.Duration
		verbose bool
	)
	cmd := &cobra.Command{
		Use:   "doctor --profile NAME|PATH",
		Short: "Check, step by step, everything a run of the profile needs, with the likely fix for each failure",
		Long: `Check, step by step, everything a run of the profile depends on: DNS and TCP to each Kafka
broker; a token request to the IdP (the token's claims iss, aud, scope, sub and exp are shown,
never the token); the SASL/OAUTHBEARER handshake with that token; the topics and their partition
counts; the changefeed's own credentials; database connectivity and version; on CockroachDB
kv.rangefeed.enabled, the CHANGEFEED privilege, the licence and the job of changefeed.mode
existing; on PostgreSQL wal_level and the REPLICATION attribute pgfeed needs; the clock offset
to the database.

Each step prints PASS, WARN, FAIL or SKIP, and for WARN and FAIL the likely fix. When the broker
refuses the token (librdkafka only says invalid_token), doctor compares the token's claims with
what the profile asks for to say why, e.g. "broker rejected the token: audience [] …".

Exit codes: 0 every step passed (warnings allowed), 1 a step failed, 2 bad usage or profile.

Examples:
  eval "$(deploy/local/stack env)"; cfbench doctor --profile local
  CFBENCH_CLIENT_SECRET=… cfbench doctor --profile okta-staging.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := profiles.Load(profile, os.Getenv)
			if err != nil {
				return &exitError{code: exitUsage, msg: err.Error(), err: err}
			}
			stdout := cmd.OutOrStdout()
			level := slog.LevelWarn
			if verbose {
				level = slog.LevelDebug
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			fmt.Fprintf(stdout, "cfbench doctor: profile %s (%s)\n\n", p.Name, p.Source)
			var werr error
			rep, err := doctor.Run(cmd.Context(), doctor.Options{
				Profile: p, StepTimeout: timeout, Log: log,
				OnStep: func(s doctor.Step) {
					if werr == nil {
						werr = doctor.WriteStep(stdout, s)
					}
				},
			})
			if err != nil {
				return err
			}
			if werr != nil {
				return werr
			}
			c := rep.Counts()
			fmt.Fprintf(stdout, "\n%d passed, %d warnings, %d failed, %d skipped\n", c[doctor.Pass], c[doctor.Warn], c[doctor.Fail], c[doctor.Skip])
			if !rep.OK() {
				return &exitError{code: exitFailure, msg: fmt.Sprintf("doctor: %d step(s) failed", c[doctor.Fail])}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&profile, "profile", "p", "", "profile: an embedded example's name (see `cfbench profiles`) or a YAML file (required)")
	fl.DurationVar(&timeout, "timeout", 10*time.Second, "bound on each network step (DNS+TCP, token request, SASL handshake, database connect)")
	fl.BoolVarP(&verbose, "verbose", "v", false, "log librdkafka's errors to stderr")
	_ = cmd.MarkFlagRequired("profile")
	return cmd
}
