package consume

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
)

// TLSError is CheckTLS's failure: the broker, the CA file trusted ("" for the system's roots),
// what went wrong and why in words.
type TLSError struct {
	Broker string
	CAFile string
	// Verify is set when the handshake reached the broker's certificate and it did not verify
	// (unknown authority, wrong host name, expired): a CA or certificate problem, not a network one.
	Verify bool
	// NotTLS is set when the port answered, but not with TLS (a plaintext listener).
	NotTLS bool
	Reason string // what it means, e.g. "the broker's certificate is not signed by a CA in ca.pem"
	err    error
}

// Error implements error.
func (e *TLSError) Error() string {
	return fmt.Sprintf("TLS handshake with %s: %v (%s)", e.Broker, e.err, e.Reason)
}

// Unwrap returns the underlying error (crypto/tls, crypto/x509 or net).
func (e *TLSError) Unwrap() error { return e.err }

// CheckTLS connects to broker (host:port) and makes a TLS handshake the way librdkafka does with
// security.protocol SASL_SSL: trusting only the certificates of caFile (ssl.ca.location) when
// set, else the system's roots, and checking the certificate names the host
// (ssl.endpoint.identification.algorithm=https). It returns the broker's leaf certificate, or a
// *TLSError. It is a diagnosis for a SASL_SSL client that cannot connect: librdkafka reports a
// failed verification only in its logs, and a metadata request then just times out.
func CheckTLS(ctx context.Context, broker, caFile string) (*x509.Certificate, error) {
	host, _, err := net.SplitHostPort(broker)
	if err != nil {
		return nil, fmt.Errorf("broker %q: %w", broker, err)
	}
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if caFile != "" {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", caFile)
		}
	}
	d := tls.Dialer{Config: cfg}
	conn, err := d.DialContext(ctx, "tcp", broker)
	if err != nil {
		return nil, tlsError(broker, caFile, host, err)
	}
	defer conn.Close()
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, &TLSError{Broker: broker, CAFile: caFile, Reason: "it sent no certificate", err: errors.New("no certificate")}
	}
	return certs[0], nil
}

func tlsError(broker, caFile, host string, err error) *TLSError {
	e := &TLSError{Broker: broker, CAFile: caFile, err: err}
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var rh tls.RecordHeaderError
	var op *net.OpError
	switch {
	case errors.As(err, &ua):
		e.Verify = true
		if caFile != "" {
			e.Reason = "its certificate is not signed by a CA in " + caFile
		} else {
			e.Reason = "its certificate is not signed by a CA this host trusts (the system's roots)"
		}
	case errors.As(err, &he):
		e.Verify = true
		e.Reason = "its certificate is not valid for " + host
	case errors.As(err, &ci):
		e.Verify = true
		e.Reason = "its certificate is not valid (expired, or not for a server)"
	case errors.As(err, &rh):
		e.NotTLS = true
		e.Reason = "the port does not speak TLS: a PLAINTEXT or SASL_PLAINTEXT listener?"
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		// A Kafka plaintext listener closes the connection on a TLS ClientHello.
		e.NotTLS = true
		e.Reason = "the port closed the connection at the TLS handshake: it does not speak TLS (a PLAINTEXT or SASL_PLAINTEXT listener?)"
	case errors.As(err, &op) && op.Op == "dial":
		e.Reason = "nothing accepts connections there"
	default:
		e.Reason = "the TLS handshake failed"
	}
	return e
}
