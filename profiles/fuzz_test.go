package profiles

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to Parse: it must never panic, and a profile it accepts must
// validate, render, and never show a secret.
//
//	go test -run '^$' -fuzz FuzzLoad -fuzztime 30s ./profiles
func FuzzLoad(f *testing.F) {
	for _, e := range Examples() {
		b, _ := ExampleYAML(e.Name)
		f.Add(b)
	}
	f.Add([]byte("extends: local\nworkload:\n  rate: fast\n"))
	f.Add([]byte("extends: local\nmatrix:\n  kafka.consumer.fetch.wait.max.ms: [5, 500]\n  workload.mix.addUser: [0, 1]\n"))
	f.Add([]byte("extends: local\nkafka:\n  brokers: \"a:1,b:2\"\n  consumer: {x.y: ${CFBENCH_TOKEN_URL:-d}}\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("extends: local\nworkload: &w {rate: 5}\nmeasure: *w\n"))
	getenv := getenvFrom(fakeEnv())
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data, getenv)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("Parse accepted a profile Validate rejects: %v", err)
		}
		vs, err := p.Variants()
		if err != nil || len(vs) == 0 {
			t.Fatalf("Variants: %d, %v", len(vs), err)
		}
		js, err := json.Marshal(p.Redacted())
		if err != nil {
			t.Fatal(err)
		}
		y, err := p.RedactedYAML()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range testSecrets {
			if strings.Contains(string(js), s) || strings.Contains(string(y), s) {
				t.Fatalf("rendering shows secret %q", s)
			}
		}
	})
}
