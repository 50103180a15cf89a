package changefeed

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// fakeRow scans scripted values; it plays CockroachDB in job-control tests (no CockroachDB can
// run here, see DESIGN.md §5).
type fakeRow struct {
	vals []any
	err  error
}

func (r fakeRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	if len(dest) != len(r.vals) {
		return fmt.Errorf("fake row: %d destinations for %d values", len(dest), len(r.vals))
	}
	for i, d := range dest {
		switch d := d.(type) {
		case *int64:
			*d = r.vals[i].(int64)
		case *string:
			*d = r.vals[i].(string)
		case *time.Time:
			*d = r.vals[i].(time.Time)
		default:
			return fmt.Errorf("fake row: cannot scan into %T", d)
		}
	}
	return nil
}

// fakeDB records statements and answers QueryRow from a script of rows.
type fakeDB struct {
	execs   []string
	queries []string
	rows    []fakeRow // answered in order; the last one repeats
	execErr error
}

func (f *fakeDB) Exec(_ context.Context, sql string, _ ...any) (pgconn.CommandTag, error) {
	f.execs = append(f.execs, sql)
	return pgconn.CommandTag{}, f.execErr
}

func (f *fakeDB) QueryRow(_ context.Context, sql string, _ ...any) pgx.Row {
	f.queries = append(f.queries, sql)
	r := f.rows[0]
	if len(f.rows) > 1 {
		f.rows = f.rows[1:]
	}
	return r
}

func jobRow(status, hw, errMsg string) fakeRow {
	return fakeRow{vals: []any{int64(42), status, "", hw, errMsg, "kafka://h:1?sasl_client_secret=redacted", "cfbench_vehicles,cfbench_rides",
		"movr.public.vehicles,movr.public.rides", "CREATE CHANGEFEED …"}}
}

func TestCreateAndWait(t *testing.T) {
	ctx := context.Background()
	db := &fakeDB{rows: []fakeRow{{vals: []any{int64(42)}}}}
	id, err := Create(ctx, db, []string{"vehicles"}, testSink(t), Options{Updated: true})
	if err != nil || id != 42 {
		t.Fatalf("Create = %d, %v", id, err)
	}
	if !strings.HasPrefix(db.queries[0], "CREATE CHANGEFEED FOR TABLE vehicles INTO 'kafka://") || !strings.HasSuffix(db.queries[0], " WITH updated") {
		t.Fatalf("Create ran %s", db.queries[0])
	}

	db = &fakeDB{rows: []fakeRow{jobRow("pending", "", ""), jobRow("running", "", ""), jobRow("running", "1681240149199419939.0000000002", "")}}
	js, err := WaitRunning(ctx, db, 42, time.Millisecond)
	if err != nil || js.Status != StatusRunning || len(db.queries) != 2 {
		t.Fatalf("WaitRunning = %+v, %v after %d polls", js, err, len(db.queries))
	}
	if !strings.Contains(db.queries[0], "FROM [SHOW CHANGEFEED JOB 42]") {
		t.Fatalf("polled with %s", db.queries[0])
	}
	js, err = WaitHighWater(ctx, db, 42, time.Unix(0, 1681240149199419939), time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	want := JobStatus{JobID: 42, Status: "running", HighWater: HLC{1681240149199419939, 2}, SinkURI: "kafka://h:1?sasl_client_secret=redacted",
		Topics: []string{"cfbench_vehicles", "cfbench_rides"}, FullTableNames: []string{"movr.public.vehicles", "movr.public.rides"},
		Description: "CREATE CHANGEFEED …"}
	if !reflect.DeepEqual(js, want) {
		t.Fatalf("WaitHighWater = %+v\nwant %+v", js, want)
	}
}

func TestWaitRunningFailures(t *testing.T) {
	ctx := context.Background()
	db := &fakeDB{rows: []fakeRow{jobRow("pending", "", ""), jobRow("failed", "", "connecting to kafka: 127.0.0.1:29093: client has run out of available brokers")}}
	_, err := WaitRunning(ctx, db, 42, time.Millisecond)
	if err == nil || err.Error() != "changefeed job 42 is failed: connecting to kafka: 127.0.0.1:29093: client has run out of available brokers" {
		t.Fatalf("failed job: %v", err)
	}
	db = &fakeDB{rows: []fakeRow{jobRow("paused", "", "")}}
	if _, err := WaitRunning(ctx, db, 42, time.Millisecond); err == nil || !strings.Contains(err.Error(), "is paused") {
		t.Fatalf("paused job: %v", err)
	}
	db = &fakeDB{rows: []fakeRow{{err: pgx.ErrNoRows}}}
	if _, err := WaitRunning(ctx, db, 42, time.Millisecond); err == nil || err.Error() != "changefeed job 42 not found" {
		t.Fatalf("missing job: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	db = &fakeDB{rows: []fakeRow{jobRow("pending", "", "")}}
	if _, err := WaitRunning(ctx, db, 42, time.Millisecond); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "last status pending") {
		t.Fatalf("timeout: %v", err)
	}
}

func TestCancelAndAttach(t *testing.T) {
	ctx := context.Background()
	db := &fakeDB{rows: []fakeRow{jobRow("running", "", "")}}
	if err := Cancel(ctx, db, 42); err != nil || !reflect.DeepEqual(db.execs, []string{"CANCEL JOB 42"}) {
		t.Fatalf("Cancel: %v, ran %q", err, db.execs)
	}
	// Cancelling a job that already ended is fine; a refusal for a live job is not.
	db = &fakeDB{execErr: errors.New("job with state canceled cannot be requested to be canceled"), rows: []fakeRow{jobRow("canceled", "", "")}}
	if err := Cancel(ctx, db, 42); err != nil {
		t.Fatalf("Cancel of a canceled job: %v", err)
	}
	db = &fakeDB{execErr: errors.New("permission denied"), rows: []fakeRow{jobRow("running", "", "")}}
	if err := Cancel(ctx, db, 42); err == nil || !strings.Contains(err.Error(), "canceling changefeed job 42: permission denied") {
		t.Fatalf("Cancel refused: %v", err)
	}

	js, err := Attach(ctx, &fakeDB{rows: []fakeRow{jobRow("running", "", "")}}, 42)
	if err != nil || !reflect.DeepEqual(js.Topics, []string{"cfbench_vehicles", "cfbench_rides"}) {
		t.Fatalf("Attach = %+v, %v", js, err)
	}
	if _, err := Attach(ctx, &fakeDB{rows: []fakeRow{jobRow("failed", "", "boom")}}, 42); err == nil || err.Error() != "changefeed job 42 is failed, not running: boom" {
		t.Fatalf("Attach to failed job: %v", err)
	}
}

func TestCreateConnection(t *testing.T) {
	db := &fakeDB{}
	ext, err := CreateConnection(context.Background(), db, "cfbench_kafka", testSink(t))
	if err != nil || ext.String() != "external://cfbench_kafka" {
		t.Fatalf("CreateConnection = %v, %v", ext, err)
	}
	if len(db.execs) != 1 || !strings.HasPrefix(db.execs[0], "CREATE EXTERNAL CONNECTION cfbench_kafka AS 'kafka://127.0.0.1:29093?") {
		t.Fatalf("ran %q", db.execs)
	}
	db = &fakeDB{execErr: errors.New("boom")}
	_, err = CreateConnection(context.Background(), db, "cfbench_kafka", testSink(t))
	if err == nil || strings.Contains(err.Error(), testSecretB64) || strings.Contains(err.Error(), "Pj4%2B") || !strings.Contains(err.Error(), "sasl_client_secret=redacted") {
		t.Fatalf("error must show the redacted statement only: %v", err)
	}
}

func TestParseHLC(t *testing.T) {
	for in, want := range map[string]HLC{
		"1681240149199419939.0000000000": {1681240149199419939, 0},
		"1681240149199419939.0000000012": {1681240149199419939, 12},
		"1681240149199419939":            {1681240149199419939, 0},
		"5.1":                            {5, 1000000000},
	} {
		got, err := ParseHLC(in)
		if err != nil || got != want {
			t.Errorf("ParseHLC(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if s := (HLC{1681240149199419939, 12}).String(); s != "1681240149199419939.0000000012" {
		t.Errorf("String = %s", s)
	}
	for _, bad := range []string{"", "abc", "-1.0", "1.00000000001", "1.x", "1.9999999999"} {
		if _, err := ParseHLC(bad); err == nil {
			t.Errorf("ParseHLC(%q) accepted", bad)
		}
	}
}
