package bench

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/cfbench/cfbench/consume"
	"github.com/cfbench/cfbench/profiles"
)

// withCAFix adds what to do to a failed certificate verification (an unknown authority or a
// certificate for another host): name the profile key of the CA file. Other errors are
// returned unchanged.
func withCAFix(err error, key, whose string) error {
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	switch {
	case errors.As(err, &ua):
		return fmt.Errorf("%w: set %s to the PEM file of the CA that signed %s", err, key, whose)
	case errors.As(err, &he):
		return fmt.Errorf("%w: the address must be a name or IP address the certificate lists", err)
	}
	return err
}

// tlsDiagnosisTimeout bounds the TLS handshake kafkaTLSDiagnosis makes with each broker.
const tlsDiagnosisTimeout = 5 * time.Second

// kafkaTLSDiagnosis explains a consumer that could not reach SASL_SSL brokers. librdkafka logs
// a failed certificate verification ("certificate verify failed") and its metadata request
// then only times out ("Broker transport failure"); a TLS handshake made here with the same CA
// file names the cause. When every handshake succeeds, or the protocol is not SASL_SSL, err is
// returned unchanged.
func kafkaTLSDiagnosis(ctx context.Context, k profiles.Kafka, err error) error {
	if k.SecurityProtocol != profiles.SASLSSL {
		return err
	}
	for _, b := range k.Brokers {
		hctx, cancel := context.WithTimeout(ctx, tlsDiagnosisTimeout)
		_, terr := consume.CheckTLS(hctx, b, k.CAFile)
		cancel()
		var te *consume.TLSError
		if !errors.As(terr, &te) {
			continue
		}
		if te.Verify {
			return fmt.Errorf("%w: set kafka.ca_file to the PEM file of the CA that signed the brokers' certificates", te)
		}
		if te.NotTLS {
			return fmt.Errorf("%w: kafka.brokers must name the SASL_SSL listener, or set kafka.security_protocol: SASL_PLAINTEXT", te)
		}
	}
	return err
}

// checkSinkTLS checks, before pgfeed starts, that the sink's TLS settings fit its brokers and
// token URL: a TLS handshake with each broker trusting changefeed.sink.ca_file (the URI's
// ca_cert) when tls_enabled, and one with an https token URL trusting
// changefeed.sink.token_ca_file. pgfeed would otherwise retry in the background and the run
// would measure nothing. Network failures are left to pgfeed: only a certificate that does not
// verify, or a port that does not speak TLS, is an error here.
func checkSinkTLS(ctx context.Context, s profiles.Sink) error {
	if s.TLSEnabled {
		for _, b := range s.Brokers {
			hctx, cancel := context.WithTimeout(ctx, tlsDiagnosisTimeout)
			_, err := consume.CheckTLS(hctx, b, s.CAFile)
			cancel()
			var te *consume.TLSError
			switch {
			case errors.As(err, &te) && te.Verify:
				return fmt.Errorf("changefeed sink: %w: set changefeed.sink.ca_file (the sink URI's ca_cert) to the PEM file of the CA that signed the brokers' certificates", te)
			case errors.As(err, &te) && te.NotTLS:
				return fmt.Errorf("changefeed sink: %w: changefeed.sink.brokers must name the SASL_SSL listener, or set tls_enabled: false", te)
			}
		}
	}
	u, err := url.Parse(s.TokenURL)
	if err != nil || u.Scheme != "https" {
		return nil
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "443")
	}
	hctx, cancel := context.WithTimeout(ctx, tlsDiagnosisTimeout)
	defer cancel()
	_, err = consume.CheckTLS(hctx, host, s.TokenCAFile)
	var te *consume.TLSError
	if errors.As(err, &te) && te.Verify {
		return fmt.Errorf("changefeed sink: token URL %s: %w: set changefeed.sink.token_ca_file to the PEM file of the CA that signed the IdP's certificate", s.TokenURL, te)
	}
	return nil
}
