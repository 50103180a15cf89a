package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cfbench/cfbench/changefeed"
)

func init() { subcommands = append(subcommands, newChangefeedCmd) }

func newChangefeedCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "changefeed",
		Short: "Check CockroachDB changefeed sink URIs and WITH options before touching a cluster",
	}
	cmd.AddCommand(newCheckURICmd(), newCheckOptionsCmd())
	return cmd
}

func newCheckURICmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check-uri 'kafka://…' | -",
		Short: "Validate a Kafka sink URI with CockroachDB's rules; print a redacted summary",
		Long: `check-uri validates a CockroachDB Kafka sink URI with CockroachDB's own rules and error
messages (unknown parameters, sasl_* without sasl_enabled, OAuth parameters with another
mechanism, missing client id/secret/token URL, a client secret that is not base64, a malformed
token URL) and prints "ok" with a summary in which secrets are redacted. Exit code 1 when the
URI would be rejected.

The URI holds the client secret: pass "-" to read it from standard input, which keeps it out of
the process list and shell history:

  cfbench changefeed check-uri - < sink-uri.txt`,
		Args: changefeedOneArg("check-uri takes one argument: the sink URI, or - to read it from standard input"),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw := args[0]
			if raw == "-" {
				b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), 1<<20))
				if err != nil {
					return &exitError{code: exitFailure, msg: fmt.Sprintf("reading the sink URI from standard input: %v", err)}
				}
				raw = strings.TrimSpace(string(b))
			}
			u, err := changefeed.ParseSinkURI(raw)
			if err != nil {
				return &exitError{code: exitFailure, msg: "sink URI rejected: " + err.Error(), err: err}
			}
			w := cmd.OutOrStdout()
			fmt.Fprintln(w, "ok")
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			for _, p := range u.Properties() {
				fmt.Fprintf(tw, "%s\t%s\n", p.Name, p.Value)
			}
			fmt.Fprintf(tw, "uri\t%s\n", u.Redacted())
			return tw.Flush()
		},
	}
}

func newCheckOptionsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check-options 'updated, resolved=1s, …'",
		Short: "Validate the text of a CREATE CHANGEFEED WITH clause; print it as cfbench would send it",
		Long: `check-options validates the options of a CREATE CHANGEFEED WITH clause with CockroachDB's
rules and messages (and cfbench's limits: envelope=wrapped, format=json), then prints "ok", the
clause as cfbench renders it, and how often resolved messages can be expected. CockroachDB's
notices (a resolved interval below min_checkpoint_frequency) go to standard error.

  cfbench changefeed check-options "updated, resolved='1s', min_checkpoint_frequency='1s', diff"`,
		Args: changefeedOneArg("check-options takes one argument: the WITH clause, quoted as one shell word"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := changefeed.ParseOptions(args[0])
			if err != nil {
				return &exitError{code: exitFailure, msg: "options rejected: " + err.Error(), err: err}
			}
			w := cmd.OutOrStdout()
			fmt.Fprintln(w, "ok")
			if s := o.SQL(); s != "" {
				fmt.Fprintf(w, "WITH %s\n", s)
			}
			if d, ok := o.ResolvedInterval(); ok {
				fmt.Fprintf(w, "resolved messages at most every %v\n", d)
			}
			for _, n := range o.Warnings() {
				fmt.Fprintf(cmd.ErrOrStderr(), "notice: %s\n", n)
			}
			return nil
		},
	}
}

// changefeedOneArg is cobra.ExactArgs(1) as a usage error (exit code 2) with a helpful message.
func changefeedOneArg(msg string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return &exitError{code: exitUsage, msg: msg + "\nrun '" + cmd.CommandPath() + " --help' for usage"}
		}
		return nil
	}
}
