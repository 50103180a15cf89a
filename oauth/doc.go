// Package oauth is cfbench's instrumented OAuth 2.0 client-credentials token source.
//
// It asks an identity provider (Okta, Ory Hydra, ...) for access tokens with
// golang.org/x/oauth2/clientcredentials, exactly one token request per [Source.Fetch], and
// measures each request: end-to-end duration into the HDR histogram token_fetch (µs,
// 1 µs..1 h, 3 significant figures), split via net/http/httptrace into DNS, connect, TLS and
// server time; counts; the token lifetime (expires_in); the time to the first token. A failed
// request returns a [*FetchError] whose [FailureClass] says where it failed (network, IdP 4xx
// with the OAuth error code, IdP 5xx, an answer that is not a token, an unusable token) and what
// to do about it, never the client secret.
//
// The package knows nothing about Kafka: consume hands the tokens to librdkafka.
//
// An https token URL is verified against the system's roots, or only against the CA
// certificates of [Config.CAFile] when set (a profile's idp.ca_file; pgfeed's TokenCAFile). A
// certificate that does not verify is a ClassNetwork failure of kind NetTLS whose error unwraps
// to the crypto/x509 error and whose hint names the CA file.
//
//	src, err := oauth.New(oauth.Config{
//		TokenURL:     "http://127.0.0.1:24444/oauth2/token",
//		ClientID:     "cfbench-consumer",
//		ClientSecret: secret,
//		Scopes:       []string{"kafka"},
//		Audience:     "cfbench-kafka",
//	})
//	if err != nil {
//		return err
//	}
//	tok, err := src.Fetch(ctx) // one timed request
//	st := src.Stats()          // fetches, failures, token_fetch histogram, events
//
// [ParseClaims] decodes, without verifying, the claims of a JWT access token for display.
package oauth
