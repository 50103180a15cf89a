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
merge exactly, counts and rates add up, per-second series are aligned on wall time and summed,
errors are concatenated, and run.worker becomes "merged k/n".

Workers of a group run (cfbench run --worker i/n, n > 1) each verified only the partitions the
consumer group gave them: merge reads the verification sidecar next to each result file
(verify.tsv.gz; copy it along with result.json) and matches every write a worker acknowledged
but did not receive itself with the row another worker received. Writes no worker received are
missing; the merged e2e_ack includes these cross-worker matches when the workers' clock offsets
are known well enough (delivery.cross_worker_e2e_ack). Duplicates and the order, partition and
resolved checks are summed from the partitions' owners.

Exit codes: 0 ok (the merged delivery passed), 1 failure, 2 bad usage, 3 merged delivery
verification failed (the merged result is written).

Example:
  cfbench merge -o run.json worker-1/result.json worker-2/result.json worker-3/result.json
  cfbench report run.json`,
		Args: needResultFiles(1, "result file(s)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return &exitError{code: exitUsage, msg: "merge: -o MERGED.json is required"}
			}
			m, err := report.MergeFiles(args)
			if err != nil {
				return fmt.Errorf("merging %d results: %w", len(args), err)
			}
			if err := m.WriteFile(out); err != nil {
				return err
			}
			d := m.Delivery
			fmt.Fprintf(cmd.OutOrStdout(), "merged %d results (%s) into %s: %d written, %d received (%d across workers), %d missing\n",
				len(args), m.Run.Worker, out, d.Written, d.Received, d.CrossWorker, d.Missing)
			if !d.Passed() {
				return &exitError{code: exitDelivery, msg: fmt.Sprintf("merge: merged delivery verification failed: %d missing, %d order, %d partition, %d resolved violations, %d undecodable",
					d.Missing, d.OrderViolations, d.PartitionViolations, d.ResolvedViolations, d.DecodeErrors)}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "merged result file to write (required)")
	return cmd
}
