package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/cfbench/cfbench/pgfeed"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newPgfeedCmd) }

// sinkURIEnv names the environment variable pgfeed reads the sink URI from when neither --sink
// nor --sink-file is given.
const sinkURIEnv = "CFBENCH_SINK_URI"

func newPgfeedCmd() *cobra.Command {
	var (
		source, sink, sinkFile, with, audience, tokenCA, name string
		tables                                                []string
		partitions                                            int
		cleanup, verbose                                      bool
		statsEvery                                            time.Duration
	)
	cmd := &cobra.Command{
		Use:   "pgfeed --tables T[,T…] (--sink URI | --sink-file FILE | $" + sinkURIEnv + ") [--with OPTIONS]",
		Short: "Run a local changefeed: PostgreSQL logical replication → CockroachDB's Kafka messages",
		Long: `pgfeed turns PostgreSQL logical replication into exactly the Kafka messages a CockroachDB
changefeed publishes (wrapped JSON envelope, resolved timestamps), through the same sink URI,
authenticating the same way (SASL/OAUTHBEARER with the URI's client credentials). It runs until
interrupted.

The sink URI is the one CockroachDB takes (kafka://host:port?sasl_enabled=true&…) and holds the
base64 client secret: --sink puts it into the process arguments, visible to other users of the
machine (ps); prefer --sink-file or $` + sinkURIEnv + `. Only the redacted form is ever printed.

--with takes the text of a CREATE CHANGEFEED WITH clause. resolved messages are not published
more often than min_checkpoint_frequency (30s unless set), as in CockroachDB.

pgfeed creates the publication and logical replication slot pgfeed_<name> (and switches the
tables to REPLICA IDENTITY FULL); it resumes from the slot when restarted. --cleanup drops the
slot and publication when it stops. It does no initial scan.

Example:
  export ` + sinkURIEnv + `='kafka://127.0.0.1:29093?sasl_enabled=true&sasl_mechanism=OAUTHBEARER&sasl_client_id=cfbench-producer&sasl_client_secret=…&sasl_token_url=http%3A%2F%2F127.0.0.1%3A24444%2Foauth2%2Ftoken'
  cfbench pgfeed --source "$CFBENCH_PG_URL" --tables vehicles,rides \
    --with "updated, resolved='1s', min_checkpoint_frequency='1s', diff" --token-audience cfbench-kafka`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if source == "" {
				source = os.Getenv("CFBENCH_PG_URL")
			}
			if source == "" {
				return &exitError{code: exitUsage, msg: "pgfeed: no --source (and $CFBENCH_PG_URL is empty): want a PostgreSQL URL"}
			}
			if len(tables) == 0 {
				return &exitError{code: exitUsage, msg: "pgfeed: no --tables: want a comma-separated list of tables"}
			}
			uri, err := readSinkURI(sink, sinkFile)
			if err != nil {
				return &exitError{code: exitUsage, msg: "pgfeed: " + err.Error(), err: err}
			}
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			f, err := pgfeed.New(pgfeed.Config{
				Source: source, Tables: tables, Sink: uri, With: with, Name: name,
				TokenAudience: audience, TokenCAFile: tokenCA, TopicPartitions: partitions, Logger: log,
			})
			if err != nil {
				return &exitError{code: exitUsage, msg: err.Error(), err: err}
			}
			for _, w := range f.Warnings() {
				fmt.Fprintln(cmd.ErrOrStderr(), "pgfeed: warning:", w)
			}
			return runPgfeed(cmd.Context(), f, cleanup, statsEvery, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&source, "source", "", "PostgreSQL URL (default $CFBENCH_PG_URL); the role needs REPLICATION")
	fl.StringSliceVar(&tables, "tables", nil, "tables to watch, comma-separated (name or schema.name)")
	fl.StringVar(&sink, "sink", "", "CockroachDB Kafka sink URI; visible in the process list: prefer --sink-file or $"+sinkURIEnv)
	fl.StringVar(&sinkFile, "sink-file", "", "file holding the sink URI")
	fl.StringVar(&with, "with", "", "CREATE CHANGEFEED WITH options, e.g. \"updated, resolved='1s', diff\"")
	fl.StringVar(&audience, "token-audience", "", "audience requested with every token (Hydra needs it; not part of CockroachDB's URI)")
	fl.StringVar(&tokenCA, "token-ca-file", "", "PEM file of the CAs trusted for an https sasl_token_url, instead of the system's roots (not part of CockroachDB's URI)")
	fl.StringVar(&name, "name", pgfeed.DefaultName, "feed name: slot and publication pgfeed_<name>")
	fl.IntVar(&partitions, "topic-partitions", 0, "create missing topics with this many partitions (0: they must exist or be auto-created)")
	fl.BoolVar(&cleanup, "cleanup", false, "drop the replication slot and publication when stopping")
	fl.DurationVar(&statsEvery, "stats-interval", 10*time.Second, "print progress to stderr this often (0: never)")
	fl.BoolVarP(&verbose, "verbose", "v", false, "log librdkafka and producer details")
	return cmd
}

// readSinkURI picks the sink URI from --sink, --sink-file or the environment.
func readSinkURI(flagURI, file string) (string, error) {
	switch {
	case flagURI != "" && file != "":
		return "", errors.New("give --sink or --sink-file, not both")
	case flagURI != "":
		return flagURI, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("reading --sink-file: %w", err)
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", fmt.Errorf("--sink-file %s is empty", file)
		}
		return s, nil
	case os.Getenv(sinkURIEnv) != "":
		return strings.TrimSpace(os.Getenv(sinkURIEnv)), nil
	}
	return "", errors.New("no sink URI: give --sink, --sink-file or $" + sinkURIEnv)
}

func runPgfeed(ctx context.Context, f *pgfeed.Feed, cleanup bool, every time.Duration, stdout, stderr io.Writer) error {
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	var tick <-chan time.Time
	if every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	var runErr error
loop:
	for {
		select {
		case runErr = <-done:
			break loop
		case <-tick:
			fmt.Fprintln(stderr, "pgfeed:", formatStats(f.Stats()))
		}
	}
	fmt.Fprintln(stdout, formatStats(f.Stats()))
	if cleanup {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := f.Cleanup(cctx); err != nil {
			return errors.Join(runErr, err)
		}
		fmt.Fprintln(stderr, "pgfeed: dropped slot and publication", f.SlotName())
	}
	return runErr
}

func formatStats(s pgfeed.Stats) string {
	resolved := "-"
	if !s.Resolved.IsZero() {
		resolved = s.Resolved.Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("rows %d  messages %d  resolved_messages %d  bytes %d  lag %s  resolved %s  flush_lsn %s",
		s.Rows, s.Messages, s.ResolvedMessages, s.Bytes, s.Lag.Round(time.Millisecond), resolved, s.FlushLSN)
}
