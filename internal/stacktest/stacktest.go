// Package stacktest gives integration tests the address of the real local stack
// (deploy/local/stack): PostgreSQL, Ory Hydra and Kafka on 127.0.0.1.
//
// `make test` starts the stack, exports `deploy/local/stack env` and sets CFBENCH_INTEGRATION=1.
// Without it, integration tests are skipped under plain `go test ./...`; with CI=true they fail
// instead, so CI can never pass by skipping them.
package stacktest

import (
	"os"
	"strings"
	"testing"
)

// Stack holds the local stack's coordinates, read from the environment `stack env` prints.
// Secrets are held as file paths, never as values.
type Stack struct {
	PGURL                    string // CFBENCH_PG_URL: postgres://… on 127.0.0.1
	KafkaBrokers             string // CFBENCH_KAFKA_BROKERS: the SASL_PLAINTEXT/OAUTHBEARER listener
	KafkaAdminBrokers        string // CFBENCH_KAFKA_ADMIN_BROKERS: the PLAINTEXT listener
	TokenURL                 string // CFBENCH_TOKEN_URL: Hydra's token endpoint
	ClientID                 string // CFBENCH_CLIENT_ID: consumer client
	ClientSecretFile         string // CFBENCH_CLIENT_SECRET_FILE
	ProducerClientID         string // CFBENCH_PRODUCER_CLIENT_ID: changefeed (pgfeed) client
	ProducerClientSecretFile string // CFBENCH_PRODUCER_CLIENT_SECRET_FILE
	Audience                 string // CFBENCH_TOKEN_AUDIENCE: the audience Kafka expects
	HydraAdminURL            string // CFBENCH_HYDRA_ADMIN_URL: Hydra's admin API
	StateDir                 string // CFBENCH_STATE_DIR: the stack's state directory
	StackScript              string // CFBENCH_STACK: path of deploy/local/stack

	// The TLS instance (`stack up --tls`): the same clients and secrets, over SASL_SSL and https.
	TLSKafkaBrokers      string // CFBENCH_TLS_KAFKA_BROKERS: the SASL_SSL/OAUTHBEARER listener
	TLSKafkaAdminBrokers string // CFBENCH_TLS_KAFKA_ADMIN_BROKERS: its broker's PLAINTEXT listener
	TLSTokenURL          string // CFBENCH_TLS_TOKEN_URL: Hydra's token endpoint over https
	TLSCAFile            string // CFBENCH_TLS_CA_FILE: the local CA that signed both certificates
}

// Require returns the stack, or skips the test (fails it when CI=true) if the stack is not
// configured.
func Require(t testing.TB) Stack {
	t.Helper()
	if os.Getenv("CFBENCH_INTEGRATION") != "1" {
		if os.Getenv("CI") == "true" {
			t.Fatal("integration test needs the local stack: run it through `make test` (CFBENCH_INTEGRATION is not set)")
		}
		t.Skip("integration test: run `make test` (it starts the local stack and sets CFBENCH_INTEGRATION=1)")
	}
	s := Stack{
		PGURL:                    os.Getenv("CFBENCH_PG_URL"),
		KafkaBrokers:             os.Getenv("CFBENCH_KAFKA_BROKERS"),
		KafkaAdminBrokers:        os.Getenv("CFBENCH_KAFKA_ADMIN_BROKERS"),
		TokenURL:                 os.Getenv("CFBENCH_TOKEN_URL"),
		ClientID:                 os.Getenv("CFBENCH_CLIENT_ID"),
		ClientSecretFile:         os.Getenv("CFBENCH_CLIENT_SECRET_FILE"),
		ProducerClientID:         os.Getenv("CFBENCH_PRODUCER_CLIENT_ID"),
		ProducerClientSecretFile: os.Getenv("CFBENCH_PRODUCER_CLIENT_SECRET_FILE"),
		Audience:                 os.Getenv("CFBENCH_TOKEN_AUDIENCE"),
		HydraAdminURL:            os.Getenv("CFBENCH_HYDRA_ADMIN_URL"),
		StateDir:                 os.Getenv("CFBENCH_STATE_DIR"),
		StackScript:              os.Getenv("CFBENCH_STACK"),
		TLSKafkaBrokers:          os.Getenv("CFBENCH_TLS_KAFKA_BROKERS"),
		TLSKafkaAdminBrokers:     os.Getenv("CFBENCH_TLS_KAFKA_ADMIN_BROKERS"),
		TLSTokenURL:              os.Getenv("CFBENCH_TLS_TOKEN_URL"),
		TLSCAFile:                os.Getenv("CFBENCH_TLS_CA_FILE"),
	}
	for name, v := range map[string]string{
		"CFBENCH_PG_URL": s.PGURL, "CFBENCH_KAFKA_BROKERS": s.KafkaBrokers,
		"CFBENCH_KAFKA_ADMIN_BROKERS": s.KafkaAdminBrokers, "CFBENCH_TOKEN_URL": s.TokenURL,
		"CFBENCH_CLIENT_ID": s.ClientID, "CFBENCH_CLIENT_SECRET_FILE": s.ClientSecretFile,
		"CFBENCH_PRODUCER_CLIENT_ID": s.ProducerClientID, "CFBENCH_PRODUCER_CLIENT_SECRET_FILE": s.ProducerClientSecretFile,
		"CFBENCH_TOKEN_AUDIENCE": s.Audience,
	} {
		if v == "" {
			t.Fatalf("%s is empty: eval \"$(deploy/local/stack env)\" first", name)
		}
	}
	return s
}

// RequireTLS is Require for tests of the TLS instance (`deploy/local/stack up --tls`, which
// `make test` starts): it fails the test when the instance's coordinates or CA are missing.
func RequireTLS(t testing.TB) Stack {
	t.Helper()
	s := Require(t)
	if s.TLSKafkaBrokers == "" || s.TLSTokenURL == "" || s.TLSCAFile == "" || s.TLSKafkaAdminBrokers == "" {
		t.Fatal("CFBENCH_TLS_* is empty: eval \"$(deploy/local/stack env)\" first")
	}
	if _, err := os.Stat(s.TLSCAFile); err != nil {
		t.Fatalf("the local CA is missing (%v): start the TLS instance with `deploy/local/stack up --tls`", err)
	}
	return s
}

// Secret reads a secret file named by the stack (mode 0600) and returns its trimmed contents.
func Secret(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading secret file: %v", err)
	}
	return strings.TrimSpace(string(b))
}
