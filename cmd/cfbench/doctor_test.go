package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cfbench/cfbench/internal/stacktest"
)

func TestDoctorUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"doctor", "--profile", filepath.Join(t.TempDir(), "missing.yaml")}, &stdout, &stderr)
	if code := exitCode(err); code != exitUsage {
		t.Errorf("missing profile: exit %d (%v), want %d", code, err, exitUsage)
	}
}

// TestDoctorCommand runs `cfbench doctor` in-process on the local stack: exit 0 and every step
// printed when healthy; exit 1 naming the fix when the client secret is wrong.
func TestDoctorCommand(t *testing.T) {
	stacktest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if err := run(ctx, []string{"doctor", "--profile", "local"}, &stdout, &stderr); err != nil {
		t.Fatalf("doctor --profile local: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	for _, want := range []string{"PASS  kafka sasl/oauthbearer handshake", "PASS  token claims", "PASS  clock offset", " 0 failed"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}

	dir := t.TempDir()
	bad := filepath.Join(dir, "secret")
	prof := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(prof, []byte("extends: local\nidp:\n  client_secret_file: "+bad+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	err := run(ctx, []string{"doctor", "--profile", prof}, &stdout, &stderr)
	if code := exitCode(err); code != exitFailure {
		t.Fatalf("wrong secret: exit %d (%v), want %d\n%s", code, err, exitFailure, stdout.String())
	}
	if !strings.Contains(stdout.String(), "FAIL  idp token request") || !strings.Contains(stdout.String(), "fix: ") {
		t.Errorf("wrong secret: output lacks the failed step and its fix:\n%s", stdout.String())
	}
}
