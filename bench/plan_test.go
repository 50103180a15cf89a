package bench

import (
	"encoding/base64"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cfbench/cfbench/profiles"

	"github.com/cfbench/cfbench/internal/golden"
)

// planEnv is a fake environment with every variable the embedded examples read; the secret
// files hold known secrets so the test can check they never reach the display form.
func planEnv(t *testing.T) func(string) string {
	dir := t.TempDir()
	write := func(name, v string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := map[string]string{
		"CFBENCH_PG_URL":                      "postgres://cfbench@127.0.0.1:25432/cfbench?sslmode=disable",
		"CFBENCH_KAFKA_BROKERS":               "127.0.0.1:29093",
		"CFBENCH_TOKEN_URL":                   "http://127.0.0.1:24444/oauth2/token",
		"CFBENCH_TOKEN_AUDIENCE":              "cfbench-kafka",
		"CFBENCH_CLIENT_ID":                   "cfbench-consumer",
		"CFBENCH_CLIENT_SECRET_FILE":          write("consumer", "consumer-secret-xyzzy"),
		"CFBENCH_PRODUCER_CLIENT_ID":          "cfbench-producer",
		"CFBENCH_PRODUCER_CLIENT_SECRET_FILE": write("producer", "producer-secret-plugh"),
		"CFBENCH_CRDB_URL":                    "postgres://cfbench@crdb.staging.example:26257/movr?sslmode=verify-full",
		"CFBENCH_OKTA_DOMAIN":                 "dev-123456.okta.com",
		"CFBENCH_CLIENT_SECRET":               "okta-consumer-secret-xyzzy",
		"CFBENCH_PRODUCER_CLIENT_SECRET":      "okta-producer-secret-plugh",
		"CFBENCH_TLS_KAFKA_BROKERS":           "127.0.0.1:29096",
		"CFBENCH_TLS_TOKEN_URL":               "https://127.0.0.1:24446/oauth2/token",
		"CFBENCH_TLS_CA_FILE":                 filepath.Join("..", "profiles", "testdata", "tls", "ca.pem"),
	}
	return func(k string) string { return env[k] }
}

// TestPlanGolden pins the changefeed statements (display form) and WITH clause of every
// embedded example profile, and checks no secret reaches the display form.
func TestPlanGolden(t *testing.T) {
	getenv := planEnv(t)
	for _, ex := range profiles.Examples() {
		t.Run(ex.Name, func(t *testing.T) {
			p, err := profiles.Load(ex.Name, getenv)
			if err != nil {
				t.Fatal(err)
			}
			pl, err := NewPlan(p)
			if err != nil {
				t.Fatal(err)
			}
			got := "-- profile " + ex.Name + " (changefeed.mode " + p.Changefeed.Mode + ")\n" +
				"-- WITH " + pl.With + "\n" +
				"-- topics " + strings.Join(pl.Topics, ", ") + "\n" + pl.SQL()
			if pl.Sink.Scheme != "" {
				got += "-- sink " + pl.Sink.Redacted() + "\n"
			}
			for _, secret := range []string{"xyzzy", "plugh"} {
				if strings.Contains(got, secret) {
					t.Fatalf("a secret reached the display form:\n%s", got)
				}
			}
			if p.Changefeed.Mode == profiles.ModeCreate {
				// The statement that holds the sink URI must carry the real secret, base64-encoded
				// and query-escaped, as CockroachDB wants it.
				exec := pl.Create.SQL
				if pl.ExternalConnection != nil {
					exec = pl.ExternalConnection.SQL
				}
				want := url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(p.Changefeed.Sink.ClientSecret.Reveal())))
				if !strings.Contains(exec, "sasl_client_secret="+want) {
					t.Errorf("the executable statement lacks the base64 secret %s", want)
				}
			}
			path := filepath.Join("testdata", "plan", ex.Name+".sql")
			golden.Check(t, path, []byte(got))
		})
	}
}
