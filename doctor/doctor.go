package doctor

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/cfbench/cfbench/profiles"
)

// Status is the outcome of one Step.
type Status int

// Step outcomes. Only Fail makes Report.OK false.
const (
	Pass Status = iota // the check passed
	Warn               // the check passed with a caveat, or could not be made with certainty
	Fail               // the check failed: a run would fail or measure nonsense
	Skip               // the check does not apply, or an earlier failure makes it pointless
)

// String returns PASS, WARN, FAIL or SKIP.
func (s Status) String() string {
	switch s {
	case Pass:
		return "PASS"
	case Warn:
		return "WARN"
	case Fail:
		return "FAIL"
	case Skip:
		return "SKIP"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Step is one check's outcome. No field ever holds a secret or a token.
type Step struct {
	Name   string        // what was checked, e.g. "kafka tcp 127.0.0.1:29093"
	Status Status        // outcome
	Detail string        // what was found (one or more lines)
	Fix    string        // the likely fix when Status is Fail or Warn; "" otherwise
	Took   time.Duration // how long the check took
}

// Report is the list of steps in the order they ran.
type Report struct {
	Steps []Step
}

// OK reports whether no step failed.
func (r Report) OK() bool {
	for _, s := range r.Steps {
		if s.Status == Fail {
			return false
		}
	}
	return true
}

// Counts returns how many steps ended in each status.
func (r Report) Counts() map[Status]int {
	m := map[Status]int{}
	for _, s := range r.Steps {
		m[s.Status]++
	}
	return m
}

// Find returns the first step whose name starts with prefix.
func (r Report) Find(prefix string) (Step, bool) {
	for _, s := range r.Steps {
		if strings.HasPrefix(s.Name, prefix) {
			return s, true
		}
	}
	return Step{}, false
}

// WriteStep writes one step for humans: "PASS  name  (took)", the detail lines indented, and
// "fix: …" when there is one.
func WriteStep(w io.Writer, s Step) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %s", s.Status, s.Name)
	if s.Took > 0 {
		fmt.Fprintf(&b, "  (%s)", roundDuration(s.Took))
	}
	b.WriteByte('\n')
	for _, line := range strings.Split(strings.TrimRight(s.Detail, "\n"), "\n") {
		if line != "" {
			b.WriteString("      " + line + "\n")
		}
	}
	if s.Fix != "" {
		for i, line := range strings.Split(strings.TrimRight(s.Fix, "\n"), "\n") {
			if i == 0 {
				b.WriteString("      fix: " + line + "\n")
			} else {
				b.WriteString("           " + line + "\n")
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// Options configure Run. Profile is required.
type Options struct {
	Profile *profiles.Profile
	// StepTimeout bounds each network step (DNS+TCP, token request, SASL handshake, database
	// connect); default 10s.
	StepTimeout time.Duration
	// ClockSamples is the number of round trips of the clock-offset probe; default the
	// profile's measure.clock_samples.
	ClockSamples int
	// OnStep, when set, is called with each step as soon as it finishes (live output), on the
	// goroutine that called Run.
	OnStep func(Step)
	// Log receives diagnostics (librdkafka's log lines); nil discards them.
	Log *slog.Logger
}

// Run runs every check of o.Profile in order and returns the report. A failed step never stops
// the rest, except steps that need its result (no token: no SASL handshake), which are
// skipped with the reason. Run returns an error only for bad options or a cancelled ctx.
func Run(ctx context.Context, o Options) (Report, error) {
	if o.Profile == nil {
		return Report{}, fmt.Errorf("doctor: no profile")
	}
	if o.StepTimeout <= 0 {
		o.StepTimeout = 10 * time.Second
	}
	if o.ClockSamples <= 0 {
		o.ClockSamples = o.Profile.Measure.ClockSamples
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	d := &run{o: o, p: o.Profile}
	reachable := d.checkBrokers(ctx)
	tok := d.checkToken(ctx)
	d.checkKafka(ctx, tok, reachable)
	d.checkSinkToken(ctx)
	d.checkDatabase(ctx)
	return d.rep, ctx.Err()
}

// run is one doctor run's state; steps append to rep in order.
type run struct {
	o   Options
	p   *profiles.Profile
	rep Report
}

func (d *run) add(s Step) {
	d.rep.Steps = append(d.rep.Steps, s)
	if d.o.OnStep != nil {
		d.o.OnStep(s)
	}
}

// timed runs f and stamps the step it returns with its duration.
func (d *run) timed(f func() Step) {
	start := time.Now()
	s := f()
	s.Took = time.Since(start)
	d.add(s)
}
