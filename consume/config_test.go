package consume

import (
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

type nopSource struct{}

func (nopSource) Fetch(context.Context) (*oauth2.Token, error) { return nil, nil }

func TestConfigValidate(t *testing.T) {
	base := []Opt{Brokers("127.0.0.1:1"), Topics("t"), Token(nopSource{})}
	tests := []struct {
		name    string
		opts    []Opt
		wantErr []string // substrings; none = valid
	}{
		{name: "minimal", opts: base},
		{name: "prefix", opts: []Opt{Brokers("b"), TopicPrefix("cf_"), Token(nopSource{}), SecurityProtocol("sasl_ssl")}},
		{name: "pass-through property", opts: append(base[:3:3], Property("fetch.wait.max.ms", "10"), Property("ssl.ca.location", "/ca.pem"))},
		{name: "nothing", opts: nil, wantErr: []string{"brokers: required", "topics: give a topic list or a topic prefix", "token source: required"}},
		{name: "both topic forms", opts: append(base[:3:3], TopicPrefix("x")), wantErr: []string{"not both"}},
		{name: "plaintext refused", opts: append(base[:3:3], SecurityProtocol("PLAINTEXT")), wantErr: []string{`want SASL_PLAINTEXT or SASL_SSL, got "PLAINTEXT"`}},
		{name: "owned properties", opts: append(base[:3:3], Property("group.id", "g"), Property("sasl.oauthbearer.client.secret", "s"), Property("bootstrap.servers", "x")),
			wantErr: []string{"librdkafka property bootstrap.servers: set by cfbench; use Brokers (--brokers)", "librdkafka property group.id: set by cfbench; use GroupID", "property sasl.oauthbearer.client.secret: set by cfbench"}},
		{name: "group with time", opts: append(base[:3:3], GroupID("g"), StartAtTime(time.Now())), wantErr: []string{"a consumer group starts at the end or the beginning"}},
		{name: "refresh window too small", opts: append(base[:3:3], RefreshWindow(time.Millisecond)), wantErr: []string{"refresh window: want 100ms..1h"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c config
			for _, o := range tt.opts {
				o(&c)
			}
			err := c.validate()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				if c.refreshWindow != 2*time.Second || c.pollTimeout != 100*time.Millisecond || c.log == nil || c.tableOf == nil {
					t.Errorf("defaults not applied: %+v", c)
				}
				return
			}
			if err == nil {
				t.Fatalf("validate: no error, want %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), `"s"`) {
				t.Errorf("error leaks a property value: %v", err)
			}
		})
	}
}

func TestDefaultTableOf(t *testing.T) {
	var c config
	for _, o := range []Opt{Brokers("b"), TopicPrefix("cf_"), Token(nopSource{})} {
		o(&c)
	}
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	if got := c.tableOf("cf_vehicles"); got != "vehicles" {
		t.Errorf("tableOf(cf_vehicles) = %q", got)
	}
}
