package profiles

import (
	"strings"
	"testing"
	"time"
)

func TestVariantsFlushMatrix(t *testing.T) {
	p, err := Load("local-matrix-flush", testGetenv)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := p.Variants()
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		label string
		freq  time.Duration
	}{{"Flush.Frequency=0s", 0}, {"Flush.Frequency=50ms", 50 * time.Millisecond}, {"Flush.Frequency=500ms", 500 * time.Millisecond}}
	if len(vs) != len(want) {
		t.Fatalf("%d variants, want %d", len(vs), len(want))
	}
	for i, w := range want {
		v := vs[i]
		if v.Label != w.label || v.Profile.Changefeed.KafkaSinkConfig.Flush.Frequency != w.freq {
			t.Errorf("variant %d: label %q frequency %v, want %q %v", i, v.Label, v.Profile.Changefeed.KafkaSinkConfig.Flush.Frequency, w.label, w.freq)
		}
		if len(v.Profile.Matrix) != 0 || v.Profile.Name != "local-matrix-flush" {
			t.Errorf("variant %d: matrix %v name %q", i, v.Profile.Matrix, v.Profile.Name)
		}
		// Same workload in every variant.
		if v.Profile.Workload.Duration != 30*time.Second || v.Profile.Workload.Rate != 200 {
			t.Errorf("variant %d workload %+v", i, v.Profile.Workload)
		}
		if len(v.Settings) != 1 || v.Settings[0].Path != "changefeed.kafka_sink_config.Flush.Frequency" {
			t.Errorf("settings %+v", v.Settings)
		}
	}
	// Variants are independent copies.
	vs[0].Profile.Kafka.Consumer["x.y"] = "z"
	vs[0].Profile.Changefeed.Tables[0] = "changed"
	if _, ok := vs[1].Profile.Kafka.Consumer["x.y"]; ok || p.Changefeed.Tables[0] != "users" || vs[2].Profile.Changefeed.Tables[0] != "users" {
		t.Error("variants share maps or slices")
	}
}

func TestVariantsProduct(t *testing.T) {
	src := `extends: local
matrix:
  changefeed.kafka_sink_config.RequiredAcks: [ONE, ALL]
  kafka.consumer.fetch.wait.max.ms: [5, 500]
  workload.mix.addUser: [0.5]
  changefeed.tables: [[users], [users, rides]]
`
	p, err := Parse("m.yaml", []byte(src), testGetenv)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := p.Variants()
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, v := range vs {
		labels = append(labels, v.Label)
	}
	want := []string{
		"RequiredAcks=ONE,fetch.wait.max.ms=5,addUser=0.5,changefeed.tables=[users]",
		"RequiredAcks=ONE,fetch.wait.max.ms=5,addUser=0.5,changefeed.tables=[users,rides]",
		"RequiredAcks=ONE,fetch.wait.max.ms=500,addUser=0.5,changefeed.tables=[users]",
		"RequiredAcks=ONE,fetch.wait.max.ms=500,addUser=0.5,changefeed.tables=[users,rides]",
		"RequiredAcks=ALL,fetch.wait.max.ms=5,addUser=0.5,changefeed.tables=[users]",
		"RequiredAcks=ALL,fetch.wait.max.ms=5,addUser=0.5,changefeed.tables=[users,rides]",
		"RequiredAcks=ALL,fetch.wait.max.ms=500,addUser=0.5,changefeed.tables=[users]",
		"RequiredAcks=ALL,fetch.wait.max.ms=500,addUser=0.5,changefeed.tables=[users,rides]",
	}
	if strings.Join(labels, "\n") != strings.Join(want, "\n") {
		t.Errorf("labels\n%s\nwant\n%s", strings.Join(labels, "\n"), strings.Join(want, "\n"))
	}
	last := vs[len(vs)-1].Profile
	if last.Changefeed.KafkaSinkConfig.RequiredAcks != "ALL" || last.Kafka.Consumer["fetch.wait.max.ms"] != int64(500) ||
		last.Workload.Mix["addUser"] != 0.5 || last.Workload.Mix["startRide"] != 0.4 ||
		strings.Join(last.Changefeed.Tables, ",") != "users,rides" || last.Kafka.Consumer["fetch.min.bytes"] != int64(1) {
		t.Errorf("last variant: acks %q consumer %v mix %v tables %v", last.Changefeed.KafkaSinkConfig.RequiredAcks,
			last.Kafka.Consumer, last.Workload.Mix, last.Changefeed.Tables)
	}
}

func TestVariantsWithoutMatrix(t *testing.T) {
	p, err := Load("local", testGetenv)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := p.Variants()
	if err != nil || len(vs) != 1 || vs[0].Label != "" || vs[0].Profile == p || vs[0].Profile.Name != "local" {
		t.Fatalf("got %+v, %v", vs, err)
	}
}

func TestVariantsTooMany(t *testing.T) {
	src := "extends: local\nmatrix:\n  workload.rate: [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]\n  workload.concurrency: [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]\n"
	_, err := Parse("m.yaml", []byte(src), testGetenv)
	if err == nil || !strings.Contains(err.Error(), "m.yaml:4: matrix: more than 256 variants") {
		t.Errorf("got %v", err)
	}
}

func TestInterleave(t *testing.T) {
	vs := []Variant{{Label: "A"}, {Label: "B"}, {Label: "C"}}
	got := Interleave(vs, 3)
	var b strings.Builder
	for _, v := range got {
		b.WriteString(v.Label)
		b.WriteByte(byte('0' + v.Repetition))
		b.WriteByte(' ')
	}
	if want := "A1 B1 C1 A2 B2 C2 A3 B3 C3 "; b.String() != want {
		t.Errorf("order %q, want %q", b.String(), want)
	}
	if vs[0].Repetition != 0 {
		t.Error("Interleave changed its input")
	}
	if n := len(Interleave(vs, 0)); n != 3 {
		t.Errorf("repetitions 0: %d runs, want 3 (taken as 1)", n)
	}
}

func TestVariantsBuiltInCode(t *testing.T) {
	p, err := Load("local", testGetenv)
	if err != nil {
		t.Fatal(err)
	}
	p.Matrix = Matrix{{Path: "changefeed.kafka_sink_config.Compression", Values: []string{"NONE", "ZSTD"}},
		{Path: "workload.rate", Values: []string{"100", "400"}}}
	vs, err := p.Variants()
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 4 || vs[3].Label != "Compression=ZSTD,workload.rate=400" ||
		vs[3].Profile.Changefeed.KafkaSinkConfig.Compression != "ZSTD" || vs[3].Profile.Workload.Rate != 400 {
		t.Errorf("got %d variants, last %q", len(vs), vs[len(vs)-1].Label)
	}
	p.Matrix = Matrix{{Path: "workload.rate", Values: []string{"lots"}}}
	if _, err := p.Variants(); err == nil || !strings.Contains(err.Error(), `workload.rate: want a number of ops/s, got "lots"`) {
		t.Errorf("bad value: %v", err)
	}
}
