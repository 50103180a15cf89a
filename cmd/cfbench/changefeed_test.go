package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cfbench/cfbench/internal/golden"
)

const cfTestSecret = "hydra-secret>>>???"

// cfTestURI is the local profile's sink URI with the given query edits.
func cfTestURI(edit func(q url.Values)) string {
	q := url.Values{}
	q.Set("sasl_enabled", "true")
	q.Set("sasl_mechanism", "OAUTHBEARER")
	q.Set("sasl_client_id", "cfbench-producer")
	q.Set("sasl_client_secret", base64.StdEncoding.EncodeToString([]byte(cfTestSecret)))
	q.Set("sasl_token_url", "http://127.0.0.1:24444/oauth2/token")
	q.Add("sasl_scopes", "kafka")
	q.Set("topic_prefix", "cfbench_")
	if edit != nil {
		edit(q)
	}
	return "kafka://127.0.0.1:29093?" + q.Encode()
}

// TestChangefeedCommands runs `cfbench changefeed …` in-process and compares stdout, stderr, the
// error main would print and the exit code with testdata/changefeed/<name>.golden.
func TestChangefeedCommands(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
	}{
		{"check-uri-ok", []string{"changefeed", "check-uri", cfTestURI(nil)}, ""},
		{"check-uri-stdin", []string{"changefeed", "check-uri", "-"}, cfTestURI(func(q url.Values) { q.Add("sasl_scopes", "openid") }) + "\n"},
		{"check-uri-plain-tls", []string{"changefeed", "check-uri", "kafka://b1:9093,b2:9093?tls_enabled=true&sasl_enabled=true&sasl_mechanism=SCRAM-SHA-512&sasl_user=cf&sasl_password=hunter2&topic_name=all"}, ""},
		{"check-uri-missing-secret", []string{"changefeed", "check-uri", cfTestURI(func(q url.Values) { q.Del("sasl_client_secret") })}, ""},
		{"check-uri-secret-not-base64", []string{"changefeed", "check-uri", cfTestURI(func(q url.Values) { q.Set("sasl_client_secret", cfTestSecret) })}, ""},
		{"check-uri-without-sasl-enabled", []string{"changefeed", "check-uri", cfTestURI(func(q url.Values) { q.Del("sasl_enabled"); q.Del("sasl_mechanism") })}, ""},
		{"check-uri-wrong-mechanism", []string{"changefeed", "check-uri", cfTestURI(func(q url.Values) {
			q.Set("sasl_mechanism", "PLAIN")
			q.Set("sasl_user", "u")
			q.Set("sasl_password", "p")
		})}, ""},
		{"check-uri-unknown-param", []string{"changefeed", "check-uri", cfTestURI(func(q url.Values) { q.Set("kafka_topic_prefix", "x") })}, ""},
		{"check-uri-no-args", []string{"changefeed", "check-uri"}, ""},
		{"check-options-ok", []string{"changefeed", "check-options", `updated, resolved=1s, diff, kafka_sink_config='{"Flush":{"Frequency":"50ms"}}'`}, ""},
		{"check-options-error", []string{"changefeed", "check-options", `updated, resolved='1s', envelope='key_only'`}, ""},
		{"check-options-flush-rule", []string{"changefeed", "check-options", `kafka_sink_config='{"Flush":{"Bytes":1048576}}'`}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			root := newRootCmd(&stdout, &stderr)
			root.SetIn(strings.NewReader(tc.stdin))
			root.SetArgs(tc.args)
			err := root.ExecuteContext(context.Background())
			var got strings.Builder
			fmt.Fprintf(&got, "# stdout\n%s# stderr\n%s", stdout.String(), stderr.String())
			if err != nil {
				var ee *exitError
				if !errors.As(err, &ee) || ee.msg != "" {
					fmt.Fprintf(&got, "# printed by main\ncfbench: %v\n", err)
				}
			}
			fmt.Fprintf(&got, "# exit code %d\n", cfExitCode(err))
			out := got.String()
			for _, secret := range []string{cfTestSecret, base64.StdEncoding.EncodeToString([]byte(cfTestSecret)),
				url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(cfTestSecret))), "hunter2"} {
				if strings.Contains(out, secret) {
					t.Fatalf("output shows a secret (%q):\n%s", secret, out)
				}
			}
			checkChangefeedGolden(t, tc.name+".golden", out)
		})
	}
}

func cfExitCode(err error) int {
	if err == nil {
		return exitOK
	}
	return exitCode(err)
}

func checkChangefeedGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", "changefeed", name), []byte(got))
}
