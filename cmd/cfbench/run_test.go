package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cfbench/cfbench/internal/stacktest"
	"github.com/cfbench/cfbench/report"
)

// buildCfbench builds the cfbench binary into the test's temporary directory.
func buildCfbench(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cfbench")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// syncBuffer is a bytes.Buffer safe for a writer and a concurrent reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// interruptRun starts `cfbench run args… --out out`, waits until its live output shows marker
// (a phase line such as "-- measure --"), waits settle more, sends SIGINT and checks the exit
// code is 130 within bound. It returns the partial result and how long the exit took.
func interruptRun(t *testing.T, out, marker string, settle, bound time.Duration, args ...string) *report.Result {
	t.Helper()
	bin := buildCfbench(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(append([]string{"run"}, args...), "--out", out)...)
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for !strings.Contains(stdout.String(), marker) {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("no %q within 90 s\nstdout:\n%s\nstderr:\n%s", marker, stdout.String(), stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(settle)
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
	if took > bound {
		t.Errorf("exiting after SIGINT took %v, want ≤ %v", took, bound)
	}
	res, err := report.ReadFile(filepath.Join(out, "result.json"))
	if err != nil {
		t.Fatalf("partial result: %v", err)
	}
	if !res.Run.Interrupted {
		t.Error("result not marked interrupted")
	}
	if _, err := os.Stat(filepath.Join(out, "run.log")); err != nil {
		t.Errorf("run.log: %v", err)
	}
	t.Logf("exit 130 %v after SIGINT; delivery %+v", took.Round(time.Millisecond), res.Delivery)
	return res
}

// TestRunInterrupted: SIGINT during the measurement writes a partial result marked interrupted
// and exits 130, promptly.
func TestRunInterrupted(t *testing.T) {
	stacktest.Require(t)
	res := interruptRun(t, t.TempDir(), "-- measure --", 3*time.Second, 30*time.Second,
		"--profile", "local", "--duration", "60s", "--warmup", "2s", "--rate", "100")
	if res.Delivery.Written == 0 || res.Metrics[report.MetricE2ECommit].Count == 0 {
		t.Errorf("partial result holds no measurement: written %d, e2e count %d", res.Delivery.Written, res.Metrics[report.MetricE2ECommit].Count)
	}
}

// TestRunInterruptedDuringDrain sends SIGINT while the run drains. The drain is made long on
// purpose: the profile consumes only the users topic, so the writes to every other table stay
// outstanding until the 120 s drain timeout. The interrupt must cut the drain to 5 s, write the
// partial result marked interrupted and exit 130.
func TestRunInterruptedDuringDrain(t *testing.T) {
	stacktest.Require(t)
	dir := t.TempDir()
	profile := filepath.Join(dir, "drain.yaml")
	if err := os.WriteFile(profile, []byte("extends: local\nkafka:\n  topics: [users]\nworkload:\n  drain_timeout: 120s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// 5 s interrupt drain plus teardown; without the cut it would wait out the 120 s timeout.
	res := interruptRun(t, filepath.Join(dir, "out"), "-- drain --", time.Second, 30*time.Second,
		"--profile", profile, "--duration", "5s", "--warmup", "1s", "--rate", "100")
	if res.Delivery.Written == 0 || res.Delivery.Received == 0 {
		t.Errorf("partial result holds no measurement: %+v", res.Delivery)
	}
	if res.Delivery.Missing == 0 {
		t.Errorf("missing = 0: the writes to unconsumed topics should be outstanding when the drain is cut")
	}
}
