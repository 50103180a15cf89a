package oauth

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Histogram range of token_fetch, in microseconds: 1 µs .. 1 h, 3 significant figures, the
// latency unit shared by every cfbench histogram.
const (
	histMinUS   = 1
	histMaxUS   = 3_600_000_000
	histSigFigs = 3
)

// Event is one token fetch.
type Event struct {
	At      time.Time     // when the fetch started
	Took    time.Duration // end to end, including reading and checking the answer
	OK      bool          // a usable token came back
	Class   FailureClass  // ClassNone when OK
	Error   string        // the FetchError message when not OK; never holds the secret
	DNS     time.Duration // resolving the token URL's host; 0 for an IP literal or a reused connection
	Connect time.Duration // TCP connect; 0 for a reused connection
	TLS     time.Duration // TLS handshake; 0 for http:// or a reused connection
	Server  time.Duration // request written → first byte of the answer: the IdP's time plus one round trip
	Reused  bool          // the request went over a kept-alive connection
	// Lifetime is the token's lifetime as the IdP stated it (expires_in) when OK.
	Lifetime time.Duration
}

// Stats is a snapshot of a Source's measurements; it shares nothing with the Source.
type Stats struct {
	// Fetches counts every call of Fetch: successes, failures and canceled ones.
	Fetches int64
	// Failures counts failed fetches, excluding ClassCanceled (the caller gave up; the IdP did
	// not fail).
	Failures int64
	// Canceled counts fetches whose context ended before an answer.
	Canceled int64
	// ByClass counts failures (and cancellations) by class.
	ByClass map[FailureClass]int64
	// FirstToken is the time from New, or from the latest Start, to the end of the first
	// successful fetch after it; 0 while there is none.
	FirstToken time.Duration
	// LastLifetime is the lifetime (expires_in) of the latest token; 0 while there is none.
	LastLifetime time.Duration
	// Events holds the first Config.MaxEvents fetches in order; DroppedEvents counts the rest.
	Events        []Event
	DroppedEvents int64
	// TokenFetch is the histogram token_fetch: the end-to-end duration of every successful
	// fetch, in µs (1 µs..1 h, 3 significant figures, values clamped into range).
	TokenFetch *hdrhistogram.Histogram
	// FailedFetch holds the durations of failed fetches (excluding canceled ones), in µs, kept
	// apart so that fast failures (connection refused) do not flatter token_fetch.
	FailedFetch *hdrhistogram.Histogram
}

// Source fetches client-credentials tokens, one timed and counted request per Fetch. It does
// not cache: the caller (consume's token refresher) decides when to fetch. Safe for concurrent
// use.
type Source struct {
	cfg      Config
	tokenURL string // for messages: the token URL with any query redacted
	cc       *clientcredentials.Config
	client   *http.Client
	redact   redactor

	mu           sync.Mutex
	origin       time.Time // New or the latest Start
	firstPending bool      // no success since origin
	fetches      int64
	failures     int64
	canceled     int64
	byClass      map[FailureClass]int64
	firstToken   time.Duration
	lastLifetime time.Duration
	events       []Event
	dropped      int64
	okHist       *hdrhistogram.Histogram
	failHist     *hdrhistogram.Histogram
}

// New validates cfg and returns a Source. It does not contact the IdP.
func New(cfg Config) (*Source, error) {
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	var hc http.Client
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	if cfg.rootCAs != nil {
		t := base.(*http.Transport).Clone() // validate checked the type
		if t.TLSClientConfig == nil {
			t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		t.TLSClientConfig.RootCAs = cfg.rootCAs
		base = t
	}
	hc.Transport = &recordingTransport{base: base}
	if hc.CheckRedirect == nil {
		hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	s := &Source{
		cfg:      cfg,
		tokenURL: displayURL(cfg.TokenURL),
		cc: &clientcredentials.Config{
			ClientID:       cfg.ClientID,
			ClientSecret:   cfg.ClientSecret,
			TokenURL:       cfg.TokenURL,
			Scopes:         cfg.Scopes,
			EndpointParams: cfg.EndpointParams,
			AuthStyle:      cfg.AuthStyle,
		},
		client:       &hc,
		redact:       newRedactor(cfg.ClientID, cfg.ClientSecret),
		origin:       time.Now(),
		firstPending: true,
		byClass:      make(map[FailureClass]int64),
		okHist:       hdrhistogram.New(histMinUS, histMaxUS, histSigFigs),
		failHist:     hdrhistogram.New(histMinUS, histMaxUS, histSigFigs),
	}
	return s, nil
}

// displayURL is the token URL as shown in messages: without user info or query.
func displayURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable token URL)"
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	return u.String()
}

// String describes the Source without its secret.
func (s *Source) String() string {
	return fmt.Sprintf("oauth.Source{TokenURL:%q ClientID:%q}", s.tokenURL, s.cfg.ClientID)
}

// GoString is String, so %#v does not dump the configuration.
func (s *Source) GoString() string { return s.String() }

// Start marks the origin of Stats.FirstToken: the time to the first token is measured from the
// latest Start (or from New if Start is never called) to the end of the first successful fetch
// after it.
func (s *Source) Start() {
	s.mu.Lock()
	s.origin = time.Now()
	s.firstPending = true
	s.mu.Unlock()
}

// Fetch requests one token from the IdP (clientcredentials.Config.Token: exactly one HTTP
// request, never a cached token), bounded by Config.Timeout and ctx, and records it. A failure
// is a *FetchError. A token is returned only if usable: non-empty access_token, token_type
// bearer (or absent), a positive expires_in, and, if it looks like a JWT (has a '.'), claims
// that parse.
func (s *Source) Fetch(ctx context.Context) (*oauth2.Token, error) {
	start := time.Now()
	fctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	rec := &fetchRecord{}
	fctx = context.WithValue(withRecord(fctx, rec), oauth2.HTTPClient, s.client)

	tok, err := s.cc.Token(fctx)
	end := time.Now()
	took := end.Sub(start)

	var fe *FetchError
	var lifetime time.Duration
	if err != nil {
		fe = s.classify(ctx, fctx, err, rec, took)
	} else {
		lifetime, fe = s.check(tok, rec, end, took)
	}
	ev := Event{At: start, Took: took, OK: fe == nil, Lifetime: lifetime}
	ev.DNS, ev.Connect, ev.TLS, ev.Server, ev.Reused = rec.split()
	if fe != nil {
		ev.Class = fe.Class
		ev.Error = fe.Error()
	}
	s.record(ev, end)
	if fe != nil {
		return nil, fe
	}
	return tok, nil
}

// check decides whether a token that x/oauth2 accepted is usable and returns its lifetime.
func (s *Source) check(tok *oauth2.Token, rec *fetchRecord, end time.Time, took time.Duration) (time.Duration, *FetchError) {
	ans, _ := rec.answer()
	bad := func(detail, hint string) (time.Duration, *FetchError) {
		return 0, s.unusable(fmt.Sprintf("the IdP answered %d: %s", ans.status, detail), hint, ans.status, ans.contentType, took)
	}
	if tok.AccessToken == "" {
		return bad("the access_token is empty", "check the IdP's client configuration")
	}
	if tok.TokenType != "" && !strings.EqualFold(tok.TokenType, "bearer") {
		return bad(fmt.Sprintf("the token_type is %q, not bearer", tok.TokenType),
			"configure the IdP to issue bearer tokens for this client")
	}
	lifetime, ok := expiresIn(tok, end)
	if !ok || lifetime <= 0 {
		return bad("the answer has no positive expires_in",
			"configure the IdP to state the token lifetime; without it the token cannot be refreshed in time")
	}
	if strings.Contains(tok.AccessToken, ".") {
		if _, err := ParseClaims(tok.AccessToken); err != nil {
			return bad(fmt.Sprintf("the access token looks like a JWT but does not parse (%v)", err),
				"check the IdP's access token format (JWT)")
		}
	}
	return lifetime, nil
}

// expiresIn returns the token's stated lifetime: expires_in from the answer, else the
// expiry x/oauth2 computed from it.
func expiresIn(tok *oauth2.Token, end time.Time) (time.Duration, bool) {
	switch v := tok.Extra("expires_in").(type) {
	case float64:
		return time.Duration(v * float64(time.Second)), true
	case int64:
		return time.Duration(v) * time.Second, true
	case string:
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			return time.Duration(n * float64(time.Second)), true
		}
	}
	if tok.Expiry.IsZero() {
		return 0, false
	}
	return tok.Expiry.Sub(end).Round(time.Second), true
}

func clampUS(d time.Duration) int64 {
	return min(max(d.Microseconds(), histMinUS), histMaxUS)
}

// record books one fetch. It is the whole bookkeeping cost of a fetch (BenchmarkRecord).
func (s *Source) record(ev Event, end time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fetches++
	switch {
	case ev.OK:
		_ = s.okHist.RecordValue(clampUS(ev.Took)) // cannot fail: clamped into range
		s.lastLifetime = ev.Lifetime
		if s.firstPending {
			s.firstPending = false
			s.firstToken = end.Sub(s.origin)
		}
	case ev.Class == ClassCanceled:
		s.canceled++
		s.byClass[ev.Class]++
	default:
		s.failures++
		s.byClass[ev.Class]++
		_ = s.failHist.RecordValue(clampUS(ev.Took))
	}
	if len(s.events) < s.cfg.MaxEvents {
		s.events = append(s.events, ev)
	} else {
		s.dropped++
	}
}

// Stats returns a snapshot of the measurements so far. Safe to call while fetches run.
func (s *Source) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{
		Fetches:       s.fetches,
		Failures:      s.failures,
		Canceled:      s.canceled,
		ByClass:       make(map[FailureClass]int64, len(s.byClass)),
		LastLifetime:  s.lastLifetime,
		Events:        append([]Event(nil), s.events...),
		DroppedEvents: s.dropped,
		TokenFetch:    hdrhistogram.Import(s.okHist.Export()),
		FailedFetch:   hdrhistogram.Import(s.failHist.Export()),
	}
	if !s.firstPending {
		st.FirstToken = s.firstToken
	}
	for k, v := range s.byClass {
		st.ByClass[k] = v
	}
	return st
}
