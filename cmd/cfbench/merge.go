package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cfbench/cfbench/report"
)

func init() { subcommands = append(subcommands, newMergeCmd) }

func newMergeCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "merge -o MERGED.json WORKER1.json WORKER2.json...",
		Short: "Combine the result files of the workers of one run",
		Long: `Combine the result files of several workers of one run into one result file: histograms
merge exactly, counts and rates add up, delivery verification combines (missing, duplicates and
violations are summed), per-second series are aligned on wall time and summed, errors are
concatenated, and run.worker becomes "merged k/n".

Example:
  cfbench merge -o run.json worker-1.json worker-2.json worker-3.json
  cfbench report run.json`,
		Args: needResultFiles(1, "result file(s)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return &exitError{code: exitUsage, msg: "merge: -o MERGED.json is required"}
			}
			var rs []*report.Result
			for _, f := range args {
				r, err := report.ReadFile(f)
				if err != nil {
					return err
				}
				rs = append(rs, r)
			}
			m, err := report.Merge(rs)
			if err != nil {
				return fmt.Errorf("merging %d results: %w", len(rs), err)
			}
			if err := m.WriteFile(out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "merged %d results (%s) into %s\n", len(rs), m.Run.Worker, out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "merged result file to write (required)")
	return cmd
}
