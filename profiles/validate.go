package profiles

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cfbench/cfbench/changefeed"
)

var (
	nameRE       = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	topicRE      = regexp.MustCompile(`^[A-Za-z0-9._-]{1,249}$`)
	propertyRE   = regexp.MustCompile(`^[a-z0-9]+([._][a-z0-9]+)*$`)
	identifierRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// ownedConsumerKeys are librdkafka properties cfbench sets itself, with where to set them instead.
var ownedConsumerKeys = map[string]string{
	"bootstrap.servers":    "kafka.brokers",
	"metadata.broker.list": "kafka.brokers",
	"security.protocol":    "kafka.security_protocol",
	"ssl.ca.location":      "kafka.ca_file",
	"group.id":             "kafka.group_id",
	"auto.offset.reset":    "measure.start",
}

// Validate checks the rules that span fields, and the matrix variants. Each problem is an
// *Error naming the key path, where it was set when known, what is allowed and what to do;
// several are joined with errors.Join. Load calls it; call it again after changing a profile.
// It reads CA files to check they exist and never talks to a network.
func (p *Profile) Validate() error {
	var errs []error
	add := func(keyPath, format string, args ...any) { errs = append(errs, p.errAt(keyPath, format, args...)) }

	if !nameRE.MatchString(p.Name) {
		add("name", "want letters, digits, '.', '_' and '-' (it names the results directory), got %q", p.Name)
	}
	p.validateDatabase(add)
	p.validateIdP(add)
	p.validateKafka(add)
	p.validateChangefeed(add)
	p.validateWorkload(add)

	if p.Measure.ClockSamples < 1 {
		add("measure.clock_samples", "want a number of samples >= 1 (default 50), got %d", p.Measure.ClockSamples)
	}
	if len(errs) == 0 && len(p.Matrix) > 0 {
		if _, err := p.Variants(); err != nil {
			errs = append(errs, err)
		}
	}
	return joinErrors(errs)
}

type addFunc func(keyPath, format string, args ...any)

func (p *Profile) validateDatabase(add addFunc) {
	db := p.Database
	switch {
	case db.URL != "" && db.URLFile != "":
		add("database.url_file", "set database.url or database.url_file, not both")
	case db.URL == "" && db.URLFile == "":
		add("database", "set url (e.g. url: ${CFBENCH_PG_URL}) or url_file (a file holding the URL)")
	case db.URL != "":
		u, err := url.Parse(db.URL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			add("database.url", "want a URL such as postgres://user@host:26257/db?sslmode=verify-full (the value is not shown: it may hold a password)")
			break
		}
		if _, has := u.User.Password(); has || u.Query().Has("password") {
			add("database.url", "contains a password; put the whole URL in a file named by database.url_file, or the password in PGPASSFILE, and keep it out of the profile")
		}
	}
	mode, kind := p.Changefeed.Mode, db.Kind
	if mode == ModePgfeed && kind == KindCockroachDB {
		add("changefeed.mode", "pgfeed works with PostgreSQL only, and database.kind is cockroachdb: use mode create or existing")
	}
	if (mode == ModeCreate || mode == ModeExisting) && kind == KindPostgres {
		add("changefeed.mode", "%s needs CockroachDB (CREATE CHANGEFEED), and database.kind is postgres: use mode pgfeed", mode)
	}
}

// checkTokenURL checks an OAuth token endpoint: an absolute http(s) URL, http only on loopback.
func checkTokenURL(add addFunc, keyPath, s string) {
	if s == "" {
		add(keyPath, "required: the IdP's token endpoint, e.g. https://<okta-domain>/oauth2/default/v1/token")
		return
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		add(keyPath, "want an absolute http(s) URL such as https://<okta-domain>/oauth2/default/v1/token, got %q", s)
		return
	}
	if u.User != nil {
		add(keyPath, "must not contain credentials; use client_id and client_secret_file/client_secret_env")
		return
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		add(keyPath, "http:// sends the client secret in clear; use https:// (http is allowed for 127.0.0.1, ::1 and localhost only)")
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func checkBrokers(add addFunc, keyPath string, brokers []string) {
	if len(brokers) == 0 {
		add(keyPath, "want at least one host:port, e.g. [${CFBENCH_KAFKA_BROKERS}]")
		return
	}
	for i, b := range brokers {
		host, port, err := net.SplitHostPort(b)
		n, perr := strconv.Atoi(port)
		if err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			add(fmt.Sprintf("%s[%d]", keyPath, i), "want host:port, got %q", b)
		}
	}
}

func checkScopes(add addFunc, keyPath string, scopes []string) {
	for i, s := range scopes {
		if s == "" || strings.ContainsAny(s, " \t\"\\") {
			add(fmt.Sprintf("%s[%d]", keyPath, i), "want a scope name without spaces or quotes, got %q", s)
		}
	}
}

// checkCAFile checks that a CA file exists and holds at least one PEM certificate that parses.
func checkCAFile(add addFunc, keyPath, f string) {
	if f == "" {
		return
	}
	if _, err := os.Stat(f); err != nil {
		add(keyPath, "%v", err)
		return
	}
	if err := parseCAFile(f); err != nil {
		add(keyPath, "%v", err)
	}
}

// parseCAFile reads a PEM file of CA certificates and reports why it cannot serve as one.
func parseCAFile(f string) error {
	b, err := os.ReadFile(f)
	if err != nil {
		return err
	}
	n := 0
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
			return fmt.Errorf("%s: certificate %d does not parse: %v", f, n+1, err)
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("%s holds no PEM certificate (-----BEGIN CERTIFICATE-----): want the CA's certificate in PEM", f)
	}
	return nil
}

// checkHTTPSOnly refuses a CA file for a token URL that is not https.
func checkHTTPSOnly(add addFunc, keyPath, caFile, tokenURL, urlKey string) {
	if caFile == "" {
		return
	}
	if u, err := url.Parse(tokenURL); err == nil && u.Scheme != "https" {
		add(keyPath, "only used with an https %s (it is %s)", urlKey, u.Scheme)
	}
}

func (p *Profile) validateIdP(add addFunc) {
	idp := p.IdP
	checkTokenURL(add, "idp.token_url", idp.TokenURL)
	if idp.ClientID == "" {
		add("idp.client_id", "required: the OAuth client id cfbench's consumer authenticates as")
	}
	if idp.ClientSecret.IsZero() && idp.ClientSecretFile == "" && idp.ClientSecretEnv == "" {
		add("idp", "set client_secret_file (a file holding the secret) or client_secret_env (the name of a variable holding it)")
	}
	checkScopes(add, "idp.scopes", idp.Scopes)
	if idp.Timeout <= 0 {
		add("idp.timeout", "want a duration > 0 such as 10s (the default)")
	}
	checkHTTPSOnly(add, "idp.ca_file", idp.CAFile, idp.TokenURL, "idp.token_url")
	checkCAFile(add, "idp.ca_file", idp.CAFile)
}

func (p *Profile) validateKafka(add addFunc) {
	k := p.Kafka
	checkBrokers(add, "kafka.brokers", k.Brokers)
	if k.CAFile != "" && k.SecurityProtocol != SASLSSL {
		add("kafka.ca_file", "only used with security_protocol SASL_SSL (it is %s)", k.SecurityProtocol)
	}
	checkCAFile(add, "kafka.ca_file", k.CAFile)
	for i, t := range k.Topics {
		if !topicRE.MatchString(t) {
			add(fmt.Sprintf("kafka.topics[%d]", i), "want a Kafka topic name (letters, digits, '.', '_', '-'), got %q", t)
		}
	}
	if k.TopicPrefix != "" && !topicRE.MatchString(k.TopicPrefix) {
		add("kafka.topic_prefix", "want letters, digits, '.', '_' and '-', got %q", k.TopicPrefix)
	}
	keys := make([]string, 0, len(k.Consumer))
	for key := range k.Consumer {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		kp := "kafka.consumer." + key
		if instead, ok := ownedConsumerKeys[key]; ok {
			add(kp, "cfbench sets %s itself; use %s instead", key, instead)
			continue
		}
		if strings.HasPrefix(key, "sasl.") {
			add(kp, "cfbench sets the sasl.* properties itself (OAUTHBEARER with tokens from idp); remove it")
			continue
		}
		if !propertyRE.MatchString(key) {
			add(kp, "want a librdkafka property name such as fetch.wait.max.ms, got %q", key)
		}
	}
}

func (p *Profile) validateChangefeed(add addFunc) {
	c := p.Changefeed
	if c.Mode == ModeExisting && c.JobID <= 0 {
		add("changefeed.job_id", "mode existing needs the id of the running changefeed (see SHOW CHANGEFEED JOBS), got %d", c.JobID)
	}
	if c.Mode != ModeExisting && c.JobID != 0 {
		add("changefeed.job_id", "only used with mode existing (mode is %s); remove it", c.Mode)
	}
	if len(c.Tables) == 0 {
		add("changefeed.tables", "want at least one of: %s", strings.Join(MovrTables, ", "))
	}
	seen := map[string]bool{}
	for i, t := range c.Tables {
		kp := fmt.Sprintf("changefeed.tables[%d]", i)
		switch {
		case !slices.Contains(MovrTables, t):
			add(kp, "unknown table %q: cfbench writes movr's tables (allowed: %s)", t, strings.Join(MovrTables, ", "))
		case seen[t]:
			add(kp, "table %q is listed twice", t)
		}
		seen[t] = true
	}

	// The options as CockroachDB (and pgfeed) will read them, with CockroachDB's own rules.
	if _, err := changefeed.ParseOptions(c.WithClause()); err != nil {
		kp := "changefeed.options"
		msg := err.Error()
		if strings.Contains(msg, "sink config") || strings.Contains(msg, "Flush") || strings.Contains(msg, "Retry") ||
			strings.Contains(msg, "acks") || strings.Contains(msg, "compression") || strings.Contains(msg, "kafka version") {
			kp = "changefeed.kafka_sink_config"
		}
		add(kp, "CockroachDB would reject it: %s", msg)
	}
	f := c.KafkaSinkConfig
	for _, n := range []struct {
		v    int
		name string
	}{{f.Flush.Messages, "Flush.Messages"}, {f.Flush.Bytes, "Flush.Bytes"}, {f.Flush.MaxMessages, "Flush.MaxMessages"}, {f.Retry.Max, "Retry.Max"}} {
		if n.v < 0 {
			add("changefeed.kafka_sink_config."+n.name, "want a number >= 0 (0 for CockroachDB's default), got %d", n.v)
		}
	}

	s := c.Sink
	if c.Mode == ModeExisting {
		// The running changefeed's sink is not cfbench's to configure; only its topics matter.
		return
	}
	checkBrokers(add, "changefeed.sink.brokers", s.Brokers)
	if s.SASLMechanism == "OAUTHBEARER" {
		if s.ClientID == "" {
			add("changefeed.sink.client_id", "required with sasl_mechanism OAUTHBEARER: the OAuth client the changefeed produces as (sasl_client_id)")
		}
		if s.ClientSecret.IsZero() && s.ClientSecretFile == "" && s.ClientSecretEnv == "" {
			add("changefeed.sink", "sasl_mechanism OAUTHBEARER needs a client secret: set client_secret_file or client_secret_env")
		}
		checkTokenURL(add, "changefeed.sink.token_url", s.TokenURL)
	}
	checkScopes(add, "changefeed.sink.scopes", s.Scopes)
	if s.CAFile != "" && !s.TLSEnabled {
		add("changefeed.sink.ca_file", "only used with tls_enabled: true")
	}
	checkCAFile(add, "changefeed.sink.ca_file", s.CAFile)
	if s.TopicPrefix != "" && !topicRE.MatchString(s.TopicPrefix) {
		add("changefeed.sink.topic_prefix", "want letters, digits, '.', '_' and '-', got %q", s.TopicPrefix)
	}
	if s.TopicName != "" && !topicRE.MatchString(s.TopicName) {
		add("changefeed.sink.topic_name", "want a Kafka topic name (letters, digits, '.', '_', '-'), got %q", s.TopicName)
	}
	if s.TokenCAFile != "" && c.Mode != ModePgfeed {
		add("changefeed.sink.token_ca_file", "only mode pgfeed uses it: CockroachDB fetches the sink's tokens trusting the node's system roots (install the IdP's CA there); remove it")
	} else {
		checkHTTPSOnly(add, "changefeed.sink.token_ca_file", s.TokenCAFile, s.TokenURL, "changefeed.sink.token_url")
		checkCAFile(add, "changefeed.sink.token_ca_file", s.TokenCAFile)
	}
	if s.Audience != "" && c.Mode != ModePgfeed {
		add("changefeed.sink.audience", "CockroachDB's sink URI has no audience parameter (Okta's default server sets aud itself); only mode pgfeed uses it: remove it")
	}
	if s.ExternalConnection != "" {
		if c.Mode != ModeCreate {
			add("changefeed.sink.external_connection", "only used with mode create (mode is %s)", c.Mode)
		} else if !identifierRE.MatchString(s.ExternalConnection) {
			add("changefeed.sink.external_connection", "want an SQL identifier (letters, digits, _), got %q", s.ExternalConnection)
		}
	}
}

func (p *Profile) validateWorkload(add addFunc) {
	w := p.Workload
	if w.Rate < 0 {
		add("workload.rate", "want a number of ops/s >= 0 (0 = as fast as possible), got %s", fmtFloat(w.Rate))
	}
	if w.Concurrency < 1 || w.Concurrency > 10000 {
		add("workload.concurrency", "want a number of workers from 1 to 10000, got %d", w.Concurrency)
	}
	if w.Duration <= 0 {
		add("workload.duration", "want a duration > 0 such as 60s")
	}
	if w.MaxOps < 0 {
		add("workload.max_ops", "want a number of ops >= 0 (0 = no limit), got %d", w.MaxOps)
	}
	if w.Repetitions < 1 {
		add("workload.repetitions", "want a number of repetitions >= 1, got %d", w.Repetitions)
	}
	total := w.ReadVehicles
	if w.ReadVehicles < 0 {
		add("workload.read_vehicles", "want a weight >= 0, got %s", fmtFloat(w.ReadVehicles))
	}
	ops := make([]string, 0, len(w.Mix))
	for op := range w.Mix {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	opErrors := false
	for _, op := range ops {
		wt := w.Mix[op]
		kp := "workload.mix." + op
		switch {
		case op == "readVehicles":
			opErrors = true
			add(kp, "the read op's weight is workload.read_vehicles; move it there")
		case !slices.Contains(MixOps, op):
			opErrors = true
			msg := fmt.Sprintf("unknown op %q (allowed: %s)", op, strings.Join(MixOps, ", "))
			if s := closest(op, MixOps); s != "" {
				msg += "; did you mean '" + s + "'?"
			}
			add(kp, "%s", msg)
		case wt < 0:
			opErrors = true
			add(kp, "want a weight >= 0, got %s", fmtFloat(wt))
		default:
			total += wt
		}
	}
	if total <= 0 && !opErrors {
		add("workload.mix", "want at least one op with a weight > 0 (allowed ops: %s)", strings.Join(MixOps, ", "))
	}
	for _, n := range []struct {
		v    int
		name string
	}{{w.Seed.Users, "users"}, {w.Seed.Vehicles, "vehicles"}, {w.Seed.Rides, "rides"}} {
		if n.v < 0 {
			add("workload.seed."+n.name, "want a number of rows per city >= 0, got %d", n.v)
		}
	}
}
