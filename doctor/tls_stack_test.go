package doctor

import (
	"testing"

	"github.com/cfbench/cfbench/internal/stacktest"
)

// TestDoctorTLS runs the doctor against the stack's TLS instance (SASL_SSL, https IdP): healthy
// with the local CA, and a failing step naming the profile key to fix with a wrong one.
func TestDoctorTLS(t *testing.T) {
	st := stacktest.RequireTLS(t)
	wrong := stacktest.WrongCA(t)
	t.Run("healthy", func(t *testing.T) {
		rep := runDoctor(t, loadProfile(t, "extends: local-tls\n"))
		if !rep.OK() {
			t.Error("the healthy TLS instance fails a step")
		}
		wantStep(t, rep, "kafka tls "+st.TLSKafkaBrokers, Pass, `issued by "CN=cfbench local CA"`, "kafka.ca_file "+st.TLSCAFile)
		for _, name := range []string{"idp token request to " + st.TLSTokenURL, "kafka sasl/oauthbearer handshake", "changefeed sink token"} {
			wantStep(t, rep, name, Pass)
		}
	})
	t.Run("wrong kafka.ca_file", func(t *testing.T) {
		rep := runDoctor(t, loadProfile(t, "extends: local-tls\nkafka:\n  ca_file: "+wrong+"\n"))
		if rep.OK() {
			t.Error("doctor passes with a wrong kafka.ca_file")
		}
		wantStep(t, rep, "kafka tls "+st.TLSKafkaBrokers, Fail, "certificate signed by unknown authority", "set kafka.ca_file")
		wantStep(t, rep, "kafka sasl/oauthbearer handshake", Skip)
	})
	t.Run("wrong idp.ca_file", func(t *testing.T) {
		rep := runDoctor(t, loadProfile(t, "extends: local-tls\nidp:\n  ca_file: "+wrong+"\n"))
		if rep.OK() {
			t.Error("doctor passes with a wrong idp.ca_file")
		}
		wantStep(t, rep, "idp token request", Fail, "certificate signed by unknown authority", "set idp.ca_file")
		wantStep(t, rep, "changefeed sink token", Pass) // its own CA file: changefeed.sink.token_ca_file
	})
	t.Run("wrong changefeed.sink.token_ca_file", func(t *testing.T) {
		rep := runDoctor(t, loadProfile(t, "extends: local-tls\nchangefeed:\n  sink:\n    token_ca_file: "+wrong+"\n"))
		wantStep(t, rep, "changefeed sink token", Fail, "unknown authority", "set changefeed.sink.token_ca_file")
	})
	t.Run("plaintext port", func(t *testing.T) {
		rep := runDoctor(t, loadProfile(t, "extends: local-tls\nkafka:\n  brokers: [\""+st.TLSKafkaAdminBrokers+"\"]\n"))
		wantStep(t, rep, "kafka tls "+st.TLSKafkaAdminBrokers, Fail, "does not speak TLS", "name the SASL_SSL listener")
	})
}
