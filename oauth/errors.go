package oauth

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/oauth2"
)

// FailureClass says where a token fetch failed. Its string values are stable: they appear in
// result files.
type FailureClass string

// Failure classes.
const (
	// ClassNone marks a successful fetch.
	ClassNone FailureClass = ""
	// ClassNetwork: no HTTP answer: DNS, connect, TLS, timeout or a broken connection
	// (FetchError.Network says which).
	ClassNetwork FailureClass = "network"
	// ClassIdP4xx: the IdP refused the request with a 4xx status (or a 2xx carrying an OAuth
	// "error"); FetchError.Code holds the OAuth error, e.g. invalid_client.
	ClassIdP4xx FailureClass = "idp_4xx"
	// ClassIdP5xx: the IdP failed with a 5xx status.
	ClassIdP5xx FailureClass = "idp_5xx"
	// ClassBadResponse: the answer is not a token response: HTML, unparseable JSON, a redirect.
	// Usually a wrong token URL.
	ClassBadResponse FailureClass = "bad_response"
	// ClassUnusableToken: a well-formed answer whose token cannot be used: empty access_token,
	// missing or zero expires_in, token_type not bearer, a JWT that does not parse.
	ClassUnusableToken FailureClass = "unusable_token"
	// ClassCanceled: the caller's context ended before the answer; not the IdP's fault.
	ClassCanceled FailureClass = "canceled"
)

// Network failure kinds, in FetchError.Network.
const (
	NetDNS     = "dns"     // the token URL's host did not resolve
	NetConnect = "connect" // TCP connect failed (refused, unreachable)
	NetTLS     = "tls"     // TLS handshake or certificate verification failed
	NetTimeout = "timeout" // Config.Timeout passed; FetchError.Detail names the phase
	NetIO      = "io"      // the connection broke during the request or response
)

// FetchError is the error Source.Fetch returns. Its message names the token URL and the client
// id, says what failed and what to do; it never contains the client secret (any echo of it by
// the IdP is replaced by [REDACTED]). Unwrap returns the underlying error: for IdP answers an
// *oauth2.RetrieveError whose Body and Description are redacted and whose Response carries no
// request (so no Authorization header).
type FetchError struct {
	Class       FailureClass
	Network     string // for ClassNetwork: NetDNS, NetConnect, NetTLS, NetTimeout or NetIO
	TokenURL    string
	ClientID    string
	Status      int    // HTTP status of the answer; 0 if none
	ContentType string // Content-Type of the answer; "" if none
	Code        string // the OAuth "error", e.g. invalid_client; "" if none
	Description string // the OAuth "error_description", redacted
	Detail      string // what went wrong, in words
	Hint        string // what to do; "" if nothing useful to say
	Took        time.Duration
	err         error
}

// Error implements error.
func (e *FetchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "token request to %s for client %q: %s", e.TokenURL, e.ClientID, e.Class)
	if e.Network != "" {
		b.WriteString(" (" + e.Network + ")")
	}
	b.WriteString(": ")
	b.WriteString(e.Detail)
	if e.Hint != "" {
		b.WriteString(": ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *FetchError) Unwrap() error { return e.err }

const redactedMark = "[REDACTED]"

// redactor removes every form of the client secret that could come back from an IdP: the raw
// secret, its form/query encoding, and the basic-auth credentials built from it.
type redactor struct{ forms []string }

func newRedactor(clientID, secret string) redactor {
	if secret == "" {
		return redactor{}
	}
	forms := []string{secret}
	jsonHTML, _ := json.Marshal(secret) // escapes <, >, & as \u003c...
	var plain bytes.Buffer
	e := json.NewEncoder(&plain)
	e.SetEscapeHTML(false)
	_ = e.Encode(secret)
	for _, f := range []string{
		strings.Trim(string(jsonHTML), `"`),
		strings.Trim(strings.TrimSpace(plain.String()), `"`),
		url.QueryEscape(secret),
		url.PathEscape(secret),
		base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(clientID) + ":" + url.QueryEscape(secret))),
		base64.StdEncoding.EncodeToString([]byte(clientID + ":" + secret)),
		base64.StdEncoding.EncodeToString([]byte(secret)),
	} {
		if f != "" && !slices.Contains(forms, f) {
			forms = append(forms, f)
		}
	}
	return redactor{forms: forms}
}

func (r redactor) string(s string) string {
	for _, f := range r.forms {
		if strings.Contains(s, f) {
			s = strings.ReplaceAll(s, f, redactedMark)
		}
	}
	return s
}

// redactedError carries a redacted message and unwraps to the original error.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// answer is what the recording transport saw of the IdP's HTTP answer.
type answer struct {
	status      int
	contentType string
	location    string
	body        []byte // the first maxBodyCapture bytes
}

// classify turns the error of one clientcredentials.Config.Token call into a *FetchError.
// parent is the caller's context, ctx the one with the fetch timeout, rec the fetch's record.
func (s *Source) classify(parent, ctx context.Context, err error, rec *fetchRecord, took time.Duration) *FetchError {
	fe := &FetchError{TokenURL: s.tokenURL, ClientID: s.cfg.ClientID, Took: took}
	ans, got := rec.answer()
	if got {
		fe.Status = ans.status
		fe.ContentType = ans.contentType
	}
	var re *oauth2.RetrieveError
	isRetrieve := errors.As(err, &re)
	switch {
	case parent.Err() != nil && !isRetrieve: // an IdP error answer beats a late cancellation
		fe.Class = ClassCanceled
		fe.Detail = fmt.Sprintf("canceled after %s: %v", took.Round(time.Millisecond), context.Cause(parent))
		fe.err = err
	case isRetrieve:
		s.classifyRetrieveError(fe, re, ans)
	case got:
		// An HTTP answer came but x/oauth2 could not use it: unparseable body or no access_token.
		s.classifyAnswer(fe, err, ans)
	default:
		s.classifyNetwork(fe, ctx, err, rec)
	}
	return fe
}

func (s *Source) classifyRetrieveError(fe *FetchError, re *oauth2.RetrieveError, ans answer) {
	// Sanitize a copy: the Body may echo the request; the Request holds the basic-auth header.
	clean := &oauth2.RetrieveError{
		Body:             []byte(s.redact.string(string(re.Body))),
		ErrorCode:        s.redact.string(re.ErrorCode),
		ErrorDescription: s.redact.string(re.ErrorDescription),
		ErrorURI:         s.redact.string(re.ErrorURI),
	}
	status := 0
	if re.Response != nil {
		resp := *re.Response
		resp.Request = nil
		resp.Body = http.NoBody
		resp.TLS = nil
		clean.Response = &resp
		status = re.Response.StatusCode
		fe.Status = status
		fe.ContentType = re.Response.Header.Get("Content-Type")
	}
	fe.err = clean
	fe.Code = clean.ErrorCode
	fe.Description = clean.ErrorDescription
	switch {
	case status >= 500:
		fe.Class = ClassIdP5xx
	case status >= 300 && status < 400:
		fe.Class = ClassBadResponse
		loc := s.redact.string(ans.location)
		fe.Detail = fmt.Sprintf("the IdP answered %d redirecting to %q", status, loc)
		fe.Hint = "use the final token URL (redirects are not followed: they turn the POST into a GET)"
		return
	default:
		fe.Class = ClassIdP4xx
	}
	fe.Detail = fmt.Sprintf("the IdP answered %s", statusText(status))
	if fe.Code != "" {
		fe.Detail += " " + fe.Code
		if fe.Description != "" {
			fe.Detail += fmt.Sprintf(" (%s)", fe.Description)
		}
	} else if snip := s.redact.string(snippet(s.redact.string(string(re.Body)))); snip != "" {
		fe.Detail += fmt.Sprintf(" with %s %q", orUnknown(mediaType(fe.ContentType)), snip)
	}
	fe.Hint = hintFor(fe.Class, status, fe.Code, fe.ContentType, s.cfg)
}

func (s *Source) classifyAnswer(fe *FetchError, err error, ans answer) {
	fe.err = &redactedError{msg: s.redact.string(err.Error()), err: err}
	mt := mediaType(ans.contentType)
	looksJSON := strings.HasPrefix(strings.TrimSpace(string(ans.body)), "{")
	switch {
	case strings.Contains(err.Error(), "missing access_token") &&
		(isJSON(ans.contentType) || mt == "application/x-www-form-urlencoded" || (mt == "" && looksJSON)):
		fe.Class = ClassUnusableToken
		fe.Detail = fmt.Sprintf("the IdP answered %d without an access_token", ans.status)
		fe.Hint = "check the IdP's client configuration (grant type client_credentials)"
	case !isJSON(ans.contentType):
		fe.Class = ClassBadResponse
		fe.Detail = fmt.Sprintf("the IdP answered %d with %s, not a token", ans.status, orUnknown(mt))
		if snip := s.redact.string(snippet(s.redact.string(string(ans.body)))); snip != "" {
			fe.Detail += fmt.Sprintf(" (%q)", snip)
		}
		fe.Hint = "is the token URL right?"
	default:
		fe.Class = ClassBadResponse
		fe.Detail = fmt.Sprintf("the IdP answered %d with %s that is not a token response (%s)", ans.status, orUnknown(mt), fe.err.Error())
		fe.Hint = "is the token URL right?"
	}
}

func (s *Source) classifyNetwork(fe *FetchError, ctx context.Context, err error, rec *fetchRecord) {
	fe.Class = ClassNetwork
	fe.err = &redactedError{msg: s.redact.string(err.Error()), err: err}
	msg := fe.err.Error()
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var certErr *tls.CertificateVerificationError
	var alertErr tls.AlertError
	var recErr tls.RecordHeaderError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		fe.Network = NetTimeout
		fe.Detail = fmt.Sprintf("no answer within %s (%s)", s.cfg.Timeout, rec.phase())
		fe.Hint = "is the IdP up and reachable? raise the timeout if it is just slow"
	case errors.As(err, &dnsErr):
		fe.Network = NetDNS
		fe.Detail = msg
		fe.Hint = "check the token URL's host name"
	case errors.Is(err, http.ErrSchemeMismatch):
		fe.Network = NetTLS
		fe.Detail = msg
		fe.Hint = "the token URL says https but the server speaks plain http"
	case errors.As(err, &unknownAuth):
		fe.Network = NetTLS
		fe.Detail = msg
		if s.cfg.CAFile != "" {
			fe.Hint = fmt.Sprintf("the IdP's certificate is not signed by a CA in %s", s.cfg.CAFile)
		} else {
			fe.Hint = "the IdP's certificate is not signed by a CA this host trusts (the system's roots): give the client the CA's PEM file"
		}
	case errors.As(err, &hostErr):
		fe.Network = NetTLS
		fe.Detail = msg
		fe.Hint = fmt.Sprintf("the IdP's certificate is not valid for %s: use a token URL with a host name the certificate names", hostErr.Host)
	case errors.As(err, &certErr), errors.As(err, &alertErr), errors.As(err, &recErr), rec.inTLS():
		fe.Network = NetTLS
		fe.Detail = msg
		fe.Hint = "check the token URL's scheme (http vs https) and the CA the client trusts"
	case errors.As(err, &opErr) && opErr.Op == "dial":
		fe.Network = NetConnect
		fe.Detail = msg
		fe.Hint = "is the IdP running, and are the token URL's host and port right?"
	default:
		fe.Network = NetIO
		fe.Detail = msg
		fe.Hint = "the connection to the IdP broke; check proxies and the IdP's logs"
	}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// unusable builds the error for a token that came back but cannot be used.
func (s *Source) unusable(detail, hint string, status int, contentType string, took time.Duration) *FetchError {
	return &FetchError{
		Class: ClassUnusableToken, TokenURL: s.tokenURL, ClientID: s.cfg.ClientID,
		Status: status, ContentType: contentType, Took: took,
		Detail: s.redact.string(detail), Hint: hint,
		err: errUnusableToken,
	}
}

// errUnusableToken is what a ClassUnusableToken FetchError unwraps to.
var errUnusableToken = errors.New("unusable token")

func hintFor(class FailureClass, status int, code, contentType string, cfg Config) string {
	switch code {
	case "invalid_client":
		how := "in the Authorization header (basic auth)"
		if cfg.AuthStyle == oauth2.AuthStyleInParams {
			how = "as form parameters"
		}
		return fmt.Sprintf("check the client id and secret, and that the IdP accepts them %s", how)
	case "invalid_scope":
		return fmt.Sprintf("check the scopes %q: the client may not be allowed them", cfg.Scopes)
	case "unauthorized_client":
		return "the client is not allowed this grant: enable client_credentials for it at the IdP"
	case "unsupported_grant_type":
		return "the IdP does not accept this grant type for the client: enable client_credentials"
	case "invalid_request", "invalid_target": // fosite (Hydra) answers a disallowed audience with either, by version
		if cfg.Audience != "" {
			return fmt.Sprintf("check the audience %q (the client must be allowed it) and the endpoint parameters", cfg.Audience)
		}
		return "check the endpoint parameters"
	case "invalid_grant", "access_denied":
		return "the IdP refused the client; check its configuration at the IdP"
	}
	switch {
	case class == ClassIdP5xx:
		return "the IdP failed; retry later or check its logs"
	case status == http.StatusNotFound || status == http.StatusMethodNotAllowed:
		return "is the token URL right?"
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return "check the client id and secret"
	case !isJSON(contentType):
		return "is the token URL right?"
	}
	return ""
}

func statusText(status int) string {
	if t := http.StatusText(status); t != "" {
		return fmt.Sprintf("%d %s", status, t)
	}
	return fmt.Sprint(status)
}

func mediaType(contentType string) string {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

func isJSON(contentType string) bool {
	mt := mediaType(contentType)
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

func orUnknown(s string) string {
	if s == "" {
		return "no content type"
	}
	return s
}

// snippet returns the start of an answer's body on one line: whitespace collapsed, control
// characters dropped, at most 120 runes.
func snippet(body string) string {
	const max = 120
	var b strings.Builder
	space, n := false, 0
	for _, r := range body {
		if r == utf8.RuneError {
			continue
		}
		if unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if !unicode.IsPrint(r) {
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
		if n++; n >= max {
			b.WriteString("…")
			break
		}
	}
	return b.String()
}
