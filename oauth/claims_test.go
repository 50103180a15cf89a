package oauth

import (
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseClaims(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	raw := func(header, payload string) string { return enc([]byte(header)) + "." + enc([]byte(payload)) + ".c2ln" }
	hdr := `{"alg":"RS256","kid":"k1"}`
	for _, tc := range []struct {
		name  string
		token string
		want  Claims // Raw is not compared
		err   string
	}{
		{name: "hydra", token: raw(hdr, `{"aud":["cfbench-kafka"],"client_id":"c1","exp":1700000060,"iat":1700000000,"nbf":1700000000,"iss":"http://127.0.0.1:24444","jti":"j1","scp":["kafka"],"sub":"c1"}`),
			want: Claims{Algorithm: "RS256", KeyID: "k1", Issuer: "http://127.0.0.1:24444", Subject: "c1", Audience: []string{"cfbench-kafka"},
				Scopes: []string{"kafka"}, ClientID: "c1", ID: "j1", ExpiresAt: time.Unix(1700000060, 0).UTC(),
				IssuedAt: time.Unix(1700000000, 0).UTC(), NotBefore: time.Unix(1700000000, 0).UTC()}},
		{name: "okta", token: raw(hdr, `{"aud":"api://default","cid":"0oa1","scp":["kafka","read"],"exp":1700000060.5}`),
			want: Claims{Algorithm: "RS256", KeyID: "k1", Audience: []string{"api://default"}, Scopes: []string{"kafka", "read"},
				ClientID: "0oa1", ExpiresAt: time.Unix(1700000060, 5e8).UTC()}},
		{name: "scope string wins over scp", token: raw(hdr, `{"scope":"a b  c","scp":["x"]}`),
			want: Claims{Algorithm: "RS256", KeyID: "k1", Scopes: []string{"a", "b", "c"}}},
		{name: "padded segments", token: enc([]byte(hdr)) + "==." + enc([]byte(`{"sub":"s"}`)) + "=.x",
			want: Claims{Algorithm: "RS256", KeyID: "k1", Subject: "s"}},
		{name: "empty aud list", token: raw(hdr, `{"aud":[]}`), want: Claims{Algorithm: "RS256", KeyID: "k1", Audience: []string{}}},
		{name: "two parts", token: "a.b", err: "2 parts"},
		{name: "opaque", token: "opaque-token", err: "1 parts"},
		{name: "header not base64", token: "!!!.e30.x", err: "JWT header: not base64url"},
		{name: "payload not json", token: raw(hdr, `not json`), err: "JWT claims: not a JSON object"},
		{name: "payload a list", token: raw(hdr, `[1]`), err: "JWT claims: not a JSON object"},
		{name: "payload null", token: raw(hdr, `null`), err: "null, want a JSON object"},
		{name: "trailing data", token: raw(hdr, `{} {}`), err: "data after the JSON object"},
		{name: "aud a number", token: raw(hdr, `{"aud":5}`), err: `claim "aud": a number, want a string or a list of strings`},
		{name: "aud list of numbers", token: raw(hdr, `{"aud":[5]}`), err: `claim "aud": a list holding a number, want strings`},
		{name: "exp a string", token: raw(hdr, `{"exp":"soon"}`), err: `claim "exp": a string, want seconds since 1970`},
		{name: "exp absurd", token: raw(hdr, `{"exp":1e300}`), err: `claim "exp": 1e300 is not a plausible time`},
		{name: "iss an object", token: raw(hdr, `{"iss":{}}`), err: `claim "iss": an object, want a string`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseClaims(tc.token)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseClaims: %v, want an error containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseClaims: %v", err)
			}
			if c.Raw == nil {
				t.Errorf("Raw is nil")
			}
			c.Raw = nil
			if !reflect.DeepEqual(c, tc.want) {
				t.Errorf("ParseClaims =\n%+v\nwant\n%+v", c, tc.want)
			}
		})
	}
}

func TestClaimsLifetime(t *testing.T) {
	c := Claims{IssuedAt: time.Unix(100, 0), ExpiresAt: time.Unix(160, 0)}
	if c.Lifetime() != time.Minute {
		t.Errorf("Lifetime = %s, want 1m0s", c.Lifetime())
	}
	if (Claims{ExpiresAt: time.Unix(160, 0)}).Lifetime() != 0 {
		t.Errorf("Lifetime without iat is not 0")
	}
}

// FuzzParseClaims: no input panics, and an error never quotes the token's signature.
func FuzzParseClaims(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOlsiY2ZiZW5jaC1rYWZrYSJdLCJzY3AiOlsia2Fma2EiXX0.c2ln")
	f.Add("a.b.c")
	f.Add("..")
	f.Add("e30.e30.")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := ParseClaims(token)
		if err != nil {
			if parts := strings.Split(token, "."); len(parts) == 3 && len(parts[2]) > 8 && strings.Contains(err.Error(), parts[2]) {
				t.Errorf("error %q quotes the signature", err)
			}
			return
		}
		if c.Raw == nil {
			t.Errorf("nil Raw without an error")
		}
	})
}
