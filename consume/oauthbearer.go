package consume

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"golang.org/x/oauth2"
)

// TokenSource hands out OAuth access tokens; each Fetch is one token request (satisfied by
// *oauth.Source). It must be safe for concurrent use.
type TokenSource interface {
	Fetch(ctx context.Context) (*oauth2.Token, error)
}

// TokenSetter is the part of a librdkafka client handle the refresher uses. *kafka.Consumer,
// *kafka.Producer and *kafka.AdminClient (any kafka.Handle) satisfy it.
type TokenSetter interface {
	SetOAuthBearerToken(token kafka.OAuthBearerToken) error
	SetOAuthBearerTokenFailure(errstr string) error
}

// RefreshEvent is one answer to an OAuthBearerTokenRefresh event.
type RefreshEvent struct {
	At     time.Time     // when the fetch started
	Took   time.Duration // fetch + hand-over to librdkafka
	OK     bool          // the token was fetched and accepted by librdkafka
	Error  string        // why not (the classified fetch error or librdkafka's refusal); "" when OK
	Expiry time.Time     // the token's expiry as handed to librdkafka; zero on failure
}

// RefreshStats summarises a TokenRefresher. Events is bounded (MaxRefreshEvents, oldest kept).
type RefreshStats struct {
	Requests  int64          // Refresh calls (librdkafka's requests)
	Coalesced int64          // requests ignored because a fetch was already in flight
	Refreshes int64          // tokens handed to librdkafka
	Failures  int64          // fetches or hand-overs that failed (SetOAuthBearerTokenFailure called)
	Canceled  int64          // fetches cut short because the ctx given to Refresh ended (shutdown): not failures
	Events    []RefreshEvent // one per fetch, in order; at most MaxRefreshEvents
	Dropped   int64          // events not kept because Events was full
}

// MaxRefreshEvents bounds RefreshStats.Events.
const MaxRefreshEvents = 10_000

// TokenRefresher answers librdkafka's OAuthBearerTokenRefresh events for one client (consumer or
// producer). Refresh never blocks: the token is fetched in a goroutine and handed over with
// SetOAuthBearerToken, or SetOAuthBearerTokenFailure with the reason (librdkafka then asks
// again 10 s later). The token is sent with no SASL extensions. Safe for concurrent use.
type TokenRefresher struct {
	h         TokenSetter
	src       TokenSource
	principal string
	log       *slog.Logger
	now       func() time.Time

	wg       sync.WaitGroup
	mu       sync.Mutex
	inflight bool
	closed   bool
	stats    RefreshStats
	first    chan struct{} // closed after the first successful hand-over
}

// NewTokenRefresher returns a refresher that sets tokens from src on h. principal is the Kafka
// principal name librdkafka attaches to the token; when empty, the token's JWT "sub" claim is used
// (the broker derives the principal from the token itself either way). log may be nil.
func NewTokenRefresher(h TokenSetter, src TokenSource, principal string, log *slog.Logger) *TokenRefresher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &TokenRefresher{h: h, src: src, principal: principal, log: log, now: time.Now, first: make(chan struct{})}
}

// Refresh starts fetching a token in a goroutine and returns at once. Call it from the poll loop
// on every kafka.OAuthBearerTokenRefresh event. A request that arrives while a fetch is in flight
// is counted and dropped: the fetch in flight answers it. ctx bounds the fetch.
func (t *TokenRefresher) Refresh(ctx context.Context) {
	t.mu.Lock()
	t.stats.Requests++
	if t.inflight || t.closed {
		t.stats.Coalesced++
		t.mu.Unlock()
		return
	}
	t.inflight = true
	t.wg.Add(1)
	t.mu.Unlock()
	go t.fetch(ctx)
}

func (t *TokenRefresher) fetch(ctx context.Context) {
	defer t.wg.Done()
	start := t.now()
	ev := RefreshEvent{At: start}
	tok, err := t.src.Fetch(ctx)
	if err == nil {
		var ot kafka.OAuthBearerToken
		ot, err = t.bearer(tok)
		if err == nil {
			if serr := t.h.SetOAuthBearerToken(ot); serr != nil {
				err = fmt.Errorf("librdkafka refused the token: %w", serr)
			} else {
				ev.OK, ev.Expiry = true, ot.Expiration
			}
		}
	}
	canceled := err != nil && ctx.Err() != nil
	if canceled {
		ev.Error = "canceled: " + err.Error()
	} else if err != nil {
		ev.Error = err.Error() // oauth errors never carry the secret
		if ferr := t.h.SetOAuthBearerTokenFailure(ev.Error); ferr != nil {
			t.log.Warn("setting the OAUTHBEARER token failure", "err", ferr)
		}
		t.log.Warn("OAUTHBEARER token refresh failed", "err", ev.Error)
	}
	ev.Took = t.now().Sub(start)
	t.mu.Lock()
	t.inflight = false
	switch {
	case ev.OK:
		t.stats.Refreshes++
		if t.stats.Refreshes == 1 {
			close(t.first)
		}
	case canceled:
		t.stats.Canceled++
	default:
		t.stats.Failures++
	}
	if len(t.stats.Events) < MaxRefreshEvents {
		t.stats.Events = append(t.stats.Events, ev)
	} else {
		t.stats.Dropped++
	}
	t.mu.Unlock()
}

// bearer converts an OAuth token for librdkafka: the expiry from the token response (expires_in),
// else from the JWT's exp claim; the principal as configured, else the JWT's sub claim.
func (t *TokenRefresher) bearer(tok *oauth2.Token) (kafka.OAuthBearerToken, error) {
	if tok == nil || tok.AccessToken == "" {
		return kafka.OAuthBearerToken{}, errors.New("token response without an access token")
	}
	exp, sub := jwtExpSub(tok.AccessToken)
	if !tok.Expiry.IsZero() {
		exp = tok.Expiry
	}
	if exp.IsZero() {
		return kafka.OAuthBearerToken{}, errors.New("token has no expiry (no expires_in and no JWT exp claim)")
	}
	if !exp.After(t.now()) {
		return kafka.OAuthBearerToken{}, fmt.Errorf("token already expired at %s", exp.UTC().Format(time.RFC3339))
	}
	principal := t.principal
	if principal == "" {
		principal = sub
	}
	if principal == "" {
		principal = "cfbench"
	}
	return kafka.OAuthBearerToken{TokenValue: tok.AccessToken, Expiration: exp, Principal: principal}, nil
}

// jwtExpSub reads exp and sub from a JWT's payload without verifying it; zero values if the
// token is not a JWT.
func jwtExpSub(token string) (time.Time, string) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, ""
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, ""
	}
	var c struct {
		Exp float64 `json:"exp"`
		Sub string  `json:"sub"`
	}
	if json.Unmarshal(b, &c) != nil {
		return time.Time{}, ""
	}
	var exp time.Time
	if c.Exp > 0 {
		exp = time.Unix(int64(c.Exp), 0)
	}
	return exp, c.Sub
}

// FirstToken returns a channel closed once a token has been handed to librdkafka.
func (t *TokenRefresher) FirstToken() <-chan struct{} { return t.first }

// Stats returns a copy of the refresher's counters and events.
func (t *TokenRefresher) Stats() RefreshStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats
	s.Events = append([]RefreshEvent(nil), t.stats.Events...)
	return s
}

// Close stops accepting requests and waits for a fetch in flight to finish (bounded by the ctx
// given to Refresh and the source's own timeout).
func (t *TokenRefresher) Close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.wg.Wait()
}
