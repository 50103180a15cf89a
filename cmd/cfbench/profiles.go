package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cfbench/cfbench/profiles"
)

func init() { subcommands = append(subcommands, newProfilesCmd) }

// getenv is how commands read the environment; tests replace it.
var getenv = os.Getenv

func newProfilesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profiles",
		Short: "List the embedded example profiles; show or check a profile",
		Long: `cfbench profiles lists the example profiles built into cfbench (use them with --profile NAME).

  cfbench profiles                    list the embedded examples
  cfbench profiles show NAME|PATH     print the effective profile (defaults applied, secrets redacted)
  cfbench profiles check PATH...      validate profiles; exit status 2 if one is invalid

Profiles expand ${VAR} from the environment; for the local stack run
  eval "$(deploy/local/stack env)"
first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tDESCRIPTION")
			for _, e := range profiles.Examples() {
				fmt.Fprintf(tw, "%s\t%s\n", e.Name, e.Description)
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(newProfilesShowCmd(), newProfilesCheckCmd())
	return cmd
}

func newProfilesShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME|PATH",
		Short: "Print the effective profile as YAML, secrets redacted",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := profiles.Load(args[0], getenv)
			if err != nil {
				return &exitError{code: exitUsage, err: err, msg: err.Error()}
			}
			out, err := p.RedactedYAML()
			if err != nil {
				return fmt.Errorf("rendering profile %s: %w", args[0], err)
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
}

func newProfilesCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check NAME|PATH...",
		Short: "Validate profiles; exit status 2 if one is invalid",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			bad := 0
			for _, a := range args {
				p, err := profiles.Load(a, getenv)
				if err != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), err)
					bad++
					continue
				}
				vs, err := p.Variants()
				if err != nil { // Load has checked the variants: cannot happen
					fmt.Fprintln(cmd.ErrOrStderr(), err)
					bad++
					continue
				}
				if len(vs) > 1 {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%d variants)\n", a, len(vs))
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", a)
				}
			}
			if bad > 0 {
				return &exitError{code: exitUsage} // the errors are printed above
			}
			return nil
		},
	}
}
