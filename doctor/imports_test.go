package doctor

import (
	"go/parser"
	gotoken "go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports pins the layering: doctor composes the library packages and never imports
// bench, report or cmd.
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := gotoken.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			for _, banned := range []string{"bench", "report", "cmd"} {
				if strings.HasPrefix(path, "github.com/cfbench/cfbench/"+banned) {
					t.Errorf("%s imports %s: doctor must not import bench, report or cmd", name, path)
				}
			}
		}
	}
}
