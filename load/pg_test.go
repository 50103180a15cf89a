package load

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cfbench/cfbench/internal/stacktest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// testPool returns a pool on the local PostgreSQL whose search_path is a fresh schema, dropped
// when the test ends, so tests never see each other's tables.
func testPool(tb testing.TB, conns int) *pgxpool.Pool {
	tb.Helper()
	st := stacktest.Require(tb)
	ctx := context.Background()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "load_test_" + hex.EncodeToString(b[:])
	admin, err := pgx.Connect(ctx, st.PGURL)
	if err != nil {
		tb.Fatalf("connecting to CFBENCH_PG_URL: %v", err)
	}
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatal(err)
	}
	cfg, err := pgxpool.ParseConfig(st.PGURL)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.MaxConns = int32(conns)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		pool.Close()
		if _, err := admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("dropping schema %s: %v", schema, err)
		}
		admin.Close(context.Background())
	})
	return pool
}

func TestInitTwice(t *testing.T) {
	pool := testPool(t, 2)
	ctx := context.Background()
	opts := InitOptions{UsersPerCity: 5, VehiclesPerCity: 3, RidesPerCity: 2, PromoCodes: 20}
	first, err := Init(ctx, pool, opts)
	if err != nil {
		t.Fatalf("first Init: %v", err)
	}
	if first.Dialect != PostgreSQL {
		t.Fatalf("dialect %v from %q", first.Dialect, first.Version)
	}
	want := map[string]int64{TableUsers: 45, TableVehicles: 27, TableRides: 18, TableLocationHistory: 0, TablePromoCodes: 20, TableUserPromoCodes: 0}
	for tbl, n := range want {
		if first.Rows[tbl] != n {
			t.Errorf("after Init, %s has %d rows, want %d", tbl, first.Rows[tbl], n)
		}
	}
	second, err := Init(ctx, pool, opts)
	if err != nil {
		t.Fatalf("second Init: %v", err)
	}
	for tbl, n := range want {
		if second.Rows[tbl] != n {
			t.Errorf("after a second Init, %s has %d rows, want still %d", tbl, second.Rows[tbl], n)
		}
	}
	for _, tbl := range Tables {
		var ident string
		if err := pool.QueryRow(ctx, "SELECT relreplident::text FROM pg_class WHERE oid = $1::regclass", tbl).Scan(&ident); err != nil {
			t.Fatal(err)
		}
		if ident != "f" {
			t.Errorf("%s: replica identity %q, want f (FULL)", tbl, ident)
		}
	}
}

// TestLedgerMatchesTables runs the default mix and checks that every ledger key is a row of its
// table, and that every row the run inserted is in the ledger.
func TestLedgerMatchesTables(t *testing.T) {
	pool := testPool(t, 4)
	ctx := context.Background()
	if _, err := Init(ctx, pool, InitOptions{UsersPerCity: 5, VehiclesPerCity: 3, RidesPerCity: 1, PromoCodes: 20}); err != nil {
		t.Fatal(err)
	}
	before := rowCounts(t, pool)
	ledger := NewLedger()
	st, err := Run(ctx, pool, Options{MaxOps: 2000, Concurrency: 4, Ledger: ledger})
	if err != nil {
		t.Fatal(err)
	}
	if st.Total.Errors != 0 {
		t.Fatalf("%d ops failed: %v %v", st.Total.Errors, st.Errors, st.ErrorExamples)
	}
	if ledger.Written() != st.Total.Rows || st.Total.Rows < 2000 {
		t.Fatalf("ledger has %d acks, the run changed %d rows in %d ops", ledger.Written(), st.Total.Rows, st.Total.Count)
	}
	entries := ledger.Missing(math.MaxInt32)
	keys := map[string]int{}
	for _, e := range entries {
		keys[e.Table]++
		var vals []string
		if err := json.Unmarshal([]byte(e.Key), &vals); err != nil {
			t.Fatalf("ledger key %s: %v", e.Key, err)
		}
		var where []string
		var args []any
		for i, col := range pkColumns[e.Table] {
			where = append(where, fmt.Sprintf("%s = $%d::text::%s", col, i+1, pkTypes[col]))
			args = append(args, vals[i])
		}
		var n int
		q := "SELECT count(*) FROM " + e.Table + " WHERE " + strings.Join(where, " AND ")
		if err := pool.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatalf("%s %v: %v", q, args, err)
		}
		if n != 1 {
			t.Errorf("ledger key %s %s: %d rows in the table", e.Table, e.Key, n)
		}
	}
	after := rowCounts(t, pool)
	for _, tbl := range []string{TableUsers, TableRides, TablePromoCodes, TableLocationHistory, TableUserPromoCodes} {
		if added := after[tbl] - before[tbl]; int64(keys[tbl]) != added {
			t.Errorf("%s: %d rows added, %d distinct keys in the ledger", tbl, added, keys[tbl])
		}
	}
	if keys[TableVehicles] == 0 || keys[TableRides] == 0 || keys[TableLocationHistory] == 0 {
		t.Errorf("ledger keys per table %v: the mix should change every table", keys)
	}
}

var pkColumns = map[string][]string{
	TableUsers: {"city", "id"}, TableVehicles: {"city", "id"}, TableRides: {"city", "id"},
	TableLocationHistory: {"city", "ride_id", `"timestamp"`},
	TablePromoCodes:      {"code"}, TableUserPromoCodes: {"city", "user_id", "code"},
}

var pkTypes = map[string]string{
	"city": "text", "code": "text", "id": "uuid", "ride_id": "uuid", "user_id": "uuid", `"timestamp"`: "timestamp",
}

func rowCounts(t *testing.T, pool *pgxpool.Pool) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	for _, tbl := range Tables {
		var n int64
		if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM "+tbl).Scan(&n); err != nil {
			t.Fatal(err)
		}
		m[tbl] = n
	}
	return m
}

func TestForced40001IsRetried(t *testing.T) {
	pool := testPool(t, 1)
	ctx := context.Background()
	if _, err := Init(ctx, pool, InitOptions{UsersPerCity: 2, VehiclesPerCity: 1, RidesPerCity: 1, PromoCodes: 5}); err != nil {
		t.Fatal(err)
	}
	forced := 0
	st, err := Run(ctx, pool, Options{
		MaxOps: 5, Concurrency: 1, Mix: Mix{AddUser: 1},
		BeforeAttempt: func(ctx context.Context, c *pgx.Conn, op Op, attempt int) error {
			if forced > 0 {
				return nil
			}
			forced++
			_, err := c.Exec(ctx, `DO $$ BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = '40001'; END $$`)
			if err == nil {
				t.Error("the DO block did not fail")
			}
			return err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if forced != 1 || st.Retries != 1 || st.Total.Retries != 1 || st.Total.Errors != 0 || st.Total.Count != 5 {
		t.Fatalf("forced %d: retries %d, errors %d (%v), count %d; want 1 retry, no error, 5 ops",
			forced, st.Retries, st.Total.Errors, st.ErrorExamples, st.Total.Count)
	}
}

// TestMixOnPostgres: over 3000 ops on the database each op's share is within 0.03 of its
// weight (4 standard errors; endRide and updateLocation start a ride instead while a worker
// has no active ride, a handful of times per worker).
func TestMixOnPostgres(t *testing.T) {
	pool := testPool(t, 4)
	ctx := context.Background()
	if _, err := Init(ctx, pool, InitOptions{UsersPerCity: 5, VehiclesPerCity: 3, RidesPerCity: 1, PromoCodes: 20}); err != nil {
		t.Fatal(err)
	}
	mix := DefaultMix()
	mix[ReadVehicles] = 0.1
	const n = 3000
	st, err := Run(ctx, pool, Options{MaxOps: n, Concurrency: 4, Mix: mix})
	if err != nil {
		t.Fatal(err)
	}
	want := mix.Fractions()
	for _, op := range sortedOps(mix) {
		got := float64(st.Op(op).Count+st.Op(op).Errors) / n
		if math.Abs(got-want[op]) > 0.03 {
			t.Errorf("%s: share %.4f, want %.4f ± 0.03", op, got, want[op])
		}
	}
}

// BenchmarkRate runs the default mix open loop at each rate for 3 s on the local PostgreSQL and
// reports the achieved rate and the schedule lag. Run with
// CFBENCH_INTEGRATION=1 go test ./load -run '^$' -bench Rate -benchtime 1x.
func BenchmarkRate(b *testing.B) {
	for _, rate := range []float64{500, 5000} {
		b.Run(fmt.Sprintf("rate=%.0f", rate), func(b *testing.B) {
			pool := testPool(b, 16)
			ctx := context.Background()
			if _, err := Init(ctx, pool, InitOptions{}); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				st, err := Run(ctx, pool, Options{Rate: rate, Duration: 3 * time.Second, Concurrency: 16})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(st.AchievedRate, "ops/s")
				b.ReportMetric(float64(st.Lag.ValueAtQuantile(50)), "lag-p50-µs")
				b.ReportMetric(float64(st.Lag.ValueAtQuantile(99)), "lag-p99-µs")
				b.ReportMetric(float64(st.Total.Latency.ValueAtQuantile(99)), "lat-p99-µs")
				b.ReportMetric(float64(st.Total.Service.ValueAtQuantile(99)), "svc-p99-µs")
				b.ReportMetric(float64(st.Total.Errors), "errors")
			}
		})
	}
}

// BenchmarkVsPgbench runs `cfbench load --rate 0 --mix addUser=1` and pgbench running the same
// INSERT (testdata/pgbench/adduser.sql) with the same client count on the same PostgreSQL,
// alternating three times, and reports both throughputs and their median ratio (target ≥ 0.9).
// Needs pgbench in PATH. Run with
// CFBENCH_INTEGRATION=1 go test ./load -run '^$' -bench VsPgbench -benchtime 1x.
func BenchmarkVsPgbench(b *testing.B) {
	pgbench, err := exec.LookPath("pgbench")
	if err != nil {
		b.Skip("pgbench not in PATH")
	}
	const clients, rounds = 8, 3
	const each = 5 * time.Second
	pool := testPool(b, clients)
	ctx := context.Background()
	if _, err := Init(ctx, pool, InitOptions{}); err != nil {
		b.Fatal(err)
	}
	schema := pool.Config().ConnConfig.RuntimeParams["search_path"]
	tpsRE := regexp.MustCompile(`(?m)^tps = ([0-9.]+)`)
	for b.Loop() {
		var ratios []float64
		var ours, theirs float64
		for range rounds {
			cmd := exec.CommandContext(ctx, pgbench, "-n", "-M", "prepared", "-c", strconv.Itoa(clients), "-j", "2",
				"-T", strconv.Itoa(int(each.Seconds())), "-f", filepath.Join("testdata", "pgbench", "adduser.sql"), stacktest.Require(b).PGURL)
			cmd.Env = append(os.Environ(), "PGOPTIONS=-c search_path="+schema)
			out, err := cmd.CombinedOutput()
			if err != nil {
				b.Fatalf("pgbench: %v\n%s", err, out)
			}
			m := tpsRE.FindSubmatch(out)
			if m == nil {
				b.Fatalf("no tps in pgbench output:\n%s", out)
			}
			pg, _ := strconv.ParseFloat(string(m[1]), 64)
			st, err := Run(ctx, pool, Options{Concurrency: clients, Duration: each, Mix: Mix{AddUser: 1}})
			if err != nil {
				b.Fatal(err)
			}
			ours += st.AchievedRate / rounds
			theirs += pg / rounds
			ratios = append(ratios, st.AchievedRate/pg)
		}
		sort.Float64s(ratios)
		b.ReportMetric(ours, "cfbench-ops/s")
		b.ReportMetric(theirs, "pgbench-tps")
		b.ReportMetric(ratios[len(ratios)/2], "ratio")
	}
}
