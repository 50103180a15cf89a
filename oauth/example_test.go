package oauth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/cfbench/cfbench/oauth"
)

func ExampleParseClaims() {
	enc := base64.RawURLEncoding.EncodeToString
	token := enc([]byte(`{"alg":"RS256","kid":"k1"}`)) + "." +
		enc([]byte(`{"iss":"http://127.0.0.1:24444/","aud":["cfbench-kafka"],"scp":["kafka"],"iat":1700000000,"exp":1700000060}`)) +
		".c2lnbmF0dXJl"
	c, err := oauth.ParseClaims(token)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Issuer, c.Audience, c.Scopes, c.Lifetime(), c.ExpiresAt)
	// Output: http://127.0.0.1:24444/ [cfbench-kafka] [kafka] 1m0s 2023-11-14 22:14:20 +0000 UTC
}

func ExampleSource_Fetch() {
	// An IdP that refuses the client.
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"invalid_client","error_description":"Client authentication failed."}`)
	}))
	defer idp.Close()

	src, err := oauth.New(oauth.Config{TokenURL: idp.URL + "/oauth2/token", ClientID: "cfbench-consumer",
		ClientSecret: "s3cret", Scopes: []string{"kafka"}, Audience: "cfbench-kafka"})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = src.Fetch(context.Background())
	var fe *oauth.FetchError
	if errors.As(err, &fe) {
		fmt.Println(fe.Class, fe.Status, fe.Code, "|", fe.Hint)
	}
	st := src.Stats()
	fmt.Println("fetches", st.Fetches, "failures", st.Failures, "token_fetch", st.TokenFetch.TotalCount())
	// Output:
	// idp_4xx 401 invalid_client | check the client id and secret, and that the IdP accepts them in the Authorization header (basic auth)
	// fetches 1 failures 1 token_fetch 0
}
