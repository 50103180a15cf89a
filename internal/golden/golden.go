// Package golden compares test output with golden files: the one -update flag and the one
// comparison every package's golden tests use.
//
//	go test ./report -run TestText -update   # rewrite the golden files the test checks
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files the tests check (testdata/)")

// Check compares got with the file at path. With -update it writes got there instead (creating
// the directory). When they differ, got is written beside it as path+".got" and the test is
// marked failed; Check reports whether they matched. A missing file stops the test.
func Check(t testing.TB, path string, got []byte) bool {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		_ = os.Remove(path + ".got")
		return true
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run '%s' -update creates it)", err, t.Name())
	}
	if bytes.Equal(got, want) {
		_ = os.Remove(path + ".got")
		return true
	}
	_ = os.WriteFile(path+".got", got, 0o644)
	show := ""
	if len(got) <= 2000 {
		show = "\n" + string(got)
	}
	t.Errorf("output differs from %s; got written to %s.got (diff them; go test -update accepts it)%s", path, path, show)
	return false
}
