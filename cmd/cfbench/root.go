package main

import (
	"context"
	"errors"
	"io"

	"github.com/spf13/cobra"
)

// Exit codes, documented in the README.
const (
	exitOK          = 0
	exitFailure     = 1   // any error not listed below
	exitUsage       = 2   // bad flags, arguments or profile
	exitDelivery    = 3   // the run completed but delivery verification failed
	exitPreflight   = 4   // run: a preflight check (database, IdP, Kafka, changefeed) failed; nothing measured
	exitInterrupted = 130 // SIGINT/SIGTERM: partial results were written
)

// exitError carries an exit code through cobra. msg == "" means the command has already
// reported the problem to the user and main should print nothing more.
type exitError struct {
	code int
	msg  string
	err  error
}

func (e *exitError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	if e.err != nil {
		return e.err.Error()
	}
	return ""
}

func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if errors.Is(err, errUsage) {
		return exitUsage
	}
	return exitFailure
}

var errUsage = errors.New("usage")

// subcommands holds the constructors of the top-level commands. Each command lives in its own
// file and registers itself from an init function, so adding one never touches this file.
var subcommands []func() *cobra.Command

// newRootCmd builds the command tree. Output goes to the given writers, never to os.Stdout
// directly, so commands can be tested in-process.
func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "cfbench",
		Short: "Benchmark CockroachDB changefeeds into Kafka with OAuth (SASL/OAUTHBEARER)",
		Long: `cfbench measures how fast CockroachDB changefeeds deliver row changes through Kafka to a
consumer that authenticates with OAuth 2.0 (SASL/OAUTHBEARER), and what the token refreshes cost.
Run it once per Kafka configuration and compare the runs.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: exitUsage, msg: err.Error() + "\nrun '" + c.CommandPath() + " --help' for usage", err: err}
	})
	for _, mk := range subcommands {
		root.AddCommand(mk())
	}
	return root
}

// run executes cfbench with args (without the program name).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}
