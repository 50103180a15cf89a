package doctor

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cfbench/cfbench/oauth"
)

// jwt builds an unsigned compact JWT with the given claims.
func jwt(t *testing.T, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "RS256", "kid": "k1"}) + "." + enc(claims) + ".c2ln"
}

func tokenOf(t *testing.T, claims map[string]any, requested, expect string) *token {
	t.Helper()
	v := jwt(t, claims)
	cl, err := oauth.ParseClaims(v)
	return &token{value: v, claims: cl, claimsErr: err, audience: requested, expect: expect}
}

func TestExplainRejection(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	exp := now.Add(time.Minute).Unix()
	saslErr := errors.New(`sasl_plaintext://127.0.0.1:29093/bootstrap: SASL authentication error: {"status":"invalid_token"}`)
	tests := []struct {
		name                string
		claims              map[string]any
		requested, expect   string
		authErr             string
		err                 error
		wantDetail, wantFix string
	}{
		{"no aud, expectation unknown", map[string]any{"aud": []string{}, "exp": exp}, "", "", saslErr.Error(), saslErr,
			"audience [] (the token has none)", "set idp.audience"},
		{"no aud, sink's audience known", map[string]any{"aud": []string{}, "exp": exp}, "", "cfbench-kafka", saslErr.Error(), saslErr,
			`audience [] does not match "cfbench-kafka"`, "set idp.audience: cfbench-kafka"},
		{"no aud though requested", map[string]any{"exp": exp}, "cfbench-kafka", "cfbench-kafka", "", saslErr,
			`audience [] does not match "cfbench-kafka"`, "allow the audience for the client at the IdP"},
		{"other aud", map[string]any{"aud": "other", "exp": exp}, "cfbench-kafka", "cfbench-kafka", "", saslErr,
			`audience [other] does not match "cfbench-kafka"`, `put "cfbench-kafka" in aud`},
		{"expired", map[string]any{"aud": "cfbench-kafka", "exp": now.Add(-time.Minute).Unix()}, "cfbench-kafka", "cfbench-kafka", "", saslErr,
			"it expired at", "clock"},
		{"claims right: broker side", map[string]any{"aud": "cfbench-kafka", "iss": "http://idp/", "sub": "c", "exp": exp}, "cfbench-kafka", "cfbench-kafka", "", saslErr,
			"broker rejected the token", "allowed.urls"},
		{"no answer", map[string]any{"aud": "cfbench-kafka", "exp": exp}, "cfbench-kafka", "cfbench-kafka", "", errors.New("Local: Broker transport failure"),
			"no answer from the brokers", "security_protocol"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tk := tokenOf(t, tc.claims, tc.requested, tc.expect)
			detail, fix := explainRejection(tk, tc.authErr, tc.err, now)
			if !strings.Contains(detail, tc.wantDetail) {
				t.Errorf("detail = %q, want it to contain %q", detail, tc.wantDetail)
			}
			if !strings.Contains(fix, tc.wantFix) {
				t.Errorf("fix = %q, want it to contain %q", fix, tc.wantFix)
			}
			if strings.Contains(detail+fix, tk.value) {
				t.Error("the token appears in the output")
			}
		})
	}
}

func TestClaimsStep(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	exp := now.Add(time.Minute).Unix()
	c := client{what: "idp", scopes: []string{"kafka"}}
	tests := []struct {
		name      string
		claims    map[string]any
		requested string
		want      Status
		wantFix   string
	}{
		{"healthy", map[string]any{"aud": "a", "scope": "kafka", "exp": exp, "iss": "i", "sub": "s"}, "a", Pass, ""},
		{"no aud", map[string]any{"aud": []string{}, "scope": "kafka", "exp": exp}, "", Warn, "set idp.audience"},
		{"aud other than requested", map[string]any{"aud": "b", "scope": "kafka", "exp": exp}, "a", Warn, `"a" was requested`},
		{"scope missing", map[string]any{"aud": "a", "exp": exp}, "a", Warn, "lacks [kafka]"},
		{"scp list (Okta)", map[string]any{"aud": "a", "scp": []string{"kafka"}, "exp": exp}, "a", Pass, ""},
		{"expired", map[string]any{"aud": "a", "scope": "kafka", "exp": now.Add(-time.Second).Unix()}, "a", Fail, "already expired"},
		{"no exp", map[string]any{"aud": "a", "scope": "kafka"}, "a", Fail, "no exp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := c
			c.audience = tc.requested
			s := claimsStep("token claims", tokenOf(t, tc.claims, tc.requested, tc.requested), c, now)
			if s.Status != tc.want {
				t.Errorf("status %s, want %s (detail %q, fix %q)", s.Status, tc.want, s.Detail, s.Fix)
			}
			if !strings.Contains(s.Fix, tc.wantFix) || (tc.wantFix == "" && s.Fix != "") {
				t.Errorf("fix = %q, want %q", s.Fix, tc.wantFix)
			}
			for _, k := range []string{"iss ", "aud ", "scope ", "sub ", "exp "} {
				if !strings.Contains(s.Detail, k) {
					t.Errorf("detail lacks %q: %q", k, s.Detail)
				}
			}
		})
	}
	// A token that is not a JWT.
	s := claimsStep("token claims", &token{value: "opaque", claimsErr: errors.New("JWT: 1 parts")}, c, now)
	if s.Status != Warn || strings.Contains(s.Detail, "opaque") {
		t.Errorf("opaque token: %+v", s)
	}
}

func TestWriteStep(t *testing.T) {
	var b strings.Builder
	err := WriteStep(&b, Step{Name: "kafka topics", Status: Warn, Detail: "users: 6 partition(s)\nmissing: rides", Fix: "create them\nor enable auto-creation", Took: 1234567 * time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	want := "WARN  kafka topics  (1.2ms)\n      users: 6 partition(s)\n      missing: rides\n      fix: create them\n           or enable auto-creation\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestReportOK(t *testing.T) {
	r := Report{Steps: []Step{{Status: Pass}, {Status: Warn}, {Status: Skip}}}
	if !r.OK() {
		t.Error("warnings and skips must not fail the report")
	}
	r.Steps = append(r.Steps, Step{Name: "x", Status: Fail})
	if r.OK() {
		t.Error("a failed step must fail the report")
	}
	if c := r.Counts(); c[Fail] != 1 || c[Pass] != 1 {
		t.Errorf("counts %v", c)
	}
}
