package report

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
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

// TestImports pins the layering: report reads results and imports no other cfbench package.
func TestImports(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			if strings.HasPrefix(strings.Trim(imp.Path.Value, `"`), "github.com/cfbench/cfbench/") {
				t.Errorf("%s imports %s: report must not depend on other cfbench packages", f, imp.Path.Value)
			}
		}
	}
}
