package changefeed

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Sink URI schemes cfbench understands.
const (
	SchemeKafka    = "kafka"    // kafka://host:port[,host:port…]?params
	SchemeExternal = "external" // external://name, a CREATE EXTERNAL CONNECTION reference
)

// Kafka sink URI query parameters, spelled as in CockroachDB's changefeedbase (SinkParam…).
const (
	ParamTopicName             = "topic_name"
	ParamTopicPrefix           = "topic_prefix"
	ParamSchemaTopic           = "schema_topic"
	ParamTLSEnabled            = "tls_enabled"
	ParamSkipTLSVerify         = "insecure_tls_skip_verify"
	ParamCACert                = "ca_cert"     // base64 (StdEncoding) of PEM
	ParamClientCert            = "client_cert" // base64 (StdEncoding) of PEM
	ParamClientKey             = "client_key"  // base64 (StdEncoding) of PEM; secret
	ParamSASLEnabled           = "sasl_enabled"
	ParamSASLHandshake         = "sasl_handshake"
	ParamSASLMechanism         = "sasl_mechanism"
	ParamSASLUser              = "sasl_user"
	ParamSASLPassword          = "sasl_password" // secret
	ParamSASLClientID          = "sasl_client_id"
	ParamSASLClientSecret      = "sasl_client_secret" // base64 (StdEncoding) of the secret; secret
	ParamSASLTokenURL          = "sasl_token_url"
	ParamSASLScopes            = "sasl_scopes" // repeated, one scope per occurrence
	ParamSASLGrantType         = "sasl_grant_type"
	ParamSASLAWSRegion         = "sasl_aws_region"
	ParamSASLAWSIAMRoleArn     = "sasl_aws_iam_role_arn"
	ParamSASLAWSIAMSessionName = "sasl_aws_iam_session_name"
)

// SASL mechanisms CockroachDB's Kafka sink accepts (kafkaauth registry).
const (
	MechanismPlain       = "PLAIN"
	MechanismSCRAMSHA256 = "SCRAM-SHA-256"
	MechanismSCRAMSHA512 = "SCRAM-SHA-512"
	MechanismOAuthBearer = "OAUTHBEARER"
	MechanismAWSMSKIAM   = "AWS_MSK_IAM"
)

// redactedValue replaces secret query values, as CockroachDB's cloud.SanitizeExternalStorageURI does.
const redactedValue = "redacted"

// redactedParams are the query parameters Redacted hides. CockroachDB registers sasl_password,
// ca_cert, client_cert and client_key (changefeedccl's cloud.RegisterRedactedParams); cfbench
// also hides sasl_client_secret, which CockroachDB's list does not name.
var redactedParams = []string{ParamSASLPassword, ParamSASLClientSecret, ParamCACert, ParamClientCert, ParamClientKey}

// SinkURI is a parsed CockroachDB Kafka sink URI (or an external://name reference). Fields hold
// decoded values: ClientSecret is the raw secret, not its base64; certificates are PEM bytes.
// The zero value is not a valid URI; build one with ParseSinkURI or OAuthSink.SinkURI.
//
// String returns the full URI including secrets, for handing to CockroachDB or pgfeed only.
// Printing a SinkURI with any fmt verb or logging it with slog shows the Redacted form.
type SinkURI struct {
	Scheme             string   // SchemeKafka or SchemeExternal
	Brokers            []string // bootstrap brokers, host:port, from the URI's host (comma-separated)
	ExternalConnection string   // the name in external://name

	TopicName   string // topic_name: every table goes to this one topic
	TopicPrefix string // topic_prefix: prepended to each table's topic

	TLSEnabled            bool   // tls_enabled
	InsecureTLSSkipVerify bool   // insecure_tls_skip_verify
	CACert                []byte // ca_cert, decoded (PEM)
	ClientCert            []byte // client_cert, decoded (PEM)
	ClientKey             []byte // client_key, decoded (PEM); secret

	SASLEnabled   bool   // sasl_enabled
	SASLMechanism string // sasl_mechanism; PLAIN when SASL is enabled without one, as in CockroachDB
	SASLHandshake bool   // sasl_handshake; true by default when SASL is enabled
	SASLUser      string // sasl_user (PLAIN, SCRAM)
	SASLPassword  string // sasl_password (PLAIN, SCRAM); secret

	ClientID     string   // sasl_client_id (OAUTHBEARER)
	ClientSecret string   // sasl_client_secret, decoded (OAUTHBEARER); secret
	TokenURL     string   // sasl_token_url, decoded (OAUTHBEARER)
	Scopes       []string // sasl_scopes, one per occurrence (OAUTHBEARER)
	GrantType    string   // sasl_grant_type; empty means client_credentials (OAUTHBEARER)

	AWSRegion         string // sasl_aws_region (AWS_MSK_IAM)
	AWSIAMRoleArn     string // sasl_aws_iam_role_arn (AWS_MSK_IAM)
	AWSIAMSessionName string // sasl_aws_iam_session_name (AWS_MSK_IAM)
}

// sinkQuery consumes query parameters the way CockroachDB's changefeedbase.SinkURL does: a
// parameter is read once (its first value; an empty value counts as absent) and deleted, and
// whatever is left at the end is unknown.
type sinkQuery struct{ q url.Values }

func (s *sinkQuery) peek(p string) string { return s.q.Get(p) }

func (s *sinkQuery) consume(p string) string {
	v := s.q.Get(p)
	delete(s.q, p)
	return v
}

func (s *sinkQuery) consumeAll(p string) []string {
	v := s.q[p]
	delete(s.q, p)
	return v
}

// consumeBool mirrors SinkURL.ConsumeBool: an absent or empty parameter is "not set".
func (s *sinkQuery) consumeBool(p string, dest *bool) (wasSet bool, err error) {
	v := s.consume(p)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("param %s must be a bool: %w", p, err)
	}
	*dest = b
	return true, nil
}

// decodeBase64 mirrors SinkURL.DecodeBase64 (base64.StdEncoding; empty means absent).
func (s *sinkQuery) decodeBase64(p string, dest *[]byte) error {
	v := s.consume(p)
	if v == "" {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return fmt.Errorf("param %s must be base 64 encoded: %w", p, err)
	}
	*dest = b
	return nil
}

// singleValued lists the parameters CockroachDB reads with Get (first value wins).
var singleValued = []string{
	ParamTopicName, ParamTopicPrefix, ParamSchemaTopic, ParamTLSEnabled, ParamSkipTLSVerify,
	ParamCACert, ParamClientCert, ParamClientKey, ParamSASLEnabled, ParamSASLHandshake,
	ParamSASLMechanism, ParamSASLUser, ParamSASLPassword, ParamSASLClientID, ParamSASLClientSecret,
	ParamSASLTokenURL, ParamSASLGrantType, ParamSASLAWSRegion, ParamSASLAWSIAMRoleArn,
	ParamSASLAWSIAMSessionName,
}

// ParseSinkURI parses and validates a CockroachDB Kafka sink URI, applying CockroachDB's rules in
// CockroachDB's order and with its error messages (kafka sink v2, kafkaauth):
//
//   - unknown parameters: "unknown kafka sink query parameters: [a, b]" (names sorted)
//   - sasl_* without sasl_enabled: "sasl_enabled must be enabled if sasl_client_id is provided"
//   - OAuth parameters with another mechanism:
//     "sasl_client_id is only a valid parameter for sasl_mechanism=OAUTHBEARER"
//   - missing OAuth parameters: "sasl_client_secret must be provided when SASL is enabled using
//     mechanism OAUTHBEARER" (one line per missing parameter)
//   - a client secret that is not base64 (StdEncoding): "decoding client secret: param
//     sasl_client_secret must be base 64 encoded: illegal base64 data at input byte 4"
//   - a token URL net/url cannot parse: "malformed token url: …"
//
// sasl_scopes may repeat, one scope per occurrence. cfbench is stricter than CockroachDB in three
// places, each said in the message: a single-valued parameter given twice (CockroachDB silently
// uses the first), a token URL that is not an absolute http(s) URL (CockroachDB fails only when
// fetching a token), and user info in the URI (CockroachDB ignores it). external://name is accepted
// as a reference to an external connection; its target is not checked here.
//
// Errors never contain secret values.
func ParseSinkURI(s string) (SinkURI, error) {
	u, err := url.Parse(s)
	if err != nil {
		// *url.Error repeats the whole URI, secrets included: report only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return SinkURI{}, fmt.Errorf("parsing sink URI: %w", err)
	}
	switch u.Scheme {
	case "":
		return SinkURI{}, errors.New("no scheme found for sink URL")
	case SchemeExternal:
		return parseExternal(u)
	case SchemeKafka:
	default:
		return SinkURI{}, fmt.Errorf("unsupported sink: %s (cfbench drives Kafka sinks only: kafka:// or external://)", u.Scheme)
	}
	if u.User != nil {
		return SinkURI{}, errors.New("kafka sink URI carries user info before the host, which CockroachDB ignores: authenticate with sasl_* parameters instead")
	}
	if u.Host == "" {
		return SinkURI{}, errors.New("kafka sink URI has no broker: want kafka://host:port")
	}
	raw, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		// The error would quote part of the offending value, which may be a secret.
		return SinkURI{}, errors.New("kafka sink URI query is malformed: a value has an invalid %-escape or the query uses ';' (build it with url.Values.Encode)")
	}
	for _, p := range singleValued {
		if n := len(raw[p]); n > 1 {
			return SinkURI{}, fmt.Errorf("param %s is given %d times; CockroachDB would silently use the first, so give it once", p, n)
		}
	}
	out := SinkURI{Scheme: SchemeKafka}
	for _, b := range strings.Split(u.Host, ",") {
		if b == "" {
			return SinkURI{}, fmt.Errorf("kafka sink URI host %q has an empty broker address", u.Host)
		}
		out.Brokers = append(out.Brokers, b)
	}
	q := &sinkQuery{q: raw}

	// makeKafkaSinkV2: topics first.
	out.TopicPrefix = q.consume(ParamTopicPrefix)
	out.TopicName = q.consume(ParamTopicName)
	if q.consume(ParamSchemaTopic) != "" {
		return SinkURI{}, fmt.Errorf("%s is not yet supported", ParamSchemaTopic)
	}

	// buildDefaultKafkaConfig: TLS parameters, then SASL (kafkaauth.Pick).
	if _, err := q.consumeBool(ParamTLSEnabled, &out.TLSEnabled); err != nil {
		return SinkURI{}, err
	}
	if _, err := q.consumeBool(ParamSkipTLSVerify, &out.InsecureTLSSkipVerify); err != nil {
		return SinkURI{}, err
	}
	if err := q.decodeBase64(ParamCACert, &out.CACert); err != nil {
		return SinkURI{}, err
	}
	if err := q.decodeBase64(ParamClientCert, &out.ClientCert); err != nil {
		return SinkURI{}, err
	}
	if err := q.decodeBase64(ParamClientKey, &out.ClientKey); err != nil {
		return SinkURI{}, err
	}
	if err := pickSASL(q, &out); err != nil {
		return SinkURI{}, err
	}

	// buildKgoConfig: TLS combinations.
	if out.TLSEnabled {
		switch {
		case out.ClientCert != nil && out.ClientKey == nil:
			return SinkURI{}, fmt.Errorf("%s requires %s to be set", ParamClientCert, ParamClientKey)
		case out.ClientKey != nil && out.ClientCert == nil:
			return SinkURI{}, fmt.Errorf("%s requires %s to be set", ParamClientKey, ParamClientCert)
		case out.ClientCert != nil:
			if _, err := tls.X509KeyPair(out.ClientCert, out.ClientKey); err != nil {
				return SinkURI{}, fmt.Errorf("invalid client certificate data provided: %w", err)
			}
		}
	} else {
		if out.CACert != nil {
			return SinkURI{}, fmt.Errorf("%s requires %s=true", ParamCACert, ParamTLSEnabled)
		}
		if out.ClientCert != nil {
			return SinkURI{}, fmt.Errorf("%s requires %s=true", ParamClientCert, ParamTLSEnabled)
		}
	}

	// The token URL is parsed when the sink is built (newKgoTokenProvider).
	if out.SASLMechanism == MechanismOAuthBearer {
		if err := checkTokenURL(out.TokenURL); err != nil {
			return SinkURI{}, err
		}
	}

	if len(q.q) > 0 {
		unknown := make([]string, 0, len(q.q))
		for k := range q.q {
			unknown = append(unknown, k)
		}
		slices.Sort(unknown)
		return SinkURI{}, fmt.Errorf("unknown kafka sink query parameters: [%s]", strings.Join(unknown, ", "))
	}
	return out, nil
}

func parseExternal(u *url.URL) (SinkURI, error) {
	name := u.Host
	if name == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return SinkURI{}, errors.New("external connection sink URI must be exactly external://<name>")
	}
	return SinkURI{Scheme: SchemeExternal, ExternalConnection: name}, nil
}

// saslOnlyParams is kafkaauth.maybeHelpfulErrorMessage's list, in its order.
var saslOnlyParams = []string{
	ParamSASLUser, ParamSASLPassword, ParamSASLEnabled, ParamSASLClientID, ParamSASLClientSecret,
	ParamSASLTokenURL, ParamSASLGrantType, ParamSASLScopes, ParamSASLAWSIAMRoleArn,
	ParamSASLAWSRegion, ParamSASLAWSIAMSessionName,
}

// oauthOnlyParams is kafkaauth.validateNoOAuthOnlyParams's list, in its order.
var oauthOnlyParams = []string{
	ParamSASLClientID, ParamSASLClientSecret, ParamSASLTokenURL, ParamSASLGrantType, ParamSASLScopes,
}

// mechanismNames is kafkaauth's allMechanismNames() output for the registry of CockroachDB's
// changefeed tests ("param sasl_mechanism must be one of AWS_MSK_IAM, OAUTHBEARER, PLAIN,
// SCRAM-SHA-256, or SCRAM-SHA-512").
const mechanismNames = "AWS_MSK_IAM, OAUTHBEARER, PLAIN, SCRAM-SHA-256, or SCRAM-SHA-512"

// requiredParams is what each mechanism's validateParams demands, in its order.
var requiredParams = map[string][]string{
	MechanismPlain:       {ParamSASLUser, ParamSASLPassword},
	MechanismSCRAMSHA256: {ParamSASLUser, ParamSASLPassword},
	MechanismSCRAMSHA512: {ParamSASLUser, ParamSASLPassword},
	MechanismOAuthBearer: {ParamSASLClientID, ParamSASLClientSecret, ParamSASLTokenURL},
	MechanismAWSMSKIAM:   {ParamSASLAWSRegion, ParamSASLAWSIAMRoleArn, ParamSASLAWSIAMSessionName},
}

// pickSASL follows kafkaauth.saslMechanismRegistry.pick.
func pickSASL(q *sinkQuery, out *SinkURI) error {
	if _, err := q.consumeBool(ParamSASLEnabled, &out.SASLEnabled); err != nil {
		return err
	}
	if !out.SASLEnabled {
		if q.peek(ParamSASLHandshake) != "" {
			return errors.New("sasl_enabled must be enabled to configure SASL handshake behavior")
		}
		if q.peek(ParamSASLMechanism) != "" {
			return errors.New("sasl_enabled must be enabled to configure SASL mechanism")
		}
		for _, p := range saslOnlyParams {
			if q.peek(p) != "" {
				return fmt.Errorf("sasl_enabled must be enabled if %s is provided", p)
			}
		}
		return nil
	}
	mech := q.consume(ParamSASLMechanism)
	if mech == "" {
		mech = MechanismPlain
	}
	required, ok := requiredParams[mech]
	if !ok {
		return fmt.Errorf("param sasl_mechanism must be one of %s", mechanismNames)
	}
	if mech != MechanismOAuthBearer {
		for _, p := range oauthOnlyParams {
			if q.peek(p) != "" {
				return fmt.Errorf("%s is only a valid parameter for sasl_mechanism=OAUTHBEARER", p)
			}
		}
	}
	var missing []string
	for _, p := range required {
		if q.peek(p) == "" {
			missing = append(missing, fmt.Sprintf("%s must be provided when SASL is enabled using mechanism %s", p, mech))
		}
	}
	if len(missing) > 0 {
		// errors.Join in kafkaauth: one line per missing parameter.
		return errors.New(strings.Join(missing, "\n"))
	}
	out.SASLMechanism = mech
	out.SASLHandshake = true
	if _, err := q.consumeBool(ParamSASLHandshake, &out.SASLHandshake); err != nil {
		return err
	}
	switch mech {
	case MechanismOAuthBearer:
		var secret []byte
		if err := q.decodeBase64(ParamSASLClientSecret, &secret); err != nil {
			return fmt.Errorf("decoding client secret: %w", err)
		}
		out.ClientSecret = string(secret)
		out.ClientID = q.consume(ParamSASLClientID)
		out.TokenURL = q.consume(ParamSASLTokenURL)
		out.GrantType = q.consume(ParamSASLGrantType)
		out.Scopes = q.consumeAll(ParamSASLScopes)
	case MechanismAWSMSKIAM:
		out.AWSRegion = q.consume(ParamSASLAWSRegion)
		out.AWSIAMRoleArn = q.consume(ParamSASLAWSIAMRoleArn)
		out.AWSIAMSessionName = q.consume(ParamSASLAWSIAMSessionName)
	default:
		out.SASLUser = q.consume(ParamSASLUser)
		out.SASLPassword = q.consume(ParamSASLPassword)
	}
	return nil
}

// checkTokenURL applies CockroachDB's check (url.Parse, "malformed token url") and cfbench's
// stricter one (an absolute http or https URL with a host).
func checkTokenURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("malformed token url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("malformed token url: %q is not an absolute http(s) URL (CockroachDB accepts it here but every token request would fail)", s)
	}
	return nil
}

// String returns the full URI, secrets included (the client secret base64-encoded), with the query
// built by url.Values.Encode (keys sorted, values percent-encoded). Hand it only to CockroachDB or
// pgfeed; to show a URI use Redacted. ParseSinkURI(u.String()) returns u again for every u that
// ParseSinkURI returned.
func (u SinkURI) String() string {
	if u.Scheme == SchemeExternal {
		return (&url.URL{Scheme: SchemeExternal, Host: u.ExternalConnection}).String()
	}
	return u.url(false)
}

// Redacted returns the URI with the values of sasl_password, sasl_client_secret, ca_cert,
// client_cert and client_key replaced by "redacted", the way CockroachDB shows sink URIs in job
// descriptions (plus sasl_client_secret, which CockroachDB's list misses).
func (u SinkURI) Redacted() string {
	if u.Scheme == SchemeExternal {
		return u.String()
	}
	return u.url(true)
}

// Format implements fmt.Formatter so that every fmt verb prints the redacted URI: a SinkURI
// printed by accident never shows a secret.
func (u SinkURI) Format(f fmt.State, verb rune) {
	_, _ = fmt.Fprint(f, u.Redacted())
}

// LogValue implements slog.LogValuer with the redacted URI.
func (u SinkURI) LogValue() slog.Value { return slog.StringValue(u.Redacted()) }

// MarshalJSON encodes the redacted URI as a JSON string, so a SinkURI inside a result file's
// config never carries a secret. There is deliberately no UnmarshalJSON: parse the full URI
// with ParseSinkURI.
func (u SinkURI) MarshalJSON() ([]byte, error) { return json.Marshal(u.Redacted()) }

func (u SinkURI) url(redact bool) string {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	b64 := func(k string, v []byte) {
		if v != nil {
			q.Set(k, base64.StdEncoding.EncodeToString(v))
		}
	}
	set(ParamTopicName, u.TopicName)
	set(ParamTopicPrefix, u.TopicPrefix)
	if u.TLSEnabled {
		q.Set(ParamTLSEnabled, "true")
	}
	if u.InsecureTLSSkipVerify {
		q.Set(ParamSkipTLSVerify, "true")
	}
	b64(ParamCACert, u.CACert)
	b64(ParamClientCert, u.ClientCert)
	b64(ParamClientKey, u.ClientKey)
	if u.SASLEnabled {
		q.Set(ParamSASLEnabled, "true")
		if !u.SASLHandshake {
			q.Set(ParamSASLHandshake, "false")
		}
	}
	set(ParamSASLMechanism, u.SASLMechanism)
	set(ParamSASLUser, u.SASLUser)
	set(ParamSASLPassword, u.SASLPassword)
	set(ParamSASLClientID, u.ClientID)
	if u.ClientSecret != "" {
		q.Set(ParamSASLClientSecret, base64.StdEncoding.EncodeToString([]byte(u.ClientSecret)))
	}
	set(ParamSASLTokenURL, u.TokenURL)
	for _, s := range u.Scopes {
		q.Add(ParamSASLScopes, s)
	}
	set(ParamSASLGrantType, u.GrantType)
	set(ParamSASLAWSRegion, u.AWSRegion)
	set(ParamSASLAWSIAMRoleArn, u.AWSIAMRoleArn)
	set(ParamSASLAWSIAMSessionName, u.AWSIAMSessionName)
	if redact {
		for _, p := range redactedParams {
			if _, ok := q[p]; ok {
				q.Set(p, redactedValue)
			}
		}
	}
	scheme := u.Scheme
	if scheme == "" {
		scheme = SchemeKafka
	}
	return (&url.URL{Scheme: scheme, Host: strings.Join(u.Brokers, ","), RawQuery: q.Encode()}).String()
}

// Topic returns the Kafka topic CockroachDB publishes table's changes to with this URI's
// topic_name/topic_prefix (table names are assumed to be valid Kafka topic names already).
func (u SinkURI) Topic(table string) string {
	if u.TopicName != "" {
		return u.TopicPrefix + u.TopicName
	}
	return u.TopicPrefix + table
}

// Property is one line of a SinkURI's human-readable summary.
type Property struct {
	Name, Value string
}

// Properties summarises the URI for people: brokers, topics, TLS, SASL mechanism, client id, token
// URL, scopes. Secrets appear only as "set" / "not set".
func (u SinkURI) Properties() []Property {
	if u.Scheme == SchemeExternal {
		return []Property{{"external connection", u.ExternalConnection}}
	}
	orDash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	isSet := func(set bool) string {
		if set {
			return "set (redacted)"
		}
		return "not set"
	}
	ps := []Property{
		{"brokers", strings.Join(u.Brokers, ",")},
		{"topic_name", orDash(u.TopicName)},
		{"topic_prefix", orDash(u.TopicPrefix)},
	}
	tls := "disabled"
	if u.TLSEnabled {
		tls = "enabled"
		if u.InsecureTLSSkipVerify {
			tls += ", certificate NOT verified (insecure_tls_skip_verify)"
		}
		if u.CACert != nil {
			tls += ", custom CA"
		}
		if u.ClientCert != nil {
			tls += ", client certificate"
		}
	}
	ps = append(ps, Property{"tls", tls})
	if !u.SASLEnabled {
		return append(ps, Property{"sasl", "disabled"})
	}
	mech := u.SASLMechanism
	if !u.SASLHandshake {
		mech += " (sasl_handshake=false)"
	}
	ps = append(ps, Property{"sasl_mechanism", mech})
	switch u.SASLMechanism {
	case MechanismOAuthBearer:
		grant := u.GrantType
		if grant == "" {
			grant = "client_credentials (default)"
		}
		ps = append(ps,
			Property{"client_id", u.ClientID},
			Property{"client_secret", isSet(u.ClientSecret != "")},
			Property{"token_url", u.TokenURL},
			Property{"scopes", orDash(strings.Join(u.Scopes, " "))},
			Property{"grant_type", grant},
		)
	case MechanismAWSMSKIAM:
		ps = append(ps,
			Property{"aws_region", u.AWSRegion},
			Property{"aws_iam_role_arn", u.AWSIAMRoleArn},
			Property{"aws_iam_session_name", u.AWSIAMSessionName},
		)
	default:
		ps = append(ps,
			Property{"sasl_user", u.SASLUser},
			Property{"sasl_password", isSet(u.SASLPassword != "")},
		)
	}
	return ps
}

// OAuthSink holds the profile fields of a Kafka sink reached with SASL/OAUTHBEARER, with the raw
// client secret. SinkURI turns it into a validated SinkURI.
type OAuthSink struct {
	Brokers               []string // host:port, at least one
	TopicName             string   // optional: all tables to this topic
	TopicPrefix           string   // optional
	TLSEnabled            bool     // SASL_SSL instead of SASL_PLAINTEXT
	InsecureTLSSkipVerify bool
	CACertPEM             []byte   // optional custom CA (requires TLSEnabled)
	ClientID              string   // required
	ClientSecret          string   // required; the raw secret (base64-encoded into the URI)
	TokenURL              string   // required; absolute http(s) URL
	Scopes                []string // optional, one per sasl_scopes occurrence
	GrantType             string   // optional; default client_credentials
}

// SinkURI builds the sink URI and validates it with ParseSinkURI's rules.
func (o OAuthSink) SinkURI() (SinkURI, error) {
	u := SinkURI{
		Scheme:                SchemeKafka,
		Brokers:               slices.Clone(o.Brokers),
		TopicName:             o.TopicName,
		TopicPrefix:           o.TopicPrefix,
		TLSEnabled:            o.TLSEnabled,
		InsecureTLSSkipVerify: o.InsecureTLSSkipVerify,
		CACert:                slices.Clone(o.CACertPEM),
		SASLEnabled:           true,
		SASLMechanism:         MechanismOAuthBearer,
		SASLHandshake:         true,
		ClientID:              o.ClientID,
		ClientSecret:          o.ClientSecret,
		TokenURL:              o.TokenURL,
		Scopes:                slices.Clone(o.Scopes),
		GrantType:             o.GrantType,
	}
	if err := u.Validate(); err != nil {
		return SinkURI{}, err
	}
	return u, nil
}

// Validate checks u with ParseSinkURI's rules (it parses u.String()).
func (u SinkURI) Validate() error {
	if len(u.Brokers) == 0 && u.Scheme != SchemeExternal {
		return errors.New("kafka sink URI has no broker: want kafka://host:port")
	}
	_, err := ParseSinkURI(u.String())
	return err
}
