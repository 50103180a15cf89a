package profiles

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLoadErrors checks that each kind of mistake is rejected with the file, the line, the key
// path and what is allowed. Every case extends the embedded local profile, so the line numbers
// are the case's own.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // each must appear in the error text
	}{
		// Unknown keys, at each level.
		{"unknown top-level key", "extends: local\nworkloud:\n  rate: 5\n",
			[]string{"parsing --profile staging.yaml:2: unknown key 'workloud' in the profile (allowed: name, extends, description, database, idp, kafka, changefeed, workload, measure, matrix); did you mean 'workload'?"}},
		{"unknown key in kafka", "extends: local\nkafka:\n  security_protocol: SASL_PLAINTEXT\n  brokerz: [a:1]\n",
			[]string{"parsing --profile staging.yaml:4: unknown key 'brokerz' in kafka (allowed: brokers, security_protocol, ca_file, topics, topic_prefix, consumer, group_id); did you mean 'brokers'?"}},
		{"unknown key in database", "extends: local\ndatabase:\n  uri: x\n",
			[]string{"staging.yaml:3: unknown key 'uri' in database (allowed: url, url_file, kind); did you mean 'url'?"}},
		{"unknown key in idp", "extends: local\nidp:\n  client_secret: hunter2\n",
			[]string{"staging.yaml:3: unknown key 'client_secret' in idp (allowed: token_url, client_id, client_secret_file, client_secret_env, scopes, audience, auth_style, timeout, ca_file)"}},
		{"unknown key in changefeed.options", "extends: local\nchangefeed:\n  options:\n    resolve: 1s\n",
			[]string{"staging.yaml:4: unknown key 'resolve' in changefeed.options (allowed: updated, resolved, min_checkpoint_frequency, diff, mvcc_timestamp, key_in_value, topic_in_value); did you mean 'resolved'?"}},
		{"unknown key in kafka_sink_config.Flush", "extends: local\nchangefeed:\n  kafka_sink_config:\n    Flush:\n      Frequncy: 1s\n",
			[]string{"staging.yaml:5: unknown key 'Frequncy' in changefeed.kafka_sink_config.Flush (allowed: Messages, Bytes, Frequency, MaxMessages); did you mean 'Frequency'?"}},
		{"unknown key in kafka_sink_config.Retry", "extends: local\nchangefeed:\n  kafka_sink_config:\n    Retry: {Maximum: 3}\n",
			[]string{"staging.yaml:4: unknown key 'Maximum' in changefeed.kafka_sink_config.Retry (allowed: Max, Backoff)"}},
		{"unknown key in sink", "extends: local\nchangefeed:\n  sink:\n    sasl_mechanisms: OAUTHBEARER\n",
			[]string{"staging.yaml:4: unknown key 'sasl_mechanisms' in changefeed.sink (allowed: brokers, topic_prefix, topic_name, tls_enabled, ca_file, sasl_mechanism,", "did you mean 'sasl_mechanism'?"}},
		{"unknown key in workload.seed", "extends: local\nworkload:\n  seed:\n    cities: 3\n",
			[]string{"staging.yaml:4: unknown key 'cities' in workload.seed (allowed: users, vehicles, rides)"}},
		{"unknown key in measure", "extends: local\nmeasure:\n  clock_sample: 3\n",
			[]string{"staging.yaml:3: unknown key 'clock_sample' in measure (allowed: refresh_window, clock_samples, start); did you mean 'clock_samples'?"}},
		{"key twice", "extends: local\nworkload:\n  rate: 5\n  rate: 6\n",
			[]string{"staging.yaml:4: key 'rate' appears twice in workload"}},

		// Bad types and values.
		{"rate not a number", "extends: local\nworkload:\n  rate: fast\n",
			[]string{`parsing --profile staging.yaml:3: workload.rate: want a number of ops/s, got "fast"`}},
		{"concurrency not an integer", "extends: local\nworkload:\n  concurrency: 2.5\n",
			[]string{`staging.yaml:3: workload.concurrency: want a number of workers, got "2.5"`}},
		{"bool", "extends: local\nchangefeed:\n  options:\n    diff: yes\n",
			[]string{`staging.yaml:4: changefeed.options.diff: want true or false, got "yes"`}},
		{"section not a mapping", "extends: local\nkafka: 5\n",
			[]string{`staging.yaml:2: kafka: want a mapping (keys: brokers, security_protocol, ca_file, topics, topic_prefix, consumer, group_id), got "5"`}},
		{"enum", "extends: local\ndatabase:\n  kind: mysql\n",
			[]string{`staging.yaml:3: database.kind: want one of auto, postgres, cockroachdb, got "mysql"`}},
		{"enum with default", "extends: local\nchangefeed:\n  kafka_sink_config:\n    Compression: zstd\n",
			[]string{`staging.yaml:4: changefeed.kafka_sink_config.Compression: want one of NONE, GZIP, SNAPPY, LZ4, ZSTD or "" (the default), got "zstd"`}},
		{"list wanted", "extends: local\nchangefeed:\n  tables: {users: 1}\n",
			[]string{`staging.yaml:3: changefeed.tables: want a list of strings, got a mapping`}},
		{"consumer value not a scalar", "extends: local\nkafka:\n  consumer:\n    fetch.wait.max.ms: [1, 2]\n",
			[]string{`staging.yaml:4: kafka.consumer.fetch.wait.max.ms: want a string, number or boolean, got a list`}},

		// Durations.
		{"duration without unit", "extends: local\nworkload:\n  duration: 10\n",
			[]string{`staging.yaml:3: workload.duration: want a duration such as 500ms, 10s or 1m, got "10" (a unit is missing: ns, us, ms, s, m or h)`}},
		{"duration negative", "extends: local\nworkload:\n  warmup: -5s\n",
			[]string{`staging.yaml:3: workload.warmup: want a duration such as 500ms, 10s or 1m, got "-5s" (negative)`}},
		{"duration gibberish", "extends: local\nchangefeed:\n  kafka_sink_config:\n    Flush: {Frequency: soon}\n",
			[]string{`staging.yaml:4: changefeed.kafka_sink_config.Flush.Frequency: want a duration such as 500ms, 10s or 1m, got "soon" (not a duration)`}},

		// Environment and secrets.
		{"unset variable", "extends: local\ndatabase:\n  url: ${CFBENCH_NOPE}\n",
			[]string{`staging.yaml:3: database.url: environment variable CFBENCH_NOPE is not set; export it or write ${CFBENCH_NOPE:-default}`}},
		{"unset stack variable", "extends: local\nidp:\n  token_url: ${CFBENCH_TOKEN_URL}x${CFBENCH_HYDRA_ADMIN_URL}\n",
			[]string{`staging.yaml:3: idp.token_url: environment variable CFBENCH_HYDRA_ADMIN_URL is not set`, `eval "$(deploy/local/stack env)"`}},
		{"bad variable reference", "extends: local\nidp:\n  client_id: ${1X}\n",
			[]string{`staging.yaml:3: idp.client_id: bad environment variable reference ${1X}`}},
		{"missing secret file", "extends: local\nidp:\n  client_secret_file: testdata/secrets/nope\n",
			[]string{`staging.yaml:3: idp.client_secret_file: reading secret file: open testdata/secrets/nope: no such file or directory`}},
		{"unset secret variable", "extends: local\nchangefeed:\n  sink:\n    client_secret_file: \"\"\n    client_secret_env: CFBENCH_UNSET_SECRET\n",
			[]string{`staging.yaml:5: changefeed.sink.client_secret_env: environment variable CFBENCH_UNSET_SECRET is not set or empty`}},
		{"both secret sources", "extends: local\nidp:\n  client_secret_env: CFBENCH_CLIENT_SECRET\n",
			[]string{`idp.client_secret_file: set client_secret_file or client_secret_env, not both`}},

		// Cross-field rules.
		{"password in url", "extends: local\ndatabase:\n  url: postgres://u:pw@127.0.0.1:5432/db\n",
			[]string{`staging.yaml:3: database.url: contains a password; put the whole URL in a file named by database.url_file, or the password in PGPASSFILE`}},
		{"mode create on postgres", "extends: local\nchangefeed:\n  mode: create\n",
			[]string{`staging.yaml:3: changefeed.mode: create needs CockroachDB (CREATE CHANGEFEED), and database.kind is postgres: use mode pgfeed`, "changefeed.sink.audience: CockroachDB's sink URI has no audience parameter"}},
		{"existing without job", "extends: local\ndatabase: {kind: cockroachdb}\nchangefeed:\n  mode: existing\n",
			[]string{`staging.yaml:4: changefeed.job_id: mode existing needs the id of the running changefeed`}},
		{"negative rate", "extends: local\nworkload:\n  rate: -5\n",
			[]string{`staging.yaml:3: workload.rate: want a number of ops/s >= 0 (0 = as fast as possible), got -5`}},
		{"mix", "extends: local\nworkload:\n  mix: {addUser: -1, startRides: 1, readVehicles: 1}\n",
			[]string{`staging.yaml:3: workload.mix.addUser: want a weight >= 0, got -1`,
				`workload.mix.startRides: unknown op "startRides" (allowed: addUser, addVehicle, startRide, endRide, applyPromoCode, createPromoCode, updateLocation); did you mean 'startRide'?`,
				`workload.mix.readVehicles: the read op's weight is workload.read_vehicles`}},
		{"mix all zero", "extends: local\nworkload:\n  mix: {addUser: 0, addVehicle: 0, startRide: 0, endRide: 0, applyPromoCode: 0, createPromoCode: 0, updateLocation: 0}\n",
			[]string{`staging.yaml:3: workload.mix: want at least one op with a weight > 0`}},
		{"oauthbearer needs client id", "extends: local\nchangefeed:\n  sink:\n    client_id: \"\"\n",
			[]string{`staging.yaml:4: changefeed.sink.client_id: required with sasl_mechanism OAUTHBEARER`}},
		{"token url in clear", "extends: local\nidp:\n  token_url: http://idp.example.com/token\n",
			[]string{`staging.yaml:3: idp.token_url: http:// sends the client secret in clear; use https://`}},
		{"owned consumer keys", "extends: local\nkafka:\n  consumer:\n    group.id: mine\n    sasl.mechanism: PLAIN\n",
			[]string{`staging.yaml:4: kafka.consumer.group.id: cfbench sets group.id itself; use kafka.group_id instead`,
				`staging.yaml:5: kafka.consumer.sasl.mechanism: cfbench sets the sasl.* properties itself`}},
		{"CockroachDB flush rule", "extends: local\nchangefeed:\n  kafka_sink_config:\n    Flush: {Messages: 10}\n",
			[]string{`staging.yaml:4: changefeed.kafka_sink_config: CockroachDB would reject it: option kafka_sink_config: Flush.Frequency must be > 0 when Flush.Bytes > 0 or Flush.Messages > 1`}},
		{"bad broker", "extends: local\nkafka:\n  brokers: [127.0.0.1]\n",
			[]string{`staging.yaml:3: kafka.brokers[0]: want host:port, got "127.0.0.1"`}},
		{"unknown table", "extends: local\nchangefeed:\n  tables: [users, cars]\n",
			[]string{`changefeed.tables[1]: unknown table "cars": cfbench writes movr's tables (allowed: users, vehicles, rides, vehicle_location_histories, promo_codes, user_promo_codes)`}},
		{"SASL_SSL CA file missing", "extends: local\nkafka:\n  security_protocol: SASL_SSL\n  ca_file: testdata/nope.pem\n",
			[]string{`staging.yaml:4: kafka.ca_file: stat testdata/nope.pem: no such file or directory`}},
		{"SASL_SSL CA file not PEM", "extends: local\nkafka:\n  security_protocol: SASL_SSL\n  ca_file: testdata/secrets/consumer-client-secret\n",
			[]string{`staging.yaml:4: kafka.ca_file: testdata/secrets/consumer-client-secret holds no PEM certificate (-----BEGIN CERTIFICATE-----): want the CA's certificate in PEM`}},
		{"idp CA file not PEM", "extends: local\nidp:\n  token_url: https://127.0.0.1:24446/oauth2/token\n  ca_file: testdata/secrets/consumer-client-secret\n",
			[]string{`staging.yaml:4: idp.ca_file: testdata/secrets/consumer-client-secret holds no PEM certificate`}},
		{"idp CA file with http", "extends: local\nidp:\n  ca_file: testdata/tls/ca.pem\n",
			[]string{`staging.yaml:3: idp.ca_file: only used with an https idp.token_url (it is http)`}},
		{"sink token CA file outside pgfeed", "extends: okta-staging\nchangefeed:\n  sink:\n    token_ca_file: testdata/tls/ca.pem\n",
			[]string{`staging.yaml:4: changefeed.sink.token_ca_file: only mode pgfeed uses it: CockroachDB fetches the sink's tokens trusting the node's system roots`}},

		// Matrix.
		{"bad matrix path", "extends: local\nmatrix:\n  changefeed.kafka_sink_config.Flush.Frequncy: [0s, 50ms]\n",
			[]string{`staging.yaml:3: matrix: unknown key path 'changefeed.kafka_sink_config.Flush.Frequncy': no key 'Frequncy' in changefeed.kafka_sink_config.Flush (allowed: Messages, Bytes, Frequency, MaxMessages); did you mean 'Frequency'?`}},
		{"matrix path into a value", "extends: local\nmatrix:\n  workload.rate.max: [1]\n",
			[]string{`staging.yaml:3: matrix: unknown key path 'workload.rate.max': workload.rate is a single value, it has no key 'max'`}},
		{"matrix over a section", "extends: local\nmatrix:\n  workload.seed: [1]\n",
			[]string{`staging.yaml:3: matrix: workload.seed is a section: vary one of its keys (users, vehicles, rides)`}},
		{"matrix over a secret", "extends: local\nmatrix:\n  idp.client_secret_file: [a, b]\n",
			[]string{`staging.yaml:3: matrix: idp.client_secret_file cannot be varied: secrets are read once, at load`}},
		{"matrix value of the wrong type", "extends: local\nmatrix:\n  changefeed.kafka_sink_config.Flush.Frequency:\n    - 0s\n    - fast\n",
			[]string{`staging.yaml:5: changefeed.kafka_sink_config.Flush.Frequency: want a duration such as 500ms, 10s or 1m, got "fast"`}},
		{"matrix values not a list", "extends: local\nmatrix:\n  workload.rate: 5\n",
			[]string{`staging.yaml:3: matrix.workload.rate: want a non-empty list of values`}},
		{"matrix variant breaks a rule", "extends: local\nmatrix:\n  changefeed.kafka_sink_config.Flush.Messages: [0, 10]\n",
			[]string{`matrix variant Flush.Messages=10: parsing --profile staging.yaml:3: changefeed.kafka_sink_config: CockroachDB would reject it: option kafka_sink_config: Flush.Frequency must be > 0`}},

		// Files.
		{"not YAML", "extends: local\nworkload:\n  rate: [1\n",
			[]string{"parsing --profile staging.yaml:3: not valid YAML: did not find expected ',' or ']'"}},
		{"not YAML (scanner)", "extends: local\nworkload:\n  rate: 1\n concurrency: 2\n",
			[]string{"parsing --profile staging.yaml:4: not valid YAML: "}},
		{"unquoted variable in a flow list", "extends: local\nkafka:\n  brokers: [${CFBENCH_KAFKA_BROKERS}]\n",
			[]string{`staging.yaml:3: not valid YAML`, `quote ${VAR}`}},
		{"two documents", "extends: local\n---\nname: x\n",
			[]string{`staging.yaml:2: a second YAML document (---): a profile is one document`}},
		{"empty", "", []string{`parsing --profile staging.yaml: the profile is empty`}},
		{"not a mapping", "- a\n- b\n", []string{`staging.yaml:1: want a mapping of keys (name, extends,`}},
		{"extends unknown", "extends: nope\n",
			[]string{`staging.yaml:1: extends: profile "nope": no embedded example of that name (embedded: local,`}},
		{"merge keys", "extends: local\nworkload:\n  <<: {rate: 5}\n",
			[]string{`staging.yaml:3: workload: merge keys (<<) are not supported; use extends: to inherit a profile`}},
		{"bad name", "extends: local\nname: my profile\n",
			[]string{`staging.yaml:2: name: want letters, digits, '.', '_' and '-' (it names the results directory), got "my profile"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse("staging.yaml", []byte(tc.yaml), testGetenv)
			if err == nil {
				t.Fatalf("loaded %q without error", p.Name)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain\n  %s\ngot\n  %s", w, err)
				}
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Errorf("error %v is not a *profiles.Error", err)
			}
			for _, s := range testSecrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error shows a secret: %s", err)
				}
			}
		})
	}
}

// TestSecretEnvValueNotEchoed: a secret pasted where its variable's name belongs never shows.
func TestSecretEnvValueNotEchoed(t *testing.T) {
	_, err := Parse("staging.yaml", []byte("extends: local\nidp:\n  client_secret_file: \"\"\n  client_secret_env: 'hunter2-is-my-pass'\n"), testGetenv)
	if err == nil || !strings.Contains(err.Error(), "staging.yaml:4: idp.client_secret_env: want the name of an environment variable") {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error shows the value: %v", err)
	}
}

func TestLoadDefaultsAndOverrides(t *testing.T) {
	src := `extends: local
description: tuned
kafka:
  brokers: "b1:1, b2:2"
  consumer:
    fetch.wait.max.ms: 5
    enable.partition.eof: true
    client.rack: "7"
workload:
  rate: ${RATE:-350.5}
  mix: {addUser: 1}
  duration:
`
	p, err := Parse(filepath.Join("dir", "tuned.yaml"), []byte(src), testGetenv)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "tuned" || p.Description != "tuned" || p.Extends != "local" {
		t.Errorf("name %q description %q extends %q", p.Name, p.Description, p.Extends)
	}
	if got := strings.Join(p.Kafka.Brokers, ","); got != "b1:1,b2:2" {
		t.Errorf("brokers %q: want the comma-separated string split", got)
	}
	wantConsumer := map[string]any{"fetch.wait.max.ms": int64(5), "fetch.min.bytes": int64(1), "enable.partition.eof": true, "client.rack": "7"}
	if len(p.Kafka.Consumer) != len(wantConsumer) {
		t.Errorf("consumer %v, want %v (local's keys overlaid)", p.Kafka.Consumer, wantConsumer)
	}
	for k, v := range wantConsumer {
		if p.Kafka.Consumer[k] != v {
			t.Errorf("consumer[%s] = %#v (%T), want %#v (%T)", k, p.Kafka.Consumer[k], p.Kafka.Consumer[k], v, v)
		}
	}
	if p.Workload.Rate != 350.5 {
		t.Errorf("rate %v: want the ${RATE:-350.5} default", p.Workload.Rate)
	}
	if p.Workload.Duration != 60*time.Second {
		t.Errorf("duration %v: an empty value keeps the inherited 60s", p.Workload.Duration)
	}
	// local leaves mix out, so this file's mix replaces the default one.
	if len(p.Workload.Mix) != 1 || p.Workload.Mix["addUser"] != 1 {
		t.Errorf("mix %v", p.Workload.Mix)
	}
	// Defaults of keys local leaves out.
	if p.Workload.Seed != (Seed{Users: 50, Vehicles: 15, Rides: 5}) || p.Measure.Start != StartEnd || !p.Changefeed.CancelOnExit {
		t.Errorf("defaults not applied: seed %+v start %q cancel %v", p.Workload.Seed, p.Measure.Start, p.Changefeed.CancelOnExit)
	}
	if got := strings.Join(p.ConsumeTopics(), ","); got != strings.Join(MovrTables, ",") {
		t.Errorf("topics %s", got)
	}
	// The local base was not modified by the overlay.
	base, err := Load("local", testGetenv)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := base.Kafka.Consumer["client.rack"]; ok || base.Workload.Mix["addUser"] != 0.3 {
		t.Errorf("loading a profile that extends local changed local: %v %v", base.Kafka.Consumer, base.Workload.Mix)
	}
}

func TestExtendsRelativePathAndCycle(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("base.yaml", "extends: local\nworkload:\n  rate: 10\n  concurrency: 3\n")
	child := write("child.yaml", "extends: base.yaml\nworkload:\n  rate: 20\n")
	p, err := Load(child, testGetenv)
	if err != nil {
		t.Fatal(err)
	}
	if p.Workload.Rate != 20 || p.Workload.Concurrency != 3 || p.Name != "child" || p.Source != child {
		t.Errorf("rate %v concurrency %v name %q source %q", p.Workload.Rate, p.Workload.Concurrency, p.Name, p.Source)
	}
	a := write("a.yaml", "extends: b.yaml\n")
	write("b.yaml", "extends: a.yaml\n")
	if _, err := Load(a, testGetenv); err == nil || !strings.Contains(err.Error(), "extends itself") {
		t.Errorf("cycle: got %v", err)
	}
	// A problem in a base file is reported at the base file's line.
	bad := write("badbase.yaml", "extends: local\n\nworkload:\n  rate: lots\n")
	write("c.yaml", "extends: badbase.yaml\n")
	_, err = Load(filepath.Join(dir, "c.yaml"), testGetenv)
	if err == nil || !strings.Contains(err.Error(), bad+`:4: workload.rate: want a number of ops/s, got "lots"`) {
		t.Errorf("got %v", err)
	}
}

func TestLoadNameOrPath(t *testing.T) {
	if _, err := Load("no-such-profile", testGetenv); err == nil ||
		!strings.Contains(err.Error(), `no embedded example of that name (embedded: local, local-acks-all,`) {
		t.Errorf("unknown name: %v", err)
	}
	if _, err := Load("missing/x.yaml", testGetenv); err == nil || !strings.Contains(err.Error(), "missing/x.yaml: reading profile: open missing/x.yaml: no such file") {
		t.Errorf("missing path: %v", err)
	}
	p, err := Load("local", testGetenv)
	if err != nil {
		t.Fatal(err)
	}
	if p.Source != "embedded:local.yaml" || p.Name != "local" {
		t.Errorf("source %q name %q", p.Source, p.Name)
	}
}

func TestURLFile(t *testing.T) {
	src := "extends: local\ndatabase:\n  url: \"\"\n  url_file: testdata/secrets/pg-url\n"
	p, err := Parse("pg.yaml", []byte(src), testGetenv)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Database.ConnString(); got != "postgres://cfbench:PG-PASSW0RD@127.0.0.1:25432/cfbench?sslmode=disable" {
		t.Errorf("ConnString %q", got)
	}
	assertNoSecrets(t, p)
}

// TestStandaloneExisting: a profile without extends, attaching to an existing CockroachDB
// changefeed, needs no sink settings and gets every default.
func TestStandaloneExisting(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzLoad", "standalone"))
	if err != nil {
		t.Fatal(err)
	}
	src := strings.TrimSuffix(strings.TrimPrefix(string(b), "go test fuzz v1\n[]byte(\""), "\")\n")
	src = strings.ReplaceAll(src, `\n`, "\n")
	p, err := Parse("s.yaml", []byte(src), testGetenv)
	if err != nil {
		t.Fatal(err)
	}
	if p.Changefeed.JobID != 42 || p.Kafka.SecurityProtocol != SASLSSL || p.IdP.AuthStyle != AuthStyleHeader ||
		p.IdP.Timeout != 10*time.Second || p.Workload.Rate != 200 || len(p.Changefeed.Tables) != 6 ||
		p.IdP.ClientSecret.Reveal() != "consumer-S3CRET-from-env" {
		t.Errorf("%+v", p)
	}
}
