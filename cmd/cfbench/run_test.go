package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cfbench/cfbench/internal/stacktest"
	"github.com/cfbench/cfbench/report"
)

// buildCfbench builds the cfbench binary once per test binary run.
func buildCfbench(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cfbench")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestRunInterrupted sends SIGINT to `cfbench run` during the measurement: it must write a
// partial result marked interrupted and exit 130, promptly.
func TestRunInterrupted(t *testing.T) {
	stacktest.Require(t)
	bin := buildCfbench(t)
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", "--profile", "local", "--duration", "60s", "--warmup", "2s",
		"--rate", "100", "--out", out)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the measurement has begun, then interrupt.
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(stdout.String(), "measure") {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("no measurement within 60 s\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	took := time.Since(sent)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Fatalf("exit: %v, want code %d\nstdout:\n%s\nstderr:\n%s", err, exitInterrupted, stdout.String(), stderr.String())
	}
	if took > 30*time.Second {
		t.Errorf("exiting after SIGINT took %v", took)
	}
	res, err := report.ReadFile(filepath.Join(out, "result.json"))
	if err != nil {
		t.Fatalf("partial result: %v", err)
	}
	if !res.Run.Interrupted {
		t.Error("result not marked interrupted")
	}
	if res.Delivery.Written == 0 || res.Metrics[report.MetricE2ECommit].Count == 0 {
		t.Errorf("partial result holds no measurement: written %d, e2e count %d", res.Delivery.Written, res.Metrics[report.MetricE2ECommit].Count)
	}
	if _, err := os.Stat(filepath.Join(out, "run.log")); err != nil {
		t.Errorf("run.log: %v", err)
	}
}
