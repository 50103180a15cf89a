package changefeed

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

const (
	testSecret   = "s3cr>>>t???&more=" // its base64 has + and / ("Pj4+", "Pz8/"); the value has & and =
	testTokenURL = "http://127.0.0.1:24444/oauth2/token"
)

var testSecretB64 = base64.StdEncoding.EncodeToString([]byte(testSecret))

// oauthQuery returns the query of a valid OAUTHBEARER sink URI, edited by fn.
func oauthURI(fn func(q url.Values)) string {
	q := url.Values{}
	q.Set("sasl_enabled", "true")
	q.Set("sasl_mechanism", "OAUTHBEARER")
	q.Set("sasl_client_id", "cfbench-producer")
	q.Set("sasl_client_secret", testSecretB64)
	q.Set("sasl_token_url", testTokenURL)
	q.Set("topic_prefix", "cfbench_")
	if fn != nil {
		fn(q)
	}
	return "kafka://127.0.0.1:29093?" + q.Encode()
}

// TestParseSinkURIErrors checks each rule's error against CockroachDB's wording. The wanted
// strings are copied from CockroachDB's source and tests (kafkaauth, sink_kafka*.go,
// changefeed_test.go TestChangefeedErrors), not from this package.
func TestParseSinkURIErrors(t *testing.T) {
	for _, tc := range []struct {
		name, uri, want string
	}{
		{"no scheme", "nope", "no scheme found for sink URL"},
		{"unknown param (CockroachDB test: kafka_topic_prefix)", "kafka://nope/?kafka_topic_prefix=foo",
			"unknown kafka sink query parameters: [kafka_topic_prefix]"},
		{"unknown params sorted", oauthURI(func(q url.Values) { q.Set("zz", "1"); q.Set("aa", "2") }),
			"unknown kafka sink query parameters: [aa, zz]"},
		{"schema_topic", "kafka://nope/?schema_topic=foo", "schema_topic is not yet supported"},
		{"tls_enabled not bool", "kafka://nope/?tls_enabled=foo", "param tls_enabled must be a bool"},
		{"skip verify not bool", "kafka://nope/?tls_enabled=true&insecure_tls_skip_verify=foo",
			"param insecure_tls_skip_verify must be a bool"},
		{"ca_cert not base64", "kafka://nope/?ca_cert=!", "param ca_cert must be base 64 encoded"},
		{"ca_cert without tls", "kafka://nope/?&ca_cert=Zm9v", "ca_cert requires tls_enabled=true"},
		{"client_cert not base64", "kafka://nope/?client_cert=!", "param client_cert must be base 64 encoded"},
		{"client_key not base64", "kafka://nope/?client_key=!", "param client_key must be base 64 encoded"},
		{"client_cert without tls", "kafka://nope/?client_cert=Zm9v", "client_cert requires tls_enabled=true"},
		{"client_cert without key", "kafka://nope/?tls_enabled=true&client_cert=Zm9v", "client_cert requires client_key to be set"},
		{"client_key without cert", "kafka://nope/?tls_enabled=true&client_key=Zm9v", "client_key requires client_cert to be set"},
		{"bad key pair", "kafka://nope/?tls_enabled=true&client_cert=Zm9v&client_key=Zm9v", "invalid client certificate data provided"},
		{"sasl_enabled not bool", "kafka://nope/?sasl_enabled=maybe", "param sasl_enabled must be a bool"},
		{"handshake not bool", "kafka://nope/?sasl_enabled=true&sasl_user=x&sasl_password=y&sasl_handshake=maybe",
			"param sasl_handshake must be a bool"},
		{"handshake without sasl", "kafka://nope/?sasl_handshake=false", "sasl_enabled must be enabled to configure SASL handshake behavior"},
		{"mechanism without sasl", "kafka://nope/?sasl_mechanism=SCRAM-SHA-256", "sasl_enabled must be enabled to configure SASL mechanism"},
		{"sasl_user without sasl", "kafka://nope/?sasl_user=a", "sasl_enabled must be enabled if sasl_user is provided"},
		{"sasl_password without sasl", "kafka://nope/?sasl_password=a", "sasl_enabled must be enabled if sasl_password is provided"},
		{"client id without sasl", oauthURI(func(q url.Values) { q.Del("sasl_enabled"); q.Del("sasl_mechanism") }),
			"sasl_enabled must be enabled if sasl_client_id is provided"},
		{"client id with sasl_enabled=false", oauthURI(func(q url.Values) { q.Set("sasl_enabled", "false"); q.Del("sasl_mechanism") }),
			"sasl_enabled must be enabled if sasl_client_id is provided"},
		{"token url without sasl", "kafka://nope/?sasl_token_url=" + url.QueryEscape(testTokenURL),
			"sasl_enabled must be enabled if sasl_token_url is provided"},
		{"scopes without sasl", "kafka://nope/?sasl_scopes=kafka", "sasl_enabled must be enabled if sasl_scopes is provided"},
		{"unknown mechanism", "kafka://nope/?sasl_enabled=true&sasl_mechanism=unsuppported",
			"param sasl_mechanism must be one of AWS_MSK_IAM, OAUTHBEARER, PLAIN, SCRAM-SHA-256, or SCRAM-SHA-512"},
		{"plain missing user", "kafka://nope/?sasl_enabled=true", "sasl_user must be provided when SASL is enabled"},
		{"plain missing password", "kafka://nope/?sasl_enabled=true&sasl_user=a", "sasl_password must be provided when SASL is enabled"},
		{"scram missing user", "kafka://nope/?sasl_enabled=true&sasl_mechanism=SCRAM-SHA-256",
			"sasl_user must be provided when SASL is enabled using mechanism SCRAM-SHA-256"},
		{"oauth missing client id", "kafka://nope/?sasl_enabled=true&sasl_mechanism=OAUTHBEARER",
			"sasl_client_id must be provided when SASL is enabled using mechanism OAUTHBEARER"},
		{"oauth missing secret", oauthURI(func(q url.Values) { q.Del("sasl_client_secret") }),
			"sasl_client_secret must be provided when SASL is enabled using mechanism OAUTHBEARER"},
		{"oauth missing token url", oauthURI(func(q url.Values) { q.Del("sasl_token_url") }),
			"sasl_token_url must be provided when SASL is enabled using mechanism OAUTHBEARER"},
		{"oauth param with default mechanism", "kafka://nope/?sasl_enabled=true&sasl_client_id=a",
			"sasl_client_id is only a valid parameter for sasl_mechanism=OAUTHBEARER"},
		{"oauth secret with PLAIN", "kafka://nope/?sasl_enabled=true&sasl_mechanism=PLAIN&sasl_user=u&sasl_password=p&sasl_client_secret=" + url.QueryEscape(testSecretB64),
			"sasl_client_secret is only a valid parameter for sasl_mechanism=OAUTHBEARER"},
		{"oauth token url with SCRAM", "kafka://nope/?sasl_enabled=true&sasl_mechanism=SCRAM-SHA-512&sasl_user=u&sasl_password=p&sasl_token_url=x",
			"sasl_token_url is only a valid parameter for sasl_mechanism=OAUTHBEARER"},
		{"oauth scopes with PLAIN", "kafka://nope/?sasl_enabled=true&sasl_user=u&sasl_password=p&sasl_scopes=kafka",
			"sasl_scopes is only a valid parameter for sasl_mechanism=OAUTHBEARER"},
		{"oauth grant type with PLAIN", "kafka://nope/?sasl_enabled=true&sasl_user=u&sasl_password=p&sasl_grant_type=x",
			"sasl_grant_type is only a valid parameter for sasl_mechanism=OAUTHBEARER"},
		{"secret not base64", oauthURI(func(q url.Values) { q.Set("sasl_client_secret", "not base64!") }),
			"decoding client secret: param sasl_client_secret must be base 64 encoded: illegal base64 data at input byte 3"},
		{"secret is URL-safe base64, not StdEncoding", oauthURI(func(q url.Values) {
			q.Set("sasl_client_secret", base64.URLEncoding.EncodeToString([]byte("a>b?c>>")))
		}), "param sasl_client_secret must be base 64 encoded"},
		{"malformed token url", oauthURI(func(q url.Values) { q.Set("sasl_token_url", "http://[::1") }),
			"malformed token url: parse \"http://[::1\": missing ']' in host"},
		{"relative token url", oauthURI(func(q url.Values) { q.Set("sasl_token_url", "oauth2/token") }),
			"malformed token url: \"oauth2/token\" is not an absolute http(s) URL"},
		{"token url not percent-encoded splits the query", strings.Replace(oauthURI(nil), url.QueryEscape(testTokenURL), testTokenURL+"?a=b&c=d", 1),
			"unknown kafka sink query parameters: [c]"},
		{"repeated single-valued param", oauthURI(func(q url.Values) { q.Add("topic_name", "a"); q.Add("topic_name", "b") }),
			"param topic_name is given 2 times"},
		{"unsupported scheme", "webhook-https://host/path", "unsupported sink: webhook-https"},
		{"no broker", "kafka://?topic_name=x", "kafka sink URI has no broker"},
		{"empty broker", "kafka://a:1,,b:2", "has an empty broker address"},
		{"external with params", "external://conn?topic_name=x", "external connection sink URI must be exactly external://<name>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSinkURI(tc.uri)
			if err == nil {
				t.Fatalf("ParseSinkURI(%q) = nil error, want %q", tc.uri, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseSinkURI(%q)\n error %q\n want  %q", tc.uri, err, tc.want)
			}
			if strings.Contains(err.Error(), testSecretB64) || strings.Contains(err.Error(), testSecret) {
				t.Fatalf("error leaks the secret: %q", err)
			}
		})
	}
}

// TestParseSinkURIMissingAllOAuthParams checks that every missing parameter gets its own line,
// as kafkaauth's errors.Join does.
func TestParseSinkURIMissingAllOAuthParams(t *testing.T) {
	_, err := ParseSinkURI("kafka://nope/?sasl_enabled=true&sasl_mechanism=OAUTHBEARER")
	want := "sasl_client_id must be provided when SASL is enabled using mechanism OAUTHBEARER\n" +
		"sasl_client_secret must be provided when SASL is enabled using mechanism OAUTHBEARER\n" +
		"sasl_token_url must be provided when SASL is enabled using mechanism OAUTHBEARER"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant %q", err, want)
	}
}

func TestParseSinkURIValid(t *testing.T) {
	uri := oauthURI(func(q url.Values) {
		q.Add("sasl_scopes", "kafka")
		q.Add("sasl_scopes", "openid")
		q.Set("sasl_grant_type", "client_credentials")
	})
	got, err := ParseSinkURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	want := SinkURI{
		Scheme: SchemeKafka, Brokers: []string{"127.0.0.1:29093"}, TopicPrefix: "cfbench_",
		SASLEnabled: true, SASLMechanism: MechanismOAuthBearer, SASLHandshake: true,
		ClientID: "cfbench-producer", ClientSecret: testSecret, TokenURL: testTokenURL,
		Scopes: []string{"kafka", "openid"}, GrantType: "client_credentials",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %#v\nwant %#v", got.raw(), want.raw())
	}

	// PLAIN is the default mechanism; handshake can be turned off.
	plain, err := ParseSinkURI("kafka://a:1,b:2/?sasl_enabled=true&sasl_user=u&sasl_password=p%26w&sasl_handshake=false&tls_enabled=true")
	if err != nil {
		t.Fatal(err)
	}
	if plain.SASLMechanism != MechanismPlain || plain.SASLHandshake || plain.SASLPassword != "p&w" ||
		!reflect.DeepEqual(plain.Brokers, []string{"a:1", "b:2"}) || !plain.TLSEnabled {
		t.Fatalf("PLAIN URI parsed as %#v", plain.raw())
	}

	ext, err := ParseSinkURI("external://kafka_sink")
	if err != nil || ext.Scheme != SchemeExternal || ext.ExternalConnection != "kafka_sink" || ext.String() != "external://kafka_sink" {
		t.Fatalf("external: %#v, %v", ext.raw(), err)
	}
}

// raw lets a failing test print the struct (fmt verbs print the redacted URI).
func (u SinkURI) raw() any {
	type plain SinkURI
	return plain(u)
}

func TestSinkURIRoundTripAndEncoding(t *testing.T) {
	u, err := OAuthSink{
		Brokers: []string{"127.0.0.1:29093"}, TopicName: "vehicles",
		ClientID: "cfbench producer", ClientSecret: testSecret, TokenURL: testTokenURL + "?tenant=a&x=y",
		Scopes: []string{"kafka", "write:all"},
	}.SinkURI()
	if err != nil {
		t.Fatal(err)
	}
	s := u.String()
	// The query is url.Values.Encode(): the secret's base64 (+ / =) and the token URL are
	// percent-encoded so they survive as single values.
	q, err := url.ParseQuery(strings.SplitN(s, "?", 2)[1])
	if err != nil {
		t.Fatal(err)
	}
	if q.Get("sasl_client_secret") != testSecretB64 || q.Get("sasl_token_url") != testTokenURL+"?tenant=a&x=y" {
		t.Fatalf("String() = %s: secret or token URL not encoded as single values", s)
	}
	if !strings.ContainsAny(testSecretB64, "+/") {
		t.Fatalf("test secret's base64 %q should contain + and /", testSecretB64)
	}
	if strings.Contains(s, testSecretB64) || strings.Contains(s, "/oauth2") {
		t.Fatalf("String() = %s: the secret's base64 or the token URL left unescaped in the query", s)
	}
	back, err := ParseSinkURI(s)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, u) {
		t.Fatalf("round trip:\n got  %#v\n want %#v", back.raw(), u.raw())
	}
}

func TestSinkURIRedaction(t *testing.T) {
	u, err := ParseSinkURI(oauthURI(nil))
	if err != nil {
		t.Fatal(err)
	}
	red := u.Redacted()
	if !strings.Contains(red, "sasl_client_secret=redacted") || strings.Contains(red, url.QueryEscape(testSecretB64)) {
		t.Fatalf("Redacted() = %s", red)
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("sink", "uri", u)
	for name, got := range map[string]string{
		"%v": fmt.Sprintf("%v", u), "%+v": fmt.Sprintf("%+v", u), "%#v": fmt.Sprintf("%#v", u),
		"%s": fmt.Sprintf("%s", u), "%q": fmt.Sprintf("%q", u), "slog": logged.String(),
		"Properties": fmt.Sprint(u.Properties()), "json": mustJSON(t, map[string]any{"sink": u}),
		"nested %+v": fmt.Sprintf("%+v", struct{ Sink SinkURI }{u}),
	} {
		if strings.Contains(got, url.QueryEscape(testSecretB64)) || strings.Contains(got, testSecret) || strings.Contains(got, testSecretB64) {
			t.Errorf("%s leaks the secret: %s", name, got)
		}
		if name != "Properties" && !strings.Contains(got, "redacted") {
			t.Errorf("%s does not show the redacted URI: %s", name, got)
		}
	}
	// Passwords, client keys (and CockroachDB's ca_cert/client_cert) are redacted too.
	p, err := ParseSinkURI("kafka://h:1?sasl_enabled=true&sasl_user=u&sasl_password=hunter2&tls_enabled=true&ca_cert=Zm9v")
	if err != nil {
		t.Fatal(err)
	}
	if r := p.Redacted(); strings.Contains(r, "hunter2") || strings.Contains(r, "Zm9v") ||
		!strings.Contains(r, "sasl_password=redacted") || !strings.Contains(r, "ca_cert=redacted") {
		t.Fatalf("Redacted() = %s", r)
	}
}

func TestOAuthSinkValidates(t *testing.T) {
	_, err := OAuthSink{Brokers: []string{"h:1"}, ClientID: "id", TokenURL: testTokenURL}.SinkURI()
	if err == nil || !strings.Contains(err.Error(), "sasl_client_secret must be provided when SASL is enabled using mechanism OAUTHBEARER") {
		t.Fatalf("missing secret: %v", err)
	}
	_, err = OAuthSink{ClientID: "id", ClientSecret: "x", TokenURL: testTokenURL}.SinkURI()
	if err == nil || !strings.Contains(err.Error(), "no broker") {
		t.Fatalf("missing broker: %v", err)
	}
}

func TestSinkURITopic(t *testing.T) {
	for _, tc := range []struct{ name, prefix, table, want string }{
		{"", "", "vehicles", "vehicles"},
		{"", "cf_", "vehicles", "cf_vehicles"},
		{"all", "", "vehicles", "all"},
		{"all", "cf_", "rides", "cf_all"},
	} {
		u := SinkURI{TopicName: tc.name, TopicPrefix: tc.prefix}
		if got := u.Topic(tc.table); got != tc.want {
			t.Errorf("Topic(name=%q prefix=%q, %q) = %q, want %q", tc.name, tc.prefix, tc.table, got, tc.want)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
