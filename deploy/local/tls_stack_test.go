package local_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cfbench/cfbench/internal/stacktest"
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"golang.org/x/oauth2"
)

// TestTLSInstance checks `deploy/local/stack up --tls`: Kafka's SASL_SSL listener and Hydra's
// https endpoint present certificates for 127.0.0.1 signed by the local CA (and by nothing the
// system trusts), refuse plaintext clients, and the broker validates https-issued tokens against
// the JWKS it fetched over https trusting that CA.
func TestTLSInstance(t *testing.T) {
	s := stacktest.RequireTLS(t)
	pem, err := os.ReadFile(s.TLSCAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no PEM certificate", s.TLSCAFile)
	}
	tu, err := url.Parse(s.TLSTokenURL)
	if err != nil || tu.Scheme != "https" {
		t.Fatalf("CFBENCH_TLS_TOKEN_URL %q: want an https URL (%v)", s.TLSTokenURL, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	for _, ep := range []struct{ what, addr string }{{"kafka SASL_SSL listener", s.TLSKafkaBrokers}, {"hydra public endpoint", tu.Host}} {
		t.Run("certificate of "+ep.what, func(t *testing.T) {
			d := tls.Dialer{Config: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}}
			conn, err := d.DialContext(ctx, "tcp", ep.addr)
			if err != nil {
				t.Fatalf("TLS to %s trusting the local CA: %v", ep.addr, err)
			}
			leaf := conn.(*tls.Conn).ConnectionState().PeerCertificates[0]
			_ = conn.Close()
			if leaf.Issuer.CommonName != "cfbench local CA" || !slices.ContainsFunc(leaf.IPAddresses, func(ip net.IP) bool { return ip.Equal(net.IPv4(127, 0, 0, 1)) }) ||
				!slices.Contains(leaf.DNSNames, "localhost") {
				t.Errorf("certificate: issuer %q, IPs %v, DNS %v; want the local CA's, for 127.0.0.1 and localhost", leaf.Issuer, leaf.IPAddresses, leaf.DNSNames)
			}
			// Nothing else vouches for it: with the system's roots the handshake fails.
			sys := tls.Dialer{Config: &tls.Config{ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}}
			if c, err := sys.DialContext(ctx, "tcp", ep.addr); err == nil {
				_ = c.Close()
				t.Error("the certificate verifies against the system's roots")
			} else if ua := (x509.UnknownAuthorityError{}); !errors.As(err, &ua) {
				t.Errorf("with the system's roots: %v, want an unknown authority", err)
			}
		})
	}

	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	t.Run("hydra speaks https only", func(t *testing.T) {
		resp, err := hc.Get("https://" + tu.Host + "/health/ready")
		if err != nil {
			t.Fatalf("https health: %v", err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("https health: %s", resp.Status)
		}
		// Go's TLS server answers plain HTTP with 400 "client sent an HTTP request to an HTTPS server".
		resp, err = (&http.Client{Timeout: 10 * time.Second}).Get("http://" + tu.Host + "/health/ready")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Error("the https endpoint answers plain http")
			}
		}
	})

	cc := tokenConfig(s, stacktest.Secret(t, s.ClientSecretFile))
	cc.TokenURL = s.TLSTokenURL
	tok, err := cc.Token(context.WithValue(ctx, oauth2.HTTPClient, hc))
	if err != nil {
		t.Fatalf("token from %s: %v", s.TLSTokenURL, err)
	}
	if iss := fmt.Sprint(jwtClaims(t, tok.AccessToken)["iss"]); iss != "https://"+tu.Host+"/" {
		t.Errorf("iss %s, want https://%s/", iss, tu.Host)
	}

	t.Run("broker validates the https-issued token", func(t *testing.T) {
		cfg := &kafka.ConfigMap{"bootstrap.servers": s.TLSKafkaBrokers, "security.protocol": "SASL_SSL",
			"sasl.mechanisms": "OAUTHBEARER", "ssl.ca.location": s.TLSCAFile}
		if err := metadataAs(t, s, cfg, tok, 15000); err != nil {
			t.Fatalf("SASL_SSL with the local CA and an https token: %v", err)
		}
	})
	t.Run("SASL_SSL listener refuses a plaintext client", func(t *testing.T) {
		cfg := &kafka.ConfigMap{"bootstrap.servers": s.TLSKafkaBrokers, "security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": "OAUTHBEARER"}
		if err := metadataAs(t, s, cfg, tok, 5000); err == nil {
			t.Fatal("a SASL_PLAINTEXT client got metadata from the SASL_SSL listener")
		}
	})
	t.Run("keys are private", func(t *testing.T) {
		for _, f := range []string{"tls/certs/ca.key", "tls/certs/server.key", "tls/kafka/server.properties"} {
			fi, err := os.Stat(filepath.Join(s.StateDir, f))
			if err != nil {
				t.Fatal(err)
			}
			if m := fi.Mode().Perm(); m&0o077 != 0 {
				t.Errorf("%s has mode %o, want 0600", f, m)
			}
		}
		if b, err := os.ReadFile(s.TLSCAFile); err != nil || strings.Contains(string(b), "PRIVATE KEY") {
			t.Errorf("the CA file %s holds a private key (or cannot be read: %v)", s.TLSCAFile, err)
		}
	})
}
