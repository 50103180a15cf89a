package report

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SidecarName is the verification sidecar a worker of a group run (cfbench run --worker i/n,
// n > 1) writes next to its result.json, for cfbench merge to reconcile delivery across workers.
//
// Format: gzip-compressed UTF-8 text, one record per line, fields separated by one tab:
//
//	# cfbench verify v1 <free text: worker, run id>    the first line
//	A <table> <ack> <key>        an acknowledged write of this worker its own consumer did not
//	                             receive (one line per write; a row changed twice has two)
//	R <table> <received> <key>   a row change this worker received that it did not match with
//	                             one of its own writes (another worker's, or a write of no one)
//
// ack and received are the writer's and the receiver's host clocks, Unix nanoseconds (each
// result's clock section says how far that host is from the database). table is empty when the
// changefeed has one topic for every table (topic_name). key is the changefeed message key as
// received (a JSON array, never holding a tab or a newline); a key that would hold one, or that
// starts with '"', is written Go-quoted (strconv.Quote). Lines of one kind keep the order they
// happened in; A lines come after the R lines.
const SidecarName = "verify.tsv.gz"

// sidecarMagic starts the first line of every sidecar.
const sidecarMagic = "# cfbench verify v1"

// SidecarWriter writes a sidecar. Acked and Received only append to a buffer (safe for
// concurrent use, no I/O: the consumer's poll goroutine calls Received); Flush compresses and
// writes what was appended; Close flushes and closes the file.
type SidecarWriter struct {
	mu    sync.Mutex // guards buf
	buf   []byte
	wmu   sync.Mutex // guards spare, f, gz; taken before mu
	spare []byte
	f     *os.File
	gz    *gzip.Writer
}

// CreateSidecar creates (or truncates) the sidecar at path; about is the header's free text.
func CreateSidecar(path, about string) (*SidecarWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating the verification sidecar: %w", err)
	}
	w := &SidecarWriter{f: f, gz: gzip.NewWriter(f)}
	w.buf = append(w.buf, sidecarMagic...)
	if about != "" {
		w.buf = append(w.buf, ' ')
		w.buf = append(w.buf, strings.ReplaceAll(about, "\n", " ")...)
	}
	w.buf = append(w.buf, '\n')
	return w, nil
}

// Acked appends an A line: a write of this worker, acknowledged at ack, never received here.
func (w *SidecarWriter) Acked(table string, key []byte, ack time.Time) { w.add('A', table, key, ack) }

// Received appends an R line: a row change received at recv that this worker did not write.
func (w *SidecarWriter) Received(table string, key []byte, recv time.Time) {
	w.add('R', table, key, recv)
}

func (w *SidecarWriter) add(kind byte, table string, key []byte, at time.Time) {
	w.mu.Lock()
	b := append(w.buf, kind, '\t')
	b = append(b, table...)
	b = append(b, '\t')
	b = strconv.AppendInt(b, at.UnixNano(), 10)
	b = append(b, '\t')
	if len(key) > 0 && key[0] != '"' && bytes.IndexAny(key, "\t\n\r") < 0 {
		b = append(b, key...)
	} else {
		b = strconv.AppendQuote(b, string(key))
	}
	w.buf = append(b, '\n')
	w.mu.Unlock()
}

// Flush compresses and writes everything appended so far.
func (w *SidecarWriter) Flush() error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if w.gz == nil {
		return errors.New("verification sidecar: already closed")
	}
	w.mu.Lock()
	buf := w.buf
	w.buf = w.spare[:0] // spare is only touched under wmu: no Add writes to it now
	w.mu.Unlock()
	_, err := w.gz.Write(buf)
	w.spare = buf[:0]
	if err != nil {
		return fmt.Errorf("writing the verification sidecar %s: %w", w.f.Name(), err)
	}
	return nil
}

// Close flushes, ends the gzip stream and closes the file.
func (w *SidecarWriter) Close() error {
	ferr := w.Flush()
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if w.gz == nil {
		return ferr
	}
	gerr := w.gz.Close()
	cerr := w.f.Close()
	w.gz = nil
	if err := errors.Join(ferr, gerr, cerr); err != nil {
		return fmt.Errorf("closing the verification sidecar %s: %w", w.f.Name(), err)
	}
	return nil
}

// SidecarRecord is one A or R line of a sidecar.
type SidecarRecord struct {
	Kind  byte // 'A' or 'R'
	Table string
	At    int64 // Unix ns
	Key   string
}

// ReadSidecar calls fn with every record of the sidecar at path, in file order, and returns the
// header's free text. A malformed line is an error naming the file and the line.
func ReadSidecar(path string, fn func(SidecarRecord) error) (about string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("verification sidecar: %w", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return "", fmt.Errorf("verification sidecar %s: %w", path, err)
	}
	sc := bufio.NewScanner(gz)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if line == 1 {
			if !strings.HasPrefix(text, sidecarMagic) {
				return "", fmt.Errorf("verification sidecar %s: not a cfbench sidecar (first line %q)", path, trunc(text, 40))
			}
			about = strings.TrimSpace(strings.TrimPrefix(text, sidecarMagic))
			continue
		}
		rec, err := parseSidecarLine(text)
		if err != nil {
			return about, fmt.Errorf("verification sidecar %s line %d: %w", path, line, err)
		}
		if err := fn(rec); err != nil {
			return about, err
		}
	}
	if err := sc.Err(); err != nil {
		return about, fmt.Errorf("verification sidecar %s: %w (truncated? was the worker killed before it finished?)", path, err)
	}
	if line == 0 {
		return "", fmt.Errorf("verification sidecar %s: empty", path)
	}
	return about, nil
}

func parseSidecarLine(text string) (SidecarRecord, error) {
	parts := strings.SplitN(text, "\t", 4)
	if len(parts) != 4 || len(parts[0]) != 1 || (parts[0][0] != 'A' && parts[0][0] != 'R') {
		return SidecarRecord{}, fmt.Errorf("want A|R <table> <unix ns> <key>, got %q", trunc(text, 60))
	}
	at, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return SidecarRecord{}, fmt.Errorf("time %q: %w", parts[2], err)
	}
	key := parts[3]
	if strings.HasPrefix(key, `"`) {
		if key, err = strconv.Unquote(key); err != nil {
			return SidecarRecord{}, fmt.Errorf("quoted key %q: %w", trunc(parts[3], 40), err)
		}
	}
	return SidecarRecord{Kind: parts[0][0], Table: parts[1], At: at, Key: key}, nil
}

func trunc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

var _ io.Closer = (*SidecarWriter)(nil)
