package doctor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/cfbench/cfbench/consume"
	"github.com/cfbench/cfbench/profiles"
)

// checkBrokers resolves and dials each bootstrap broker; it reports whether any answered.
func (d *run) checkBrokers(ctx context.Context) bool {
	if len(d.p.Kafka.Brokers) == 0 {
		d.add(Step{Name: "kafka brokers", Status: Fail, Detail: "kafka.brokers is empty", Fix: "list the bootstrap brokers in kafka.brokers"})
		return false
	}
	reachable := false
	for _, b := range d.p.Kafka.Brokers {
		ok := false
		d.timed(func() Step {
			s := d.checkBroker(ctx, b)
			ok = s.Status == Pass
			return s
		})
		if ok && d.p.Kafka.SecurityProtocol == profiles.SASLSSL {
			d.timed(func() Step {
				s := d.checkBrokerTLS(ctx, b)
				ok = s.Status == Pass
				return s
			})
		}
		reachable = reachable || ok
	}
	return reachable
}

// checkBrokerTLS makes the TLS handshake librdkafka will make with a SASL_SSL broker, trusting
// kafka.ca_file (or the system's roots), and shows the broker's certificate.
func (d *run) checkBrokerTLS(ctx context.Context, broker string) Step {
	s := Step{Name: "kafka tls " + broker}
	ctx, cancel := context.WithTimeout(ctx, d.o.StepTimeout)
	defer cancel()
	trust := "the system's roots"
	if f := d.p.Kafka.CAFile; f != "" {
		trust = "kafka.ca_file " + f
	}
	cert, err := consume.CheckTLS(ctx, broker, d.p.Kafka.CAFile)
	if err != nil {
		s.Status, s.Detail = Fail, err.Error()
		var te *consume.TLSError
		switch {
		case errors.As(err, &te) && te.NotTLS:
			s.Fix = "this port speaks plaintext: name the SASL_SSL listener in kafka.brokers, or set kafka.security_protocol: SASL_PLAINTEXT"
		case errors.As(err, &te) && te.Verify:
			s.Fix = fmt.Sprintf("the certificate does not verify against %s: set kafka.ca_file to the PEM file of the CA that signed the brokers' certificates (the local stack's: $CFBENCH_TLS_CA_FILE)", trust)
		default:
			s.Fix = "check kafka.ca_file and that the port is the SASL_SSL listener"
		}
		return s
	}
	s.Status = Pass
	s.Detail = fmt.Sprintf("certificate %q issued by %q, valid until %s; verified against %s",
		cert.Subject.String(), cert.Issuer.String(), cert.NotAfter.UTC().Format(time.RFC3339), trust)
	if left := time.Until(cert.NotAfter); left < 7*24*time.Hour {
		s.Status = Warn
		s.Fix = fmt.Sprintf("the broker's certificate expires in %s: renew it", left.Round(time.Hour))
	}
	return s
}

func (d *run) checkBroker(ctx context.Context, broker string) Step {
	s := Step{Name: "kafka dns+tcp " + broker}
	host, port, err := net.SplitHostPort(broker)
	if err != nil {
		s.Status, s.Detail, s.Fix = Fail, err.Error(), "write each broker as host:port in kafka.brokers"
		return s
	}
	ctx, cancel := context.WithTimeout(ctx, d.o.StepTimeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, host)
	if err != nil {
		s.Status, s.Detail = Fail, fmt.Sprintf("resolving %s: %v", host, err)
		s.Fix = "check the host name in kafka.brokers and this host's DNS (inside Kubernetes: the Service name and namespace)"
		return s
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		s.Status, s.Detail = Fail, fmt.Sprintf("%s resolves to %s; connecting: %v", host, strings.Join(addrs, ", "), err)
		s.Fix = "the broker is not listening there or a firewall drops the connection: check the port of the SASL listener (advertised.listeners) and the network path.\n" +
			"If the broker exits at start-up, read its log: Kafka 4 refuses to start when the JWKS URL (sasl.oauthbearer.jwks.endpoint.url) is not in the JVM's\n" +
			"-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls (\"The URL cannot be accessed due to restrictions\"): add the IdP's JWKS URL there"
		return s
	}
	remote := conn.RemoteAddr().String()
	_ = conn.Close()
	s.Status, s.Detail = Pass, fmt.Sprintf("%s resolves to %s; TCP connected to %s", host, strings.Join(addrs, ", "), remote)
	return s
}

// checkKafka authenticates to the brokers with the token (SASL/OAUTHBEARER), then reads the
// metadata of the topics the run consumes.
func (d *run) checkKafka(ctx context.Context, tk *token, reachable bool) {
	const saslName = "kafka sasl/oauthbearer handshake"
	if !reachable {
		d.add(Step{Name: saslName, Status: Skip, Detail: "no broker reachable (with TLS, for SASL_SSL)"})
		d.add(Step{Name: "kafka topics", Status: Skip, Detail: "no broker reachable (with TLS, for SASL_SSL)"})
		return
	}
	if tk == nil {
		d.add(Step{Name: saslName, Status: Skip, Detail: "no token from the IdP"})
		d.add(Step{Name: "kafka topics", Status: Skip, Detail: "not authenticated"})
		return
	}
	var md *kafka.Metadata
	d.timed(func() Step {
		s := Step{Name: saslName}
		var err error
		var authErr string
		md, authErr, err = d.metadata(ctx, tk)
		if err != nil {
			s.Status = Fail
			s.Detail, s.Fix = explainRejection(tk, authErr, err, time.Now())
			return s
		}
		s.Status = Pass
		s.Detail = fmt.Sprintf("authenticated as %s; cluster has %d broker(s), %d topic(s)", principalOf(tk), len(md.Brokers), len(md.Topics))
		return s
	})
	if md == nil {
		d.add(Step{Name: "kafka topics", Status: Skip, Detail: "not authenticated"})
		return
	}
	d.add(topicsStep(d.p, md))
}

func principalOf(tk *token) string {
	if tk.claims.Subject != "" {
		return "sub " + tk.claims.Subject
	}
	return "the token's principal"
}

// metadata opens a producer handle with SASL/OAUTHBEARER, hands it tk, and asks for the
// cluster's metadata. It returns the first authentication error librdkafka reported, if any.
func (d *run) metadata(ctx context.Context, tk *token) (*kafka.Metadata, string, error) {
	p := d.p
	cfg := &kafka.ConfigMap{
		"bootstrap.servers":                    strings.Join(p.Kafka.Brokers, ","),
		"security.protocol":                    p.Kafka.SecurityProtocol,
		"sasl.mechanisms":                      "OAUTHBEARER",
		"client.id":                            "cfbench-doctor",
		"socket.timeout.ms":                    int(d.o.StepTimeout / time.Millisecond),
		"reconnect.backoff.max.ms":             1000,
		"go.produce.channel.size":              1,
		"go.delivery.reports":                  false,
		"go.logs.channel.enable":               true,
		"log.connection.close":                 false,
		"enable.sasl.oauthbearer.unsecure.jwt": false,
	}
	if p.Kafka.CAFile != "" {
		_ = cfg.SetKey("ssl.ca.location", p.Kafka.CAFile)
	}
	prod, err := kafka.NewProducer(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("creating the Kafka client: %w", err)
	}
	defer prod.Close()
	principal := tk.claims.Subject
	if principal == "" {
		principal = p.IdP.ClientID
	}
	if err := prod.SetOAuthBearerToken(kafka.OAuthBearerToken{TokenValue: tk.value, Expiration: tk.expiry, Principal: principal}); err != nil {
		return nil, "", fmt.Errorf("librdkafka refused the token: %w", err)
	}
	// Collect librdkafka's errors (the SASL failure arrives as an error event) and logs while
	// the metadata requests run; stop at the first authentication error.
	authErr := make(chan string, 1)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case l := <-prod.Logs():
				d.o.Log.Debug("librdkafka", "tag", l.Tag, "msg", l.Message)
			case ev := <-prod.Events():
				e, ok := ev.(kafka.Error)
				if !ok {
					continue
				}
				d.o.Log.Debug("librdkafka", "code", e.Code(), "err", e.Error())
				if e.Code() == kafka.ErrAuthentication || strings.Contains(e.Error(), "SASL") {
					select {
					case authErr <- e.Error():
					default:
					}
				}
			}
		}
	}()
	defer func() { close(done); wg.Wait() }()
	deadline := time.Now().Add(d.o.StepTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	for {
		md, err := prod.GetMetadata(nil, true, 500)
		select {
		case ae := <-authErr:
			// A broker refused the token: a failure for the run even if another answered.
			return nil, ae, errors.New(ae)
		default:
		}
		if err == nil {
			return md, "", nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, "", err
		}
	}
}

// explainRejection turns librdkafka's error for a failed handshake into what went wrong and the
// likely fix. The broker says only invalid_token; the claims say why.
func explainRejection(tk *token, authErr string, err error, now time.Time) (detail, fix string) {
	msg := err.Error()
	if authErr != "" {
		msg = authErr
	}
	auth := authErr != "" || strings.Contains(msg, "SASL") || strings.Contains(msg, "uthentication")
	if !auth {
		return "no answer from the brokers: " + msg,
			"the brokers accept TCP but did not complete a request: check kafka.security_protocol (SASL_SSL vs SASL_PLAINTEXT), kafka.ca_file, and that the port is the SASL/OAUTHBEARER listener"
	}
	cl := tk.claims
	detail = "broker rejected the token: " + msg
	var fixes []string
	switch {
	case tk.claimsErr != nil:
		fixes = append(fixes, "the token is not a JWT: Kafka's OAuthBearerValidatorCallbackHandler validates JWTs only")
	case len(cl.Audience) == 0 && tk.expect == "":
		detail = "broker rejected the token: audience [] (the token has none): " + msg
		fixes = append(fixes, "Kafka's JWT validation rejects a token without aud: set idp.audience to the broker's sasl.oauthbearer.expected.audience (Hydra sets aud only when the request names one)")
	case len(cl.Audience) == 0 && tk.audience == "":
		detail = fmt.Sprintf("broker rejected the token: audience [] does not match %q: %s", tk.expect, msg)
		fixes = append(fixes, fmt.Sprintf("Kafka's JWT validation rejects a token without aud: set idp.audience: %s (the audience changefeed.sink.audience requests; Hydra sets aud only when the request names one)", tk.expect))
	case len(cl.Audience) == 0:
		detail = fmt.Sprintf("broker rejected the token: audience [] does not match %q: %s", tk.expect, msg)
		fixes = append(fixes, fmt.Sprintf("the IdP issued no aud although %q was requested: allow the audience for the client at the IdP", tk.audience))
	case tk.expect != "" && !slices.Contains(cl.Audience, tk.expect):
		detail = fmt.Sprintf("broker rejected the token: audience %s does not match %q: %s", listString(cl.Audience), tk.expect, msg)
		fixes = append(fixes, fmt.Sprintf("make the IdP put %q in aud (idp.audience), or fix the broker's sasl.oauthbearer.expected.audience", tk.expect))
	case !cl.ExpiresAt.IsZero() && !cl.ExpiresAt.After(now):
		detail = fmt.Sprintf("broker rejected the token: it expired at %s: %s", cl.ExpiresAt.UTC().Format(time.RFC3339), msg)
		fixes = append(fixes, "check this host's clock")
	default:
		fixes = append(fixes,
			fmt.Sprintf("the claims look right (aud %s, iss %s, sub %s), so the broker could not validate the signature or one of its own settings differs:", listString(cl.Audience), orNone(cl.Issuer), orNone(cl.Subject)),
			"- the broker's JVM must allow the IdP's JWKS URL: -Dorg.apache.kafka.sasl.oauthbearer.allowed.urls=<jwks url> (Kafka 4 allows none by default)",
			"- sasl.oauthbearer.jwks.endpoint.url must be this IdP's JWKS (kid "+orNone(cl.KeyID)+")",
			"- sasl.oauthbearer.expected.audience must be in aud "+listString(cl.Audience)+", sasl.oauthbearer.expected.issuer must be "+orNone(cl.Issuer),
			"- sasl.oauthbearer.sub.claim.name / scope.claim.name must name claims the token has",
			"the broker's log names the exact reason (search it for OAuthBearerValidatorCallbackHandler)")
	}
	return detail, strings.Join(fixes, "\n")
}

// topicsStep checks that the topics the run consumes exist, and lists their partition counts.
func topicsStep(p *profiles.Profile, md *kafka.Metadata) Step {
	s := Step{Name: "kafka topics", Status: Pass}
	want := p.ConsumeTopics()
	var lines, missing []string
	for _, t := range want {
		tm, ok := md.Topics[t]
		if !ok || tm.Error.Code() == kafka.ErrUnknownTopicOrPart || tm.Error.Code() == kafka.ErrUnknownTopic {
			missing = append(missing, t)
			continue
		}
		if tm.Error.Code() != kafka.ErrNoError {
			lines = append(lines, fmt.Sprintf("%s: %v", t, tm.Error))
			s.Status = Fail
			continue
		}
		lines = append(lines, fmt.Sprintf("%s: %d partition(s)", t, len(tm.Partitions)))
	}
	sort.Strings(lines)
	if len(missing) > 0 {
		lines = append(lines, "missing: "+strings.Join(missing, ", "))
		switch p.Changefeed.Mode {
		case profiles.ModePgfeed:
			if s.Status == Pass {
				s.Status = Warn
			}
			s.Fix = "pgfeed creates missing topics when the run starts; nothing to do unless the broker forbids topic creation"
		case profiles.ModeCreate:
			if s.Status == Pass {
				s.Status = Warn
			}
			s.Fix = "CockroachDB's sink needs the topics to exist or auto.create.topics.enable=true on the brokers: create them (one per table, enough partitions for the consumers)"
		default:
			s.Status = Fail
			s.Fix = "the existing changefeed should have created these topics: check kafka.topics / kafka.topic_prefix against the changefeed's sink URI"
		}
	}
	s.Detail = strings.Join(lines, "\n")
	return s
}
