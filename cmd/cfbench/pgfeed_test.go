package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cfbench/cfbench/changefeed"
	"github.com/cfbench/cfbench/internal/stacktest"
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5"
)

const testSecret = "s3cr3t-value"

func TestPgfeedUsageErrors(t *testing.T) {
	t.Setenv(sinkURIEnv, "")
	good := "kafka://127.0.0.1:9092?sasl_enabled=true&sasl_mechanism=OAUTHBEARER&sasl_client_id=c&sasl_client_secret=czNjcjN0LXZhbHVl&sasl_token_url=http%3A%2F%2F127.0.0.1%3A1%2Ftoken"
	file := filepath.Join(t.TempDir(), "sink")
	if err := os.WriteFile(file, []byte(good+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := "postgres://u@127.0.0.1:1/db"
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no tables", []string{"pgfeed", "--source", src, "--sink", good}, exitUsage, "no --tables"},
		{"no sink", []string{"pgfeed", "--source", src, "--tables", "t"}, exitUsage, "no sink URI"},
		{"sink twice", []string{"pgfeed", "--source", src, "--tables", "t", "--sink", good, "--sink-file", file}, exitUsage, "not both"},
		{"secret not base64", []string{"pgfeed", "--source", src, "--tables", "t", "--sink", strings.Replace(good, "czNjcjN0LXZhbHVl", "%21%21%21", 1)}, exitUsage, "decoding client secret"},
		{"sasl without enabled", []string{"pgfeed", "--source", src, "--tables", "t", "--sink", "kafka://h:1?sasl_mechanism=PLAIN"}, exitUsage, "sasl_enabled must be enabled to configure SASL mechanism"},
		{"unknown param", []string{"pgfeed", "--source", src, "--tables", "t", "--sink", good + "&foo=bar"}, exitUsage, "unknown kafka sink query parameters: [foo]"},
		{"bad with", []string{"pgfeed", "--source", src, "--tables", "t", "--sink-file", file, "--with", "envelope=bare"}, exitUsage, "envelope"},
		{"initial scan", []string{"pgfeed", "--source", src, "--tables", "t", "--sink-file", file, "--with", "initial_scan='yes'"}, exitUsage, "initial_scan=yes is not supported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), tc.args, &out, &errb)
			if err == nil {
				t.Fatalf("no error; stdout %q", out.String())
			}
			if got := exitCode(err); got != tc.code {
				t.Errorf("exit code %d, want %d (%v)", got, tc.code, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			for _, s := range []string{err.Error(), out.String(), errb.String()} {
				if strings.Contains(s, testSecret) || strings.Contains(s, "czNjcjN0LXZhbHVl") {
					t.Errorf("secret leaked: %q", s)
				}
			}
		})
	}
}

// TestPgfeedCommand runs `cfbench pgfeed` in-process against the local stack with the sink URI
// in a file, writes a row, interrupts it and checks the final stats and --cleanup.
func TestPgfeedCommand(t *testing.T) {
	st := stacktest.Require(t)
	ctx := context.Background()
	db, err := pgx.Connect(ctx, st.PGURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	id := fmt.Sprintf("pgf_cmd_%d", time.Now().UnixNano()%1_000_000)
	if _, err := db.Exec(ctx, `CREATE TABLE `+id+` (k INT PRIMARY KEY, v TEXT)`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = db.Exec(context.Background(), `DROP TABLE IF EXISTS `+id)
		if admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": st.KafkaAdminBrokers}); err == nil {
			dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, _ = admin.DeleteTopics(dctx, []string{id + "_" + id})
			cancel()
			admin.Close()
		}
	})
	secret := stacktest.Secret(t, st.ProducerClientSecretFile)
	u, err := changefeed.OAuthSink{Brokers: []string{st.KafkaBrokers}, TopicPrefix: id + "_", ClientID: st.ProducerClientID,
		ClientSecret: secret, TokenURL: st.TokenURL, Scopes: []string{"kafka"}}.SinkURI()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "sink")
	if err := os.WriteFile(file, []byte(u.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var out, errb bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(rctx, []string{"pgfeed", "--source", st.PGURL, "--tables", id, "--sink-file", file, "--name", id,
			"--with", "updated", "--token-audience", st.Audience, "--topic-partitions", "1", "--cleanup", "--stats-interval", "0"}, &out, &errb)
	}()
	for deadline := time.Now().Add(30 * time.Second); ; {
		var active bool
		if db.QueryRow(ctx, `SELECT active FROM pg_replication_slots WHERE slot_name = $1`, "pgfeed_"+id).Scan(&active) == nil && active {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("pgfeed exited early: %v\n%s", err, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot not active after 30s\n%s", errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := db.Exec(ctx, `INSERT INTO `+id+` VALUES (1, 'one')`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("pgfeed: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "rows 1  messages 1 ") {
		t.Errorf("final stats %q: want rows 1 messages 1", out.String())
	}
	for _, s := range []string{out.String(), errb.String()} {
		if strings.Contains(s, secret) || strings.Contains(s, u.String()) {
			t.Error("output contains the secret or the unredacted URI")
		}
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1`, "pgfeed_"+id).Scan(&n); err != nil || n != 0 {
		t.Errorf("--cleanup left the slot (%d, %v)", n, err)
	}
}
