package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cfbench/cfbench/changefeed"
	"github.com/cfbench/cfbench/load"
	"github.com/cfbench/cfbench/profiles"
)

// maxClockOffset is the clock offset above which e2e_commit is too uncertain to trust: CockroachDB's
// default --max-offset.
const maxClockOffset = 500 * time.Millisecond

// checkDatabase connects, reads the version, runs the dialect's checks and probes the clock.
func (d *run) checkDatabase(ctx context.Context) {
	var pool *pgxpool.Pool
	var dialect load.Dialect
	d.timed(func() Step {
		s := Step{Name: "database connect and version"}
		cctx, cancel := context.WithTimeout(ctx, d.o.StepTimeout)
		defer cancel()
		var err error
		pool, err = load.Connect(cctx, d.p.Database.ConnString(), 2)
		if err != nil {
			s.Status, s.Detail = Fail, err.Error()
			s.Fix = "check database.url (host, port, user, database, sslmode) and the password in PGPASSFILE or database.url_file"
			return s
		}
		var version string
		dialect, version, err = load.DetectDialect(cctx, pool)
		if err != nil {
			s.Status, s.Detail = Fail, err.Error()
			return s
		}
		s.Status, s.Detail = Pass, version
		mode := d.p.Changefeed.Mode
		switch {
		case mode == profiles.ModePgfeed && dialect != load.PostgreSQL:
			s.Status, s.Fix = Fail, "changefeed.mode pgfeed needs PostgreSQL, but this is CockroachDB: use changefeed.mode create"
		case mode != profiles.ModePgfeed && dialect == load.PostgreSQL:
			s.Status, s.Fix = Fail, fmt.Sprintf("changefeed.mode %s needs CockroachDB, but this is PostgreSQL: use changefeed.mode pgfeed", mode)
		case d.p.Database.Kind == profiles.KindPostgres && dialect != load.PostgreSQL,
			d.p.Database.Kind == profiles.KindCockroachDB && dialect != load.CockroachDB:
			s.Status, s.Fix = Fail, fmt.Sprintf("database.kind is %s but the server says otherwise: fix database.kind or database.url", d.p.Database.Kind)
		}
		return s
	})
	if pool == nil {
		d.add(Step{Name: "database settings", Status: Skip, Detail: "no database connection"})
		d.add(Step{Name: "clock offset", Status: Skip, Detail: "no database connection"})
		return
	}
	defer pool.Close()
	if dialect == load.CockroachDB {
		d.timed(func() Step { return rangefeedStep(ctx, pool) })
		d.timed(func() Step { return privilegeStep(ctx, pool, d.p.Changefeed.Tables) })
		d.timed(func() Step { return licenseStep(ctx, pool) })
		if d.p.Changefeed.Mode == profiles.ModeExisting {
			d.timed(func() Step { return jobStep(ctx, pool, d.p.Changefeed.JobID) })
		}
	} else {
		d.timed(func() Step { return replicationStep(ctx, pool, d.p.Changefeed.Mode) })
	}
	d.timed(func() Step {
		s := Step{Name: "clock offset"}
		off, err := changefeed.ProbeClock(ctx, pool, d.o.ClockSamples)
		if err != nil {
			s.Status, s.Detail = Fail, err.Error()
			return s
		}
		s.Status, s.Detail = Pass, fmt.Sprintf("database clock = this host's %+v ± %v (%d samples, best round trip %v); e2e_commit is corrected by it",
			off.Offset.Round(time.Microsecond), off.Uncertainty.Round(time.Microsecond), off.Samples, off.BestRTT.Round(time.Microsecond))
		if abs(off.Offset) > maxClockOffset {
			s.Status = Warn
			s.Fix = fmt.Sprintf("the offset exceeds %v: run NTP/chrony on this host; cfbench corrects e2e_commit by it, but the correction is only as good as ±%v", maxClockOffset, off.Uncertainty.Round(time.Microsecond))
		}
		return s
	})
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// rangefeedStep checks CockroachDB's kv.rangefeed.enabled, which changefeeds need.
func rangefeedStep(ctx context.Context, pool *pgxpool.Pool) Step {
	s := Step{Name: "cockroachdb kv.rangefeed.enabled"}
	var on bool
	if err := pool.QueryRow(ctx, "SHOW CLUSTER SETTING kv.rangefeed.enabled").Scan(&on); err != nil {
		s.Status, s.Detail = Warn, "SHOW CLUSTER SETTING kv.rangefeed.enabled: "+err.Error()
		s.Fix = "the user may not read cluster settings (needs VIEWCLUSTERSETTING or admin): ask an admin to check it is true"
		return s
	}
	if !on {
		s.Status, s.Detail = Fail, "kv.rangefeed.enabled is false: changefeeds cannot start"
		s.Fix = "as an admin: SET CLUSTER SETTING kv.rangefeed.enabled = true"
		return s
	}
	s.Status, s.Detail = Pass, "true"
	return s
}

// privilegeStep checks the user may create changefeeds on the tables: admin, or the CHANGEFEED
// privilege on each table (CockroachDB 22.2+), or the deprecated CONTROLCHANGEFEED role option
// together with SELECT.
func privilegeStep(ctx context.Context, pool *pgxpool.Pool, tables []string) Step {
	s := Step{Name: "cockroachdb changefeed privilege"}
	var user string
	if err := pool.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil {
		s.Status, s.Detail = Warn, "SELECT current_user: "+err.Error()
		return s
	}
	var admin bool
	if err := pool.QueryRow(ctx, "SELECT crdb_internal.is_admin()").Scan(&admin); err == nil && admin {
		s.Status, s.Detail = Pass, fmt.Sprintf("%s is an admin", user)
		return s
	}
	var missing, absent []string
	for _, t := range tables {
		var exists bool
		if err := pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", t).Scan(&exists); err != nil {
			s.Status, s.Detail = Warn, fmt.Sprintf("checking table %s: %v", t, err)
			return s
		}
		if !exists {
			absent = append(absent, t)
			continue
		}
		ok, err := hasChangefeedGrant(ctx, pool, t, user)
		if err != nil {
			s.Status, s.Detail = Warn, fmt.Sprintf("SHOW GRANTS ON TABLE %s: %v", t, err)
			s.Fix = "could not read the grants: check by hand that the user has CHANGEFEED on the tables"
			return s
		}
		if !ok {
			missing = append(missing, t)
		}
	}
	var lines []string
	if len(absent) > 0 {
		lines = append(lines, "not created yet (cfbench run creates them): "+strings.Join(absent, ", "))
	}
	if len(missing) > 0 {
		s.Status = Fail
		lines = append(lines, fmt.Sprintf("%s lacks CHANGEFEED on: %s", user, strings.Join(missing, ", ")))
		s.Fix = fmt.Sprintf("as an admin: GRANT CHANGEFEED ON TABLE %s TO %s", strings.Join(missing, ", "), pgx.Identifier{user}.Sanitize())
	} else {
		s.Status = Pass
		lines = append(lines, fmt.Sprintf("%s has CHANGEFEED on every existing table", user))
		if len(absent) > 0 {
			s.Status = Warn
			s.Fix = fmt.Sprintf("after the tables exist, the user needs CHANGEFEED on them: GRANT CHANGEFEED ON TABLE %s TO %s", strings.Join(absent, ", "), pgx.Identifier{user}.Sanitize())
		}
	}
	s.Detail = strings.Join(lines, "\n")
	return s
}

// hasChangefeedGrant reports whether SHOW GRANTS lists CHANGEFEED or ALL on table for user (or
// for public).
func hasChangefeedGrant(ctx context.Context, pool *pgxpool.Pool, table, user string) (bool, error) {
	rows, err := pool.Query(ctx, "SELECT grantee, privilege_type FROM [SHOW GRANTS ON TABLE "+pgx.Identifier{table}.Sanitize()+"]")
	if err != nil {
		return false, err
	}
	defer rows.Close()
	for rows.Next() {
		var grantee, priv string
		if err := rows.Scan(&grantee, &priv); err != nil {
			return false, err
		}
		if (grantee == user || grantee == "public") && (priv == "CHANGEFEED" || priv == "ALL") {
			return true, nil
		}
	}
	return false, rows.Err()
}

// licenseStep checks that an enterprise licence is installed (its value is never shown).
// Before v24.3 Kafka changefeeds need an enterprise licence; from v24.3 every cluster needs a
// licence (Enterprise, Free or Trial) after a grace period, or it is throttled.
func licenseStep(ctx context.Context, pool *pgxpool.Pool) Step {
	s := Step{Name: "cockroachdb license"}
	var lic string
	err := pool.QueryRow(ctx, "SHOW CLUSTER SETTING enterprise.license").Scan(&lic)
	switch {
	case err != nil:
		s.Status, s.Detail = Warn, "SHOW CLUSTER SETTING enterprise.license: "+err.Error()
		s.Fix = "the user may not read cluster settings: ask an admin whether a licence is installed"
	case strings.TrimSpace(lic) == "":
		s.Status, s.Detail = Warn, "no licence installed (enterprise.license is empty)"
		s.Fix = "Kafka changefeeds need an enterprise licence before v24.3, and clusters from v24.3 need a licence (Enterprise, Free or Trial) after the grace period: SET CLUSTER SETTING enterprise.license = '…'"
	default:
		s.Status, s.Detail = Pass, "a licence is installed (enterprise.license is set)"
	}
	return s
}

// replicationStep checks what pgfeed needs on PostgreSQL: wal_level=logical and a role that may
// replicate.
func replicationStep(ctx context.Context, pool *pgxpool.Pool, mode string) Step {
	s := Step{Name: "postgresql logical replication"}
	if mode != profiles.ModePgfeed {
		s.Status, s.Detail = Skip, "changefeed.mode is not pgfeed"
		return s
	}
	var wal string
	var repl, super bool
	if err := pool.QueryRow(ctx, "SELECT current_setting('wal_level')").Scan(&wal); err != nil {
		s.Status, s.Detail = Fail, "reading wal_level: "+err.Error()
		return s
	}
	err := pool.QueryRow(ctx, "SELECT rolreplication, rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&repl, &super)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		s.Status, s.Detail = Fail, "reading the role's attributes: "+err.Error()
		return s
	}
	s.Detail = fmt.Sprintf("wal_level=%s; role may replicate: %v", wal, repl || super)
	var fixes []string
	if wal != "logical" {
		fixes = append(fixes, "pgfeed needs wal_level = logical (postgresql.conf; restart PostgreSQL)")
	}
	if !repl && !super {
		fixes = append(fixes, "the user needs the REPLICATION attribute: ALTER ROLE <user> REPLICATION")
	}
	if len(fixes) > 0 {
		s.Status, s.Fix = Fail, strings.Join(fixes, "\n")
	} else {
		s.Status = Pass
	}
	return s
}

// jobStep checks the changefeed job a run in mode existing attaches to.
func jobStep(ctx context.Context, pool *pgxpool.Pool, id int64) Step {
	s := Step{Name: fmt.Sprintf("cockroachdb changefeed job %d", id)}
	js, err := changefeed.Attach(ctx, pool, id)
	if err != nil {
		s.Status, s.Detail = Fail, err.Error()
		s.Fix = "check changefeed.job_id against SHOW CHANGEFEED JOBS; resume a paused job (RESUME JOB …) or create one (cfbench changefeed create)"
		return s
	}
	s.Status = Pass
	s.Detail = fmt.Sprintf("%s; topics %s", js.Status, strings.Join(js.Topics, ", "))
	if !js.HighWater.IsZero() {
		s.Detail += fmt.Sprintf("; high-water %s (%s behind)", js.HighWater.Time().UTC().Format(time.RFC3339), time.Since(js.HighWater.Time()).Round(time.Second))
	}
	return s
}
