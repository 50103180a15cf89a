package oauth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cfbench/cfbench/internal/stacktest"
	"golang.org/x/oauth2"
)

// TestHydraToken fetches a real token from the local stack's Hydra with audience cfbench-kafka
// and checks its claims and the measurements.
func TestHydraToken(t *testing.T) {
	st := stacktest.Require(t)
	src, err := New(Config{
		TokenURL: st.TokenURL, ClientID: st.ClientID, ClientSecret: stacktest.Secret(t, st.ClientSecretFile),
		Scopes: []string{"kafka"}, Audience: st.Audience, Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range 2 {
		tok, err := src.Fetch(ctx)
		if err != nil {
			t.Fatalf("fetch %d: %v", i, err)
		}
		c, err := ParseClaims(tok.AccessToken)
		if err != nil {
			t.Fatalf("ParseClaims: %v", err)
		}
		if !slices.Equal(c.Audience, []string{st.Audience}) {
			t.Errorf("aud = %q, want [%q]", c.Audience, st.Audience)
		}
		if !slices.Contains(c.Scopes, "kafka") {
			t.Errorf("scopes = %q, want kafka among them", c.Scopes)
		}
		if c.ExpiresAt.Before(time.Now()) || c.Lifetime() <= 0 || c.Algorithm == "" {
			t.Errorf("claims exp %s lifetime %s alg %q", c.ExpiresAt, c.Lifetime(), c.Algorithm)
		}
		t.Logf("fetch %d: sub %q iss %q aud %q scopes %q lifetime %s", i, c.Subject, c.Issuer, c.Audience, c.Scopes, c.Lifetime())
	}
	s := src.Stats()
	if s.Fetches != 2 || s.Failures != 0 || s.TokenFetch.TotalCount() != 2 || s.LastLifetime <= 0 || s.FirstToken <= 0 {
		t.Errorf("stats: fetches %d failures %d token_fetch %d lifetime %s first %s",
			s.Fetches, s.Failures, s.TokenFetch.TotalCount(), s.LastLifetime, s.FirstToken)
	}
	for i, e := range s.Events {
		if e.Server <= 0 || e.Server > e.Took {
			t.Errorf("event %d: server %s took %s", i, e.Server, e.Took)
		}
		t.Logf("event %d: took %s (dns %s connect %s tls %s server %s reused %v) lifetime %s",
			i, e.Took, e.DNS, e.Connect, e.TLS, e.Server, e.Reused, e.Lifetime)
	}
}

// TestHydraFailures: a wrong secret is invalid_client, an audience the client may not use is
// refused, both quickly and as idp_4xx.
func TestHydraFailures(t *testing.T) {
	st := stacktest.Require(t)
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	wrong := "wrong-" + hex.EncodeToString(b)
	secret := stacktest.Secret(t, st.ClientSecretFile)
	for _, tc := range []struct {
		name, secret, audience string
		style                  oauth2.AuthStyle
		codes                  []string
		hint                   string
	}{
		{"wrong secret", wrong, st.Audience, oauth2.AuthStyleInHeader, []string{"invalid_client"}, "check the client id and secret"},
		{"wrong audience", secret, "cfbench-not-allowed", oauth2.AuthStyleInHeader, []string{"invalid_request", "invalid_target"}, "check the audience"},
		// The stack registers its clients with token_endpoint_auth_method client_secret_basic:
		// the pinned params style must fail rather than silently retry in the header.
		{"params style", secret, st.Audience, oauth2.AuthStyleInParams, []string{"invalid_client"}, "accepts them as form parameters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := New(Config{TokenURL: st.TokenURL, ClientID: st.ClientID, ClientSecret: tc.secret,
				Scopes: []string{"kafka"}, Audience: tc.audience, AuthStyle: tc.style, Timeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = src.Fetch(context.Background())
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("failed after %s, want a quick answer", took)
			}
			var fe *FetchError
			if !errors.As(err, &fe) || fe.Class != ClassIdP4xx || !slices.Contains(tc.codes, fe.Code) {
				t.Fatalf("Fetch: %v, want an idp_4xx FetchError with one of %q", err, tc.codes)
			}
			if !strings.Contains(err.Error(), tc.hint) {
				t.Errorf("message %q lacks the hint %q", err, tc.hint)
			}
			if strings.Contains(err.Error(), tc.secret) {
				t.Errorf("message shows the secret")
			}
			t.Logf("%s", err)
		})
	}
}

// BenchmarkHydraFetch measures real token fetches from the local stack's Hydra, over a
// kept-alive connection, reporting token_fetch's p50 and p99.
func BenchmarkHydraFetch(b *testing.B) {
	st := stacktest.Require(b)
	src, err := New(Config{TokenURL: st.TokenURL, ClientID: st.ClientID, ClientSecret: stacktest.Secret(b, st.ClientSecretFile),
		Scopes: []string{"kafka"}, Audience: st.Audience})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := src.Fetch(ctx); err != nil {
			b.Fatal(err)
		}
	}
	h := src.Stats().TokenFetch
	b.ReportMetric(float64(h.ValueAtQuantile(50)), "p50-µs")
	b.ReportMetric(float64(h.ValueAtQuantile(99)), "p99-µs")
}
