// Package local_test checks the local stack itself (deploy/local/stack): the OAuth path from
// Hydra through Kafka's OAUTHBEARER listener works end to end, and is refused when it should be.
package local_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cfbench/cfbench/internal/stacktest"
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

func tokenConfig(s stacktest.Stack, secret string) *clientcredentials.Config {
	return &clientcredentials.Config{
		ClientID:       s.ClientID,
		ClientSecret:   secret,
		TokenURL:       s.TokenURL,
		Scopes:         []string{"kafka"},
		EndpointParams: url.Values{"audience": {s.Audience}},
		AuthStyle:      oauth2.AuthStyleInHeader,
	}
}

func TestTokenFromHydra(t *testing.T) {
	s := stacktest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	tok, err := tokenConfig(s, stacktest.Secret(t, s.ClientSecretFile)).Token(ctx)
	if err != nil {
		t.Fatalf("token from %s: %v", s.TokenURL, err)
	}
	claims := jwtClaims(t, tok.AccessToken)
	if got := fmt.Sprint(claims["aud"]); got != "["+s.Audience+"]" {
		t.Errorf("aud = %s, want [%s]", got, s.Audience)
	}
	if got := fmt.Sprint(claims["scp"]); !strings.Contains(got, "kafka") {
		t.Errorf("scp = %s, want it to contain kafka", got)
	}
	if life := time.Until(tok.Expiry); life <= 0 || life > 2*time.Hour {
		t.Errorf("token lifetime %v, want a short positive TTL", life)
	}
}

func TestWrongSecretIsRefusedQuickly(t *testing.T) {
	s := stacktest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	start := time.Now()
	_, err := tokenConfig(s, "definitely-not-the-secret").Token(ctx)
	if err == nil {
		t.Fatal("token fetched with a wrong secret")
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("want the IdP's answer (*oauth2.RetrieveError), got %T: %v", err, err)
	}
	if re.ErrorCode != "invalid_client" {
		t.Errorf("IdP error code = %q, want invalid_client (%v)", re.ErrorCode, err)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("refusal took %v", took)
	}
	if strings.Contains(err.Error(), "definitely-not-the-secret") {
		t.Error("the error repeats the client secret")
	}
}

// oauthConfig is the librdkafka configuration for the OAUTHBEARER listener; the token is
// supplied by the application on OAuthBearerTokenRefresh.
func oauthConfig(s stacktest.Stack, extra kafka.ConfigMap) *kafka.ConfigMap {
	cm := kafka.ConfigMap{
		"bootstrap.servers": s.KafkaBrokers,
		"security.protocol": "SASL_PLAINTEXT",
		"sasl.mechanisms":   "OAUTHBEARER",
	}
	for k, v := range extra {
		cm[k] = v
	}
	return &cm
}

func setToken(h kafka.Handle, tok *oauth2.Token, principal string) error {
	return h.SetOAuthBearerToken(kafka.OAuthBearerToken{
		TokenValue: tok.AccessToken,
		Expiration: tok.Expiry,
		Principal:  principal,
	})
}

// metadataAs asks the broker for metadata as an admin client of cfg holding tok (principal
// s.ClientID), waiting up to timeoutMs; it returns GetMetadata's error.
func metadataAs(t *testing.T, s stacktest.Stack, cfg *kafka.ConfigMap, tok *oauth2.Token, timeoutMs int) error {
	t.Helper()
	a, err := kafka.NewAdminClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := setToken(a, tok, s.ClientID); err != nil {
		t.Fatal(err)
	}
	_, err = a.GetMetadata(nil, true, timeoutMs)
	return err
}

func TestProduceConsumeThroughOAuthListener(t *testing.T) {
	s := stacktest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cc := tokenConfig(s, stacktest.Secret(t, s.ClientSecretFile))
	topic := fmt.Sprintf("smoke_%d", time.Now().UnixNano())

	p, err := kafka.NewProducer(oauthConfig(s, kafka.ConfigMap{"allow.auto.create.topics": true}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	value := []byte(`{"after": {"id": 1}, "updated": "1681240149199419939.0000000000"}`)
	if err := p.Produce(&kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
		Key:            []byte(`[1]`), Value: value,
	}, nil); err != nil {
		t.Fatal(err)
	}
	delivered := false
	for !delivered {
		select {
		case <-ctx.Done():
			t.Fatal("no delivery report within 60 s")
		case ev := <-p.Events():
			switch e := ev.(type) {
			case kafka.OAuthBearerTokenRefresh:
				tok, err := cc.Token(ctx)
				if err != nil {
					t.Fatalf("token: %v", err)
				}
				if err := setToken(p, tok, s.ClientID); err != nil {
					t.Fatal(err)
				}
			case *kafka.Message:
				if e.TopicPartition.Error != nil {
					t.Fatalf("delivery: %v", e.TopicPartition.Error)
				}
				delivered = true
			case kafka.Error:
				t.Logf("producer: %v", e)
			}
		}
	}

	c, err := kafka.NewConsumer(oauthConfig(s, kafka.ConfigMap{
		"group.id": "smoke-" + topic, "auto.offset.reset": "earliest",
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe(topic, nil); err != nil {
		t.Fatal(err)
	}
	for ctx.Err() == nil {
		switch e := c.Poll(100).(type) {
		case kafka.OAuthBearerTokenRefresh:
			tok, err := cc.Token(ctx)
			if err != nil {
				t.Fatalf("token: %v", err)
			}
			if err := setToken(c, tok, s.ClientID); err != nil {
				t.Fatal(err)
			}
		case *kafka.Message:
			if string(e.Value) != string(value) {
				t.Fatalf("consumed %q, want %q", e.Value, value)
			}
			return
		case kafka.Error:
			t.Logf("consumer: %v", e)
		}
	}
	t.Fatal("message not consumed within 60 s")
}

func TestBrokerRejectsTokenFromUnknownKey(t *testing.T) {
	s := stacktest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A real token gives the claims the broker expects; re-sign them with a key the IdP never
	// published, under the IdP's own key id, so only the signature is wrong.
	real, err := tokenConfig(s, stacktest.Secret(t, s.ClientSecretFile)).Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	header, claims := jwtParts(t, real.AccessToken)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	forged := signRS256(t, key, header, claims)

	err = metadataAs(t, s, oauthConfig(s, nil), &oauth2.Token{AccessToken: forged, Expiry: real.Expiry}, 6000)
	if err == nil {
		t.Fatal("broker accepted a token signed by a key the IdP never published")
	}
	var kerr kafka.Error
	if !errors.As(err, &kerr) || (kerr.Code() != kafka.ErrAuthentication && kerr.Code() != kafka.ErrAllBrokersDown && kerr.Code() != kafka.ErrTransport) {
		t.Fatalf("want an authentication failure, got %v", err)
	}
	t.Logf("broker refused the forged token: %v", err)

	// The same client with the real token is accepted, so the refusal was about the signature.
	if err := metadataAs(t, s, oauthConfig(s, nil), real, 15000); err != nil {
		t.Fatalf("real token refused: %v", err)
	}
}

// TestBrokerRejectsTokenWithoutAudience: Hydra issues "aud": [] when the request names no
// audience; the broker checks the audience, so such a token must be refused.
func TestBrokerRejectsTokenWithoutAudience(t *testing.T) {
	s := stacktest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cc := tokenConfig(s, stacktest.Secret(t, s.ClientSecretFile))
	cc.EndpointParams = nil
	tok, err := cc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if aud := fmt.Sprint(jwtClaims(t, tok.AccessToken)["aud"]); aud != "[]" {
		t.Fatalf("token without requested audience has aud %s, want []", aud)
	}
	if err := metadataAs(t, s, oauthConfig(s, nil), tok, 6000); err == nil {
		t.Fatal("broker accepted a token whose audience is []")
	}
}

func jwtParts(t *testing.T, tok string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("access token is not a JWT (%d parts)", len(parts))
	}
	dec := func(s string) map[string]any {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("JWT part: %v", err)
		}
		m := map[string]any{}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("JWT part: %v", err)
		}
		return m
	}
	return dec(parts[0]), dec(parts[1])
}

func jwtClaims(t *testing.T, tok string) map[string]any {
	_, c := jwtParts(t, tok)
	return c
}

func signRS256(t *testing.T, key *rsa.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signing := enc(header) + "." + enc(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}
