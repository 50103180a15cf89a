package doctor

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/cfbench/cfbench/oauth"
	"github.com/cfbench/cfbench/profiles"
)

// token is what the token step hands to the Kafka steps: the access token (never printed) and
// its decoded claims.
type token struct {
	value     string
	expiry    time.Time
	claims    oauth.Claims
	claimsErr error
	audience  string // the audience requested ("" for none)
	// expect is the audience the broker presumably checks: the one requested, else the
	// changefeed sink's (pgfeed's) audience; "" when unknown.
	expect string
}

// client is one OAuth client of the profile: the consumer's (idp) or the changefeed's (sink).
type client struct {
	what     string // "idp" or "changefeed.sink": the profile key
	tokenURL string
	id       string
	secret   string
	scopes   []string
	audience string
	style    oauth2.AuthStyle
	timeout  time.Duration
	caFile   string // CA file trusted for an https token URL; "" for the system's roots
	caKey    string // the profile key naming it, for fixes
}

func consumerClient(p *profiles.Profile) client {
	style := oauth2.AuthStyleInHeader
	if p.IdP.AuthStyle == profiles.AuthStyleParams {
		style = oauth2.AuthStyleInParams
	}
	return client{what: "idp", tokenURL: p.IdP.TokenURL, id: p.IdP.ClientID, secret: p.IdP.ClientSecret.Reveal(),
		scopes: p.IdP.Scopes, audience: p.IdP.Audience, style: style, timeout: p.IdP.Timeout,
		caFile: p.IdP.CAFile, caKey: "idp.ca_file"}
}

// fetch makes one token request for c and decodes the claims.
func (d *run) fetch(ctx context.Context, c client) (*token, error) {
	timeout := c.timeout
	if timeout <= 0 {
		timeout = d.o.StepTimeout
	}
	src, err := oauth.New(oauth.Config{
		TokenURL: c.tokenURL, ClientID: c.id, ClientSecret: c.secret, Scopes: c.scopes,
		Audience: c.audience, AuthStyle: c.style, Timeout: timeout, CAFile: c.caFile,
	})
	if err != nil {
		return nil, err
	}
	t, err := src.Fetch(ctx)
	if err != nil {
		return nil, err
	}
	tk := &token{value: t.AccessToken, expiry: t.Expiry, audience: c.audience, expect: c.audience}
	if tk.expect == "" && d.p.Changefeed.Mode == profiles.ModePgfeed {
		tk.expect = d.p.Changefeed.Sink.Audience
	}
	tk.claims, tk.claimsErr = oauth.ParseClaims(t.AccessToken)
	return tk, nil
}

// checkToken requests a token as the consumer does, then checks its claims.
func (d *run) checkToken(ctx context.Context) *token {
	c := consumerClient(d.p)
	var tk *token
	d.timed(func() Step {
		s := Step{Name: fmt.Sprintf("idp token request to %s as %q", c.tokenURL, c.id)}
		var err error
		tk, err = d.fetch(ctx, c)
		if err != nil {
			s.Status, s.Detail, s.Fix = Fail, err.Error(), tokenFix(err, c)
			return s
		}
		s.Status = Pass
		s.Detail = fmt.Sprintf("token received, expires in %s", time.Until(tk.expiry).Round(time.Second))
		return s
	})
	if tk == nil {
		d.add(Step{Name: "token claims", Status: Skip, Detail: "no token"})
		return nil
	}
	d.add(claimsStep("token claims", tk, c, time.Now()))
	return tk
}

// checkSinkToken requests a token with the changefeed's own credentials (sasl_client_id, …),
// which CockroachDB or pgfeed use to produce into Kafka.
func (d *run) checkSinkToken(ctx context.Context) {
	s := d.p.Changefeed.Sink
	if d.p.Changefeed.Mode == profiles.ModeExisting || s.ClientID == "" || s.TokenURL == "" {
		d.add(Step{Name: "changefeed sink token", Status: Skip, Detail: "the profile holds no sink credentials (changefeed.mode existing, or no changefeed.sink.client_id)"})
		return
	}
	c := client{what: "changefeed.sink", tokenURL: s.TokenURL, id: s.ClientID, secret: s.ClientSecret.Reveal(),
		scopes: s.Scopes, audience: s.Audience, style: oauth2.AuthStyleInHeader, timeout: d.o.StepTimeout}
	if d.p.Changefeed.Mode == profiles.ModeCreate {
		// CockroachDB's sink URI has no audience parameter, and its token requests trust the
		// system's roots: request the token as it will.
		c.audience = ""
	} else {
		c.caFile, c.caKey = s.TokenCAFile, "changefeed.sink.token_ca_file"
	}
	d.timed(func() Step {
		st := Step{Name: fmt.Sprintf("changefeed sink token request to %s as %q", c.tokenURL, c.id)}
		tk, err := d.fetch(ctx, c)
		if err != nil {
			st.Status, st.Detail, st.Fix = Fail, err.Error(), tokenFix(err, c)
			return st
		}
		cs := claimsStep("", tk, c, time.Now())
		st.Status, st.Detail, st.Fix = cs.Status, "token received; "+strings.ReplaceAll(cs.Detail, "\n", "; "), cs.Fix
		return st
	})
}

// tokenFix is the likely fix for a failed token request.
func tokenFix(err error, c client) string {
	var fe *oauth.FetchError
	if !errors.As(err, &fe) {
		return fmt.Sprintf("check %s.token_url, %s.client_id and the client secret", c.what, c.what)
	}
	switch {
	case fe.Code == "invalid_client":
		return fmt.Sprintf("the IdP does not accept client %q with this secret: check %s.client_secret_file / client_secret_env (and %s.auth_style: header or params)", c.id, c.what, c.what)
	case fe.Code == "invalid_scope":
		return fmt.Sprintf("the client may not request scopes %v: allow them for the client at the IdP, or change %s.scopes", c.scopes, c.what)
	case fe.Code == "invalid_request" && c.audience != "" && strings.Contains(strings.ToLower(fe.Description), "audience"):
		return fmt.Sprintf("the IdP refuses audience %q for client %q: allow it for the client at the IdP (Hydra: the client's audience list), or set %s.audience to one it allows — the one the broker expects (sasl.oauthbearer.expected.audience)", c.audience, c.id, c.what)
	case fe.Code == "unauthorized_client":
		return fmt.Sprintf("client %q may not use the client_credentials grant: enable it at the IdP", c.id)
	case fe.Network == oauth.NetTLS && errors.As(err, new(x509.UnknownAuthorityError)):
		if c.caKey == "" {
			return "the IdP's certificate is not signed by a CA the system trusts, and CockroachDB's token requests trust only the nodes' system roots: install the IdP's CA there (and here, to check)"
		}
		trust := "the system's roots"
		if c.caFile != "" {
			trust = c.caFile
		}
		return fmt.Sprintf("the IdP's certificate does not verify against %s: set %s to the PEM file of the CA that signed it (the local stack's: $CFBENCH_TLS_CA_FILE)", trust, c.caKey)
	case fe.Network == oauth.NetTLS:
		return fmt.Sprintf("%s (%s.token_url: http or https?)", fe.Hint, c.what)
	case fe.Class == oauth.ClassNetwork:
		return fmt.Sprintf("the IdP is unreachable from here: check %s.token_url and the network (proxy, firewall, DNS)", c.what)
	case fe.Hint != "":
		return fe.Hint
	}
	return fmt.Sprintf("check %s.token_url and the client's settings at the IdP", c.what)
}

// claimsStep shows the token's claims (never the token) and checks what Kafka will check:
// an audience (and the one requested), an expiry in the future, the scopes requested.
func claimsStep(name string, tk *token, c client, now time.Time) Step {
	s := Step{Name: name, Status: Pass}
	if tk.claimsErr != nil {
		s.Status = Warn
		s.Detail = "the access token is not a JWT the doctor can read: " + tk.claimsErr.Error()
		s.Fix = "Kafka's OAuthBearerValidatorCallbackHandler validates JWTs only: configure the IdP to issue JWT access tokens (Hydra: strategies.access_token: jwt)"
		return s
	}
	cl := tk.claims
	var lines []string
	lines = append(lines, fmt.Sprintf("iss %s", orNone(cl.Issuer)))
	lines = append(lines, fmt.Sprintf("aud %s", listString(cl.Audience)))
	lines = append(lines, fmt.Sprintf("scope %s", listString(cl.Scopes)))
	lines = append(lines, fmt.Sprintf("sub %s", orNone(cl.Subject)))
	if !cl.ExpiresAt.IsZero() {
		lines = append(lines, fmt.Sprintf("exp %s (in %s)", cl.ExpiresAt.UTC().Format(time.RFC3339), cl.ExpiresAt.Sub(now).Round(time.Second)))
	} else {
		lines = append(lines, "exp (none)")
	}
	s.Detail = strings.Join(lines, "\n")
	var fixes []string
	switch {
	case len(cl.Audience) == 0:
		s.Status = Warn
		if c.audience == "" {
			fixes = append(fixes, fmt.Sprintf("the token has no audience, which Kafka's JWT validation rejects: set %s.audience to the audience the broker expects (Hydra sets aud only when the request names one)", c.what))
		} else {
			fixes = append(fixes, fmt.Sprintf("audience %q was requested but the token has none: allow the audience for the client at the IdP", c.audience))
		}
	case c.audience != "" && !slices.Contains(cl.Audience, c.audience):
		s.Status = Warn
		fixes = append(fixes, fmt.Sprintf("audience %q was requested but the token carries %s", c.audience, listString(cl.Audience)))
	}
	if cl.ExpiresAt.IsZero() {
		s.Status = Fail
		fixes = append(fixes, "the token has no exp claim: Kafka rejects it")
	} else if !cl.ExpiresAt.After(now) {
		s.Status = Fail
		fixes = append(fixes, "the token is already expired: check this host's clock and the IdP's")
	}
	var missing []string
	for _, sc := range c.scopes {
		if !slices.Contains(cl.Scopes, sc) {
			missing = append(missing, sc)
		}
	}
	if len(missing) > 0 {
		if s.Status == Pass {
			s.Status = Warn
		}
		fixes = append(fixes, fmt.Sprintf("scopes %v were requested but the token lacks %v: if the broker requires a scope (sasl.oauthbearer.expected.scope…), allow it for the client", c.scopes, missing))
	}
	s.Fix = strings.Join(fixes, "\n")
	return s
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// listString prints a claim list as [a b]; an empty list as [].
func listString(l []string) string { return "[" + strings.Join(l, " ") + "]" }
