package oauth

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports pins the package's layering: oauth knows nothing about Kafka and never imports
// cfbench's report, bench or cmd packages.
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			switch {
			case strings.Contains(strings.ToLower(path), "kafka"):
				t.Errorf("%s imports %s: oauth must not know about Kafka", name, path)
			case strings.HasPrefix(path, "github.com/cfbench/cfbench/") &&
				path != "github.com/cfbench/cfbench/internal/stacktest" && path != "github.com/cfbench/cfbench/oauth":
				t.Errorf("%s imports %s: oauth imports no other cfbench package", name, path)
			}
		}
	}
}
