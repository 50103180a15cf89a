package main

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/cfbench/cfbench/load"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newInitCmd) }

// dbFlags are the database flags of init and load. The URL may hold a password, so it comes
// from the environment or a file; --db takes only URLs without one (they show in `ps`).
type dbFlags struct {
	url     string
	urlFile string
}

const dbURLEnv = "CFBENCH_PG_URL"

func (f *dbFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.url, "db", "", "database URL without a password, e.g. postgres://root@host:26257/movr?sslmode=verify-full (default $"+dbURLEnv+")")
	cmd.Flags().StringVar(&f.urlFile, "db-url-file", "", "file holding the database URL (may include a password)")
}

// resolve returns the database URL from --db, --db-url-file or $CFBENCH_PG_URL, in that order.
func (f *dbFlags) resolve() (string, error) {
	switch {
	case f.url != "" && f.urlFile != "":
		return "", &exitError{code: exitUsage, msg: "--db and --db-url-file: give one of them"}
	case f.url != "":
		if hasPassword(f.url) {
			return "", &exitError{code: exitUsage, msg: "--db: the URL holds a password, which would show in the process list; put the URL in $" + dbURLEnv + " or a file named by --db-url-file (or use PGPASSFILE)"}
		}
		return f.url, nil
	case f.urlFile != "":
		b, err := os.ReadFile(f.urlFile)
		if err != nil {
			return "", &exitError{code: exitUsage, msg: fmt.Sprintf("--db-url-file: %v", err), err: err}
		}
		u := strings.TrimSpace(string(b))
		if u == "" {
			return "", &exitError{code: exitUsage, msg: fmt.Sprintf("--db-url-file %s: the file is empty", f.urlFile)}
		}
		return u, nil
	}
	if u := os.Getenv(dbURLEnv); u != "" {
		return u, nil
	}
	return "", &exitError{code: exitUsage, msg: "no database: set $" + dbURLEnv + " or give --db or --db-url-file"}
}

// hasPassword reports whether a postgres:// URL or key=value connection string carries a password.
func hasPassword(s string) bool {
	if u, err := url.Parse(s); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		if _, ok := u.User.Password(); ok {
			return true
		}
		return u.Query().Has("password")
	}
	return strings.Contains(s, "password=")
}

func newInitCmd() *cobra.Command {
	var db dbFlags
	var opts load.InitOptions
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create the movr schema and seed it (CockroachDB or PostgreSQL)",
		Long: `init creates movr's tables (users, vehicles, rides, vehicle_location_histories, promo_codes,
user_promo_codes) if they do not exist, and seeds users, vehicles, rides and promo codes. It is
idempotent: the seeded rows derive from --seed, so running it again changes nothing.

The database is told apart by SELECT version(). On CockroachDB, init checks that
kv.rangefeed.enabled is on (changefeeds need it); on PostgreSQL it sets REPLICA IDENTITY FULL on
the tables (pgfeed's diff option needs the old rows).

The database URL comes from $CFBENCH_PG_URL, --db-url-file, or --db (only without a password:
flags show in the process list).

Examples:
  eval "$(deploy/local/stack env)"; cfbench init
  cfbench init --db-url-file ~/.cfbench/staging-url --users-per-city 500`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, err := db.resolve()
			if err != nil {
				return err
			}
			pool, err := load.Connect(cmd.Context(), u, 4)
			if err != nil {
				return err
			}
			defer pool.Close()
			res, err := load.Init(cmd.Context(), pool, opts)
			if err != nil {
				return fmt.Errorf("init: %w", err)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s: movr schema ready\n", res.Dialect)
			for _, t := range load.Tables {
				fmt.Fprintf(w, "  %-28s %8d rows\n", t, res.Rows[t])
			}
			return nil
		},
	}
	db.register(cmd)
	f := cmd.Flags()
	f.IntVar(&opts.UsersPerCity, "users-per-city", 50, "users to seed per city (9 cities)")
	f.IntVar(&opts.VehiclesPerCity, "vehicles-per-city", 15, "vehicles to seed per city")
	f.IntVar(&opts.RidesPerCity, "rides-per-city", 5, "finished rides to seed per city")
	f.IntVar(&opts.PromoCodes, "promo-codes", 100, "promo codes to seed")
	f.Uint64Var(&opts.Seed, "seed", 1, "seed of the generated rows")
	f.BoolVar(&opts.SkipRangefeedCheck, "skip-rangefeed-check", false, "do not check kv.rangefeed.enabled on CockroachDB")
	return cmd
}
