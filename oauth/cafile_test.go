package oauth

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cfbench/cfbench/internal/stacktest"
)

// writePEM writes certificates as a PEM file in a test directory and returns its path.
func writePEM(t *testing.T, name string, certs ...[]byte) string {
	t.Helper()
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c})...)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCAFile: Config.CAFile replaces the system's roots for an https token URL; a CA file that
// did not sign the IdP's certificate is a TLS failure naming the file; a file without a
// certificate is refused by New.
func TestCAFile(t *testing.T) {
	srv := httptest.NewUnstartedServer(tokenHandler(t))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	// httptest's certificate is self-signed: it is its own CA.
	right := writePEM(t, "right.pem", srv.Certificate().Raw)
	wrong := stacktest.WrongCA(t)
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	t.Run("right", func(t *testing.T) {
		s := newSource(t, Config{TokenURL: srv.URL + "/token", CAFile: right})
		if _, err := s.Fetch(ctx); err != nil {
			t.Fatalf("fetch trusting the server's CA: %v", err)
		}
		if ev := s.Stats().Events[0]; ev.TLS <= 0 {
			t.Errorf("no TLS handshake recorded: %+v", ev)
		}
	})
	t.Run("right-with-client", func(t *testing.T) {
		// A caller's client keeps its settings; only the roots are added to a clone.
		hc := &http.Client{Transport: &http.Transport{MaxIdleConns: 3}}
		s := newSource(t, Config{TokenURL: srv.URL + "/token", CAFile: right, HTTPClient: hc})
		if _, err := s.Fetch(ctx); err != nil {
			t.Fatalf("fetch: %v", err)
		}
		if tr := hc.Transport.(*http.Transport); tr.TLSClientConfig != nil && tr.TLSClientConfig.RootCAs != nil {
			t.Error("the caller's transport got the roots")
		}
	})
	t.Run("wrong", func(t *testing.T) {
		s := newSource(t, Config{TokenURL: srv.URL + "/token", CAFile: wrong})
		_, err := s.Fetch(ctx)
		var fe *FetchError
		if !errors.As(err, &fe) || fe.Class != ClassNetwork || fe.Network != NetTLS {
			t.Fatalf("want a network (tls) FetchError, got %v", err)
		}
		var ua x509.UnknownAuthorityError
		if !errors.As(err, &ua) {
			t.Errorf("the error does not unwrap to x509.UnknownAuthorityError: %v", err)
		}
		for _, w := range []string{"certificate signed by unknown authority", "not signed by a CA in " + wrong} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q does not contain %q", err, w)
			}
		}
	})
	t.Run("system-roots", func(t *testing.T) {
		s := newSource(t, Config{TokenURL: srv.URL + "/token"})
		if _, err := s.Fetch(ctx); err == nil || !strings.Contains(err.Error(), "not signed by a CA this host trusts") {
			t.Fatalf("want an unknown-authority error, got %v", err)
		}
	})
	for _, tc := range []struct{ name, file, want string }{
		{"not-pem", notPEM, "holds no PEM certificate"},
		{"missing", filepath.Join(t.TempDir(), "nope.pem"), "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Config{TokenURL: srv.URL + "/token", ClientID: "c1", ClientSecret: testSecret, CAFile: tc.file})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "CA file") {
				t.Fatalf("New: want an error about the CA file (%q), got %v", tc.want, err)
			}
		})
	}
	t.Run("custom-transport", func(t *testing.T) {
		_, err := New(Config{TokenURL: srv.URL + "/token", ClientID: "c1", ClientSecret: testSecret, CAFile: right,
			HTTPClient: &http.Client{Transport: http.NewFileTransport(http.Dir("."))}})
		if err == nil || !strings.Contains(err.Error(), "not an *http.Transport") {
			t.Fatalf("want a refusal of a non-*http.Transport, got %v", err)
		}
	})
}
