package bench

import (
	"context"
	"errors"
	"time"

	"github.com/cfbench/cfbench/pgfeed"
)

// Hooks let tests inject faults at known points of a run; all are optional and run on their own
// goroutine, so a hook may block (sleep, restart a component) without stalling the run.
type Hooks struct {
	// Measuring is called once when the measurement phase starts. Its ctx ends with the run.
	Measuring func(ctx context.Context, c *Control)
	// Draining is called once when the writes have stopped and the drain starts.
	Draining func(ctx context.Context, c *Control)
}

// Control acts on a running run from a hook.
type Control struct{ r *runner }

// ErrNoFeed is returned by RestartChangefeed when the run has no in-process pgfeed.
var ErrNoFeed = errors.New("this run has no in-process pgfeed (changefeed.mode is not pgfeed)")

// StopChangefeed stops the in-process pgfeed as if its process had died: nothing in flight is
// flushed and no final position is confirmed, so the replication slot stays where the last
// standby status left it and StartChangefeed replays what came after (as duplicates).
func (c *Control) StopChangefeed() error {
	if !c.r.hasFeed() {
		return ErrNoFeed
	}
	c.r.stopFeed(pgfeed.ErrAbandoned)
	c.r.log.Warn("fault: pgfeed stopped")
	return nil
}

// StartChangefeed runs the in-process pgfeed again on the same replication slot, which resumes
// where the slot's confirmed position is (duplicates possible, loss not). A running feed is
// stopped first (cleanly): the slot takes one reader at a time.
func (c *Control) StartChangefeed() error {
	if !c.r.hasFeed() {
		return ErrNoFeed
	}
	c.r.stopFeed(nil)
	c.r.log.Warn("fault: pgfeed restarted")
	return c.r.startFeed()
}

// Elapsed returns the time since the run started.
func (c *Control) Elapsed() time.Duration { return time.Since(c.r.started) }

// callHook runs h on its own goroutine, tracked by the run's background wait group.
func (r *runner) callHook(h func(context.Context, *Control)) {
	if h == nil {
		return
	}
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		h(r.bgCtx, &Control{r: r})
	}()
}
