package changefeed_test

import (
	"fmt"

	"github.com/cfbench/cfbench/changefeed"
)

func ExampleOAuthSink_SinkURI() {
	sink, err := changefeed.OAuthSink{
		Brokers:      []string{"kafka.example.com:9093"},
		TopicName:    "vehicles",
		TLSEnabled:   true,
		ClientID:     "0oa1b2c3",
		ClientSecret: "the raw secret", // base64-encoded into the URI
		TokenURL:     "https://dev-123.okta.com/oauth2/default/v1/token",
		Scopes:       []string{"kafka"},
	}.SinkURI()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sink) // fmt shows the redacted form; sink.String() is the full URI
	// Output:
	// kafka://kafka.example.com:9093?sasl_client_id=0oa1b2c3&sasl_client_secret=redacted&sasl_enabled=true&sasl_mechanism=OAUTHBEARER&sasl_scopes=kafka&sasl_token_url=https%3A%2F%2Fdev-123.okta.com%2Foauth2%2Fdefault%2Fv1%2Ftoken&tls_enabled=true&topic_name=vehicles
}

func ExampleParseSinkURI() {
	_, err := changefeed.ParseSinkURI("kafka://kafka.example.com:9093?sasl_enabled=true&sasl_mechanism=OAUTHBEARER&sasl_client_id=0oa1b2c3")
	fmt.Println(err)
	// Output:
	// sasl_client_secret must be provided when SASL is enabled using mechanism OAUTHBEARER
	// sasl_token_url must be provided when SASL is enabled using mechanism OAUTHBEARER
}

func ExampleCreateChangefeed() {
	opts, err := changefeed.ParseOptions(`updated, resolved=10s, min_checkpoint_frequency=10s, kafka_sink_config='{"Flush":{"Frequency":"50ms"}}'`)
	if err != nil {
		fmt.Println(err)
		return
	}
	stmt, err := changefeed.CreateChangefeed([]string{"vehicles", "rides"},
		changefeed.SinkURI{Scheme: changefeed.SchemeExternal, ExternalConnection: "kafka_sink"}, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(stmt)
	// Output:
	// CREATE CHANGEFEED FOR TABLE vehicles, rides INTO 'external://kafka_sink' WITH updated, resolved = '10s', min_checkpoint_frequency = '10s', kafka_sink_config = '{"Flush":{"Frequency":"50ms"}}'
}
