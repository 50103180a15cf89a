package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cfbench/cfbench/internal/stacktest"
	"github.com/jackc/pgx/v5"
)

func TestLoadUsageErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"init", "--db", "postgres://u:hunter2@127.0.0.1:5432/x"}, "holds a password"},
		{[]string{"load", "--db", "host=127.0.0.1 password=hunter2"}, "holds a password"},
		{[]string{"init", "--db", "postgres://u@127.0.0.1/x", "--db-url-file", file}, "give one of them"},
		{[]string{"init", "--db-url-file", file}, "is empty"},
		{[]string{"load", "--db", "postgres://u@127.0.0.1/x", "--mix", "flyDrone=1"}, `--mix: unknown op "flyDrone"`},
		{[]string{"load", "--db", "postgres://u@127.0.0.1/x", "--arrivals", "bursty"}, "--arrivals"},
		{[]string{"load", "--db", "postgres://u@127.0.0.1/x", "--concurrency", "0"}, "--concurrency 0"},
		{[]string{"load", "--db", "postgres://u@127.0.0.1/x", "--ramp", "5s"}, "--ramp needs --rate"},
	}
	for _, tt := range tests {
		t.Setenv(dbURLEnv, "")
		checkUsageError(t, tt.args, tt.want, "hunter2")
	}
}

func TestHasPassword(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"postgres://cfbench@127.0.0.1:25432/cfbench?sslmode=disable", false},
		{"postgresql://root:pw@host:26257/movr", true},
		{"postgres://root@host/movr?password=pw", true},
		{"host=127.0.0.1 user=x", false},
		{"host=127.0.0.1 password=x", true},
	}
	for _, tt := range tests {
		if got := hasPassword(tt.in); got != tt.want {
			t.Errorf("hasPassword(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestInitAndLoadOnPostgres runs `cfbench init` twice and a short `cfbench load` in a schema of
// its own on the local PostgreSQL.
func TestInitAndLoadOnPostgres(t *testing.T) {
	st := stacktest.Require(t)
	ctx := context.Background()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "cmd_load_test_" + hex.EncodeToString(b[:])
	admin, err := pgx.Connect(ctx, st.PGURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
		admin.Close(context.Background())
	})
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	sep := "?"
	if strings.Contains(st.PGURL, "?") {
		sep = "&"
	}
	t.Setenv(dbURLEnv, st.PGURL+sep+"search_path="+schema)

	for i := range 2 {
		var out, errb bytes.Buffer
		if err := run(ctx, []string{"init", "--users-per-city", "3", "--vehicles-per-city", "2", "--promo-codes", "10"}, &out, &errb); err != nil {
			t.Fatalf("init #%d: %v\n%s", i+1, err, errb.String())
		}
		if !strings.Contains(out.String(), "PostgreSQL: movr schema ready") || !strings.Contains(out.String(), "users                              27 rows") {
			t.Fatalf("init #%d output:\n%s", i+1, out.String())
		}
	}
	var out, errb bytes.Buffer
	if err := run(ctx, []string{"load", "--rate", "400", "--duration", "1500ms", "--concurrency", "2"}, &out, &errb); err != nil {
		t.Fatalf("load: %v\n%s", err, errb.String())
	}
	s := out.String()
	for _, want := range []string{
		"_elapsed___errors__ops/sec(inst)___ops/sec(cum)__p50(ms)__p95(ms)__p99(ms)_pMax(ms)",
		"__total", "__result", "__service", " addUser\n", " startRide\n", "rate: intended 400.0 ops/s", "schedule lag (ms)",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("load output lacks %q:\n%s", want, s)
		}
	}
}
