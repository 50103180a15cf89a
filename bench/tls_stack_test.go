package bench

import (
	"context"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cfbench/cfbench/consume"
	"github.com/cfbench/cfbench/internal/stacktest"
	"github.com/cfbench/cfbench/profiles"
	"github.com/cfbench/cfbench/report"
)

// TestRunOverTLS runs the embedded local-tls profile, shortened, on the stack's TLS instance:
// the consumer over SASL_SSL trusting kafka.ca_file, its tokens from Hydra over https trusting
// idp.ca_file, and pgfeed producing over SASL_SSL (the sink URI's tls_enabled and ca_cert) with
// its tokens over https too. The brokers and token URLs it is given speak only TLS (the stack
// test TestTLSInstance shows a plaintext client refused there), so a complete delivery proves
// every connection used TLS.
//
//	eval "$(deploy/local/stack env)"; CFBENCH_INTEGRATION=1 go test -count=1 -run TestRunOverTLS ./bench/
func TestRunOverTLS(t *testing.T) {
	st := stacktest.RequireTLS(t)
	p, err := profiles.Load("local-tls", os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	p.Workload.Warmup = time.Second
	p.Workload.Duration = 5 * time.Second
	p.Workload.Rate = 50
	p.Workload.DrainTimeout = 30 * time.Second
	// Every address is the TLS instance's; nothing falls back to the plaintext listeners.
	if p.Kafka.SecurityProtocol != profiles.SASLSSL || strings.Join(p.Kafka.Brokers, ",") != st.TLSKafkaBrokers ||
		strings.Join(p.Changefeed.Sink.Brokers, ",") != st.TLSKafkaBrokers || !p.Changefeed.Sink.TLSEnabled ||
		p.IdP.TokenURL != st.TLSTokenURL || p.Changefeed.Sink.TokenURL != st.TLSTokenURL ||
		!strings.HasPrefix(st.TLSTokenURL, "https://") {
		t.Fatalf("local-tls does not point at the TLS instance: kafka %s %v, sink %v (tls %v), token URLs %s %s",
			p.Kafka.SecurityProtocol, p.Kafka.Brokers, p.Changefeed.Sink.Brokers, p.Changefeed.Sink.TLSEnabled,
			p.IdP.TokenURL, p.Changefeed.Sink.TokenURL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Those addresses speak TLS with the local CA's certificates (and TestTLSInstance shows the
	// broker's refuses a plaintext client).
	tu, err := url.Parse(st.TLSTokenURL)
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{st.TLSKafkaBrokers, tu.Host} {
		cert, err := consume.CheckTLS(ctx, addr, st.TLSCAFile)
		if err != nil || cert.Issuer.CommonName != "cfbench local CA" {
			t.Fatalf("%s does not present the local CA's certificate over TLS: %v", addr, err)
		}
	}
	began := time.Now()
	oc, err := Run(ctx, Options{
		Profile: p,
		OutDir:  t.TempDir(),
		Log:     slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatalf("run over TLS: %v", err)
	}
	res, err := report.ReadFile(oc.Path)
	if err != nil {
		t.Fatal(err)
	}
	dl := res.Delivery
	t.Logf("run took %v; delivery %+v; token fetches %d failures %d", time.Since(began).Round(time.Millisecond), dl, res.Token.Fetches, res.Token.Failures)
	if dl.Missing != 0 || dl.Written == 0 || dl.Received < dl.Written || !dl.Passed() {
		t.Errorf("delivery over TLS: %+v, want every written row received and nothing missing", dl)
	}
	if res.Token.Fetches == 0 || res.Token.Failures != 0 {
		t.Errorf("token fetches %d, failures %d: want https fetches without failure", res.Token.Fetches, res.Token.Failures)
	}
	for _, e := range res.Errors {
		t.Errorf("error during the run: %s ×%d: %s", e.Where, e.Count, e.Message)
	}
	// The result records the TLS set-up it measured.
	k, _ := res.Run.Config["kafka"].(map[string]any)
	idp, _ := res.Run.Config["idp"].(map[string]any)
	if k["security_protocol"] != profiles.SASLSSL || k["ca_file"] != st.TLSCAFile || idp["ca_file"] != st.TLSCAFile ||
		idp["token_url"] != st.TLSTokenURL {
		t.Errorf("run.config does not show the TLS set-up: kafka %v, idp %v", k, idp)
	}
}
