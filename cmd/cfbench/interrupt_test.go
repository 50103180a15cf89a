package main

import (
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

// TestRunInterruptedDuringDrain sends SIGINT to `cfbench run` while it drains. The drain is made
// long on purpose: the profile consumes only the users topic, so the writes to every other
// table stay outstanding until the 120 s drain timeout. The interrupt must cut the drain to
// the interrupt drain (5 s), write the partial result marked interrupted and exit 130.
func TestRunInterruptedDuringDrain(t *testing.T) {
	stacktest.Require(t)
	bin := buildCfbench(t)
	dir := t.TempDir()
	profile := filepath.Join(dir, "drain.yaml")
	if err := os.WriteFile(profile, []byte("extends: local\nkafka:\n  topics: [users]\nworkload:\n  drain_timeout: 120s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", "--profile", profile, "--duration", "5s", "--warmup", "1s",
		"--rate", "100", "--out", out)
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for !strings.Contains(stdout.String(), "-- drain --") {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("no drain within 90 s\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
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
	// 5 s interrupt drain plus teardown; without the cut it would wait out the 120 s timeout.
	if took > 30*time.Second {
		t.Errorf("exiting after SIGINT during the drain took %v", took)
	}
	res, err := report.ReadFile(filepath.Join(out, "result.json"))
	if err != nil {
		t.Fatalf("partial result: %v", err)
	}
	if !res.Run.Interrupted {
		t.Error("result not marked interrupted")
	}
	if res.Delivery.Written == 0 || res.Delivery.Received == 0 {
		t.Errorf("partial result holds no measurement: %+v", res.Delivery)
	}
	if res.Delivery.Missing == 0 {
		t.Errorf("missing = 0: the writes to unconsumed topics should be outstanding when the drain is cut")
	}
	t.Logf("exit 130 %v after SIGINT; delivery %+v", took.Round(time.Millisecond), res.Delivery)
}
