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
	"syscall"
	"time"
)

// consumeRSS runs the cfbench binary's `consume` over the whole of topic (n messages) and
// returns its peak RSS (getrusage ru_maxrss, i.e. VmHWM) in bytes and the rows it read.
func consumeRSS(ctx context.Context, o options, env stack, topic string, n int64, rate float64) (int64, int64, error) {
	d := time.Duration(float64(n)/rate*1.5*float64(time.Second)) + 10*time.Second
	args := []string{"consume", "--brokers", env.brokers, "--topics", topic, "--start", "beginning", "--duration", d.String(),
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
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("%s consume: %w\n%s", o.cfbench, err, tail(out.String(), 2000))
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, 0, fmt.Errorf("no rusage for %s", o.cfbench)
	}
	m := regexp.MustCompile(`rows (\d+)`).FindStringSubmatch(out.String())
	if m == nil {
		return 0, 0, fmt.Errorf("no summary in the output of %s consume:\n%s", o.cfbench, tail(out.String(), 2000))
	}
	rows, _ := strconv.ParseInt(m[1], 10, 64)
	return ru.Maxrss * 1024, rows, nil
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
	const rate = 150_000 // msgs/s assumed for the --duration; consume stops by time
	rs, nS, err := consumeRSS(ctx, o, env, small, o.messages, rate)
	if err != nil {
		return err
	}
	rb, nB, err := consumeRSS(ctx, o, env, big, o.bigN, rate)
	if err != nil {
		return err
	}
	log.Info("peak RSS", "small", rs, "rows", nS, "big", rb, "rows", nB)
	growth := float64(rb) / float64(rs)
	t.add(row{item: "4", what: fmt.Sprintf("peak RSS of cfbench consume, %s vs %s msgs", human(o.bigN), human(o.messages)),
		ours: fmt.Sprintf("%.0f MB", float64(rb)/1e6), theirs: fmt.Sprintf("%.0f MB", float64(rs)/1e6), ratio: fmt.Sprintf("%.2f×", growth),
		target: "≤ 1.2×, < 200 MB", met: growth <= 1.2 && rb < 200e6 && nS == o.messages && nB == o.bigN})
	t.note("item 4: the cfbench binary's `consume --start beginning`, ru_maxrss (VmHWM); it read %d and %d rows; both topics update the same %d keys "+
		"(the verifier keeps 88 bytes per distinct key, so RSS grows with distinct keys, not messages)", nS, nB, o.keys)
	return nil
}
