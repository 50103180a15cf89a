package oauth

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"time"

	"golang.org/x/oauth2"
)

// DefaultTimeout is the per-fetch timeout used when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// DefaultMaxEvents is the number of per-fetch events kept when Config.MaxEvents is zero.
const DefaultMaxEvents = 10_000

// Config describes one OAuth 2.0 client-credentials client. It corresponds to the sasl_client_id,
// sasl_client_secret, sasl_token_url and sasl_scopes parameters of a CockroachDB Kafka sink URI.
//
// Config's String, GoString and LogValue methods redact ClientSecret, so a Config may be printed
// or logged.
type Config struct {
	// TokenURL is the IdP's token endpoint, http or https, e.g.
	// "https://example.okta.com/oauth2/default/v1/token".
	TokenURL string
	// ClientID is the OAuth client id. Required.
	ClientID string
	// ClientSecret is the OAuth client secret. Required. It never appears in errors or Stats.
	ClientSecret string
	// Scopes are requested as one space-separated "scope" parameter; none by default.
	Scopes []string
	// Audience, when set, is sent as the "audience" form parameter (Hydra puts it into the
	// token's aud claim only when asked; Okta's default authorization server needs none).
	Audience string
	// EndpointParams are extra form parameters sent with every token request. They may
	// override grant_type but not scope, audience, client_id or client_secret.
	EndpointParams url.Values
	// AuthStyle pins how the client id and secret are sent: oauth2.AuthStyleInHeader (HTTP
	// basic auth, the default when zero) or oauth2.AuthStyleInParams (form parameters). It is
	// never auto-detected, because auto-detection retries a failed request with the other style
	// and so turns one fetch into two.
	AuthStyle oauth2.AuthStyle
	// Timeout bounds one fetch end to end (DNS, connect, TLS, request, response body).
	// Default DefaultTimeout (10 s).
	Timeout time.Duration
	// HTTPClient, when set, is the client the requests go through. It is not modified: Source
	// wraps its Transport. If its CheckRedirect is nil, redirects are not followed (a redirected
	// POST turns into a GET and loses its form), so a token URL that redirects fails with the
	// redirect's Location in the error.
	HTTPClient *http.Client
	// CAFile is a PEM file of the CA certificates trusted for an https token URL, instead of the
	// system's roots (as curl's --cacert and librdkafka's ssl.ca.location do); "" keeps the
	// system's roots. Read once, by New. With HTTPClient, its Transport must be nil or an
	// *http.Transport (a clone gets the roots).
	CAFile string
	// MaxEvents bounds the per-fetch events kept in Stats.Events; later events are counted in
	// Stats.DroppedEvents. Default DefaultMaxEvents (10 000).
	MaxEvents int

	rootCAs *x509.CertPool // CAFile's certificates, read by validate
}

// String describes c with the client secret redacted.
func (c Config) String() string {
	return fmt.Sprintf("oauth.Config{TokenURL:%q ClientID:%q ClientSecret:%s Scopes:%q Audience:%q AuthStyle:%s Timeout:%s CAFile:%q}",
		c.TokenURL, c.ClientID, secretMark(c.ClientSecret), c.Scopes, c.Audience, authStyleName(c.AuthStyle), c.Timeout, c.CAFile)
}

// GoString is String, so %#v redacts the secret too.
func (c Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer with the client secret redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("token_url", c.TokenURL),
		slog.String("client_id", c.ClientID),
		slog.String("client_secret", secretMark(c.ClientSecret)),
		slog.Any("scopes", c.Scopes),
		slog.String("audience", c.Audience),
		slog.String("auth_style", authStyleName(c.AuthStyle)),
		slog.Duration("timeout", c.Timeout),
		slog.String("ca_file", c.CAFile),
	)
}

func secretMark(s string) string {
	if s == "" {
		return "(empty)"
	}
	return redactedMark
}

func authStyleName(s oauth2.AuthStyle) string {
	switch s {
	case oauth2.AuthStyleAutoDetect:
		return "default(header)"
	case oauth2.AuthStyleInHeader:
		return "header"
	case oauth2.AuthStyleInParams:
		return "params"
	}
	return fmt.Sprintf("AuthStyle(%d)", int(s))
}

// validate checks c and returns a copy with defaults filled in and slices/maps cloned, so later
// changes by the caller do not race with fetches.
func (c Config) validate() (Config, error) {
	var errs []error
	u, err := url.Parse(c.TokenURL)
	switch {
	case c.TokenURL == "":
		errs = append(errs, errors.New("token URL is empty"))
	case err != nil:
		errs = append(errs, fmt.Errorf("token URL %q: %w", c.TokenURL, err))
	case u.Scheme != "http" && u.Scheme != "https":
		errs = append(errs, fmt.Errorf("token URL %q: want an http:// or https:// URL", c.TokenURL))
	case u.Host == "":
		errs = append(errs, fmt.Errorf("token URL %q: no host", c.TokenURL))
	case u.User != nil:
		errs = append(errs, fmt.Errorf("token URL %s: must not carry credentials; use the client id and secret", u.Redacted()))
	}
	if c.ClientID == "" {
		errs = append(errs, errors.New("client id is empty"))
	}
	if c.ClientSecret == "" {
		errs = append(errs, errors.New("client secret is empty"))
	}
	switch c.AuthStyle {
	case oauth2.AuthStyleAutoDetect:
		c.AuthStyle = oauth2.AuthStyleInHeader
	case oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams:
	default:
		errs = append(errs, fmt.Errorf("auth style %d: want oauth2.AuthStyleInHeader or oauth2.AuthStyleInParams", int(c.AuthStyle)))
	}
	switch {
	case c.Timeout == 0:
		c.Timeout = DefaultTimeout
	case c.Timeout < 0:
		errs = append(errs, fmt.Errorf("timeout %s: want a positive duration", c.Timeout))
	}
	switch {
	case c.MaxEvents == 0:
		c.MaxEvents = DefaultMaxEvents
	case c.MaxEvents < 0:
		errs = append(errs, fmt.Errorf("max events %d: want a positive number", c.MaxEvents))
	}
	for i, s := range c.Scopes {
		if s == "" {
			errs = append(errs, fmt.Errorf("scope %d is empty", i+1))
		}
	}
	for k := range c.EndpointParams {
		switch k {
		case "scope":
			errs = append(errs, errors.New(`endpoint parameter "scope": set the scopes instead`))
		case "audience":
			errs = append(errs, errors.New(`endpoint parameter "audience": set the audience instead`))
		case "client_id", "client_secret":
			errs = append(errs, fmt.Errorf("endpoint parameter %q: set the client id and secret (and the auth style) instead", k))
		}
	}
	if c.CAFile != "" {
		pool, err := loadCAFile(c.CAFile)
		if err != nil {
			errs = append(errs, err)
		}
		c.rootCAs = pool
		if c.HTTPClient != nil && c.HTTPClient.Transport != nil {
			if _, ok := c.HTTPClient.Transport.(*http.Transport); !ok {
				errs = append(errs, fmt.Errorf("CA file %s: the HTTP client's transport is a %T, not an *http.Transport: set the roots there instead", c.CAFile, c.HTTPClient.Transport))
			}
		}
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("oauth client %q: %w", c.ClientID, errors.Join(errs...))
	}
	c.Scopes = append([]string(nil), c.Scopes...)
	params := url.Values{}
	for k, v := range c.EndpointParams {
		params[k] = append([]string(nil), v...)
	}
	if c.Audience != "" {
		params.Set("audience", c.Audience)
	}
	c.EndpointParams = params
	return c, nil
}

// loadCAFile reads a PEM file of CA certificates into a pool of its own (no system roots).
func loadCAFile(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate: want the CA's certificate in PEM (-----BEGIN CERTIFICATE-----)", path)
	}
	return pool, nil
}
