package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/cfbench/cfbench/bench"
	"github.com/cfbench/cfbench/consume"
	"github.com/cfbench/cfbench/oauth"
	"github.com/cfbench/cfbench/report"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newConsumeCmd) }

// clientSecretEnv names the environment variable that may hold the OAuth client secret.
const clientSecretEnv = "CFBENCH_CLIENT_SECRET"

func newConsumeCmd() *cobra.Command {
	var (
		brokers, topicPrefix, securityProtocol, group, principal string
		out                                                      string
		topics, scopes, props                                    []string
		duration, refreshWindow, clockOffset                     time.Duration
		maxMessages                                              int64
		tokenURL, clientID, secretFile, audience, tokenCA        string
		start, startTime, startOffsets                           string
	)
	cmd := &cobra.Command{
		Use:   "consume",
		Short: "Consume changefeed topics over SASL/OAUTHBEARER and measure latency and token refreshes",
		Long: `consume reads CockroachDB changefeed topics (JSON wrapped envelope) as a Kafka consumer that
authenticates with OAuth 2.0 client credentials (SASL/OAUTHBEARER), alone, without a load or a
changefeed of its own. Every partition is assigned directly (no consumer group unless --group).

Every second it prints events/s, MB/s, e2e_commit p50/p99/max (receive time − the row's
"updated" timestamp, ms), the resolved-timestamp lag, token refreshes and errors; at the end,
the latency histograms (e2e_commit, commit_to_kafka / kafka_to_consumer split at the record
timestamp, resolved_lag, e2e_commit near vs away from a token refresh), the delivery checks
(duplicates, per-key order, key on two partitions, rows at or below a resolved timestamp,
resolved going back), malformed messages by reason, and every token refresh.

The client secret comes from --client-secret-file or the CFBENCH_CLIENT_SECRET environment
variable, never from a flag value.

Examples:
  cfbench consume --brokers 127.0.0.1:29093 --topic-prefix cf_ --duration 1m \
    --token-url http://127.0.0.1:24444/oauth2/token --client-id cfbench-consumer \
    --client-secret-file ~/.cache/cfbench/secrets/consumer-client-secret \
    --audience cfbench-kafka --scope kafka
  cfbench consume ... --topics vehicles,rides --start time --start-time 2026-01-02T03:04:05Z
  cfbench consume ... --topics vehicles --start offsets --start-offsets vehicles:0=1200,vehicles:1=980
  cfbench consume ... --security-protocol SASL_SSL -X ssl.ca.location=/etc/ca.pem -X fetch.wait.max.ms=10
  cfbench consume ... --token-url https://127.0.0.1:24446/oauth2/token --token-ca-file "$CFBENCH_TLS_CA_FILE"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			usage := func(format string, a ...any) error {
				return &exitError{code: exitUsage, msg: fmt.Sprintf(format, a...)}
			}
			if tokenURL == "" || clientID == "" {
				return usage("--token-url and --client-id are required (OAUTHBEARER tokens come from the IdP)")
			}
			secret, err := readSecret(secretFile)
			if err != nil {
				return &exitError{code: exitUsage, msg: err.Error(), err: err}
			}
			opts := []consume.Opt{
				consume.Brokers(brokers), consume.SecurityProtocol(securityProtocol), consume.GroupID(group),
				consume.Principal(principal), consume.RefreshWindow(refreshWindow), consume.ClockOffset(clockOffset),
				consume.StopAfter(duration), consume.StopAfterMessages(maxMessages),
			}
			if len(topics) > 0 {
				opts = append(opts, consume.Topics(topics...))
			}
			if topicPrefix != "" {
				opts = append(opts, consume.TopicPrefix(topicPrefix))
			}
			for _, p := range props {
				k, v, ok := strings.Cut(p, "=")
				if !ok || k == "" {
					return usage("-X %s: want key=value", p)
				}
				opts = append(opts, consume.Property(k, v))
			}
			switch start {
			case "end":
				opts = append(opts, consume.StartAtEnd())
			case "beginning":
				opts = append(opts, consume.StartAtBeginning())
			case "time":
				t, err := time.Parse(time.RFC3339Nano, startTime)
				if err != nil {
					return usage("--start-time %q: want an RFC 3339 time such as 2026-01-02T03:04:05Z", startTime)
				}
				opts = append(opts, consume.StartAtTime(t))
			case "offsets":
				m, err := consume.ParseStartOffsets(startOffsets)
				if err != nil {
					return usage("--start-offsets: %v", err)
				}
				opts = append(opts, consume.StartAtOffsets(m))
			default:
				return usage("--start %q: want end, beginning, time or offsets", start)
			}
			if (startTime != "") != (start == "time") || (startOffsets != "") != (start == "offsets") {
				return usage("--start-time goes with --start time, --start-offsets with --start offsets")
			}
			src, err := oauth.New(oauth.Config{TokenURL: tokenURL, ClientID: clientID, ClientSecret: secret, Scopes: scopes, Audience: audience, CAFile: tokenCA})
			if err != nil {
				return &exitError{code: exitUsage, msg: "token options: " + err.Error(), err: err}
			}
			table := consume.NewIntervalTable(cmd.OutOrStdout())
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			opts = append(opts, consume.Token(src), consume.OnInterval(table.Row), consume.Logger(log))

			ctx := cmd.Context()
			c, err := consume.New(ctx, opts...)
			if err != nil {
				if errors.Is(err, consume.ErrInvalidOptions) {
					return &exitError{code: exitUsage, msg: err.Error(), err: err}
				}
				return fmt.Errorf("consume: %w", err)
			}
			defer c.Close()
			fmt.Fprintf(cmd.ErrOrStderr(), "consuming %s from %s\n", strings.Join(c.Topics(), ","), brokers)
			started := time.Now()
			runErr := c.Run(ctx)
			cs := c.Stats()
			consume.WriteSummary(cmd.OutOrStdout(), cs)
			ts := src.Stats()
			res := bench.ConsumeResult(bench.Standalone{
				Command: "consume", Started: started, Ended: time.Now(), Interrupted: ctx.Err() != nil,
				ToolVersion: version, GitCommit: commit(), ClockOffset: clockOffset,
				Config: map[string]any{"kafka": map[string]any{"brokers": brokers, "topics": c.Topics(), "security_protocol": securityProtocol}},
			}, cs, &ts)
			fmt.Fprintln(cmd.OutOrStdout())
			if err := report.WriteChecks(cmd.OutOrStdout(), res); err != nil {
				return err
			}
			if out != "" {
				if err := bench.WriteResult(res, out); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "\nresult: %s\n", out)
			}
			if runErr != nil {
				return fmt.Errorf("consume: %w", runErr)
			}
			if ctx.Err() != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "cfbench: consume interrupted; the summary covers the run so far")
				return &exitError{code: exitInterrupted, err: ctx.Err()}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "out", "o", "", "write the consumer-side part of the result file (DESIGN.md §6) to this path, e.g. result.json")
	f.StringVar(&brokers, "brokers", "", "Kafka bootstrap servers, host:port[,host:port] (the SASL listener)")
	f.StringSliceVar(&topics, "topics", nil, "topics to consume, comma-separated")
	f.StringVar(&topicPrefix, "topic-prefix", "", "consume every topic whose name starts with this (CockroachDB's topic_prefix)")
	f.DurationVar(&duration, "duration", 0, "how long to consume (0 = until interrupted)")
	f.Int64Var(&maxMessages, "max-messages", 0, "stop after this many messages (0 = no limit)")
	f.StringVar(&tokenURL, "token-url", "", "the IdP's OAuth 2.0 token endpoint")
	f.StringVar(&clientID, "client-id", "", "OAuth client id")
	f.StringVar(&secretFile, "client-secret-file", "", "file holding the OAuth client secret (else $"+clientSecretEnv+")")
	f.StringVar(&audience, "audience", "", `"audience" parameter of the token request (Hydra needs it for the aud claim)`)
	f.StringVar(&tokenCA, "token-ca-file", "", "PEM file of the CAs trusted for an https --token-url, instead of the system's roots (the profile's idp.ca_file)")
	f.StringSliceVar(&scopes, "scope", nil, "OAuth scopes to request (repeat or comma-separate)")
	f.StringVar(&securityProtocol, "security-protocol", "SASL_PLAINTEXT", "SASL_PLAINTEXT or SASL_SSL (librdkafka security.protocol)")
	f.StringArrayVarP(&props, "property", "X", nil, "librdkafka property key=value, passed through verbatim (repeat)")
	f.StringVar(&start, "start", "end", "where to start: end, beginning, time (--start-time) or offsets (--start-offsets)")
	f.StringVar(&startTime, "start-time", "", "with --start time: RFC 3339 time of the first message")
	f.StringVar(&startOffsets, "start-offsets", "", "with --start offsets: topic:partition=offset,...; other partitions start at the end")
	f.StringVar(&group, "group", "", "join this consumer group instead of assigning every partition")
	f.StringVar(&principal, "principal", "", "principal name handed to librdkafka with each token (default: the token's sub)")
	f.DurationVar(&refreshWindow, "refresh-window", 2*time.Second, "e2e_commit within ± this of a token refresh counts as near the refresh")
	f.DurationVar(&clockOffset, "clock-offset", 0, "database clock minus this host's clock, added to latencies measured against database timestamps")
	return cmd
}

// readSecret returns the client secret from file, else from $CFBENCH_CLIENT_SECRET.
func readSecret(file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--client-secret-file: %w", err)
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", fmt.Errorf("--client-secret-file %s is empty", file)
		}
		return s, nil
	}
	if s := strings.TrimSpace(os.Getenv(clientSecretEnv)); s != "" {
		return s, nil
	}
	return "", errors.New("no client secret: give --client-secret-file or set " + clientSecretEnv)
}
