package oauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/cfbench/cfbench/internal/golden"
)

type failureCase struct {
	name    string
	handler http.HandlerFunc // the IdP; nil when start sets up the server
	// start, when set, returns a token URL (and an optional client) for cases that need more
	// than a handler.
	start   func(t *testing.T) (tokenURL string, client *http.Client)
	class   FailureClass
	network string
	status  int
	code    string
	// retrieve: the error unwraps to an *oauth2.RetrieveError (the IdP answered with an error
	// status or an OAuth error).
	retrieve bool
	want     []string // substrings of the message
}

func failureCases() []failureCase {
	html := func(status int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(status)
			io.WriteString(w, body)
		}
	}
	js := func(status int, v any) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { writeJSON(w, status, v) }
	}
	token := func(fields map[string]any) http.HandlerFunc {
		return js(http.StatusOK, fields)
	}
	return []failureCase{
		{name: "invalid_client", handler: js(401, map[string]string{"error": "invalid_client", "error_description": "Client authentication failed."}),
			class: ClassIdP4xx, retrieve: true, status: 401, code: "invalid_client",
			want: []string{"401 Unauthorized invalid_client (Client authentication failed.)", "check the client id and secret"}},
		{name: "invalid_scope", handler: js(400, map[string]string{"error": "invalid_scope", "error_description": "The requested scope is invalid."}),
			class: ClassIdP4xx, retrieve: true, status: 400, code: "invalid_scope", want: []string{"invalid_scope", `check the scopes ["kafka"]`}},
		{name: "invalid_request_audience", handler: js(400, map[string]string{"error": "invalid_request", "error_description": "Requested audience has not been whitelisted."}),
			class: ClassIdP4xx, retrieve: true, status: 400, code: "invalid_request", want: []string{`check the audience "cfbench-kafka"`}},
		{name: "error_with_200", handler: js(200, map[string]string{"error": "unauthorized_client"}),
			class: ClassIdP4xx, retrieve: true, status: 200, code: "unauthorized_client", want: []string{"enable client_credentials"}},
		{name: "404_html", handler: html(404, "<html><head><title>Not Found</title></head>\n<body>nope</body></html>"),
			class: ClassIdP4xx, retrieve: true, status: 404, want: []string{"404 Not Found with text/html", "is the token URL right?"}},
		{name: "500_json", handler: js(500, map[string]string{"error": "server_error", "error_description": "db down"}),
			class: ClassIdP5xx, retrieve: true, status: 500, code: "server_error", want: []string{"500 Internal Server Error server_error (db down)", "retry later"}},
		{name: "503_html", handler: html(503, "<h1>Service Unavailable</h1>"),
			class: ClassIdP5xx, retrieve: true, status: 503, want: []string{"503 Service Unavailable with text/html", "retry later"}},
		{name: "200_html", handler: html(200, "<!doctype html><html><title>Sign in</title></html>"),
			class: ClassBadResponse, status: 200, want: []string{"answered 200 with text/html, not a token", "is the token URL right?"}},
		{name: "200_text_plain", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "hello")
		}, class: ClassBadResponse, status: 200, want: []string{"answered 200 with text/plain, not a token"}},
		{name: "200_bad_json", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"access_token": `)
		}, class: ClassBadResponse, status: 200, want: []string{"not a token response"}},
		{name: "redirect", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://idp.example/oauth2/v1/token", http.StatusFound)
		}, class: ClassBadResponse, status: 302, retrieve: true, want: []string{`redirecting to "https://idp.example/oauth2/v1/token"`}},
		{name: "empty_access_token", handler: token(map[string]any{"access_token": "", "token_type": "bearer", "expires_in": 60}),
			class: ClassUnusableToken, status: 200, want: []string{"without an access_token"}},
		{name: "no_expires_in", handler: token(map[string]any{"access_token": "opaque", "token_type": "bearer"}),
			class: ClassUnusableToken, status: 200, want: []string{"no positive expires_in"}},
		{name: "zero_expires_in", handler: token(map[string]any{"access_token": "opaque", "token_type": "bearer", "expires_in": 0}),
			class: ClassUnusableToken, status: 200, want: []string{"no positive expires_in"}},
		{name: "token_type_mac", handler: token(map[string]any{"access_token": "opaque", "token_type": "mac", "expires_in": 60}),
			class: ClassUnusableToken, status: 200, want: []string{`token_type is "mac", not bearer`}},
		{name: "bad_jwt", handler: token(map[string]any{"access_token": "eyJhbGciOi.not-json.sig", "token_type": "Bearer", "expires_in": 60}),
			class: ClassUnusableToken, status: 200, want: []string{"the access token looks like a JWT but does not parse (JWT header: not a JSON object)"}},
		{name: "connection_refused", start: func(t *testing.T) (string, *http.Client) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			return "http://" + addr + "/token", nil
		}, class: ClassNetwork, network: NetConnect, want: []string{"connection refused", "is the IdP running"}},
		{name: "dns", start: func(t *testing.T) (string, *http.Client) {
			tr := &http.Transport{DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
				host, _, _ := net.SplitHostPort(addr)
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
			}}
			return "http://idp.invalid/token", &http.Client{Transport: tr}
		}, class: ClassNetwork, network: NetDNS, want: []string{"no such host", "check the token URL's host name"}},
		{name: "tls_unknown_ca", start: func(t *testing.T) (string, *http.Client) {
			srv := httptest.NewUnstartedServer(tokenHandler(t))
			srv.Config.ErrorLog = log.New(io.Discard, "", 0)
			srv.StartTLS()
			t.Cleanup(srv.Close)
			return srv.URL + "/token", nil
		}, class: ClassNetwork, network: NetTLS, want: []string{"certificate signed by unknown authority", "not signed by a CA this host trusts"}},
		{name: "https_to_http", start: func(t *testing.T) (string, *http.Client) {
			srv := httptest.NewServer(tokenHandler(t))
			t.Cleanup(srv.Close)
			return strings.Replace(srv.URL, "http://", "https://", 1) + "/token", nil
		}, class: ClassNetwork, network: NetTLS, want: []string{"server speaks plain http"}},
		{name: "connection_closed", start: func(t *testing.T) (string, *http.Client) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					c.Read(make([]byte, 4096))
					c.Close()
				}
			}()
			return "http://" + ln.Addr().String() + "/token", nil
		}, class: ClassNetwork, network: NetIO, want: []string{"EOF", "the connection to the IdP broke"}},
	}
}

// TestFetchFailures runs every failure class against a loopback IdP and checks the class, the
// fields, the message (against testdata/errors.golden) and the bookkeeping.
func TestFetchFailures(t *testing.T) {
	var out bytes.Buffer
	for _, tc := range failureCases() {
		t.Run(tc.name, func(t *testing.T) {
			tokenURL, client := "", (*http.Client)(nil)
			if tc.start != nil {
				tokenURL, client = tc.start(t)
			} else {
				srv := httptest.NewServer(tc.handler)
				t.Cleanup(srv.Close)
				tokenURL = srv.URL + "/token"
			}
			s := newSource(t, Config{TokenURL: tokenURL, HTTPClient: client, Scopes: []string{"kafka"},
				Audience: "cfbench-kafka", Timeout: 5 * time.Second})
			tok, err := s.Fetch(context.Background())
			if tok != nil {
				t.Errorf("Fetch returned a token with the error")
			}
			var fe *FetchError
			if !errors.As(err, &fe) {
				t.Fatalf("Fetch: %v (%T), want a *FetchError", err, err)
			}
			if fe.Class != tc.class || fe.Network != tc.network || fe.Status != tc.status || fe.Code != tc.code {
				t.Errorf("class %q network %q status %d code %q, want %q %q %d %q",
					fe.Class, fe.Network, fe.Status, fe.Code, tc.class, tc.network, tc.status, tc.code)
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q\ndoes not contain %q", msg, w)
				}
			}
			if !strings.Contains(msg, `for client "c1"`) || !strings.Contains(msg, displayURL(tokenURL)) {
				t.Errorf("message %q does not name the client and the token URL", msg)
			}
			if errors.Unwrap(err) == nil {
				t.Errorf("FetchError unwraps to nil")
			}
			var re *oauth2.RetrieveError
			if errors.As(err, &re) != tc.retrieve {
				t.Errorf("errors.As(*oauth2.RetrieveError) = %v, want %v", !tc.retrieve, tc.retrieve)
			}
			st := s.Stats()
			if st.Fetches != 1 || st.Failures != 1 || st.ByClass[tc.class] != 1 || st.TokenFetch.TotalCount() != 0 ||
				st.FailedFetch.TotalCount() != 1 || len(st.Events) != 1 || st.Events[0].OK ||
				st.Events[0].Class != tc.class || st.Events[0].Error != msg {
				t.Errorf("stats after a failure: %+v", st)
			}
			fmt.Fprintf(&out, "%s: %s\n", tc.name, normalize(msg, tokenURL))
		})
	}
	golden.Check(t, filepath.Join("testdata", "errors.golden"), out.Bytes())
}

// normalize replaces the test servers' random addresses so messages can be compared.
func normalize(msg, tokenURL string) string {
	u := displayURL(tokenURL)
	msg = strings.ReplaceAll(msg, u, "TOKEN_URL")
	host := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://"), "/token")
	return strings.ReplaceAll(msg, host, "IDP")
}

// TestSecretNeverLeaks runs IdPs that echo the whole request (Authorization header and form)
// back in every way an answer can carry text, for both auth styles, and checks that neither
// the errors, their unwrapped chain, the events nor the Stats show the secret.
func TestSecretNeverLeaks(t *testing.T) {
	echo := func(r *http.Request) string {
		b, _ := io.ReadAll(r.Body)
		return fmt.Sprintf("auth=%s body=%s secret=%s", r.Header.Get("Authorization"), b, testSecret)
	}
	handlers := map[string]http.HandlerFunc{
		"400_json": func(w http.ResponseWriter, r *http.Request) {
			e := echo(r)
			writeJSON(w, 400, map[string]string{"error": "invalid_client " + e, "error_description": e, "error_uri": e})
		},
		"401_text": func(w http.ResponseWriter, r *http.Request) { http.Error(w, echo(r), 401) },
		"500_html": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(500)
			io.WriteString(w, "<pre>"+echo(r)+"</pre>")
		},
		"200_html": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<pre>"+echo(r)+"</pre>")
		},
		"200_bad_json": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"x": "`+echo(r)+`"`)
		},
		"302": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "/x?"+echo(r))
			w.WriteHeader(302)
		},
		"200_token_type": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, map[string]any{"access_token": "a", "token_type": echo(r), "expires_in": 60})
		},
	}
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		for name, h := range handlers {
			t.Run(fmt.Sprintf("style=%d/%s", style, name), func(t *testing.T) {
				srv := httptest.NewServer(h)
				defer srv.Close()
				s := newSource(t, Config{TokenURL: srv.URL, AuthStyle: style})
				_, err := s.Fetch(context.Background())
				if err == nil {
					t.Fatal("Fetch succeeded")
				}
				for e := err; e != nil; e = errors.Unwrap(e) {
					assertNoSecret(t, fmt.Sprintf("error %T", e), e.Error())
					assertNoSecret(t, fmt.Sprintf("%%+v of %T", e), fmt.Sprintf("%+v", e))
				}
				var re *oauth2.RetrieveError
				if errors.As(err, &re) {
					assertNoSecret(t, "RetrieveError.Body", string(re.Body))
					if re.Response != nil && re.Response.Request != nil {
						t.Errorf("RetrieveError keeps the request (and its Authorization header)")
					}
				}
				if !strings.Contains(err.Error(), redactedMark) && name != "302" && name != "200_bad_json" {
					t.Errorf("message %q shows no %s: the echo was not exercised", err, redactedMark)
				}
				st := s.Stats()
				js, _ := json.Marshal(st)
				assertNoSecret(t, "Stats JSON", string(js))
				assertNoSecret(t, "Stats", fmt.Sprintf("%+v", st))
				var logged bytes.Buffer
				slog.New(slog.NewJSONHandler(&logged, nil)).Info("fetch", "err", err, "cfg", s.cfg, "src", s)
				assertNoSecret(t, "slog", logged.String())
			})
		}
	}
}
