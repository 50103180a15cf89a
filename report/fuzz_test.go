package report

import (
	"testing"
)

// FuzzParse feeds arbitrary documents to Parse, which reads files users hand to report, compare
// and merge: it must return a result or an error, never panic, and an accepted result must
// survive Marshal and Parse again.
func FuzzParse(f *testing.F) {
	b, err := synth(1, 1000, 2).Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"schema":"cfbench.result/v1"}`))
	f.Add([]byte(`{"schema":"cfbench.result/v1","metrics":{"x":{"count":1,"hdr":"HISTFAAAABx4nJNpmSzMwMDAxQABzFCaEUzJ/f8PAB8/A0w="}}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		r, err := Parse(doc)
		if err != nil {
			return
		}
		again, err := r.Marshal()
		if err != nil {
			t.Fatalf("accepted result does not marshal: %v", err)
		}
		if _, err := Parse(again); err != nil {
			t.Fatalf("accepted result does not parse after marshalling: %v", err)
		}
	})
}
