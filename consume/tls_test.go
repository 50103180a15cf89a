package consume

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cfbench/cfbench/internal/stacktest"
)

// TestCheckTLS: a handshake trusting the CA file that signed the server's certificate passes;
// another CA, or a plaintext listener, is a *TLSError that says which.
func TestCheckTLS(t *testing.T) {
	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	right := filepath.Join(t.TempDir(), "right.pem")
	if err := os.WriteFile(right, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	wrong := stacktest.WrongCA(t)
	plain := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(plain.Close)
	// A listener that closes every connection at once, as Kafka's PLAINTEXT listener does on a
	// TLS ClientHello.
	closer, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closer.Close() })
	go func() {
		for {
			c, err := closer.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	addr := func(u string) string { return strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://") }

	for _, tc := range []struct {
		name, broker, ca string
		verify, notTLS   bool
		want             string // in the error; "" for success
	}{
		{name: "right CA", broker: addr(tlsSrv.URL), ca: right},
		{name: "wrong CA", broker: addr(tlsSrv.URL), ca: wrong, verify: true, want: "not signed by a CA in " + wrong},
		{name: "system roots", broker: addr(tlsSrv.URL), verify: true, want: "not signed by a CA this host trusts"},
		{name: "plaintext HTTP", broker: addr(plain.URL), ca: right, notTLS: true, want: "does not speak TLS"},
		{name: "closes at once", broker: closer.Addr().String(), ca: right, notTLS: true, want: "does not speak TLS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			cert, err := CheckTLS(ctx, tc.broker, tc.ca)
			if tc.want == "" {
				if err != nil || cert == nil {
					t.Fatalf("CheckTLS: %v", err)
				}
				return
			}
			var te *TLSError
			if !errors.As(err, &te) {
				t.Fatalf("want a *TLSError, got %v", err)
			}
			if te.Verify != tc.verify || te.NotTLS != tc.notTLS || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v (verify %v, notTLS %v), want %q (verify %v, notTLS %v)", err, te.Verify, te.NotTLS, tc.want, tc.verify, tc.notTLS)
			}
		})
	}
	if _, err := CheckTLS(context.Background(), addr(tlsSrv.URL), filepath.Join(t.TempDir(), "nope.pem")); err == nil || !strings.Contains(err.Error(), "CA file") {
		t.Errorf("missing CA file: %v", err)
	}
}
