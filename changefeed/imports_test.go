package changefeed

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports pins what the package may depend on: no Kafka client (it never consumes
// messages) and none of cfbench's higher layers (DESIGN.md §2).
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	forbidden := []string{
		"github.com/confluentinc/", "github.com/twmb/franz-go", "github.com/IBM/sarama", "github.com/segmentio/kafka-go",
		"github.com/cfbench/cfbench/report", "github.com/cfbench/cfbench/bench", "github.com/cfbench/cfbench/cmd",
		"github.com/cfbench/cfbench/consume", "github.com/cfbench/cfbench/pgfeed",
	}
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			for _, bad := range forbidden {
				if strings.HasPrefix(path, bad) {
					t.Errorf("%s imports %s", f, path)
				}
			}
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no source files checked")
	}
}
