package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// consumeRSS runs the cfbench binary's `consume --start beginning` over topic (n messages),
// interrupts it once it has gone idle (the topic drained: under 3% of a core for 2 s), and
// returns its peak RSS (VmHWM) in bytes and the rows it read.
func consumeRSS(ctx context.Context, o options, env stack, topic string) (int64, int64, error) {
	args := []string{"consume", "--brokers", env.brokers, "--topics", topic, "--start", "beginning", "--duration", "10m",
		"--token-url", env.tokenURL, "--client-id", env.clientID, "--client-secret-file", env.secretFile}
	if env.audience != "" {
		args = append(args, "--audience", env.audience)
	}
	if env.scope != "" {
		args = append(args, "--scope", env.scope)
	}
	cmd := exec.CommandContext(ctx, o.cfbench, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = os.Environ()
	if err := cmd.Start(); err != nil {
		return 0, 0, fmt.Errorf("%s consume: %w", o.cfbench, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	start := time.Now()
	var ticks []int64
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var runErr error
	var hwm int64
wait:
	for {
		select {
		case runErr = <-done:
			break wait
		case <-tick.C:
			hwm = max(hwm, vmHWM(cmd.Process.Pid))
			ticks = append(ticks, cpuTicks(cmd.Process.Pid))
			if n := len(ticks); n >= 3 && time.Since(start) > 5*time.Second && ticks[n-1]-ticks[n-3] <= 6 {
				_ = cmd.Process.Signal(os.Interrupt)
			}
		}
	}
	if hwm == 0 {
		return 0, 0, fmt.Errorf("%s consume: %v; no VmHWM read from /proc:\n%s", o.cfbench, runErr, tail(out.String(), 2000))
	}
	m := regexp.MustCompile(`rows (\d+)`).FindStringSubmatch(out.String())
	if m == nil {
		return 0, 0, fmt.Errorf("%s consume: %v; no summary in its output:\n%s", o.cfbench, runErr, tail(out.String(), 2000))
	}
	rows, _ := strconv.ParseInt(m[1], 10, 64)
	return hwm, rows, nil
}

// vmHWM returns the peak resident set size of pid in bytes (VmHWM in /proc/<pid>/status), or 0.
//
// Note: not getrusage's ru_maxrss of the child, which on Linux inherits the high-water mark of
// the parent's address space at exec (Go forks with CLONE_VM), i.e. the harness's own RSS.
func vmHWM(pid int) int64 {
	m := regexp.MustCompile(`(?m)^VmHWM:\s*(\d+) kB`).FindStringSubmatch(readFile(fmt.Sprintf("/proc/%d/status", pid)))
	if m == nil {
		return 0
	}
	kb, _ := strconv.ParseInt(m[1], 10, 64)
	return kb * 1024
}

// cpuTicks returns utime+stime of pid in clock ticks (/proc/<pid>/stat), or 0.
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return u + k
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// benchRSS is item 4: peak RSS of `cfbench consume` over the 1M topic vs the 5M topic.
func benchRSS(ctx context.Context, o options, env stack, t *table, log *slog.Logger) error {
	small, big := topicName(o.messages), topicName(o.bigN)
	if err := ensureTopic(ctx, env, small, o.messages, o.keys, log); err != nil {
		return err
	}
	if err := ensureTopic(ctx, env, big, o.bigN, o.keys, log); err != nil {
		return err
	}
	rs, nS, err := consumeRSS(ctx, o, env, small)
	if err != nil {
		return err
	}
	rb, nB, err := consumeRSS(ctx, o, env, big)
	if err != nil {
		return err
	}
	log.Info("peak RSS", "small", rs, "rows", nS, "big", rb, "rows", nB)
	growth := float64(rb) / float64(rs)
	t.add(row{item: "4", what: fmt.Sprintf("peak RSS of cfbench consume, %s vs %s msgs", human(o.bigN), human(o.messages)),
		ours: fmt.Sprintf("%.0f MB", float64(rb)/1e6), theirs: fmt.Sprintf("%.0f MB", float64(rs)/1e6), ratio: fmt.Sprintf("%.2f×", growth),
		target: "≤ 1.2×, < 200 MB", met: growth <= 1.2 && rb < 200e6 && nS == o.messages && nB == o.bigN})
	t.note("item 4: the cfbench binary's `consume --start beginning` (with consume.DefaultProperties), interrupted once idle; VmHWM from /proc/<pid>/status, sampled each second until it exits; it read %d and %d rows; both topics update the same %d keys "+
		"(the verifier keeps 64 bytes per distinct key in a table 3/8 to 3/4 full, so RSS grows with distinct keys, not messages)", nS, nB, o.keys)
	return nil
}
