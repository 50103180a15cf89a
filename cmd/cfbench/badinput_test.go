package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cfbench/cfbench/internal/stacktest"
)

// TestRunBadInput runs `cfbench run` in-process with one wrong input at a time, each a profile
// that extends local (or local-tls, the stack's TLS instance) and overrides one field. Each must fail within seconds with one error that
// names the input and says what to do, and with the exit code the README documents.
func TestRunBadInput(t *testing.T) {
	stacktest.Require(t)
	const wrongSecret = "not-the-client-secret-7f3a9c"
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "wrong-secret")
	if err := os.WriteFile(secretFile, []byte(wrongSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!DOCTYPE html><html><body><h1>Sign in</h1><form>…</form></body></html>")
	}))
	defer html.Close()
	// A CA that signed nothing the stack serves. The TLS cases need `stack up --tls`.
	wrongCA := stacktest.WrongCA(t)

	for _, tc := range []struct {
		name    string
		base    string   // the profile extended; default local
		profile string   // YAML after "extends: <base>"
		code    int      // exit code
		want    []string // substrings of the error
	}{
		{
			name:    "wrong-client-secret",
			profile: "idp:\n  client_secret_file: " + secretFile + "\n",
			code:    exitPreflight,
			want:    []string{"idp:", "401", "invalid_client", "check the client id and secret"},
		},
		{
			name:    "wrong-token-url",
			profile: "idp:\n  token_url: http://127.0.0.1:1/oauth2/token\n",
			code:    exitPreflight,
			want:    []string{"idp:", "http://127.0.0.1:1/oauth2/token", "connection refused", "is the IdP running"},
		},
		{
			name:    "idp-returns-html",
			profile: "idp:\n  token_url: " + html.URL + "/oauth2/token\n",
			code:    exitPreflight,
			want:    []string{"idp:", html.URL + "/oauth2/token", "text/html, not a token", "is the token URL right"},
		},
		{
			name:    "unreachable-broker",
			profile: "kafka:\n  brokers: [\"127.0.0.1:1\"]\n",
			code:    exitPreflight,
			want:    []string{"kafka:", "127.0.0.1:1", "is Kafka running there"},
		},
		{
			name:    "missing-topic",
			profile: "kafka:\n  topics: [cfbench_badinput_no_such_topic]\n",
			code:    exitPreflight,
			want:    []string{"kafka:", "cfbench_badinput_no_such_topic", "not found", "check kafka.topics"},
		},
		{
			name:    "invalid-profile",
			profile: "workload:\n  rate: fast\n",
			code:    exitUsage,
			want:    []string{"badinput.yaml:4", "workload.rate", "want a number of ops/s", `"fast"`},
		},
		{
			name:    "database-refuses-connections",
			profile: "database:\n  url: postgres://cfbench@127.0.0.1:1/cfbench?sslmode=disable\n",
			code:    exitPreflight,
			want:    []string{"database:", "127.0.0.1:1", "connection refused", "is the database running"},
		},
		{
			name:    "idp-wrong-ca",
			base:    "local-tls",
			profile: "idp:\n  ca_file: " + wrongCA + "\n",
			code:    exitPreflight,
			want:    []string{"idp:", "https://", "certificate signed by unknown authority", "not signed by a CA in " + wrongCA, "set idp.ca_file"},
		},
		{
			name:    "kafka-wrong-ca",
			base:    "local-tls",
			profile: "kafka:\n  ca_file: " + wrongCA + "\n",
			code:    exitPreflight,
			want:    []string{"kafka:", "TLS handshake with", "certificate signed by unknown authority", "set kafka.ca_file"},
		},
		{
			name:    "sink-wrong-ca",
			base:    "local-tls",
			profile: "changefeed:\n  sink:\n    ca_file: " + wrongCA + "\n",
			code:    exitPreflight,
			want:    []string{"changefeed sink:", "TLS handshake with", "certificate signed by unknown authority", "set changefeed.sink.ca_file"},
		},
		{
			name:    "sink-token-wrong-ca",
			base:    "local-tls",
			profile: "changefeed:\n  sink:\n    token_ca_file: " + wrongCA + "\n",
			code:    exitPreflight,
			want:    []string{"changefeed sink:", "token URL https://", "certificate signed by unknown authority", "set changefeed.sink.token_ca_file"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := cmp.Or(tc.base, "local")
			if base == "local-tls" {
				stacktest.RequireTLS(t)
			}
			tdir := t.TempDir()
			profile := filepath.Join(tdir, "badinput.yaml")
			if err := os.WriteFile(profile, []byte("# one wrong field\nextends: "+base+"\n"+tc.profile), 0o644); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var stdout, stderr bytes.Buffer
			began := time.Now()
			err := run(ctx, []string{"run", "--profile", profile, "--duration", "5s", "--warmup", "0s", "--quiet",
				"--out", filepath.Join(tdir, "out")}, &stdout, &stderr)
			took := time.Since(began)
			if err == nil {
				t.Fatalf("no error\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			}
			msg := err.Error()
			t.Logf("exit %d after %v: cfbench: %s", exitCode(err), took.Round(time.Millisecond), msg)
			if got := exitCode(err); got != tc.code {
				t.Errorf("exit code %d, want %d", got, tc.code)
			}
			if took > 20*time.Second {
				t.Errorf("took %v, want < 20 s", took)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not contain %q", w)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans several lines, want one")
			}
			// One error: nothing else at error level on the terminal.
			if strings.Contains(stderr.String(), "level=ERROR") {
				t.Errorf("stderr has more errors than the one returned:\n%s", stderr.String())
			}
			for _, out := range []string{msg, stdout.String(), stderr.String()} {
				if strings.Contains(out, wrongSecret) {
					t.Errorf("the client secret appears in the output")
				}
			}
			if _, err := os.Stat(filepath.Join(tdir, "out", "result.json")); err == nil {
				t.Errorf("a result was written for a run that never measured")
			}
		})
	}
}
