package pgfeed

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/cfbench/cfbench/changefeed"
)

// This file turns PostgreSQL text-format column values into the exact bytes a CockroachDB
// changefeed's JSON encoder produces (cockroachdb/cockroach pkg/ccl/changefeedccl
// encoder_json.go → tree.AsJSON → pkg/util/json Format). Everything appends to a caller's
// buffer; the hot path is covered by BenchmarkDecodeEncode and allocates nothing.
//
// Facts taken from CockroachDB's source (and pinned by tests in encode_test.go):
//   - Objects print as {"a": 1, "b": 2}, arrays as [1, 2]; object keys sorted bytewise (Go string
//     order) at every level, the envelope included; duplicate keys keep the last value.
//   - Strings are escaped like encoding/json without HTML escaping, except that \b and \f print
//     as \u0008 and \u000c, U+2028/U+2029 are not escaped, and invalid UTF-8 becomes \ufffd.
//   - INT prints as an integer; FLOAT8 as apd.Decimal.SetFloat64(f).String(), i.e. the shortest
//     round-trip digits in apd's to-scientific-string form (100 → 1E+2, 0.1 → 0.1, 1e-7 → 1E-7);
//     non-finite floats/decimals print quoted ("NaN", "Infinity", "-Infinity").
//   - DECIMAL prints the stored coefficient/exponent in the same form (12.50 stays 12.50).
//   - TIMESTAMP prints t.UTC().Format("2006-01-02T15:04:05.999999999") (no zone);
//     TIMESTAMPTZ prints t.In(time.UTC).Format(time.RFC3339Nano) ("…Z").
//   - UUID, DATE, BYTEA (\x… hex), INTERVAL and other types print as their text form.
//   - JSONB is printed by CockroachDB's JSON type: re-sorted keys, ", " and ": " separators, and
//     numbers in apd form.

// Kind is the JSON encoding family of a column, derived from its PostgreSQL type OID.
type Kind uint8

// Kinds. KindText is the fallback: the PostgreSQL text form as a JSON string.
const (
	KindText Kind = iota
	KindBool
	KindInt
	KindFloat8
	KindFloat4
	KindDecimal
	KindTimestamp
	KindTimestampTZ
	KindJSON
)

// PostgreSQL type OIDs (pg_type.oid, stable across versions).
const (
	oidBool        = 16
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidOID         = 26
	oidJSON        = 114
	oidFloat4      = 700
	oidFloat8      = 701
	oidTimestamp   = 1114
	oidTimestampTZ = 1184
	oidNumeric     = 1700
	oidJSONB       = 3802
)

// KindForOID returns the encoding family for a PostgreSQL type OID; unknown OIDs (text,
// varchar, uuid, date, bytea, interval, enums, …) encode as their text form.
func KindForOID(oid uint32) Kind {
	switch oid {
	case oidBool:
		return KindBool
	case oidInt2, oidInt4, oidInt8, oidOID:
		return KindInt
	case oidFloat8:
		return KindFloat8
	case oidFloat4:
		return KindFloat4
	case oidNumeric:
		return KindDecimal
	case oidTimestamp:
		return KindTimestamp
	case oidTimestampTZ:
		return KindTimestampTZ
	case oidJSON, oidJSONB:
		return KindJSON
	}
	return KindText
}

// Column is one column of a replicated table.
type Column struct {
	Name    string
	TypeOID uint32
	Kind    Kind
}

// Table is the encoder's view of a replicated table. Build it with NewTable; it is immutable
// afterwards and safe for concurrent use.
type Table struct {
	Schema  string
	Name    string   // unqualified name: the default topic
	Columns []Column // in attribute order, as pgoutput sends them
	PK      []int    // indexes into Columns, in primary-key order

	byName  []int    // column indexes sorted bytewise by name
	keyJSON [][]byte // per column: `"name": ` as CockroachDB prints an object key
}

// NewTable returns a Table for the given columns and primary-key column indexes.
func NewTable(schema, name string, cols []Column, pk []int) (*Table, error) {
	if len(pk) == 0 {
		return nil, fmt.Errorf("table %s.%s has no primary key: changefeeds need one", schema, name)
	}
	t := &Table{Schema: schema, Name: name, Columns: cols, PK: pk}
	for _, i := range pk {
		if i < 0 || i >= len(cols) {
			return nil, fmt.Errorf("table %s.%s: primary-key column index %d out of range", schema, name, i)
		}
	}
	t.byName = make([]int, len(cols))
	t.keyJSON = make([][]byte, len(cols))
	for i := range cols {
		t.byName[i] = i
		t.keyJSON[i] = append(changefeed.AppendJSONString(nil, cols[i].Name), ": "...)
	}
	slices.SortStableFunc(t.byName, func(a, b int) int {
		switch {
		case cols[a].Name < cols[b].Name:
			return -1
		case cols[a].Name > cols[b].Name:
			return 1
		}
		return 0
	})
	return t, nil
}

// Datum is one column value in PostgreSQL text format. Text aliases the replication buffer
// and is only valid until the next message is read.
type Datum struct {
	Text []byte
	Null bool

	toast bool // pgoutput sent 'u': an unchanged TOAST value that must come from the old row
}

// HLC is a CockroachDB hybrid-logical-clock timestamp.
type HLC struct {
	WallTime int64 // nanoseconds since the Unix epoch
	Logical  int32
}

// Less reports whether h orders before o.
func (h HLC) Less(o HLC) bool {
	return h.WallTime < o.WallTime || (h.WallTime == o.WallTime && h.Logical < o.Logical)
}

// Next returns the smallest HLC after h.
func (h HLC) Next() HLC {
	if h.Logical == math.MaxInt32 {
		return HLC{WallTime: h.WallTime + 1}
	}
	return HLC{WallTime: h.WallTime, Logical: h.Logical + 1}
}

// IsZero reports whether h is the zero timestamp.
func (h HLC) IsZero() bool { return h == HLC{} }

// AppendHLC appends h as CockroachDB prints it in `updated`, `mvcc_timestamp` and `resolved`
// (hlc.Timestamp.AsOfSystemTime): "<wall ns>.<logical, 10 digits>".
func AppendHLC(dst []byte, h HLC) []byte {
	dst = strconv.AppendInt(dst, h.WallTime, 10)
	dst = append(dst, '.')
	var buf [10]byte
	l := uint32(h.Logical)
	for i := 9; i >= 0; i-- {
		buf[i] = byte('0' + l%10)
		l /= 10
	}
	return append(dst, buf[:]...)
}

// String returns the HLC in CockroachDB's "<wall>.<10-digit logical>" form.
func (h HLC) String() string { return string(AppendHLC(nil, h)) }

// ParseHLC parses "<wall>.<logical>" (the inverse of AppendHLC).
func ParseHLC(s string) (HLC, error) {
	dot := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			dot = i
			break
		}
	}
	if dot < 0 {
		return HLC{}, fmt.Errorf("HLC timestamp %q: want <wall>.<logical>", s)
	}
	wall, err := strconv.ParseInt(s[:dot], 10, 64)
	if err != nil {
		return HLC{}, fmt.Errorf("HLC timestamp %q: %w", s, err)
	}
	logical, err := strconv.ParseInt(s[dot+1:], 10, 32)
	if err != nil {
		return HLC{}, fmt.Errorf("HLC timestamp %q: %w", s, err)
	}
	return HLC{WallTime: wall, Logical: int32(logical)}, nil
}

// AppendResolved appends a resolved-timestamp message value for the wrapped envelope. CockroachDB
// builds it with encoding/json (EncodeResolvedTimestamp), so it has no spaces:
// {"resolved":"1681240149199419939.0000000000"}.
func AppendResolved(dst []byte, h HLC) []byte {
	dst = append(dst, `{"resolved":"`...)
	dst = AppendHLC(dst, h)
	return append(dst, `"}`...)
}

// EnvelopeOptions selects the fields of the wrapped envelope, like the CREATE CHANGEFEED
// options of the same names.
type EnvelopeOptions struct {
	Updated       bool // `updated`
	MVCCTimestamp bool // `mvcc_timestamp`
	Diff          bool // `diff`: adds `before`
	KeyInValue    bool // `key_in_value`
	TopicInValue  bool // `topic_in_value`
}

// Event is one row change to encode.
type Event struct {
	Table   *Table
	Topic   string
	After   []Datum // nil for a delete
	Before  []Datum // the previous row (diff); nil when there was none (insert)
	Updated HLC     // commit timestamp; also the MVCC timestamp
}

// Encoder encodes row changes as CockroachDB's wrapped JSON envelope. It keeps scratch space
// between calls: not safe for concurrent use; one per goroutine.
type Encoder struct {
	opts EnvelopeOptions
	jf   jsonFormatter
	num  []byte
}

// NewEncoder returns an Encoder for the given options.
func NewEncoder(opts EnvelopeOptions) *Encoder { return &Encoder{opts: opts} }

// Options returns the envelope options.
func (e *Encoder) Options() EnvelopeOptions { return e.opts }

// AppendKey appends the message key: a JSON array of the primary-key values in key order.
func (e *Encoder) AppendKey(dst []byte, t *Table, row []Datum) ([]byte, error) {
	if len(row) != len(t.Columns) {
		return dst, fmt.Errorf("table %s: row has %d columns, want %d", t.Name, len(row), len(t.Columns))
	}
	dst = append(dst, '[')
	var err error
	for n, i := range t.PK {
		if n > 0 {
			dst = append(dst, ", "...)
		}
		if dst, err = e.AppendDatum(dst, t.Columns[i].Kind, row[i]); err != nil {
			return dst, fmt.Errorf("table %s column %s: %w", t.Name, t.Columns[i].Name, err)
		}
	}
	return append(dst, ']'), nil
}

// AppendRow appends a row as a JSON object with keys sorted bytewise, or null for a nil row.
func (e *Encoder) AppendRow(dst []byte, t *Table, row []Datum) ([]byte, error) {
	if row == nil {
		return append(dst, "null"...), nil
	}
	if len(row) != len(t.Columns) {
		return dst, fmt.Errorf("table %s: row has %d columns, want %d", t.Name, len(row), len(t.Columns))
	}
	dst = append(dst, '{')
	var err error
	for n, i := range t.byName {
		if n > 0 {
			dst = append(dst, ", "...)
		}
		dst = append(dst, t.keyJSON[i]...)
		if dst, err = e.AppendDatum(dst, t.Columns[i].Kind, row[i]); err != nil {
			return dst, fmt.Errorf("table %s column %s: %w", t.Name, t.Columns[i].Name, err)
		}
	}
	return append(dst, '}'), nil
}

// AppendValue appends the message value: the wrapped envelope with its keys in CockroachDB's
// (sorted) order: after, before, key, mvcc_timestamp, topic, updated.
func (e *Encoder) AppendValue(dst []byte, ev *Event) ([]byte, error) {
	var err error
	dst = append(dst, `{"after": `...)
	if dst, err = e.AppendRow(dst, ev.Table, ev.After); err != nil {
		return dst, err
	}
	if e.opts.Diff {
		dst = append(dst, `, "before": `...)
		if dst, err = e.AppendRow(dst, ev.Table, ev.Before); err != nil {
			return dst, err
		}
	}
	if e.opts.KeyInValue {
		dst = append(dst, `, "key": `...)
		row := ev.After
		if row == nil {
			row = ev.Before
		}
		if dst, err = e.AppendKey(dst, ev.Table, row); err != nil {
			return dst, err
		}
	}
	if e.opts.MVCCTimestamp {
		dst = append(dst, `, "mvcc_timestamp": "`...)
		dst = AppendHLC(dst, ev.Updated)
		dst = append(dst, '"')
	}
	if e.opts.TopicInValue {
		dst = append(dst, `, "topic": `...)
		dst = changefeed.AppendJSONString(dst, ev.Topic)
	}
	if e.opts.Updated {
		dst = append(dst, `, "updated": "`...)
		dst = AppendHLC(dst, ev.Updated)
		dst = append(dst, '"')
	}
	return append(dst, '}'), nil
}

// AppendDatum appends one column value as CockroachDB's tree.AsJSON would print it.
func (e *Encoder) AppendDatum(dst []byte, k Kind, d Datum) ([]byte, error) {
	if d.Null {
		return append(dst, "null"...), nil
	}
	s := d.Text
	switch k {
	case KindBool:
		switch {
		case len(s) == 1 && s[0] == 't':
			return append(dst, "true"...), nil
		case len(s) == 1 && s[0] == 'f':
			return append(dst, "false"...), nil
		}
		return dst, fmt.Errorf("bool: unexpected text %q", s)
	case KindInt:
		if !isInteger(s) {
			return dst, fmt.Errorf("int: unexpected text %q", s)
		}
		return append(dst, s...), nil
	case KindFloat8, KindFloat4:
		bits := 64
		if k == KindFloat4 {
			bits = 32
		}
		f, err := strconv.ParseFloat(string(s), bits)
		if err != nil {
			return dst, fmt.Errorf("float: %w", err)
		}
		return e.appendFloat(dst, f), nil
	case KindDecimal:
		return AppendDecimal(dst, s)
	case KindTimestamp, KindTimestampTZ:
		t, ok := parsePGTimestamp(s, k == KindTimestampTZ)
		if !ok {
			// infinity, BC dates, years past 9999: CockroachDB has no exact equivalent; keep the text.
			return changefeed.AppendJSONBytes(dst, s), nil
		}
		dst = append(dst, '"')
		if k == KindTimestamp {
			dst = t.AppendFormat(dst, "2006-01-02T15:04:05.999999999")
		} else {
			dst = t.AppendFormat(dst, time.RFC3339Nano)
		}
		return append(dst, '"'), nil
	case KindJSON:
		return e.jf.format(dst, s)
	}
	return changefeed.AppendJSONBytes(dst, s), nil
}

func (e *Encoder) appendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Infinity"`...)
	}
	// apd.Decimal.SetFloat64 parses strconv.FormatFloat(f, 'E', -1, 64).
	e.num = strconv.AppendFloat(e.num[:0], f, 'E', -1, 64)
	out, err := AppendDecimal(dst, e.num)
	if err != nil {
		panic(err) // AppendFloat always produces a valid decimal
	}
	return out
}

func isInteger(s []byte) bool {
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	if len(s) == 0 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

var errBadDecimal = errors.New("not a decimal number")

// apdLowestZeroExponent is apd's lowestZeroNegativeCoefficientCockroach: below it, a zero is
// printed in exponent form.
const apdLowestZeroExponent = -2000

// AppendDecimal appends a decimal number given as text (PostgreSQL numeric output, a JSON
// number, or Go's 'E' float format) the way apd.Decimal.String prints it after SetString:
// plain notation when the exponent is ≤ 0 and the adjusted exponent ≥ -6, otherwise
// scientific ("1E+2", "1.5E-7"); NaN and infinities are quoted as CockroachDB's JSON does.
func AppendDecimal(dst []byte, s []byte) ([]byte, error) {
	neg := false
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	rest := s[i:]
	switch {
	case equalFold(rest, "nan"):
		return append(dst, `"NaN"`...), nil
	case equalFold(rest, "infinity") || equalFold(rest, "inf"):
		if neg {
			return append(dst, `"-Infinity"`...), nil
		}
		return append(dst, `"Infinity"`...), nil
	}
	// Coefficient digits without leading zeros, and the exponent.
	var digits [64]byte
	nd := 0
	var big []byte // for coefficients longer than the stack buffer
	exp := 0
	sawDigit, sawDot := false, false
	for ; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			if sawDot {
				return dst, errBadDecimal
			}
			sawDot = true
			continue
		}
		if c < '0' || c > '9' {
			break
		}
		sawDigit = true
		if sawDot {
			exp--
		}
		if nd == 0 && c == '0' && big == nil {
			continue
		}
		if big != nil {
			big = append(big, c)
		} else if nd < len(digits) {
			digits[nd] = c
			nd++
		} else {
			big = append(append(big, digits[:nd]...), c)
		}
	}
	if !sawDigit {
		return dst, errBadDecimal
	}
	if i < len(s) {
		if s[i] != 'e' && s[i] != 'E' {
			return dst, errBadDecimal
		}
		i++
		eneg := false
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			eneg = s[i] == '-'
			i++
		}
		if i == len(s) {
			return dst, errBadDecimal
		}
		e := 0
		for ; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' || e > 1e9 {
				return dst, errBadDecimal
			}
			e = e*10 + int(c-'0')
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	d := digits[:nd]
	if big != nil {
		d = big
	}
	zero := len(d) == 0
	if zero {
		d = []byte{'0'} // does not escape: constant-size
	}
	if neg {
		dst = append(dst, '-')
	}
	adj := exp + len(d) - 1
	// apd (CockroachDB's decimals) prints a zero with a negative exponent down to -2000 (the
	// lowest CockroachDB supports) in plain form: 0E-7 is "0.0000000", but 0E-2001 stays
	// "0E-2001" (apd's lowestZeroNegativeCoefficientCockroach; both found by FuzzAppendDecimal).
	if exp <= 0 && (adj >= -6 || (zero && exp >= apdLowestZeroExponent)) {
		if exp < 0 {
			if left := -exp - len(d); left >= 0 {
				dst = append(dst, "0."...)
				for range left {
					dst = append(dst, '0')
				}
				dst = append(dst, d...)
			} else {
				dst = append(dst, d[:-left]...)
				dst = append(dst, '.')
				dst = append(dst, d[-left:]...)
			}
		} else {
			dst = append(dst, d...)
		}
		return dst, nil
	}
	dst = append(dst, d[0])
	if len(d) > 1 {
		dst = append(dst, '.')
		dst = append(dst, d[1:]...)
	}
	dst = append(dst, 'E')
	if adj < 0 {
		dst = append(dst, '-')
		adj = -adj
	} else {
		dst = append(dst, '+')
	}
	return strconv.AppendInt(dst, int64(adj), 10), nil
}

func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// parsePGTimestamp parses PostgreSQL's ISO DateStyle output "YYYY-MM-DD HH:MM:SS[.ffffff]" and,
// for timestamptz, a trailing "+HH[:MM[:SS]]" offset. ok is false for anything else
// (infinity, BC, 5-digit years).
func parsePGTimestamp(s []byte, tz bool) (t time.Time, ok bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return t, false
	}
	num := func(b []byte) (int, bool) {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(s[0:4])
	month, ok2 := num(s[5:7])
	day, ok3 := num(s[8:10])
	hour, ok4 := num(s[11:13])
	minute, ok5 := num(s[14:16])
	sec, ok6 := num(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return t, false
	}
	i := 19
	nsec := 0
	if i < len(s) && s[i] == '.' {
		i++
		scale := 100_000_000
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			nsec += int(s[i]-'0') * scale
			scale /= 10
			i++
		}
		if i == start || i-start > 9 {
			return t, false
		}
	}
	offset := 0
	if tz {
		if i >= len(s) || (s[i] != '+' && s[i] != '-') {
			return t, false
		}
		sign := 1
		if s[i] == '-' {
			sign = -1
		}
		i++
		parts := [3]int{}
		for p := 0; p < 3 && i+2 <= len(s); p++ {
			if p > 0 {
				if s[i] != ':' {
					return t, false
				}
				i++
				if i+2 > len(s) {
					return t, false
				}
			}
			v, ok := num(s[i : i+2])
			if !ok {
				return t, false
			}
			parts[p] = v
			i += 2
		}
		offset = sign * (parts[0]*3600 + parts[1]*60 + parts[2])
	}
	if i != len(s) {
		return t, false
	}
	t = time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if offset != 0 {
		t = t.Add(-time.Duration(offset) * time.Second)
	}
	return t, true
}

// jsonFormatter re-prints a JSON document (PostgreSQL's json/jsonb text output) as
// CockroachDB's JSON type prints it. It reuses its scratch space: not safe for concurrent use.
type jsonFormatter struct {
	entries []jsonEntry
	keys    []byte // decoded object keys, referenced by jsonEntry
}

type jsonEntry struct {
	kStart, kEnd int // decoded key in keys
	vStart, vEnd int // raw value in the source
}

var errBadJSON = errors.New("invalid JSON")

func (f *jsonFormatter) format(dst, src []byte) ([]byte, error) {
	f.entries = f.entries[:0]
	f.keys = f.keys[:0]
	start := skipSpace(src, 0)
	end, err := skipValue(src, start)
	if err != nil {
		return dst, fmt.Errorf("jsonb %q: %w", src, err)
	}
	if skipSpace(src, end) != len(src) {
		return dst, fmt.Errorf("jsonb %q: trailing characters after JSON document", src)
	}
	out, err := f.value(dst, src[start:end])
	if err != nil {
		return dst, fmt.Errorf("jsonb %q: %w", src, err)
	}
	return out, nil
}

// value formats exactly one JSON value (no surrounding space).
func (f *jsonFormatter) value(dst, v []byte) ([]byte, error) {
	switch v[0] {
	case '"':
		var err error
		kStart := len(f.keys)
		f.keys, err = unquote(f.keys, v)
		if err != nil {
			return dst, err
		}
		dst = changefeed.AppendJSONBytes(dst, f.keys[kStart:])
		f.keys = f.keys[:kStart]
		return dst, nil
	case '[':
		dst = append(dst, '[')
		i := skipSpace(v, 1)
		n := 0
		for v[i] != ']' {
			end, err := skipValue(v, i)
			if err != nil {
				return dst, err
			}
			if n > 0 {
				dst = append(dst, ", "...)
			}
			if dst, err = f.value(dst, v[i:end]); err != nil {
				return dst, err
			}
			n++
			i = skipSpace(v, end)
			if v[i] == ',' {
				i = skipSpace(v, i+1)
			}
		}
		return append(dst, ']'), nil
	case '{':
		base := len(f.entries)
		keysBase := len(f.keys)
		i := skipSpace(v, 1)
		for v[i] != '}' {
			kEnd, err := skipValue(v, i)
			if err != nil {
				return dst, err
			}
			ks := len(f.keys)
			if f.keys, err = unquote(f.keys, v[i:kEnd]); err != nil {
				return dst, err
			}
			i = skipSpace(v, kEnd)
			i = skipSpace(v, i+1) // ':'
			vEnd, err := skipValue(v, i)
			if err != nil {
				return dst, err
			}
			f.entries = append(f.entries, jsonEntry{kStart: ks, kEnd: len(f.keys), vStart: i, vEnd: vEnd})
			i = skipSpace(v, vEnd)
			if v[i] == ',' {
				i = skipSpace(v, i+1)
			}
		}
		level := f.entries[base:]
		keys := f.keys
		slices.SortStableFunc(level, func(a, b jsonEntry) int {
			return bytes.Compare(keys[a.kStart:a.kEnd], keys[b.kStart:b.kEnd])
		})
		dst = append(dst, '{')
		n := 0
		end := len(f.entries)
		for j := base; j < end; j++ {
			e := f.entries[j]
			if j+1 < end {
				nx := f.entries[j+1]
				if bytes.Equal(f.keys[e.kStart:e.kEnd], f.keys[nx.kStart:nx.kEnd]) {
					continue // duplicate key: the last one wins
				}
			}
			if n > 0 {
				dst = append(dst, ", "...)
			}
			dst = changefeed.AppendJSONBytes(dst, f.keys[e.kStart:e.kEnd])
			dst = append(dst, ": "...)
			var err error
			if dst, err = f.value(dst, v[e.vStart:e.vEnd]); err != nil {
				return dst, err
			}
			n++
		}
		f.entries = f.entries[:base]
		f.keys = f.keys[:keysBase]
		return append(dst, '}'), nil
	case 't':
		return append(dst, "true"...), nil
	case 'f':
		return append(dst, "false"...), nil
	case 'n':
		return append(dst, "null"...), nil
	}
	return AppendDecimal(dst, v)
}

func skipSpace(s []byte, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the JSON value starting at s[i], checking its syntax.
func skipValue(s []byte, i int) (int, error) {
	if i >= len(s) {
		return i, errBadJSON
	}
	switch c := s[i]; {
	case c == '"':
		for i++; i < len(s); i++ {
			switch c := s[i]; {
			case c == '\\':
				// Escapes are checked here, not only in unquote: the value of a
				// duplicate key is skipped, never unquoted.
				i++
				if i >= len(s) {
					return i, errBadJSON
				}
				switch s[i] {
				case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				case 'u':
					if _, ok := hex4(s, i+1); !ok {
						return i, errBadJSON
					}
					i += 4
				default:
					return i, errBadJSON
				}
			case c == '"':
				return i + 1, nil
			case c < 0x20:
				return i, errBadJSON // control characters must be escaped
			}
		}
		return i, errBadJSON
	case c == '[' || c == '{':
		closeCh := byte(']')
		if c == '{' {
			closeCh = '}'
		}
		i = skipSpace(s, i+1)
		if i < len(s) && s[i] == closeCh {
			return i + 1, nil
		}
		for {
			if c == '{' {
				end, err := skipValue(s, i)
				if err != nil || s[i] != '"' {
					return i, errBadJSON
				}
				i = skipSpace(s, end)
				if i >= len(s) || s[i] != ':' {
					return i, errBadJSON
				}
				i = skipSpace(s, i+1)
			}
			end, err := skipValue(s, i)
			if err != nil {
				return i, err
			}
			i = skipSpace(s, end)
			if i >= len(s) {
				return i, errBadJSON
			}
			if s[i] == closeCh {
				return i + 1, nil
			}
			if s[i] != ',' {
				return i, errBadJSON
			}
			i = skipSpace(s, i+1)
		}
	case c == 't':
		return literal(s, i, "true")
	case c == 'f':
		return literal(s, i, "false")
	case c == 'n':
		return literal(s, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return scanNumber(s, i)
	}
	return i, errBadJSON
}

// scanNumber checks the JSON number grammar -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
// at s[i] and returns its end.
func scanNumber(s []byte, i int) (int, error) {
	digits := func(i int) int {
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i = digits(i)
	default:
		return i, errBadJSON
	}
	if i < len(s) && s[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return i, errBadJSON
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return i, errBadJSON
		}
		i = j
	}
	return i, nil
}

func literal(s []byte, i int, lit string) (int, error) {
	if len(s)-i < len(lit) || string(s[i:i+len(lit)]) != lit {
		return i, errBadJSON
	}
	return i + len(lit), nil
}

// unquote appends the decoded contents of the JSON string literal q to dst.
func unquote(dst, q []byte) ([]byte, error) {
	if len(q) < 2 || q[0] != '"' || q[len(q)-1] != '"' {
		return dst, errBadJSON
	}
	q = q[1 : len(q)-1]
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		if i >= len(q) {
			return dst, errBadJSON
		}
		switch q[i] {
		case '"', '\\', '/':
			dst = append(dst, q[i])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(q, i+1)
			if !ok {
				return dst, errBadJSON
			}
			i += 4
			if utf16IsHighSurrogate(r) {
				if r2, ok := hex4(q, i+3); ok && i+2 < len(q) && q[i+1] == '\\' && q[i+2] == 'u' && r2 >= 0xDC00 && r2 < 0xE000 {
					r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
					i += 6
				} else {
					r = utf8.RuneError
				}
			} else if r >= 0xDC00 && r < 0xE000 {
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default:
			return dst, errBadJSON
		}
	}
	return dst, nil
}

func utf16IsHighSurrogate(r rune) bool { return r >= 0xD800 && r < 0xDC00 }

func hex4(q []byte, i int) (rune, bool) {
	if i+4 > len(q) {
		return 0, false
	}
	var r rune
	for _, c := range q[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
