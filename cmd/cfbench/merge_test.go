package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cfbench/cfbench/report"
)

// TestMergeGroupWorkers: merge reads each group worker's sidecar next to its result.json and
// settles delivery across workers; a write no worker received fails the merge (exit 3, the
// merged result written), a missing sidecar is named with what to do.
func TestMergeGroupWorkers(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	// worker writes one result and sidecar; acked: its keys the other worker must receive;
	// received: the keys it received for the other.
	worker := func(i int, acked, received []string) string {
		sub := filepath.Join(dir, "w"+string(rune('0'+i)))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		sw, err := report.CreateSidecar(filepath.Join(sub, report.SidecarName), "test")
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range acked {
			sw.Acked("users", []byte(k), at)
		}
		for _, k := range received {
			sw.Received("users", []byte(k), at.Add(20*time.Millisecond))
		}
		if err := sw.Close(); err != nil {
			t.Fatal(err)
		}
		r := &report.Result{Schema: report.Schema, Run: report.Run{Profile: "local", Worker: string(rune('0'+i)) + "/2", Host: "h",
			Started: at.Add(-time.Second), Ended: at.Add(time.Second), MeasuredFrom: at, Group: "cfbench-r1", RunID: "r1"},
			Delivery: report.Delivery{Written: 10 + int64(len(acked)), Received: 10, Unreconciled: int64(len(acked))}}
		path := filepath.Join(sub, "result.json")
		if err := r.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		return path
	}
	w1 := worker(1, []string{`["paris", "a"]`, `["paris", "b"]`}, []string{`["rome", "c"]`})
	w2 := worker(2, []string{`["rome", "c"]`}, []string{`["paris", "a"]`})
	out := filepath.Join(dir, "merged.json")
	var stdout bytes.Buffer
	err := run(context.Background(), []string{"merge", "-o", out, w1, w2}, &stdout, &bytes.Buffer{})
	if err == nil || exitCode(err) != exitDelivery || !strings.Contains(err.Error(), "1 missing") {
		t.Fatalf("merge with a write no worker received: %v (exit %d), want exit %d naming 1 missing", err, exitCode(err), exitDelivery)
	}
	if !strings.Contains(stdout.String(), "23 written, 22 received (2 across workers), 1 missing") {
		t.Errorf("summary: %s", stdout.String())
	}
	m, err := report.ReadFile(out)
	if err != nil {
		t.Fatalf("the merged result was not written: %v", err)
	}
	if d := m.Delivery; d.Missing != 1 || d.CrossWorker != 2 || d.Unreconciled != 0 {
		t.Errorf("merged delivery %+v", d)
	}

	if err := os.Remove(filepath.Join(filepath.Dir(w2), report.SidecarName)); err != nil {
		t.Fatal(err)
	}
	err = run(context.Background(), []string{"merge", "-o", out, w1, w2}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "copy each worker's "+report.SidecarName) {
		t.Fatalf("merge without a sidecar: %v, want what to do", err)
	}
}
