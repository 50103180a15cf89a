// Command cfbench measures how fast CockroachDB changefeeds deliver row changes through Kafka to
// a consumer that authenticates with OAuth 2.0 (SASL/OAUTHBEARER), and what token refreshes cost.
//
// Run `cfbench --help` for the commands; the README has worked examples.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default handling: a second Ctrl-C exits at once.
		<-ctx.Done()
		stop()
	}()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ee *exitError
		if !errors.As(err, &ee) || ee.msg != "" {
			fmt.Fprintln(os.Stderr, "cfbench:", err)
		}
		os.Exit(exitCode(err))
	}
}
