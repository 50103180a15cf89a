package oauth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// answerTransport answers every request with a fixed status, content type and body, without a
// network.
type answerTransport struct {
	status      int
	contentType string
	body        string
}

func (a answerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	return &http.Response{
		StatusCode: a.status, Status: http.StatusText(a.status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {a.contentType}},
		Body:    io.NopCloser(strings.NewReader(a.body)),
		Request: req,
	}, nil
}

// FuzzFetchAnswer feeds arbitrary IdP answers to Fetch: it never panics, a failure is always a
// classified *FetchError, and the secret never shows, even when the answer contains it.
func FuzzFetchAnswer(f *testing.F) {
	f.Add(200, "application/json", `{"access_token":"a","token_type":"bearer","expires_in":60}`)
	f.Add(200, "application/json", `{"access_token":"a.b.c","token_type":"bearer","expires_in":"60"}`)
	f.Add(200, "application/x-www-form-urlencoded", "access_token=a&token_type=bearer&expires_in=60")
	f.Add(401, "application/json", `{"error":"invalid_client","error_description":"`+testSecret+`"}`)
	f.Add(500, "text/html", "<h1>"+testSecret+"</h1>")
	f.Add(200, "text/html", "<html>")
	f.Add(302, "", "")
	f.Fuzz(func(t *testing.T, status int, contentType, body string) {
		if status < 200 || status > 599 {
			t.Skip()
		}
		s := newSource(t, Config{TokenURL: "http://127.0.0.1:1/token",
			HTTPClient: &http.Client{Transport: answerTransport{status, contentType, body}}})
		tok, err := s.Fetch(context.Background())
		if err == nil {
			if tok == nil || tok.AccessToken == "" {
				t.Fatalf("no error and no usable token")
			}
			return
		}
		var fe *FetchError
		if !errors.As(err, &fe) {
			t.Fatalf("error %T is not a *FetchError", err)
		}
		switch fe.Class {
		case ClassIdP4xx, ClassIdP5xx, ClassBadResponse, ClassUnusableToken:
		default:
			t.Fatalf("class %q for an HTTP answer", fe.Class)
		}
		for e := error(fe); e != nil; e = errors.Unwrap(e) {
			if strings.Contains(e.Error(), testSecret) {
				t.Fatalf("%T shows the secret: %s", e, e)
			}
		}
	})
}
