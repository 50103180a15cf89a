package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cfbench/cfbench/report"
)

func init() { subcommands = append(subcommands, newCompareCmd) }

func newCompareCmd() *cobra.Command {
	var (
		force   bool
		alpha   float64
		groupBy string
		htmlOut string
		metrics []string
		stats   []string
	)
	cmd := &cobra.Command{
		Use:   "compare A.json B.json... | compare A1.json A2.json... -- B1.json B2.json... [-- C1.json...]",
		Short: "Compare runs metric by metric, with significance across repetitions (benchstat style)",
		Long: `Compare result files metric by metric. The first group is the baseline; every other group
is compared with it.

Groups:
  - separated by "--": cfbench compare a1.json a2.json a3.json -- b1.json b2.json b3.json
    (each side's repetitions; the value of a side is the median over its runs);
  - without "--", --group-by file (default) makes each file its own group, and
    --group-by variant groups files by their run.variant (matrix runs), in order of appearance.

With several runs per side the change is tested with the Mann-Whitney U test
(golang.org/x/perf/benchmath) and shown as "~" when not significant at --alpha:

  e2e_commit p99  182ms → 97.0ms  −47%  (p=0.008 n=5)

Single runs cannot be tested: their changes are marked "(n=1, untested)". Runs whose
run.config workload sections differ are refused, naming what differs, unless --force.
--html FILE also writes a self-contained page with each metric's spectra overlaid.

--metric and --stat narrow the table (about 100 rows otherwise):

  cfbench compare --metric 'e2e_*' --metric delivery --stat p50,p99,missing a.json b.json`,
		Args: needResultFiles(2, "result files"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if groupBy != "file" && groupBy != "variant" {
				return &exitError{code: exitUsage, msg: fmt.Sprintf("--group-by %s: want file or variant", groupBy)}
			}
			if alpha <= 0 || alpha >= 1 {
				return &exitError{code: exitUsage, msg: fmt.Sprintf("--alpha %v: want a number between 0 and 1, e.g. 0.05", alpha)}
			}
			var sides [][]string
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				sides = append(sides, args[:dash])
				cur := []string{}
				for _, a := range args[dash:] {
					if a == "--" {
						sides = append(sides, cur)
						cur = []string{}
						continue
					}
					cur = append(cur, a)
				}
				sides = append(sides, cur)
			}
			var groups []report.Group
			if sides != nil {
				for i, files := range sides {
					if len(files) == 0 {
						return &exitError{code: exitUsage, msg: fmt.Sprintf("group %d between \"--\" has no result files", i+1)}
					}
					g := report.Group{Files: files}
					for _, f := range files {
						r, err := report.ReadFile(f)
						if err != nil {
							return err
						}
						g.Results = append(g.Results, r)
					}
					g.Name = compareGroupName(i, files, g.Results)
					groups = append(groups, g)
				}
			} else {
				var rs []*report.Result
				for _, f := range args {
					r, err := report.ReadFile(f)
					if err != nil {
						return err
					}
					rs = append(rs, r)
				}
				if groupBy == "variant" {
					groups = report.GroupByVariant(args, rs)
					if len(groups) < 2 {
						return &exitError{code: exitUsage, msg: fmt.Sprintf("--group-by variant: all %d files are variant %q; nothing to compare", len(args), groups[0].Name)}
					}
				} else {
					for i, f := range args {
						groups = append(groups, report.Group{Name: compareGroupName(i, []string{f}, nil), Files: []string{f}, Results: rs[i : i+1]})
					}
				}
			}
			c, err := report.Compare(groups, report.CompareOptions{Alpha: alpha, Force: force, Metrics: metrics, Stats: stats})
			var we *report.WorkloadError
			if errors.As(err, &we) {
				return &exitError{code: exitUsage, msg: err.Error(), err: err}
			}
			if err != nil {
				if len(metrics) > 0 || len(stats) > 0 {
					// The runs were read; what did not match is the filter, a usage error.
					return &exitError{code: exitUsage, msg: err.Error(), err: err}
				}
				return err
			}
			if err := c.WriteText(cmd.OutOrStdout()); err != nil {
				return err
			}
			if htmlOut != "" {
				var buf bytes.Buffer
				if err := c.WriteHTML(&buf); err != nil {
					return err
				}
				if err := os.WriteFile(htmlOut, buf.Bytes(), 0o644); err != nil {
					return fmt.Errorf("--html %s: %w", htmlOut, err)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&force, "force", false, "compare even when the runs' workloads differ")
	f.Float64Var(&alpha, "alpha", 0.05, "significance level of the Mann-Whitney U test")
	f.StringVar(&htmlOut, "html", "", "also write an HTML comparison with overlaid percentile spectra to this file")
	f.StringArrayVar(&metrics, "metric", nil, "only metrics matching this pattern (e2e_commit, 'write_latency.*', delivery, rates, token); repeatable")
	f.StringSliceVar(&stats, "stat", nil, "only these statistics, comma-separated (p50,p90,p99,p99.9,max, missing, events/s, ...)")
	f.StringVar(&groupBy, "group-by", "file", `without "--": file (each file a group) or variant (run.variant)`)
	return cmd
}

// compareGroupName names a group after its file when it has one, else after the run.variant its
// runs share, else by position.
func compareGroupName(i int, files []string, rs []*report.Result) string {
	if len(rs) > 0 && rs[0].Run.Variant != "" {
		same := true
		for _, r := range rs {
			same = same && r.Run.Variant == rs[0].Run.Variant
		}
		if same {
			return rs[0].Run.Variant
		}
	}
	if len(files) == 1 {
		return strings.TrimSuffix(files[0], ".json")
	}
	return fmt.Sprintf("#%d", i+1)
}
