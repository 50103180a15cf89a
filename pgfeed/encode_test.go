package pgfeed

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cfbench/cfbench/consume"
	"github.com/cockroachdb/apd/v3"

	"github.com/cfbench/cfbench/internal/golden"
)

// apdString is CockroachDB's jsonNumber.Format: apd's String, quoted when not finite.
func apdString(d *apd.Decimal) string {
	s := d.String()
	if d.Form != apd.Finite {
		return `"` + s + `"`
	}
	return s
}

func TestAppendDecimalMatchesAPD(t *testing.T) {
	for _, in := range []string{
		"0", "1", "-1", "12.50", "100", "0.000001", "0.0000001", "0.00000010", "123456789012345678901234567890",
		"0E-2000", "0E-2001", "-0E-2001", "0.00E-1999",
		"1e5", "1E+21", "1.5E-7", "-0.5", "0.00", "1000.000", "NaN", "Infinity", "-Infinity", "007", "1.23e-10",
		"12345678901234567890123456789012345678901234567890123456789012345678901234567890.5", "-0", "5e0", "0e10",
	} {
		var d apd.Decimal
		if _, _, err := d.SetString(in); err != nil {
			t.Fatalf("apd.SetString(%q): %v", in, err)
		}
		want := apdString(&d)
		got, err := AppendDecimal(nil, []byte(in))
		if err != nil {
			t.Fatalf("AppendDecimal(%q): %v", in, err)
		}
		if string(got) != want {
			t.Errorf("AppendDecimal(%q) = %s, want %s (apd)", in, got, want)
		}
	}
}

func TestFloatMatchesAPD(t *testing.T) {
	e := NewEncoder(EnvelopeOptions{})
	for _, f := range []float64{0, 1, -1, 100, 0.1, 1.5, 1e21, 1e-7, 123456.789, -2.5e-300, math.MaxFloat64,
		math.SmallestNonzeroFloat64, 37.7749, -122.4194, 1e6, 25.75, math.Copysign(0, -1)} {
		var d apd.Decimal
		if _, err := d.SetFloat64(f); err != nil {
			t.Fatal(err)
		}
		want := apdString(&d)
		txt := strconv.FormatFloat(f, 'g', -1, 64)
		got, err := e.AppendDatum(nil, KindFloat8, Datum{Text: []byte(txt)})
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("float %v (pg text %q) = %s, want %s (apd.SetFloat64)", f, txt, got, want)
		}
	}
	// PostgreSQL spells the non-finite values NaN, Infinity, -Infinity.
	for in, want := range map[string]string{"NaN": `"NaN"`, "Infinity": `"Infinity"`, "-Infinity": `"-Infinity"`} {
		got, err := e.AppendDatum(nil, KindFloat8, Datum{Text: []byte(in)})
		if err != nil || string(got) != want {
			t.Errorf("float %s = %s, %v; want %s", in, got, err, want)
		}
	}
}

func FuzzAppendDecimal(f *testing.F) {
	for _, s := range []string{"0", "12.50", "1e5", "-0.0000001", "NaN", "1.5E+300"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var d apd.Decimal
		_, _, apdErr := d.SetString(s)
		got, err := AppendDecimal(nil, []byte(s))
		if apdErr != nil || err != nil {
			return // we only promise agreement on valid input (PostgreSQL never sends invalid numerics)
		}
		if d.Form == apd.Finite && (d.Exponent > 1e8 || d.Exponent < -1e8) {
			return
		}
		if want := apdString(&d); string(got) != want {
			t.Fatalf("AppendDecimal(%q) = %s, want %s", s, got, want)
		}
	})
}

func TestAppendDatum(t *testing.T) {
	e := NewEncoder(EnvelopeOptions{})
	tests := []struct {
		name string
		kind Kind
		in   string
		null bool
		want string
	}{
		{"null", KindText, "", true, `null`},
		{"bool true", KindBool, "t", false, `true`},
		{"bool false", KindBool, "f", false, `false`},
		{"int", KindInt, "-42", false, `-42`},
		{"text", KindText, "new york", false, `"new york"`},
		{"uuid", KindForOID(2950), "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f", false, `"2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f"`},
		{"date", KindForOID(1082), "2019-01-02", false, `"2019-01-02"`},
		{"bytea", KindForOID(17), `\x0102ff`, false, `"\\x0102ff"`},
		{"decimal scale kept", KindDecimal, "12.50", false, `12.50`},
		{"decimal big", KindDecimal, "100", false, `100`},
		{"decimal tiny", KindDecimal, "0.00000010", false, `1.0E-7`},
		{"float 100", KindFloat8, "100", false, `1E+2`},
		{"float frac", KindFloat8, "37.7749", false, `37.7749`},
		{"float4", KindFloat4, "1.1", false, `1.100000023841858`},
		{"timestamp", KindTimestamp, "2019-01-02 03:04:05", false, `"2019-01-02T03:04:05"`},
		{"timestamp micros", KindTimestamp, "2019-01-02 03:04:05.123450", false, `"2019-01-02T03:04:05.12345"`},
		{"timestamp infinity", KindTimestamp, "infinity", false, `"infinity"`},
		{"timestamptz utc", KindTimestampTZ, "2019-01-02 03:04:05.5+00", false, `"2019-01-02T03:04:05.5Z"`},
		{"timestamptz offset", KindTimestampTZ, "2019-01-02 03:04:05+05:30", false, `"2019-01-01T21:34:05Z"`},
		{"jsonb sorted", KindJSON, `{"b": 1, "a": [1, 2.50, {"z": null, "y": true}]}`, false, `{"a": [1, 2.50, {"y": true, "z": null}], "b": 1}`},
		{"jsonb pg key order", KindJSON, `{"a": 1, "aa": 2, "B": 3}`, false, `{"B": 3, "a": 1, "aa": 2}`},
		{"jsonb escapes", KindJSON, `{"k\"\u00e9": "x\u2028<>\/\b"}`, false, "{\"k\\\"é\": \"x\u2028<>/\\u0008\"}"},
		{"jsonb dup keys last wins", KindJSON, `{"a":1,"a":2}`, false, `{"a": 2}`},
		{"jsonb numbers", KindJSON, `[1e5, 1E-7, -0.0, 100]`, false, `[1E+5, 1E-7, -0.0, 100]`},
		{"jsonb empty", KindJSON, `{ }`, false, `{}`},
		{"jsonb scalar", KindJSON, `"s"`, false, `"s"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.AppendDatum([]byte("x"), tc.kind, Datum{Text: []byte(tc.in), Null: tc.null})
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != "x"+tc.want {
				t.Errorf("got %s, want %s", got[1:], tc.want)
			}
		})
	}
	for _, bad := range []struct {
		kind Kind
		in   string
	}{{KindBool, "yes"}, {KindInt, "1.5"}, {KindFloat8, "abc"}, {KindDecimal, "1..2"}, {KindJSON, `{"a":}`}, {KindJSON, `[1,2`}, {KindJSON, `{} x`}} {
		if _, err := e.AppendDatum(nil, bad.kind, Datum{Text: []byte(bad.in)}); err == nil {
			t.Errorf("AppendDatum(%v, %q): no error", bad.kind, bad.in)
		}
	}
}

// TestTimestampLayoutContract pins the TIMESTAMP format agreed in the contracts (Go layout
// "2006-01-02T15:04:05.999999999", UTC, no zone: CockroachDB's tree.AsJSON for *DTimestamp).
func TestTimestampLayoutContract(t *testing.T) {
	e := NewEncoder(EnvelopeOptions{})
	ts := time.Date(2026, 12, 4, 20, 1, 2, 345600000, time.UTC)
	pg := ts.Format("2006-01-02 15:04:05.999999")
	got, err := e.AppendDatum(nil, KindTimestamp, Datum{Text: []byte(pg)})
	if err != nil {
		t.Fatal(err)
	}
	if want := `"` + ts.Format("2006-01-02T15:04:05.999999999") + `"`; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestHLC(t *testing.T) {
	h := HLC{WallTime: 1681240149199419939, Logical: 7}
	if got := h.String(); got != "1681240149199419939.0000000007" {
		t.Fatalf("String = %s", got)
	}
	back, err := ParseHLC(h.String())
	if err != nil || back != h {
		t.Fatalf("ParseHLC = %v, %v", back, err)
	}
	if got := string(AppendResolved(nil, h)); got != `{"resolved":"1681240149199419939.0000000007"}` {
		t.Fatalf("AppendResolved = %s", got)
	}
	if !h.Less(h.Next()) || h.Next().Logical != 8 {
		t.Fatalf("Next")
	}
}

func movrVehicles(t testing.TB) *Table {
	t.Helper()
	cols := []Column{
		{Name: "id", TypeOID: 2950}, {Name: "city", TypeOID: 25}, {Name: "type", TypeOID: 25},
		{Name: "owner_id", TypeOID: 2950}, {Name: "creation_time", TypeOID: oidTimestamp},
		{Name: "status", TypeOID: 25}, {Name: "current_location", TypeOID: 25}, {Name: "ext", TypeOID: oidJSONB},
		{Name: "price", TypeOID: oidNumeric}, {Name: "lat", TypeOID: oidFloat8}, {Name: "seats", TypeOID: oidInt4},
		{Name: "active", TypeOID: oidBool},
	}
	for i := range cols {
		cols[i].Kind = KindForOID(cols[i].TypeOID)
	}
	tbl, err := NewTable("public", "vehicles", cols, []int{1, 0})
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

func row(vals ...string) []Datum {
	r := make([]Datum, len(vals))
	for i, v := range vals {
		if v == "\x00NULL" {
			r[i].Null = true
			continue
		}
		r[i].Text = []byte(v)
	}
	return r
}

func vehicleRow(status string) []Datum {
	return row("2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f", "new york", "skateboard", "\x00NULL",
		"2019-01-02 03:04:05.123456", status, "64110 Richard Crescent", `{"color": "red", "brand": "Kona"}`,
		"25.50", "40.7128", "1", "t")
}

// TestEnvelopeGolden checks every envelope option combination against golden files.
func TestEnvelopeGolden(t *testing.T) {
	tbl := movrVehicles(t)
	ts := HLC{WallTime: 1681240149199419939, Logical: 2}
	events := []struct {
		name          string
		after, before []Datum
	}{
		{"insert", vehicleRow("available"), nil},
		{"update", vehicleRow("in_use"), vehicleRow("available")},
		{"delete", nil, vehicleRow("in_use")},
	}
	optSets := []struct {
		name string
		opts EnvelopeOptions
	}{
		{"plain", EnvelopeOptions{}},
		{"updated", EnvelopeOptions{Updated: true}},
		{"updated_diff", EnvelopeOptions{Updated: true, Diff: true}},
		{"all", EnvelopeOptions{Updated: true, Diff: true, MVCCTimestamp: true, KeyInValue: true, TopicInValue: true}},
	}
	var out bytes.Buffer
	for _, o := range optSets {
		e := NewEncoder(o.opts)
		for _, ev := range events {
			key, err := e.AppendKey(nil, tbl, firstNonNil(ev.after, ev.before))
			if err != nil {
				t.Fatal(err)
			}
			val, err := e.AppendValue(nil, &Event{Table: tbl, Topic: "cf_vehicles", After: ev.after, Before: ev.before, Updated: ts})
			if err != nil {
				t.Fatal(err)
			}
			out.WriteString(o.name + " " + ev.name + "\n  key:   " + string(key) + "\n  value: " + string(val) + "\n")
		}
	}
	if !golden.Check(t, filepath.Join("testdata", "envelope.golden"), out.Bytes()) {
		t.FailNow()
	}
}

func firstNonNil(a, b []Datum) []Datum {
	if a != nil {
		return a
	}
	return b
}

// FuzzJSONFormat checks that re-printing a JSON document as CockroachDB does keeps its
// meaning (encoding/json decodes both to the same value), sorts keys, and is stable.
func FuzzJSONFormat(f *testing.F) {
	f.Add(`{"b": 1, "a": [1, 2.50]}`)
	f.Fuzz(func(t *testing.T, s string) {
		var jf jsonFormatter
		out, err := jf.format(nil, []byte(s))
		if err != nil {
			return
		}
		in, err := decodeNumbers([]byte(s))
		if err != nil {
			t.Fatalf("formatter accepted invalid JSON %q: %v", s, err)
		}
		back, err := decodeNumbers(out)
		if err != nil {
			t.Fatalf("format(%q) = %q: not JSON: %v", s, out, err)
		}
		if !reflect.DeepEqual(in, back) {
			t.Fatalf("format(%q) = %q changes the value", s, out)
		}
		again, err := jf.format(nil, out)
		if err != nil || (utf8.ValidString(s) && !bytes.Equal(again, out)) { // invalid UTF-8 → \ufffd → U+FFFD
			t.Fatalf("format is not stable: %q → %q → %q (%v)", s, out, again, err)
		}
	})
}

// decodeNumbers decodes JSON with numbers reduced to a canonical apd form (1E+2 == 100).
func decodeNumbers(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("trailing data")
	}
	return normalizeNumbers(v), nil
}

func normalizeNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		var d apd.Decimal
		if _, _, err := d.SetString(string(v)); err != nil {
			return "beyond apd's exponent range" // CockroachDB rejects these; PostgreSQL never prints them
		}
		var r apd.Decimal
		r.Reduce(&d)
		if r.IsZero() {
			r.Negative = false
		}
		return r.String()
	case []any:
		for i := range v {
			v[i] = normalizeNumbers(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = normalizeNumbers(v[k])
		}
	}
	return v
}

// TestConsumeDecodesEnvelope checks that cfbench's consumer decoder (consume.Decode) reads the
// envelopes and resolved messages pgfeed produces, with the same timestamps.
func TestConsumeDecodesEnvelope(t *testing.T) {
	tbl := movrVehicles(t)
	ts := HLC{WallTime: 1681240149199419939, Logical: 3}
	e := NewEncoder(EnvelopeOptions{Updated: true, Diff: true, MVCCTimestamp: true, KeyInValue: true, TopicInValue: true})
	key, err := e.AppendKey(nil, tbl, vehicleRow("x"))
	if err != nil {
		t.Fatal(err)
	}
	val, err := e.AppendValue(nil, &Event{Table: tbl, Topic: "vehicles", After: vehicleRow("in_use"), Before: vehicleRow("available"), Updated: ts})
	if err != nil {
		t.Fatal(err)
	}
	var env consume.Envelope
	if r := consume.Decode(key, val, &env); r != consume.ReasonNone {
		t.Fatalf("consume.Decode(row) = %v", r)
	}
	want := consume.HLC{WallNanos: ts.WallTime, Logical: ts.Logical}
	if !env.HasUpdated || env.Updated != want || !env.HasMVCC || env.MVCC != want || string(env.Key) != string(key) {
		t.Fatalf("consume.Decode(row) = %+v", env)
	}
	env = consume.Envelope{}
	if r := consume.Decode(nil, AppendResolved(nil, ts), &env); r != consume.ReasonNone || !env.IsResolved() || env.Resolved != want {
		t.Fatalf("consume.Decode(resolved) = %v %+v", r, env)
	}
}
