package oauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// BenchmarkRecord measures the bookkeeping of one fetch without the network: the histogram,
// counters and the event (Source.record). Once the event log is full it must not allocate.
func BenchmarkRecord(b *testing.B) {
	for _, tc := range []struct {
		name string
		ev   Event
	}{
		{"outcome=ok", Event{OK: true, Took: 3 * time.Millisecond, Lifetime: time.Minute}},
		{"outcome=failed", Event{Class: ClassIdP5xx, Took: 3 * time.Millisecond, Error: "x"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := newSource(b, Config{TokenURL: "http://127.0.0.1:1/token", MaxEvents: 1})
			s.record(tc.ev, time.Now()) // fill the event log
			b.ReportAllocs()
			now := time.Now()
			for b.Loop() {
				s.record(tc.ev, now)
			}
		})
	}
}

// BenchmarkFetch is a whole fetch from a loopback IdP over a kept-alive connection, through
// Source.Fetch (x/oauth2 + httptrace + recording transport + checks + bookkeeping) and through a
// bare clientcredentials.Config.Token, to show what the instrumentation adds to a request.
func BenchmarkFetch(b *testing.B) {
	srv := httptest.NewServer(tokenHandler(b))
	defer srv.Close()
	b.Run("path=instrumented", func(b *testing.B) {
		s := newSource(b, Config{TokenURL: srv.URL})
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Fetch(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("path=bare", func(b *testing.B) {
		cc := &clientcredentials.Config{ClientID: "c1", ClientSecret: testSecret, TokenURL: srv.URL,
			AuthStyle: oauth2.AuthStyleInHeader}
		ctx := context.WithValue(context.Background(), oauth2.HTTPClient,
			&http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cc.Token(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
