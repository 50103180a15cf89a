package changefeed

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cfbench/cfbench/internal/golden"
)

// testSink is the sink of the local profile: Hydra client credentials against the
// OAUTHBEARER listener.
func testSink(t *testing.T) SinkURI {
	t.Helper()
	u, err := OAuthSink{
		Brokers:      []string{"127.0.0.1:29093"},
		TopicPrefix:  "cfbench_",
		ClientID:     "cfbench-producer",
		ClientSecret: testSecret,
		TokenURL:     testTokenURL,
		Scopes:       []string{"kafka"},
	}.SinkURI()
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func render(s Statement) string { return s.SQL + ";\n" }

func display(s Statement) string { return s.Display + ";\n" }

func TestStatementsGolden(t *testing.T) {
	sink := testSink(t)
	opts, err := ParseOptions(`updated, resolved='1s', min_checkpoint_frequency='1s', diff, mvcc_timestamp, ` +
		`kafka_sink_config='{"Flush":{"Frequency":"50ms","Messages":1000},"RequiredAcks":"ALL","ClientID":"cfbench"}'`)
	if err != nil {
		t.Fatal(err)
	}
	movr := []string{"users", "vehicles", "rides", "vehicle_location_histories", "promo_codes", "user_promo_codes"}

	create, err := CreateChangefeed(movr, sink, opts)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := CreateExternalConnection("cfbench_kafka", sink)
	if err != nil {
		t.Fatal(err)
	}
	viaConn, err := CreateChangefeed([]string{"movr.public.vehicles", "movr.public.rides"},
		SinkURI{Scheme: SchemeExternal, ExternalConnection: "cfbench_kafka"},
		Options{Updated: true, Resolved: dur(10 * time.Second), MinCheckpointFrequency: dur(10 * time.Second), InitialScan: InitialScanNo})
	if err != nil {
		t.Fatal(err)
	}
	quoting, err := CreateChangefeed([]string{"user", "Order Items", `we"ird`, "db.public.t1"}, sink, Options{Cursor: "1681240149199419939.0000000000"})
	if err != nil {
		t.Fatal(err)
	}
	noOpts, err := CreateChangefeed([]string{"vehicles"}, sink, Options{})
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		file string
		stmt Statement
	}{
		{"create_changefeed_movr", create},
		{"create_external_connection", conn},
		{"create_changefeed_external", viaConn},
		{"create_changefeed_quoting", quoting},
		{"create_changefeed_no_options", noOpts},
		{"drop_external_connection", DropExternalConnection("cfbench_kafka")},
		{"cancel_job", CancelJob(1084922957081444353)},
		{"show_changefeed_job", showChangefeedJob(1084922957081444353)},
	} {
		t.Run(tc.file, func(t *testing.T) {
			if !golden.Check(t, filepath.Join("testdata", tc.file+".sql"), []byte(render(tc.stmt))) ||
				!golden.Check(t, filepath.Join("testdata", tc.file+".display.sql"), []byte(display(tc.stmt))) {
				t.FailNow()
			}
			for name, shown := range map[string]string{
				"Display": tc.stmt.Display, "String": tc.stmt.String(), "%v": fmt.Sprintf("%v", tc.stmt), "%+v": fmt.Sprintf("%+v", tc.stmt),
			} {
				if strings.Contains(shown, testSecretB64) || strings.Contains(shown, "Pj4%2B") {
					t.Errorf("%s shows the secret: %s", name, shown)
				}
			}
		})
	}
	// The executable form carries the secret (percent-encoded base64) for CockroachDB.
	if !strings.Contains(create.SQL, "sasl_client_secret="+strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(testSecretB64)) {
		t.Fatalf("executable statement lacks the encoded secret: %s", create.SQL)
	}
}

func TestStatementErrors(t *testing.T) {
	sink := testSink(t)
	if _, err := CreateChangefeed(nil, sink, Options{}); err == nil || !strings.Contains(err.Error(), "at least one table") {
		t.Errorf("no tables: %v", err)
	}
	if _, err := CreateChangefeed([]string{"a..b"}, sink, Options{}); err == nil || !strings.Contains(err.Error(), "empty part") {
		t.Errorf("empty part: %v", err)
	}
	if _, err := CreateChangefeed([]string{"t"}, sink, Options{Envelope: "row"}); err == nil || !strings.Contains(err.Error(), "envelope=row") {
		t.Errorf("bad options: %v", err)
	}
	bad := sink
	bad.ClientSecret = ""
	if _, err := CreateChangefeed([]string{"t"}, bad, Options{}); err == nil || !strings.Contains(err.Error(), "sasl_client_secret must be provided") {
		t.Errorf("bad sink: %v", err)
	}
	if _, err := CreateExternalConnection("x", SinkURI{Scheme: SchemeExternal, ExternalConnection: "y"}); err == nil {
		t.Error("external connection to external connection accepted")
	}
}

func TestQuoting(t *testing.T) {
	for in, want := range map[string]string{
		"vehicles": "vehicles", "user": `"user"`, "Vehicles": `"Vehicles"`, `a"b`: `"a""b"`, "1abc": `"1abc"`, "a b": `"a b"`,
	} {
		if got := QuoteIdent(in); got != want {
			t.Errorf("QuoteIdent(%q) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string]string{"": "''", "it's": "'it''s'", `back\slash`: `'back\slash'`} {
		if got := QuoteString(in); got != want {
			t.Errorf("QuoteString(%q) = %s, want %s", in, got, want)
		}
	}
}
