// Package layers pins cfbench's package layering (DESIGN.md §2, STYLE.md "Layout"): the library
// packages never import report, bench or cmd; oauth, load, changefeed and profiles know nothing
// of Kafka; consume writes no SQL; report reads results and imports no other cfbench package.
// One test for the whole module, so a rule lives in one place.
package layers

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/cfbench/cfbench/"

const kafka = "github.com/confluentinc/confluent-kafka-go"

// forbidden lists, per package, import path prefixes it must not depend on, directly or not.
var forbidden = map[string][]string{
	"oauth":      {kafka, mod},
	"report":     {mod},
	"changefeed": {kafka, mod},
	"load":       {kafka, mod + "consume", mod + "pgfeed", mod + "oauth", mod + "report", mod + "bench", mod + "cmd", mod + "profiles"},
	"profiles":   {kafka, mod + "load", mod + "consume", mod + "pgfeed", mod + "oauth", mod + "report", mod + "bench", mod + "cmd"},
	"consume":    {"github.com/jackc/pgx", mod + "load", mod + "pgfeed", mod + "changefeed", mod + "report", mod + "bench", mod + "cmd"},
	"pgfeed":     {mod + "load", mod + "report", mod + "bench", mod + "cmd", mod + "profiles"},
	"doctor":     {mod + "report", mod + "bench", mod + "cmd"},
	"bench":      {mod + "cmd"},
}

func TestLayering(t *testing.T) {
	for pkg, bad := range forbidden {
		out, err := exec.Command("go", "list", "-deps", "-json=ImportPath", "../../"+pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		dec := json.NewDecoder(strings.NewReader(string(out)))
		for dec.More() {
			var p struct{ ImportPath string }
			if err := dec.Decode(&p); err != nil {
				t.Fatal(err)
			}
			if p.ImportPath == mod+pkg || strings.HasPrefix(p.ImportPath, mod+"internal/") {
				continue
			}
			for _, b := range bad {
				if strings.HasPrefix(p.ImportPath, b) {
					t.Errorf("%s depends on %s (forbidden: %s)", pkg, p.ImportPath, b)
				}
			}
		}
	}
}
