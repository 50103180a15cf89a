package consume

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestParseHLC(t *testing.T) {
	tests := []struct {
		in   string
		want HLC
		ok   bool
	}{
		{"1681240149199419939.0000000000", HLC{1681240149199419939, 0}, true},
		{"1681240149199419939.0000000042", HLC{1681240149199419939, 42}, true},
		{"0.0000000000", HLC{}, true},
		{"9223372036854775807.2147483647", HLC{1<<63 - 1, 1<<31 - 1}, true},
		{"9223372036854775808.0000000000", HLC{}, false}, // wall overflows int64
		{"1.2147483648", HLC{}, false},                   // logical overflows int32
		{"1681240149199419939", HLC{}, false},            // no logical part
		{"1681240149199419939.000000000", HLC{}, false},  // 9 logical digits
		{"1681240149199419939.00000000000", HLC{}, false},
		{".0000000000", HLC{}, false},
		{"-1.0000000000", HLC{}, false},
		{"12345678901234567890.0000000000", HLC{}, false}, // 20 wall digits
		{"1a.0000000000", HLC{}, false},
		{"1.000000000a", HLC{}, false},
		{"", HLC{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseHLC([]byte(tt.in))
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseHLC(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestHLCCompare(t *testing.T) {
	tests := []struct {
		a, b HLC
		want int
	}{
		{HLC{1, 0}, HLC{1, 0}, 0},
		{HLC{1, 0}, HLC{2, 0}, -1},
		{HLC{2, 0}, HLC{1, 9}, 1},
		{HLC{1, 1}, HLC{1, 2}, -1},
		{HLC{1, 3}, HLC{1, 2}, 1},
	}
	for _, tt := range tests {
		if got := tt.a.Compare(tt.b); got != tt.want {
			t.Errorf("%v.Compare(%v) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
	if s := (HLC{1681240149199419939, 7}).String(); s != "1681240149199419939.0000000007" {
		t.Errorf("String() = %q", s)
	}
}

// vehiclesValue is a realistic ~450-byte movr vehicles message in CockroachDB's exact format
// (sorted keys, ": " and ", " separators, JSONB nested, TIMESTAMP without zone).
const vehiclesKey = `["paris", "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f"]`
const vehiclesValue = `{"after": {"city": "paris", "creation_time": "2019-01-02T03:04:05.123456", ` +
	`"current_location": "64110 Richard Crescent \"Apt. 12\" {east}", "dead": false, ` +
	`"ext": {"brand": "Merida", "color": "red", "tags": ["a", "b\\", {"c": [1, 2.5e3, null]}]}, ` +
	`"id": "2c28a231-8b1e-4e83-9bfa-6c4cdb0a3a4f", "owner_id": "f7f0c3e4-8b9a-4c1e-9a55-0f8c2d7b6a11", ` +
	`"status": "available", "type": "bike"}, ` +
	`"mvcc_timestamp": "1681240149199419939.0000000001", "updated": "1681240149199419939.0000000001"}`

func TestDecode(t *testing.T) {
	tests := []struct {
		name   string
		key    string
		value  string
		want   Reason
		upd    string // expected updated, "" when absent
		res    string // expected resolved
		mvcc   string
		hasKey bool
	}{
		{name: "vehicles", key: vehiclesKey, value: vehiclesValue, want: ReasonNone,
			upd: "1681240149199419939.0000000001", mvcc: "1681240149199419939.0000000001", hasKey: true},
		{name: "resolved", value: `{"resolved":"1681240149199419939.0000000000"}`, want: ReasonNone,
			res: "1681240149199419939.0000000000"},
		{name: "delete", key: `[1]`, value: `{"after": null, "updated": "5.0000000003"}`, want: ReasonNone, upd: "5.0000000003", hasKey: true},
		{name: "with before and diff", key: `["x"]`, value: `{"after": {"a": 1}, "before": {"a": 0}, "updated": "7.0000000000"}`,
			want: ReasonNone, upd: "7.0000000000", hasKey: true},
		{name: "nested updated ignored", key: `[1]`, value: `{"after": {"updated": "1.0000000000", "resolved": "2.0000000000"}, "updated": "3.0000000000"}`,
			want: ReasonNone, upd: "3.0000000000", hasKey: true},
		{name: "updated inside string ignored", key: `[1]`, value: `{"after": {"s": "\", \"updated\": \"1.0000000000\"}"}, "updated": "4.0000000000"}`,
			want: ReasonNone, upd: "4.0000000000", hasKey: true},
		{name: "escaped backslash before quote", key: `[1]`, value: `{"after": {"s": "a\\"}, "updated": "4.0000000000"}`,
			want: ReasonNone, upd: "4.0000000000", hasKey: true},
		{name: "whitespace", key: " [1] ", value: "\n{ \"updated\" :\t\"4.0000000000\" }\n", want: ReasonNone, upd: "4.0000000000", hasKey: true},
		{name: "empty", value: ``, want: ReasonEmpty},
		{name: "blank", value: "  ", want: ReasonEmpty},
		{name: "not json", value: `hello`, want: ReasonNotJSON},
		{name: "truncated", key: `[1]`, value: vehiclesValue[:200], want: ReasonNotJSON},
		{name: "unterminated string", value: `{"updated": "4.0000000000}`, want: ReasonNotJSON},
		{name: "mismatched brackets", value: `{"after": {"a": [1}, "updated": "4.0000000000"}`, want: ReasonNotJSON},
		{name: "trailing garbage", key: `[1]`, value: `{"updated": "4.0000000000"} x`, want: ReasonNotJSON},
		{name: "missing colon", value: `{"updated" "4.0000000000"}`, want: ReasonNotJSON},
		{name: "array", value: `[1, 2]`, want: ReasonNotObject},
		{name: "string", value: `"updated"`, want: ReasonNotObject},
		{name: "no timestamp", key: `[1]`, value: `{"after": {"a": 1}}`, want: ReasonNoTimestamp},
		{name: "empty object", value: `{}`, want: ReasonNoTimestamp},
		{name: "bad hlc", key: `[1]`, value: `{"updated": "yesterday"}`, want: ReasonBadHLC},
		{name: "number hlc", key: `[1]`, value: `{"updated": 1681240149199419939}`, want: ReasonBadHLC},
		{name: "bad resolved", value: `{"resolved": "1.1"}`, want: ReasonBadHLC},
		{name: "bad mvcc", key: `[1]`, value: `{"mvcc_timestamp": "x", "updated": "4.0000000000"}`, want: ReasonBadHLC},
		{name: "row without key", value: `{"updated": "4.0000000000"}`, want: ReasonBadKey},
		{name: "row with object key", key: `{"a": 1}`, value: `{"updated": "4.0000000000"}`, want: ReasonBadKey},
		{name: "row with broken key", key: `["a`, value: `{"updated": "4.0000000000"}`, want: ReasonBadKey},
		{name: "too deep", value: `{"after": ` + strings.Repeat("[", 65) + strings.Repeat("]", 65) + `, "updated": "4.0000000000"}`, want: ReasonNotJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var env Envelope
			got := Decode([]byte(tt.key), []byte(tt.value), &env)
			if got != tt.want {
				t.Fatalf("Decode = %v, want %v", got, tt.want)
			}
			if got != ReasonNone {
				return
			}
			check := func(what string, has bool, h HLC, want string) {
				t.Helper()
				if (want != "") != has {
					t.Errorf("%s present = %v, want %v", what, has, want != "")
				} else if has && h.String() != want {
					t.Errorf("%s = %v, want %s", what, h, want)
				}
			}
			check("updated", env.HasUpdated, env.Updated, tt.upd)
			check("resolved", env.HasResolved, env.Resolved, tt.res)
			check("mvcc_timestamp", env.HasMVCC, env.MVCC, tt.mvcc)
			if (env.Key != nil) != tt.hasKey || (tt.hasKey && string(env.Key) != tt.key) {
				t.Errorf("Key = %q, want %q", env.Key, tt.key)
			}
		})
	}
}

func TestMalformedSamplesBounded(t *testing.T) {
	var m Malformed
	big := []byte(strings.Repeat("x", 1000))
	for i := 0; i < 100; i++ {
		m.Note(ReasonNotJSON, "t", 0, int64(i), big)
	}
	m.Note(ReasonBadHLC, "t", 1, 5, []byte("{}"))
	if got := m.Total(); got != 101 {
		t.Errorf("Total = %d, want 101", got)
	}
	if got := m.ByReason(); got["not_json"] != 100 || got["bad_hlc"] != 1 || len(got) != 2 {
		t.Errorf("ByReason = %v", got)
	}
	s := m.Samples()
	if len(s) != MaxDecodeSamples {
		t.Fatalf("kept %d samples, want %d", len(s), MaxDecodeSamples)
	}
	if len(s[0].Value) > maxSampleBytes+len("…") || !strings.HasSuffix(s[0].Value, "…") {
		t.Errorf("sample not truncated: %d bytes", len(s[0].Value))
	}
}

func TestDecodeAllocs(t *testing.T) {
	k, v := []byte(vehiclesKey), []byte(vehiclesValue)
	var env Envelope
	if n := testing.AllocsPerRun(100, func() { Decode(k, v, &env) }); n != 0 {
		t.Errorf("Decode allocates %v times per call, want 0", n)
	}
}

// hlcRE is the grammar ParseHLC accepts (before the range checks).
var hlcRE = regexp.MustCompile(`^[0-9]{1,19}\.[0-9]{10}$`)

func FuzzParseHLC(f *testing.F) {
	for _, s := range []string{"1681240149199419939.0000000000", "0.0000000001", "9223372036854775808.0000000000", "1.2147483648", "1.1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, ok := ParseHLC([]byte(s))
		if !hlcRE.MatchString(s) {
			if ok {
				t.Fatalf("ParseHLC(%q) accepted a string outside the grammar", s)
			}
			return
		}
		dot := strings.IndexByte(s, '.')
		wall, werr := strconv.ParseInt(s[:dot], 10, 64)
		logical, lerr := strconv.ParseInt(s[dot+1:], 10, 32)
		if wantOK := werr == nil && lerr == nil; ok != wantOK {
			t.Fatalf("ParseHLC(%q) ok = %v, want %v", s, ok, wantOK)
		}
		if ok && (h.WallNanos != wall || int64(h.Logical) != logical) {
			t.Fatalf("ParseHLC(%q) = %v, want %d.%d", s, h, wall, logical)
		}
	})
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(vehiclesKey), []byte(vehiclesValue))
	f.Add([]byte(nil), []byte(`{"resolved":"1681240149199419939.0000000000"}`))
	f.Add([]byte(`[1]`), []byte(`{"after": {"s": "\", \"updated\": \"1.0000000000\"}"}, "updated": "4.0000000000"}`))
	f.Add([]byte(`[1]`), []byte(`{"after": {"a": [1}, "updated": "4.0000000000"}`))
	f.Fuzz(func(t *testing.T, key, value []byte) {
		var env Envelope
		r := Decode(key, value, &env)
		if r >= numReasons {
			t.Fatalf("reason %d out of range", r)
		}
		if !json.Valid(value) || strings.Count(string(value), "{")+strings.Count(string(value), "[") > maxDepth {
			return
		}
		// Differential check against encoding/json for well-formed values.
		var top map[string]json.RawMessage
		isObj := json.Unmarshal(value, &top) == nil
		if r == ReasonNotJSON {
			t.Fatalf("Decode says not_json for valid JSON %q", value)
		}
		if !isObj {
			if r != ReasonNotObject && r != ReasonEmpty {
				t.Fatalf("Decode = %v for a non-object %q", r, value)
			}
			return
		}
		if r != ReasonNone {
			return
		}
		for _, c := range []struct {
			name string
			has  bool
			h    HLC
		}{{"updated", env.HasUpdated, env.Updated}, {"resolved", env.HasResolved, env.Resolved}, {"mvcc_timestamp", env.HasMVCC, env.MVCC}} {
			raw, ok := top[c.name]
			if ok != c.has {
				t.Fatalf("%s: encoding/json has=%v, Decode has=%v in %q", c.name, ok, c.has, value)
			}
			if !ok {
				continue
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				t.Fatalf("%s: Decode accepted non-string %s", c.name, raw)
			}
			want, ok := ParseHLC([]byte(s))
			if !ok || want != c.h {
				t.Fatalf("%s: Decode = %v, encoding/json %q", c.name, c.h, s)
			}
		}
	})
}

// BenchmarkDecode measures Decode alone on the 450-byte vehicles message.
func BenchmarkDecode(b *testing.B) {
	b.Run("size="+strconv.Itoa(len(vehiclesValue))+"B", func(b *testing.B) {
		k, v := []byte(vehiclesKey), []byte(vehiclesValue)
		var env Envelope
		b.SetBytes(int64(len(v)))
		b.ReportAllocs()
		for b.Loop() {
			if Decode(k, v, &env) != ReasonNone {
				b.Fatal("decode failed")
			}
		}
	})
}
