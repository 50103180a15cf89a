package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cfbench/cfbench/internal/stacktest"
)

// secretForms returns the ways a secret could leak: as is, base64 (StdEncoding, as the sink URI
// carries it), that base64 query-escaped (as in a URI), URL-safe base64, and the HTTP basic-auth
// credentials "id:secret" in base64.
func secretForms(name, id, secret string) map[string]string {
	b64 := base64.StdEncoding.EncodeToString([]byte(secret))
	forms := map[string]string{
		name:                         secret,
		name + " base64":             b64,
		name + " base64 url-escaped": url.QueryEscape(b64),
		name + " base64url":          base64.RawURLEncoding.EncodeToString([]byte(secret)),
	}
	if id != "" {
		forms[name+" basic auth"] = base64.StdEncoding.EncodeToString([]byte(id + ":" + secret))
	}
	return forms
}

// TestSecretsNeverLeak runs a full short local run with the stack's known secrets (both OAuth
// client secrets and the PostgreSQL password) at debug log level, renders its result in every
// report format, and asserts that no secret appears in any form in stdout, stderr, run.log,
// result.json, the reports, or the process's command line (sampled while it runs).
func TestSecretsNeverLeak(t *testing.T) {
	st := stacktest.Require(t)
	if st.StateDir == "" {
		t.Fatal("CFBENCH_STATE_DIR is empty: eval \"$(deploy/local/stack env)\" first")
	}
	secrets := map[string]string{}
	for name, f := range map[string]struct{ id, file string }{
		"consumer client secret": {st.ClientID, st.ClientSecretFile},
		"producer client secret": {st.ProducerClientID, st.ProducerClientSecretFile},
		"PostgreSQL password":    {"", filepath.Join(st.StateDir, "secrets", "pg-password")},
	} {
		s := stacktest.Secret(t, f.file)
		if len(s) < 8 {
			t.Fatalf("%s from %s is %d bytes: too short to search for", name, f.file, len(s))
		}
		for k, v := range secretForms(name, f.id, s) {
			secrets[k] = v
		}
	}

	bin := buildCfbench(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "run")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", "--profile", "local", "--duration", "6s", "--warmup", "1s",
		"--rate", "50", "--log-level", "debug", "--max-token-lifetime", "3s", "--out", out)
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Sample the command line while the process runs.
	var cmdlines []string
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		path := fmt.Sprintf("/proc/%d/cmdline", cmd.Process.Pid)
		for {
			if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
				cmdlines = append(cmdlines, strings.ReplaceAll(string(b), "\x00", " "))
			}
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
	err := cmd.Wait()
	close(done)
	wg.Wait()
	if err != nil {
		t.Fatalf("cfbench run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	if len(cmdlines) < 5 {
		t.Errorf("sampled the command line %d times, want ≥ 5 over the run", len(cmdlines))
	}

	// Every report format, to stdout and to files.
	result := filepath.Join(out, "result.json")
	reports := filepath.Join(dir, "reports")
	texts := map[string]string{"stdout of run": stdout.String(), "stderr of run": stderr.String()}
	for i, c := range cmdlines {
		texts[fmt.Sprintf("command line sample %d", i)] = c
	}
	for _, format := range []string{"text", "hgrm", "hlog", "csv", "html"} {
		for _, args := range [][]string{
			{"report", "--format", format, result},
			{"report", "--format", format, "--out", reports, result},
		} {
			var o, e syncBuffer
			c := exec.CommandContext(ctx, bin, args...)
			c.Stdout, c.Stderr = &o, &e
			if err := c.Run(); err != nil {
				t.Fatalf("cfbench %s: %v\n%s", strings.Join(args, " "), err, e.String())
			}
			texts["stdout of cfbench "+strings.Join(args, " ")] = o.String()
			texts["stderr of cfbench "+strings.Join(args, " ")] = e.String()
		}
	}
	// Every file the run and the reports wrote: run.log, result.json, the reports.
	files := 0
	for _, root := range []string{out, reports} {
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			texts[path] = string(b)
			files++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"run.log", "result.json", ".html", ".csv", ".hlog", ".hgrm", ".txt"} {
		found := false
		for name := range texts {
			if strings.HasSuffix(name, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s file was checked", want)
		}
	}
	if log := texts[filepath.Join(out, "run.log")]; !strings.Contains(log, "level=DEBUG") {
		t.Errorf("run.log has no debug lines: the test needs the most verbose log")
	}

	var checked int
	for where, text := range texts {
		checked += len(text)
		for form, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Errorf("the %s appears in %s", form, where)
			}
		}
	}
	t.Logf("checked %d secret forms against %d texts (%d files, %d command-line samples), %d bytes",
		len(secrets), len(texts), files, len(cmdlines), checked)
}
