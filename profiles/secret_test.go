package profiles

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// assertNoSecrets renders p every way it could be shown and fails if a test secret appears.
func assertNoSecrets(t *testing.T, p *Profile) {
	t.Helper()
	js, err := json.Marshal(p.Redacted())
	if err != nil {
		t.Fatal(err)
	}
	y, err := p.RedactedYAML()
	if err != nil {
		t.Fatal(err)
	}
	direct, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	directYAML, err := yaml.Marshal(p.IdP)
	if err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("profile", "idp", p.IdP, "secret", p.IdP.ClientSecret, "db", p.Database)
	renderings := map[string]string{
		"Redacted JSON": string(js), "RedactedYAML": string(y), "json.Marshal": string(direct),
		"yaml.Marshal": string(directYAML), "slog": logBuf.String(),
		"%v": fmt.Sprintf("%v", p), "%+v": fmt.Sprintf("%+v", p), "%#v": fmt.Sprintf("%#v", p),
		"%v value": fmt.Sprintf("%v", *p), "%+v value": fmt.Sprintf("%+v", *p), "%s": fmt.Sprintf("%s", p.IdP.ClientSecret),
		"%q": fmt.Sprintf("%q", p.Changefeed.Sink.ClientSecret), "%x": fmt.Sprintf("%x", p.IdP.ClientSecret),
		"String": p.IdP.ClientSecret.String() + p.Database.URLFromFile.String(),
	}
	for name, s := range renderings {
		for _, secret := range testSecrets {
			if strings.Contains(s, secret) {
				i := strings.Index(s, secret)
				t.Errorf("%s shows secret %q: …%s…", name, secret, s[max(0, i-80):min(len(s), i+len(secret)+20)])
			}
		}
	}
}

func TestSecretsNeverShown(t *testing.T) {
	for _, name := range []string{"local", "okta-staging"} {
		t.Run(name, func(t *testing.T) {
			p, err := Load(name, testGetenv)
			if err != nil {
				t.Fatal(err)
			}
			// The secrets were read, so the absence below means something.
			if p.IdP.ClientSecret.Reveal() == "" || p.Changefeed.Sink.ClientSecret.Reveal() == "" {
				t.Fatalf("secrets not read: %q %q", p.IdP.ClientSecret.Source(), p.Changefeed.Sink.ClientSecret.Source())
			}
			assertNoSecrets(t, p)
		})
	}
}

func TestSecretSources(t *testing.T) {
	p, err := Load("local", testGetenv)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.IdP.ClientSecret.Reveal(); got != "consumer-S3CRET-from-file" {
		t.Errorf("consumer secret %q: want the file's content, trimmed", got)
	}
	if got := p.Changefeed.Sink.ClientSecret.Reveal(); got != "producer-S3CRET-from-file" {
		t.Errorf("producer secret %q: want the file's content, trimmed", got)
	}
	if got := p.IdP.ClientSecret.Source(); got != "file testdata/secrets/consumer-client-secret" {
		t.Errorf("source %q", got)
	}
	o, err := Load("okta-staging", testGetenv)
	if err != nil {
		t.Fatal(err)
	}
	if got := o.IdP.ClientSecret.Reveal(); got != "consumer-S3CRET-from-env" {
		t.Errorf("okta consumer secret %q: want $CFBENCH_CLIENT_SECRET", got)
	}
	if got := o.Changefeed.Sink.ClientSecret.Source(); got != "environment variable CFBENCH_PRODUCER_CLIENT_SECRET" {
		t.Errorf("source %q", got)
	}
}

func TestRedactedDatabasePassword(t *testing.T) {
	p, err := Load("local", testGetenv)
	if err != nil {
		t.Fatal(err)
	}
	// A profile built or changed in code can carry a password that Load would have refused.
	p.Database.URL = "postgres://cfbench:PG-PASSW0RD@127.0.0.1:25432/cfbench?sslmode=disable"
	assertNoSecrets(t, p)
	db := p.Redacted()["database"].(map[string]any)
	if got := db["url"]; got != "postgres://cfbench:redacted@127.0.0.1:25432/cfbench?sslmode=disable" {
		t.Errorf("url %q", got)
	}
	p.Database.URL = "postgres://cfbench@h:1/db?password=PG-PASSW0RD"
	assertNoSecrets(t, p)
	if p.Database.URL != "postgres://cfbench@h:1/db?password=PG-PASSW0RD" {
		t.Errorf("Redacted changed the profile")
	}
}

func TestRedactedShape(t *testing.T) {
	p, err := Load("local-matrix-flush", testGetenv)
	if err != nil {
		t.Fatal(err)
	}
	m := p.Redacted()
	js, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	w := back["workload"].(map[string]any)
	if w["duration"] != "30s" || w["rate"] != float64(200) || w["repetitions"] != float64(5) {
		t.Errorf("workload %v", w)
	}
	f := back["changefeed"].(map[string]any)["kafka_sink_config"].(map[string]any)["Flush"].(map[string]any)
	if f["Frequency"] != "0s" {
		t.Errorf("Flush %v", f)
	}
	mx := back["matrix"].(map[string]any)["changefeed.kafka_sink_config.Flush.Frequency"].([]any)
	if fmt.Sprint(mx) != "[0s 50ms 500ms]" {
		t.Errorf("matrix %v", mx)
	}
	idp := back["idp"].(map[string]any)
	if _, ok := idp["client_secret"]; ok {
		t.Errorf("idp has a client_secret key: %v", idp)
	}
	if idp["client_secret_file"] != "testdata/secrets/consumer-client-secret" {
		t.Errorf("client_secret_file %v: the file's name is not a secret and helps reproduce a run", idp["client_secret_file"])
	}
}
