package load

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Table names of the movr schema.
const (
	TableUsers            = "users"
	TableVehicles         = "vehicles"
	TableRides            = "rides"
	TableLocationHistory  = "vehicle_location_histories"
	TablePromoCodes       = "promo_codes"
	TableUserPromoCodes   = "user_promo_codes"
	rangefeedSettingName  = "kv.rangefeed.enabled"
	rangefeedEnableAdvice = "SET CLUSTER SETTING kv.rangefeed.enabled = true"
)

// Tables lists the movr tables in creation order (referenced tables first).
var Tables = []string{TableUsers, TableVehicles, TableRides, TableLocationHistory, TablePromoCodes, TableUserPromoCodes}

// schemaDDL is movr's schema (pkg/workload/movr) in SQL that CockroachDB and PostgreSQL both
// accept: TEXT for VARCHAR, secondary indexes as CREATE INDEX, and movr's foreign keys inline.
var schemaDDL = []string{
	`CREATE TABLE IF NOT EXISTS users (
  id UUID NOT NULL,
  city TEXT NOT NULL,
  name TEXT NULL,
  address TEXT NULL,
  credit_card TEXT NULL,
  PRIMARY KEY (city, id)
)`,
	`CREATE TABLE IF NOT EXISTS vehicles (
  id UUID NOT NULL,
  city TEXT NOT NULL,
  type TEXT NULL,
  owner_id UUID NULL,
  creation_time TIMESTAMP NULL,
  status TEXT NULL,
  current_location TEXT NULL,
  ext JSONB NULL,
  PRIMARY KEY (city, id),
  FOREIGN KEY (city, owner_id) REFERENCES users (city, id)
)`,
	`CREATE INDEX IF NOT EXISTS vehicles_auto_index_fk_city_ref_users ON vehicles (city, owner_id)`,
	`CREATE TABLE IF NOT EXISTS rides (
  id UUID NOT NULL,
  city TEXT NOT NULL,
  vehicle_city TEXT NULL,
  rider_id UUID NULL,
  vehicle_id UUID NULL,
  start_address TEXT NULL,
  end_address TEXT NULL,
  start_time TIMESTAMP NULL,
  end_time TIMESTAMP NULL,
  revenue DECIMAL(10,2) NULL,
  PRIMARY KEY (city, id),
  FOREIGN KEY (city, rider_id) REFERENCES users (city, id),
  FOREIGN KEY (vehicle_city, vehicle_id) REFERENCES vehicles (city, id),
  CONSTRAINT check_vehicle_city_city CHECK (vehicle_city = city)
)`,
	`CREATE INDEX IF NOT EXISTS rides_auto_index_fk_city_ref_users ON rides (city, rider_id)`,
	`CREATE INDEX IF NOT EXISTS rides_auto_index_fk_vehicle_city_ref_vehicles ON rides (vehicle_city, vehicle_id)`,
	`CREATE TABLE IF NOT EXISTS vehicle_location_histories (
  city TEXT NOT NULL,
  ride_id UUID NOT NULL,
  "timestamp" TIMESTAMP NOT NULL,
  lat FLOAT8 NULL,
  long FLOAT8 NULL,
  PRIMARY KEY (city, ride_id, "timestamp"),
  FOREIGN KEY (city, ride_id) REFERENCES rides (city, id)
)`,
	`CREATE TABLE IF NOT EXISTS promo_codes (
  code TEXT NOT NULL,
  description TEXT NULL,
  creation_time TIMESTAMP NULL,
  expiration_time TIMESTAMP NULL,
  rules JSONB NULL,
  PRIMARY KEY (code)
)`,
	`CREATE TABLE IF NOT EXISTS user_promo_codes (
  city TEXT NOT NULL,
  user_id UUID NOT NULL,
  code TEXT NOT NULL,
  "timestamp" TIMESTAMP NULL,
  usage_count INT NULL,
  PRIMARY KEY (city, user_id, code),
  FOREIGN KEY (city, user_id) REFERENCES users (city, id)
)`,
}

// Dialect is the database load talks to.
type Dialect int

// Dialects, told apart by SELECT version().
const (
	PostgreSQL Dialect = iota
	CockroachDB
)

func (d Dialect) String() string {
	if d == CockroachDB {
		return "CockroachDB"
	}
	return "PostgreSQL"
}

// RowQuerier is what DetectDialect needs: a *pgxpool.Pool, *pgx.Conn or pgx.Tx.
type RowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// DetectDialect runs SELECT version() and returns the dialect and the full version string.
func DetectDialect(ctx context.Context, db RowQuerier) (Dialect, string, error) {
	var v string
	if err := db.QueryRow(ctx, "SELECT version()").Scan(&v); err != nil {
		return 0, "", fmt.Errorf("SELECT version(): %w", err)
	}
	if strings.Contains(v, "CockroachDB") {
		return CockroachDB, v, nil
	}
	return PostgreSQL, v, nil
}

// InitOptions are the settings of Init. Zero values take the documented defaults; a negative
// count seeds none of that kind.
type InitOptions struct {
	UsersPerCity    int    // users seeded per city; default 50
	VehiclesPerCity int    // vehicles seeded per city, owned by seeded users; default 15
	RidesPerCity    int    // finished rides seeded per city; default 5
	PromoCodes      int    // promo codes seeded; default 100
	Seed            uint64 // seeds the generated rows, so Init run twice writes the same rows; default 1
	// SkipRangefeedCheck skips the CockroachDB kv.rangefeed.enabled check (e.g. when the user
	// may not read cluster settings and knows rangefeeds are on).
	SkipRangefeedCheck bool
}

func (o InitOptions) withDefaults() InitOptions {
	def := func(v *int, d int) {
		switch {
		case *v == 0:
			*v = d
		case *v < 0:
			*v = 0
		}
	}
	def(&o.UsersPerCity, 50)
	def(&o.VehiclesPerCity, 15)
	def(&o.RidesPerCity, 5)
	def(&o.PromoCodes, 100)
	if o.Seed == 0 {
		o.Seed = 1
	}
	return o
}

// InitResult describes what Init found and did.
type InitResult struct {
	Dialect Dialect
	Version string           // SELECT version()
	Rows    map[string]int64 // rows per table after seeding
}

// ErrRangefeedDisabled is returned (wrapped) by Init on CockroachDB when kv.rangefeed.enabled is
// false: changefeeds cannot run until it is set.
var ErrRangefeedDisabled = errors.New(rangefeedSettingName + " is false: changefeeds need it; run `" + rangefeedEnableAdvice + "` as an admin")

// Init creates the movr schema if it does not exist and seeds its rows. It is idempotent: the
// seeded rows are derived from opts.Seed and inserted with ON CONFLICT DO NOTHING, so running it
// again changes nothing. On PostgreSQL it sets REPLICA IDENTITY FULL on every table (pgfeed
// needs old rows for the diff option); on CockroachDB it checks kv.rangefeed.enabled and returns
// ErrRangefeedDisabled if it is off.
func Init(ctx context.Context, pool *pgxpool.Pool, opts InitOptions) (InitResult, error) {
	opts = opts.withDefaults()
	d, version, err := DetectDialect(ctx, pool)
	if err != nil {
		return InitResult{}, err
	}
	res := InitResult{Dialect: d, Version: version, Rows: map[string]int64{}}
	if d == CockroachDB && !opts.SkipRangefeedCheck {
		var on bool
		if err := pool.QueryRow(ctx, "SHOW CLUSTER SETTING "+rangefeedSettingName).Scan(&on); err != nil {
			return res, fmt.Errorf("checking %s (skip the check if you know it is on): %w", rangefeedSettingName, err)
		}
		if !on {
			return res, ErrRangefeedDisabled
		}
	}
	for _, stmt := range schemaDDL {
		if _, err := pool.Exec(ctx, stmt); err != nil {
			return res, fmt.Errorf("creating the movr schema: %s: %w", firstLine(stmt), err)
		}
	}
	if d == PostgreSQL {
		for _, t := range Tables {
			if _, err := pool.Exec(ctx, "ALTER TABLE "+t+" REPLICA IDENTITY FULL"); err != nil {
				return res, fmt.Errorf("setting REPLICA IDENTITY FULL on %s: %w", t, err)
			}
		}
	}
	if err := seed(ctx, pool, opts); err != nil {
		return res, err
	}
	for _, t := range Tables {
		var n int64
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+t).Scan(&n); err != nil {
			return res, fmt.Errorf("counting rows of %s: %w", t, err)
		}
		res.Rows[t] = n
	}
	return res, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimSuffix(s[:i], " (")
	}
	return s
}

// seedCreationTime is movr's fixed creation time for seeded rows.
var seedCreationTime = time.Date(2019, 1, 2, 3, 4, 5, 0, time.UTC)

// seed inserts the initial rows, deterministic in opts.Seed, in batches.
func seed(ctx context.Context, pool *pgxpool.Pool, opts InitOptions) error {
	rng := rand.New(rand.NewPCG(opts.Seed, 0x6d6f7672))
	b := &pgx.Batch{}
	for c, city := range Cities {
		users := make([][16]byte, opts.UsersPerCity)
		for i := range users {
			users[i] = randUUID(rng)
			b.Queue(`INSERT INTO users (id, city, name, address, credit_card) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (city, id) DO NOTHING`, users[i], city, randName(rng), randAddress(rng), randCreditCard(rng))
		}
		if len(users) == 0 {
			continue
		}
		vehicles := make([][16]byte, opts.VehiclesPerCity)
		for i := range vehicles {
			vehicles[i] = randUUID(rng)
			typ, ext := randVehicle(rng)
			b.Queue(`INSERT INTO vehicles (id, city, type, owner_id, creation_time, status, current_location, ext)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (city, id) DO NOTHING`,
				vehicles[i], city, typ, users[rng.IntN(len(users))], seedCreationTime, randVehicleStatus(rng), randAddress(rng), ext)
		}
		for range opts.RidesPerCity {
			if len(vehicles) == 0 {
				break
			}
			start := seedCreationTime.Add(-time.Duration(rng.IntN(30)) * 24 * time.Hour)
			end := start.Add(time.Duration(rng.IntN(60)) * time.Hour)
			b.Queue(`INSERT INTO rides (id, city, vehicle_city, rider_id, vehicle_id, start_address, end_address, start_time, end_time, revenue)
VALUES ($1, $2, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (city, id) DO NOTHING`,
				randUUID(rng), city, users[rng.IntN(len(users))], vehicles[rng.IntN(len(vehicles))],
				randAddress(rng), randAddress(rng), start, end, float64(rng.IntN(10000))/100)
		}
		if err := sendBatch(ctx, pool, b, "seeding "+Cities[c]); err != nil {
			return err
		}
		b = &pgx.Batch{}
	}
	for i := range opts.PromoCodes {
		exp := seedCreationTime.Add(time.Duration(rng.IntN(30)) * 24 * time.Hour)
		b.Queue(`INSERT INTO promo_codes (code, description, creation_time, expiration_time, rules)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT (code) DO NOTHING`,
			randPromoCode(rng), pick(rng, sentencePool), exp.Add(-time.Duration(rng.IntN(30))*24*time.Hour), exp, promoRulesJSON)
		if b.Len() == 500 || i == opts.PromoCodes-1 {
			if err := sendBatch(ctx, pool, b, "seeding promo_codes"); err != nil {
				return err
			}
			b = &pgx.Batch{}
		}
	}
	return nil
}

func sendBatch(ctx context.Context, pool *pgxpool.Pool, b *pgx.Batch, what string) error {
	if b.Len() == 0 {
		return nil
	}
	if err := pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
