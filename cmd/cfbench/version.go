package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/spf13/cobra"
)

// Set at link time by the Makefile: -X main.version=... -X main.gitCommit=...
var (
	version   = "dev"
	gitCommit = ""
)

func init() { subcommands = append(subcommands, newVersionCmd) }

// commit returns the git commit cfbench was built from, or "unknown".
func commit() string {
	if gitCommit != "" {
		return gitCommit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the cfbench version, git commit, Go version and bundled librdkafka version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, rdk := kafka.LibraryVersion()
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "cfbench     %s\n", version)
			fmt.Fprintf(w, "git commit  %s\n", commit())
			fmt.Fprintf(w, "go          %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
			fmt.Fprintf(w, "librdkafka  %s\n", rdk)
			return nil
		},
	}
}
