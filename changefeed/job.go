package changefeed

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Querier is what job control needs from a database handle; *pgx.Conn, *pgxpool.Pool and pgx.Tx
// satisfy it.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Job status values CockroachDB reports in SHOW CHANGEFEED JOB's status column.
const (
	StatusPending   = "pending"
	StatusRunning   = "running"
	StatusPaused    = "paused"
	StatusFailed    = "failed"
	StatusCanceled  = "canceled"
	StatusSucceeded = "succeeded"
)

// HLC is a CockroachDB hybrid logical clock timestamp: wall time in nanoseconds since the Unix
// epoch and a logical counter. CockroachDB prints it as a decimal "<wall>.<logical, 10 digits>".
type HLC struct {
	WallTime int64
	Logical  int32
}

// ParseHLC parses CockroachDB's decimal form, "1681240149199419939.0000000000". The fraction is a
// decimal fraction of 10 digits: a shorter one is right-padded ("5.1" has logical 1000000000), a
// missing one is 0.
func ParseHLC(s string) (HLC, error) {
	wall, logical, hasDot := strings.Cut(s, ".")
	w, err := strconv.ParseInt(wall, 10, 64)
	if err != nil || w < 0 {
		return HLC{}, fmt.Errorf("parsing HLC timestamp %q: want <wall ns>.<logical>", s)
	}
	var l int64
	if hasDot && logical != "" {
		if len(logical) > 10 {
			return HLC{}, fmt.Errorf("parsing HLC timestamp %q: logical part longer than 10 digits", s)
		}
		// A decimal: ".1" is logical 1000000000, as CockroachDB's DecimalToHLC reads it.
		logical += strings.Repeat("0", 10-len(logical))
		l, err = strconv.ParseInt(logical, 10, 64)
		if err != nil || l < 0 || l > math.MaxInt32 {
			return HLC{}, fmt.Errorf("parsing HLC timestamp %q: bad logical part", s)
		}
	}
	return HLC{WallTime: w, Logical: int32(l)}, nil
}

// String formats h as CockroachDB does: "<wall>.<logical, 10 digits>".
func (h HLC) String() string { return fmt.Sprintf("%d.%010d", h.WallTime, h.Logical) }

// Time returns the wall time part.
func (h HLC) Time() time.Time { return time.Unix(0, h.WallTime) }

// IsZero reports whether h is the zero timestamp (no high-water mark yet).
func (h HLC) IsZero() bool { return h == HLC{} }

// JobStatus is one row of SHOW CHANGEFEED JOB.
type JobStatus struct {
	JobID          int64
	Status         string   // StatusRunning, StatusFailed, …
	RunningStatus  string   // free text, e.g. "running: resolved=1681…"
	HighWater      HLC      // zero until the changefeed has a high-water mark
	Error          string   // set when the job failed
	SinkURI        string   // as CockroachDB shows it (secrets already redacted by CockroachDB)
	Topics         []string // the Kafka topics the changefeed emits to
	FullTableNames []string // db.schema.table of each target
	Description    string   // the (redacted) CREATE CHANGEFEED statement
}

// Create executes CREATE CHANGEFEED for tables into sink with opts and returns the new job's id.
// It returns once CockroachDB has accepted the statement; use WaitRunning to wait for the job.
func Create(ctx context.Context, q Querier, tables []string, sink SinkURI, opts Options) (int64, error) {
	stmt, err := CreateChangefeed(tables, sink, opts)
	if err != nil {
		return 0, err
	}
	var id int64
	if err := q.QueryRow(ctx, stmt.SQL).Scan(&id); err != nil {
		return 0, fmt.Errorf("creating changefeed (%s): %w", stmt.Display, err)
	}
	return id, nil
}

// CreateConnection executes CREATE EXTERNAL CONNECTION name AS 'uri' and returns the external://
// URI that refers to it.
func CreateConnection(ctx context.Context, q Querier, name string, sink SinkURI) (SinkURI, error) {
	stmt, err := CreateExternalConnection(name, sink)
	if err != nil {
		return SinkURI{}, err
	}
	if _, err := q.Exec(ctx, stmt.SQL); err != nil {
		return SinkURI{}, fmt.Errorf("creating external connection (%s): %w", stmt.Display, err)
	}
	return SinkURI{Scheme: SchemeExternal, ExternalConnection: name}, nil
}

// JobInfo reads the changefeed job's row from SHOW CHANGEFEED JOB. It fails when the job does not
// exist or is not a changefeed.
func JobInfo(ctx context.Context, q Querier, jobID int64) (JobStatus, error) {
	stmt := showChangefeedJob(jobID)
	var js JobStatus
	var hw, topics, tables string
	err := q.QueryRow(ctx, stmt.SQL).Scan(&js.JobID, &js.Status, &js.RunningStatus, &hw, &js.Error,
		&js.SinkURI, &topics, &tables, &js.Description)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return JobStatus{}, fmt.Errorf("changefeed job %d not found", jobID)
		}
		return JobStatus{}, fmt.Errorf("reading changefeed job %d: %w", jobID, err)
	}
	if hw != "" {
		if js.HighWater, err = ParseHLC(hw); err != nil {
			return JobStatus{}, fmt.Errorf("changefeed job %d high-water: %w", jobID, err)
		}
	}
	js.Topics = splitList(topics)
	js.FullTableNames = splitList(tables)
	return js, nil
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// terminal reports whether a job in this status will never run again.
func terminal(status string) bool {
	switch status {
	case StatusFailed, StatusCanceled, StatusSucceeded, "reverting", "cancel-requested", "revert-failed":
		return true
	}
	return false
}

// WaitRunning polls the job every poll (default 250ms) until its status is running, and returns
// that row. It fails when the job reaches a terminal status (with CockroachDB's error) or is
// paused, or when ctx ends.
func WaitRunning(ctx context.Context, q Querier, jobID int64, poll time.Duration) (JobStatus, error) {
	return waitFor(ctx, q, jobID, poll, func(js JobStatus) bool { return js.Status == StatusRunning })
}

// WaitHighWater polls the running job until its high-water mark is at or after t (use it to wait
// for the initial scan, or for the feed to catch up with a write), and returns that row.
func WaitHighWater(ctx context.Context, q Querier, jobID int64, t time.Time, poll time.Duration) (JobStatus, error) {
	return waitFor(ctx, q, jobID, poll, func(js JobStatus) bool {
		return js.Status == StatusRunning && !js.HighWater.IsZero() && !js.HighWater.Time().Before(t)
	})
}

func waitFor(ctx context.Context, q Querier, jobID int64, poll time.Duration, done func(JobStatus) bool) (JobStatus, error) {
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		js, err := JobInfo(ctx, q, jobID)
		if err != nil {
			return JobStatus{}, err
		}
		if done(js) {
			return js, nil
		}
		switch {
		case terminal(js.Status):
			msg := fmt.Sprintf("changefeed job %d is %s", jobID, js.Status)
			if js.Error != "" {
				msg += ": " + js.Error
			}
			return js, errors.New(msg)
		case js.Status == StatusPaused:
			msg := fmt.Sprintf("changefeed job %d is paused", jobID)
			if js.RunningStatus != "" {
				msg += " (" + js.RunningStatus + ")"
			}
			return js, errors.New(msg)
		}
		select {
		case <-ctx.Done():
			return js, fmt.Errorf("waiting for changefeed job %d (last status %s): %w", jobID, js.Status, ctx.Err())
		case <-t.C:
		}
	}
}

// Cancel executes CANCEL JOB for the changefeed. Canceling a job that is already canceled is not
// an error.
func Cancel(ctx context.Context, q Querier, jobID int64) error {
	stmt := CancelJob(jobID)
	if _, err := q.Exec(ctx, stmt.SQL); err != nil {
		// CockroachDB refuses to cancel a job that already ended ("job with state … cannot be
		// requested to be canceled"): that is the state we want.
		if js, infoErr := JobInfo(ctx, q, jobID); infoErr == nil && terminal(js.Status) {
			return nil
		}
		return fmt.Errorf("canceling changefeed job %d: %w", jobID, err)
	}
	return nil
}

// Attach checks that jobID is a running changefeed and returns its row: its topics are the ones a
// consumer should read. The sink URI CockroachDB reports is redacted, so the consumer brings its
// own credentials.
func Attach(ctx context.Context, q Querier, jobID int64) (JobStatus, error) {
	js, err := JobInfo(ctx, q, jobID)
	if err != nil {
		return JobStatus{}, err
	}
	if js.Status != StatusRunning {
		msg := fmt.Sprintf("changefeed job %d is %s, not running", jobID, js.Status)
		if js.Error != "" {
			msg += ": " + js.Error
		}
		return js, errors.New(msg)
	}
	if len(js.Topics) == 0 {
		return js, fmt.Errorf("changefeed job %d reports no topics (is its sink Kafka?)", jobID)
	}
	return js, nil
}

// HighWater returns the changefeed's current high-water mark (zero before the first checkpoint):
// every change at or below it has been emitted to the sink.
func HighWater(ctx context.Context, q Querier, jobID int64) (HLC, error) {
	js, err := JobInfo(ctx, q, jobID)
	if err != nil {
		return HLC{}, err
	}
	return js.HighWater, nil
}
