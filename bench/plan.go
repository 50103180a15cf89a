package bench

import (
	"fmt"
	"os"
	"strings"

	"github.com/cfbench/cfbench/changefeed"
	"github.com/cfbench/cfbench/profiles"
)

// Plan is what a profile asks of the changefeed, in CockroachDB's terms: the sink URI (with the
// producer's secret, for CockroachDB or pgfeed only), the WITH options, and the SQL statements a
// create-mode run executes. Statements carry a redacted Display form for everything a human sees.
type Plan struct {
	Tables  []string
	Sink    changefeed.SinkURI
	Options changefeed.Options
	// With is the text of the WITH clause, parsed into Options by changefeed.ParseOptions: the
	// same text pgfeed is started with, so both paths validate it with one parser.
	With string
	// ExternalConnection is the CREATE EXTERNAL CONNECTION statement when the profile names one;
	// Create then points INTO 'external://<name>'.
	ExternalConnection *changefeed.Statement
	Create             changefeed.Statement
	Topics             []string // what the consumer reads
}

// NewPlan derives the changefeed plan of p. It reads the sink's CA file, if any; it touches no
// network.
func NewPlan(p *profiles.Profile) (*Plan, error) {
	cf := p.Changefeed
	pl := &Plan{Tables: append([]string(nil), cf.Tables...), Topics: p.ConsumeTopics()}
	pl.With = cf.WithClause()
	opts, err := changefeed.ParseOptions(pl.With)
	if err != nil {
		return nil, fmt.Errorf("changefeed options of profile %s: %w", p.Name, err)
	}
	pl.Options = opts
	if cf.Mode == profiles.ModeExisting {
		return pl, nil
	}
	s := cf.Sink
	var ca []byte
	if s.CAFile != "" {
		if ca, err = os.ReadFile(s.CAFile); err != nil {
			return nil, fmt.Errorf("changefeed.sink.ca_file: %w", err)
		}
	}
	pl.Sink, err = changefeed.OAuthSink{
		Brokers:      s.Brokers,
		TopicName:    s.TopicName,
		TopicPrefix:  s.TopicPrefix,
		TLSEnabled:   s.TLSEnabled,
		CACertPEM:    ca,
		ClientID:     s.ClientID,
		ClientSecret: s.ClientSecret.Reveal(),
		TokenURL:     s.TokenURL,
		Scopes:       s.Scopes,
	}.SinkURI()
	if err != nil {
		return nil, fmt.Errorf("changefeed sink of profile %s: %w", p.Name, err)
	}
	if cf.Mode != profiles.ModeCreate {
		return pl, nil
	}
	into := pl.Sink
	if name := s.ExternalConnection; name != "" {
		st, err := changefeed.CreateExternalConnection(name, pl.Sink)
		if err != nil {
			return nil, fmt.Errorf("changefeed.sink.external_connection: %w", err)
		}
		pl.ExternalConnection = &st
		if into, err = changefeed.ParseSinkURI("external://" + name); err != nil {
			return nil, fmt.Errorf("changefeed.sink.external_connection: %w", err)
		}
	}
	if pl.Create, err = changefeed.CreateChangefeed(pl.Tables, into, pl.Options); err != nil {
		return nil, fmt.Errorf("changefeed of profile %s: %w", p.Name, err)
	}
	return pl, nil
}

// SQL returns the statements a create-mode run executes, in order, in their redacted display
// form (one per line, each ending with ';').
func (pl *Plan) SQL() string {
	var b strings.Builder
	if pl.ExternalConnection != nil {
		b.WriteString(pl.ExternalConnection.Display + ";\n")
	}
	if pl.Create.Display != "" {
		b.WriteString(pl.Create.Display + ";\n")
	}
	return b.String()
}
