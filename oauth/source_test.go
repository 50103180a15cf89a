package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// testSecret has characters that form and basic-auth encoding change, so every encoded form of
// it is exercised by the leak checks.
const testSecret = "s3cr3t/+&= x~!%"

// jwt builds an unsigned compact JWT with the given claims.
func jwt(t testing.TB, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": "k1", "typ": "JWT"})
	p, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc(h) + "." + enc(p) + "." + enc([]byte("not-a-real-signature"))
}

func goodJWT(t testing.TB) string {
	now := time.Now().Unix()
	return jwt(t, map[string]any{"iss": "http://idp", "sub": "c1", "aud": []string{"cfbench-kafka"},
		"scp": []string{"kafka"}, "iat": now, "exp": now + 60, "client_id": "c1"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// tokenHandler answers every request with a good bearer token of lifetime 60 s.
func tokenHandler(t testing.TB) http.HandlerFunc {
	tok := goodJWT(t)
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "bearer", "expires_in": 60, "scope": "kafka"})
	}
}

func newSource(t testing.TB, cfg Config) *Source {
	t.Helper()
	if cfg.ClientID == "" {
		cfg.ClientID = "c1"
	}
	if cfg.ClientSecret == "" {
		cfg.ClientSecret = testSecret
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestNewValidates(t *testing.T) {
	ok := Config{TokenURL: "http://127.0.0.1:1/token", ClientID: "c1", ClientSecret: "x"}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string // substring of the error; "" means valid
	}{
		{"valid", func(*Config) {}, ""},
		{"params style", func(c *Config) { c.AuthStyle = oauth2.AuthStyleInParams }, ""},
		{"grant_type override", func(c *Config) { c.EndpointParams = url.Values{"grant_type": {"x"}} }, ""},
		{"no url", func(c *Config) { c.TokenURL = "" }, "token URL is empty"},
		{"bad scheme", func(c *Config) { c.TokenURL = "ftp://h/t" }, "want an http:// or https:// URL"},
		{"no host", func(c *Config) { c.TokenURL = "http:///t" }, "no host"},
		{"credentials in url", func(c *Config) { c.TokenURL = "http://u:pw@h/t" }, "must not carry credentials"},
		{"no id", func(c *Config) { c.ClientID = "" }, "client id is empty"},
		{"no secret", func(c *Config) { c.ClientSecret = "" }, "client secret is empty"},
		{"bad style", func(c *Config) { c.AuthStyle = 7 }, "auth style 7"},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "want a positive duration"},
		{"empty scope", func(c *Config) { c.Scopes = []string{"a", ""} }, "scope 2 is empty"},
		{"scope param", func(c *Config) { c.EndpointParams = url.Values{"scope": {"a"}} }, "set the scopes instead"},
		{"audience param", func(c *Config) { c.EndpointParams = url.Values{"audience": {"a"}} }, "set the audience instead"},
		{"secret param", func(c *Config) { c.EndpointParams = url.Values{"client_secret": {"a"}} }, `"client_secret"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			_, err := New(cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("New: no error, want one containing %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("New: %v, want it to contain %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "pw") {
				t.Errorf("error shows the URL's password: %v", err)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	s := newSource(t, Config{TokenURL: "http://127.0.0.1:1/token"})
	if s.cfg.AuthStyle != oauth2.AuthStyleInHeader {
		t.Errorf("AuthStyle = %d, want AuthStyleInHeader", s.cfg.AuthStyle)
	}
	if s.cfg.Timeout != DefaultTimeout {
		t.Errorf("Timeout = %s, want %s", s.cfg.Timeout, DefaultTimeout)
	}
	if s.cfg.MaxEvents != DefaultMaxEvents {
		t.Errorf("MaxEvents = %d, want %d", s.cfg.MaxEvents, DefaultMaxEvents)
	}
}

// TestFetchRequest checks what goes over the wire: the pinned auth style, the scopes joined
// by a space, the audience and the extra parameters, and exactly one request per fetch even
// when the IdP refuses (auto-detection would retry with the other style).
func TestFetchRequest(t *testing.T) {
	for _, tc := range []struct {
		name   string
		style  oauth2.AuthStyle
		status int
	}{
		{"style=default", oauth2.AuthStyleAutoDetect, http.StatusOK},
		{"style=header", oauth2.AuthStyleInHeader, http.StatusOK},
		{"style=params", oauth2.AuthStyleInParams, http.StatusOK},
		{"style=default/refused", oauth2.AuthStyleAutoDetect, http.StatusUnauthorized},
		{"style=params/refused", oauth2.AuthStyleInParams, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var reqs []*http.Request
			var forms []url.Values
			good := tokenHandler(t)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if err := r.ParseForm(); err != nil {
					t.Errorf("ParseForm: %v", err)
				}
				mu.Lock()
				reqs, forms = append(reqs, r), append(forms, r.PostForm)
				mu.Unlock()
				if tc.status != http.StatusOK {
					writeJSON(w, tc.status, map[string]string{"error": "invalid_client"})
					return
				}
				good(w, r)
			}))
			defer srv.Close()
			s := newSource(t, Config{
				TokenURL: srv.URL + "/oauth2/token", ClientID: "c1 id", AuthStyle: tc.style,
				Scopes: []string{"kafka", "read"}, Audience: "cfbench-kafka",
				EndpointParams: url.Values{"resource": {"r1"}},
			})
			_, err := s.Fetch(context.Background())
			if (err == nil) != (tc.status == http.StatusOK) {
				t.Fatalf("Fetch: %v (status %d)", err, tc.status)
			}
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want exactly 1", len(reqs))
			}
			r, f := reqs[0], forms[0]
			if r.Method != http.MethodPost || r.URL.Path != "/oauth2/token" {
				t.Errorf("request %s %s, want POST /oauth2/token", r.Method, r.URL.Path)
			}
			for k, want := range map[string]string{"grant_type": "client_credentials", "scope": "kafka read", "audience": "cfbench-kafka", "resource": "r1"} {
				if got := f.Get(k); got != want {
					t.Errorf("form %s = %q, want %q", k, got, want)
				}
			}
			user, pass, basic := r.BasicAuth()
			if tc.style == oauth2.AuthStyleInParams {
				if basic || r.Header.Get("Authorization") != "" {
					t.Errorf("params style sent an Authorization header")
				}
				if f.Get("client_id") != "c1 id" || f.Get("client_secret") != testSecret {
					t.Errorf("params style: form client_id=%q, client_secret present=%v", f.Get("client_id"), f.Has("client_secret"))
				}
				return
			}
			// x/oauth2 form-encodes id and secret inside basic auth (RFC 6749 §2.3.1).
			if !basic || user != url.QueryEscape("c1 id") || pass != url.QueryEscape(testSecret) {
				t.Errorf("header style: basic auth %v user %q (secret matches: %v)", basic, user, pass == url.QueryEscape(testSecret))
			}
			if f.Has("client_secret") || f.Has("client_id") {
				t.Errorf("header style also sent the credentials as form parameters")
			}
		})
	}
}

func TestFetchOK(t *testing.T) {
	srv := httptest.NewServer(tokenHandler(t))
	defer srv.Close()
	s := newSource(t, Config{TokenURL: srv.URL})
	before := time.Now()
	tok, err := s.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || !tok.Valid() {
		t.Errorf("token not valid: %+v", tok.Expiry)
	}
	st := s.Stats()
	if st.Fetches != 1 || st.Failures != 0 || st.TokenFetch.TotalCount() != 1 || st.FailedFetch.TotalCount() != 0 {
		t.Errorf("stats fetches %d failures %d token_fetch %d failed %d, want 1 0 1 0",
			st.Fetches, st.Failures, st.TokenFetch.TotalCount(), st.FailedFetch.TotalCount())
	}
	if st.LastLifetime != 60*time.Second {
		t.Errorf("LastLifetime = %s, want 1m0s", st.LastLifetime)
	}
	if len(st.Events) != 1 || !st.Events[0].OK || st.Events[0].Lifetime != time.Minute || st.Events[0].At.Before(before) {
		t.Errorf("events %+v", st.Events)
	}
	if st.FirstToken <= 0 || st.FirstToken > time.Since(before)+time.Second {
		t.Errorf("FirstToken = %s", st.FirstToken)
	}
	ev := st.Events[0]
	if got, want := st.TokenFetch.Max(), ev.Took.Microseconds(); !st.TokenFetch.ValuesAreEquivalent(got, max(want, 1)) {
		t.Errorf("token_fetch max %d µs, event took %d µs", got, want)
	}
}

func TestStartMarksFirstToken(t *testing.T) {
	srv := httptest.NewServer(tokenHandler(t))
	defer srv.Close()
	s := newSource(t, Config{TokenURL: srv.URL})
	time.Sleep(100 * time.Millisecond)
	if st := s.Stats(); st.FirstToken != 0 {
		t.Fatalf("FirstToken = %s before any fetch", st.FirstToken)
	}
	beforeStart := time.Now()
	s.Start()
	if _, err := s.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Measured from Start, not from New 100 ms earlier.
	if ft, since := s.Stats().FirstToken, time.Since(beforeStart); ft <= 0 || ft > since {
		t.Errorf("FirstToken = %s, want the time since Start (at most %s)", ft, since)
	}
	// Start re-arms: no first token until the next success.
	s.Start()
	if ft := s.Stats().FirstToken; ft != 0 {
		t.Errorf("FirstToken = %s right after Start, want 0", ft)
	}
}

func TestEventsBounded(t *testing.T) {
	srv := httptest.NewServer(tokenHandler(t))
	defer srv.Close()
	s := newSource(t, Config{TokenURL: srv.URL, MaxEvents: 3})
	for range 5 {
		if _, err := s.Fetch(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	st := s.Stats()
	if len(st.Events) != 3 || st.DroppedEvents != 2 || st.Fetches != 5 || st.TokenFetch.TotalCount() != 5 {
		t.Errorf("events %d dropped %d fetches %d hist %d, want 3 2 5 5", len(st.Events), st.DroppedEvents, st.Fetches, st.TokenFetch.TotalCount())
	}
	// The snapshot is a copy.
	st.Events[0].OK = false
	st.TokenFetch.Reset()
	if st2 := s.Stats(); !st2.Events[0].OK || st2.TokenFetch.TotalCount() != 5 {
		t.Errorf("Stats shares memory with the Source")
	}
}

func TestConcurrentFetch(t *testing.T) {
	var n atomic.Int64
	good := tokenHandler(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%3 == 0 {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable"})
			return
		}
		good(w, r)
	}))
	defer srv.Close()
	s := newSource(t, Config{TokenURL: srv.URL})
	var wg sync.WaitGroup
	var okCount atomic.Int64
	for range 8 {
		wg.Go(func() {
			for range 6 {
				if _, err := s.Fetch(context.Background()); err == nil {
					okCount.Add(1)
				}
				_ = s.Stats()
			}
		})
	}
	wg.Wait()
	st := s.Stats()
	if st.Fetches != 48 || st.Failures != 16 || st.ByClass[ClassIdP5xx] != 16 || okCount.Load() != 32 ||
		st.TokenFetch.TotalCount() != 32 || st.FailedFetch.TotalCount() != 16 || len(st.Events) != 48 {
		t.Errorf("fetches %d failures %d 5xx %d ok %d hist %d/%d events %d, want 48 16 16 32 32/16 48",
			st.Fetches, st.Failures, st.ByClass[ClassIdP5xx], okCount.Load(), st.TokenFetch.TotalCount(), st.FailedFetch.TotalCount(), len(st.Events))
	}
}

// TestTimingSplit fetches over TLS from a host name, so that DNS, connect, TLS and server time
// are all present, then again over the kept-alive connection.
func TestTimingSplit(t *testing.T) {
	const serverDelay = 40 * time.Millisecond
	good := tokenHandler(t)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(serverDelay)
		good(w, r)
	}))
	defer srv.Close()
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.ServerName = "example.com" // a name in httptest's certificate
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, _, addr string) (net.Conn, error) {
		return d.DialContext(ctx, "tcp4", addr) // localhost → 127.0.0.1 only
	}
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	s := newSource(t, Config{TokenURL: "https://localhost:" + port + "/token", HTTPClient: &http.Client{Transport: tr}})

	for i := range 2 {
		if _, err := s.Fetch(context.Background()); err != nil {
			t.Fatalf("fetch %d: %v", i, err)
		}
	}
	ev := s.Stats().Events
	first, second := ev[0], ev[1]
	if first.DNS <= 0 || first.Connect <= 0 || first.TLS <= 0 || first.Reused {
		t.Errorf("first fetch: DNS %s connect %s TLS %s reused %v, want all phases on a new connection",
			first.DNS, first.Connect, first.TLS, first.Reused)
	}
	for i, e := range ev {
		if e.Server < serverDelay || e.Server > e.Took {
			t.Errorf("fetch %d: server %s, want ≥ %s and ≤ took %s", i, e.Server, serverDelay, e.Took)
		}
		if sum := e.DNS + e.Connect + e.TLS + e.Server; sum > e.Took {
			t.Errorf("fetch %d: phases add up to %s > took %s", i, sum, e.Took)
		}
	}
	if !second.Reused || second.DNS != 0 || second.Connect != 0 || second.TLS != 0 {
		t.Errorf("second fetch: reused %v DNS %s connect %s TLS %s, want a reused connection with no setup",
			second.Reused, second.DNS, second.Connect, second.TLS)
	}
}

// TestFetchTimeout: a server that accepts and never answers fails the fetch within
// Config.Timeout.
func TestFetchTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // hold it open, say nothing
			mu.Unlock()
		}
	}()
	defer func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	const timeout = 300 * time.Millisecond
	s := newSource(t, Config{TokenURL: "http://" + ln.Addr().String() + "/token", Timeout: timeout})
	start := time.Now()
	_, err = s.Fetch(context.Background())
	took := time.Since(start)
	var fe *FetchError
	if !errors.As(err, &fe) || fe.Class != ClassNetwork || fe.Network != NetTimeout {
		t.Fatalf("Fetch: %v, want a network timeout FetchError", err)
	}
	if took < timeout || took > timeout+time.Second {
		t.Errorf("failed after %s, want about %s", took, timeout)
	}
	if !strings.Contains(err.Error(), "no answer within 300ms (waiting for the server after sending the request)") {
		t.Errorf("message %q does not say where it waited", err)
	}
	if st := s.Stats(); st.Failures != 1 || st.ByClass[ClassNetwork] != 1 {
		t.Errorf("failures %d network %d, want 1 1", st.Failures, st.ByClass[ClassNetwork])
	}
}

func TestFetchCanceled(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	s := newSource(t, Config{TokenURL: srv.URL})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := s.Fetch(ctx)
	var fe *FetchError
	if !errors.As(err, &fe) || fe.Class != ClassCanceled || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Fetch: %v, want a canceled FetchError wrapping context.DeadlineExceeded", err)
	}
	st := s.Stats()
	if st.Fetches != 1 || st.Failures != 0 || st.Canceled != 1 || st.FailedFetch.TotalCount() != 0 {
		t.Errorf("fetches %d failures %d canceled %d, want 1 0 1 (canceled is not a failure)", st.Fetches, st.Failures, st.Canceled)
	}
}

func TestStringRedacts(t *testing.T) {
	cfg := Config{TokenURL: "http://127.0.0.1:1/t", ClientID: "c1", ClientSecret: testSecret}
	s := newSource(t, cfg)
	for _, out := range []string{
		fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", &cfg),
		fmt.Sprint(s), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s),
	} {
		assertNoSecret(t, "String", out)
		if !strings.Contains(out, "c1") {
			t.Errorf("%q does not name the client", out)
		}
	}
}

// secretForms are the ways the test secret could show up.
func secretForms() []string {
	return []string{
		testSecret,
		url.QueryEscape(testSecret),
		base64.StdEncoding.EncodeToString([]byte(url.QueryEscape("c1") + ":" + url.QueryEscape(testSecret))),
		`s3cr3t/+\u0026= x~!%`, // as encoding/json writes it
	}
}

func assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, f := range secretForms() {
		if strings.Contains(s, f) {
			t.Errorf("%s shows the client secret (%q): %s", what, f, s)
		}
	}
}
