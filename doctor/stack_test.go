package doctor

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cfbench/cfbench/internal/stacktest"
	"github.com/cfbench/cfbench/profiles"
)

// loadProfile writes yaml (which extends the embedded local profile) to a temporary file and
// loads it with the stack's environment.
func loadProfile(t *testing.T, yaml string) *profiles.Profile {
	t.Helper()
	path := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := profiles.Load(path, os.Getenv)
	if err != nil {
		t.Fatalf("loading the profile: %v", err)
	}
	return p
}

func runDoctor(t *testing.T, p *profiles.Profile) Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := Run(ctx, Options{Profile: p, StepTimeout: 10 * time.Second, ClockSamples: 10})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, s := range rep.Steps {
		_ = WriteStep(&b, s)
	}
	t.Logf("doctor output:\n%s", b.String())
	for _, secret := range []string{p.IdP.ClientSecret.Reveal(), p.Changefeed.Sink.ClientSecret.Reveal()} {
		if secret != "" && strings.Contains(b.String(), secret) {
			t.Error("a client secret appears in the doctor's output")
		}
	}
	return rep
}

func wantStep(t *testing.T, rep Report, name string, status Status, contains ...string) Step {
	t.Helper()
	s, ok := rep.Find(name)
	if !ok {
		t.Fatalf("no step %q", name)
	}
	if s.Status != status {
		t.Errorf("step %q: %s, want %s\n%s\nfix: %s", s.Name, s.Status, status, s.Detail, s.Fix)
	}
	for _, c := range contains {
		if !strings.Contains(s.Detail+"\n"+s.Fix, c) {
			t.Errorf("step %q: want %q in\n%s\nfix: %s", s.Name, c, s.Detail, s.Fix)
		}
	}
	return s
}

func TestDoctorStack(t *testing.T) {
	st := stacktest.Require(t)
	badSecret := filepath.Join(t.TempDir(), "bad-secret")
	if err := os.WriteFile(badSecret, []byte("not-the-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("healthy", func(t *testing.T) {
		rep := runDoctor(t, loadProfile(t, "extends: local\n"))
		if !rep.OK() {
			t.Error("the healthy local stack fails a step")
		}
		for _, name := range []string{"kafka dns+tcp", "idp token request", "token claims", "kafka sasl/oauthbearer handshake",
			"changefeed sink token", "database connect", "postgresql logical replication", "clock offset"} {
			wantStep(t, rep, name, Pass)
		}
		wantStep(t, rep, "token claims", Pass, "aud ["+st.Audience+"]", "sub "+st.ClientID)
		// Topics exist once a run or pgfeed has created them; otherwise a warning, never a failure.
		if s, _ := rep.Find("kafka topics"); s.Status != Pass && s.Status != Warn {
			t.Errorf("kafka topics: %s", s.Status)
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		rep := runDoctor(t, loadProfile(t, "extends: local\nidp:\n  client_secret_file: "+badSecret+"\n"))
		if rep.OK() {
			t.Error("doctor passes with a wrong client secret")
		}
		wantStep(t, rep, "idp token request", Fail, "invalid_client", "idp.client_secret_file")
		wantStep(t, rep, "kafka sasl/oauthbearer handshake", Skip)
	})
	t.Run("audience not allowed for the client", func(t *testing.T) {
		rep := runDoctor(t, loadProfile(t, "extends: local\nidp:\n  audience: other\n"))
		if rep.OK() {
			t.Error("doctor passes with an audience the IdP refuses")
		}
		// Hydra: invalid_request "Requested audience 'other' has not been whitelisted by the OAuth 2.0 Client."
		wantStep(t, rep, "idp token request", Fail, "invalid_request", `audience "other"`)
	})
	// A broker whose JVM may not fetch the IdP's JWKS (org.apache.kafka.sasl.oauthbearer.allowed.urls
	// without it; deploy/local/stack's CFBENCH_KAFKA_ALLOWED_URLS) does not start at all in
	// Kafka 4.1: "The URL cannot be accessed due to restrictions", fatal at start-up. So the
	// doctor sees nothing listening: the TCP step fails and its fix names the allowed URLs.
	t.Run("broker down (JWKS not allowed)", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		rep := runDoctor(t, loadProfile(t, "extends: local\nkafka:\n  brokers: [\""+addr+"\"]\n"))
		if rep.OK() {
			t.Error("doctor passes with no broker")
		}
		wantStep(t, rep, "kafka dns+tcp "+addr, Fail, "connection refused", "allowed.urls")
		wantStep(t, rep, "kafka sasl/oauthbearer handshake", Skip, "no broker reachable")
	})
	t.Run("token without audience", func(t *testing.T) {
		rep := runDoctor(t, loadProfile(t, "extends: local\nidp:\n  audience: \"\"\n"))
		if rep.OK() {
			t.Error("doctor passes with a token the broker rejects")
		}
		wantStep(t, rep, "token claims", Warn, "aud []")
		wantStep(t, rep, "kafka sasl/oauthbearer handshake", Fail,
			`broker rejected the token: audience [] does not match "`+st.Audience+`"`, "invalid_token", "idp.audience")
	})
}
