package consume

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"golang.org/x/oauth2"
)

type fakeSetter struct {
	mu       sync.Mutex
	tokens   []kafka.OAuthBearerToken
	failures []string
	refuse   error
}

func (f *fakeSetter) SetOAuthBearerToken(t kafka.OAuthBearerToken) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse != nil {
		return f.refuse
	}
	f.tokens = append(f.tokens, t)
	return nil
}

func (f *fakeSetter) SetOAuthBearerTokenFailure(s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, s)
	return nil
}

type fakeSource struct {
	gate  chan struct{} // when non-nil, Fetch waits for it
	tok   *oauth2.Token
	err   error
	calls int
	mu    sync.Mutex
}

func (f *fakeSource) Fetch(ctx context.Context) (*oauth2.Token, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return f.tok, f.err
}

func jwt(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(claims)) + ".c2ln"
}

func TestTokenRefresher(t *testing.T) {
	future := time.Now().Add(time.Hour).Truncate(time.Second)
	tests := []struct {
		name          string
		tok           *oauth2.Token
		err           error
		principal     string
		refuse        error
		wantPrincipal string
		wantExpiry    time.Time
		wantFailure   string // substring of the failure reason; "" = success
	}{
		{name: "expiry from response", tok: &oauth2.Token{AccessToken: jwt(`{"sub":"svc","exp":1}`), Expiry: future},
			wantPrincipal: "svc", wantExpiry: future},
		{name: "expiry from jwt", tok: &oauth2.Token{AccessToken: jwt(`{"sub":"svc","exp":` + strconv.FormatInt(future.Unix(), 10) + `}`)},
			principal: "given", wantPrincipal: "given", wantExpiry: future},
		{name: "opaque token with expiry", tok: &oauth2.Token{AccessToken: "opaque", Expiry: future},
			wantPrincipal: "cfbench", wantExpiry: future},
		{name: "no expiry", tok: &oauth2.Token{AccessToken: "opaque"}, wantFailure: "no expiry"},
		{name: "expired", tok: &oauth2.Token{AccessToken: "x", Expiry: time.Now().Add(-time.Minute)}, wantFailure: "already expired"},
		{name: "fetch fails", err: errors.New("token request to http://idp: idp_4xx: invalid_client"), wantFailure: "idp_4xx: invalid_client"},
		{name: "librdkafka refuses", tok: &oauth2.Token{AccessToken: "x", Expiry: future}, refuse: errors.New("bad token"), wantFailure: "librdkafka refused the token: bad token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := &fakeSetter{refuse: tt.refuse}
			r := NewTokenRefresher(set, &fakeSource{tok: tt.tok, err: tt.err}, tt.principal, nil)
			r.Refresh(context.Background())
			r.Close()
			st := r.Stats()
			if len(st.Events) != 1 || st.Requests != 1 {
				t.Fatalf("stats %+v", st)
			}
			ev := st.Events[0]
			if tt.wantFailure != "" {
				if ev.OK || st.Failures != 1 || len(set.failures) != 1 || !strings.Contains(set.failures[0], tt.wantFailure) || ev.Error != set.failures[0] {
					t.Errorf("want failure %q: event %+v, failures %q", tt.wantFailure, ev, set.failures)
				}
				select {
				case <-r.FirstToken():
					t.Error("FirstToken closed after a failure")
				default:
				}
				return
			}
			if !ev.OK || st.Refreshes != 1 || len(set.tokens) != 1 || len(set.failures) != 0 {
				t.Fatalf("want success: event %+v, failures %q", ev, set.failures)
			}
			got := set.tokens[0]
			if got.TokenValue != tt.tok.AccessToken || got.Principal != tt.wantPrincipal || !got.Expiration.Equal(tt.wantExpiry) || got.Extensions != nil {
				t.Errorf("token %+v, want principal %q expiry %v", got, tt.wantPrincipal, tt.wantExpiry)
			}
			if ev.Took <= 0 || ev.At.IsZero() || !ev.Expiry.Equal(tt.wantExpiry) {
				t.Errorf("event %+v", ev)
			}
			<-r.FirstToken()
		})
	}
}

// TestTokenRefresherNeverBlocks checks that Refresh returns while the IdP hangs, that requests
// during a fetch are coalesced, and that Close waits for the fetch.
func TestTokenRefresherNeverBlocks(t *testing.T) {
	src := &fakeSource{gate: make(chan struct{}), tok: &oauth2.Token{AccessToken: "x", Expiry: time.Now().Add(time.Hour)}}
	set := &fakeSetter{}
	r := NewTokenRefresher(set, src, "p", nil)
	done := make(chan struct{})
	go func() {
		r.Refresh(context.Background())
		r.Refresh(context.Background())
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Refresh blocked while the token source hangs")
	}
	closed := make(chan struct{})
	go func() { r.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned with a fetch in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(src.gate)
	<-closed
	st := r.Stats()
	if st.Requests != 2 || st.Coalesced != 1 || st.Refreshes != 1 || src.calls != 1 || len(set.tokens) != 1 {
		t.Errorf("stats %+v, fetches %d", st, src.calls)
	}
	r.Refresh(context.Background()) // after Close: ignored
	if st := r.Stats(); st.Requests != 3 || src.calls != 1 {
		t.Errorf("after Close: stats %+v, fetches %d", st, src.calls)
	}
}

// TestTokenRefresherCanceled checks that a fetch cut short by the end of the run is not a failure.
func TestTokenRefresherCanceled(t *testing.T) {
	src := &fakeSource{gate: make(chan struct{})}
	set := &fakeSetter{}
	r := NewTokenRefresher(set, src, "", nil)
	ctx, cancel := context.WithCancel(context.Background())
	r.Refresh(ctx)
	cancel()
	r.Close()
	st := r.Stats()
	if st.Failures != 0 || st.Canceled != 1 || len(set.failures) != 0 || len(st.Events) != 1 || !strings.HasPrefix(st.Events[0].Error, "canceled: ") {
		t.Errorf("stats %+v, failures set %q", st, set.failures)
	}
}
