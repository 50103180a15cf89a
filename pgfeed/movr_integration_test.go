package pgfeed

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cfbench/cfbench/internal/stacktest"
	"github.com/cfbench/cfbench/load"
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cfbench/cfbench/internal/golden"
)

// TestGoldenMovr creates the real movr schema (load.Init, in a schema of its own), then
// inserts, updates and deletes a row in every movr table and compares the messages with a
// golden file (every envelope field on; HLCs masked). Keys are checked against load.AppendKey,
// the form the write ledger uses.
func TestGoldenMovr(t *testing.T) {
	st := stacktest.Require(t)
	ctx := context.Background()
	schema := fmt.Sprintf("pgf_movr_%d", time.Now().UnixNano()%1_000_000)
	admin, err := pgxpool.New(ctx, st.PGURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	pcfg, err := pgxpool.ParseConfig(st.PGURL)
	if err != nil {
		t.Fatal(err)
	}
	pcfg.ConnConfig.RuntimeParams["search_path"] = schema
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	it := &itest{t: t, st: st, id: schema, prefix: schema + "_", pool: pool}
	t.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active`, "pgfeed_"+schema)
		_, _ = admin.Exec(context.Background(), `DROP PUBLICATION IF EXISTS pgfeed_`+schema)
		_, _ = admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		if ac, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": st.KafkaAdminBrokers}); err == nil {
			var topics []string
			for _, tb := range load.Tables {
				topics = append(topics, it.prefix+tb)
			}
			dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, _ = ac.DeleteTopics(dctx, topics)
			cancel()
			ac.Close()
		}
	})
	if _, err := load.Init(ctx, pool, load.InitOptions{UsersPerCity: -1, VehiclesPerCity: -1, RidesPerCity: -1, PromoCodes: -1}); err != nil {
		t.Fatal(err)
	}
	var tables, topics []string
	for _, tb := range load.Tables {
		tables = append(tables, schema+"."+tb)
		topics = append(topics, it.prefix+tb)
	}
	f, err := New(Config{
		Source: st.PGURL, Tables: tables, Sink: it.sinkURI(""), Name: schema,
		With:          "updated, diff, mvcc_timestamp, key_in_value, topic_in_value",
		TokenAudience: st.Audience, TopicPartitions: 2, StatusInterval: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	it.start(f)
	const (
		user  = "8a3d70a3-d70a-4000-8000-00000000001b"
		veh   = "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f"
		ride  = "5ebfedcc-a8c9-4ae6-9cd4-3c2a57d5a8a6"
		ts    = "2019-01-02 03:04:05.123"
		tsKey = "2019-01-02T03:04:05.123"
	)
	for _, sql := range []string{
		`INSERT INTO users VALUES ('` + user + `', 'amsterdam', 'Maria "Q" Weber', '1 Dam <Square>', '4111')`,
		`INSERT INTO vehicles VALUES ('` + veh + `', 'amsterdam', 'bike', '` + user + `', '` + ts + `', 'available', 'Dam 1', '{"color": "black", "brand": "Batavus", "gears": 3}')`,
		`INSERT INTO rides VALUES ('` + ride + `', 'amsterdam', 'amsterdam', '` + user + `', '` + veh + `', 'a', NULL, '` + ts + `', NULL, NULL)`,
		`INSERT INTO vehicle_location_histories VALUES ('amsterdam', '` + ride + `', '` + ts + `', 52.3676, 4.9041)`,
		`INSERT INTO promo_codes VALUES ('7_days_free', 'Seven days', '` + ts + `', '2020-01-01', '{"type": "percent_discount", "value": "10%"}')`,
		`INSERT INTO user_promo_codes VALUES ('amsterdam', '` + user + `', '7_days_free', '` + ts + `', 1)`,
		`UPDATE users SET credit_card = '4222' WHERE id = '` + user + `'`,
		`UPDATE vehicles SET status = 'in_use', ext = ext || '{"gears": 7}' WHERE id = '` + veh + `'`,
		`UPDATE rides SET end_address = 'b', end_time = '2019-01-02 04:00:00', revenue = 12.5 WHERE id = '` + ride + `'`,
		`UPDATE vehicle_location_histories SET lat = 52.37 WHERE ride_id = '` + ride + `'`,
		`UPDATE promo_codes SET description = 'Seven days free' WHERE code = '7_days_free'`,
		`UPDATE user_promo_codes SET usage_count = usage_count + 1 WHERE code = '7_days_free'`,
		`DELETE FROM user_promo_codes`, `DELETE FROM promo_codes`, `DELETE FROM vehicle_location_histories`,
		`DELETE FROM rides`, `DELETE FROM vehicles`, `DELETE FROM users`,
	} {
		it.exec(sql)
	}
	msgs := it.consumeUntil(topics, 45*time.Second, func(m []msg) bool { return len(m) >= 18 })
	slices.SortStableFunc(msgs, func(a, b msg) int {
		if c := strings.Compare(a.topic, b.topic); c != 0 {
			return c
		}
		return int(a.offset - b.offset)
	})
	wantKeys := map[string]string{
		"users":                      string(load.AppendKey(nil, "amsterdam", user)),
		"vehicles":                   string(load.AppendKey(nil, "amsterdam", veh)),
		"rides":                      string(load.AppendKey(nil, "amsterdam", ride)),
		"vehicle_location_histories": string(load.AppendKey(nil, "amsterdam", ride, tsKey)),
		"promo_codes":                string(load.AppendKey(nil, "7_days_free")),
		"user_promo_codes":           string(load.AppendKey(nil, "amsterdam", user, "7_days_free")),
	}
	var b strings.Builder
	for _, m := range msgs {
		table := strings.TrimPrefix(m.topic, it.prefix)
		if m.key != wantKeys[table] {
			t.Errorf("%s key %s, want load.AppendKey's %s", table, m.key, wantKeys[table])
		}
		val := hlcRE.ReplaceAllString(m.value, `"$1": "<HLC>"`)
		fmt.Fprintf(&b, "%s\n  key:   %s\n  value: %s\n", table, m.key, strings.ReplaceAll(val, schema, "<S>"))
	}
	if !golden.Check(t, filepath.Join("testdata", "movr.golden"), []byte(b.String())) {
		t.FailNow()
	}
}
