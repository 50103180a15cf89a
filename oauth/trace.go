package oauth

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"
)

// maxBodyCapture is how much of an answer's body a fetch keeps for error messages.
const maxBodyCapture = 4 << 10

// fetchRecord collects the httptrace timestamps and the answer of one fetch. httptrace hooks can
// run on other goroutines (parallel dials), hence the mutex.
type fetchRecord struct {
	mu                    sync.Mutex
	dnsStart, dnsDone     time.Time
	connStart, connDone   time.Time
	tlsStart, tlsDone     time.Time
	gotConn, wroteRequest time.Time
	firstByte             time.Time
	reused                bool
	got                   bool
	ans                   answer
}

type recordKey struct{}

// withRecord returns ctx carrying rec and an httptrace.ClientTrace filling it in.
func withRecord(ctx context.Context, rec *fetchRecord) context.Context {
	set := func(t *time.Time) {
		now := time.Now()
		rec.mu.Lock()
		if t.IsZero() {
			*t = now
		}
		rec.mu.Unlock()
	}
	trace := &httptrace.ClientTrace{
		DNSStart:     func(httptrace.DNSStartInfo) { set(&rec.dnsStart) },
		DNSDone:      func(httptrace.DNSDoneInfo) { set(&rec.dnsDone) },
		ConnectStart: func(string, string) { set(&rec.connStart) },
		ConnectDone: func(_, _ string, err error) {
			if err == nil {
				set(&rec.connDone)
			}
		},
		TLSHandshakeStart: func() { set(&rec.tlsStart) },
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			if err == nil {
				set(&rec.tlsDone)
			}
		},
		GotConn: func(info httptrace.GotConnInfo) {
			set(&rec.gotConn)
			rec.mu.Lock()
			rec.reused = info.Reused
			rec.mu.Unlock()
		},
		WroteRequest:         func(httptrace.WroteRequestInfo) { set(&rec.wroteRequest) },
		GotFirstResponseByte: func() { set(&rec.firstByte) },
	}
	ctx = context.WithValue(ctx, recordKey{}, rec)
	return httptrace.WithClientTrace(ctx, trace)
}

func span(start, end time.Time) time.Duration {
	if start.IsZero() || end.IsZero() || end.Before(start) {
		return 0
	}
	return end.Sub(start)
}

// split returns the DNS, connect, TLS and server (request written → first response byte) times
// and whether the connection was reused.
func (r *fetchRecord) split() (dns, connect, tlsTime, server time.Duration, reused bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return span(r.dnsStart, r.dnsDone), span(r.connStart, r.connDone), span(r.tlsStart, r.tlsDone),
		span(r.wroteRequest, r.firstByte), r.reused
}

func (r *fetchRecord) answer() (answer, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ans, r.got
}

// inTLS reports whether a TLS handshake started and did not finish.
func (r *fetchRecord) inTLS() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.tlsStart.IsZero() && r.tlsDone.IsZero()
}

// phase names where a fetch that timed out was stuck.
func (r *fetchRecord) phase() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case !r.dnsStart.IsZero() && r.dnsDone.IsZero():
		return "resolving the host"
	case !r.connStart.IsZero() && r.connDone.IsZero() && r.gotConn.IsZero():
		return "connecting"
	case !r.tlsStart.IsZero() && r.tlsDone.IsZero():
		return "in the TLS handshake"
	case !r.firstByte.IsZero() || r.got:
		return "reading the answer"
	case !r.wroteRequest.IsZero():
		return "waiting for the server after sending the request"
	case !r.gotConn.IsZero():
		return "sending the request"
	}
	return "before connecting"
}

// recordingTransport notes the status, content type, Location and the start of the body of each
// answer into the fetchRecord found in the request's context.
type recordingTransport struct{ base http.RoundTripper }

// RoundTrip implements http.RoundTripper.
func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	rec, _ := req.Context().Value(recordKey{}).(*fetchRecord)
	if rec == nil || resp == nil {
		return resp, err
	}
	rec.mu.Lock()
	rec.got = true
	rec.ans = answer{
		status:      resp.StatusCode,
		contentType: resp.Header.Get("Content-Type"),
		location:    resp.Header.Get("Location"),
	}
	rec.mu.Unlock()
	resp.Body = &capturingBody{ReadCloser: resp.Body, rec: rec}
	return resp, err
}

// capturingBody copies the first maxBodyCapture bytes read into the record.
type capturingBody struct {
	io.ReadCloser
	rec *fetchRecord
}

func (b *capturingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.rec.mu.Lock()
		if room := maxBodyCapture - len(b.rec.ans.body); room > 0 {
			b.rec.ans.body = append(b.rec.ans.body, p[:min(n, room)]...)
		}
		b.rec.mu.Unlock()
	}
	return n, err
}
