package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cfbench/cfbench/report"
)

func init() { subcommands = append(subcommands, newReportCmd) }

func newReportCmd() *cobra.Command {
	var (
		format     string
		outDir     string
		metrics    []string
		valueScale float64
	)
	cmd := &cobra.Command{
		Use:   "report RESULT.json...",
		Short: "Render result files: text summary, .hgrm, .hlog, CSV or self-contained HTML",
		Long: `Render one or more result files.

Formats (--format):
  text  summary table (ms, ~3 significant figures), delivery verdict, token, clock, rates
  hgrm  HdrHistogram percentile distribution (values in ms unless --value-scale); on stdout the
        first --metric (default e2e_commit), with --out one file per metric
  hlog  HdrHistogram interval log of the per-second histograms, one tag per metric
  csv   per-second series, unscaled, with a header row
  html  one self-contained page with SVG charts (opens without a network)

Without --out the output goes to stdout; with --out DIR each RESULT.json becomes DIR/RESULT.txt,
DIR/RESULT.<metric>.hgrm, DIR/RESULT.hlog, DIR/RESULT.csv or DIR/RESULT.html.

Examples:
  cfbench report result.json
  cfbench report --format hgrm --metric e2e_ack result.json > e2e_ack.hgrm
  cfbench report --format html --out reports/ run1.json run2.json`,
		Args: needResultFiles(1, "result file(s)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opt := report.RenderOptions{Metrics: metrics, ValueScale: valueScale}
			if valueScale < 0 {
				return &exitError{code: exitUsage, msg: fmt.Sprintf("--value-scale %v: want a positive number of µs per output unit (1000 = ms)", valueScale)}
			}
			if !slices.Contains(report.Formats, format) {
				return &exitError{code: exitUsage, msg: fmt.Sprintf("--format %s: want one of %s", format, strings.Join(report.Formats, ", "))}
			}
			if outDir == "" && format != "text" && len(args) > 1 {
				return &exitError{code: exitUsage, msg: fmt.Sprintf("--format %s with %d result files: add --out DIR (one file each)", format, len(args))}
			}
			if outDir != "" {
				if err := os.MkdirAll(outDir, 0o755); err != nil {
					return fmt.Errorf("--out %s: %w", outDir, err)
				}
			}
			w := cmd.OutOrStdout()
			for i, path := range args {
				r, err := report.ReadFile(path)
				if err != nil {
					return err
				}
				if outDir != "" {
					base := strings.TrimSuffix(filepath.Base(path), ".json")
					written, err := report.RenderFiles(outDir, base, r, format, opt)
					for _, p := range written {
						fmt.Fprintln(w, p)
					}
					if err != nil {
						return fmt.Errorf("%s: %w", path, err)
					}
					continue
				}
				if len(args) > 1 && format == "text" {
					if i > 0 {
						fmt.Fprintln(w)
					}
					fmt.Fprintf(w, "==> %s <==\n", path)
				}
				if err := report.Render(w, r, format, opt); err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", "text", "output format: "+strings.Join(report.Formats, ", "))
	f.StringVar(&outDir, "out", "", "write files into this folder instead of stdout")
	f.StringSliceVar(&metrics, "metric", nil, "metrics for hgrm/hlog (repeatable; default e2e_commit for hgrm on stdout, all otherwise)")
	f.Float64Var(&valueScale, "value-scale", report.UnitMS, "hgrm: recorded µs per output unit (1000 = milliseconds, 1 = microseconds)")
	return cmd
}

// needResultFiles is cobra.MinimumNArgs with a usage exit code and a message naming what is missing.
func needResultFiles(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return &exitError{code: exitUsage, msg: fmt.Sprintf("%s: want at least %d %s, got %d\nrun '%s --help' for usage",
				cmd.CommandPath(), n, what, len(args), cmd.CommandPath())}
		}
		return nil
	}
}
