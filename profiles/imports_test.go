package profiles

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports pins what profiles may use: it reads files and never talks to a network, and it
// does not depend on the packages that run things.
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	forbidden := []string{"net/http", "github.com/confluentinc/", "github.com/jackc/", "golang.org/x/oauth2",
		"github.com/cfbench/cfbench/bench", "github.com/cfbench/cfbench/report", "github.com/cfbench/cfbench/cmd",
		"github.com/cfbench/cfbench/load", "github.com/cfbench/cfbench/consume", "github.com/cfbench/cfbench/pgfeed",
		"github.com/cfbench/cfbench/oauth"}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			for _, bad := range forbidden {
				if strings.HasPrefix(path, bad) {
					t.Errorf("%s imports %s", f, path)
				}
			}
		}
	}
}
