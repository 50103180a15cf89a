package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cfbench/cfbench/internal/golden"
)

// profilesEnv is a fake `deploy/local/stack env`, with secret files under testdata/profiles.
func profilesEnv(t *testing.T) {
	t.Helper()
	env := map[string]string{
		"CFBENCH_PG_URL":                      "postgres://cfbench@127.0.0.1:25432/cfbench?sslmode=disable",
		"CFBENCH_KAFKA_BROKERS":               "127.0.0.1:29093",
		"CFBENCH_TOKEN_URL":                   "http://127.0.0.1:24444/oauth2/token",
		"CFBENCH_TOKEN_AUDIENCE":              "cfbench-kafka",
		"CFBENCH_CLIENT_ID":                   "cfbench-consumer",
		"CFBENCH_CLIENT_SECRET_FILE":          "testdata/profiles/secrets/consumer-client-secret",
		"CFBENCH_PRODUCER_CLIENT_ID":          "cfbench-producer",
		"CFBENCH_PRODUCER_CLIENT_SECRET_FILE": "testdata/profiles/secrets/producer-client-secret",
	}
	old := getenv
	getenv = func(k string) string { return env[k] }
	t.Cleanup(func() { getenv = old })
}

func checkProfilesGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", "profiles", name), got)
}

func TestProfilesList(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"profiles"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"local ", "okta-staging ", "local-flush-immediate ", "local-flush-batched ",
		"local-compression-zstd ", "local-acks-all ", "local-fetch-wait-low ", "local-fetch-wait-high ", "local-matrix-flush "} {
		if !strings.Contains(out.String(), "\n"+name) {
			t.Errorf("no %q in\n%s", name, out.String())
		}
	}
	if !strings.Contains(out.String(), "Okta") {
		t.Errorf("descriptions missing:\n%s", out.String())
	}
}

func TestProfilesShowLocal(t *testing.T) {
	profilesEnv(t)
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"profiles", "show", "local"}, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	if strings.Contains(out.String(), "S3CRET") {
		t.Fatalf("show prints a secret:\n%s", out.String())
	}
	checkProfilesGolden(t, "show-local.yaml", out.Bytes())
}

func TestProfilesCheck(t *testing.T) {
	profilesEnv(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "staging.yaml")
	if err := os.WriteFile(bad, []byte("extends: local\nworkload:\n  rate: fast\nkafka:\n  brokerz: [x]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"profiles", "check", "local-matrix-flush", bad}, &out, &errOut)
	if code := exitCode(err); code != exitUsage {
		t.Errorf("exit code %d (%v), want %d", code, err, exitUsage)
	}
	for _, want := range []string{
		"parsing --profile " + bad + `:3: workload.rate: want a number of ops/s, got "fast"`,
		"parsing --profile " + bad + ":5: unknown key 'brokerz' in kafka (allowed: brokers, security_protocol, ca_file, topics, topic_prefix, consumer, group_id); did you mean 'brokers'?",
	} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks\n  %s\ngot\n%s", want, errOut.String())
		}
	}
	if !strings.Contains(out.String(), "local-matrix-flush: ok (3 variants)") {
		t.Errorf("stdout %q", out.String())
	}

	out.Reset()
	errOut.Reset()
	if err := run(context.Background(), []string{"profiles", "check", "local"}, &out, &errOut); err != nil || out.String() != "local: ok\n" {
		t.Errorf("good profile: %v, %q %q", err, out.String(), errOut.String())
	}
}

func TestProfilesShowInvalid(t *testing.T) {
	profilesEnv(t)
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"profiles", "show", "okta-staging"}, &out, &errOut)
	if exitCode(err) != exitUsage || !strings.Contains(err.Error(), "embedded:okta-staging.yaml:20: database.url: environment variable CFBENCH_CRDB_URL is not set") {
		t.Errorf("got %d %v", exitCode(err), err)
	}
}
