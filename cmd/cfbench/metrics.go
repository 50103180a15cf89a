package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cfbench/cfbench/metrics"
)

// startMetrics serves live Prometheus metrics for `cfbench run --metrics-addr` until the
// command's context ends; it returns nil (record nothing) when the flag is not given.
func startMetrics(cmd *cobra.Command, f runFlags, profile string) (*metrics.Run, error) {
	if f.metricsAddr == "" {
		return nil, nil
	}
	if err := metrics.CheckAddr(f.metricsAddr, f.metricsAny); err != nil {
		return nil, &exitError{code: exitUsage, msg: fmt.Sprintf("--metrics-addr %s: %v", f.metricsAddr, err), err: err}
	}
	live := metrics.New(profile, f.worker)
	addr, err := live.Serve(cmd.Context(), f.metricsAddr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "metrics: http://%s/metrics\n", addr)
	return live, nil
}
